//! Records and requests of the outbox: claiming events due for Stripe, what became of them,
//! putting failed ones back, and a customer's events by Stripe state (in all, and per meter).

/// Take up to `limit` events due for Stripe (pending, due by `now`) and push them out to
/// `lease_until`, so no other sender takes them meanwhile, provided `sender` holds (or now
/// takes) the sender lease until then: one process sends at a time.
#[derive(Debug, Clone)]
pub struct OutboxClaim {
    pub sender: String,
    pub now: i64,
    pub lease_until: i64,
    pub limit: i64,
}

/// A claimed event with what sending it needs.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxEvent {
    pub id: String,
    pub customer_id: String,
    pub meter: String,
    pub quantity: i64,
    pub occurred_at: i64,
    pub dimensions: String,
    pub stripe_attempts: i64,
    pub stripe_customer_id: Option<String>,
}

/// What became of claimed events (one request's, or one event's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxOutcome {
    /// Stripe holds them.
    Sent { ids: Vec<String>, at: i64 },
    /// Not delivered yet: due again at `next_at`. `attempted` is false when nothing was sent
    /// (the customer has no Stripe customer yet).
    Retry {
        ids: Vec<String>,
        next_at: i64,
        error: String,
        attempted: bool,
    },
    /// Not tried this round (the round ran out of its lease): due again at once, as they were.
    Release { ids: Vec<String> },
    /// Stripe refused them for good.
    Failed { ids: Vec<String>, error: String },
}

/// Put a customer's `failed` events between `from` and `to` (of one meter, or all) back in the
/// outbox, due at once.
#[derive(Debug, Clone)]
pub struct Requeue {
    pub customer: String,
    pub meter: Option<String>,
    pub from: i64,
    pub to: i64,
}

/// A customer's events in a range by Stripe state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxSummary {
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
    /// Events the ledger alone bills (never sent).
    pub ledger_only: i64,
    pub oldest_pending_at: Option<i64>,
    /// The newest reason an event is not delivered (pending or failed).
    pub last_error: Option<String>,
}

/// A customer's events of one meter in one Stripe state over a range: how many, the quantity
/// they carry, and the quantity of the latest of them (ties at the same millisecond go to the
/// event recorded last), which is what a `last` meter reads.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MeterDelivery {
    pub meter: String,
    pub stripe_state: String,
    pub events: i64,
    pub quantity: i64,
    pub last_quantity: Option<i64>,
}
