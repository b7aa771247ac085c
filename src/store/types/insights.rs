//! What the dashboard reads across all customers: status changes, usage per hour, money that
//! came in (paid invoices, credit packs), credit flows and delivery health.

/// A change of a customer's subscription status, as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StatusChangeRecord {
    pub customer_id: String,
    pub at: i64,
    pub previous_status: String,
    pub status: String,
}

/// Usage of one meter and `tool` value in one UTC day (from `hour`, its first hour counted), over
/// all customers.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HourUsage {
    pub meter: String,
    pub tool: String,
    pub hour: i64,
    pub quantity: i64,
    pub events: i64,
}

/// Events per customer over a range.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CustomerEvents {
    pub customer_id: String,
    pub events: i64,
}

/// Money that came in at a moment: a paid invoice or a credit pack bought.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Receipt {
    pub currency: String,
    pub at: i64,
    pub amount: i64,
}

/// A customer's usage of one meter and `tool` value over one monthly piece (its month window
/// from its billing anchor, cut at its plan start and trial end), with the times of its first
/// and latest event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsagePiece {
    pub customer_id: String,
    pub meter: String,
    pub tool: String,
    pub first_at: i64,
    pub last_at: i64,
    pub quantity: i64,
    pub events: i64,
    pub max_q: i64,
    pub last_q: i64,
}

impl UsagePiece {
    /// Its figures (sum, count, largest, latest).
    pub fn tally(&self) -> crate::core::usage::Tally {
        crate::core::usage::Tally::of_row(
            self.quantity,
            self.events,
            self.max_q,
            self.last_at,
            self.last_q,
        )
    }
}

/// Credits a customer's usage of one meter burned over a span.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Burned {
    pub customer_id: String,
    pub meter: String,
    pub credits: i64,
}

/// Credits moved over a range, by kind of credit entry (`grant`, `purchase`, `adjustment`,
/// `debit`, `expiry`, …; signed as entered), and what live grants hold now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreditFlows {
    pub by_kind: std::collections::BTreeMap<String, i64>,
    pub outstanding: i64,
}

/// Work not done: meter events not delivered to Stripe, webhook events that failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryHealth {
    pub meter_events_pending: i64,
    pub meter_events_failed: i64,
    pub webhooks_failed: i64,
}

/// A customer's events of one UTC day, meter and `tool` value, failed (an `outcome` dimension of
/// error, failed, failure or denied) or not.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DayUsage {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub meter: String,
    pub tool: String,
    /// 1 for failed calls, 0 for the others.
    pub failed: i64,
    pub events: i64,
    pub quantity: i64,
}
