//! The write path shared by both backends: operations queue to one writer task per process, which
//! runs as many as are waiting in one transaction (a savepoint each, so one failing operation does
//! not undo the others) and answers every caller only after the commit. The writer has a thread
//! and a runtime of its own ([`spawn_thread`]).

use tokio::sync::{mpsc, oneshot};

use super::{
    Adjusted, AuditEntry, Changed, ConsumeRequest, Consumed, Created, CustomerChange,
    CustomerErasure, CustomerRecord, Cutoff, Erased, EventRemoval, Granted, HoldRecord,
    HoldRequest, KeyOutcome, KeyWrite, NewAdjustment, NewCustomer, NewEvent, NewGrant,
    OnboardingRecord, OutboxOutcome, Placed, PlanChange, Recorded, ReleaseRequest, Requeue,
    ReservedWrite, SettleRequest, Settled, StoreError, StripeLink, StripeWrite, WebhookApply,
    WebhookRecord,
};

/// Most operations one transaction takes; more wait for the next one.
pub const MAX_BATCH: usize = 512;

pub type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

pub enum Op {
    CreateCustomer(NewCustomer, Reply<Created>),
    ChangePlan(PlanChange, Reply<Option<CustomerRecord>>),
    /// Replace a customer's reserved capacity.
    SetReserved(ReservedWrite, Reply<Option<CustomerRecord>>),
    /// Record the Stripe customer a ledger customer is linked to (the first link stays).
    LinkStripe(StripeLink, Reply<Option<CustomerRecord>>),
    /// Change a customer's name, email or metadata.
    ChangeCustomer(CustomerChange, Reply<Changed>),
    /// Erase a customer (`delete_customer`).
    EraseCustomer(CustomerErasure, Reply<Option<Erased>>),
    Usage(Vec<NewEvent>, Reply<Vec<Recorded>>),
    Consume(ConsumeRequest, Reply<Consumed>),
    PlaceHold(HoldRequest, Reply<Placed>),
    SettleHold(SettleRequest, Reply<Settled>),
    ReleaseHold(ReleaseRequest, Reply<Option<(HoldRecord, bool)>>),
    Grant(NewGrant, Reply<Granted>),
    Adjust(NewAdjustment, Reply<Adjusted>),
    /// Write off what the customer's expired grants still hold; answers the credits.
    Expire {
        customer: String,
        now: i64,
        reply: Reply<u64>,
    },
    /// Lease due outbox events to this process; answers the ids it got.
    LeaseOutbox {
        sender: String,
        ids: Vec<String>,
        now: i64,
        lease_until: i64,
        reply: Reply<Vec<String>>,
    },
    SettleOutbox(Vec<OutboxOutcome>, Reply<()>),
    /// Give up the meter-event sender lease.
    ReleaseSender(String, Reply<()>),
    /// Failed events back to pending; answers how many.
    Requeue(Requeue, Reply<u64>),
    ReceiveWebhook(WebhookRecord, Reply<(WebhookRecord, bool)>),
    ApplyWebhook(WebhookApply, Reply<Option<WebhookRecord>>),
    Key(KeyWrite, Reply<KeyOutcome>),
    /// Record a Stripe write; answers the record that stands.
    StripeWrite(StripeWrite, Reply<StripeWrite>),
    /// Save a sign-up flow; answers the flow that stands.
    Onboarding(OnboardingRecord, Reply<OnboardingRecord>),
    /// Nobody waits for an audit entry: it commits with the next transaction.
    /// An audit entry; with a reply, its caller waits for the commit.
    Audit(AuditEntry, Option<Reply<()>>),
    /// Answered once everything queued before it has committed.
    Barrier(Reply<()>),
    /// Remove some of a customer's usage events (retention); answers how many.
    RemoveEvents(EventRemoval, Reply<u64>),
    /// Clear the payloads of old webhook events that are done with; answers how many.
    ClearPayloads(Cutoff, Reply<u64>),
    /// Remove old audit entries; answers how many.
    RemoveAudit(Cutoff, Reply<u64>),
    /// Add a retention run's figures to its kind's row.
    RecordRun(super::RetentionRun, Reply<()>),
}

impl Op {
    /// Customers whose rows the operation must lock before it runs.
    pub fn customers(&self) -> Vec<&str> {
        match self {
            Op::CreateCustomer(c, _) => vec![c.id.as_str()],
            Op::ChangePlan(c, _) => vec![c.customer.as_str()],
            Op::SetReserved(w, _) => vec![w.customer.as_str()],
            Op::LinkStripe(l, _) => vec![l.customer.as_str()],
            Op::ChangeCustomer(c, _) => vec![c.customer.as_str()],
            Op::EraseCustomer(e, _) => vec![e.customer.as_str()],
            Op::Usage(events, _) => events.iter().map(|e| e.customer.as_str()).collect(),
            Op::Consume(r, _) => vec![r.customer.as_str()],
            Op::PlaceHold(h, _) => vec![h.consume.customer.as_str()],
            Op::SettleHold(s, _) => vec![s.consume.customer.as_str()],
            Op::ReleaseHold(r, _) => vec![r.customer.as_str()],
            Op::Grant(g, _) => vec![g.customer.as_str()],
            Op::Adjust(a, _) => vec![a.customer.as_str()],
            Op::Expire { customer, .. } => vec![customer.as_str()],
            Op::ApplyWebhook(a, _) => a.customers(),
            Op::Key(KeyWrite::Create(k), _) => k.customer_id.iter().map(String::as_str).collect(),
            Op::RemoveEvents(r, _) => vec![r.customer.as_str()],
            Op::Key(..)
            | Op::Audit(..)
            | Op::StripeWrite(..)
            | Op::Onboarding(..)
            | Op::Barrier(_)
            | Op::LeaseOutbox { .. }
            | Op::SettleOutbox(..)
            | Op::ReleaseSender(..)
            | Op::Requeue(..)
            | Op::ReceiveWebhook(..)
            | Op::ClearPayloads(..)
            | Op::RemoveAudit(..)
            | Op::RecordRun(..) => vec![],
        }
    }

