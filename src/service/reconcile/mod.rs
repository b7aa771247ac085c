//! `reconcile_usage`: the ledger against Stripe for one customer over a range (its current
//! billing period unless given). Per meter: what the ledger counts (by the meter's aggregation,
//! as `get_usage` and `preview_invoice` count it), what it sent, and what Stripe's meter event
//! summaries hold, with the difference named; then the invoices Stripe made in the range and
//! the ledger's preview of the current period against Stripe's own preview of the
//! subscription's next invoice.
//!
//! Stripe's summaries take whole minutes (`start_time` inclusive, `end_time` exclusive), so the
//! range is widened to whole minutes and the ledger is counted over that same window: like is
//! compared with like. A meter event's time reaches Stripe in whole seconds at the finest, and a
//! second never straddles a minute, so every event falls in the same window on both sides.
//!
//! Stripe is compared with what the ledger *sent*: a Stripe value below it is `missing_at_stripe`
//! (sent and not held: an event dropped, or not aggregated yet, as Stripe aggregates
//! asynchronously), above it `extra_at_stripe` (usage sent from elsewhere); when they agree,
//! events still `failed` or `pending` are named as the difference between the ledger and Stripe.

mod invoices;
mod meters;
mod views;

use std::collections::{BTreeMap, BTreeSet};

use futures::future::try_join_all;

pub use views::*;

use super::usage::range_of;
use super::{App, BillingError};
use crate::core::period::Span;
use crate::core::usage::merged;
use crate::store::MeterDelivery;
use crate::stripe::reconcile::MINUTE_MS;

/// The range widened to whole minutes, as Stripe's summaries take it.
pub fn window_of(range: Span) -> Span {
    let start = range.start.div_euclid(MINUTE_MS) * MINUTE_MS;
    let end = range.end.div_euclid(MINUTE_MS) * MINUTE_MS;
    Span {
        start,
        end: if end < range.end {
            end.saturating_add(MINUTE_MS)
        } else {
            end
        },
    }
}

pub async fn reconcile(
    app: &App,
    customer: &str,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Reconciliation, BillingError> {
    let stripe = app.stripe()?;
    let record = app.customer(customer).await?;
    let range = range_of(app, &record, from, to)?;
    let window = window_of(range);
    let stripe_customer = record.stripe_customer_id.clone().ok_or_else(|| {
        BillingError::new(
            "customer_not_linked",
            format!(
                "customer `{customer}` has no Stripe customer, so Stripe holds none of its usage; call create_customer with the same id to create and link one (its pending usage then goes to Stripe)"
            ),
        )
        .with("customer", customer)
    })?;
    let stripe_meters: BTreeMap<String, String> = stripe
        .every_meter()
        .await?
        .into_iter()
        .filter(|m| m.status == "active")
        .map(|m| (m.event_name, m.id))
        .collect();
    let totals = app
        .store
        .usage_totals(customer, window.start, window.end)
        .await?;
    let deliveries = app
        .store
        .outbox_by_meter(customer, window.start, window.end)
        .await?;
    let mut names: BTreeSet<String> = totals.keys().cloned().collect();
    names.extend(deliveries.iter().map(|d| d.meter.clone()));
    names.extend(
        app.catalog
            .meters
            .iter()
            .filter(|(_, m)| stripe_meters.contains_key(&m.event_name))
            .map(|(id, _)| id.clone()),
    );
    let rows = names.into_iter().map(|meter| {
        let ledger = totals.get(&meter).map(|by_value| merged(by_value.values()));
        let delivered: Vec<&MeterDelivery> =
            deliveries.iter().filter(|d| d.meter == meter).collect();
        meters::meter_row(
            app,
            &stripe_meters,
            &stripe_customer,
            window,
            meter,
            ledger,
            delivered,
        )
    });
    let meters: Vec<MeterReconciliation> =
        try_join_all(rows).await?.into_iter().flatten().collect();
    let invoices = invoices::invoices(app, &record, &stripe_customer, range).await?;
    let (status, summary) = verdict(&meters, &invoices);
    Ok(Reconciliation {
        customer: customer.to_string(),
        stripe_customer,
        status,
        summary,
        range: range.into(),
        window: window.into(),
        meters,
        invoices,
    })
}

/// The top-level status and its one sentence.
fn verdict(meters: &[MeterReconciliation], invoices: &InvoiceReconciliation) -> (String, String) {
    let quiet = ["in_agreement", "ledger_only"];
    let mut named: Vec<String> = meters
        .iter()
        .filter(|m| !quiet.contains(&m.difference.reason.as_str()))
        .map(|m| match &m.difference.quantity {
            Some(q) => format!("{} {} ({q})", m.meter, m.difference.reason),
            None => format!("{} {}", m.meter, m.difference.reason),
        })
        .collect();
    if invoices.difference.reason == "amounts_differ" {
        named.push(match invoices.difference.amount {
            Some(a) => format!("upcoming invoice amounts_differ ({a} minor units)"),
            None => "upcoming invoice amounts_differ".into(),
        });
    }
    if named.is_empty() {
        let compared = meters.iter().filter(|m| m.stripe.is_some()).count();
        let sentence = format!(
            "Stripe and the ledger agree: {compared} meter(s) compared, each holding what the ledger sent, nothing pending or failed{}.",
            if invoices.difference.reason == "in_agreement" {
                ", and the upcoming invoice totals match"
            } else {
                ""
            }
        );
        ("in_agreement".into(), sentence)
    } else {
        (
            "differences".into(),
            format!("Stripe and the ledger differ: {}.", named.join("; ")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_the_range_widened_to_whole_minutes() {
        let minute = |m: i64| m * MINUTE_MS;
        let exact = Span {
            start: minute(10),
            end: minute(20),
        };
        assert_eq!(window_of(exact), exact);
        let inside = Span {
            start: minute(10) + 1,
            end: minute(20) - 1,
        };
        assert_eq!(window_of(inside), exact);
        let before_epoch = Span { start: -1, end: 1 };
        assert_eq!(
            window_of(before_epoch),
            Span {
                start: -MINUTE_MS,
                end: MINUTE_MS
            }
        );
    }
}
