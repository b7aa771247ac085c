//! A child upstream that dies (kill -9) is started again: calls while it is down fail at once and
//! charge nothing, later calls reach the new child, and only the answered calls are charged. A
//! child that never answers `initialize` fails the gateway's start and is stopped.

use std::time::Duration;

use billing_mcp::mcp::gateway::{Gateway, Target, UpstreamSpec};
use rmcp::model::CallToolRequestParams;
use serde_json::json;

use super::{acme_on, customer_client, options};
use crate::support::{BINARY, Backend};

/// The process ids whose command line holds `marker`.
fn pids_with(marker: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        if std::fs::read(entry.path().join("cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
        {
            out.push(pid);
        }
    }
    out
}

#[tokio::test]
async fn a_child_upstream_killed_is_started_again_and_its_failed_calls_charge_nothing() {
    let (h, owner) = acme_on(Backend::Sqlite, "team").await;
    // The child is this project's own server on stdio, with a ledger of its own whose path
    // tells its process apart.
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("upstream.db");
    let marker = marker.to_str().unwrap().to_string();
    let spec = UpstreamSpec {
        name: "up".into(),
        target: Target::Command {
            program: BINARY.into(),
            args: vec![
                "serve".into(),
                "--stdio".into(),
                "--catalog".into(),
                "builtin:example".into(),
                "--database-url".into(),
                format!("sqlite://{marker}?mode=rwc"),
            ],
        },
        headers: Vec::new(),
        env: Vec::new(),
    };
    let g = std::sync::Arc::new(Gateway::connect(&[spec], options(), &[]).await.unwrap());
    let c = customer_client(&h, &g, "acme").await;
    let call = || async {
        let args = json!({}).as_object().cloned().unwrap();
        c.inner
            .call_tool(CallToolRequestParams::new("list_plans").with_arguments(args))
            .await
    };
    let first = call().await.expect("the first call reaches the child");
    assert_ne!(first.is_error, Some(true), "{first:?}");
    let before = pids_with(&marker);
    assert_eq!(before.len(), 1, "one child process: {before:?}");
    std::process::Command::new("kill")
        .args(["-9", &before[0].to_string()])
        .status()
        .unwrap();

    // Calls fail while the child is down, and go through once it is started again.
    let mut failed = 0;
    let mut answered = 1;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        match call().await {
            Ok(r) if r.is_error != Some(true) => {
                answered += 1;
                break;
            }
            Ok(r) => panic!("a refusal while the upstream restarts: {r:?}"),
            Err(e) => {
                assert!(e.to_string().contains("upstream `up`"), "{e}");
                failed += 1;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the child was not started again"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = pids_with(&marker);
    assert_eq!(after.len(), 1, "one child again: {after:?}");
    assert_ne!(after, before, "a new process");
    for _ in 0..3 {
        let r = call().await.expect("calls reach the new child");
        assert_ne!(r.is_error, Some(true), "{r:?}");
        answered += 1;
    }
    let usage = owner
        .ok(
            "check_entitlement",
            json!({"customer": "acme", "feature": "tool_calls"}),
        )
        .await;
    assert_eq!(
        usage["used"], answered,
        "only answered calls are charged ({failed} failed): {usage}"
    );
}

#[tokio::test]
async fn a_child_that_never_answers_initialize_fails_the_start_and_is_stopped() {
    // `sleep` reads stdin never: it stands for an upstream that hangs before `initialize`. Its
    // argument carries this process's id, so another run of the tests on the machine is not seen.
    let marker = format!("617.{}", std::process::id());
    let spec = UpstreamSpec {
        name: "mute".into(),
        target: Target::Command {
            program: "sleep".into(),
            args: vec![marker.clone()],
        },
        headers: Vec::new(),
        env: Vec::new(),
    };
    let specs = [spec];
    let start = Gateway::connect(&specs, options(), &[]);
    let refused = tokio::time::timeout(Duration::from_secs(60), start)
        .await
        .expect("the start gives up within its 30 s")
        .err();
    let message = refused.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("`mute` did not answer initialize within 30s"),
        "{message}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let left: Vec<u32> = pids_with(&marker)
        .into_iter()
        .filter(|p| *p != std::process::id())
        .collect();
    assert!(left.is_empty(), "the child is stopped: {left:?}");
}
