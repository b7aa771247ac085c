//! The dashboard's money, per currency: each customer's MRR at every bucket boundary (from its
//! plan and status at that moment, read back through the plan and status changes), the MRR
//! movements between them (`core::insight`), the upcoming invoices (`preview_invoice` itself,
//! per customer), and what came in: paid Stripe invoices and credit packs bought.

use std::collections::{BTreeMap, HashMap};

use super::view::{
    BilledFigures, CurrencyFigures, MovementFigures, PackFigures, RevenuePoint, UpcomingFigures,
};
use crate::core::entitlement::Status;
use crate::core::insight::{Movements, arpu, from_twelfths, movements, mrr_twelfths};
use crate::core::money::{Currency, MinorUnits};
use crate::core::period::{Interval, Span, rfc3339};
use crate::service::invoice::InvoicePreviewView;
use crate::service::{App, BillingError, Money};
use crate::store::{CustomerRecord, PlanChangeRecord, Receipt, StatusChangeRecord};

/// A customer's changes at or after the range's start, oldest first.
#[derive(Default)]
pub struct History<'a> {
    pub plans: Vec<&'a PlanChangeRecord>,
    pub statuses: Vec<&'a StatusChangeRecord>,
}

pub fn histories<'a>(
    plans: &'a [PlanChangeRecord],
    statuses: &'a [StatusChangeRecord],
) -> HashMap<&'a str, History<'a>> {
    let mut out: HashMap<&str, History> = HashMap::new();
    for p in plans {
        out.entry(&p.customer_id).or_default().plans.push(p);
    }
    for s in statuses {
        out.entry(&s.customer_id).or_default().statuses.push(s);
    }
    out
}

/// Whether a customer in `status` pays its plan (an unknown status is read as active, as
/// everywhere else).
fn paying(status: &str) -> bool {
    Status::parse(status).is_none_or(Status::pays)
}

/// A customer's MRR at `t` (twelfths of a minor unit) and its currency: its plan's base price at
/// `t` normalised to a month; 0 before it existed, in a trial, or churned.
pub fn mrr_at(
    app: &App,
    record: &CustomerRecord,
    history: Option<&History>,
    t: i64,
) -> Option<(Currency, i64)> {
    if t < record.created_at {
        return None;
    }
    // The state at `t` is what the first change after it changed from, or the current one.
    let later_plan = history.and_then(|h| h.plans.iter().find(|c| c.at > t));
    let (plan, interval) = match later_plan {
        Some(c) => (c.previous_plan.as_deref(), c.previous_interval.as_str()),
        None => (record.plan.as_deref(), record.billing_interval.as_str()),
    };
    let status = history
        .and_then(|h| h.statuses.iter().find(|c| c.at > t))
        .map_or(record.status.as_str(), |c| c.previous_status.as_str());
    let plan = plan
        .or(app.catalog.default_plan.as_deref())
        .and_then(|p| app.catalog.plan(p))?;
    let trial = status == "trialing" && record.trial_ends_at.is_none_or(|end| t < end);
    if !paying(status) || trial {
        return Some((plan.currency, 0));
    }
    let interval = Interval::stored(interval);
    Some((
        plan.currency,
        mrr_twelfths(plan.base_price(interval), interval),
    ))
}

/// Whether a customer had canceled by `t` (so coming back is a reactivation); one paused or
/// still incomplete has not churned, and its first payment is new.
fn churned_before(record: &CustomerRecord, history: Option<&History>, t: i64) -> bool {
    let status = history
        .and_then(|h| h.statuses.iter().find(|c| c.at > t))
        .map_or(record.status.as_str(), |c| c.previous_status.as_str());
    t >= record.created_at && Status::parse(status) == Some(Status::Canceled)
}

/// Per currency: MRR at each boundary (summed) and the movements of each bucket, paying
/// customers at the last boundary.
#[derive(Default)]
struct Recurring {
    points: Vec<i64>,
    moves: Vec<Movements>,
    paying: u64,
}

fn recurring(
    app: &App,
    customers: &[CustomerRecord],
    histories: &HashMap<&str, History>,
    boundaries: &[i64],
) -> BTreeMap<&'static str, Recurring> {
    let mut out: BTreeMap<&'static str, Recurring> = BTreeMap::new();
    let buckets = boundaries.len().saturating_sub(1);
    for record in customers {
        let history = histories.get(record.id.as_str());
        let states: Vec<_> = boundaries
            .iter()
            .map(|t| mrr_at(app, record, history, *t))
            .collect();
        let mut currencies: Vec<Currency> = Vec::new();
        for (c, _) in states.iter().flatten() {
            if !currencies.contains(c) {
                currencies.push(*c);
            }
        }
        for currency in currencies {
            let points: Vec<i64> = states
                .iter()
                .map(|s| s.filter(|(c, _)| *c == currency).map_or(0, |(_, m)| m))
                .collect();
            let paid_before = boundaries
                .first()
                .is_some_and(|t| churned_before(record, history, *t));
            let r = out.entry(currency.code()).or_insert_with(|| Recurring {
                points: vec![0; boundaries.len()],
                moves: vec![Movements::default(); buckets],
                paying: 0,
            });
            for (sum, p) in r.points.iter_mut().zip(&points) {
                *sum = sum.saturating_add(*p);
            }
            for (sum, m) in r.moves.iter_mut().zip(movements(&points, paid_before)) {
                sum.add(&m);
            }
            if points.last().is_some_and(|p| *p > 0) {
                r.paying += 1;
            }
        }
    }
    out
}

