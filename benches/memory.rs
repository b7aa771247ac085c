//! Memory benchmark (`cargo bench --bench memory`): the server's resident memory (RSS, from
//! `/proc`) when idle, at its peak during 1,000 tool calls that each carry a 1 MiB argument
//! (8 at a time, over stdio, tools that refuse the value and tools that take it as far as
//! validation), and again 2 s and 10 s after the last call. The README keeps the figures; the
//! must-hold is that memory comes back within 50 MB of idle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};
use tokio::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_billing-mcp");
const CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/billing.toml");
const CALLS: usize = 1_000;
const MIB: usize = 1 << 20;

/// Calls in flight at once (`BENCH_AT_ONCE`, default 8) and the argument's size in MiB
/// (`BENCH_MIB`, default 1).
fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident set size of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The n-th call: a tool and arguments carrying a 1 MiB value where a caller could put one.
fn call(n: usize) -> (&'static str, Value) {
    let big = "z".repeat(setting("BENCH_MIB", 1) * MIB);
    match n % 5 {
        0 => ("create_customer", json!({ "customer": "c-1", "name": big })),
        1 => ("get_usage", json!({ "customer": big })),
        2 => (
            "record_usage",
            json!({ "customer": "c-1", "meter": "api_calls", "quantity": 1, "idempotency_key": big }),
        ),
        3 => (
            "check_entitlement",
            json!({ "customer": "c-1", "feature": big }),
        ),
        _ => (
            "quote_price",
            json!({ "plan": big, "meter": "api_calls", "quantity": 1 }),
        ),
    }
}

/// How the benchmark reaches the server.
enum Caller {
    Stdio(rmcp::service::RunningService<rmcp::RoleClient, ()>),
    Http {
        http: reqwest::Client,
        url: String,
        key: String,
    },
}

impl Caller {
    /// Call a tool; whether it answered with a tool error.
    async fn call(&self, tool: &str, args: Value) -> bool {
        match self {
            Caller::Stdio(client) => {
                let params = CallToolRequestParams::new(tool.to_string())
                    .with_arguments(args.as_object().cloned().unwrap());
                client.call_tool(params).await.unwrap().is_error == Some(true)
            }
            Caller::Http { http, url, key } => {
                let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": args,
                    "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}});
                let answer: Value = http
                    .post(url)
                    .header("content-type", "application/json")
                    .header("accept", "application/json, text/event-stream")
                    .header("mcp-protocol-version", "2026-07-28")
                    .header("mcp-method", "tools/call")
                    .header("mcp-name", tool)
                    .bearer_auth(key)
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                answer["result"]["isError"] == true
            }
        }
    }
}

/// Start the server on `transport` ("stdio" or "http"): its pid and a caller.
async fn start(transport: &str, db: &str) -> (u32, Caller, Option<tokio::process::Child>) {
    if transport == "stdio" {
        let mut command = Command::new(BINARY);
        command
            .args([
                "serve",
                "--stdio",
                "--database-url",
                db,
                "--catalog",
                CATALOG,
            ])
            .env("RUST_LOG", "warn")
            .stderr(std::process::Stdio::null());
        let child = TokioChildProcess::new(command).unwrap();
        let pid = child.id().unwrap();
        return (pid, Caller::Stdio(().serve(child).await.unwrap()), None);
    }
    let key = std::process::Command::new(BINARY)
        .args(["keys", "create", "--role", "admin", "--database-url", db])
        .output()
        .unwrap();
    let key = String::from_utf8(key.stdout)
        .unwrap()
        .trim()
        .lines()
        .last()
        .unwrap()
        .to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(BINARY)
        .args([
            "serve",
            "--http",
            &addr,
            "--database-url",
            db,
            "--catalog",
            CATALOG,
        ])
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let caller = Caller::Http {
        http,
        url: format!("http://{addr}/mcp"),
        key,
    };
    (pid, caller, Some(child))
}

async fn measure(transport: &str) {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("bench.db").display());
    let (pid, caller, _child) = start(transport, &db).await;
    let caller = Arc::new(caller);
    caller
        .call("create_customer", json!({ "customer": "c-1", "name": "C" }))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = rss_kib(pid);

    let peak = Arc::new(AtomicU64::new(idle));
    let watcher = {
        let peak = Arc::clone(&peak);
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let started = std::time::Instant::now();
    let at_once = setting("BENCH_AT_ONCE", 8);
    let mut workers = Vec::new();
    for w in 0..at_once {
        let caller = Arc::clone(&caller);
        workers.push(tokio::spawn(async move {
            let mut errors = 0;
            for n in (w..CALLS).step_by(at_once) {
                let (tool, args) = call(n);
                errors += usize::from(caller.call(tool, args).await);
            }
            errors
        }));
    }
    let mut errors = 0;
    for w in workers {
        errors += w.await.unwrap();
    }
    let took = started.elapsed();
    watcher.abort();
    let after_0 = rss_kib(pid);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after_2 = rss_kib(pid);
    tokio::time::sleep(Duration::from_secs(8)).await;
    let after_10 = rss_kib(pid);

    // Over HTTP, the client's connections close too (on stdio that would end the server).
    let closed = if transport == "http" {
        drop(caller);
        tokio::time::sleep(Duration::from_secs(2)).await;
        Some(rss_kib(pid))
    } else {
        None
    };
    let mb = |kib: u64| format!("{:>6}", kib_to_mb(kib));
    println!();
    let mib = setting("BENCH_MIB", 1);
    println!(
        "{transport}: {CALLS} calls with a {mib} MiB argument, {at_once} at a time, in {took:.1?} ({errors} answered as tool errors)"
    );
    println!("| RSS | MB |");
    println!("|---|---:|");
    println!("| idle | {} |", mb(idle));
    println!(
        "| peak during the calls | {} |",
        mb(peak.load(Ordering::Relaxed))
    );
    println!("| right after | {} |", mb(after_0));
    println!("| 2 s after | {} |", mb(after_2));
    println!("| 10 s after | {} |", mb(after_10));
    println!(
        "| 10 s after, above idle | {} |",
        mb(after_10.saturating_sub(idle))
    );
    if let Some(closed) = closed {
        println!("| 2 s after the connections closed | {} |", mb(closed));
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    measure("stdio").await;
    measure("http").await;
}

/// KiB to MB with one decimal, in integers: a figure to print, not money.
fn kib_to_mb(kib: u64) -> DecimalMb {
    DecimalMb(kib * 1024 / 100_000)
}

struct DecimalMb(u64);

impl std::fmt::Display for DecimalMb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = format!("{}.{}", self.0 / 10, self.0 % 10);
        f.pad(&text)
    }
}
