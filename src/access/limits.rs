//! Rate limits per API key: a token bucket (governor's GCRA) of `burst` calls refilled at
//! `per_minute`, on the service's injected clock. A key's own rate wins over its role's default.
//! Limits protect the server; what a customer's plan allows stays in entitlements. Buckets live in
//! this process (several server processes each allow the full rate).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use crate::core::plan::Rate;
use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use super::{Principal, Role};
use crate::clock::Clock;

/// Default rates per role (`None`: unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleRates {
    pub admin: Option<Rate>,
    pub service: Option<Rate>,
    pub customer: Option<Rate>,
}

impl Default for RoleRates {
    /// Customer keys (people and their agents) are limited; admin and service keys (the operator
    /// and other servers, which meter at high rates) are not unless configured.
    fn default() -> RoleRates {
        RoleRates {
            admin: None,
            service: None,
            customer: Some(Rate::new(600, 100)),
        }
    }
}

impl RoleRates {
    pub fn of(&self, role: Role) -> Option<Rate> {
        match role {
            Role::Admin => self.admin,
            Role::Service => self.service,
            Role::Customer => self.customer,
        }
    }
}

/// governor's view of the service clock (epoch milliseconds).
#[derive(Clone)]
struct ServiceClock(Clock);

impl GovernorClock for ServiceClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        Duration::from_millis(u64::try_from((self.0)()).unwrap_or(0))
    }
}

type Bucket = RateLimiter<NotKeyed, InMemoryState, ServiceClock, NoOpMiddleware<Duration>>;

/// One bucket per key and rate.
pub struct RateLimits {
    roles: RoleRates,
    clock: ServiceClock,
    buckets: Mutex<HashMap<(String, Rate), Arc<Bucket>>>,
}

impl RateLimits {
    pub fn new(roles: RoleRates, clock: Clock) -> RateLimits {
        RateLimits {
            roles,
            clock: ServiceClock(clock),
            buckets: Mutex::default(),
        }
    }

    pub fn roles(&self) -> &RoleRates {
        &self.roles
    }

    /// The rate that applies to a caller: the key's own, else its plan's (`plan`, for a customer
    /// key), else its role's. The operator on stdio (no key) is never limited.
    pub fn rate_for(&self, p: &Principal, plan: Option<Rate>) -> Option<Rate> {
        p.key_id.as_ref()?;
        p.rate.or(plan).or(self.roles.of(p.role))
    }

    /// Take one call from the caller's bucket, or say after how many milliseconds one is free.
    pub fn take(&self, p: &Principal, plan: Option<Rate>) -> Result<(), u64> {
        let (Some(key), Some(rate)) = (&p.key_id, self.rate_for(p, plan)) else {
            return Ok(());
        };
        let bucket = {
            let Ok(mut buckets) = self.buckets.lock() else {
                return Ok(());
            };
            Arc::clone(
                buckets
                    .entry((key.clone(), rate))
                    .or_insert_with(|| Arc::new(self.bucket(rate))),
            )
        };
        bucket.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            // Round up: a caller that waits exactly this long is let through.
            let ms = wait.as_nanos().div_ceil(1_000_000);
            u64::try_from(ms).unwrap_or(u64::MAX).max(1)
        })
    }

    fn bucket(&self, rate: Rate) -> Bucket {
        let one = NonZeroU32::MIN;
        let quota = Quota::per_minute(NonZeroU32::new(rate.per_minute).unwrap_or(one))
            .allow_burst(NonZeroU32::new(rate.burst).unwrap_or(one));
        RateLimiter::direct_with_clock(quota, self.clock.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};

    fn key(rate: Option<Rate>) -> Principal {
        Principal {
            key_id: Some("bmcp_k".into()),
            role: Role::Customer,
            customer: Some("acme".into()),
            rate,
        }
    }

    #[test]
    fn a_burst_then_one_call_per_period_and_the_wait_is_exact() {
        let now = Arc::new(AtomicI64::new(1_000_000));
        let t = Arc::clone(&now);
        let limits = RateLimits::new(
            RoleRates::default(),
            Arc::new(move || t.load(Ordering::SeqCst)),
        );
        let k = key(Some(Rate::new(7, 3)));
        for _ in 0..3 {
            assert_eq!(limits.take(&k, None), Ok(()));
        }
        // 7 per minute: one call every 8,571.43 ms, so the wait rounds up to 8,572.
        let wait = limits.take(&k, None).unwrap_err();
        assert_eq!(wait, 8_572);
        now.fetch_add(i64::try_from(wait).unwrap() - 1, Ordering::SeqCst);
        assert!(limits.take(&k, None).is_err(), "one millisecond early");
        now.fetch_add(1, Ordering::SeqCst);
        assert_eq!(limits.take(&k, None), Ok(()));
        assert!(limits.take(&k, None).is_err());
    }

    #[test]
    fn role_defaults_apply_and_the_owner_is_never_limited() {
        let limits = RateLimits::new(RoleRates::default(), Arc::new(|| 0));
        assert_eq!(limits.rate_for(&key(None), None), Some(Rate::new(600, 100)));
        let plan = Some(Rate::new(30, 5));
        assert_eq!(
            limits.rate_for(&key(None), plan),
            plan,
            "the plan's rate wins over the role's"
        );
        let service = Principal {
            role: Role::Service,
            ..key(None)
        };
        assert_eq!(limits.rate_for(&service, None), None);
        assert_eq!(limits.rate_for(&Principal::owner(), plan), None);
        assert_eq!(
            limits.rate_for(&key(Some(Rate::new(5, 1))), plan),
            Some(Rate::new(5, 1)),
            "the key's own rate wins over its plan's"
        );
    }

    #[test]
    fn rates_parse_from_the_command_line() {
        assert_eq!(Rate::parse("600:60"), Ok(Some(Rate::new(600, 60))));
        assert_eq!(Rate::parse("120"), Ok(Some(Rate::new(120, 120))));
        assert_eq!(Rate::parse("off"), Ok(None));
        for bad in ["0", "-1", "1.5", "10:0", "ten", ""] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }
}
