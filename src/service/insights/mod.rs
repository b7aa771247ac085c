//! `get_dashboard`: the business over a range, from the ledger alone (Stripe adds only its
//! balance). Every money figure is one the invoices carry: the upcoming invoices are
//! `preview_invoice` itself, per customer (its ledger read for every customer at once); MRR is the base prices in force (`revenue.rs`); usage
//! comes from the hourly totals, so a year costs what a day does (`activity.rs`).

mod activity;
pub mod balance;
mod revenue;
pub mod usage_stats;
pub mod view;

use std::collections::HashMap;

use futures::StreamExt;

use crate::core::insight::{Granularity, bucket_of, buckets};
use crate::core::period::{Span, rfc3339};
use crate::core::text::quote;
use crate::service::invoice::{self, InvoicePreviewView};
use crate::service::invoice_reads::{self, Reads};
use crate::service::terms::time_or;
use crate::service::{App, BillingError};
use crate::store::CustomerRecord;
use view::DashboardView;

const HOUR_MS: i64 = 3_600_000;
/// At most this many buckets in a series (a year of days fits; ten years of days do not).
pub const MAX_BUCKETS: usize = 400;
/// Previews computed at once (each a few reads on the read pool).
const PREVIEWS_AT_ONCE: usize = 8;

#[derive(Debug, Clone, Default)]
pub struct DashboardQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub granularity: Option<String>,
    pub accounts_limit: Option<u32>,
}

/// The range in whole hours (`from` down, `to` up, as the hourly totals count) and its buckets.
pub fn range_and_buckets(
    from: i64,
    to: i64,
    granularity: Option<&str>,
) -> Result<(Span, Granularity, Vec<Span>), BillingError> {
    let start = from.div_euclid(HOUR_MS).saturating_mul(HOUR_MS);
    let end = to
        .saturating_add(HOUR_MS - 1)
        .div_euclid(HOUR_MS)
        .saturating_mul(HOUR_MS);
    if end <= start {
        return Err(BillingError::invalid("`to` must be after `from`"));
    }
    let range = Span { start, end };
    let granularity = match granularity {
        Some(g) => Granularity::parse(g).ok_or_else(|| {
            BillingError::invalid(format!(
                "granularity `{}` is unknown; use day, week or month",
                quote(g)
            ))
        })?,
        None if end - start <= 62 * 24 * HOUR_MS => Granularity::Day,
        None => Granularity::Month,
    };
    let series = buckets(range, granularity, MAX_BUCKETS).ok_or_else(|| {
        BillingError::invalid(format!(
            "that range needs more than {MAX_BUCKETS} {} buckets; choose a shorter range or a wider granularity (week, month)",
            granularity.as_str()
        ))
    })?;
    Ok((range, granularity, series))
}

pub async fn dashboard(app: &App, q: DashboardQuery) -> Result<DashboardView, BillingError> {
    let now = app.now();
    let month = bucket_of(now, Granularity::Month)
        .ok_or_else(|| BillingError::invalid("the current month cannot be computed"))?;
    let from = time_or(q.from.as_deref(), month.start)?;
    let to = time_or(q.to.as_deref(), month.end)?;
    let (range, granularity, series) = range_and_buckets(from, to, q.granularity.as_deref())?;
    let limit = match q.accounts_limit.unwrap_or(25) {
        n @ 1..=1000 => n as usize,
        _ => return Err(BillingError::invalid("accounts_limit takes 1 to 1000")),
    };
    let customers = app.store.all_customers().await?;
    let plan_changes = app.store.plan_changes_since(range.start).await?;
    let status_changes = app.store.status_changes_since(range.start).await?;
    let histories = revenue::histories(&plan_changes, &status_changes);
    // The upcoming invoice of every customer not churned that has a plan, as preview_invoice
    // gives it, from the ledger read for all of them at once.
    let due: Vec<&CustomerRecord> = customers
        .iter()
        .filter(|r| !activity::churned(r) && app.plan_of(r).is_some())
        .collect();
    let held = invoice_reads::prefetch(app, &due).await?;
    let reads = Reads::prefetched(app, &held);
    let previewed: Vec<_> = due
        .iter()
        .copied()
        .map(|r| async move {
            (
                r.id.as_str(),
                invoice::preview_using(reads, r, None, None).await,
            )
        })
        .collect();
    let answered: Vec<_> = futures::stream::iter(previewed)
        .buffered(PREVIEWS_AT_ONCE)
        .collect()
        .await;
    // A customer whose invoice cannot be computed is named, not a reason to show nothing.
    let mut previews: Vec<InvoicePreviewView> = Vec::with_capacity(answered.len());
    let mut unavailable = Vec::new();
    for (customer, preview) in answered {
        match preview {
            Ok(p) => previews.push(p),
            Err(e) => unavailable.push(view::UnavailablePreview {
                customer: customer.to_string(),
                code: e.code.to_string(),
                message: e.message,
            }),
        }
    }
    let (invoices, packs) = app.store.receipts(range.start, range.end).await?;
    let currencies = revenue::figures(
        app,
        &revenue::Revenue {
            customers: &customers,
            histories: &histories,
            buckets: &series,
            previews: &previews,
            invoices: &invoices,
            packs: &packs,
        },
    )?;
    let hours = app.store.usage_by_hour(range.start, range.end).await?;
    let (usage, top_tools) = activity::usage(app, &hours, &series);
    let by_customer: HashMap<&str, &InvoicePreviewView> =
        previews.iter().map(|p| (p.customer.as_str(), p)).collect();
    let mut accounts = activity::accounts(&customers, &by_customer, limit);
    let shown: Vec<String> = accounts.iter().map(|a| a.customer.clone()).collect();
    let events: HashMap<String, i64> = app
        .store
        .events_of(&shown, range.start, range.end)
        .await?
        .into_iter()
        .map(|e| (e.customer_id, e.events))
        .collect();
    for a in &mut accounts {
        a.events = u64::try_from(events.get(&a.customer).copied().unwrap_or(0)).unwrap_or(0);
    }
    let flows = app.store.credit_flows(range.start, range.end, now).await?;
    Ok(DashboardView {
        from: rfc3339(range.start),
        to: rfc3339(range.end),
        granularity: granularity.as_str().into(),
        as_of: rfc3339(now),
        currencies,
        customers: activity::customer_counts(&customers, range, now),
        usage,
        top_tools,
        credits: activity::credits(&flows),
        reserved: activity::reserved(app, &customers).await?,
        accounts,
        upcoming_unavailable: unavailable,
        accounts_total: customers.len() as u64,
        delivery: activity::delivery(app.store.delivery_health().await?),
        stripe_balance: app.balance.get(app).await,
    })
}
