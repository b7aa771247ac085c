//! Stripe webhooks in (`POST /webhooks/stripe`): each delivery's signature is checked, the event
//! is stored once under Stripe's event id, and processed once: what it means for the ledger is
//! worked out here and applied with the event's new status in one transaction. Events of one
//! Stripe object apply in order: one older than the state already applied is `ignored`.
//!
//! Handled: `checkout.session.completed` (a credit pack → its credits, granted once; a
//! subscription → the plan), `customer.subscription.created|updated|deleted` (plan, status,
//! interval, period; a deleted subscription falls back to the catalog's default plan),
//! `invoice.payment_failed` / `invoice.paid` (the customer delinquent / not; a paid invoice marks
//! its period's usage billed), and
//! `customer.created|updated` (links a ledger customer named in the metadata). Entitlement
//! decisions follow at once: every change goes through the ledger writer, which drops the
//! customer's cached state.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::customers::anchor_at;
use super::{App, BillingError, PageInfo};
use crate::core::entitlement::Status;
use crate::core::period::rfc3339;
use crate::ids::new_id;
use crate::store::{
    CustomerRecord, NewGrant, PlanChange, StripeLink, WebhookApply, WebhookDecision, WebhookEffect,
    WebhookQuery, WebhookRecord,
};
use crate::stripe::checkout::{CUSTOMER_KEY, PACK_KEY, PLAN_KEY};
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

// The fields processing reads; everything else in the event is skipped unparsed (no floats).
#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: Object,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Object {
    id: Option<String>,
    customer: Option<Expandable>,
    metadata: BTreeMap<String, String>,
    status: Option<String>,
    mode: Option<String>,
    payment_status: Option<String>,
    client_reference_id: Option<String>,
    current_period_start: Option<i64>,
    trial_end: Option<i64>,
    items: Option<Items>,
    period_start: Option<i64>,
    period_end: Option<i64>,
}

