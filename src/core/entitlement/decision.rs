//! What a decision reads (the customer, the usage so far of the feature's meter, the request)
//! and what it answers (allowed or why not, the limit figures, the cost and an upgrade).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Reason, Status};
use crate::core::money::MinorUnits;
use crate::core::period::{Interval, Window};
use crate::core::plan::{Feature, Plan};
use crate::core::reserved::ReservedMeter;
use crate::core::usage::Aggregation;

/// The customer as the decision needs it.
#[derive(Debug, Clone)]
pub struct CustomerState<'a> {
    pub plan: Option<&'a Plan>,
    /// The status in force now (a trial past its end is already `active`).
    pub status: Status,
    pub delinquent: bool,
    /// Billing period anchor (epoch ms).
    pub anchor: i64,
    pub interval: Interval,
    /// In a trial: limits apply, nothing is charged.
    pub in_trial: bool,
}

/// Usage of the feature's meter the ledger already holds, each figure by the meter's aggregation.
#[derive(Debug, Clone, Default)]
pub struct UsageSoFar {
    /// The meter's quantity in the window of each kind containing `now`.
    pub in_window: BTreeMap<Window, u64>,
    /// The quantity the meter's price reads in the current allowance span (the month, or the
    /// billing period with `per = "period"`), since the plan's billing began: all usage except
    /// dimension values with their own price.
    pub allowance_generic: u64,
    /// The same for the requested dimension value, when it has its own price.
    pub allowance_own: u64,
    /// A level meter's (`max`, `last`) current level: its latest value this month. What the
    /// asked quantity adds to, and what a limit caps ("at most N at once").
    pub level: Option<u64>,
    /// The meter's quantity over the whole billing period (reserved capacity is per period,
    /// whatever plan changes happened in it).
    pub period_total: u64,
}

/// What is being asked.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub feature: &'a Feature,
    /// The value of the meter's priced dimension (`tool` unless the meter names another).
    pub priced_value: Option<&'a str>,
    pub quantity: u64,
    pub now: i64,
    /// Credits one unit costs when the plan is paid with credits.
    pub credits_per_unit: u64,
    /// How the meter aggregates (what one more event adds).
    pub aggregation: Aggregation,
    /// The customer's reserved capacity on this meter, which prices it instead of the plan.
    pub reserved: Option<&'a ReservedMeter>,
    /// A `unique` meter's asked value is counted already this month: it adds nothing.
    pub value_counted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cost {
    /// The price of the asked units at the tier that applies (never negative), when the plan
    /// prices this usage; see [`crate::core::cost`].
    pub amount: Option<MinorUnits>,
    /// This meter's charge for the allowance span before and after the asked units (a volume
    /// price reaching a cheaper tier can lower it).
    pub total_before: Option<MinorUnits>,
    pub total_after: Option<MinorUnits>,
    pub currency: Option<String>,
    /// Credits the request burns, when the plan is paid with credits.
    pub credits: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Upgrade {
    pub plan: String,
    /// A checkout or payment link, when one is known (filled by the service layer).
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    pub reason: Reason,
    pub meter: Option<String>,
    /// The window the limit figures refer to (`month` = the billing-period month window).
    pub window: Option<Window>,
    pub limit: Option<u64>,
    pub used: Option<u64>,
    pub remaining: Option<u64>,
    pub resets_at: Option<i64>,
    pub cost: Cost,
    pub upgrade: Option<Upgrade>,
}

impl Decision {
    pub(super) fn plain(allowed: bool, reason: Reason) -> Decision {
        Decision {
            allowed,
            reason,
            meter: None,
            window: None,
            limit: None,
            used: None,
            remaining: None,
            resets_at: None,
            cost: Cost {
                amount: None,
                total_before: None,
                total_after: None,
                currency: None,
                credits: None,
            },
            upgrade: None,
        }
    }

    pub fn unknown_customer() -> Decision {
        Decision::plain(false, Reason::UnknownCustomer)
    }

    pub fn denied(reason: Reason) -> Decision {
        Decision::plain(false, reason)
    }
}
