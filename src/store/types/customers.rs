//! Records and requests of customers: the stored customer (with its reserved capacity, as stored
//! and as the core prices it), a new customer, a change of plan or period, of name, email or
//! metadata, an erasure, and a Stripe link.

use std::collections::BTreeMap;

use crate::core::reserved::{OverageTier, ReservedMeter};
use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CustomerRecord {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub plan: Option<String>,
    pub billing_interval: String,
    pub status: String,
    pub delinquent: i64,
    pub period_anchor: i64,
    pub trial_ends_at: Option<i64>,
    pub stripe_customer_id: Option<String>,
    pub metadata: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// When the current plan's billing began, if a plan change inside a period set it (0 = the
    /// period start).
    pub plan_since: i64,
    /// Reserved capacity per meter (JSON, see [`ReservedTiers`]).
    pub reserved_tiers: String,
    /// When `delete_customer` erased the customer (its personal fields are gone; its money
    /// records stay).
    pub deleted_at: Option<i64>,
    /// Usage events retention removed, and the newest time among them (0 when none).
    pub events_removed: i64,
    pub removed_through: i64,
}

/// The customer columns, in [`CustomerRecord`]'s order.
pub const CUSTOMER_COLUMNS: &str = "id, name, email, plan, billing_interval, status, delinquent, period_anchor, \
     trial_ends_at, stripe_customer_id, metadata, created_at, updated_at, plan_since, reserved_tiers, \
     deleted_at, events_removed, removed_through";

/// Reserved capacity of one customer, by meter, as stored: decimals as exact strings.
pub type ReservedTiers = BTreeMap<String, StoredReserved>;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredReserved {
    pub reserved: u64,
    pub tiers: Vec<StoredTier>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredTier {
    pub threshold: u64,
    pub price_per_unit: String,
    pub stripe_item: Option<String>,
}

impl CustomerRecord {
    /// The customer's reserved capacity as the core prices it. Only `set_reserved_tiers` writes
    /// it, after validation, so an unreadable entry means the stored row was damaged.
    pub fn reserved(&self) -> Result<BTreeMap<String, ReservedMeter>, StoreError> {
        let damaged = |why: String| {
            StoreError::Corrupt(format!("customer {}'s reserved tiers: {why}", self.id))
        };
        // Most customers reserve nothing: no parse on the entitlement path for them.
        if self.reserved_tiers == "{}" {
            return Ok(BTreeMap::new());
        }
        let stored: ReservedTiers =
            serde_json::from_str(&self.reserved_tiers).map_err(|e| damaged(e.to_string()))?;
        stored
            .into_iter()
            .map(|(meter, r)| {
                let tiers = r
                    .tiers
                    .iter()
                    .map(|t| {
                        Ok(OverageTier {
                            threshold: t.threshold,
                            price_per_unit: t.price_per_unit.parse().map_err(|_| {
                                damaged(format!("`{}` is no decimal", t.price_per_unit))
                            })?,
                            stripe_item: t.stripe_item.clone(),
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                Ok((
                    meter,
                    ReservedMeter {
                        reserved: r.reserved,
                        tiers,
                    },
                ))
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct NewCustomer {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub plan: Option<String>,
    pub billing_interval: String,
    pub status: String,
    pub period_anchor: i64,
    pub trial_ends_at: Option<i64>,
    pub metadata: String,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    Created(CustomerRecord),
    Existing(CustomerRecord),
}

#[derive(Debug, Clone)]
pub struct PlanChange {
    pub customer: String,
    pub plan: Option<String>,
    pub billing_interval: String,
    pub status: String,
    pub period_anchor: i64,
    pub trial_ends_at: Option<i64>,
    /// A new billing period starts at `period_anchor` (even when the anchor is the same hour).
    pub new_period: bool,
    /// When the change took effect (a Stripe event's time for webhooks), at most `now`.
    pub at: i64,
    pub now: i64,
}

/// A change of plan or interval, as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PlanChangeRecord {
    pub id: String,
    pub customer_id: String,
    pub at: i64,
    pub previous_plan: Option<String>,
    pub previous_interval: String,
    /// The anchor of the period the change closed, when it started a new one.
    pub previous_anchor: Option<i64>,
    pub plan: Option<String>,
    pub billing_interval: String,
}

/// Replace a customer's reserved capacity (JSON of [`ReservedTiers`]).
#[derive(Debug, Clone)]
pub struct ReservedWrite {
    pub customer: String,
    pub reserved_tiers: String,
    pub now: i64,
}

/// A change of a customer's name, email or metadata (merged: an empty value removes its key).
#[derive(Debug, Clone)]
pub struct CustomerChange {
    pub customer: String,
    /// `Some(None)` clears the field.
    pub name: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub metadata: BTreeMap<String, String>,
    pub now: i64,
}

/// Most metadata entries a customer keeps (Stripe's limit).
pub const MAX_METADATA: usize = 50;

/// What a [`CustomerChange`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// The customer after the change, and whether anything changed.
    Done {
        record: Box<CustomerRecord>,
        changed: bool,
    },
    UnknownCustomer,
    /// Nothing was changed: the customer is deleted.
    Deleted(Box<CustomerRecord>),
    /// Nothing was changed: the merged metadata would hold this many entries (more than
    /// [`MAX_METADATA`]).
    TooMuchMetadata(usize),
}

/// Erase a customer: its personal fields, and its live holds (see `delete_customer`).
#[derive(Debug, Clone)]
pub struct CustomerErasure {
    pub customer: String,
    pub now: i64,
}

/// The customer as erased, and whether this call erased it (false: it was deleted before).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erased {
    pub record: CustomerRecord,
    pub erased: bool,
}

#[derive(Debug, Clone)]
pub struct StripeLink {
    pub customer: String,
    pub stripe_customer_id: String,
    pub now: i64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Page<'a> {
    pub limit: i64,
    pub starting_after: Option<&'a str>,
}
