//! Meter aggregation: how the usage events of a span (an hour, a limit window, a billing period)
//! become the one quantity that a price or a limit reads. A [`Tally`] summarises a set of events
//! so that two disjoint sets combine exactly (sum, count, max, latest value); distinct values
//! (`unique`) cannot be combined that way, so the ledger counts them per span and hands the
//! count over ready-made.
//!
//! The rules, as a billing person checks them:
//! - `sum`: the quantities added up (calls, tokens, events);
//! - `count`: the number of events, whatever their quantity;
//! - `max`: the largest quantity recorded in the span (agents deployed at the peak);
//! - `last`: the quantity of the latest event in the span (seats at the end); ties at the same
//!   millisecond go to the event recorded last;
//! - `unique`: how many distinct values of one dimension occurred (tools used).

use serde::Serialize;

/// How a meter turns a span's events into one quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    Sum,
    Count,
    Max,
    Last,
    Unique,
}

impl Aggregation {
    pub fn as_str(self) -> &'static str {
        match self {
            Aggregation::Sum => "sum",
            Aggregation::Count => "count",
            Aggregation::Max => "max",
            Aggregation::Last => "last",
            Aggregation::Unique => "unique",
        }
    }

    /// A gauge: the quantity is a level (how many now), not an amount used, so "one more" means
    /// the level plus one and a limit caps the level.
    pub fn is_gauge(self) -> bool {
        matches!(self, Aggregation::Max | Aggregation::Last)
    }

    /// Whether tallies of disjoint event sets combine exactly (all but `unique`).
    pub fn combines(self) -> bool {
        self != Aggregation::Unique
    }
}

/// A summary of a set of usage events. `distinct` is filled by the ledger for `unique` meters
/// (distinct values over the whole set); merging adds it, which only the ledger's own per-span
/// counts rely on (it never merges two counts of overlapping sets).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub sum: u64,
    pub count: u64,
    pub max: u64,
    /// The latest event: (occurred_at ms, quantity).
    pub last: Option<(i64, u64)>,
    pub distinct: u64,
}

impl Tally {
    /// A stored row of totals (sum, events, largest, latest event's time and quantity); a
    /// negative figure, which no write makes, reads as 0.
    pub fn of_row(sum: i64, count: i64, max: i64, last_at: i64, last_q: i64) -> Tally {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Tally {
            sum: n(sum),
            count: n(count),
            max: n(max),
            last: Some((last_at, n(last_q))),
            distinct: 0,
        }
    }

    /// One event.
    pub fn event(occurred_at: i64, quantity: u64) -> Tally {
        Tally {
            sum: quantity,
            count: 1,
            max: quantity,
            last: Some((occurred_at, quantity)),
            distinct: 0,
        }
    }

    /// Add another (disjoint) set; on a tie for the latest event, `other` is the later one.
    pub fn merge(&mut self, other: &Tally) {
        self.sum = self.sum.saturating_add(other.sum);
        self.count = self.count.saturating_add(other.count);
        self.max = self.max.max(other.max);
        self.last = match (self.last, other.last) {
            (Some(a), Some(b)) => Some(if b.0 >= a.0 { b } else { a }),
            (a, b) => b.or(a),
        };
        self.distinct = self.distinct.saturating_add(other.distinct);
    }

    /// The quantity this set amounts to under `aggregation`.
    pub fn value(&self, aggregation: Aggregation) -> u64 {
        match aggregation {
            Aggregation::Sum => self.sum,
            Aggregation::Count => self.count,
            Aggregation::Max => self.max,
            Aggregation::Last => self.last.map_or(0, |(_, q)| q),
            Aggregation::Unique => self.distinct,
        }
    }
}

/// Tallies merged into one.
pub fn merged<'a>(tallies: impl IntoIterator<Item = &'a Tally>) -> Tally {
    tallies.into_iter().fold(Tally::default(), |mut acc, t| {
        acc.merge(t);
        acc
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn seed_003_agents_recorded_three_then_five_are_five_at_the_peak() {
        let mut t = Tally::event(1_000, 3);
        t.merge(&Tally::event(2_000, 5));
        assert_eq!(t.value(Aggregation::Max), 5);
        assert_eq!(t.value(Aggregation::Last), 5);
        assert_eq!(t.value(Aggregation::Sum), 8);
        assert_eq!(t.value(Aggregation::Count), 2);
    }

    #[test]
    fn last_is_the_latest_event_whatever_the_order_of_merging() {
        let (early, late) = (Tally::event(1_000, 9), Tally::event(5_000, 2));
        let mut a = early;
        a.merge(&late);
        let mut b = late;
        b.merge(&early);
        assert_eq!(a.value(Aggregation::Last), 2);
        assert_eq!(b.value(Aggregation::Last), 2);
    }

    proptest! {
        #[test]
        fn max_never_exceeds_sum_and_merging_is_order_free(
            events in proptest::collection::vec((0_i64..1_000_000, 0_u64..1_000_000), 1..40),
            split in 0_usize..40,
        ) {
            let tallies: Vec<Tally> = events.iter().map(|(at, q)| Tally::event(*at, *q)).collect();
            let all = merged(&tallies);
            prop_assert!(all.value(Aggregation::Max) <= all.value(Aggregation::Sum));
            prop_assert_eq!(all.value(Aggregation::Count), events.len() as u64);
            let cut = split.min(tallies.len());
            let mut halves = merged(&tallies[..cut]);
            halves.merge(&merged(&tallies[cut..]));
            for agg in [Aggregation::Sum, Aggregation::Count, Aggregation::Max] {
                prop_assert_eq!(halves.value(agg), all.value(agg));
            }
            let latest = events.iter().map(|(at, _)| *at).max().unwrap_or(0);
            prop_assert_eq!(halves.last.map(|l| l.0), Some(latest));
        }
    }
}
