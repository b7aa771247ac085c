//! Time windows anchored to a customer's billing period start: hourly and daily windows step in
//! whole hours/days from the anchor, monthly windows (and billing periods) in calendar months from
//! the anchor (a period anchored on the 31st ends on the last day of shorter months, as Stripe's
//! billing cycle does). Timestamps are epoch milliseconds (UTC).

use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};

const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// A limit window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    Hour,
    Day,
    Month,
}

impl Window {
    pub const ALL: [Window; 3] = [Window::Hour, Window::Day, Window::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            Window::Hour => "hour",
            Window::Day => "day",
            Window::Month => "month",
        }
    }
}

/// Billing interval of a plan's base price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    Month,
    Year,
}

impl Interval {
    /// The interval as the ledger stores it (`year`, anything else a month).
    pub fn stored(text: &str) -> Interval {
        if text == "year" {
            Interval::Year
        } else {
            Interval::Month
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Month => "month",
            Interval::Year => "year",
        }
    }

    fn months(self) -> u32 {
        match self {
            Interval::Month => 1,
            Interval::Year => 12,
        }
    }
}

/// A half-open span `[start, end)` in epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    pub start: i64,
    pub end: i64,
}

impl Span {
    pub fn contains(&self, t: i64) -> bool {
        self.start <= t && t < self.end
    }
}

fn add_months(anchor: i64, months: i64) -> Option<i64> {
    let at = DateTime::<Utc>::from_timestamp_millis(anchor)?;
    let moved = if months >= 0 {
        at.checked_add_months(Months::new(u32::try_from(months).ok()?))?
    } else {
        at.checked_sub_months(Months::new(u32::try_from(-months).ok()?))?
    };
    Some(moved.timestamp_millis())
}

/// The window of kind `window` that contains `now`, stepping from `anchor`.
pub fn window_span(anchor: i64, window: Window, now: i64) -> Option<Span> {
    match window {
        Window::Hour => fixed_span(anchor, HOUR_MS, now),
        Window::Day => fixed_span(anchor, DAY_MS, now),
        Window::Month => calendar_span(anchor, 1, now),
    }
}

/// The billing period of `interval` that contains `now`.
pub fn period_span(anchor: i64, interval: Interval, now: i64) -> Option<Span> {
    calendar_span(anchor, interval.months(), now)
}

fn fixed_span(anchor: i64, len: i64, now: i64) -> Option<Span> {
    let k = now.checked_sub(anchor)?.div_euclid(len);
    let start = anchor.checked_add(k.checked_mul(len)?)?;
    Some(Span {
        start,
        end: start.checked_add(len)?,
    })
}

/// Calendar steps of `step` months, each computed from the anchor (not chained), so month-end
/// anchors do not drift (Jan 31 → Feb 28 → Mar 31).
fn calendar_span(anchor: i64, step: u32, now: i64) -> Option<Span> {
    let step = i64::from(step);
    let anchor_dt = DateTime::<Utc>::from_timestamp_millis(anchor)?;
    let now_dt = DateTime::<Utc>::from_timestamp_millis(now)?;
    let months_between =
        (now_dt.year_month_index() - anchor_dt.year_month_index()).div_euclid(step) * step;
    // The estimate can be one step off either way around the day-of-month boundary.
    let mut k = months_between;
    loop {
        let start = add_months(anchor, k)?;
        let end = add_months(anchor, k + step)?;
        if now < start {
            k -= step;
        } else if now >= end {
            k += step;
        } else {
            return Some(Span { start, end });
        }
    }
}

trait YearMonthIndex {
    fn year_month_index(&self) -> i64;
}

impl YearMonthIndex for DateTime<Utc> {
    fn year_month_index(&self) -> i64 {
        use chrono::Datelike;
        i64::from(self.year()) * 12 + i64::from(self.month0())
    }
}

/// When the usage the current plan bills began: the plan's start (`plan_since`, set by a change
/// inside the period; 0 otherwise) or, once a trial is over, the trial's end — whichever is
/// later. Usage before it is on the invoice under the earlier plan or as trial usage.
pub fn billable_from(plan_since: i64, trial_end: Option<i64>, now: i64) -> i64 {
    plan_since.max(trial_end.filter(|t| *t <= now).unwrap_or(i64::MIN))
}

/// `span` from `from` on (empty when `from` is past its end).
pub fn from_on(span: Span, from: i64) -> Span {
    Span {
        start: span.start.max(from).min(span.end),
        end: span.end,
    }
}

/// Where the hourly rollup row of an event at `t` starts: the hour of the customer's own grid
/// (whole hours from its billing anchor, where its hour, day and month windows and its periods
/// start) that contains `t`, moved up to the latest of `cuts` at or before `t` (the moments a
/// billable span starts: the current plan's start, the trial's end). A span the customer's
/// decisions and invoices count then starts and ends between rows, so it is read from the rows
/// alone, however many events it holds.
pub fn bucket_of(anchor: i64, cuts: [Option<i64>; 2], t: i64) -> i64 {
    let hours = t.saturating_sub(anchor).div_euclid(HOUR_MS);
    let hour = anchor.saturating_add(hours.saturating_mul(HOUR_MS));
    cuts.into_iter()
        .flatten()
        .filter(|c| *c <= t)
        .fold(hour, i64::max)
}

/// A piece holds events of less than this from its start (a month window is at most 31 days).
pub const PIECE_MAX_MS: i64 = 31 * DAY_MS;

