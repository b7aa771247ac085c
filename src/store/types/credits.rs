//! Records and requests of credits: grants, adjustments and the entries of the credit ledger.

use crate::core::credit::Grant;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GrantRecord {
    pub id: String,
    pub customer_id: String,
    pub credits: i64,
    pub remaining: i64,
    pub priority: i64,
    pub expires_at: Option<i64>,
    pub source: String,
    pub description: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: i64,
}

impl GrantRecord {
    pub fn to_core(&self) -> Grant {
        Grant {
            id: self.id.clone(),
            remaining: u64::try_from(self.remaining).unwrap_or(0),
            priority: u32::try_from(self.priority).unwrap_or(u32::MAX),
            expires_at: self.expires_at,
            created_at: self.created_at,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewGrant {
    pub id: String,
    pub customer: String,
    pub credits: i64,
    pub priority: i64,
    pub expires_at: Option<i64>,
    pub source: String,
    pub description: Option<String>,
    pub idempotency_key: Option<String>,
    /// A credit pack bought (through Checkout): kept for the dashboard's credit packs sold.
    pub purchase: Option<Purchase>,
    pub now: i64,
}

/// What a credit pack purchase paid: the pack and the amount in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purchase {
    pub pack: String,
    pub amount: i64,
    /// Lower-case ISO code.
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Granted {
    Granted(GrantRecord),
    Duplicate(GrantRecord),
    UnknownCustomer,
}

/// Add credits (`credits > 0`, a new grant) or take them back (`credits < 0`, from `grant_id` or
/// in burn order; `0` with a `grant_id`: all the grant still holds).
#[derive(Debug, Clone)]
pub struct NewAdjustment {
    pub id: String,
    pub customer: String,
    pub credits: i64,
    pub grant_id: Option<String>,
    pub reason: String,
    pub idempotency_key: Option<String>,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AdjustmentRecord {
    pub id: String,
    pub customer_id: String,
    /// Signed: what was added or taken back.
    pub credits: i64,
    /// The grant made (added) or taken from (one named grant).
    pub grant_id: Option<String>,
    pub reason: String,
    pub idempotency_key: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adjusted {
    Adjusted(AdjustmentRecord),
    Duplicate(AdjustmentRecord),
    UnknownCustomer,
    UnknownGrant,
    /// Taking back more than there is: nothing was taken.
    Insufficient {
        balance: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CreditEntryRecord {
    pub id: String,
    pub customer_id: String,
    pub grant_id: String,
    pub kind: String,
    pub credits: i64,
    pub event_id: Option<String>,
    pub created_at: i64,
}
