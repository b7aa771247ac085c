//! The dashboard's arithmetic: calendar buckets (UTC day, ISO week, month) over a range, a
//! customer's MRR at a moment, and MRR movements between bucket boundaries as SaaS metrics tools
//! define them (new, expansion, contraction, churn, reactivation).
//!
//! MRR is kept in twelfths of a minor unit, so a yearly price normalised to a month is exact
//! (a monthly price `m` is `12·m`, a yearly price `y` is `y`); a figure is rounded once, when it
//! is shown, with the invoice's rule (halves away from zero).

use chrono::{DateTime, Datelike, Duration, Months, NaiveTime, Utc};

use super::CoreError;
use super::money::{MinorUnits, round_minor};
use super::period::{Interval, Span};
use rust_decimal::Decimal;

/// The width of a dashboard bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Day,
    /// ISO weeks, Monday 00:00 UTC.
    Week,
    Month,
}

impl Granularity {
    pub fn parse(text: &str) -> Option<Granularity> {
        match text {
            "day" => Some(Granularity::Day),
            "week" => Some(Granularity::Week),
            "month" => Some(Granularity::Month),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Day => "day",
            Granularity::Week => "week",
            Granularity::Month => "month",
        }
    }

    /// The start of the bucket holding `at`.
    fn floor(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let midnight = at.date_naive().and_time(NaiveTime::MIN).and_utc();
        match self {
            Granularity::Day => midnight,
            Granularity::Week => {
                midnight - Duration::days(i64::from(at.weekday().num_days_from_monday()))
            }
            Granularity::Month => midnight - Duration::days(i64::from(at.day0())),
        }
    }

    fn next(self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Granularity::Day => start.checked_add_signed(Duration::days(1)),
            Granularity::Week => start.checked_add_signed(Duration::days(7)),
            Granularity::Month => start.checked_add_months(Months::new(1)),
        }
    }
}

/// The whole calendar bucket of `granularity` holding `at` (this month, for `Month`).
pub fn bucket_of(at: i64, granularity: Granularity) -> Option<Span> {
    let start = granularity.floor(DateTime::<Utc>::from_timestamp_millis(at)?);
    Some(Span {
        start: start.timestamp_millis(),
        end: granularity.next(start)?.timestamp_millis(),
    })
}

/// The calendar buckets of `granularity` that `range` touches, each cut to the range; `None`
/// when the range is beyond the calendar or would need more than `max` buckets.
pub fn buckets(range: Span, granularity: Granularity, max: usize) -> Option<Vec<Span>> {
    let end = range.end;
    let mut at = granularity.floor(DateTime::<Utc>::from_timestamp_millis(range.start)?);
    let mut out = Vec::new();
    while at.timestamp_millis() < end {
        let next = granularity.next(at)?;
        out.push(Span {
            start: at.timestamp_millis().max(range.start),
            end: next.timestamp_millis().min(end),
        });
        if out.len() > max {
            return None;
        }
        at = next;
    }
    Some(out)
}

/// A customer's MRR, in twelfths of a minor unit, on a plan priced `base` per `interval`.
pub fn mrr_twelfths(base: MinorUnits, interval: Interval) -> i64 {
    match interval {
        Interval::Month => base.0.saturating_mul(12),
        Interval::Year => base.0,
    }
}

/// Twelfths of a minor unit shown as minor units (rounded once, halves away from zero).
pub fn from_twelfths(twelfths: i64) -> Result<MinorUnits, CoreError> {
    round_minor(Decimal::from(twelfths) / Decimal::from(12))
}

/// MRR movements in one bucket, in twelfths of a minor unit; contraction and churn are negative,
/// so `net` is their sum and equals the change of MRR over the bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Movements {
    pub new: i64,
    pub expansion: i64,
    pub contraction: i64,
    pub churn: i64,
    pub reactivation: i64,
}

impl Movements {
    pub fn net(&self) -> i64 {
        self.new
            .saturating_add(self.expansion)
            .saturating_add(self.contraction)
            .saturating_add(self.churn)
            .saturating_add(self.reactivation)
    }

    pub fn add(&mut self, other: &Movements) {
        self.new = self.new.saturating_add(other.new);
        self.expansion = self.expansion.saturating_add(other.expansion);
        self.contraction = self.contraction.saturating_add(other.contraction);
        self.churn = self.churn.saturating_add(other.churn);
        self.reactivation = self.reactivation.saturating_add(other.reactivation);
    }
}

