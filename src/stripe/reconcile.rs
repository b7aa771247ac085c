//! What Stripe holds of a customer's usage and invoices, read for `reconcile_usage`: a meter's
//! aggregated value over a window (`GET /v1/billing/meters/{id}/event_summaries`), the invoices
//! made in a range, and the upcoming invoice of a subscription (`POST
//! /v1/invoices/create_preview`, which creates nothing). Windows are whole minutes, as Stripe
//! requires of `start_time` and `end_time`; the caller aligns them.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Serialize;
use stripe_billing::billing_meter_event_summary::ListIdBillingMeterEventSummary;
use stripe_billing::invoice::{CreatePreviewInvoice, ListInvoice};
use stripe_types::{RangeBoundsTs, RangeQueryTs};

use super::views::{money, time};
use super::{Error, Payments};
use crate::values::Money;

/// Stripe's `start_time` and `end_time` must fall on whole minutes.
pub const MINUTE_MS: i64 = 60_000;

/// Most invoices read for one range (one page).
const INVOICES: i64 = 100;

/// A meter's usage at Stripe for one customer over a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterUsage {
    /// Stripe's aggregated value (sum, count or last, as the meter aggregates), exact: Stripe
    /// answers a JSON number, and every whole number up to 2^53 reads back exactly.
    pub aggregated_value: Decimal,
    /// Summaries Stripe answered (one for the whole window; none when it holds nothing).
    pub summaries: usize,
}

/// An invoice Stripe made for the customer.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, JsonSchema)]
pub struct IssuedInvoice {
    pub id: Option<String>,
    pub number: Option<String>,
    /// draft, open, paid, uncollectible or void.
    pub status: Option<String>,
    pub total: Money,
    pub amount_paid: Money,
    /// The usage period the invoice bills.
    pub period_start: String,
    pub period_end: String,
    pub created: String,
    pub subscription: Option<String>,
}

/// The customer's invoices made in a range, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, JsonSchema)]
pub struct IssuedInvoices {
    pub data: Vec<IssuedInvoice>,
    /// More invoices were made in the range than were read.
    pub has_more: bool,
}

/// Stripe's preview of a subscription's next invoice.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, JsonSchema)]
pub struct UpcomingInvoice {
    pub subscription: String,
    pub total: Money,
    pub period_start: String,
    pub period_end: String,
    pub lines: usize,
}

fn invoice_subscription(i: &stripe_shared::Invoice) -> Option<String> {
    i.subscription.as_ref().map(|s| s.id().to_string())
}

impl From<&stripe_shared::Invoice> for IssuedInvoice {
    fn from(i: &stripe_shared::Invoice) -> Self {
        IssuedInvoice {
            id: i.id.as_ref().map(ToString::to_string),
            number: i.number.clone(),
            status: i.status.as_ref().map(|s| s.as_str().into()),
            total: money(i.total, &i.currency),
            amount_paid: money(i.amount_paid, &i.currency),
            period_start: time(i.period_start),
            period_end: time(i.period_end),
            created: time(i.created),
            subscription: invoice_subscription(i),
        }
    }
}

/// `ms` as Stripe's seconds, when it is a whole minute.
fn minute(ms: i64) -> Result<i64, Error> {
    if ms.rem_euclid(MINUTE_MS) == 0 {
        Ok(ms.div_euclid(1000))
    } else {
        Err(Error::invalid(
            "meter event summaries take whole minutes for start_time and end_time",
        ))
    }
}

impl Payments {
    /// What Stripe aggregated for `stripe_customer` on the meter `meter` (`mtr_…`) over
    /// `[start, end)`, epoch milliseconds on whole minutes. One summary covers the window (no
    /// `value_grouping_window`), so `last` meters read right too.
    pub async fn meter_usage(
        &self,
        meter: &str,
        stripe_customer: &str,
        start: i64,
        end: i64,
    ) -> Result<MeterUsage, Error> {
        let request = ListIdBillingMeterEventSummary::new(
            meter,
            stripe_customer,
            minute(end)?,
            minute(start)?,
        )
        .limit(100);
        let list = self.read(request).await?;
        let mut total = Decimal::ZERO;
        for summary in &list.data {
            let value = Decimal::from_f64_retain(summary.aggregated_value).ok_or_else(|| {
                Error::invalid(format!(
                    "Stripe's aggregated value for meter {meter} is not a number"
                ))
            })?;
            total = total.checked_add(value).ok_or_else(|| {
                Error::invalid(format!(
                    "Stripe's aggregated value for meter {meter} is out of range"
                ))
            })?;
        }
        Ok(MeterUsage {
            aggregated_value: total.normalize(),
            summaries: list.data.len(),
        })
    }

    /// The invoices Stripe made for `stripe_customer` from `from` until before `to` (epoch
    /// milliseconds), newest first, up to one page of 100.
    pub async fn invoices_made(
        &self,
        stripe_customer: &str,
        from: i64,
        to: i64,
    ) -> Result<IssuedInvoices, Error> {
        let (from_s, to_s) = (from.div_euclid(1000), to.div_euclid(1000));
        let created = RangeQueryTs::Bounds(RangeBoundsTs {
            gte: Some(from_s),
            lt: Some(to_s),
            ..Default::default()
        });
        let request = ListInvoice::new()
            .customer(stripe_customer)
            .created(created)
            .limit(INVOICES);
        let list = self.read(request).await?;
        Ok(IssuedInvoices {
            // Kept to the range here too, whatever a Stripe-compatible server did with `created`.
            data: list
                .data
                .iter()
                .filter(|i| (from_s..to_s).contains(&i.created))
                .map(IssuedInvoice::from)
                .collect(),
            has_more: list.has_more,
        })
    }

    /// Stripe's preview of the next invoice of `subscription` (nothing is created).
    pub async fn upcoming_invoice(
        &self,
        stripe_customer: &str,
        subscription: &str,
    ) -> Result<UpcomingInvoice, Error> {
        let request = CreatePreviewInvoice::new()
            .customer(stripe_customer)
            .subscription(subscription);
        let invoice = self.read(request).await?;
        Ok(UpcomingInvoice {
            subscription: subscription.to_string(),
            total: money(invoice.total, &invoice.currency),
            period_start: time(invoice.period_start),
            period_end: time(invoice.period_end),
            lines: invoice.lines.data.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_windows_are_whole_minutes_in_seconds() {
        assert_eq!(minute(1_795_257_000_000).ok(), Some(1_795_257_000));
        assert!(minute(1_795_257_000_001).is_err());
        assert!(minute(1_795_257_030_000).is_err());
    }
}
