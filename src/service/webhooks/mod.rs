//! Stripe webhooks in (`POST /webhooks/stripe`): each delivery's signature is checked, the event
//! is stored once under Stripe's event id, and processed once: what it means for the ledger is
//! worked out here and applied with the event's new status in one transaction. Events of one
//! Stripe object apply in order: one older than the state already applied is `ignored`.
//!
//! Handled: `checkout.session.completed` (a credit pack → its credits, granted once; a
//! subscription → the plan), `customer.subscription.created|updated|deleted` (plan, status,
//! interval, period; a deleted subscription falls back to the catalog's default plan) — both in
//! `plans.rs`; `invoice.*` (each invoice's status and amount remaining, the customer delinquent
//! or not; a paid invoice marks its period's usage billed), `customer.created|updated` (links a
//! ledger customer named in the metadata; the default payment method), `setup_intent.succeeded`
//! and `payment_method.attached|detached` (a payment method on file) — in `accounts.rs`.
//! Entitlement decisions follow at once: every change goes through the ledger writer, which
//! drops the customer's cached state.

mod accounts;
mod event;
mod plans;

use schemars::JsonSchema;
use secrecy::SecretString;
use serde::Serialize;

use self::event::{Event, Object};
use super::{App, BillingError, PageInfo};
use crate::core::period::rfc3339;
use crate::store::{
    CustomerRecord, StripeLink, WebhookApply, WebhookDecision, WebhookEffect, WebhookQuery,
    WebhookRecord,
};
use crate::stripe::checkout::CUSTOMER_KEY;
use crate::stripe::signature::{self, SignatureError};

/// Signing secrets (`--stripe-webhook-secret`, two while one is rolled) and the tolerance.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub secrets: Vec<SecretString>,
    pub tolerance_secs: i64,
}

impl Default for WebhookSettings {
    fn default() -> WebhookSettings {
        WebhookSettings {
            secrets: Vec::new(),
            tolerance_secs: 300,
        }
    }
}

/// Why a delivery was refused; the HTTP layer answers 400 (503 when not configured).
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error(
        "webhooks are not configured: set STRIPE_WEBHOOK_SECRET to the endpoint's signing secret"
    )]
    NotConfigured,
    #[error("signature check failed: {0}")]
    Signature(#[from] SignatureError),
    #[error("not a Stripe event: {0}")]
    Malformed(String),
    #[error("{}", .0.message)]
    Ledger(BillingError),
}

/// A webhook event as the tools show it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WebhookEventView {
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub object_id: Option<String>,
    /// When Stripe created the event.
    pub created: String,
    /// `received`, `processed`, `ignored` or `failed`.
    pub status: String,
    /// What processing did, or why it was ignored or failed.
    pub outcome: Option<String>,
    pub attempts: i64,
    pub received_at: String,
    pub processed_at: Option<String>,
    /// True once retention cleared the event's payload (the event stays, so a redelivery is
    /// still a duplicate).
    pub payload_removed: bool,
}

impl From<&WebhookRecord> for WebhookEventView {
    fn from(r: &WebhookRecord) -> WebhookEventView {
        WebhookEventView {
            event_id: r.id.clone(),
            kind: r.kind.clone(),
            object_id: r.object_id.clone(),
            created: rfc3339(r.created),
            status: r.status.clone(),
            outcome: r.outcome.clone(),
            attempts: r.attempts,
            received_at: rfc3339(r.received_at),
            processed_at: r.processed_at.map(rfc3339),
            payload_removed: r.payload.is_empty(),
        }
    }
}

/// The answer to one delivery.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivered {
    pub received: bool,
    /// The event was stored before: nothing was done again.
    pub duplicate: bool,
    pub event: WebhookEventView,
}

