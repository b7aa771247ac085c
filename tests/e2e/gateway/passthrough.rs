//! What a client of the gateway sees: the upstream's tools, prompts and resources as the upstream
//! serves them; the key, never the arguments, says who pays; free and locked tools; prefixed
//! names and described prices.

use serde_json::{Value, json};

use super::{CATALOG, balance, customer_client, gateway, options, upstream};
use crate::support::Harness;
use billing_mcp::mcp::gateway::{Locked, Options};

#[tokio::test]
async fn tools_pass_through_unchanged_and_a_customer_pays_only_for_itself() {
    let (url, _) = upstream::start().await;
    let h = Harness::with_catalog(crate::support::Backend::Sqlite, CATALOG).await;
    let owner = h.client().await;
    for (c, plan) in [("acme", "credits"), ("other", "credits")] {
        owner
            .ok("create_customer", json!({"customer": c, "plan": plan}))
            .await;
        owner
            .ok("grant_credits", json!({"customer": c, "credits": 100}))
            .await;
    }
    let g = gateway(&url, options()).await;
    let c = customer_client(&h, &g, "acme").await;
    let listed = c.inner.list_all_tools().await.unwrap();
    let as_json = |t: &rmcp::model::Tool| serde_json::to_value(t).unwrap();
    for tool in upstream::tools() {
        let served = listed
            .iter()
            .find(|t| t.name == tool.name)
            .unwrap_or_else(|| panic!("{} not listed", tool.name));
        assert_eq!(
            as_json(served),
            as_json(&tool),
            "schemas, annotations and description pass through"
        );
    }
    // The upstream's prompts and resources are served too, free.
    let prompts = c.inner.list_all_prompts().await.unwrap();
    assert!(prompts.iter().any(|p| p.name == "greet"), "{prompts:?}");
    let greet = c
        .inner
        .get_prompt(
            rmcp::model::GetPromptRequestParams::new("greet")
                .with_arguments(json!({"name": "Ada"}).as_object().unwrap().clone()),
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&greet.messages[0]).unwrap()["content"]["text"],
        "Hello, Ada!"
    );
    let resources = c.inner.list_all_resources().await.unwrap();
    assert!(
        resources.iter().any(|r| r.uri == "test://readme"),
        "{resources:?}"
    );
    let read = c
        .inner
        .read_resource(rmcp::model::ReadResourceRequestParams::new("test://readme"))
        .await
        .unwrap();
    assert!(serde_json::to_string(&read).unwrap().contains("read me"));
    assert_eq!(
        balance(&owner, "acme").await,
        100,
        "prompts and resources cost nothing"
    );
    // Arguments naming another customer change nothing: the key says who pays.
    c.ok("render", json!({"text": "x", "customer": "other"}))
        .await;
    assert_eq!(
        (
            balance(&owner, "acme").await,
            balance(&owner, "other").await
        ),
        (95, 100)
    );
    // A free tool costs nothing; a tool of a feature the plan lacks is refused with the upgrade.
    c.ok("ping", json!({})).await;
    assert_eq!(balance(&owner, "acme").await, 95);
    let (code, _) = c.err("add", json!({"a": 1, "b": 2})).await;
    assert_eq!(code, "feature_not_in_plan");
    // Prices described, names prefixed, locked tools hidden.
    let g = gateway(
        &url,
        Options {
            prefix: true,
            describe_prices: true,
            locked: Locked::Hide,
            ..options()
        },
    )
    .await;
    let c = customer_client(&h, &g, "acme").await;
    let listed: Vec<Value> = c
        .inner
        .list_all_tools()
        .await
        .unwrap()
        .iter()
        .map(as_json)
        .collect();
    let names: Vec<&str> = listed.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "up_echo",
            "up_slow",
            "up_fail",
            "up_refuse",
            "up_crash",
            "up_render",
            "up_ping",
            "up_ask",
            "up_grow"
        ]
    );
    let render = &listed[names.iter().position(|n| *n == "up_render").unwrap()];
    assert_eq!(
        render["description"],
        "Render (5 credits).\n\nBilling: each call costs 5 credits."
    );
    let r = c.ok("up_render", json!({"text": "x"})).await;
    assert_eq!(r, Value::Null, "no structured content: {r}");
    assert_eq!(balance(&owner, "acme").await, 90);
}
