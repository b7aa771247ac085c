//! Progress an upstream sends during a call reaches the client whose call it is, under the
//! client's own token, even when the upstream sends it at once (before the gateway's task has
//! registered the call): every one of many concurrent calls gets its progress.

use std::sync::{Arc, Mutex};

use rmcp::model::{CallToolRequestParams, ProgressNotificationParam};
use rmcp::service::NotificationContext;
use rmcp::{ClientHandler, RoleClient};
use serde_json::json;

use super::{acme_on, connect, gateway, options, paid_by, upstream};
use crate::support::Backend;

/// A client that keeps every progress notification it gets.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<ProgressNotificationParam>>>);

impl ClientHandler for Seen {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.0.lock().unwrap().push(params);
    }
}

#[tokio::test]
async fn every_concurrent_call_gets_the_progress_its_upstream_sent_at_once() {
    let (h, _) = acme_on(Backend::Sqlite, "team").await;
    let (url, _) = upstream::start().await;
    let gateway = gateway(&url, options()).await;
    let shared = paid_by(&h, &gateway, "acme").await;
    let seen = Seen::default();
    let client = connect(shared, seen.clone()).await;
    let calls = 40;
    let answers = futures::future::join_all((0..calls).map(|_| {
        // rmcp's client sends a progress token of its own with every call.
        client.call_tool(
            CallToolRequestParams::new("slow")
                .with_arguments(json!({"ms": 30}).as_object().cloned().unwrap_or_default()),
        )
    }))
    .await;
    assert!(
        answers
            .iter()
            .all(|a| a.as_ref().is_ok_and(|r| r.is_error != Some(true))),
        "{answers:?}"
    );
    // The upstream's one notification per call (1 of 2), each under a distinct client token.
    // Notifications reach the client's handler in tasks of their own: a moment for the last.
    for _ in 0..50 {
        if seen.0.lock().unwrap().len() >= calls {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let got = seen.0.lock().unwrap().clone();
    assert_eq!(got.len(), calls, "{got:?}");
    assert!(
        got.iter()
            .all(|p| p.progress == 1.0 && p.total == Some(2.0)),
        "{got:?}"
    );
    let tokens: std::collections::HashSet<_> =
        got.iter().map(|p| p.progress_token.clone()).collect();
    assert_eq!(tokens.len(), calls);
    client.cancel().await.unwrap();
}
