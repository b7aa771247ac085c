//! The benchmark's first section: `check_entitlement` over streamable HTTP in both protocol eras,
//! beside the no-op floor, each round's calls/s, p50, p99 and CPU per call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use billing_mcp::access::Role;
use billing_mcp::config::HttpArgs;
use billing_mcp::mcp::prompts::Prompts;
use billing_mcp::mcp::{self, Identity, ToolFilter};
use billing_mcp::service::{App, keys};
use billing_mcp::transport::{Shared, http};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::cpu::cpu_of;
use crate::noops::{Noop, NoopSized, NoopWaiting};
use crate::{CALLS_PER_CLIENT, CLIENTS, ROUNDS, SPREAD, app, create_customer};

/// The median of the rounds' CPU per call, in µs.
fn cpu_per_call(rounds: &[f64]) -> f64 {
    let mut v = rounds.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

struct Stats {
    calls: usize,
    /// The ledger's transactions over the round: how many, their operations, their seconds.
    commits: Ledger,
    secs: f64,
    p50_us: u128,
    p99_us: u128,
    /// The process's CPU time over the round (the clients' and the server's: one process).
    cpu: Duration,
}

/// The ledger writer's histograms as the process's Prometheus recorder has them so far.
#[derive(Clone, Copy, Default)]
struct Ledger {
    commits: f64,
    operations: f64,
    seconds: f64,
}

impl Ledger {
    fn now() -> Ledger {
        let text = billing_mcp::transport::metrics::handle().render();
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        Ledger {
            commits: value("billing_ledger_batch_operations_count"),
            operations: value("billing_ledger_batch_operations_sum"),
            seconds: value("billing_ledger_commit_duration_seconds_sum"),
        }
    }

    fn since(self, before: Ledger) -> Ledger {
        Ledger {
            commits: self.commits - before.commits,
            operations: self.operations - before.operations,
            seconds: self.seconds - before.seconds,
        }
    }

    /// Operations per transaction and milliseconds per transaction, or dashes without any.
    fn columns(self) -> (String, String) {
        if self.commits < 1.0 {
            return ("–".into(), "–".into());
        }
        (
            format!("{:.1}", self.operations / self.commits),
            format!("{:.2} ms", 1000.0 * self.seconds / self.commits),
        )
    }
}

fn stats(mut lat: Vec<Duration>, elapsed: Duration, cpu: Duration, commits: Ledger) -> Stats {
    lat.sort();
    let pick = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)].as_micros();
    Stats {
        calls: lat.len(),
        commits,
        secs: elapsed.as_secs_f64(),
        p50_us: pick(0.50),
        p99_us: pick(0.99),
        cpu,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Era {
    /// 2025-11-25: `initialize`, one session per client (rmcp's client).
    Sessions,
    /// 2026-07-28: stateless requests, no handshake, plain JSON answers (a plain HTTP client).
    Stateless,
}

/// Wait until every write queued before now has committed (a round's audit entries, answered by
/// nobody, would otherwise commit during the next round and show in its columns): the writer
/// takes operations in order, so a write for a customer nobody created answers after them.
async fn drain(app: &App) {
    let probe = billing_mcp::store::NewEvent {
        id: billing_mcp::ids::new_id("evt"),
        customer: "drain".into(),
        meter: "tool_calls".into(),
        quantity: 1,
        occurred_at: 0,
        tool: String::new(),
        dimensions: "{}".into(),
        idempotency_key: None,
        recorded_at: 0,
        distinct: None,
        to_stripe: false,
    };
    app.store.record_usage(vec![probe]).await.unwrap();
}

/// Every caller sends the same `service` key (another MCP server metering its users).
async fn http_load(
    app: &App,
    base: &str,
    key: &str,
    era: Era,
    tool: &'static str,
    args: serde_json::Value,
) -> Stats {
    let mut sessions = Vec::new();
    if era == Era::Sessions {
        for _ in 0..CLIENTS {
            let config = StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp"))
                .auth_header(key);
            sessions.push(Arc::new(
                ().serve(StreamableHttpClientTransport::from_config(config))
                    .await
                    .unwrap(),
            ));
        }
    }
    let http = reqwest::Client::new();
    drain(app).await;
    let (start, cpu_before, ledger_before) = (Instant::now(), cpu_of("self"), Ledger::now());
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let (session, http, args, url, key) = (
            sessions.get(i).cloned(),
            http.clone(),
            args.clone(),
            format!("{base}/mcp"),
            key.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(CALLS_PER_CLIENT);
            for n in 0..CALLS_PER_CLIENT {
                let mut a = args.as_object().cloned().unwrap();
                if a.get("customer") == Some(&json!("*")) {
                    a.insert("customer".into(), json!(format!("bench{}", (i * CALLS_PER_CLIENT + n) % SPREAD)));
                }
                if a.contains_key("idempotency_key") {
                    a.insert("idempotency_key".into(), json!(format!("{tool}-{i}-{n}-{}", uuid::Uuid::now_v7().simple())));
                }
                let t = Instant::now();
                match &session {
                    Some(c) => {
                        let r = c.call_tool(CallToolRequestParams::new(tool).with_arguments(a)).await.unwrap();
                        assert_ne!(r.is_error, Some(true), "{tool} failed: {r:?}");
                    }
                    None => {
                        let body = json!({"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {"name": tool, "arguments": a,
                            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}});
                        let resp = http
                            .post(&url)
                            .header("content-type", "application/json")
                            .header("accept", "application/json, text/event-stream")
                            .header("mcp-protocol-version", "2026-07-28")
                            .header("mcp-method", "tools/call")
                            .header("mcp-name", tool)
                            .bearer_auth(&key)
                            .body(body.to_string())
                            .send()
                            .await
                            .unwrap();
                        let answer: serde_json::Value = resp.json().await.unwrap();
                        assert_eq!(answer["result"]["isError"], false, "{tool} failed: {answer}");
                    }
                }
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    stats(
        all,
        start.elapsed(),
        cpu_of("self").saturating_sub(cpu_before),
        Ledger::now().since(ledger_before),
    )
}

pub async fn bench_http(ledger: &str, url: &str) {
    let app = app(url).await;
    let mut registry = mcp::tools::all().filtered(&ToolFilter::default());
    registry.add::<Noop>();
    registry.add::<NoopSized>();
    registry.add::<NoopWaiting>();
    let shared = Shared {
        app: app.clone(),
        registry: Arc::new(registry),
        prompts: Arc::new(Prompts::load().unwrap()),
        identity: Arc::new(Identity::Owner),
        gateway: None,
    };
    let key = keys::create(&app, keys::NewKey::new(Role::Service, None))
        .await
        .unwrap()
        .secret
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    tokio::spawn(async move { http::serve(listener, shared, &HttpArgs::default(), token).await });
    create_customer(&app, "bench", "professional").await;
    for n in 0..SPREAD {
        create_customer(&app, &format!("bench{n}"), "professional").await;
    }
    let eras = [
        (Era::Sessions, "sessions (2025-11-25, rmcp client)"),
        (Era::Stateless, "stateless (2026-07-28, plain HTTP client)"),
    ];
    // BENCH_ERA=sessions or stateless runs one era.
    let era_only = std::env::var("BENCH_ERA").unwrap_or_default();
    for (era, label) in eras
        .into_iter()
        .filter(|(_, l)| l.starts_with(era_only.as_str()))
    {
        http_table(&app, &base, &key, era, &format!("{ledger}, {label}")).await;
    }
    cancel.cancel();
}

async fn http_table(app: &App, base: &str, key: &str, era: Era, label: &str) {
    println!(
        "\n## check_entitlement over HTTP, {label}: {CLIENTS} clients × {CALLS_PER_CLIENT} calls, median of {ROUNDS} alternating rounds"
    );
    println!(
        "| tool | calls/s | p50 | p99 | vs floor | CPU per call | CPU vs floor | operations per commit | time per commit |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    // Rounds alternate the tools so that drift of the machine hits all of them alike.
    let cases: [(&str, &'static str, serde_json::Value); 8] = [
        ("noop (floor)", "noop", json!({})),
        (
            "noop with an answer of check_entitlement's size",
            "noop_sized",
            json!({}),
        ),
        (
            "noop with check_entitlement's arguments and answer size",
            "noop_sized",
            json!({"customer": "bench", "feature": "tool_calls"}),
        ),
        (
            "check_entitlement",
            "check_entitlement",
            json!({"customer": "bench", "feature": "tool_calls"}),
        ),
        (
            "check_entitlement compact=true",
            "check_entitlement",
            json!({"customer": "bench", "feature": "tool_calls", "compact": true}),
        ),
        (
            "noop waiting 1 ms for a batch on another thread (a commit's wait, no ledger)",
            "noop_waiting",
            json!({}),
        ),
        (
            "check_entitlement consume=true, one customer",
            "check_entitlement",
            json!({"customer": "bench", "feature": "tool_calls", "consume": true, "idempotency_key": ""}),
        ),
        (
            "check_entitlement consume=true, 1,000 customers",
            "check_entitlement",
            json!({"customer": "*", "feature": "tool_calls", "consume": true, "idempotency_key": ""}),
        ),
    ];
    // BENCH_CASE=text keeps the floor and the cases whose name holds the text (for profiling).
    let only = std::env::var("BENCH_CASE").unwrap_or_default();
    let cases: Vec<_> = cases
        .into_iter()
        .enumerate()
        .filter(|(i, c)| *i == 0 || c.0.contains(only.as_str()))
        .map(|(_, c)| c)
        .collect();
    let mut runs: Vec<Vec<Stats>> = cases.iter().map(|_| Vec::new()).collect();
    for _ in 0..ROUNDS {
        for (i, (_, tool, args)) in cases.iter().enumerate() {
            runs[i].push(http_load(app, base, key, era, tool, args.clone()).await);
        }
    }
    let rate = |s: &Stats| s.calls as f64 / s.secs;
    // CPU per call of every round, for its median (in µs).
    let cpu: Vec<Vec<f64>> = runs
        .iter()
        .map(|v| {
            v.iter()
                .map(|s| s.cpu.as_secs_f64() * 1e6 / s.calls as f64)
                .collect()
        })
        .collect();
    let rows: Vec<(&str, Stats)> = cases
        .iter()
        .map(|c| c.0)
        .zip(runs.into_iter().map(|mut v| {
            v.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
            v.swap_remove(v.len() / 2)
        }))
        .collect();
    let floor_rate = rate(&rows[0].1);
    let floor_cpu = cpu_per_call(&cpu[0]);
    for ((name, s), cpu) in rows.iter().zip(&cpu) {
        let per_call = cpu_per_call(cpu);
        let (operations, commit) = s.commits.columns();
        println!(
            "| {name} | {:.0} | {:.2} ms | {:.2} ms | {:.0}% | {per_call:.0} µs | {:.2}× | {operations} | {commit} |",
            rate(s),
            s.p50_us as f64 / 1000.0,
            s.p99_us as f64 / 1000.0,
            100.0 * rate(s) / floor_rate,
            per_call / floor_cpu
        );
    }
}
