//! The gateway binary killed with 50 calls in flight: after the hold TTL every hold has expired,
//! the credits they held are whole again, and nothing is charged for calls that never answered.

use std::sync::atomic::Ordering;
use std::time::Duration;

use billing_mcp::access::Role;
use billing_mcp::service::keys;
use serde_json::json;

use super::upstream;
use crate::support::http::tools_call;
use crate::support::{BINARY, Harness, backends};

#[tokio::test]
async fn a_killed_gateways_holds_expire_and_charge_nothing() {
    for backend in backends() {
        let (url, counts) = upstream::start().await;
        let dir = tempfile::tempdir().unwrap();
        let catalog = dir.path().join("billing.toml");
        std::fs::write(
            &catalog,
            super::CATALOG.replace("hold_ttl_seconds = 60", "hold_ttl_seconds = 3"),
        )
        .unwrap();
        let h = Harness::with_catalog(backend, &std::fs::read_to_string(&catalog).unwrap()).await;
        let owner = h.client().await;
        owner
            .ok(
                "create_customer",
                json!({"customer": "acme", "plan": "credits"}),
            )
            .await;
        owner
            .ok(
                "grant_credits",
                json!({"customer": "acme", "credits": 1000}),
            )
            .await;
        let key = keys::NewKey {
            rate_per_minute: Some(100_000),
            burst: Some(1_000),
            ..keys::NewKey::new(Role::Customer, Some("acme".into()))
        };
        let secret = keys::create(&h.app, key).await.unwrap().secret.unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut gateway = tokio::process::Command::new(BINARY)
            .args([
                "gateway",
                "--http",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                &h._db.url,
            ])
            .args([
                "--catalog",
                catalog.to_str().unwrap(),
                "--upstream",
                &format!("up={url}"),
                "--upstream-timeout",
                "2",
            ])
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if crate::support::http_get(format!("{base}/healthz"))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut calls = Vec::new();
        for _ in 0..50 {
            let call = tools_call(&base, "slow", json!({"ms": 60_000})).bearer_auth(secret.clone());
            calls.push(tokio::spawn(async move { call.send().await }));
        }
        for _ in 0..200 {
            if counts.started.load(Ordering::SeqCst) == 50 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            counts.started.load(Ordering::SeqCst),
            50,
            "{backend:?}: 50 calls in flight"
        );
        let now = || {
            i64::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis(),
            )
            .unwrap()
        };
        // 50 holds of 1 credit stand: 951 more credits do not fit.
        h.set_now(now());
        let held = owner.ok("check_entitlement", json!({"customer": "acme", "feature": "tool_calls", "tool": "slow", "quantity": 951})).await;
        assert_eq!(
            held["reason"], "insufficient_credits",
            "{backend:?}: {held}"
        );
        gateway.start_kill().unwrap();
        gateway.wait().await.unwrap();
        // The calls in flight lose their connection; none got an answer.
        for c in calls {
            assert!(c.await.unwrap().is_err(), "{backend:?}: a call answered");
        }
        // After the TTL every hold has expired: all 1,000 credits are free, none was burned.
        tokio::time::sleep(Duration::from_millis(3_100)).await;
        h.set_now(now());
        let free = owner.ok("check_entitlement", json!({"customer": "acme", "feature": "tool_calls", "tool": "slow", "quantity": 1000})).await;
        assert_eq!(free["allowed"], true, "{backend:?}: {free}");
        let balance = owner
            .ok("get_credit_balance", json!({"customer": "acme"}))
            .await;
        assert_eq!(balance["balance"], 1000, "{backend:?}");
        let usage = owner.ok("get_usage", json!({"customer": "acme"})).await;
        assert_eq!(
            usage["events"].as_array().map(Vec::len),
            Some(0),
            "{backend:?}: {usage}"
        );
    }
}
