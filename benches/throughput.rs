//! Throughput benchmark (`cargo bench --bench throughput`), figures printed as a table.
//!
//! 1. `check_entitlement` over streamable HTTP, 50 concurrent clients (one MCP session each),
//!    beside a no-op tool in the same run: the protocol floor. `consume: true` for one customer
//!    (every call on the same row: the worst case for locking) and spread over 1,000 customers.
//!    Two no-ops split what a check costs beyond the floor: one answers with a
//!    `check_entitlement`-sized answer, the other also takes its arguments; a row asks for the
//!    compact answer. On SQLite, and on PostgreSQL when `BILLING_TEST_POSTGRES_URL` is set.
//! 2. `record_usage_batch` of 1,000 events, from one caller and from four at once: events per
//!    second into SQLite and PostgreSQL (PostgreSQL when `BILLING_TEST_POSTGRES_URL` is set).
//! 3. Concurrent single `record_usage` calls: grouped commits versus one commit per event.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Timing statistics are measurements, not money: floats are fine here and nowhere else.
#![allow(clippy::float_arithmetic)]

/// The allocator the `billing-mcp` binary ships with, so the figures are the server's.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::sync::Arc;

use billing_mcp::catalog::Catalog;
use billing_mcp::service::App;
use billing_mcp::store;

#[path = "common/cpu.rs"]
mod cpu;
#[path = "throughput/http.rs"]
mod http;
#[path = "throughput/noops.rs"]
mod noops;
#[path = "throughput/writes.rs"]
mod writes;

use http::bench_http;
use writes::bench_writes;

const CLIENTS: usize = 50;
const CALLS_PER_CLIENT: usize = 200;
/// Alternating rounds per tool; the median round is reported.
const ROUNDS: usize = 5;
const CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/billing.toml");
/// Customers the spread `consume` case calls for (`"customer": "*"` in a case's arguments).
const SPREAD: usize = 1_000;

async fn app(url: &str) -> Arc<App> {
    let store = store::open(url).await.unwrap();
    Arc::new(App::new(
        store,
        Catalog::load(std::path::Path::new(CATALOG)).unwrap(),
    ))
}

async fn create_customer(app: &App, customer: &str, plan: &str) {
    let input = billing_mcp::service::customers::CreateCustomer {
        customer: customer.into(),
        name: None,
        email: None,
        plan: Some(plan.into()),
        interval: None,
        metadata: Default::default(),
    };
    billing_mcp::service::customers::create(app, input)
        .await
        .unwrap();
}

#[tokio::main]
async fn main() {
    // rmcp's HTTP client needs the process's TLS provider, as in the binary.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    println!(
        "# billing-mcp throughput ({} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    // BENCH=http or BENCH=writes runs one section only.
    let only = std::env::var("BENCH").unwrap_or_default();
    if only != "writes" {
        bench_http("SQLite", &sqlite("http.db")).await;
        if let Some(pg) = postgres().await {
            bench_http("PostgreSQL", &pg.url).await;
            pg.drop().await;
        }
    }
    if only == "http" {
        return;
    }
    println!("\n## usage writes (events/s)");
    println!(
        "| ledger | record_usage_batch (1,000 per call), one caller | record_usage_batch, 4 concurrent callers | record_usage, 64 concurrent callers | record_usage, one caller |"
    );
    println!("|---|---|---|---|---|");
    bench_writes("SQLite (WAL, synchronous=FULL)", &sqlite("writes.db")).await;
    if let Some(pg) = postgres().await {
        bench_writes("PostgreSQL (synchronous_commit=on)", &pg.url).await;
        pg.drop().await;
    }
}

/// A fresh PostgreSQL database when `BILLING_TEST_POSTGRES_URL` is set.
struct Scratch {
    admin: sqlx::PgConnection,
    name: String,
    url: String,
}

async fn postgres() -> Option<Scratch> {
    let base = std::env::var("BILLING_TEST_POSTGRES_URL").ok()?;
    let name = format!("bmt_bench_{}", uuid::Uuid::now_v7().simple());
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&base)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
    Some(Scratch { admin, name, url })
}

impl Scratch {
    async fn drop(mut self) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut self.admin)
        .await
        .ok();
    }
}
