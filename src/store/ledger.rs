// The ledger's SQL and writer, written once and included into `sqlite.rs` and `postgres.rs`,
// which each define `Db`, `Conn`, `BACKEND`, `BEGIN`, `LOCK_CUSTOMER`, `LOCK_WEBHOOK`, `SKIP_LOCKED`,
// `PLAIN_INSERT_FROM`, `LISTS_CACHED`, `write_pool` and `read_pool`.
// Every statement here, and the migrations, are valid on both databases ($N placeholders, ON
// CONFLICT, RETURNING, CAST(SUM(..) AS BIGINT)); DDL one backend alone needs is in its own folder
// (`migrations_postgres`; a shared migration that rebuilds `usage_events` must drop its customer
// key on PostgreSQL again there). This file holds the backend, the writer's transaction for a
// batch and the cursor check the lists share; `dispatch.rs` runs one operation of a batch, and
// each aggregate's statements and its part of the [`Ledger`] are in the files included at the
// end. They all make one module, so a name several of them use is imported here, once.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use sqlx::QueryBuilder;
use tokio::sync::mpsc;

use super::cache::{SnapshotCache, Spans, add_to};
use super::writer::{self, Op, Pending, Reply, settle};
use super::{AuditEntry, CUSTOMER_COLUMNS, ConsumeRequest, Consumed, CustomerRecord, GrantRecord, HoldLedger, Ledger, NewEvent, Recorded, StoreError, UsageTotals};
use crate::core::credit::{self, Grant};
use crate::core::period::{DAY_MS, PIECE_MAX_MS, Span, bucket_of, piece_of};

/// The schema, embedded; applied when a backend opens.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./src/store/migrations");

const HOUR_MS: i64 = 3_600_000;
/// Rows per multi-row INSERT: 9 binds each stays far below both databases' bind limits.
const INSERT_CHUNK: usize = 1000;

pub struct Backend {
    read: sqlx::Pool<Db>,
    writer: mpsc::Sender<Op>,
    cache: Arc<SnapshotCache>,
}

impl Backend {
    /// Open the writer's connection (which applies the migrations) on the writer's own thread,
    /// then the read pool.
    pub async fn open(url: &str) -> Result<Backend, StoreError> {
        let (tx, rx) = mpsc::channel(4 * writer::MAX_BATCH);
        let cache = Arc::new(SnapshotCache::default());
        let (ready, opened) = tokio::sync::oneshot::channel();
        let (writer_url, writer_cache) = (url.to_string(), Arc::clone(&cache));
        writer::spawn_thread(async move {
            match write_pool(&writer_url).await {
                Ok(pool) => {
                    let _ = ready.send(Ok(()));
                    run_writer(pool, rx, writer_cache).await;
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                }
            }
        })?;
        opened.await.map_err(|_| StoreError::WriterGone)??;
        let read = read_pool(url).await?;
        Ok(Backend { read, writer: tx, cache })
    }
}

async fn run_writer(pool: sqlx::Pool<Db>, mut rx: mpsc::Receiver<Op>, cache: Arc<SnapshotCache>) {
    while let Some(ops) = writer::next_batch(&mut rx).await {
        let (size, started) = (ops.len(), std::time::Instant::now());
        run_batch(&pool, ops, &cache).await;
        metrics::histogram!("billing_ledger_batch_operations").record(size as f64);
        metrics::histogram!("billing_ledger_commit_duration_seconds").record(started.elapsed().as_secs_f64());
    }
}

