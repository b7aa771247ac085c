//! One meter reconciled: the ledger's quantity by the meter's aggregation, its events by
//! delivery state, Stripe's aggregated value over the window, and the reason they differ.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{Delivery, LedgerCount, MeterDifference, MeterReconciliation, StripeCount};
use crate::core::period::Span;
use crate::core::usage::{Aggregation, Tally};
use crate::service::{App, BillingError};
use crate::store::MeterDelivery;

/// The sent events' quantity by `aggregation`.
fn sent_quantity(aggregation: Aggregation, sent: Option<&MeterDelivery>) -> u64 {
    let Some(s) = sent else { return 0 };
    let value = match aggregation {
        Aggregation::Count => s.events,
        Aggregation::Last => s.last_quantity.unwrap_or(0),
        _ => s.quantity,
    };
    u64::try_from(value).unwrap_or(0)
}

/// One meter's row; `None` when neither side holds anything of it.
pub(super) async fn meter_row(
    app: &App,
    stripe_meters: &BTreeMap<String, String>,
    stripe_customer: &str,
    window: Span,
    meter: String,
    ledger: Option<Tally>,
    delivered: Vec<&MeterDelivery>,
) -> Result<Option<MeterReconciliation>, BillingError> {
    let catalog = app.catalog.meters.get(&meter);
    let aggregation = catalog.map_or(Aggregation::Sum, |m| m.aggregation);
    let ledger = ledger.unwrap_or_default();
    let ledger = LedgerCount {
        quantity: ledger.value(aggregation),
        events: ledger.count,
    };
    let state = |s: &str| delivered.iter().find(|d| d.stripe_state == s).copied();
    let count = |s: &str| state(s).map_or(0, |d| d.events);
    let delivery = Delivery {
        sent: count("sent"),
        pending: count("pending"),
        failed: delivered
            .iter()
            .filter(|d| !matches!(d.stripe_state.as_str(), "sent" | "pending" | "ledger"))
            .map(|d| d.events)
            .sum(),
        ledger_only: count("ledger"),
        quantity_sent: sent_quantity(aggregation, state("sent")),
    };
    let mut row = MeterReconciliation {
        event_name: catalog.map(|m| m.event_name.clone()),
        aggregation: aggregation.as_str().to_string(),
        meter,
        ledger,
        delivery,
        stripe: None,
        difference: MeterDifference {
            reason: String::new(),
            quantity: None,
            message: String::new(),
        },
    };
    let mirrored =
        catalog.filter(|m| crate::service::sync::desired::formula(m.aggregation).is_some());
    let Some(event_name) = mirrored.map(|m| m.event_name.as_str()) else {
        row.difference = named(
            "ledger_only",
            None,
            "Stripe cannot meter this usage as the ledger counts it (a max or unique meter, or a boolean feature's counter): the ledger alone bills it and nothing was sent".into(),
        );
        return Ok(Some(row));
    };
    let Some(stripe_meter) = stripe_meters.get(event_name) else {
        row.difference = named(
            "meter_not_in_stripe",
            None,
            format!(
                "Stripe has no active meter with event name `{event_name}`, so it counts none of this usage; run sync_catalog to create it"
            ),
        );
        return Ok(Some(row));
    };
    let held = app
        .stripe()?
        .meter_usage(stripe_meter, stripe_customer, window.start, window.end)
        .await?
        .aggregated_value;
    if row.ledger.events == 0 && held.is_zero() {
        return Ok(None);
    }
    row.stripe = Some(StripeCount {
        meter: stripe_meter.clone(),
        aggregated_value: held.to_string(),
    });
    row.difference = difference(aggregation, &row, held);
    Ok(Some(row))
}

fn named(reason: &str, quantity: Option<Decimal>, message: String) -> MeterDifference {
    MeterDifference {
        reason: reason.to_string(),
        quantity: quantity.map(|q| q.normalize().to_string()),
        message,
    }
}

/// The difference Stripe's value `held` makes with the ledger's row.
fn difference(
    aggregation: Aggregation,
    row: &MeterReconciliation,
    held: Decimal,
) -> MeterDifference {
    let sent = Decimal::from(row.delivery.quantity_sent);
    let gap = held.saturating_sub(Decimal::from(row.ledger.quantity));
    let d = &row.delivery;
    if held != sent && aggregation == Aggregation::Last {
        return named(
            "last_value_differs",
            Some(gap),
            format!(
                "Stripe's last value is {held} where the latest event sent was {sent}; an event was dropped or not aggregated yet, or Stripe holds a later one sent from elsewhere"
            ),
        );
    }
    if held < sent {
        return named(
            "missing_at_stripe",
            Some(gap),
            format!(
                "Stripe holds {held} where the ledger sent {sent} ({} less): events the ledger sent are not counted at Stripe. Stripe aggregates asynchronously, so check again in a few minutes; if it stays, compare get_usage's events with Stripe's meter events for this customer",
                sent.saturating_sub(held)
            ),
        );
    }
    if held > sent {
        return named(
            "extra_at_stripe",
            Some(gap),
            format!(
                "Stripe holds {held} where the ledger sent {sent} ({} more): usage reached this Stripe meter from outside this ledger (another sender, or a test event)",
                held.saturating_sub(sent)
            ),
        );
    }
    if d.failed > 0 {
        return named(
            "failed_delivery",
            Some(gap),
            format!(
                "{} event(s) Stripe refused for good are not at Stripe; see get_usage's errors, fix the cause and call retry_meter_events",
                d.failed
            ),
        );
    }
    if d.pending > 0 {
        return named(
            "pending_delivery",
            Some(gap),
            format!(
                "{} event(s) are not sent yet; the outbox sends them (a customer's first events wait for its Stripe link), then Stripe agrees",
                d.pending
            ),
        );
    }
    named(
        "in_agreement",
        Some(gap),
        "Stripe holds exactly what the ledger recorded".into(),
    )
}
