//! `get_dashboard` benchmark (`cargo bench --bench dashboard`): a SQLite ledger of 1,000
//! customers on the example plans with usage spread over the 12 months up to now (10,000 events
//! each, five tools), and the dashboard of this month and of the year (the first call, then p50
//! and p99 of 50 runs), measured at 1 million events and again at 10 million, so what the event
//! count costs is plain. "Now" is the middle of December: every customer's current period (from
//! the 1st) holds half a month of usage, which its upcoming invoice prices. The ledger is kept in
//! `target/bench/dashboard-mid-<events>.db` and reused when it is complete (seeding 10 million
//! events takes a few minutes).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Timings are measurements, not money: floats are fine here and nowhere else.
#![allow(clippy::float_arithmetic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use billing_mcp::access::limits::RoleRates;
use billing_mcp::catalog::Catalog;
use billing_mcp::core::period::parse_rfc3339;
use billing_mcp::service::insights::{self, DashboardQuery};
use billing_mcp::service::{App, invoice, invoice_reads};
use billing_mcp::store::{self, NewCustomer, NewEvent, Store};

const CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/billing.toml");
const CUSTOMERS: usize = 1_000;
const TOOLS: [&str; 5] = ["search", "fetch", "summarize", "translate", "image"];
const PLANS: [(&str, &str); 5] = [
    ("starter", "month"),
    ("starter", "year"),
    ("professional", "month"),
    ("per_call", "month"),
    ("free", "month"),
];
const RUNS: usize = 50;

fn at(text: &str) -> i64 {
    parse_rfc3339(text).unwrap()
}

/// A ledger of `per_customer` events for each customer over the year before `now`.
async fn ledger(per_customer: usize, anchor: i64, start: i64, now: i64) -> Store {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench");
    std::fs::create_dir_all(dir).unwrap();
    let path = format!("{dir}/dashboard-mid-{}.db", per_customer * CUSTOMERS);
    let done = format!("{path}.complete");
    if std::path::Path::new(&done).exists() {
        return store::open(&format!("sqlite://{path}")).await.unwrap();
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
    let store = store::open(&format!("sqlite://{path}")).await.unwrap();
    let seeded = Instant::now();
    for i in 0..CUSTOMERS {
        let (plan, interval) = PLANS[i % PLANS.len()];
        store
            .create_customer(NewCustomer {
                id: format!("c{i:04}"),
                name: None,
                email: None,
                plan: Some(plan.into()),
                billing_interval: interval.into(),
                status: "active".into(),
                period_anchor: anchor,
                trial_ends_at: None,
                metadata: "{}".into(),
                now: anchor,
            })
            .await
            .unwrap();
    }
    let step = (now - start) / per_customer as i64;
    for i in 0..CUSTOMERS {
        for chunk in (0..per_customer).collect::<Vec<_>>().chunks(1_000) {
            let events = chunk
                .iter()
                .map(|k| {
                    let tool = TOOLS[(i + k) % TOOLS.len()];
                    NewEvent {
                        id: format!("e{i:04}-{k:06}"),
                        customer: format!("c{i:04}"),
                        meter: "tool_calls".into(),
                        quantity: 1 + (*k as i64 % 3),
                        occurred_at: start + *k as i64 * step + i as i64 * 1_000,
                        tool: tool.into(),
                        dimensions: format!(r#"{{"tool":"{tool}"}}"#),
                        idempotency_key: None,
                        recorded_at: now,
                        distinct: None,
                        // Delivered long ago: the ledger alone is read.
                        to_stripe: false,
                    }
                })
                .collect();
            store.record_usage(events).await.unwrap();
        }
    }
    println!(
        "seeded {} events for {CUSTOMERS} customers in {:.0} s",
        per_customer * CUSTOMERS,
        seeded.elapsed().as_secs_f64()
    );
    std::fs::write(&done, "").unwrap();
    store
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1_000.0
}

async fn measure(app: &App, label: &str, query: DashboardQuery) {
    // The first call after the ledger opens reads cold pages and prepares its statements: shown
    // apart, then the runs measured.
    let started = Instant::now();
    insights::dashboard(app, query.clone()).await.unwrap();
    let first = started.elapsed().as_secs_f64() * 1_000.0;
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        let view = insights::dashboard(app, query.clone()).await.unwrap();
        times.push(started.elapsed());
        assert_eq!(view.accounts_total, CUSTOMERS as u64);
    }
    times.sort();
    println!(
        "  {label:<28} p50 {:>7.1} ms   p99 {:>7.1} ms   (first call {first:.1} ms)",
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
}

/// Where the time goes: the usage series; the upcoming invoices, one `preview_invoice` per
/// customer one after another, and as the dashboard computes them (the ledger of every customer
/// read at once, then priced).
async fn parts(app: &App, from: i64, to: i64) {
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1e3;
    let started = Instant::now();
    let hours = app.store.usage_by_hour(from, to).await.unwrap();
    let usage = ms(started);
    let customers = app.store.all_customers().await.unwrap();
    let started = Instant::now();
    for c in &customers {
        invoice::preview(app, c).await.unwrap();
    }
    let one_by_one = ms(started);
    let started = Instant::now();
    let all: Vec<_> = customers.iter().collect();
    let held = invoice_reads::prefetch(app, &all).await.unwrap();
    let read = ms(started);
    let reads = invoice_reads::Reads::prefetched(app, &held);
    for c in &customers {
        invoice::preview_using(reads, c, None, None).await.unwrap();
    }
    println!(
        "    usage rows {} in {usage:.1} ms; {CUSTOMERS} previews one after another in {one_by_one:.1} ms, \
         or read at once in {read:.1} ms and priced in {:.1} ms",
        hours.len(),
        ms(started) - read
    );
}

#[tokio::main]
async fn main() {
    // Billing periods start on the 1st; the events run from a year before now up to now.
    let anchor = at("2025-12-01T00:00:00Z");
    let now = at("2026-12-16T12:00:00Z");
    let start = now - 365 * 86_400_000;
    for per_customer in [1_000, 10_000] {
        let store = ledger(per_customer, anchor, start, now).await;
        let catalog = Catalog::load(std::path::Path::new(CATALOG)).unwrap();
        let app = App::with(store, catalog, Arc::new(move || now), RoleRates::default());
        println!(
            "get_dashboard, SQLite, {CUSTOMERS} customers, {} events over 12 months:",
            per_customer * CUSTOMERS
        );
        measure(&app, "this month (by day)", DashboardQuery::default()).await;
        parts(&app, at("2026-12-01T00:00:00Z"), at("2027-01-01T00:00:00Z")).await;
        parts(&app, at("2025-12-01T00:00:00Z"), at("2027-01-01T00:00:00Z")).await;
        measure(
            &app,
            "12 months (by month)",
            DashboardQuery {
                from: Some("2025-12-01T00:00:00Z".into()),
                to: Some("2027-01-01T00:00:00Z".into()),
                granularity: Some("month".into()),
                accounts_limit: None,
            },
        )
        .await;
    }
}
