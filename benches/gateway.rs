//! The gateway's cost: calls/s, p50/p99 and CPU per call of a no-op upstream tool called directly
//! and through `billing-mcp gateway` (a free call, and a priced call held, forwarded and settled
//! in the ledger), 50 clients with a session each over streamable HTTP, on SQLite and PostgreSQL
//! (a scratch database next to `BILLING_TEST_POSTGRES_URL`, when it is set).
//!
//! The upstream and the gateway run as processes of their own (this program started again with
//! `BENCH_GATEWAY_ROLE`), as they are deployed, so each one's CPU time is read from `/proc`. Two
//! layouts: every process on every core; and, with 2 cores or more and `taskset`, the gateway on
//! a core of its own while the clients and the upstream share another — what the gateway costs
//! a shared machine, and whether it keeps up with the upstream when it has a core. Rounds
//! alternate the paths so drift of the machine hits all alike; each figure is the median of the
//! rounds. `cargo bench --bench gateway` (`BENCH_CASE=priced` for the direct and priced paths alone).

// A benchmark: a broken setup should stop it loudly, and its figures are rates.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::float_arithmetic)]

/// The allocator the `billing-mcp` binary ships with, so the figures are the server's.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "common/cpu.rs"]
mod cpu;
#[path = "gateway/processes.rs"]
mod processes;

use billing_mcp::access::Role;
use billing_mcp::catalog::Catalog;
use billing_mcp::config::HttpArgs;
use billing_mcp::mcp::gateway::{Gateway, Locked, Options, UpstreamSpec};
use billing_mcp::mcp::prompts::Prompts;
use billing_mcp::mcp::{self, Identity};
use billing_mcp::service::{App, keys};
use billing_mcp::store;
use billing_mcp::transport::{Shared, http};
use cpu::cpu_of;
use processes::{Process, ROLE, pin_self, until_stdin_closes};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::json;

const CLIENTS: usize = 50;
const CALLS_PER_CLIENT: usize = 100;
const ROUNDS: usize = 3;
const CATALOG: &str = r#"
default_plan = "pro"
[meters.tool_calls]
event_name = "tool_call_executed"
[features.tool_calls]
meter = "tool_calls"
[plans.pro]
features = ["tool_calls"]
at_limit = "charge_overage"
[plans.pro.meters.tool_calls]
price = { unit_amount_decimal = "0.5" }
[gateway]
feature = "tool_calls"
[gateway.tools.ping]
free = true
"#;

/// The upstream: `noop` and `ping`, both answering at once.
#[derive(Clone)]
struct Noop;

