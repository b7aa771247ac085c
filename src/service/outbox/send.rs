//! One sender round: claimed events made into Stripe meter events, sent on the v2 stream (up to
//! 100 per request, any customers and meters) or one by one through v1 (in order per customer
//! and meter, as Stripe requires), each request paced, and each request's outcome for its events.

use std::collections::BTreeMap;
use std::time::Instant;

use futures::StreamExt;

use super::{Outbox, backoff, millis};
use crate::service::{App, BillingError};
use crate::store::{OutboxEvent, OutboxOutcome};
use crate::stripe::meter_events::MeterEvent;
use crate::stripe::meter_stream::MAX_EVENTS;
use crate::stripe::{Error, Payments};

/// A round in progress: no request starts after `deadline` (half the claim's lease).
pub(super) struct Round<'a> {
    pub(super) app: &'a App,
    pub(super) payments: &'a Payments,
    pub(super) outbox: &'a Outbox,
    pub(super) deadline: Instant,
}

/// A request's answer, or `None` when it was not made this round.
type Attempt = Option<Result<(), Error>>;

/// An event ready to go: what Stripe is sent (its identifier is the ledger event id), its
/// attempts so far and its customer and meter.
pub(super) struct Ready {
    event: MeterEvent,
    attempts: i64,
    group: (String, String),
}