/// Check, store once and process one delivery.
pub async fn receive(
    app: &App,
    body: &[u8],
    signature_header: Option<&str>,
) -> Result<Delivered, Refused> {
    if app.webhooks.secrets.is_empty() {
        return Err(Refused::NotConfigured);
    }
    let now = app.now();
    signature::verify(
        body,
        signature_header,
        &app.webhooks.secrets,
        app.webhooks.tolerance_secs,
        now.div_euclid(1000),
    )?;
    let event: Event =
        serde_json::from_slice(body).map_err(|e| Refused::Malformed(e.to_string()))?;
    let record = WebhookRecord {
        id: event.id.clone(),
        kind: event.kind.clone(),
        object_id: event.data.object.id.clone(),
        created: event.created.saturating_mul(1000),
        payload: String::from_utf8_lossy(body).into_owned(),
        status: "received".into(),
        outcome: None,
        attempts: 0,
        received_at: now,
        processed_at: None,
    };
    let (stored, new) = app
        .store
        .receive_webhook(record)
        .await
        .map_err(|e| Refused::Ledger(e.into()))?;
    // Stored but never finished (a crash mid-way): this redelivery finishes it.
    if !new && stored.status != "received" {
        counted(&stored.kind, "duplicate");
        return Ok(Delivered {
            received: true,
            duplicate: true,
            event: (&stored).into(),
        });
    }
    let done = process(app, &stored).await.map_err(Refused::Ledger)?;
    counted(&done.kind, &done.status);
    Ok(Delivered {
        received: true,
        duplicate: !new,
        event: (&done).into(),
    })
}

/// Apply what this server itself just did at Stripe (a subscription it created) as Stripe's
/// event about it would: the same handler, stored once under a local event id
/// (`local.{type}.{object id}`). The ledger follows at once instead of waiting for the webhook,
/// and Stripe's own event, when it comes, changes nothing more (the object's events apply in
/// order). `created` is when Stripe made the object (epoch seconds).
pub async fn follow(
    app: &App,
    kind: &str,
    object: serde_json::Value,
    created: i64,
) -> Result<WebhookEventView, BillingError> {
    let object_id = object
        .get("id")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let id = format!("local.{kind}.{object_id}");
    let payload = serde_json::json!({
        "id": id, "object": "event", "type": kind, "created": created,
        "data": {"object": object},
    });
    let record = WebhookRecord {
        id,
        kind: kind.to_string(),
        object_id: Some(object_id),
        created: created.saturating_mul(1000),
        payload: payload.to_string(),
        status: "received".into(),
        outcome: None,
        attempts: 0,
        received_at: app.now(),
        processed_at: None,
    };
    let (stored, new) = app.store.receive_webhook(record).await?;
    if !new && stored.status != "received" {
        return Ok((&stored).into());
    }
    Ok((&process(app, &stored).await?).into())
}

/// A signed delivery, by its type and what became of it.
fn counted(kind: &str, status: &str) {
    metrics::counter!(
        "billing_webhook_events_total",
        "type" => kind.to_string(),
        "status" => status.to_string(),
    )
    .increment(1);
}

/// Work out and apply what a stored event means.
async fn process(app: &App, record: &WebhookRecord) -> Result<WebhookRecord, BillingError> {
    let event: Event = serde_json::from_str(&record.payload)
        .map_err(|e| BillingError::invalid(format!("the stored event cannot be read: {e}")))?;
    let now = app.now();
    let mut change = Change {
        now,
        // Changes take effect when Stripe made them, even if the event arrives late.
        happened: event.created.saturating_mul(1000).min(now),
        gate: None,
        effects: Vec::new(),
        outcome: String::new(),
    };
    let decided = match event.kind.as_str() {
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => plans::subscription(app, &event, &mut change).await,
        "checkout.session.completed" => plans::checkout(app, &event, &mut change).await,
        "invoice.finalized"
        | "invoice.updated"
        | "invoice.payment_failed"
        | "invoice.paid"
        | "invoice.voided"
        | "invoice.marked_uncollectible" => accounts::invoice(app, &event, &mut change).await,
        "customer.created" | "customer.updated" => {
            accounts::customer(app, &event, &mut change).await
        }
        "setup_intent.succeeded" | "payment_method.attached" | "payment_method.detached" => {
            accounts::payment_method(app, &event, &mut change).await
        }
        other => Err(Skip::Ignore(format!(
            "`{other}` is not an event this server acts on"
        ))),
    };
    let decision = match decided {
        Ok(()) => WebhookDecision::Apply {
            gate: change.gate,
            effects: change.effects,
            outcome: change.outcome,
        },
        Err(Skip::Ignore(why)) => WebhookDecision::Ignore(why),
        Err(Skip::Fail(why)) => WebhookDecision::Fail(why),
        Err(Skip::Error(e)) => return Err(e),
    };
    let apply = WebhookApply {
        event_id: record.id.clone(),
        decision,
        now: change.now,
    };
    let done = app
        .store
        .apply_webhook(apply)
        .await?
        .ok_or_else(|| BillingError::new("unknown_webhook_event", "the event is not stored"))?;
    if done.status == "failed" {
        tracing::warn!(event = %done.id, kind = %done.kind, outcome = ?done.outcome, "webhook event failed");
    }
    Ok(done)
}

