//! Rate limits per API key: a token bucket (governor's GCRA) of `burst` calls refilled at
//! `per_minute`, on the service's injected clock. A key's own rate wins over its role's default.
//! Limits protect the server; what a customer's plan allows stays in entitlements. Buckets live in
//! this process (several server processes each allow the full rate).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use schemars::JsonSchema;
use serde::Serialize;

use super::{Principal, Role};
use crate::service::Clock;

/// Calls per minute, with up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, JsonSchema)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Rate {
    pub const fn new(per_minute: u32, burst: u32) -> Rate {
        Rate { per_minute, burst }
    }

    /// A key's stored rate; a burst defaults to one minute's calls.
    pub fn from_stored(per_minute: Option<i64>, burst: Option<i64>) -> Option<Rate> {
        let per_minute = u32::try_from(per_minute?).ok().filter(|n| *n > 0)?;
        let burst = burst
            .and_then(|b| u32::try_from(b).ok())
            .filter(|b| *b > 0)
            .unwrap_or(per_minute);
        Some(Rate { per_minute, burst })
    }

    /// `PER_MINUTE[:BURST]` (e.g. `600:60`) or `off`.
    pub fn parse(text: &str) -> Result<Option<Rate>, String> {
        if text == "off" {
            return Ok(None);
        }
        let number = |s: &str| {
            s.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                format!("`{text}`: expected PER_MINUTE[:BURST] with whole numbers ≥ 1 (e.g. 600:60), or off")
            })
        };
        let (rate, burst) = match text.split_once(':') {
            Some((r, b)) => (number(r)?, number(b)?),
            None => (number(text)?, number(text)?),
        };
        Ok(Some(Rate::new(rate, burst)))
    }
}

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

    /// The rate that applies to a caller; the operator on stdio (no key) is never limited.
    pub fn rate_for(&self, p: &Principal) -> Option<Rate> {
        p.key_id.as_ref()?;
        p.rate.or(self.roles.of(p.role))
    }

    /// Take one call from the caller's bucket, or say after how many milliseconds one is free.
    pub fn take(&self, p: &Principal) -> Result<(), u64> {
        let (Some(key), Some(rate)) = (&p.key_id, self.rate_for(p)) else {
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
            assert_eq!(limits.take(&k), Ok(()));
        }
        // 7 per minute: one call every 8,571.43 ms, so the wait rounds up to 8,572.
        let wait = limits.take(&k).unwrap_err();
        assert_eq!(wait, 8_572);
        now.fetch_add(i64::try_from(wait).unwrap() - 1, Ordering::SeqCst);
        assert!(limits.take(&k).is_err(), "one millisecond early");
        now.fetch_add(1, Ordering::SeqCst);
        assert_eq!(limits.take(&k), Ok(()));
        assert!(limits.take(&k).is_err());
    }

    #[test]
    fn role_defaults_apply_and_the_owner_is_never_limited() {
        let limits = RateLimits::new(RoleRates::default(), Arc::new(|| 0));
        assert_eq!(limits.rate_for(&key(None)), Some(Rate::new(600, 100)));
        let service = Principal {
            role: Role::Service,
            ..key(None)
        };
        assert_eq!(limits.rate_for(&service), None);
        assert_eq!(limits.rate_for(&Principal::owner()), None);
        assert_eq!(
            limits.rate_for(&key(Some(Rate::new(5, 1)))),
            Some(Rate::new(5, 1))
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
