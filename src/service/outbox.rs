//! The meter-event outbox sender: a background task that moves pending usage events to Stripe.
//! Recording usage never waits on it: events are written `pending` in the transaction that
//! records them, and this task claims due ones in batches (a lease keeps other senders off them),
//! sends them at a bounded rate and concurrency (one at a time per customer and meter, as Stripe
//! allows), then records each outcome: `sent`, due again after a doubling backoff (429, 5xx,
//! network; or no Stripe customer yet), or `failed` with Stripe's reason. A process killed
//! mid-send leaves its claimed events to be sent again when the lease ends, under the same
//! identifier and idempotency key, so Stripe counts each event once.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio_util::sync::CancellationToken;

use super::{App, BillingError};
use crate::store::{OutboxClaim, OutboxEvent, OutboxOutcome};
use crate::stripe::meter_events::MeterEvent;

/// How the sender paces itself (`--meter-events-*`).
#[derive(Debug, Clone, Copy)]
pub struct OutboxSettings {
    /// Meter-event requests per second, at most (Stripe allows 1,000 in live mode, fewer in test mode).
    pub per_second: NonZeroU32,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Events claimed per round.
    pub batch: i64,
    /// How long a claimed event is kept from other senders.
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
            per_second: NonZeroU32::new(100).unwrap_or(NonZeroU32::MIN),
            concurrency: 8,
            batch: 100,
            lease: Duration::from_secs(60),
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            poll: Duration::from_millis(500),
        }
    }
}

/// The running sender's pacing state.
pub struct Outbox {
    settings: OutboxSettings,
    pace: DefaultDirectRateLimiter,
}

impl Outbox {
    pub fn new(settings: OutboxSettings) -> Outbox {
        Outbox {
            pace: RateLimiter::direct(Quota::per_second(settings.per_second)),
            settings,
        }
    }

    /// Send until `cancel` fires. Errors (the ledger unreachable) are logged and retried.
    pub async fn run(self, app: Arc<App>, cancel: CancellationToken) {
        tracing::info!(
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
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(self.settings.poll) => {}
                }
            } else if cancel.is_cancelled() {
                return;
            }
        }
    }

    /// One round: claim due events, send them, record the outcomes. Returns how many it claimed.
    pub async fn send_due(&self, app: &App) -> Result<usize, BillingError> {
        let payments = app.stripe()?;
        let now = app.now();
        let claimed = app
            .store
            .claim_outbox(OutboxClaim {
                now,
                lease_until: now + millis(self.settings.lease),
                limit: self.settings.batch,
            })
            .await?;
        let count = claimed.len();
        if count == 0 {
            return Ok(0);
        }
        // Stripe takes one call at a time per customer and meter: each group goes in order.
        let mut groups: BTreeMap<(String, String), Vec<OutboxEvent>> = BTreeMap::new();
        for e in claimed {
            groups
                .entry((e.customer_id.clone(), e.meter.clone()))
                .or_default()
                .push(e);
        }
        let outcomes: Vec<OutboxOutcome> = futures::stream::iter(groups.into_values())
            .map(|group| async move {
                let mut outcomes = Vec::with_capacity(group.len());
                for event in group {
                    outcomes.push(self.deliver(app, payments, event).await);
                }
                outcomes
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .flat_map(futures::stream::iter)
            .collect()
            .await;
        let sent = outcomes
            .iter()
            .filter(|o| matches!(o, OutboxOutcome::Sent { .. }))
            .count();
        app.store.settle_outbox(outcomes).await?;
        tracing::debug!(claimed = count, sent, "meter-event outbox round");
        Ok(count)
    }

    async fn deliver(
        &self,
        app: &App,
        payments: &crate::stripe::Payments,
        event: OutboxEvent,
    ) -> OutboxOutcome {
        let Some(meter) = app.catalog.meters.get(&event.meter) else {
            return OutboxOutcome::Failed {
                error: format!(
                    "meter `{}` is no longer in the catalog, so it has no Stripe event name",
                    event.meter
                ),
                id: event.id,
            };
        };
        let Some(stripe_customer_id) = event.stripe_customer_id.clone() else {
            return OutboxOutcome::Retry {
                next_at: app.now() + millis(self.settings.max_backoff),
                error: format!(
                    "customer `{}` has no Stripe customer yet; create_customer links one (the event is sent as soon as it does)",
                    event.customer_id
                ),
                attempted: false,
                id: event.id,
            };
        };
        let dimensions: BTreeMap<String, String> =
            serde_json::from_str::<BTreeMap<String, String>>(&event.dimensions)
                .unwrap_or_default()
                .into_iter()
                .filter(|(k, _)| meter.dimensions.contains(k))
                .collect();
        let request = MeterEvent {
            identifier: event.id.clone(),
            event_name: meter.event_name.clone(),
            stripe_customer_id,
            value: event.quantity,
            occurred_at: event.occurred_at,
            dimensions,
        };
        self.pace.until_ready().await;
        match payments.send_meter_event(&request).await {
            Ok(()) => OutboxOutcome::Sent {
                id: event.id,
                at: app.now(),
            },
            Err(r) if r.transient => {
                let r = BillingError::from(r);
                let wait = backoff(
                    self.settings.backoff,
                    self.settings.max_backoff,
                    event.stripe_attempts,
                );
                tracing::warn!(event = %event.id, wait_ms = millis(wait), error = %r.message, "meter event not delivered; will retry");
                OutboxOutcome::Retry {
                    next_at: app.now() + millis(wait),
                    error: r.message,
                    attempted: true,
                    id: event.id,
                }
            }
            Err(r) => {
                let r = BillingError::from(r);
                tracing::error!(event = %event.id, error = %r.message, "Stripe refused a meter event");
                OutboxOutcome::Failed {
                    error: r.message,
                    id: event.id,
                }
            }
        }
    }
}

/// `first` doubled per earlier attempt, at most `max`.
/// Failed meter events put back in the outbox.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Requeued {
    pub customer: String,
    pub meter: Option<String>,
    /// The range whose failed events were put back (the current billing period by default).
    pub range: super::PeriodView,
    /// Events due again now (0 when none had failed: a repeat changes nothing).
    pub requeued: u64,
}

/// Put a customer's failed meter events (of one meter, or all) back in the outbox, due at once;
/// they keep their identifiers, so Stripe still counts each once.
pub async fn requeue(
    app: &App,
    customer: &str,
    meter: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Requeued, BillingError> {
    if let Some(m) = meter {
        app.check_meter(m)?;
    }
    let record = app.customer(customer).await?;
    let range = super::usage_report::range_of(app, &record, from, to)?;
    let requeued = app
        .store
        .requeue(crate::store::Requeue {
            customer: record.id.clone(),
            meter: meter.map(String::from),
            from: range.start,
            to: range.end,
        })
        .await?;
    Ok(Requeued {
        customer: record.id,
        meter: meter.map(String::from),
        range: range.into(),
        requeued,
    })
}

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
}