impl Round<'_> {
    /// Split claimed events into those ready to send and the outcomes of those that cannot go,
    /// one per meter or customer: a meter no longer in the catalog (failed), a customer with no
    /// Stripe customer yet (parked until one is linked, which releases them at once).
    pub(super) fn prepare(&self, claimed: Vec<OutboxEvent>) -> (Vec<Ready>, Vec<OutboxOutcome>) {
        let mut ready = Vec::with_capacity(claimed.len());
        let mut unknown_meter: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut unlinked: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for e in claimed {
            let Some(meter) = self.app.catalog.meters.get(&e.meter) else {
                unknown_meter.entry(e.meter).or_default().push(e.id);
                continue;
            };
            let Some(stripe_customer_id) = e.stripe_customer_id.clone() else {
                unlinked.entry(e.customer_id).or_default().push(e.id);
                continue;
            };
            let dimensions = serde_json::from_str::<BTreeMap<String, String>>(&e.dimensions)
                .unwrap_or_default()
                .into_iter()
                .filter(|(k, _)| meter.dimensions.contains(k))
                .collect();
            ready.push(Ready {
                event: MeterEvent {
                    identifier: e.id,
                    event_name: meter.event_name.clone(),
                    stripe_customer_id,
                    value: e.quantity,
                    occurred_at: e.occurred_at,
                    dimensions,
                },
                group: (e.customer_id, e.meter),
                attempts: e.stripe_attempts,
            });
        }
        let failed = unknown_meter
            .into_iter()
            .map(|(meter, ids)| OutboxOutcome::Failed {
                error: format!(
                    "meter `{meter}` is no longer in the catalog, so it has no Stripe event name"
                ),
                ids,
            });
        let parked_until = self.app.now() + millis(self.outbox.settings.max_backoff);
        let parked = unlinked.into_iter().map(|(customer, ids)| OutboxOutcome::Retry {
            next_at: parked_until,
            error: format!(
                "customer `{customer}` has no Stripe customer yet; create_customer links one (the event is sent as soon as it does)"
            ),
            attempted: false,
            ids,
        });
        (ready, failed.chain(parked).collect())
    }

    /// Up to 100 events per stream request, `concurrency` requests at once. Requests Stripe
    /// refused for good go again one event at a time through v1, so each bad event is named.
    pub(super) async fn stream(&self, ready: Vec<Ready>) -> Vec<OutboxOutcome> {
        let mut chunks: Vec<Vec<Ready>> = Vec::new();
        let mut rest = ready.into_iter().peekable();
        while rest.peek().is_some() {
            chunks.push(rest.by_ref().take(MAX_EVENTS).collect());
        }
        let answered: Vec<(Vec<Ready>, Attempt)> = futures::stream::iter(chunks)
            .map(|chunk| async move {
                if let Err(e) = self.payments.stream.open().await {
                    return (chunk, Some(Err(e)));
                }
                if !self.go().await {
                    return (chunk, None);
                }
                let events: Vec<MeterEvent> = chunk.iter().map(|r| r.event.clone()).collect();
                let started = Instant::now();
                let sent = self.payments.stream.send(&events).await;
                timed("stream", started);
                (chunk, Some(sent))
            })
            .buffer_unordered(self.outbox.settings.concurrency.max(1))
            .collect()
            .await;
        let (mut outcomes, mut refused) = (Vec::new(), Vec::new());
        for (chunk, sent) in answered {
            match sent {
                Some(Err(e)) if !e.transient => {
                    tracing::warn!(events = chunk.len(), error = %e, "Stripe refused a meter event stream request; sending its events one by one");
                    refused.extend(chunk);
                }
                sent => outcomes.push(self.outcome(chunk, sent, "stream")),
            }
        }
        if !refused.is_empty() {
            outcomes.extend(self.singly(refused).await);
        }
        outcomes
    }

    /// One event per v1 request: in order within each customer and meter, groups `concurrency`
    /// at once.
    pub(super) async fn singly(&self, ready: Vec<Ready>) -> Vec<OutboxOutcome> {
        let mut groups: BTreeMap<(String, String), Vec<Ready>> = BTreeMap::new();
        for r in ready {
            groups.entry(r.group.clone()).or_default().push(r);
        }
        futures::stream::iter(groups.into_values())
            .map(|group| async move {
                let mut outcomes = Vec::with_capacity(group.len());
                for r in group {
                    let sent = match self.go().await {
                        true => {
                            let started = Instant::now();
                            let sent = self.payments.send_meter_event(&r.event).await;
                            timed("v1", started);
                            Some(sent)
                        }
                        false => None,
                    };
                    outcomes.push(self.outcome(vec![r], sent, "v1"));
                }
                outcomes
            })
            .buffer_unordered(self.outbox.settings.concurrency.max(1))
            .flat_map(futures::stream::iter)
            .collect()
            .await
    }

    /// Wait for the next request's turn; false when that turn would come after the round's
    /// deadline (what is left goes back, due at once), so the round ends within its lease.
    async fn go(&self) -> bool {
        // `timeout_at` polls the pace first: a turn free past the deadline would still be taken.
        if Instant::now() >= self.deadline {
            return false;
        }
        let deadline = tokio::time::Instant::from_std(self.deadline);
        let paced = tokio::time::timeout_at(deadline, self.outbox.pace.until_ready()).await;
        paced.is_ok() && Instant::now() < self.deadline
    }

    /// What became of one request's events (`None`: the request was not made this round).
    fn outcome(&self, events: Vec<Ready>, sent: Attempt, api: &'static str) -> OutboxOutcome {
        let attempts = events.iter().map(|r| r.attempts).max().unwrap_or(0);
        let ids: Vec<String> = events.into_iter().map(|r| r.event.identifier).collect();
        let settings = &self.outbox.settings;
        let Some(sent) = sent else {
            return OutboxOutcome::Release { ids };
        };
        let counted = match &sent {
            Ok(()) => "sent",
            Err(e) if e.transient => "retried",
            Err(_) => "failed",
        };
        metrics::counter!("billing_meter_events_total", "outcome" => counted, "api" => api)
            .increment(ids.len() as u64);
        match sent {
            Ok(()) => OutboxOutcome::Sent {
                ids,
                at: self.app.now(),
            },
            Err(e) if e.transient => {
                let wait = if e.session_expired() {
                    std::time::Duration::ZERO
                } else {
                    backoff(settings.backoff, settings.max_backoff, attempts)
                };
                let message = BillingError::from(e).message;
                tracing::warn!(events = ids.len(), wait_ms = millis(wait), error = %message, "meter events not delivered; will retry");
                OutboxOutcome::Retry {
                    next_at: self.app.now() + millis(wait),
                    error: message,
                    attempted: true,
                    ids,
                }
            }
            Err(e) => {
                let message = BillingError::from(e).message;
                tracing::error!(events = ids.len(), error = %message, "Stripe refused a meter event");
                OutboxOutcome::Failed {
                    error: message,
                    ids,
                }
            }
        }
    }
}

/// One meter event request's time, by API.
fn timed(api: &'static str, started: Instant) {
    metrics::histogram!("billing_meter_event_send_duration_seconds", "api" => api)
        .record(started.elapsed().as_secs_f64());
}