/// One customer's movement from MRR `before` to `after` (twelfths): from nothing it is `new`
/// the first time and `reactivation` after that (`paid_before`: it paid at some earlier moment);
/// to nothing, churn; otherwise expansion or contraction by the difference.
pub fn movement(before: i64, after: i64, paid_before: bool) -> Movements {
    let mut m = Movements::default();
    let delta = after.saturating_sub(before);
    match (before, after) {
        (0, 0) => {}
        (0, _) if paid_before => m.reactivation = delta,
        (0, _) => m.new = delta,
        (_, 0) => m.churn = delta,
        _ if delta > 0 => m.expansion = delta,
        _ => m.contraction = delta,
    }
    m
}

/// Per bucket, the movements of a customer whose MRR at each bucket boundary is `points`
/// (one more than the buckets), having paid before the first boundary when `paid_before`.
pub fn movements(points: &[i64], mut paid_before: bool) -> Vec<Movements> {
    points
        .windows(2)
        .map(|w| {
            paid_before |= w[0] > 0;
            let m = movement(w[0], w[1], paid_before);
            paid_before |= w[1] > 0;
            m
        })
        .collect()
}

/// Average revenue per paying customer: MRR over the paying customers, rounded once.
pub fn arpu(mrr_twelfths: i64, paying: u64) -> Result<MinorUnits, CoreError> {
    if paying == 0 {
        return Ok(MinorUnits::ZERO);
    }
    round_minor(Decimal::from(mrr_twelfths) / Decimal::from(12) / Decimal::from(paying))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::period::parse_rfc3339;

    fn t(s: &str) -> i64 {
        parse_rfc3339(s).unwrap()
    }

    #[test]
    fn buckets_follow_the_calendar_and_are_cut_to_the_range() {
        let range = Span {
            start: t("2026-11-30T12:00:00Z"),
            end: t("2026-12-03T00:00:00Z"),
        };
        let days = buckets(range, Granularity::Day, 100).unwrap();
        assert_eq!(days.len(), 3);
        assert_eq!(days[0].start, range.start);
        assert_eq!(days[0].end, t("2026-12-01T00:00:00Z"));
        assert_eq!(days[2].end, range.end);
        // 2026-11-30 is a Monday.
        let weeks = buckets(range, Granularity::Week, 100).unwrap();
        assert_eq!(weeks.len(), 1);
        let year = Span {
            start: t("2026-01-01T00:00:00Z"),
            end: t("2027-01-01T00:00:00Z"),
        };
        let months = buckets(year, Granularity::Month, 100).unwrap();
        assert_eq!(months.len(), 12);
        assert_eq!(months[1].start, t("2026-02-01T00:00:00Z"));
        assert_eq!(months[1].end, t("2026-03-01T00:00:00Z"));
        assert!(buckets(year, Granularity::Day, 300).is_none());
        let december = bucket_of(t("2026-12-05T20:01:00Z"), Granularity::Month).unwrap();
        assert_eq!(december.start, t("2026-12-01T00:00:00Z"));
        assert_eq!(december.end, t("2027-01-01T00:00:00Z"));
    }

    #[test]
    fn yearly_prices_are_exact_twelfths() {
        // 290.00 a year is 24.1666… a month: shown as 24.17, and twelve of them are 290.00.
        assert_eq!(mrr_twelfths(MinorUnits(29_000), Interval::Year), 29_000);
        assert_eq!(from_twelfths(29_000), Ok(MinorUnits(2_417)));
        assert_eq!(from_twelfths(29_000 * 12), Ok(MinorUnits(29_000)));
        let monthly = mrr_twelfths(MinorUnits(2_900), Interval::Month);
        assert_eq!(from_twelfths(monthly), Ok(MinorUnits(2_900)));
        // (29.00 + 24.1666…) / 2 = 26.5833… → 26.58
        assert_eq!(arpu(monthly + 29_000, 2), Ok(MinorUnits(2_658)));
    }

    #[test]
    fn movements_name_each_kind_and_net_to_the_change() {
        assert_eq!(movement(0, 100, false).new, 100);
        assert_eq!(movement(0, 100, true).reactivation, 100);
        assert_eq!(movement(100, 0, true).churn, -100);
        assert_eq!(movement(100, 250, true).expansion, 150);
        assert_eq!(movement(250, 100, true).contraction, -150);
        assert_eq!(movement(0, 0, true), Movements::default());
        // New, churned, then back: reactivation the second time.
        let m = movements(&[0, 100, 0, 0, 100], false);
        assert_eq!(m[0].new, 100);
        assert_eq!(m[1].churn, -100);
        assert_eq!(m[3].reactivation, 100);
        let net: i64 = m.iter().map(Movements::net).sum();
        assert_eq!(net, 100);
    }
}
