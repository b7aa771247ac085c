//! PostgreSQL backend (production): the writer locks each customer it touches, in id order, with
//! `FOR NO KEY UPDATE`, so several server processes on one database never double-spend credits
//! or exceed a limit, and never deadlock one another.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;

type Db = sqlx::Postgres;
type Conn = sqlx::PgConnection;

const BACKEND: &str = "postgres";
const BEGIN: &str = "BEGIN";
/// How the writer reads a customer it locks.
const LOCK_CUSTOMER: &str = "FOR NO KEY UPDATE";
/// A webhook event's status, locked until the transaction ends (one application per event).
const LOCK_WEBHOOK: &str = "SELECT status FROM webhook_events WHERE id = $1 FOR UPDATE";
/// The rows of a query as one JSON array of arrays (`JSON_ROWS.0`, the columns, `JSON_ROWS.1`).
const JSON_ROWS: (&str, &str) = ("CAST(json_agg(json_build_array(", ")) AS TEXT)");
/// How retention takes the old rows it is about to change: rows another process is changing
/// are left to it (no waiting, no deadlock, nothing done twice).
const SKIP_LOCKED: &str = "FOR UPDATE SKIP LOCKED";
/// From how many events an insert is tried without `ON CONFLICT` first: PostgreSQL's conflict
/// check is a speculative insertion per row (a quarter of a 1,000-row insert), and a batch's
/// keys are almost always new; a key stored before fails the plain insert, and the rows go
/// again with `ON CONFLICT DO NOTHING`.
const PLAIN_INSERT_FROM: Option<usize> = Some(64);
/// Statements over lists are planned afresh with their values: a cached generic plan made while
/// a table was small keeps scanning it whole once it has grown.
const LISTS_CACHED: bool = false;

/// The schema PostgreSQL alone needs, after the shared migrations (`ledger.rs`), recorded in a
/// table of its own.
fn own_migrator() -> sqlx::migrate::Migrator {
    let mut m = sqlx::migrate!("./src/store/migrations_postgres");
    m.dangerous_set_table_name("_sqlx_migrations_postgres");
    m
}

/// The writer's single connection; the migrations run on it.
async fn write_pool(url: &str) -> Result<sqlx::Pool<Db>, super::StoreError> {
    let write = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await?;
    MIGRATOR.run(&write).await?;
    own_migrator().run(&write).await?;
    Ok(write)
}

async fn read_pool(url: &str) -> Result<sqlx::Pool<Db>, super::StoreError> {
    Ok(PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await?)
}

include!("ledger.rs");