impl ServerHandler for Noop {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _r: Option<PaginatedRequestParams>,
        _c: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let schema = Arc::new(
            json!({"type": "object"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        Ok(ListToolsResult {
            tools: vec![
                Tool::new("noop", "Does nothing.", schema.clone()),
                Tool::new("ping", "Does nothing, free.", schema),
            ],
            ..Default::default()
        })
    }

    async fn call_tool(
        &self,
        _r: CallToolRequestParams,
        _c: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        Ok(CallToolResult::success(vec![ContentBlock::text("ok")]).into())
    }
}

/// The upstream's process: serves until its standard input closes; its URL is its first line.
async fn upstream() {
    let service = StreamableHttpService::new(
        || Ok(Noop),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("http://{}/mcp", listener.local_addr().unwrap());
    // As a production server would: answers go out at once, not after the client's delayed ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().nest_service("/mcp", service)).await
    });
    until_stdin_closes().await;
}

/// The gateway's process, in front of the upstream at `BENCH_GATEWAY_UPSTREAM` on the ledger at
/// `BENCH_GATEWAY_LEDGER`: serves until its standard input closes; its first line is its `/mcp`
/// URL and a customer key per client, as JSON.
async fn gateway() {
    let ledger = std::env::var("BENCH_GATEWAY_LEDGER").unwrap();
    let upstream = std::env::var("BENCH_GATEWAY_UPSTREAM").unwrap();
    let app = Arc::new(App::new(
        store::open(&ledger).await.unwrap(),
        Catalog::parse(CATALOG, "bench.toml").unwrap(),
    ));
    let mut secrets = Vec::new();
    for n in 0..CLIENTS {
        let customer = billing_mcp::service::customers::CreateCustomer {
            customer: format!("bench{n}"),
            name: None,
            email: None,
            plan: Some("pro".into()),
            interval: None,
            metadata: Default::default(),
        };
        billing_mcp::service::customers::create(&app, customer)
            .await
            .unwrap();
        // A customer and a key per client, as each paying caller has: the calls of one client
        // are held and settled for its own customer, and no key's rate limit is what is measured.
        let key = keys::NewKey {
            rate_per_minute: Some(1_000_000),
            burst: Some(100_000),
            ..keys::NewKey::new(Role::Customer, Some(format!("bench{n}")))
        };
        secrets.push(keys::create(&app, key).await.unwrap().secret.unwrap());
    }
    let options = Options {
        prefix: false,
        locked: Locked::Show,
        describe_prices: false,
        customer: None,
        timeout: Duration::from_secs(60),
    };
    let spec = UpstreamSpec::parse(&format!("up={upstream}")).unwrap();
    let gateway = Gateway::connect(&[spec], options, &[]).await.unwrap();
    let shared = Shared {
        app,
        registry: Arc::new(mcp::tools::all().only(&[])),
        prompts: Arc::new(Prompts::load().unwrap()),
        identity: Arc::new(Identity::Owner),
        gateway: Some(Arc::new(gateway)),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    println!("{}", json!({"url": url, "keys": secrets}));
    let cancel = tokio_util::sync::CancellationToken::new();
    let token = cancel.clone();
    tokio::spawn(async move { http::serve(listener, shared, &HttpArgs::default(), token).await });
    until_stdin_closes().await;
    cancel.cancel();
}

struct Stats {
    rate: f64,
    p50: Duration,
    p99: Duration,
    /// CPU time per call of the clients (this process), the gateway and the upstream.
    cpu: [Duration; 3],
}

/// 50 clients, a session each (client `n` with key `n`, when keys are given), calling `tool`.
async fn load(
    url: &str,
    keys: Option<&[String]>,
    tool: &'static str,
    procs: [&Process; 2],
) -> Stats {
    let mut clients = Vec::new();
    for n in 0..CLIENTS {
        let mut config = StreamableHttpClientTransportConfig::with_uri(url);
        if let Some(k) = keys {
            config = config.auth_header(&k[n]);
        }
        clients.push(Arc::new(
            ().serve(StreamableHttpClientTransport::from_config(config))
                .await
                .unwrap(),
        ));
    }
    let cpu = || [cpu_of("self"), procs[0].cpu(), procs[1].cpu()];
    let cpu_before = cpu();
    let start = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|c| {
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(CALLS_PER_CLIENT);
                for _ in 0..CALLS_PER_CLIENT {
                    let t = Instant::now();
                    let r = c.call_tool(CallToolRequestParams::new(tool)).await.unwrap();
                    assert_ne!(r.is_error, Some(true), "{tool}: {r:?}");
                    lat.push(t.elapsed());
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed();
    let cpu_after = cpu();
    all.sort();
    let pick = |q: usize| all[(all.len() * q / 100).min(all.len() - 1)];
    let calls = u32::try_from(all.len()).unwrap();
    Stats {
        rate: all.len() as f64 / elapsed.as_secs_f64(),
        p50: pick(50),
        p99: pick(99),
        cpu: [0, 1, 2].map(|i| cpu_after[i].saturating_sub(cpu_before[i]) / calls),
    }
}

/// One table: the upstream and a gateway on `ledger`, each on `cpus` (`None`: any core).
async fn table(title: &str, ledger: &str, cpus: Option<(usize, usize)>) {
    let up = Process::start("upstream", cpus.map(|c| c.0), &[]);
    let up_url = up.first_line.trim().to_string();
    let gw = Process::start(
        "gateway",
        cpus.map(|c| c.1),
        &[
            ("BENCH_GATEWAY_LEDGER", ledger),
            ("BENCH_GATEWAY_UPSTREAM", &up_url),
        ],
    );
    let started: serde_json::Value = serde_json::from_str(&gw.first_line).unwrap();
    let gw_url = started["url"].as_str().unwrap().to_string();
    let key: Vec<String> = serde_json::from_value(started["keys"].clone()).unwrap();
    println!(
        "\n## {title}: {CLIENTS} clients × {CALLS_PER_CLIENT} calls, median of {ROUNDS} rounds"
    );
    println!(
        "| path | calls/s | p50 | p99 | vs direct | p50 added | CPU per call: clients, gateway, upstream |"
    );
    println!("|---|---|---|---|---|---|---|");
    let paths: [(&str, &str, Option<&[String]>, &'static str); 3] = [
        ("direct to the upstream", &up_url, None, "noop"),
        (
            "through the gateway, free call",
            &gw_url,
            Some(&key[..]),
            "ping",
        ),
        (
            "through the gateway, priced call (held, forwarded, settled)",
            &gw_url,
            Some(&key[..]),
            "noop",
        ),
    ];
    // BENCH_CASE=text keeps the direct path and the paths whose name holds the text (profiling).
    let only = std::env::var("BENCH_CASE").unwrap_or_default();
    let paths: Vec<_> = paths
        .into_iter()
        .enumerate()
        .filter(|(i, p)| *i == 0 || p.0.contains(&only))
        .map(|(_, p)| p)
        .collect();
    let mut runs: Vec<Vec<Stats>> = paths.iter().map(|_| Vec::new()).collect();
    for _ in 0..ROUNDS {
        for (i, (_, url, key, tool)) in paths.iter().enumerate() {
            runs[i].push(load(url, *key, tool, [&gw, &up]).await);
        }
    }
    let medians: Vec<Stats> = runs
        .into_iter()
        .map(|mut v| {
            v.sort_by(|a, b| a.rate.total_cmp(&b.rate));
            v.swap_remove(v.len() / 2)
        })
        .collect();
    let direct = (medians[0].rate, medians[0].p50);
    let us = |d: Duration| d.as_micros();
    for ((name, ..), s) in paths.iter().zip(&medians) {
        let added = s.p50.saturating_sub(direct.1);
        println!(
            "| {name} | {:.0} | {:.2} ms | {:.2} ms | {:.0}% | {:.2} ms | {} µs, {} µs, {} µs |",
            s.rate,
            s.p50.as_secs_f64() * 1e3,
            s.p99.as_secs_f64() * 1e3,
            100.0 * s.rate / direct.0,
            added.as_secs_f64() * 1e3,
            us(s.cpu[0]),
            us(s.cpu[1]),
            us(s.cpu[2]),
        );
    }
    std::io::stdout().flush().unwrap();
}

/// Both layouts on one ledger; `fresh` gives a new ledger URL for each.
async fn ledger_tables(name: &str, fresh: &mut dyn FnMut(&str) -> String) {
    table(
        &format!("{name}, every process on every core"),
        &fresh("shared"),
        None,
    )
    .await;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores >= 2 && pin_self("0") {
        table(
            &format!("{name}, the gateway on core 1, the clients and the upstream on core 0"),
            &fresh("pinned"),
            Some((0, 1)),
        )
        .await;
        pin_self(&format!("0-{}", cores - 1));
    }
}

async fn driver() {
    println!(
        "# billing-mcp gateway ({} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let dir = tempfile::tempdir().unwrap();
    ledger_tables("SQLite", &mut |layout| {
        format!(
            "sqlite://{}",
            dir.path().join(format!("{layout}.db")).display()
        )
    })
    .await;
    let Ok(base) = std::env::var("BILLING_TEST_POSTGRES_URL") else {
        return;
    };
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&base)
        .await
        .unwrap();
    let run = uuid::Uuid::now_v7().simple().to_string();
    let name = |layout: &str| format!("bmt_gateway_{layout}_{run}");
    for layout in ["shared", "pinned"] {
        let create = format!("CREATE DATABASE {}", name(layout));
        sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    let prefix = base.rsplit_once('/').unwrap().0.to_string();
    ledger_tables("PostgreSQL", &mut |layout| {
        format!("{prefix}/{}", name(layout))
    })
    .await;
    for layout in ["shared", "pinned"] {
        let drop = format!("DROP DATABASE {} WITH (FORCE)", name(layout));
        sqlx::query(sqlx::AssertSqlSafe(drop))
            .execute(&mut admin)
            .await
            .ok();
    }
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    match std::env::var(ROLE).as_deref() {
        Ok("upstream") => upstream().await,
        Ok("gateway") => gateway().await,
        _ => driver().await,
    }
}
