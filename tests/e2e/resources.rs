//! Resources and completions through a real MCP client: the catalog and one plan read as JSON
//! (what list_plans answers), an unknown resource refused naming the known ones, the dashboard's
//! MCP App (for the keys that may call get_dashboard), and completions that offer a customer key
//! only its own customer.

use billing_mcp::access::Role;
use rmcp::model::{ArgumentInfo, CompleteRequestParams, ReadResourceRequestParams, Reference};
use serde_json::{Value, json};

use crate::support::{A, B, Backend, Harness};

fn text_of(result: &rmcp::model::ReadResourceResult) -> Value {
    match &result.contents[0] {
        rmcp::model::ResourceContents::TextResourceContents { text, .. } => {
            serde_json::from_str(text).unwrap()
        }
        other => panic!("not text: {other:?}"),
    }
}

#[tokio::test]
async fn the_catalog_reads_as_list_plans_answers_it() {
    let h = Harness::new(Backend::Sqlite).await;
    let c = h.client().await;
    let listed = c.inner.list_all_resources().await.unwrap();
    let uris: Vec<&str> = listed.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(uris, ["billing://catalog", "ui://billing-mcp/dashboard"]);
    let templates = c.inner.list_all_resource_templates().await.unwrap();
    assert_eq!(templates[0].uri_template, "billing://plans/{plan}");

    let catalog = c
        .inner
        .read_resource(ReadResourceRequestParams::new("billing://catalog"))
        .await
        .unwrap();
    let plans = c.ok("list_plans", json!({})).await;
    assert_eq!(text_of(&catalog), plans);
    let starter = c
        .inner
        .read_resource(ReadResourceRequestParams::new("billing://plans/starter"))
        .await
        .unwrap();
    let expected = plans["plans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["plan"] == "starter")
        .unwrap();
    assert_eq!(&text_of(&starter), expected);

    let unknown = c
        .inner
        .read_resource(ReadResourceRequestParams::new("billing://plans/nope"))
        .await
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("billing://plans/starter"), "{unknown}");
}

#[tokio::test]
async fn get_dashboard_names_its_mcp_app_which_only_its_callers_are_offered() {
    let h = Harness::new(Backend::Sqlite).await;
    let server = crate::support::http::Server::start(&h).await;
    let admin = server.client(&h.key(Role::Admin, None).await).await;
    let tools = admin.inner.list_all_tools().await.unwrap();
    let dashboard = tools.iter().find(|t| t.name == "get_dashboard").unwrap();
    let meta = serde_json::to_value(&dashboard.meta).unwrap();
    assert_eq!(meta["ui"]["resourceUri"], "ui://billing-mcp/dashboard");
    assert_eq!(meta["ui/resourceUri"], "ui://billing-mcp/dashboard");
    let read = admin
        .inner
        .read_resource(ReadResourceRequestParams::new("ui://billing-mcp/dashboard"))
        .await
        .unwrap();
    let contents = serde_json::to_value(&read.contents).unwrap();
    assert_eq!(contents[0]["mimeType"], "text/html;profile=mcp-app");
    assert_eq!(
        contents[0]["_meta"]["ui"]["csp"],
        json!({"connectDomains": [], "resourceDomains": []}),
        "the app reaches no domain"
    );
    let html = contents[0]["text"].as_str().unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("BillingDashboard"));

    admin.ok("create_customer", json!({"customer": A})).await;
    let customer = server.client(&h.key(Role::Customer, Some(A)).await).await;
    let listed = customer.inner.list_all_resources().await.unwrap();
    assert!(
        listed.iter().all(|r| r.uri != "ui://billing-mcp/dashboard"),
        "a customer key cannot call get_dashboard, so it is not offered its app"
    );
    let refused = customer
        .inner
        .read_resource(ReadResourceRequestParams::new("ui://billing-mcp/dashboard"))
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("no resource"), "{refused}");
}

#[tokio::test]
async fn completions_offer_a_customer_key_only_its_own_customer() {
    let h = Harness::new(Backend::Sqlite).await;
    let admin = h.client().await;
    for id in [A, B] {
        admin.ok("create_customer", json!({"customer": id})).await;
    }
    let ask = |name: &str, value: &str| {
        CompleteRequestParams::new(
            Reference::for_prompt("diagnose_denial"),
            ArgumentInfo::new(name, value),
        )
    };
    let all = admin
        .inner
        .complete(ask("customer", "cust_"))
        .await
        .unwrap();
    assert_eq!(all.completion.values, vec![A.to_string(), B.to_string()]);
    let features = admin.inner.complete(ask("feature", "tool")).await.unwrap();
    assert_eq!(features.completion.values, vec!["tool_calls".to_string()]);

    let key = h.key(Role::Customer, Some(A)).await;
    let customer = h.client_as(&key).await;
    let own = customer
        .inner
        .complete(ask("customer", "cust_"))
        .await
        .unwrap();
    assert_eq!(
        own.completion.values,
        vec![A.to_string()],
        "never another customer's id"
    );
    let none = customer
        .inner
        .complete(ask("customer", "cust_b"))
        .await
        .unwrap();
    assert!(none.completion.values.is_empty());
}
