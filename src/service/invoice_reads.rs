//! Where an invoice preview reads the ledger: the store, one customer at a time, or what was read
//! for many customers at once ([`prefetch`]: the dashboard's upcoming invoices, a few statements
//! for every customer), which answers what it holds exactly as the store would and asks the store
//! for anything else. The pricing is the same either way (`invoice.rs`), so the dashboard's figures
//! are `preview_invoice`'s.

use std::collections::{BTreeMap, HashMap};

use super::terms::period_of;
use super::{App, BillingError};
use crate::core::period::Span;
use crate::store::{CustomerRecord, GrantRecord, PlanChangeRecord, UsagePiece, UsageTotals};

/// The ledger as a preview reads it.
#[derive(Clone, Copy)]
pub struct Reads<'a> {
    app: &'a App,
    held: Option<&'a Prefetched>,
}

/// What was read for many customers at once: over each customer's current period, its monthly
/// usage pieces and the credits its usage burned; its plan changes since the earliest of those
/// periods; its live grants.
#[derive(Default)]
pub struct Prefetched {
    /// Per customer: the span read and the pieces touching it (none kept for a customer with
    /// values of a `unique` meter in it: pieces do not hold distinct counts).
    usage: HashMap<String, (Span, Vec<UsagePiece>)>,
    burned: HashMap<String, (Span, BTreeMap<String, u64>)>,
    changes_from: i64,
    changes: HashMap<String, Vec<PlanChangeRecord>>,
    grants: HashMap<String, Vec<GrantRecord>>,
}

/// Read the ledger of `records` at once, over each one's current period.
pub async fn prefetch(app: &App, records: &[&CustomerRecord]) -> Result<Prefetched, BillingError> {
    let now = app.now();
    let spans: Vec<(String, Span)> = records
        .iter()
        .filter_map(|r| period_of(r, now).ok().map(|p| (r.id.clone(), p)))
        .collect();
    let mut held = Prefetched {
        changes_from: spans.iter().map(|(_, s)| s.start).min().unwrap_or(now),
        ..Prefetched::default()
    };
    for (customer, span) in &spans {
        held.usage.insert(customer.clone(), (*span, Vec::new()));
    }
    for customer in app.store.distinct_customers(&spans).await? {
        held.usage.remove(&customer);
    }
    for piece in app.store.usage_pieces(&spans).await? {
        if let Some((_, pieces)) = held.usage.get_mut(&piece.customer_id) {
            pieces.push(piece);
        }
    }
    for (customer, span) in &spans {
        held.burned
            .insert(customer.clone(), (*span, BTreeMap::new()));
    }
    for b in app.store.credits_burned_in(&spans).await? {
        if let Some((_, by_meter)) = held.burned.get_mut(&b.customer_id) {
            by_meter.insert(b.meter, u64::try_from(b.credits).unwrap_or(0));
        }
    }
    let changes = app.store.plan_changes_since(held.changes_from).await?;
    for c in changes {
        held.changes
            .entry(c.customer_id.clone())
            .or_default()
            .push(c);
    }
    for g in app.store.live_grants_all().await? {
        held.grants
            .entry(g.customer_id.clone())
            .or_default()
            .push(g);
    }
    Ok(held)
}

/// A span's usage from pieces when every piece touching it lies wholly inside it.
fn totals_of(pieces: &[UsagePiece], span: Span) -> Option<UsageTotals> {
    let mut totals = UsageTotals::new();
    for p in pieces
        .iter()
        .filter(|p| p.first_at < span.end && p.last_at >= span.start)
    {
        if p.first_at < span.start || p.last_at >= span.end {
            return None;
        }
        totals
            .entry(p.meter.clone())
            .or_default()
            .entry(p.tool.clone())
            .or_default()
            .merge(&p.tally());
    }
    Some(totals)
}

impl<'a> Reads<'a> {
    /// Every read from the store.
    pub fn store(app: &'a App) -> Self {
        Reads { app, held: None }
    }

    /// Reads from `held` where it answers, else from the store.
    pub fn prefetched(app: &'a App, held: &'a Prefetched) -> Self {
        Reads {
            app,
            held: Some(held),
        }
    }

    pub fn app(&self) -> &'a App {
        self.app
    }

    /// The customer's usage over `span` per meter and value.
    pub async fn usage(&self, customer: &str, span: Span) -> Result<UsageTotals, BillingError> {
        let held = self
            .held
            .and_then(|h| h.usage.get(customer))
            .filter(|(read, _)| read.start <= span.start && span.end <= read.end)
            .and_then(|(_, pieces)| totals_of(pieces, span));
        match held {
            Some(totals) => Ok(totals),
            None => Ok(self
                .app
                .store
                .usage_totals(customer, span.start, span.end)
                .await?),
        }
    }

    /// The customer's plan changes in `[from, to)`, oldest first.
    pub async fn plan_changes(
        &self,
        customer: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<PlanChangeRecord>, BillingError> {
        match self.held.filter(|h| h.changes_from <= from) {
            Some(h) => Ok(h
                .changes
                .get(customer)
                .map(|c| {
                    c.iter()
                        .filter(|c| c.at >= from && c.at < to)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default()),
            None => Ok(self.app.store.plan_changes(customer, from, to).await?),
        }
    }

    /// Credits the customer's usage of `span` burned, per meter.
    pub async fn credits_burned(
        &self,
        customer: &str,
        span: Span,
    ) -> Result<BTreeMap<String, u64>, BillingError> {
        match self
            .held
            .and_then(|h| h.burned.get(customer))
            .filter(|(read, _)| *read == span)
        {
            Some((_, burned)) => Ok(burned.clone()),
            None => Ok(self
                .app
                .store
                .credits_burned(customer, span.start, span.end)
                .await?),
        }
    }

    /// The customer's credit balance now.
    pub async fn balance(&self, customer: &str) -> Result<u64, BillingError> {
        match self.held {
            Some(h) => Ok(super::credits::balance_in(
                h.grants.get(customer).map_or(&[][..], Vec::as_slice),
                self.app.now(),
            )),
            None => super::credits::balance_of(self.app, customer).await,
        }
    }
}
