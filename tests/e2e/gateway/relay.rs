//! An upstream's elicitation during a call reaches the client whose call it is while several
//! clients' calls are in flight on one HTTP upstream: each call goes to a session of its own
//! while one is free, so the request is told apart by the session it came on, and no client is
//! shown another's.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult,
    ElicitationAction, Implementation,
};
use rmcp::service::RequestContext;
use rmcp::{ClientHandler, ErrorData, RoleClient};
use serde_json::json;

use super::{acme_on, connect, gateway, options, paid_by, upstream};
use crate::support::Backend;

/// A client that answers each elicitation with its own name after a moment (so every client's
/// call is in flight at once), counting them.
#[derive(Clone)]
struct Named(&'static str, Arc<AtomicU64>);

impl ClientHandler for Named {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::builder().enable_elicitation().build(),
            Implementation::new(self.0, "1"),
        )
    }

    async fn create_elicitation(
        &self,
        _request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        self.1.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(ElicitResult::new(ElicitationAction::Accept).with_content(json!({"name": self.0})))
    }
}

#[tokio::test]
async fn each_of_several_callers_answers_the_elicitation_of_its_own_call() {
    let (h, _) = acme_on(Backend::Sqlite, "team").await;
    let (url, _) = upstream::start().await;
    let gateway = gateway(&url, options()).await;
    let mut clients = Vec::new();
    for name in ["ada", "bob", "cyd", "dee"] {
        let asked = Arc::new(AtomicU64::new(0));
        let shared = paid_by(&h, &gateway, "acme").await;
        let client = connect(shared, Named(name, Arc::clone(&asked))).await;
        clients.push((name, asked, client));
    }
    let answers = futures::future::join_all(
        clients
            .iter()
            .map(|(_, _, c)| c.call_tool(CallToolRequestParams::new("ask"))),
    )
    .await;
    for ((name, asked, _), answer) in clients.iter().zip(answers) {
        let answer = answer.unwrap();
        assert_ne!(answer.is_error, Some(true), "{name}: {answer:?}");
        assert_eq!(answer.content[0].as_text().unwrap().text, *name);
        assert_eq!(asked.load(Ordering::SeqCst), 1, "{name}: asked once");
    }
}
