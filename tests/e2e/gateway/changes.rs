//! An upstream's tool list changing while clients are connected: the gateway reads it again and
//! tells its clients (`notifications/tools/list_changed`), who then list the new tool; a tool
//! added under a billing tool's name is not served, and the name keeps calling the billing tool.

use std::sync::Arc;
use std::time::Duration;

use billing_mcp::access::Role;
use billing_mcp::mcp::Identity;
use billing_mcp::mcp::gateway::{Gateway, UpstreamSpec};
use billing_mcp::service::keys;
use rmcp::model::CallToolRequestParams;
use rmcp::service::NotificationContext;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::json;
use tokio::sync::Notify;

use super::{acme_on, connect, options, upstream};
use crate::support::{Backend, Harness};
use billing_mcp::mcp::gateway::Options;

/// A client that notes every tool-list change it is told of.
#[derive(Clone, Default)]
struct Watch(Arc<Notify>);

impl ClientHandler for Watch {
    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.0.notify_one();
    }
}

fn names(tools: &[rmcp::model::Tool]) -> Vec<String> {
    tools.iter().map(|t| t.name.to_string()).collect()
}

/// A gateway before a new test upstream, with `get_usage` served beside, and a client of
/// customer `acme` that watches its tool list.
async fn watched(
    options: Options,
) -> (
    Arc<Gateway>,
    rmcp::service::RunningService<RoleClient, Watch>,
    Watch,
    String,
    Harness,
) {
    let (h, _) = acme_on(Backend::Sqlite, "team").await;
    let (url, _) = upstream::start().await;
    let spec = UpstreamSpec::parse(&format!("up={url}")).unwrap();
    let gateway = Arc::new(
        Gateway::connect(&[spec], options, &["get_usage".to_string()])
            .await
            .unwrap(),
    );
    let secret = keys::create(
        &h.app,
        keys::NewKey::new(Role::Customer, Some("acme".into())),
    )
    .await
    .unwrap()
    .secret
    .unwrap();
    let shared = billing_mcp::transport::Shared {
        identity: Arc::new(Identity::Key(secret.into())),
        gateway: Some(Arc::clone(&gateway)),
        registry: Arc::new(billing_mcp::mcp::tools::all().only(&["get_usage".to_string()])),
        ..h.shared()
    };
    let watch = Watch::default();
    let client = connect(shared, watch.clone()).await;
    (gateway, client, watch, url, h)
}

/// The upstream's `grow` call: a tool named `name`, and lists asked for within `stall_ms`
/// never answered.
fn grow(name: &str, stall_ms: u64) -> CallToolRequestParams {
    CallToolRequestParams::new("grow").with_arguments(
        json!({"name": name, "stall_ms": stall_ms})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    )
}

#[tokio::test]
async fn a_tool_an_upstream_adds_reaches_connected_clients_unless_its_name_is_taken() {
    let (gateway, client, watch, url, _h) = watched(options()).await;
    let info = client.peer_info().unwrap();
    assert_eq!(
        info.capabilities
            .tools
            .as_ref()
            .and_then(|t| t.list_changed),
        Some(true),
        "the gateway says its tool list can change"
    );
    let before = names(&client.list_all_tools().await.unwrap());
    assert!(!before.contains(&"extra".to_string()));

    // The upstream grows a tool, told by a client of its own.
    let direct = ().serve(StreamableHttpClientTransport::from_uri(url.as_str())).await.unwrap();
    direct.call_tool(grow("extra", 0)).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), watch.0.notified())
        .await
        .expect("the gateway's client is told the tool list changed");
    let after = names(&client.list_all_tools().await.unwrap());
    assert!(after.contains(&"extra".to_string()), "{after:?}");
    assert_eq!(after.len(), before.len() + 1);

    // A tool under a billing tool's name is not served: the name still calls the billing tool.
    direct.call_tool(grow("get_usage", 0)).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), watch.0.notified())
        .await
        .expect("told again");
    let listed = names(&client.list_all_tools().await.unwrap());
    assert_eq!(
        listed.iter().filter(|n| *n == "get_usage").count(),
        1,
        "{listed:?}"
    );
    assert!(!gateway.serves("get_usage"));
    let usage = client
        .call_tool(CallToolRequestParams::new("get_usage"))
        .await
        .unwrap();
    assert_ne!(usage.is_error, Some(true), "{usage:?}");
    assert!(
        usage.structured_content.is_some(),
        "the billing tool answered"
    );
    direct.cancel().await.unwrap();
}

#[tokio::test]
async fn an_upstream_that_never_answers_a_list_holds_up_no_later_reading() {
    // Each reading of a list is given the gateway's upstream timeout, here one second.
    let (_gateway, client, watch, url, _h) = watched(Options {
        timeout: Duration::from_secs(1),
        ..options()
    })
    .await;
    let direct = ().serve(StreamableHttpClientTransport::from_uri(url.as_str())).await.unwrap();
    // The readings of this change are never answered...
    direct.call_tool(grow("stalled", 300)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    // ...and the readings after them still run, and see both tools.
    direct.call_tool(grow("extra", 0)).await.unwrap();
    let listed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            watch.0.notified().await;
            let listed = names(&client.list_all_tools().await.unwrap());
            if listed.contains(&"extra".to_string()) {
                return listed;
            }
        }
    })
    .await
    .expect("the clients are told of the later change although a reading never ended");
    assert!(listed.contains(&"stalled".to_string()), "{listed:?}");
    direct.cancel().await.unwrap();
}
