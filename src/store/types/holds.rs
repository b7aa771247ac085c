//! Holds: what a call in flight reserves (units of a meter and credits) until it is settled into
//! usage, released, or expires; the requests that place, settle and release one.

use super::{ConsumeRequest, Verdict};

/// A hold as stored. `status` is `held`, `settled` or `released`; a `held` row past
/// `expires_at` counts no more (it is expired, and reads so).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HoldRecord {
    pub id: String,
    pub customer_id: String,
    pub feature: String,
    pub meter: String,
    pub tool: String,
    pub dimensions: String,
    pub quantity: i64,
    pub credits: i64,
    pub status: String,
    pub idempotency_key: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
    pub settled_quantity: Option<i64>,
    pub event_id: Option<String>,
}

impl HoldRecord {
    /// `held`, `expired`, `settled` or `released`, as of `now`.
    pub fn state(&self, now: i64) -> &str {
        if self.status == "held" && self.expires_at <= now {
            "expired"
        } else {
            &self.status
        }
    }
}

/// Place a hold: decided like a consumption (its event says meter, value, quantity and key), and
/// stored instead of recorded when allowed.
pub struct HoldRequest {
    pub consume: ConsumeRequest,
    pub id: String,
    pub feature: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub enum Placed {
    UnknownCustomer,
    /// The idempotency key placed a hold before: that hold, unchanged.
    Duplicate(Box<HoldRecord>),
    Decided {
        verdict: Box<Verdict>,
        hold: Option<Box<HoldRecord>>,
    },
}

/// Settle a hold: release it and consume `consume` (the actual quantity, keyed by the hold) in one
/// step, so the usage is recorded only if the decision, without the hold, allows it.
pub struct SettleRequest {
    pub hold_id: String,
    pub consume: ConsumeRequest,
}

#[derive(Debug, Clone)]
pub enum Settled {
    NotFound,
    /// Settled now, or before (then `duplicate`), into the event.
    Done {
        hold: Box<HoldRecord>,
        verdict: Option<Box<Verdict>>,
        duplicate: bool,
    },
    /// The actual quantity is more than the decision allows: the hold stays as it was.
    Denied {
        hold: Box<HoldRecord>,
        verdict: Box<Verdict>,
    },
    /// Released (or expired and released) before: nothing can be settled.
    Released(Box<HoldRecord>),
}

/// Release a hold; answers the hold as it stands (`None` for no such hold of the customer).
#[derive(Debug, Clone)]
pub struct ReleaseRequest {
    pub customer: String,
    pub hold_id: String,
    pub now: i64,
}
