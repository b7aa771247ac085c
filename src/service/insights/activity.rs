//! The dashboard's non-money figures: customers by status, usage per meter and the top tools
//! (from the hourly totals), credits moved, reserved capacity against this period's use, the
//! customers table and delivery health.

use std::collections::{BTreeMap, HashMap};

use super::view::{
    AccountRow, CreditFigures, CustomerCounts, DeliveryView, MeterUsage, ReservedUse, ToolUsage,
    UsagePoint,
};
use crate::core::entitlement::Status;
use crate::core::period::{Span, rfc3339};
use crate::core::usage::merged;
use crate::service::invoice::InvoicePreviewView;
use crate::service::terms::{in_trial, period_of};
use crate::service::{App, BillingError};
use crate::store::{CreditFlows, CustomerRecord, DeliveryHealth, HourUsage};

fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Whether a customer has left: canceled, or its first payment never came.
pub fn churned(record: &CustomerRecord) -> bool {
    Status::parse(&record.status).is_some_and(Status::churned)
}

fn delinquent(record: &CustomerRecord) -> bool {
    record.delinquent != 0
        || matches!(
            Status::parse(&record.status),
            Some(Status::PastDue | Status::Unpaid)
        )
}

pub fn customer_counts(customers: &[CustomerRecord], range: Span, now: i64) -> CustomerCounts {
    let mut c = CustomerCounts {
        total: customers.len() as u64,
        active: 0,
        trialing: 0,
        delinquent: 0,
        churned: 0,
        new: 0,
    };
    for r in customers {
        if range.contains(r.created_at) {
            c.new += 1;
        }
        if churned(r) {
            c.churned += 1;
        } else if in_trial(r, now) {
            c.trialing += 1;
        } else if delinquent(r) {
            c.delinquent += 1;
        } else {
            c.active += 1;
        }
    }
    c
}

/// Usage per meter (with a series over `buckets`) and the ten busiest `tool` values.
pub fn usage(
    app: &App,
    hours: &[HourUsage],
    buckets: &[Span],
) -> (Vec<MeterUsage>, Vec<ToolUsage>) {
    let mut meters: BTreeMap<&str, MeterUsage> = BTreeMap::new();
    let mut tools: BTreeMap<(&str, &str), (u64, u64)> = BTreeMap::new();
    for h in hours {
        let m = meters.entry(&h.meter).or_insert_with(|| MeterUsage {
            meter: h.meter.clone(),
            aggregation: app
                .catalog
                .meters
                .get(&h.meter)
                .map_or("sum", |m| m.aggregation.as_str())
                .into(),
            quantity: 0,
            events: 0,
            series: buckets
                .iter()
                .map(|b| UsagePoint {
                    at: rfc3339(b.start),
                    quantity: 0,
                    events: 0,
                })
                .collect(),
        });
        let (q, e) = (unsigned(h.quantity), unsigned(h.events));
        m.quantity = m.quantity.saturating_add(q);
        m.events = m.events.saturating_add(e);
        if let Some(i) = buckets.iter().position(|b| b.contains(h.hour)) {
            m.series[i].quantity = m.series[i].quantity.saturating_add(q);
            m.series[i].events = m.series[i].events.saturating_add(e);
        }
        if !h.tool.is_empty() {
            let t = tools.entry((&h.meter, &h.tool)).or_default();
            t.0 = t.0.saturating_add(q);
            t.1 = t.1.saturating_add(e);
        }
    }
    let mut top: Vec<ToolUsage> = tools
        .into_iter()
        .map(|((meter, tool), (quantity, events))| ToolUsage {
            meter: meter.into(),
            tool: tool.into(),
            quantity,
            events,
        })
        .collect();
    top.sort_by(|a, b| b.quantity.cmp(&a.quantity).then(b.events.cmp(&a.events)));
    top.truncate(10);
    (meters.into_values().collect(), top)
}

pub fn credits(flows: &CreditFlows) -> CreditFigures {
    let kind = |k: &str| flows.by_kind.get(k).copied().unwrap_or(0);
    CreditFigures {
        sold: unsigned(kind("purchase")),
        granted: unsigned(kind("grant")),
        adjusted: kind("adjustment"),
        burned: unsigned(kind("debit").saturating_neg()),
        expired: unsigned(kind("expiry").saturating_neg()),
        outstanding: unsigned(flows.outstanding),
    }
}

/// Each reserved meter of each customer against its use in the current period.
pub async fn reserved(
    app: &App,
    customers: &[CustomerRecord],
) -> Result<Vec<ReservedUse>, BillingError> {
    let now = app.now();
    let mut out = Vec::new();
    for record in customers.iter().filter(|r| r.reserved_tiers != "{}") {
        let reserved = record.reserved()?;
        let period = period_of(record, now)?;
        let totals = app
            .store
            .usage_totals(&record.id, period.start, period.end)
            .await?;
        for (meter, r) in reserved {
            let used = totals.get(&meter).map_or(0, |by_tool| {
                let aggregation = app.catalog.aggregations().get(&meter).copied();
                let tally = merged(by_tool.values());
                aggregation.map_or(tally.sum, |a| tally.value(a))
            });
            out.push(ReservedUse {
                customer: record.id.clone(),
                meter,
                reserved: r.reserved,
                used,
            });
        }
    }
    Ok(out)
}

/// One row per customer, the largest upcoming invoice first, at most `limit` (events are
/// counted afterwards, for the rows shown).
pub fn accounts(
    customers: &[CustomerRecord],
    previews: &HashMap<&str, &InvoicePreviewView>,
    limit: usize,
) -> Vec<AccountRow> {
    let mut rows: Vec<AccountRow> = customers
        .iter()
        .map(|r| {
            let preview = previews.get(r.id.as_str());
            AccountRow {
                customer: r.id.clone(),
                plan: preview.map(|p| p.plan.clone()).or_else(|| r.plan.clone()),
                status: r.status.clone(),
                delinquent: r.delinquent != 0,
                events: 0,
                next_invoice: preview.map(|p| p.total.clone()),
                period_end: preview.map(|p| p.period.end.clone()),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        let amount = |r: &AccountRow| r.next_invoice.as_ref().map_or(i64::MIN, |m| m.amount);
        amount(b)
            .cmp(&amount(a))
            .then_with(|| a.customer.cmp(&b.customer))
    });
    rows.truncate(limit);
    rows
}

pub fn delivery(h: DeliveryHealth) -> DeliveryView {
    DeliveryView {
        meter_events_pending: unsigned(h.meter_events_pending),
        meter_events_failed: unsigned(h.meter_events_failed),
        webhooks_failed: unsigned(h.webhooks_failed),
    }
}