    pub fn fail(self, message: &str) {
        fn answer<T>(reply: Reply<T>, message: &str) {
            // A caller that went away no longer needs its answer.
            let _ = reply.send(Err(StoreError::Batch(message.to_string())));
        }
        match self {
            Op::CreateCustomer(_, r) => answer(r, message),
            Op::ChangePlan(_, r) => answer(r, message),
            Op::SetReserved(_, r) => answer(r, message),
            Op::LinkStripe(_, r) => answer(r, message),
            Op::ChangeCustomer(_, r) => answer(r, message),
            Op::EraseCustomer(_, r) => answer(r, message),
            Op::Usage(_, r) => answer(r, message),
            Op::Consume(_, r) => answer(r, message),
            Op::PlaceHold(_, r) => answer(r, message),
            Op::SettleHold(_, r) => answer(r, message),
            Op::ReleaseHold(_, r) => answer(r, message),
            Op::Grant(_, r) => answer(r, message),
            Op::Adjust(_, r) => answer(r, message),
            Op::Expire { reply, .. } => answer(reply, message),
            Op::Key(_, r) => answer(r, message),
            Op::StripeWrite(_, r) => answer(r, message),
            Op::Onboarding(_, r) => answer(r, message),
            Op::LeaseOutbox { reply, .. } => answer(reply, message),
            Op::SettleOutbox(_, r) => answer(r, message),
            Op::ReleaseSender(_, r) => answer(r, message),
            Op::Requeue(_, r) => answer(r, message),
            Op::ReceiveWebhook(_, r) => answer(r, message),
            Op::ApplyWebhook(_, r) => answer(r, message),
            Op::Audit(_, Some(r)) => answer(r, message),
            Op::Audit(e, None) => {
                tracing::error!(
                    tool = e.tool,
                    error = message,
                    "an audit entry was not stored"
                )
            }
            Op::Barrier(r) => answer(r, message),
            Op::RemoveEvents(_, r) => answer(r, message),
            Op::ClearPayloads(_, r) => answer(r, message),
            Op::RemoveAudit(_, r) => answer(r, message),
            Op::RecordRun(_, r) => answer(r, message),
        }
    }
}

/// An operation that ran: it answers its caller once the commit's outcome is known.
pub type Pending = Box<dyn FnOnce(Result<(), &str>) + Send>;

/// Turn an operation's result into a pending answer (Ok) or answer the failure now (Err → None).
pub fn settle<T: Send + 'static>(
    reply: Reply<T>,
    result: Result<T, StoreError>,
) -> Option<Pending> {
    match result {
        Ok(value) => Some(Box::new(move |committed: Result<(), &str>| {
            let _ = reply.send(
                committed
                    .map(|()| value)
                    .map_err(|m| StoreError::Batch(m.to_string())),
            );
        })),
        Err(e) => {
            let _ = reply.send(Err(e));
            None
        }
    }
}

/// Queue one operation and wait for its answer.
pub async fn submit<T>(
    tx: &mpsc::Sender<Op>,
    make: impl FnOnce(Reply<T>) -> Op,
) -> Result<T, StoreError> {
    let (reply, answer) = oneshot::channel();
    tx.send(make(reply))
        .await
        .map_err(|_| StoreError::WriterGone)?;
    answer.await.map_err(|_| StoreError::WriterGone)?
}

/// Run the writer on a thread of its own, with a single-threaded runtime. The writer waits for
/// the database once per statement of a batch; on the server's shared runtime each of those
/// wake-ups queued behind the requests the workers were serving. Here it runs as soon as the
/// database answers, and every caller in the batch, all waiting for the same commit, waits less
/// (a commit under load takes a quarter to two fifths less time, README "Benchmarks").
pub fn spawn_thread(task: impl Future<Output = ()> + Send + 'static) -> Result<(), StoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
    std::thread::Builder::new()
        .name("ledger-writer".into())
        .spawn(move || runtime.block_on(task))
        .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
    Ok(())
}

/// Take the first waiting operation and up to [`MAX_BATCH`] − 1 more that are already queued.
pub async fn next_batch(rx: &mut mpsc::Receiver<Op>) -> Option<Vec<Op>> {
    let first = rx.recv().await?;
    let mut ops = vec![first];
    while ops.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(op) => ops.push(op),
            Err(_) => break,
        }
    }
    Some(ops)
}