/// Amounts of `receipts` per currency and bucket, and how many.
fn bucketed(receipts: &[Receipt], buckets: &[Span]) -> BTreeMap<String, (Vec<i64>, i64, u64)> {
    let mut out: BTreeMap<String, (Vec<i64>, i64, u64)> = BTreeMap::new();
    for r in receipts {
        let entry = out
            .entry(r.currency.to_ascii_lowercase())
            .or_insert_with(|| (vec![0; buckets.len()], 0, 0));
        if let Some(i) = buckets.iter().position(|b| b.contains(r.at)) {
            entry.0[i] = entry.0[i].saturating_add(r.amount);
        }
        entry.1 = entry.1.saturating_add(r.amount);
        entry.2 += 1;
    }
    out
}

/// The upcoming invoices of one currency, by line kind.
#[derive(Default)]
struct Upcoming {
    total: i64,
    base: i64,
    prorations: i64,
    usage: i64,
    invoices: u64,
}

fn upcoming(previews: &[InvoicePreviewView]) -> BTreeMap<String, Upcoming> {
    let mut out: BTreeMap<String, Upcoming> = BTreeMap::new();
    for p in previews {
        let u = out.entry(p.total.currency.clone()).or_default();
        u.total = u.total.saturating_add(p.total.amount);
        u.invoices += 1;
        for line in &p.lines {
            let slot = match line.kind.as_str() {
                "base" => &mut u.base,
                "proration" => &mut u.prorations,
                _ => &mut u.usage,
            };
            *slot = slot.saturating_add(line.amount.amount);
        }
    }
    out
}

/// Everything that came in or recurs, per currency.
pub struct Revenue<'a> {
    pub customers: &'a [CustomerRecord],
    pub histories: &'a HashMap<&'a str, History<'a>>,
    pub buckets: &'a [Span],
    pub previews: &'a [InvoicePreviewView],
    pub invoices: &'a [Receipt],
    pub packs: &'a [Receipt],
}

pub fn figures(app: &App, r: &Revenue) -> Result<Vec<CurrencyFigures>, BillingError> {
    let now = app.now();
    // MRR just before the range's start and just before each bucket's end (a change at a
    // bucket's first moment is that bucket's), never past now.
    let boundaries: Vec<i64> = r
        .buckets
        .first()
        .map(|b| b.start)
        .into_iter()
        .chain(r.buckets.iter().map(|b| b.end))
        .map(|t| t.min(now).saturating_sub(1))
        .collect();
    let recurring = recurring(app, r.customers, r.histories, &boundaries);
    let upcoming = upcoming(r.previews);
    let billed = bucketed(r.invoices, r.buckets);
    let packs = bucketed(r.packs, r.buckets);
    let mut codes: Vec<String> = app
        .catalog
        .plans
        .values()
        .map(|p| p.currency.code().to_string())
        .chain(recurring.keys().map(|c| c.to_string()))
        .chain(upcoming.keys().cloned())
        .chain(billed.keys().cloned())
        .chain(packs.keys().cloned())
        .collect();
    codes.sort();
    codes.dedup();
    let mut out = Vec::new();
    for code in codes {
        let Ok(currency) = Currency::parse(&code) else {
            continue;
        };
        let money = |m: i64| Money::new(MinorUnits(m), currency);
        let shown = |twelfths: i64| -> Result<Money, BillingError> {
            Ok(Money::new(from_twelfths(twelfths)?, currency))
        };
        let rec = recurring.get(currency.code());
        let none = Recurring::default();
        let rec = rec.unwrap_or(&none);
        let mrr = rec.points.last().copied().unwrap_or(0);
        let mut total = Movements::default();
        rec.moves.iter().for_each(|m| total.add(m));
        let up = upcoming.get(&code);
        let (billed_by_bucket, billed_total, billed_count) =
            billed.get(&code).cloned().unwrap_or_default();
        let (packs_by_bucket, packs_total, packs_count) =
            packs.get(&code).cloned().unwrap_or_default();
        let mut series = Vec::with_capacity(r.buckets.len());
        for (i, b) in r.buckets.iter().enumerate() {
            let m = rec.moves.get(i).copied().unwrap_or_default();
            series.push(RevenuePoint {
                at: rfc3339(b.start),
                mrr: from_twelfths(rec.points.get(i + 1).copied().unwrap_or(0))?.0,
                new: from_twelfths(m.new)?.0,
                expansion: from_twelfths(m.expansion)?.0,
                contraction: from_twelfths(m.contraction)?.0,
                churn: from_twelfths(m.churn)?.0,
                reactivation: from_twelfths(m.reactivation)?.0,
                billed: billed_by_bucket.get(i).copied().unwrap_or(0),
                credit_packs_sold: packs_by_bucket.get(i).copied().unwrap_or(0),
            });
        }
        out.push(CurrencyFigures {
            currency: code.clone(),
            upcoming: UpcomingFigures {
                total: money(up.map_or(0, |u| u.total)),
                base: money(up.map_or(0, |u| u.base)),
                prorations: money(up.map_or(0, |u| u.prorations)),
                usage: money(up.map_or(0, |u| u.usage)),
                invoices: up.map_or(0, |u| u.invoices),
            },
            billed: BilledFigures {
                total: money(billed_total),
                invoices: billed_count,
            },
            credit_packs_sold: PackFigures {
                total: money(packs_total),
                packs: packs_count,
            },
            mrr: shown(mrr)?,
            arr: shown(mrr.saturating_mul(12))?,
            paying_customers: rec.paying,
            arpu: Money::new(arpu(mrr, rec.paying)?, currency),
            mrr_movements: MovementFigures {
                new: shown(total.new)?,
                expansion: shown(total.expansion)?,
                contraction: shown(total.contraction)?,
                churn: shown(total.churn)?,
                reactivation: shown(total.reactivation)?,
                net: shown(total.net())?,
            },
            series,
        });
    }
    Ok(out)
}
