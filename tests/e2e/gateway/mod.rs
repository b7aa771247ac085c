//! `billing-mcp gateway`: an upstream's tools served with every call priced, held, forwarded and
//! settled, through MCP clients on every backend and from two gateway processes at once.

mod changes;
mod charge_failed;
mod crash;
mod passthrough;
mod progress;
mod relay;
mod restart;
mod retries;
mod upstream;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use billing_mcp::access::Role;
use billing_mcp::mcp::Identity;
use billing_mcp::mcp::gateway::{Gateway, Locked, Options, UpstreamSpec};
use billing_mcp::service::keys;
use serde_json::json;

use crate::support::{Client, Harness, backends};

const CATALOG: &str = include_str!("../../fixtures/gateway.toml");

fn options() -> Options {
    Options {
        prefix: false,
        locked: Locked::Show,
        describe_prices: false,
        customer: None,
        timeout: Duration::from_secs(10),
    }
}

/// A ledger on `backend` with the gateway tests' catalog and customer `acme` on `plan`, and the
/// owner's client.
async fn acme_on(backend: crate::support::Backend, plan: &str) -> (Harness, Client) {
    acme_with(backend, CATALOG, plan).await
}

/// [`acme_on`] with another catalog.
async fn acme_with(
    backend: crate::support::Backend,
    catalog: &str,
    plan: &str,
) -> (Harness, Client) {
    let h = Harness::with_catalog(backend, catalog).await;
    let owner = h.client().await;
    owner
        .ok("create_customer", json!({"customer": "acme", "plan": plan}))
        .await;
    (h, owner)
}

async fn gateway(url: &str, options: Options) -> Arc<Gateway> {
    let spec = UpstreamSpec::parse(&format!("up={url}")).unwrap();
    Arc::new(Gateway::connect(&[spec], options, &[]).await.unwrap())
}

/// A client whose calls are paid by `customer`'s key, through `gateway` on `h`.
async fn customer_client(h: &Harness, gateway: &Arc<Gateway>, customer: &str) -> Client {
    h.client_of(paid_by(h, gateway, customer).await).await
}

/// A client paid by `customer`'s key, through a gateway to `url` that gives up on a call after
/// 300 ms.
async fn impatient_client(h: &Harness, url: &str, customer: &str) -> Client {
    let options = Options {
        timeout: Duration::from_millis(300),
        ..options()
    };
    customer_client(h, &gateway(url, options).await, customer).await
}

/// What serves a client whose calls are paid by `customer`'s key, through `gateway` on `h`.
async fn paid_by(
    h: &Harness,
    gateway: &Arc<Gateway>,
    customer: &str,
) -> billing_mcp::transport::Shared {
    // A rate no test reaches: these tests count calls, not their pace.
    let key = keys::NewKey {
        rate_per_minute: Some(1_000_000),
        burst: Some(10_000),
        ..keys::NewKey::new(Role::Customer, Some(customer.to_string()))
    };
    let secret = keys::create(&h.app, key).await.unwrap().secret.unwrap();
    billing_mcp::transport::Shared {
        identity: Arc::new(Identity::Key(secret.into())),
        gateway: Some(Arc::clone(gateway)),
        registry: Arc::new(billing_mcp::mcp::tools::all().only(&[])),
        ..h.shared()
    }
}

/// A client with its own `handler` (to see what the server sends it), served by `shared`.
async fn connect<H: rmcp::ClientHandler>(
    shared: billing_mcp::transport::Shared,
    handler: H,
) -> rmcp::service::RunningService<rmcp::RoleClient, H> {
    use rmcp::ServiceExt;
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    let server = shared.server();
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    handler.serve(client_io).await.unwrap()
}

async fn balance(owner: &Client, customer: &str) -> u64 {
    owner
        .ok("get_credit_balance", json!({"customer": customer}))
        .await["balance"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn a_thousand_credits_at_five_a_call_let_exactly_two_hundred_of_three_hundred_calls_through_two_gateways()
 {
    for backend in backends() {
        let (url, counts) = upstream::start().await;
        let (h, owner) = acme_on(backend, "credits").await;
        let other = h.second_process().await;
        owner
            .ok(
                "grant_credits",
                json!({"customer": "acme", "credits": 1000}),
            )
            .await;
        let (g1, g2) = (
            gateway(&url, options()).await,
            gateway(&url, options()).await,
        );
        let (c1, c2) = (
            customer_client(&h, &g1, "acme").await,
            customer_client(&other, &g2, "acme").await,
        );
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(300));
        let mut callers = Vec::new();
        for i in 0..64 {
            let c = if i % 2 == 0 { c1.clone() } else { c2.clone() };
            let calls = Arc::clone(&calls);
            callers.push(tokio::spawn(async move {
                let (mut ok, mut denied) = (0, 0);
                while calls
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    match c.call("render", json!({"text": "x"})).await {
                        Ok(_) => ok += 1,
                        Err(e) => {
                            assert_eq!(e["code"], "insufficient_credits", "{e}");
                            denied += 1;
                        }
                    }
                }
                (ok, denied)
            }));
        }
        let (mut ok, mut denied) = (0, 0);
        for c in callers {
            let (o, d) = c.await.unwrap();
            (ok, denied) = (ok + o, denied + d);
        }
        assert_eq!((ok, denied), (200, 100), "{backend:?}");
        assert_eq!(
            counts.completed.load(Ordering::SeqCst),
            200,
            "{backend:?}: forwarded"
        );
        assert_eq!(balance(&owner, "acme").await, 0, "{backend:?}");
    }
}

