//! SQLite backend (the default): WAL with `synchronous=FULL` (every commit is durable), one
//! writer connection that takes the write lock up front (`BEGIN IMMEDIATE`), and a small read pool.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

type Db = sqlx::Sqlite;
type Conn = sqlx::SqliteConnection;

const BACKEND: &str = "sqlite";
const BEGIN: &str = "BEGIN IMMEDIATE";
/// How the writer reads a customer it locks: `BEGIN IMMEDIATE` already holds the database's
/// write lock, so a plain read.
const LOCK_CUSTOMER: &str = "";
/// A webhook event's status (`BEGIN IMMEDIATE` already serialises every writer).
const LOCK_WEBHOOK: &str = "SELECT status FROM webhook_events WHERE id = $1";
/// The rows of a query as one JSON array of arrays (`JSON_ROWS.0`, the columns, `JSON_ROWS.1`).
const JSON_ROWS: (&str, &str) = ("json_group_array(json_array(", "))");
/// How retention takes the old rows it is about to change (`BEGIN IMMEDIATE` is alone anyway).
const SKIP_LOCKED: &str = "";
/// From how many events an insert is tried without `ON CONFLICT` first: never (SQLite's conflict
/// check costs nothing a plain insert does not).
const PLAIN_INSERT_FROM: Option<usize> = None;

async fn pools(url: &str) -> Result<(sqlx::Pool<Db>, sqlx::Pool<Db>), super::StoreError> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    // Another process may be creating or migrating the same file at this moment (SQLite has no
    // migration lock, and switching a new file to WAL answers "database is locked" at once): a
    // start that collides with theirs is tried again once theirs has committed, and finds the
    // schema in place.
    let mut attempt = 0;
    loop {
        match open_pools(&options).await {
            Ok(pools) => return Ok(pools),
            Err(e) if attempt < 50 && collided(&e) => {
                tracing::debug!(error = %e, attempt, "opening the ledger collided; trying again");
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Another process's start in the way: the file busy or locked, or a migration it applied.
fn collided(e: &super::StoreError) -> bool {
    match e {
        super::StoreError::Migrate(_) => true,
        super::StoreError::Database(sqlx::Error::Database(db)) => {
            matches!(db.code().as_deref(), Some("5" | "6" | "261" | "517"))
        }
        _ => false,
    }
}

async fn open_pools(
    options: &SqliteConnectOptions,
) -> Result<(sqlx::Pool<Db>, sqlx::Pool<Db>), super::StoreError> {
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await?;
    MIGRATOR.run(&write).await?;
    let read = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options.clone())
        .await?;
    Ok((read, write))
}

include!("ledger.rs");
