//! Credits: grants and adjustments (idempotent by key), and the balance with the grants behind
//! it and the latest ledger entries. Debits happen in `check_entitlement` with `consume`;
//! expired grants are written off as `expiry` entries (once) before a balance is shown.

use crate::core::text::quote;
use schemars::JsonSchema;
use serde::Serialize;

use super::{App, BillingError};
use crate::core::credit;
use crate::core::period::{parse_rfc3339, rfc3339};
use crate::ids::new_id;
use crate::store::{Adjusted, Granted, NewAdjustment, NewGrant};

/// Largest grant at once.
pub const MAX_GRANT: u64 = 1_000_000_000_000;

#[derive(Debug, Clone, Default)]
pub struct GrantInput {
    pub customer: String,
    pub credits: u64,
    pub priority: Option<u32>,
    pub expires_at: Option<String>,
    pub description: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct GrantResult {
    pub grant_id: String,
    /// `granted`, or `duplicate` when the idempotency_key was used before (nothing granted again).
    pub status: String,
    pub customer: String,
    pub credits: i64,
    pub expires_at: Option<String>,
    /// Live balance after the grant.
    pub balance: u64,
}

pub async fn grant(app: &App, input: GrantInput) -> Result<GrantResult, BillingError> {
    if input.credits == 0 || input.credits > MAX_GRANT {
        return Err(BillingError::invalid(format!(
            "credits must be between 1 and {MAX_GRANT}"
        )));
    }
    let priority = input.priority.unwrap_or(50);
    if priority > 100 {
        return Err(BillingError::invalid(
            "priority takes 0 (burned first) to 100 (burned last)",
        ));
    }
    let now = app.now();
    let expires_at = match &input.expires_at {
        Some(t) => {
            let at = parse_rfc3339(t).ok_or_else(|| {
                BillingError::invalid(format!(
                    "expires_at `{}` is not RFC 3339; use e.g. 2026-12-31T00:00:00Z",
                    quote(t)
                ))
            })?;
            if at <= now {
                return Err(BillingError::invalid(
                    "expires_at is in the past; credits would never be usable",
                ));
            }
            Some(at)
        }
        None => None,
    };
    let granted = app
        .store
        .grant_credits(NewGrant {
            id: new_id("cgr"),
            customer: input.customer.clone(),
            credits: i64::try_from(input.credits)
                .map_err(|_| BillingError::invalid("credits is too large"))?,
            priority: i64::from(priority),
            expires_at,
            source: "grant".into(),
            description: input.description,
            idempotency_key: input.idempotency_key,
            purchase: None,
            now,
        })
        .await?;
    let (record, status) = match granted {
        Granted::Granted(r) => (r, "granted"),
        Granted::Duplicate(r) => (r, "duplicate"),
        Granted::UnknownCustomer => return Err(app.refused_customer(&input.customer).await),
    };
    Ok(GrantResult {
        grant_id: record.id,
        status: status.into(),
        customer: input.customer.clone(),
        credits: record.credits,
        expires_at: record.expires_at.map(rfc3339),
        balance: balance_of(app, &input.customer).await?,
    })
}

/// The live balance (unexpired grants' remaining credits).
pub async fn balance_of(app: &App, customer: &str) -> Result<u64, BillingError> {
    Ok(balance_in(
        &app.store.credit_grants(customer).await?,
        app.now(),
    ))
}

/// What `grants` hold live at `now`.
pub fn balance_in(grants: &[crate::store::GrantRecord], now: i64) -> u64 {
    let grants: Vec<_> = grants.iter().map(|g| g.to_core()).collect();
    credit::balance(&grants, now)
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct GrantView {
    pub grant_id: String,
    pub credits: i64,
    pub remaining: i64,
    pub priority: i64,
    pub expires_at: Option<String>,
    /// False once expired or used up.
    pub live: bool,
    pub source: String,
    pub description: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct EntryView {
    pub entry_id: String,
    /// grant, purchase, debit (usage), adjustment or expiry.
    pub kind: String,
    /// Signed: + for grants, − for debits, adjustments taking credits back and expiry.
    pub credits: i64,
    pub grant_id: String,
    pub event_id: Option<String>,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CreditBalance {
    pub customer: String,
    pub balance: u64,
    /// Grants in burn order: priority, then earliest expiry, then oldest.
    pub grants: Vec<GrantView>,
    /// The 20 latest ledger entries, newest first.
    pub recent_entries: Vec<EntryView>,
}

#[derive(Debug, Clone, Default)]
pub struct AdjustInput {
    pub customer: String,
    /// Signed: credits to add (> 0) or take back (< 0); absent with `grant_id`: all it holds.
    pub credits: Option<i64>,
    pub grant_id: Option<String>,
    pub reason: String,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AdjustResult {
    pub adjustment_id: String,
    /// `adjusted`, or `duplicate` when the idempotency_key was used before (nothing changed again).
    pub status: String,
    pub customer: String,
    /// Signed: what was added or taken back.
    pub credits: i64,
    /// The grant made (credits added) or taken from.
    pub grant_id: Option<String>,
    pub reason: String,
    /// Live balance after the adjustment.
    pub balance: u64,
}

pub async fn adjust(app: &App, input: AdjustInput) -> Result<AdjustResult, BillingError> {
    let credits = match (input.credits, &input.grant_id) {
        (Some(0), _) | (None, None) => {
            return Err(BillingError::invalid(
                "give credits (positive to add, negative to take back), or a grant_id to take back all it holds",
            ));
        }
        (Some(c), Some(_)) if c > 0 => {
            return Err(BillingError::invalid(
                "a grant_id only takes credits back; to add credits leave grant_id out",
            ));
        }
        (Some(c), _) if c.unsigned_abs() > MAX_GRANT => {
            return Err(BillingError::invalid(format!(
                "credits must be within ±{MAX_GRANT}"
            )));
        }
        (c, _) => c.unwrap_or(0),
    };
    if input.reason.trim().is_empty() {
        return Err(BillingError::invalid(
            "say why in `reason` (e.g. \"refund of re_123\"): it is kept in the ledger",
        ));
    }
    let adjusted = app
        .store
        .adjust_credits(NewAdjustment {
            id: new_id("cad"),
            customer: input.customer.clone(),
            credits,
            grant_id: input.grant_id.clone(),
            reason: input.reason,
            idempotency_key: input.idempotency_key,
            now: app.now(),
        })
        .await?;
    let (record, status) = match adjusted {
        Adjusted::Adjusted(r) => (r, "adjusted"),
        Adjusted::Duplicate(r) => (r, "duplicate"),
        Adjusted::UnknownCustomer => return Err(app.refused_customer(&input.customer).await),
        Adjusted::UnknownGrant => {
            return Err(BillingError::new(
                "unknown_grant",
                format!(
                    "grant `{}` is not one of this customer's; get_credit_balance lists them",
                    quote(&input.grant_id.unwrap_or_default())
                ),
            ));
        }
        Adjusted::Insufficient { balance } => {
            return Err(BillingError::new(
                "insufficient_credits",
                format!(
                    "only {balance} credits can be taken back (a balance never goes below zero); nothing was taken"
                ),
            )
            .with("balance", balance));
        }
    };
    Ok(AdjustResult {
        adjustment_id: record.id,
        status: status.into(),
        customer: input.customer.clone(),
        credits: record.credits,
        grant_id: record.grant_id,
        reason: record.reason,
        balance: balance_of(app, &input.customer).await?,
    })
}

pub async fn balance(app: &App, customer: &str) -> Result<CreditBalance, BillingError> {
    app.customer(customer).await?;
    let now = app.now();
    app.store.expire_credits(customer, now).await?;
    let mut grants = app.store.credit_grants(customer).await?;
    grants.sort_by_key(|g| {
        (
            g.priority,
            g.expires_at.is_none(),
            g.expires_at,
            g.created_at,
        )
    });
    let core: Vec<_> = grants.iter().map(|g| g.to_core()).collect();
    let entries = app.store.credit_entries(customer, 20).await?;
    Ok(CreditBalance {
        customer: customer.into(),
        balance: credit::balance(&core, now),
        grants: grants
            .iter()
            .zip(&core)
            .map(|(g, c)| GrantView {
                grant_id: g.id.clone(),
                credits: g.credits,
                remaining: g.remaining,
                priority: g.priority,
                expires_at: g.expires_at.map(rfc3339),
                live: c.is_live(now),
                source: g.source.clone(),
                description: g.description.clone(),
                created_at: rfc3339(g.created_at),
            })
            .collect(),
        recent_entries: entries
            .into_iter()
            .map(|e| EntryView {
                entry_id: e.id,
                kind: e.kind,
                credits: e.credits,
                grant_id: e.grant_id,
                event_id: e.event_id,
                at: rfc3339(e.created_at),
            })
            .collect(),
    })
}