#[tokio::test]
async fn a_hundred_call_quota_forwards_exactly_a_hundred_of_three_hundred_concurrent_calls() {
    for backend in backends() {
        let (url, counts) = upstream::start().await;
        let (h, owner) = acme_on(backend, "team").await;
        let g = gateway(&url, options()).await;
        let c = customer_client(&h, &g, "acme").await;
        let mut tasks = Vec::new();
        for _ in 0..300 {
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                c.call("slow", json!({"ms": 20})).await
            }));
        }
        let mut denials = Vec::new();
        for t in tasks {
            if let Err(e) = t.await.unwrap() {
                denials.push(e);
            }
        }
        assert_eq!(denials.len(), 200, "{backend:?}");
        assert_eq!(
            counts.completed.load(Ordering::SeqCst),
            100,
            "{backend:?}: the upstream ran exactly 100"
        );
        let d = &denials[0];
        assert_eq!(
            (d["code"].as_str(), d["limit"].as_u64()),
            (Some("quota_exceeded"), Some(100)),
            "{d}"
        );
        assert!(
            d["resets_at"].is_string()
                && d["upgrade_url"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("https://example.com/upgrade")),
            "{d}"
        );
        let usage = owner
            .ok(
                "check_entitlement",
                json!({"customer": "acme", "feature": "tool_calls"}),
            )
            .await;
        assert_eq!(usage["used"], 100, "{usage}");
    }
}

#[tokio::test]
async fn upstream_errors_timeouts_and_cancellations_charge_nothing() {
    for backend in backends() {
        let (url, counts) = upstream::start().await;
        let (h, owner) = acme_on(backend, "credits").await;
        owner
            .ok("grant_credits", json!({"customer": "acme", "credits": 10}))
            .await;
        let c = impatient_client(&h, &url, "acme").await;
        // An error result passes through as it is, and is not charged.
        let r = c.raw("fail", json!({})).await;
        assert_eq!(r.is_error, Some(true));
        assert_eq!(r.content[0].as_text().unwrap().text, "upstream failure");
        // A call past the timeout is cancelled upstream and not charged.
        assert!(
            c.inner
                .call_tool(
                    rmcp::model::CallToolRequestParams::new("slow")
                        .with_arguments(json!({"ms": 5000}).as_object().unwrap().clone())
                )
                .await
                .is_err()
        );
        // A call the client cancels is cancelled upstream and not charged.
        let request =
            rmcp::model::ClientRequest::CallToolRequest(rmcp::model::CallToolRequest::new(
                rmcp::model::CallToolRequestParams::new("slow")
                    .with_arguments(json!({"ms": 5000}).as_object().unwrap().clone()),
            ));
        let handle = c
            .inner
            .peer()
            .send_cancellable_request(request, Default::default())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        handle
            .cancel(Some("user pressed stop".into()))
            .await
            .unwrap();
        let mut waited = 0;
        while counts.cancelled.load(Ordering::SeqCst) < 2 && waited < 50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            waited += 1;
        }
        assert_eq!(
            counts.cancelled.load(Ordering::SeqCst),
            2,
            "{backend:?}: the timeout and the cancellation reached the upstream"
        );
        // Holds end a moment after the client stops waiting.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            balance(&owner, "acme").await,
            10,
            "{backend:?}: nothing was charged"
        );
        let check = owner.ok("check_entitlement", json!({"customer": "acme", "feature": "tool_calls", "tool": "render", "quantity": 2})).await;
        assert_eq!(
            check["allowed"], true,
            "{backend:?}: no hold is left standing: {check}"
        );
        // A success is charged once.
        c.ok("render", json!({"text": "x"})).await;
        assert_eq!(balance(&owner, "acme").await, 5);
    }
}