/// One transaction for a batch: lock the customers in id order, run each operation under a
/// savepoint, commit, then answer.
async fn run_batch(pool: &sqlx::Pool<Db>, ops: Vec<Op>, cache: &SnapshotCache) {
    let mut conn = match pool.acquire().await {
        Ok(c) => c,
        Err(e) => return fail_all(ops, &e.to_string()),
    };
    if let Err(e) = sqlx::query(BEGIN).execute(&mut *conn).await {
        return fail_all(ops, &e.to_string());
    }
    let customers: BTreeSet<String> = ops.iter().flat_map(|op| op.customers()).map(str::to_string).collect();
    let mut known = match lock_customers(&mut conn, customers).await {
        Ok(known) => known,
        Err(e) => {
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            return fail_all(ops, &e.to_string());
        }
    };
    let mut pending: Vec<Pending> = Vec::with_capacity(ops.len());
    let mut fx = Effects::default();
    // Holds, settlements and consumptions are made together (each kind in a group) after the
    // other operations, and the audit entries nobody waits for go in together last. Each group
    // takes its operations from the front of its queue as it answers them (or leaves them
    // pending), so what a failure leaves in the queues was never answered.
    let (mut audits, mut group, mut places, mut settles, mut others) = (Vec::new(), VecDeque::new(), VecDeque::new(), VecDeque::new(), Vec::new());
    for op in ops {
        match op {
            Op::Audit(e, None) => audits.push(e),
            Op::Consume(request, reply) if groupable(&request) => group.push_back((request, reply)),
            Op::PlaceHold(request, reply) if hold_groupable(&request) => places.push_back((request, reply)),
            Op::SettleHold(request, reply) => settles.push_back((request, reply)),
            op => others.push(op),
        }
    }
    let mut others = others.into_iter();
    let mut failed = None;
    for op in others.by_ref() {
        match run_op(&mut conn, op, &mut known, &mut fx).await {
            Ok(done) => pending.extend(done),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    if failed.is_none() {
        failed = place_group(&mut conn, &mut places, &mut known, &mut fx, &mut pending).await.err();
    }
    if failed.is_none() {
        failed = settle_group(&mut conn, &mut settles, &mut known, &mut fx, &mut pending).await.err();
    }
    if failed.is_none() {
        failed = consume_group(&mut conn, &mut group, &mut known, &mut fx, &mut pending).await.err();
    }
    if failed.is_none() {
        failed = audit_batch(&mut conn, &audits).await.err().map(|e| e.to_string());
    }
    if failed.is_none() {
        failed = upsert_rollup(&mut conn, &fx.added).await.err().map(|e| e.to_string());
    }
    if let Some(e) = failed {
        // Everyone not answered yet is told why: what waits for the commit, and what never ran.
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        let unrun = others
            .chain(places.into_iter().map(|(r, reply)| Op::PlaceHold(r, reply)))
            .chain(settles.into_iter().map(|(r, reply)| Op::SettleHold(r, reply)))
            .chain(group.into_iter().map(|(r, reply)| Op::Consume(r, reply)));
        fail_all(unrun.collect(), &e);
        return pending.into_iter().for_each(|p| p(Err(&e)));
    }
    let committed = sqlx::query("COMMIT").execute(&mut *conn).await.map(|_| ()).map_err(|e| e.to_string());
    if committed.is_err() {
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
    } else {
        // Before anyone is answered, so a caller's next read sees its own write.
        cache.add_usage(&fx.added);
        cache.invalidate(fx.invalidated.iter().map(String::as_str));
    }
    for p in pending {
        p(committed.as_ref().map(|_| ()).map_err(String::as_str));
    }
}

/// `(…)`: the values bound one by one, for `IN`. Where lists are cached ([`LISTS_CACHED`]) the
/// last value is repeated up to a power of two, so that the statement takes one of a few shapes;
/// every statement with such a list is kept prepared there (`.persistent(LISTS_CACHED)`).
fn push_in(qb: &mut QueryBuilder<Db>, values: &[impl AsRef<str>]) {
    qb.push("(");
    let mut list = qb.separated(", ");
    for v in values {
        list.push_bind(v.as_ref().to_string());
    }
    if let Some(last) = values.last().filter(|_| LISTS_CACHED) {
        for _ in values.len()..values.len().next_power_of_two() {
            list.push_bind(last.as_ref().to_string());
        }
    }
    qb.push(")");
}

/// A list cut into one statement's worth each: where lists are cached ([`LISTS_CACHED`]), pieces
/// of a power of two items, the largest first and none above `most`, so that a statement over
/// them takes one of a few shapes; elsewhere chunks of `most`.
fn pieces<T>(items: &[T], most: usize) -> Vec<&[T]> {
    if !LISTS_CACHED {
        return items.chunks(most).collect();
    }
    let most = 1 << most.max(1).ilog2();
    let mut out = Vec::new();
    let mut rest = items;
    while !rest.is_empty() {
        let (piece, tail) = rest.split_at(most.min(1 << rest.len().ilog2()));
        out.push(piece);
        rest = tail;
    }
    out
}

/// Lock the batch's customers in id order (one statement per [`INSERT_CHUNK`] of them) and read
/// their rows.
async fn lock_customers(conn: &mut Conn, customers: BTreeSet<String>) -> Result<Known, StoreError> {
    let mut known = Known::default();
    let ids: Vec<String> = customers.into_iter().collect();
    for chunk in ids.chunks(INSERT_CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id IN "));
        push_in(&mut qb, chunk);
        qb.push(format!(" ORDER BY id {LOCK_CUSTOMER}"));
        for record in qb.build_query_as::<CustomerRecord>().persistent(LISTS_CACHED).fetch_all(&mut *conn).await? {
            known.0.insert(record.id.clone(), record);
        }
    }
    Ok(known)
}

/// Run one operation under its own savepoint: its pending answer, or none when it failed (its
/// caller is answered). `Err` is a failure of the transaction itself.
async fn run_op(conn: &mut Conn, op: Op, known: &mut Known, fx: &mut Effects) -> Result<Option<Pending>, String> {
    if let Err(e) = sqlx::query("SAVEPOINT op").execute(&mut *conn).await {
        op.fail(&e.to_string());
        return Ok(None);
    }
    let done = dispatch(conn, op, known, fx).await;
    let end = if done.is_some() { "RELEASE SAVEPOINT op" } else { "ROLLBACK TO SAVEPOINT op" };
    match sqlx::query(end).execute(&mut *conn).await {
        Ok(_) => Ok(done),
        Err(e) => {
            // The operation's caller waits for the commit that will not come.
            if let Some(p) = done {
                p(Err(&e.to_string()));
            }
            Err(e.to_string())
        }
    }
}

/// Store a batch's audit entries under a savepoint of their own: entries that cannot be stored
/// are said in the log (nobody waits for them) and do not undo the operations.
async fn audit_batch(conn: &mut Conn, audits: &[AuditEntry]) -> Result<(), sqlx::Error> {
    if audits.is_empty() {
        return Ok(());
    }
    sqlx::query("SAVEPOINT audit").execute(&mut *conn).await?;
    match insert_audits(conn, audits).await {
        Ok(()) => sqlx::query("RELEASE SAVEPOINT audit").execute(&mut *conn).await.map(|_| ()),
        Err(error) => {
            for e in audits {
                tracing::error!(tool = e.tool, error = %error, "an audit entry was not stored");
            }
            sqlx::query("ROLLBACK TO SAVEPOINT audit").execute(&mut *conn).await.map(|_| ())
        }
    }
}

/// A list's cursor must name a row the same list (with the same filters, bound after the cursor
/// as `$2`, `$3`, …) could have returned; any other is [`StoreError::UnknownCursor`], whoever's
/// row it is.
async fn cursor_known(read: &sqlx::Pool<Db>, sql: &'static str, cursor: Option<&str>, filters: &[&str]) -> Result<(), StoreError> {
    let Some(cursor) = cursor else { return Ok(()) };
    let mut query = sqlx::query_scalar::<Db, i64>(sql).bind(cursor);
    for f in filters {
        query = query.bind(*f);
    }
    match query.fetch_one(read).await? {
        0 => Err(StoreError::UnknownCursor),
        _ => Ok(()),
    }
}

/// The customers a batch has locked (and created), as their rows stand in the transaction: read
/// when locked, and again after each write to the row, so an operation decides on the row
/// without reading it.
#[derive(Default)]
struct Known(BTreeMap<String, CustomerRecord>);

impl Known {
    fn contains(&self, customer: &str) -> bool {
        self.0.contains_key(customer)
    }

    fn record(&self, customer: &str) -> Option<&CustomerRecord> {
        self.0.get(customer)
    }

    /// The customer's row unless it is deleted: what new usage, holds, credits and keys need (a
    /// deleted customer is refused them as if unknown; the service says which).
    fn live(&self, customer: &str) -> Option<&CustomerRecord> {
        self.0.get(customer).filter(|c| c.deleted_at.is_none())
    }

    /// The start of the usage row an event of `customer` at `t` is added to ([`bucket_of`]).
    fn bucket(&self, customer: &str, t: i64) -> i64 {
        match self.0.get(customer) {
            Some(c) => bucket_of(c.period_anchor, [Some(c.plan_since), c.trial_ends_at], t),
            None => floor_hour(t),
        }
    }

    /// The times that share the monthly piece of an event of `customer` at `t` ([`piece_of`]).
    fn piece(&self, customer: &str, t: i64) -> Span {
        match self.0.get(customer) {
            Some(c) => piece_of(c.period_anchor, [Some(c.plan_since), c.trial_ends_at], t),
            None => {
                let hour = floor_hour(t);
                Span { start: hour, end: hour.saturating_add(HOUR_MS) }
            }
        }
    }

    /// Read the customer's row again after a write to it in this transaction.
    async fn refresh(&mut self, conn: &mut Conn, customer: &str) -> Result<(), StoreError> {
        match fetch_customer(conn, customer).await? {
            Some(record) => self.0.insert(customer.to_string(), record),
            None => self.0.remove(customer),
        };
        Ok(())
    }
}

fn fail_all(ops: Vec<Op>, message: &str) {
    tracing::error!(error = message, "ledger transaction failed");
    ops.into_iter().for_each(|op| op.fail(message));
}

impl Ledger for Backend {
    fn backend(&self) -> &'static str {
        BACKEND
    }
}

include!("dispatch.rs");
include!("customers.rs");
include!("erase.rs");
include!("usage.rs");
include!("spans.rs");
include!("credits.rs");
include!("holds.rs");
include!("group.rs");
include!("span_sums.rs");
include!("snapshot.rs");
include!("settle_group.rs");
include!("place_group.rs");
include!("outbox.rs");
include!("webhooks.rs");
include!("access.rs");
include!("stripe_writes.rs");
include!("onboarding.rs");
include!("insights.rs");
include!("retention.rs");
