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
/// Statements over lists keep one of a few shapes and stay prepared ([`pieces`], [`push_in`]):
/// SQLite plans without statistics, so a plan made once serves every later list, and preparing a
/// batch's statements afresh was a sixth of the writer's database work.
const LISTS_CACHED: bool = true;

fn options(url: &str) -> Result<SqliteConnectOptions, super::StoreError> {
    Ok(SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true))
}

/// The writer's single connection; the migrations run on it. Its savepoints' journal stays in
/// memory (SQLite writes one past 64 KiB to a temporary file, opened and removed each time: an
/// eighth of the writer's database work), and it keeps every shape of its list statements
/// prepared ([`LISTS_CACHED`]).
async fn write_pool(url: &str) -> Result<sqlx::Pool<Db>, super::StoreError> {
    let options = options(url)?
        .pragma("temp_store", "memory")
        .statement_cache_capacity(1024);
    retried(|| async {
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&write).await?;
        Ok(write)
    })
    .await
}

async fn read_pool(url: &str) -> Result<sqlx::Pool<Db>, super::StoreError> {
    let options = options(url)?;
    retried(|| async {
        Ok(SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await?)
    })
    .await
}

/// Another process may be creating or migrating the same file at this moment (SQLite has no
/// migration lock, and switching a new file to WAL answers "database is locked" at once): a
/// start that collides with theirs is tried again once theirs has committed, and finds the
/// schema in place.
async fn retried<F, Fut>(open: F) -> Result<sqlx::Pool<Db>, super::StoreError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<sqlx::Pool<Db>, super::StoreError>>,
{
    let mut attempt = 0;
    loop {
        match open().await {
            Ok(pool) => return Ok(pool),
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

include!("ledger.rs");

#[cfg(test)]
mod tests {
    use super::pieces;

    #[test]
    fn a_list_is_cut_into_powers_of_two_largest_first_each_item_once_in_order() {
        let items: Vec<u32> = (0..1000).collect();
        let sizes = |cut: Vec<&[u32]>| cut.iter().map(|p| p.len()).collect::<Vec<_>>();
        assert_eq!(sizes(pieces(&items, 1000)), [512, 256, 128, 64, 32, 8]);
        assert_eq!(pieces(&items, 1000).concat(), items);
        assert_eq!(sizes(pieces(&items[..18], 62)), [16, 2]);
        assert_eq!(sizes(pieces(&items[..100], 62)), [32, 32, 32, 4]);
        assert_eq!(sizes(pieces(&items[..1], 500)), [1]);
        assert!(pieces::<u32>(&[], 8).is_empty());
    }
}