/// What an event changes, as its handler works it out.
struct Change {
    now: i64,
    /// When Stripe created the event (epoch ms), at most `now`.
    happened: i64,
    /// (Stripe object id, event created ms): see [`WebhookDecision::Apply`].
    gate: Option<(String, i64)>,
    effects: Vec<WebhookEffect>,
    outcome: String,
}

/// Why an event changes nothing.
enum Skip {
    /// Nothing to do (marked `ignored`).
    Ignore(String),
    /// It should change something but cannot (marked `failed`; `retry_webhook_event` re-runs it).
    Fail(String),
    /// The ledger failed (the delivery gets 500, so Stripe sends it again).
    Error(BillingError),
}

impl From<crate::store::StoreError> for Skip {
    fn from(e: crate::store::StoreError) -> Skip {
        Skip::Error(e.into())
    }
}

/// The ledger customer an object is about: by its linked Stripe customer, else the ledger id in
/// its metadata or `client_reference_id`.
async fn ledger_customer(app: &App, object: &Object) -> Result<CustomerRecord, Skip> {
    ledger_customer_of(app, object.stripe_customer(), object).await
}

/// [`ledger_customer`] with the Stripe customer given (a customer object's own id, or a detached
/// payment method's former customer).
async fn ledger_customer_of(
    app: &App,
    stripe_customer: Option<&str>,
    object: &Object,
) -> Result<CustomerRecord, Skip> {
    if let Some(cus) = stripe_customer
        && let Some(found) = app.store.customer_by_stripe(cus).await?
    {
        return Ok(found);
    }
    let named = object
        .metadata
        .get(CUSTOMER_KEY)
        .or(object.client_reference_id.as_ref());
    if let Some(id) = named
        && let Some(found) = app.store.get_customer(id).await?
    {
        return Ok(found);
    }
    Err(Skip::Fail(format!(
        "no ledger customer for Stripe customer {} (nor metadata `{CUSTOMER_KEY}`): create_customer links one, then retry_webhook_event",
        stripe_customer.unwrap_or("-")
    )))
}

/// Link the ledger customer to the event's Stripe customer when it has none.
fn link_if_new(customer: &CustomerRecord, object: &Object, now: i64) -> Option<WebhookEffect> {
    match (&customer.stripe_customer_id, object.stripe_customer()) {
        (None, Some(cus)) => Some(WebhookEffect::Link(StripeLink {
            customer: customer.id.clone(),
            stripe_customer_id: cus.to_string(),
            now,
        })),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WebhookEventList {
    pub events: Vec<WebhookEventView>,
    #[serde(flatten)]
    pub page: PageInfo,
}

/// Stored events, newest first.
pub async fn list(
    app: &App,
    status: Option<String>,
    kind: Option<String>,
    limit: u32,
    starting_after: Option<String>,
) -> Result<WebhookEventList, BillingError> {
    let limit = i64::from(limit.clamp(1, 100));
    let mut rows = app
        .store
        .list_webhooks(WebhookQuery {
            status,
            kind,
            limit: limit + 1,
            starting_after,
        })
        .await?;
    let page = PageInfo::cut(&mut rows, limit, |r| r.id.clone());
    Ok(WebhookEventList {
        events: rows.iter().map(WebhookEventView::from).collect(),
        page,
    })
}

/// Process a stored event again: one that failed (after fixing its cause) or never finished.
pub async fn retry(app: &App, event_id: &str) -> Result<WebhookEventView, BillingError> {
    let Some(record) = app.store.get_webhook(event_id).await? else {
        return Err(BillingError::new(
            "unknown_webhook_event",
            format!("no webhook event `{event_id}` is stored; list_webhook_events shows the ids"),
        ));
    };
    if matches!(record.status.as_str(), "processed" | "ignored") {
        return Err(BillingError::new(
            "already_processed",
            format!(
                "event {event_id} was {} already ({}); only failed or unfinished events are retried",
                record.status,
                record.outcome.as_deref().unwrap_or("-")
            ),
        ));
    }
    Ok((&process(app, &record).await?).into())
}