/// The monthly piece an event at `t` is added to, as the span of times that share it: the
/// customer's month window (from its billing anchor) that contains `t`, cut at `cuts` as
/// [`bucket_of`] cuts hours. Its periods (a month or twelve) and the spans its invoices price
/// then start and end between pieces, so a period is read from a piece per meter and tool.
pub fn piece_of(anchor: i64, cuts: [Option<i64>; 2], t: i64) -> Span {
    let window = window_span(anchor, Window::Month, t).unwrap_or_else(|| {
        let start = bucket_of(anchor, [None, None], t);
        Span {
            start,
            end: start.saturating_add(HOUR_MS),
        }
    });
    cuts.into_iter().flatten().fold(window, |w, c| {
        if c <= t {
            Span {
                start: w.start.max(c),
                end: w.end,
            }
        } else {
            Span {
                start: w.start,
                end: w.end.min(c),
            }
        }
    })
}

/// RFC 3339 rendering of epoch milliseconds (for results people read).
pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

/// Parse RFC 3339 into epoch milliseconds.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rows_start_on_the_customers_own_hours_and_at_its_cuts() {
        let anchor = at("2026-03-14T09:26:53.589Z");
        let t = at("2026-04-02T17:05:00Z");
        // 17:05 is in the customer's hour that began at 16:26:53.589.
        assert_eq!(
            bucket_of(anchor, [None, None], t),
            at("2026-04-02T16:26:53.589Z")
        );
        // A plan change at 16:40 starts a row of its own; one after `t` changes nothing.
        let change = at("2026-04-02T16:40:00Z");
        assert_eq!(bucket_of(anchor, [Some(change), None], t), change);
        assert_eq!(
            bucket_of(anchor, [Some(t + 1), None], t),
            at("2026-04-02T16:26:53.589Z")
        );
        // An event before the anchor (backdated) still lands on the grid.
        assert_eq!(
            bucket_of(anchor, [None, None], anchor - 1),
            anchor - HOUR_MS
        );
    }

    proptest! {
        #[test]
        fn every_window_boundary_is_a_row_boundary(anchor in 0i64..4_000_000_000_000, k in 0i64..2_000, off in 0i64..HOUR_MS) {
            // Any time maps into [bucket, bucket + 1h), and a window start maps to itself.
            let t = anchor + k * HOUR_MS + off;
            let b = bucket_of(anchor, [None, None], t);
            prop_assert!(b <= t && t < b + HOUR_MS);
            let month = window_span(anchor, Window::Month, t).unwrap();
            prop_assert_eq!(bucket_of(anchor, [None, None], month.start), month.start);
            prop_assert_eq!(bucket_of(anchor, [None, None], month.end), month.end);
        }
    }

    proptest! {
        #[test]
        fn a_piece_holds_its_times_and_never_crosses_a_period_or_a_cut(
            anchor in 0i64..4_000_000_000_000,
            t in 0i64..4_000_000_000_000,
            cut in proptest::option::of(0i64..4_000_000_000_000),
            yearly in any::<bool>(),
        ) {
            let piece = piece_of(anchor, [cut, None], t);
            prop_assert!(piece.start <= t && t < piece.end && piece.end - piece.start <= PIECE_MAX_MS);
            // Every time of the piece is in the same period and on the same side of the cut.
            let interval = if yearly { Interval::Year } else { Interval::Month };
            let period = period_span(anchor, interval, t).unwrap();
            prop_assert!(period.start <= piece.start && piece.end <= period.end);
            if let Some(c) = cut {
                prop_assert!(piece.end <= c || piece.start >= c);
            }
            prop_assert_eq!(piece_of(anchor, [cut, None], piece.end - 1), piece);
        }
    }

    fn at(s: &str) -> i64 {
        parse_rfc3339(s).unwrap()
    }

    #[test]
    fn hour_and_day_windows_step_from_the_anchor() {
        let anchor = at("2026-01-15T10:30:00Z");
        let span = window_span(anchor, Window::Hour, at("2026-03-01T08:45:00Z")).unwrap();
        assert_eq!(
            (rfc3339(span.start), rfc3339(span.end)),
            (
                "2026-03-01T08:30:00.000Z".into(),
                "2026-03-01T09:30:00.000Z".into()
            )
        );
        let span = window_span(anchor, Window::Day, at("2026-03-01T08:45:00Z")).unwrap();
        assert_eq!(rfc3339(span.start), "2026-02-28T10:30:00.000Z");
    }

    #[test]
    fn month_windows_follow_the_calendar_without_drift() {
        let anchor = at("2026-01-31T00:00:00Z");
        let feb = window_span(anchor, Window::Month, at("2026-03-10T00:00:00Z")).unwrap();
        assert_eq!(rfc3339(feb.start), "2026-02-28T00:00:00.000Z");
        assert_eq!(rfc3339(feb.end), "2026-03-31T00:00:00.000Z");
        let before_anchor = window_span(anchor, Window::Month, at("2025-12-31T12:00:00Z")).unwrap();
        assert_eq!(rfc3339(before_anchor.start), "2025-12-31T00:00:00.000Z");
    }

    #[test]
    fn yearly_periods_last_twelve_months() {
        let span = period_span(
            at("2025-06-01T00:00:00Z"),
            Interval::Year,
            at("2026-11-21T00:00:00Z"),
        )
        .unwrap();
        assert_eq!(rfc3339(span.start), "2026-06-01T00:00:00.000Z");
        assert_eq!(rfc3339(span.end), "2027-06-01T00:00:00.000Z");
    }

    proptest! {
        #[test]
        fn every_window_contains_now(anchor in 0_i64..4_000_000_000_000, offset in -100_000_000_000_i64..100_000_000_000) {
            let now = anchor + offset;
            for w in Window::ALL {
                let span = window_span(anchor, w, now).unwrap();
                prop_assert!(span.contains(now));
            }
        }
    }
}
