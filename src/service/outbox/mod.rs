//! The meter-event outbox sender: a background task that moves pending usage events to Stripe.
//! Recording usage never waits on it: events are written `pending` in the transaction that
//! records them, and this task claims due ones in batches, sends them, then records each
//! outcome: `sent`, due again after a doubling backoff (408, 409, 425, 429, 5xx, network, an
//! answer that is not Stripe's JSON; or no Stripe customer yet), or `failed` with Stripe's reason.
//!
//! One process sends at a time: claiming takes (or renews) a sender lease in the ledger, so the
//! configured rate (`--meter-events-per-second`, evenly spaced, no bursts), the requests in
//! flight and Stripe's one request at a time per customer and meter (v1) hold across every
//! server process on the ledger. A round stops starting requests at half its lease and leaves
//! the rest due at once, so a round never outlives its lease. A process killed mid-send leaves
//! its claimed events to be sent again when the lease ends, under the same identifiers, which
//! Stripe holds once: each event is counted once.
//!
//! `stream` (the default) sends up to 100 events per request on Stripe's v2 meter event stream;
//! a request Stripe refuses for good is sent again one event at a time through v1, so only the
//! events Stripe itself refuses end `failed`, each with Stripe's reason.

mod requeue;
mod send;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio_util::sync::CancellationToken;

use super::{App, BillingError};
use crate::store::{OutboxClaim, OutboxOutcome};

pub use requeue::{Requeued, requeue};

/// How usage goes to Stripe (`--meter-events-api`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeterApi {
    /// The v2 meter event stream: up to 100 events per request, any customers and meters.
    Stream,
    /// `POST /v1/billing/meter_events`: one event per request, one at a time per customer and
    /// meter.
    V1,
}

/// How the sender paces itself (`--meter-events-*`).
#[derive(Debug, Clone, Copy)]
pub struct OutboxSettings {
    pub api: MeterApi,
    /// Meter-event requests per second, at most, across every process on the ledger.
    pub per_second: NonZeroU32,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Events claimed per round.
    pub batch: i64,
    /// How long claimed events and the sender role are kept from other processes.
    pub lease: Duration,
    /// The first retry's delay, doubled per attempt up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// How often an idle sender looks for new events.
    pub poll: Duration,
}

impl Default for OutboxSettings {
    fn default() -> OutboxSettings {
        OutboxSettings {
            api: MeterApi::Stream,
            per_second: NonZeroU32::new(100).unwrap_or(NonZeroU32::MIN),
            concurrency: 8,
            batch: 800,
            lease: Duration::from_secs(60),
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            poll: Duration::from_millis(500),
        }
    }
}

/// The running sender: its settings, its name in the sender lease, and its pace.
pub struct Outbox {
    settings: OutboxSettings,
    id: String,
    pace: DefaultDirectRateLimiter,
}

/// Requests are spaced by a second and 2.5% over the rate: network jitter between two requests
/// of at most 25 ms can then never put one more than the rate into one of Stripe's seconds.
fn spacing(per_second: NonZeroU32) -> Duration {
    Duration::from_micros(1_025_000 / u64::from(per_second.get())).max(Duration::from_micros(1))
}

impl Outbox {
    pub fn new(settings: OutboxSettings) -> Outbox {
        let quota = Quota::with_period(spacing(settings.per_second))
            .unwrap_or_else(|| Quota::per_second(settings.per_second))
            .allow_burst(NonZeroU32::MIN);
        Outbox {
            pace: RateLimiter::direct(quota),
            id: format!("sender_{}", uuid::Uuid::now_v7().simple()),
            settings,
        }
    }

    /// Send until `cancel` fires, then give up the sender role. Errors (the ledger unreachable)
    /// are logged and retried.
    pub async fn run(self, app: Arc<App>, cancel: CancellationToken) {
        tracing::info!(
            api = ?self.settings.api,
            per_second = self.settings.per_second.get(),
            concurrency = self.settings.concurrency,
            "meter-event outbox started"
        );
        loop {
            let idle = match self.send_due(&app).await {
                Ok(n) => n < self.settings.batch as usize,
                Err(e) => {
                    tracing::error!(error = %e.message, "meter-event outbox round failed");
                    true
                }
            };
            if idle {
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(self.settings.poll) => {}
                }
            } else if cancel.is_cancelled() {
                break;
            }
        }
        if let Err(e) = app.store.release_sender(&self.id).await {
            tracing::warn!(error = %e, "could not give up the meter-event sender role");
        }
    }

    /// One round: claim due events (when this process holds the sender role), send them,
    /// record the outcomes. Returns how many it claimed.
    pub async fn send_due(&self, app: &App) -> Result<usize, BillingError> {
        let payments = app.stripe()?;
        let now = app.now();
        let claimed = app
            .store
            .claim_outbox(OutboxClaim {
                sender: self.id.clone(),
                now,
                lease_until: now + millis(self.settings.lease),
                limit: self.settings.batch,
            })
            .await?;
        let count = claimed.len();
        if count == 0 {
            return Ok(0);
        }
        let round = send::Round {
            app,
            payments,
            outbox: self,
            deadline: Instant::now() + self.settings.lease / 2,
        };
        let (ready, mut outcomes) = round.prepare(claimed);
        outcomes.extend(match self.settings.api {
            MeterApi::Stream => round.stream(ready).await,
            MeterApi::V1 => round.singly(ready).await,
        });
        let sent: usize = outcomes
            .iter()
            .map(|o| match o {
                OutboxOutcome::Sent { ids, .. } => ids.len(),
                _ => 0,
            })
            .sum();
        app.store.settle_outbox(outcomes).await?;
        tracing::debug!(claimed = count, sent, "meter-event outbox round");
        Ok(count)
    }
}

/// `first` doubled per earlier attempt, at most `max`.
fn backoff(first: Duration, max: Duration, attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.clamp(0, 30)).unwrap_or(30);
    first
        .saturating_mul(2_u32.saturating_pow(doublings))
        .min(max)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_per_attempt_up_to_the_cap() {
        let (first, cap) = (Duration::from_secs(1), Duration::from_secs(300));
        let waits: Vec<u64> = (0..11).map(|a| backoff(first, cap, a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff(first, cap, i64::MAX), cap);
    }

    #[test]
    fn requests_are_spaced_a_little_over_the_rate_so_no_second_holds_more() {
        let at = |n| spacing(NonZeroU32::new(n).unwrap()).as_micros();
        assert_eq!(at(100), 10_250);
        assert_eq!(at(20), 51_250);
        // 21 requests at 20 per second span more than a second.
        assert!(20 * at(20) > 1_000_000);
        assert_eq!(at(10_000), 102);
    }
}
