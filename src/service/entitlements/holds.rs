//! Holds: `check_entitlement` with `hold` reserves a call's units and credits before the call
//! runs (they count in every decision as if consumed, so concurrent calls never pass a limit or
//! overdraw); `settle_hold` records what the call actually used, decided without the hold so
//! never more than is allowed, and `release_hold` gives everything back. A hold nobody ends
//! expires after its TTL and counts no more.

use schemars::JsonSchema;
use serde::Serialize;

use super::{CheckInput, Prepared, already_allowed, refused, view};
use crate::core::period::rfc3339;
use crate::core::usage::Aggregation;
use crate::service::{App, BillingError};
use crate::store::{
    HoldRecord, HoldRequest, Placed, ReleaseRequest, SettleRequest, Settled, Verdict,
};

/// How long a hold lasts unless the caller says: long enough for a slow tool call.
pub const DEFAULT_TTL_MS: i64 = 300_000;
/// The longest hold: a day.
pub const MAX_TTL_MS: i64 = 86_400_000;

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct HoldView {
    pub hold_id: String,
    pub customer: String,
    pub feature: String,
    pub meter: String,
    /// `held` (counted as used until settled, released or expired), `settled`, `released` or
    /// `expired` (counted no more).
    pub status: String,
    /// Units held: what the call may use.
    pub quantity: u64,
    /// Credits held; only settling burns credits.
    pub credits: u64,
    pub expires_at: String,
    /// Units recorded by settling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settled_quantity: Option<u64>,
    /// The usage event settling recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// True when this call changed nothing: the hold was placed, settled or released before.
    pub duplicate: bool,
    /// One sentence for a person.
    pub message: String,
}

fn as_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(super) fn hold_view(h: &HoldRecord, now: i64, duplicate: bool) -> HoldView {
    let status = h.state(now).to_string();
    let message = match status.as_str() {
        "held" => format!(
            "Held until {}: settle it with settle_hold (the actual quantity) or release it with release_hold.",
            rfc3339(h.expires_at)
        ),
        "expired" => format!(
            "Expired at {}: it counts no more and nothing was charged.",
            rfc3339(h.expires_at)
        ),
        "settled" => format!(
            "Settled: {} units recorded{}.",
            h.settled_quantity.map_or(0, as_u64),
            if h.credits > 0 {
                " and their credits burned"
            } else {
                ""
            }
        ),
        _ => "Released: nothing was charged.".into(),
    };
    HoldView {
        hold_id: h.id.clone(),
        customer: h.customer_id.clone(),
        feature: h.feature.clone(),
        meter: h.meter.clone(),
        status,
        quantity: as_u64(h.quantity),
        credits: as_u64(h.credits),
        expires_at: rfc3339(h.expires_at),
        settled_quantity: h.settled_quantity.map(as_u64),
        event_id: h.event_id.clone(),
        duplicate,
        message,
    }
}

/// Place a hold for `check_entitlement`: the verdict, the hold when allowed, and whether the
/// idempotency key placed it before.
pub(super) async fn place(
    app: &App,
    input: &CheckInput,
    prepared: &Prepared,
    ttl_ms: i64,
    now: i64,
) -> Result<(Verdict, Option<HoldView>, bool), BillingError> {
    let aggregation = prepared
        .feature
        .meter
        .as_deref()
        .and_then(|m| app.catalog.meters.get(m))
        .map_or(Aggregation::Sum, |m| m.aggregation);
    if aggregation.is_gauge() || aggregation == Aggregation::Unique {
        return Err(BillingError::new(
            "hold_not_supported",
            format!(
                "feature `{}` counts a {} meter, which a hold cannot reserve; use consume: true instead",
                prepared.feature.id,
                aggregation.as_str()
            ),
        ));
    }
    if !(1_000..=MAX_TTL_MS).contains(&ttl_ms) {
        return Err(BillingError::invalid(
            "hold_ttl_seconds must be between 1 and 86400",
        ));
    }
    let request = HoldRequest {
        consume: prepared.consume_request(
            app,
            &input.customer,
            input.quantity,
            input.idempotency_key.clone(),
            now,
        )?,
        id: crate::ids::new_id("hold"),
        feature: prepared.feature.id.clone(),
        expires_at: now.saturating_add(ttl_ms),
    };
    match app.store.place_hold(request).await? {
        Placed::UnknownCustomer => Err(refused(app, &input.customer).await),
        Placed::Duplicate(hold) => {
            let decision = already_allowed(app, &input.customer, prepared, now).await?;
            Ok((
                Verdict::of(decision),
                Some(hold_view(&hold, now, true)),
                true,
            ))
        }
        Placed::Decided { verdict, hold } => {
            let hold = hold.map(|h| hold_view(&h, now, false));
            metrics::counter!("billing_holds_total", "event" => if hold.is_some() { "placed" } else { "denied" }).increment(1);
            Ok((*verdict, hold, false))
        }
    }
}