/// An id, or the object it names when expanded.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Expandable {
    Id(String),
    Object { id: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Items {
    data: Vec<Item>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Item {
    current_period_start: Option<i64>,
    price: Option<Price>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Price {
    metadata: BTreeMap<String, String>,
    recurring: Option<Recurring>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Recurring {
    interval: Option<String>,
}

impl Object {
    fn stripe_customer(&self) -> Option<&str> {
        self.customer.as_ref().map(|c| match c {
            Expandable::Id(id) | Expandable::Object { id } => id.as_str(),
        })
    }
    fn first_item(&self) -> Option<&Item> {
        self.items.as_ref().and_then(|i| i.data.first())
    }
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
        return Ok(Delivered {
            received: true,
            duplicate: true,
            event: (&stored).into(),
        });
    }
    let done = process(app, &stored).await.map_err(Refused::Ledger)?;
    Ok(Delivered {
        received: true,
        duplicate: !new,
        event: (&done).into(),
    })
}

/// Work out and apply what a stored event means.
async fn process(app: &App, record: &WebhookRecord) -> Result<WebhookRecord, BillingError> {
    let event: Event = serde_json::from_str(&record.payload)
        .map_err(|e| BillingError::invalid(format!("the stored event cannot be read: {e}")))?;
    let mut change = Change {
        now: app.now(),
        gate: None,
        effects: Vec::new(),
        outcome: String::new(),
    };
    let decided = match event.kind.as_str() {
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => subscription(app, &event, &mut change).await,
        "checkout.session.completed" => checkout(app, &event, &mut change).await,
        "invoice.paid" | "invoice.payment_failed" => invoice(app, &event, &mut change).await,
        "customer.created" | "customer.updated" => customer(app, &event, &mut change).await,
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
    if let Some(cus) = object.stripe_customer()
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
        object.stripe_customer().unwrap_or("-")
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

fn known_plan(app: &App, plan: &str) -> Result<(), Skip> {
    app.check_plan(plan).map_err(|e| Skip::Fail(e.message))
}

async fn subscription(app: &App, event: &Event, change: &mut Change) -> Result<(), Skip> {
    let sub = &event.data.object;
    let customer = ledger_customer(app, sub).await?;
    let item = sub.first_item();
    let price = item.and_then(|i| i.price.as_ref());
    let named_plan = sub
        .metadata
        .get(PLAN_KEY)
        .or_else(|| price.and_then(|p| p.metadata.get(PLAN_KEY)))
        .cloned();
    let deleted = event.kind.ends_with(".deleted");
    let (plan, status) = match (deleted, &app.catalog.default_plan) {
        (true, Some(fallback)) => (Some(fallback.clone()), "active".to_string()),
        (true, None) => (named_plan.or(customer.plan.clone()), "canceled".into()),
        (false, _) => (
            named_plan.or(customer.plan.clone()),
            sub.status.clone().unwrap_or_else(|| "active".into()),
        ),
    };
    if let Some(p) = &plan {
        known_plan(app, p)?;
    }
    if Status::parse(&status).is_none() {
        return Err(Skip::Fail(format!(
            "subscription status `{status}` is not known"
        )));
    }
    let interval = match price
        .and_then(|p| p.recurring.as_ref())
        .and_then(|r| r.interval.as_deref())
    {
        Some("year") => "year".to_string(),
        Some(_) => "month".to_string(),
        None => customer.billing_interval.clone(),
    };
    let period_start = item
        .and_then(|i| i.current_period_start)
        .or(sub.current_period_start);
    let anchor = match (deleted, period_start) {
        (true, _) => anchor_at(change.now),
        (false, Some(start)) => anchor_at(start.saturating_mul(1000)),
        (false, None) => customer.period_anchor,
    };
    change.gate = sub
        .id
        .clone()
        .map(|id| (id, event.created.saturating_mul(1000)));
    change
        .effects
        .extend(link_if_new(&customer, sub, change.now));
    change.outcome = format!(
        "customer {}: plan {}, status {status}, billed per {interval}",
        customer.id,
        plan.as_deref().unwrap_or("none")
    );
    change.effects.push(WebhookEffect::Plan(PlanChange {
        customer: customer.id.clone(),
        plan,
        billing_interval: interval,
        trial_ends_at: (status == "trialing")
            .then(|| sub.trial_end.map(|t| t.saturating_mul(1000)))
            .flatten(),
        status,
        period_anchor: anchor,
        new_period: false,
        now: change.now,
    }));
    Ok(())
}

async fn checkout(app: &App, event: &Event, change: &mut Change) -> Result<(), Skip> {
    let session = &event.data.object;
    let session_id = session.id.clone().unwrap_or_default();
    if !matches!(
        session.payment_status.as_deref(),
        Some("paid" | "no_payment_required") | None
    ) {
        return Err(Skip::Ignore(format!(
            "checkout session {session_id} is not paid yet ({})",
            session.payment_status.as_deref().unwrap_or("-")
        )));
    }
    let pack = session.metadata.get(PACK_KEY);
    let plan = session.metadata.get(PLAN_KEY);
    if pack.is_none() && plan.is_none() {
        return Err(Skip::Ignore(format!(
            "checkout session {session_id} carries neither `{PACK_KEY}` nor `{PLAN_KEY}` metadata"
        )));
    }
    let customer = ledger_customer(app, session).await?;
    change
        .effects
        .extend(link_if_new(&customer, session, change.now));
    if let Some(pack_id) = pack {
        let Some(pack) = app.catalog.credits.packs.get(pack_id) else {
            return Err(Skip::Fail(format!(
                "credit pack `{pack_id}` is not in the catalog"
            )));
        };
        let credits = pack.credits.saturating_add(pack.bonus);
        change.outcome = format!(
            "customer {}: {credits} credits granted for pack {pack_id}",
            customer.id
        );
        change.effects.push(WebhookEffect::Grant(NewGrant {
            id: new_id("cgr"),
            customer: customer.id.clone(),
            credits: i64::try_from(credits).unwrap_or(i64::MAX),
            priority: 50,
            expires_at: None,
            source: "purchase".into(),
            description: Some(format!("credit pack {pack_id} (Checkout {session_id})")),
            // One grant per session, however many events or retries name it.
            idempotency_key: Some(format!("checkout:{session_id}")),
            now: change.now,
        }));
    } else if let Some(plan) = plan {
        known_plan(app, plan)?;
        change.outcome = format!(
            "customer {}: plan {plan} bought through Checkout",
            customer.id
        );
        change.effects.push(WebhookEffect::Plan(PlanChange {
            customer: customer.id.clone(),
            plan: Some(plan.clone()),
            billing_interval: customer.billing_interval.clone(),
            status: "active".into(),
            period_anchor: anchor_at(change.now),
            trial_ends_at: None,
            new_period: true,
            now: change.now,
        }));
    }
    Ok(())
}

async fn invoice(app: &App, event: &Event, change: &mut Change) -> Result<(), Skip> {
    let invoice = &event.data.object;
    let customer = ledger_customer(app, invoice).await?;
    let paid = event.kind == "invoice.paid";
    // Paid and failed invoices of one customer apply in order: the newest says whether it is overdue.
    change.gate = Some((
        format!("delinquency:{}", customer.id),
        event.created.saturating_mul(1000),
    ));
    let period = match (invoice.period_start, invoice.period_end) {
        (Some(a), Some(b)) => format!(
            " for {} – {}",
            rfc3339(a.saturating_mul(1000)),
            rfc3339(b.saturating_mul(1000))
        ),
        _ => String::new(),
    };
    let id = invoice.id.as_deref().unwrap_or("-");
    let billed = match (paid, &invoice.id, invoice.period_start, invoice.period_end) {
        (true, Some(invoice_id), Some(from), Some(to)) if to > from => {
            change.effects.push(WebhookEffect::Billed {
                customer: customer.id.clone(),
                invoice: invoice_id.clone(),
                from: from.saturating_mul(1000),
                to: to.saturating_mul(1000),
            });
            "; the period's usage marked billed"
        }
        _ => "",
    };
    change.outcome = if paid {
        format!(
            "customer {}: invoice {id} paid{period}; not delinquent{billed}",
            customer.id
        )
    } else {
        format!(
            "customer {}: invoice {id} payment failed{period}; delinquent (the plan's on_payment_overdue applies)",
            customer.id
        )
    };
    change.effects.push(WebhookEffect::Delinquent {
        customer: customer.id.clone(),
        delinquent: !paid,
        now: change.now,
    });
    Ok(())
}

async fn customer(app: &App, event: &Event, change: &mut Change) -> Result<(), Skip> {
    let object = &event.data.object;
    let Some(ledger_id) = object.metadata.get(CUSTOMER_KEY) else {
        return Err(Skip::Ignore(format!(
            "Stripe customer has no `{CUSTOMER_KEY}` metadata"
        )));
    };
    let Some(record) = app.store.get_customer(ledger_id).await? else {
        return Err(Skip::Ignore(format!("no ledger customer `{ledger_id}`")));
    };
    let Some(cus) = object.id.as_deref() else {
        return Err(Skip::Ignore("the customer object has no id".into()));
    };
    match &record.stripe_customer_id {
        Some(linked) if linked == cus => Err(Skip::Ignore(format!(
            "customer {ledger_id} is linked to {cus} already"
        ))),
        Some(linked) => Err(Skip::Ignore(format!(
            "customer {ledger_id} is linked to {linked}; a link is never replaced"
        ))),
        None => {
            change.outcome = format!("customer {ledger_id}: linked to {cus}");
            change.effects.push(WebhookEffect::Link(StripeLink {
                customer: ledger_id.clone(),
                stripe_customer_id: cus.to_string(),
                now: change.now,
            }));
            Ok(())
        }
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
