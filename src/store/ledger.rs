// The ledger's SQL and writer, written once and included into `sqlite.rs` and `postgres.rs`,
// which each define `Db`, `Conn`, `BACKEND`, `BEGIN`, `LOCK_CUSTOMER`, `LOCK_WEBHOOK` and `pools`.
// Every statement here, and the migrations, are valid on both databases ($N placeholders, ON
// CONFLICT, RETURNING, CAST(SUM(..) AS BIGINT)); should a backend ever need its own DDL, give it
// its own folder. This file holds the backend, the writer's transaction for a batch and the
// cursor check the lists share; `dispatch.rs` runs one operation of a batch, and each aggregate's
// statements and its part of the [`Ledger`] are in the files included at the end. They all make
// one module, so a name several of them use is imported here, once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use sqlx::QueryBuilder;
use tokio::sync::mpsc;

use super::cache::SnapshotCache;
use super::writer::{self, Op, Pending, settle};
use super::{Consumed, GrantRecord, Ledger, NewEvent, Recorded, StoreError, UsageTotals};
use crate::core::credit;

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
    pub async fn open(url: &str) -> Result<Backend, StoreError> {
        let (read, write) = pools(url).await?;
        let (tx, rx) = mpsc::channel(4 * writer::MAX_BATCH);
        let cache = Arc::new(SnapshotCache::default());
        tokio::spawn(run_writer(write, rx, Arc::clone(&cache)));
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
    let mut known = BTreeSet::new();
    for id in customers {
        match sqlx::query_scalar::<Db, String>(LOCK_CUSTOMER).bind(&id).fetch_optional(&mut *conn).await {
            Ok(Some(_)) => {
                known.insert(id);
            }
            Ok(None) => {}
            Err(e) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                return fail_all(ops, &e.to_string());
            }
        }
    }
    let mut pending: Vec<Pending> = Vec::with_capacity(ops.len());
    let mut fx = Effects::default();
    for op in ops {
        if let Err(e) = sqlx::query("SAVEPOINT op").execute(&mut *conn).await {
            op.fail(&e.to_string());
            continue;
        }
        let done = dispatch(&mut conn, op, &mut known, &mut fx).await;
        let end = if done.is_some() { "RELEASE SAVEPOINT op" } else { "ROLLBACK TO SAVEPOINT op" };
        if let Some(p) = done {
            pending.push(p);
        }
        if let Err(e) = sqlx::query(end).execute(&mut *conn).await {
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            return pending.into_iter().for_each(|p| p(Err(&e.to_string())));
        }
    }
    if let Err(e) = upsert_rollup(&mut conn, &fx.added).await {
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        return pending.into_iter().for_each(|p| p(Err(&e.to_string())));
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
include!("usage.rs");
include!("snapshot.rs");
include!("credits.rs");
include!("outbox.rs");
include!("webhooks.rs");
include!("access.rs");
include!("stripe_writes.rs");
include!("insights.rs");
