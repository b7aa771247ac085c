//! SQLite backend (the default): WAL with `synchronous=FULL` (every commit is durable), one
//! writer connection that takes the write lock up front (`BEGIN IMMEDIATE`), and a small read pool.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

type Db = sqlx::Sqlite;
type Conn = sqlx::SqliteConnection;

const BACKEND: &str = "sqlite";
const BEGIN: &str = "BEGIN IMMEDIATE";
/// `BEGIN IMMEDIATE` already holds the database's write lock; this only checks existence.
const LOCK_CUSTOMER: &str = "SELECT id FROM customers WHERE id = $1";
/// A webhook event's status (`BEGIN IMMEDIATE` already serialises every writer).
const LOCK_WEBHOOK: &str = "SELECT status FROM webhook_events WHERE id = $1";

async fn pools(url: &str) -> Result<(sqlx::Pool<Db>, sqlx::Pool<Db>), super::StoreError> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await?;
    MIGRATOR.run(&write).await?;
    let read = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await?;
    Ok((read, write))
}

include!("ledger.rs");
include!("usage.rs");
include!("snapshot.rs");
include!("credits.rs");
include!("webhooks.rs");
include!("access.rs");
