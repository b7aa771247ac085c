//! The in-process cache of decision snapshots, so `check_entitlement` without `consume` and the
//! figures after `record_usage` read no database in the common case.
//!
//! Rules that keep it exact for this process:
//! - every committed usage event of this process is added to the cached windows it falls in
//!   (only events actually inserted, never duplicates) by merging its tally, which is exact for
//!   sum, count, max and last; an event of a `unique` meter, whose distinct count cannot be
//!   updated that way, and any other write (credits, plan, customer) drop the customer's entries;
//! - each customer has a generation, bumped by every write before callers are answered; a reader
//!   caches what it loaded only if the generation did not move while it read, so a snapshot
//!   older than a commit is never cached;
//! - an entry expires at the next window boundary (the end of the current hour window) and at
//!   the latest [`TTL_MS`] after it was loaded, which bounds how long a write made by another
//!   server process on the same database can go unseen. `consume` never uses the cache: it
//!   decides on the database under the customer's lock.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::Snapshot;
use crate::core::period::{Span, Window};
use crate::core::usage::Tally;

/// Longest time a cached snapshot is trusted (writes of other processes).
pub const TTL_MS: i64 = 1000;

/// Where the snapshot's figures were counted: the windows, the billing period, and the month and
/// period from when the current plan's billing began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spans {
    pub hour: Span,
    pub day: Span,
    pub month: Span,
    pub period: Span,
    pub month_billable: Span,
    pub period_billable: Span,
}

struct Entry {
    snapshot: Arc<Snapshot>,
    spans: Option<Spans>,
    valid_until: i64,
}

#[derive(Default)]
struct CustomerEntries {
    generation: u64,
    /// Keyed by meter ("" for a snapshot without one), so lookups borrow and never allocate.
    by_meter: HashMap<String, Entry>,
}

/// Usage a commit added (one event, or a batch's events of one hour), as the cache needs it.
#[derive(Debug, Clone)]
pub struct Added {
    pub customer: String,
    pub meter: String,
    pub tool: String,
    /// The earliest and latest event time (the same for one event).
    pub first_at: i64,
    pub occurred_at: i64,
    pub tally: Tally,
    /// An event of a `unique` meter: the cached entry cannot be updated, only dropped.
    pub distinct: bool,
}

/// Add usage at `at` (of value `tool`) to a snapshot's figures counted over `spans`: exact for
/// sum, count, max and last. The cache after a commit, and the writer between the consumptions
/// of one batch, keep their snapshots current this way.
pub fn add_to(snapshot: &mut Snapshot, spans: &Spans, tool: &str, at: i64, tally: &Tally) {
    for (window, span) in [
        (Window::Hour, spans.hour),
        (Window::Day, spans.day),
        (Window::Month, spans.month),
    ] {
        if span.contains(at) {
            snapshot.in_window.entry(window).or_default().merge(tally);
        }
    }
    if spans.period.contains(at) {
        snapshot.period_total.merge(tally);
    }
    for (span, by_value) in [
        (spans.month_billable, &mut snapshot.month_by_value),
        (spans.period_billable, &mut snapshot.period_by_value),
    ] {
        if span.contains(at) {
            by_value.entry(tool.to_string()).or_default().merge(tally);
        }
    }
}

/// Checks read concurrently; only writes and loads take the lock exclusively.
#[derive(Default)]
pub struct SnapshotCache {
    customers: RwLock<HashMap<String, CustomerEntries>>,
}

impl SnapshotCache {
    // The map holds no invariant a panicking holder could break half-way; keep using it.
    fn read(&self) -> RwLockReadGuard<'_, HashMap<String, CustomerEntries>> {
        self.customers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn lock(&self) -> RwLockWriteGuard<'_, HashMap<String, CustomerEntries>> {
        self.customers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh cached snapshot, or the generation to pass to [`SnapshotCache::put`] after loading.
    pub fn get(&self, customer: &str, meter: Option<&str>, now: i64) -> Result<Arc<Snapshot>, u64> {
        let map = self.read();
        let Some(c) = map.get(customer) else {
            return Err(0);
        };
        match c.by_meter.get(meter.unwrap_or("")) {
            Some(e) if now < e.valid_until && now >= e.snapshot.loaded_at => {
                Ok(Arc::clone(&e.snapshot))
            }
            _ => Err(c.generation),
        }
    }

    /// Cache a snapshot loaded while the customer's generation was `generation`.
    pub fn put(
        &self,
        meter: Option<&str>,
        snapshot: Arc<Snapshot>,
        spans: Option<Spans>,
        generation: u64,
        now: i64,
    ) {
        let mut map = self.lock();
        let c = map.entry(snapshot.customer.id.clone()).or_default();
        if c.generation != generation {
            return;
        }
        let boundary = spans.map_or(i64::MAX, |s| {
            s.hour.end.min(s.day.end).min(s.month.end).min(s.period.end)
        });
        let valid_until = now
            .saturating_add(TTL_MS)
            .min(boundary)
            .min(snapshot.held.until.unwrap_or(i64::MAX));
        c.by_meter.insert(
            meter.unwrap_or("").to_string(),
            Entry {
                snapshot,
                spans,
                valid_until,
            },
        );
    }

    /// After a commit: add this process's new events to the cached figures.
    pub fn add_usage(&self, events: &[Added]) {
        let mut map = self.lock();
        for e in events {
            let c = map.entry(e.customer.clone()).or_default();
            c.generation += 1;
            if e.distinct {
                c.by_meter.remove(&e.meter);
                continue;
            }
            let Some(entry) = c.by_meter.get_mut(&e.meter) else {
                continue;
            };
            let Some(spans) = entry.spans else {
                c.by_meter.remove(&e.meter);
                continue;
            };
            let all = [
                spans.hour,
                spans.day,
                spans.month,
                spans.period,
                spans.month_billable,
                spans.period_billable,
            ];
            if all
                .iter()
                .any(|s| s.contains(e.first_at) != s.contains(e.occurred_at))
            {
                // The events straddle a span's edge: only a reload counts them exactly.
                c.by_meter.remove(&e.meter);
                continue;
            }
            add_to(
                Arc::make_mut(&mut entry.snapshot),
                &spans,
                &e.tool,
                e.occurred_at,
                &e.tally,
            );
        }
    }

    /// After a commit: forget everything cached about these customers.
    pub fn invalidate<'a>(&self, customers: impl IntoIterator<Item = &'a str>) {
        let mut map = self.lock();
        for customer in customers {
            let c = map.entry(customer.to_string()).or_default();
            c.generation += 1;
            c.by_meter.clear();
        }
    }
}
