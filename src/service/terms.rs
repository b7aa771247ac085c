//! A customer's terms as the ledger holds them: the plan in force, the billing interval and
//! the period containing a moment, the trial and the status it gives. Every use case that
//! prices or gates reads them from here.

use crate::core::entitlement::Status;
use crate::core::period::{Interval, Span, period_span};
use crate::core::text::quote;
use crate::store::CustomerRecord;

use super::{App, BillingError};

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// Billing periods start on a whole hour, so every limit window is a union of the ledger's
/// hourly totals (exact, whatever the number of events).
pub fn anchor_at(now: i64) -> i64 {
    now.div_euclid(HOUR_MS) * HOUR_MS
}

/// Whether the customer is in a trial now (nothing is charged; limits apply).
pub fn in_trial(record: &CustomerRecord, now: i64) -> bool {
    record.status == "trialing" && record.trial_ends_at.is_none_or(|t| now < t)
}

/// The status in force now: a trial whose end has passed is `active` (as Stripe moves it when
/// the first invoice is created) unless Stripe has said otherwise since.
pub fn status_of(record: &CustomerRecord, now: i64) -> Status {
    match Status::parse(&record.status).unwrap_or(Status::Active) {
        Status::Trialing if !in_trial(record, now) => Status::Active,
        s => s,
    }
}

pub fn interval_of(record: &CustomerRecord) -> Interval {
    Interval::stored(&record.billing_interval)
}

/// The customer's billing period containing `now`.
pub fn period_of(record: &CustomerRecord, now: i64) -> Result<Span, BillingError> {
    current_period(record, now)
        .ok_or_else(|| BillingError::invalid("the customer's billing period cannot be computed"))
}

/// The billing period containing `now`. A sign-up trial is a period of its own, from the
/// customer's first hour to the trial's end (where the first paid period is anchored), as
/// Stripe's subscriptions show it.
pub(super) fn current_period(record: &CustomerRecord, now: i64) -> Option<Span> {
    let mut span = period_span(record.period_anchor, interval_of(record), now)?;
    if record.trial_ends_at == Some(span.end) {
        span.start = span.start.max(anchor_at(record.created_at)).min(span.end);
    }
    Some(span)
}

/// Outside a trial, a trial the customer had stays on record (so a later sale gives no second
/// one), ending no later than `now`.
pub fn trial_over(trial_ends_at: Option<i64>, now: i64) -> Option<i64> {
    trial_ends_at.map(|t| t.min(now))
}

pub fn parse_interval(value: Option<&str>) -> Result<Interval, BillingError> {
    match value.unwrap_or("month") {
        "month" | "monthly" => Ok(Interval::Month),
        "year" | "yearly" | "annual" => Ok(Interval::Year),
        other => Err(BillingError::invalid(format!(
            "interval `{}` is not known; use month or year",
            quote(other)
        ))),
    }
}

impl App {
    /// The plan in force for a customer: its own, else the catalog's default.
    pub fn plan_of(&self, record: &CustomerRecord) -> Option<&crate::core::plan::Plan> {
        record
            .plan
            .as_deref()
            .or(self.catalog.default_plan.as_deref())
            .and_then(|p| self.catalog.plan(p))
    }
}

/// A time given as RFC 3339, or `default`.
pub fn time_or(text: Option<&str>, default: i64) -> Result<i64, BillingError> {
    match text {
        None => Ok(default),
        Some(t) => crate::core::period::parse_rfc3339(t).ok_or_else(|| {
            BillingError::invalid(format!(
                "`{}` is not RFC 3339; use e.g. 2026-11-01T00:00:00Z",
                crate::core::text::quote(t)
            ))
        }),
    }
}
