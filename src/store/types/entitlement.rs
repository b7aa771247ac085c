//! What an entitlement decision reads and what it asks the ledger to do: the snapshot of a
//! customer's state, the verdict, and a consume request with what it did.

use std::collections::BTreeMap;

use super::{CustomerRecord, NewEvent};
use crate::core::credit::Grant;
use crate::core::entitlement::Decision;
use crate::core::period::Window;
use crate::core::usage::{Aggregation, Tally};

/// The meter a snapshot counts, and how it aggregates (what the ledger must read for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted<'a> {
    pub meter: &'a str,
    pub aggregation: Aggregation,
}

/// The state a decision is made on.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// When (app clock) the figures were read.
    pub loaded_at: i64,
    pub customer: CustomerRecord,
    /// The meter's usage in the window of each kind containing now (all values).
    pub in_window: BTreeMap<Window, Tally>,
    /// The meter's usage over the whole billing period (all values, whatever plan changes).
    pub period_total: Tally,
    /// The meter's billable usage (since the plan's billing began: see
    /// [`crate::core::period::billable_from`]) in the month window containing now and in the
    /// billing period, per priced dimension value ('' = none).
    pub month_by_value: BTreeMap<String, Tally>,
    pub period_by_value: BTreeMap<String, Tally>,
    pub grants: Vec<Grant>,
    /// For a `unique` meter's request: its value is counted already in the month window.
    pub value_counted: bool,
    /// Live holds, counted in the figures above as if consumed.
    pub held: HoldsCounted,
}

/// What live holds add to a snapshot: units of its meter (in every window and span), credits
/// (taken from the grants), and when the first of them expires (the snapshot is stale then).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HoldsCounted {
    pub units: u64,
    pub credits: u64,
    pub until: Option<i64>,
}

/// What `consume` should do after deciding.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub decision: Decision,
    /// Credits to burn (0 for none).
    pub credits: u64,
    /// The quantity to record instead of the event's (a gauge records its new level).
    pub record_quantity: Option<u64>,
    /// Why no decision could be made (a total beyond the ledger's range): the decision is then
    /// a denial, nothing is consumed, and the call fails with this.
    pub error: Option<crate::core::CoreError>,
}

impl Verdict {
    /// A decision with nothing to burn or record.
    pub fn of(decision: Decision) -> Verdict {
        Verdict {
            decision,
            credits: 0,
            record_quantity: None,
            error: None,
        }
    }
}

pub type Decide = Box<dyn Fn(&Snapshot) -> Verdict + Send + Sync>;

pub struct ConsumeRequest {
    pub customer: String,
    /// The event to append when allowed; its meter is the one the snapshot covers. A closure
    /// may set its quantity from the snapshot (a gauge records its new level).
    pub event: Option<NewEvent>,
    pub meter: Option<(String, Aggregation)>,
    pub now: i64,
    pub decide: Decide,
}

#[derive(Debug, Clone)]
pub enum Consumed {
    UnknownCustomer,
    /// The idempotency key was used before: nothing was consumed again.
    Duplicate {
        event_id: String,
    },
    Decided {
        verdict: Box<Verdict>,
        event_id: Option<String>,
    },
}
