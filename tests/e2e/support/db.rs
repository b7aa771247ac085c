//! The test's ledger: SQLite always, PostgreSQL when `BILLING_TEST_POSTGRES_URL` is set, a fresh
//! database for each test (a SQLite file in a directory of its own, or a new PostgreSQL database;
//! those of runs older than two hours are dropped).

use super::tls;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Backends to run a contract on: SQLite always, PostgreSQL when configured.
pub fn backends() -> Vec<Backend> {
    let mut b = vec![Backend::Sqlite];
    if std::env::var("BILLING_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty()) {
        b.push(Backend::Postgres);
    }
    b
}

/// A database of its own for one test; the SQLite file lives as long as this value.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// The ledger at `url`, made and kept alive by someone else.
    pub(super) fn existing(url: String) -> TestDb {
        TestDb { url, _dir: None }
    }
}

pub async fn test_db(backend: Backend) -> TestDb {
    tls();
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("ledger.db").display());
            TestDb {
                url,
                _dir: Some(dir),
            }
        }
        Backend::Postgres => {
            let base = std::env::var("BILLING_TEST_POSTGRES_URL").unwrap();
            let name = format!(
                "bmt_{}_{}",
                chrono::Utc::now().timestamp(),
                uuid::Uuid::now_v7().simple()
            );
            let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&base)
                .await
                .unwrap();
            drop_stale_databases(&mut admin).await;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .unwrap();
            let url = match base.rsplit_once('/') {
                Some((server, _)) => format!("{server}/{name}"),
                None => panic!("BILLING_TEST_POSTGRES_URL must end with /DATABASE"),
            };
            TestDb { url, _dir: None }
        }
    }
}

/// Databases of earlier runs (older than two hours) are dropped so runs do not accumulate.
async fn drop_stale_databases(admin: &mut sqlx::PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'bmt_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    let cutoff = chrono::Utc::now().timestamp() - 7200;
    for name in names {
        let created: i64 = name
            .split('_')
            .nth(1)
            .and_then(|t| t.parse().ok())
            .unwrap_or(i64::MAX);
        if created < cutoff {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut *admin)
            .await;
        }
    }
}