fn not_found(hold_id: &str) -> BillingError {
    BillingError::new(
        "hold_not_found",
        format!(
            "the customer has no hold `{hold_id}`; check the hold_id check_entitlement returned and the customer"
        ),
    )
}

pub struct SettleInput {
    pub customer: String,
    pub hold_id: String,
    /// The units actually used (default: what was held).
    pub quantity: Option<u64>,
    /// Dimensions known only now (the gateway's `outcome`), added to the hold's.
    pub dimensions: std::collections::BTreeMap<String, String>,
}

/// What settling needs to know of a hold: a `settle_hold` call reads it, the gateway kept it
/// from placing the hold.
#[derive(Debug, Clone)]
pub struct Held {
    pub id: String,
    pub feature: String,
    /// The dimensions it was placed with.
    pub dimensions: std::collections::BTreeMap<String, String>,
    /// The tool it was placed for, when not among `dimensions`.
    pub tool: Option<String>,
    /// The units it holds.
    pub quantity: u64,
}

/// Settle a hold: record the units the call used (and burn their credits) and end the hold.
pub async fn settle(app: &App, input: SettleInput) -> Result<HoldView, BillingError> {
    let Some(hold) = app.store.get_hold(&input.customer, &input.hold_id).await? else {
        return Err(not_found(&input.hold_id));
    };
    let held = Held {
        id: hold.id,
        feature: hold.feature,
        dimensions: serde_json::from_str(&hold.dimensions).unwrap_or_default(),
        tool: None,
        quantity: as_u64(hold.quantity),
    };
    settle_held(app, held, input).await
}

/// Settle a hold the caller knows (`input.hold_id` is `held.id`).
pub async fn settle_held(
    app: &App,
    held: Held,
    input: SettleInput,
) -> Result<HoldView, BillingError> {
    let now = app.now();
    let mut dimensions = held.dimensions;
    dimensions.extend(input.dimensions);
    let prepared = Prepared::new(app, &held.feature, dimensions, held.tool)?;
    let quantity = input.quantity.unwrap_or(held.quantity);
    if quantity > super::super::usage_event::MAX_QUANTITY {
        return Err(BillingError::invalid("quantity is above the maximum"));
    }
    let key = Some(format!("hold:{}", held.id));
    let request = SettleRequest {
        hold_id: held.id.clone(),
        consume: prepared.consume_request(app, &input.customer, quantity, key, now)?,
    };
    match app.store.settle_hold(request).await? {
        Settled::NotFound => Err(not_found(&input.hold_id)),
        Settled::Done {
            hold,
            verdict,
            duplicate,
        } => {
            if let Some(e) = verdict.and_then(|v| v.error) {
                return Err(e.into());
            }
            metrics::counter!("billing_holds_total", "event" => "settled")
                .increment(u64::from(!duplicate));
            Ok(hold_view(&hold, now, duplicate))
        }
        Settled::Denied { hold, verdict } => {
            if let Some(e) = verdict.error {
                return Err(e.into());
            }
            let asked = CheckInput {
                customer: input.customer.clone(),
                feature: hold.feature.clone(),
                quantity,
                ..CheckInput::default()
            };
            let v = view::view(app, &asked, verdict.decision, None, false, None);
            Err(BillingError::new(
                "settle_exceeds_allowed",
                format!(
                    "{} units are more than the hold and the plan allow ({}); the hold still stands: settle at most {} units, or release it",
                    quantity, v.message, hold.quantity
                ),
            )
            .with("reason", v.reason)
            .with("held_quantity", hold.quantity))
        }
        Settled::Released(hold) => Err(BillingError::new(
            "hold_released",
            format!(
                "hold `{}` was released{}; nothing was settled: check the entitlement again for a new hold, or record the usage with record_usage",
                hold.id,
                hold.ended_at
                    .map_or(String::new(), |t| format!(" at {}", rfc3339(t)))
            ),
        )),
    }
}

/// Release a hold: nothing is charged and its units and credits count no more.
pub async fn release(app: &App, customer: &str, hold_id: &str) -> Result<HoldView, BillingError> {
    let now = app.now();
    let request = ReleaseRequest {
        customer: customer.to_string(),
        hold_id: hold_id.to_string(),
        now,
    };
    match app.store.release_hold(request).await? {
        None => Err(not_found(hold_id)),
        Some((hold, _)) if hold.status == "settled" => Err(BillingError::new(
            "hold_settled",
            format!(
                "hold `{}` was settled into event `{}`; to give the usage back, adjust it (adjust_credits for credits)",
                hold.id,
                hold.event_id.as_deref().unwrap_or("")
            ),
        )),
        Some((hold, released)) => {
            metrics::counter!("billing_holds_total", "event" => "released")
                .increment(u64::from(released));
            Ok(hold_view(&hold, now, !released))
        }
    }
}
