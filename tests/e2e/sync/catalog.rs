//! `sync_catalog`: the example catalog planned, applied exactly and then with nothing to do; a
//! changed price replaced and a removed plan archived; progress reported step by step.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequestParams, NumberOrString, ProgressNotificationParam, ProgressToken,
    RequestMetaObject,
};
use rmcp::service::NotificationContext;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};

use super::{meter_id, posts};
use crate::support::stripe::{StripeServer, setup};
use crate::support::{Backend, EXAMPLE_CATALOG, Harness};

fn count(steps: &Value, action: &str, object: &str) -> usize {
    steps
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] == action && s["object"] == object)
        .count()
}

fn keys(steps: &Value, object: &str) -> BTreeSet<String> {
    steps
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["object"] == object)
        .map(|s| s["key"].as_str().unwrap().to_string())
        .collect()
}

/// The create request Stripe received for the price with this lookup key.
fn price_request(stripe: &StripeServer, lookup_key: &str) -> crate::support::stripe::Seen {
    stripe
        .requests("POST", "/v1/prices")
        .into_iter()
        .find(|r| r.param("lookup_key") == Some(lookup_key))
        .unwrap_or_else(|| panic!("no price created with lookup key {lookup_key}"))
}

const PRICE_KEYS: [&str; 15] = [
    "starter_monthly",
    "starter_yearly",
    "starter_tool_calls_monthly",
    "starter_tool_calls_yearly",
    "professional_monthly",
    "professional_yearly",
    "professional_tool_calls_monthly",
    "professional_tool_calls_yearly",
    "per_call_tool_calls_monthly",
    "metered_tool_calls_monthly",
    "metered_llm_tokens_monthly",
    "forensics_monthly",
    "forensics_cases_monthly",
    "forensics_events_ingested_monthly",
    "forensics_api_calls_monthly",
];

#[tokio::test]
async fn sync_catalog_plans_the_example_catalog_applies_it_exactly_and_then_has_nothing_to_do() {
    let (stripe, _h, c) = setup().await;
    let plan = c.ok("sync_catalog", json!({})).await;
    assert_eq!(plan["dry_run"], true);
    let steps = &plan["steps"];
    assert_eq!(count(steps, "create", "meter"), 7, "{steps}");
    assert_eq!(count(steps, "create", "product"), 5);
    assert_eq!(count(steps, "create", "price"), 15);
    assert_eq!(plan["changes"], 27);
    let wanted: BTreeSet<String> = PRICE_KEYS.iter().map(|k| k.to_string()).collect();
    assert_eq!(keys(steps, "price"), wanted);
    assert_eq!(
        keys(steps, "product"),
        [
            "forensics",
            "metered",
            "per_call",
            "professional",
            "starter"
        ]
        .iter()
        .map(|k| k.to_string())
        .collect()
    );
    let skipped: Vec<&str> = plan["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert!(skipped.contains(&"agents"), "{skipped:?}");
    assert!(skipped.contains(&"forensics_agents_monthly"));
    assert!(skipped.contains(&"per_call_tool_calls_tools"));
    assert_eq!(posts(&stripe), 0, "a dry run only reads");

    let applied = c.ok("sync_catalog", json!({"dry_run": false})).await;
    assert_eq!(
        (applied["dry_run"].clone(), applied["changes"].clone()),
        (json!(false), json!(27))
    );
    assert!(
        applied["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["result"].is_string())
    );
    // Stripe holds exactly those objects
    assert_eq!(stripe.objects("meter").len(), 7);
    assert_eq!(stripe.objects("product").len(), 5);
    let prices = stripe.objects("price");
    let held: BTreeSet<String> = prices
        .iter()
        .map(|p| p["lookup_key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!((prices.len(), held), (15, wanted));

    // exactly what was sent
    let tool_calls = meter_id(&stripe, "tool_call_executed");
    let starter = price_request(&stripe, "starter_monthly");
    assert_eq!(starter.param("unit_amount_decimal"), Some("2900"));
    assert_eq!(starter.param("recurring[interval]"), Some("month"));
    assert_eq!(starter.param("recurring[usage_type]"), None);
    assert_eq!(starter.param("metadata[billing_mcp_plan]"), Some("starter"));
    let product = stripe
        .objects("product")
        .into_iter()
        .find(|p| p["metadata"]["billing_mcp_plan"] == "starter")
        .unwrap();
    assert_eq!(starter.param("product"), product["id"].as_str());
    assert_eq!(product["name"], "Starter");
    let usage = price_request(&stripe, "starter_tool_calls_yearly");
    for (k, v) in [
        ("billing_scheme", "tiered"),
        ("tiers_mode", "graduated"),
        ("tiers[0][up_to]", "1000"),
        ("tiers[0][unit_amount_decimal]", "0"),
        ("tiers[1][up_to]", "inf"),
        ("tiers[1][unit_amount_decimal]", "5"),
        ("recurring[interval]", "year"),
        ("recurring[usage_type]", "metered"),
        ("recurring[meter]", tool_calls.as_str()),
        ("transfer_lookup_key", "true"),
    ] {
        assert_eq!(usage.param(k), Some(v), "{k}");
    }
    let metered = price_request(&stripe, "metered_tool_calls_monthly");
    assert_eq!(metered.param("tiers[0][up_to]"), Some("10000"));
    assert_eq!(metered.param("tiers[0][unit_amount_decimal]"), Some("0.5"));
    assert_eq!(metered.param("tiers[1][unit_amount_decimal]"), Some("0.25"));
    let volume = price_request(&stripe, "per_call_tool_calls_monthly");
    assert_eq!(volume.param("tiers_mode"), Some("volume"));
    assert_eq!(volume.param("tiers[2][unit_amount_decimal]"), Some("30"));
    let package = price_request(&stripe, "forensics_api_calls_monthly");
    assert_eq!(package.param("transform_quantity[divide_by]"), Some("1000"));
    assert_eq!(package.param("transform_quantity[round]"), Some("up"));
    assert_eq!(package.param("unit_amount"), Some("10"));
    let meter = stripe
        .requests("POST", "/v1/billing/meters")
        .into_iter()
        .find(|r| r.param("event_name") == Some("tool_call_executed"))
        .unwrap();
    assert_eq!(meter.param("default_aggregation[formula]"), Some("sum"));
    assert_eq!(meter.param("display_name"), Some("MCP tool calls"));

    // a second run plans nothing and sends nothing
    let before = posts(&stripe);
    let again = c.ok("sync_catalog", json!({})).await;
    assert_eq!(again["changes"], 0, "{again}");
    assert_eq!(again["unchanged"].as_array().unwrap().len(), 27);
    let reapplied = c.ok("sync_catalog", json!({"dry_run": false})).await;
    assert_eq!(reapplied["changes"], 0);
    assert_eq!(posts(&stripe), before);
}

#[tokio::test]
async fn a_changed_price_is_replaced_and_a_removed_plan_archived() {
    let (stripe, _h, c) = setup().await;
    c.ok("sync_catalog", json!({"dry_run": false})).await;
    let old_starter = stripe
        .objects("price")
        .into_iter()
        .find(|p| p["lookup_key"] == "starter_monthly")
        .unwrap();

    // the operator raises Starter to $39 and drops the Metered plan
    let text = std::fs::read_to_string(EXAMPLE_CATALOG).unwrap();
    let start = text.find("# seed 004 metered").unwrap();
    let end = text.find("# seed 000 credit system").unwrap();
    let changed =
        format!("{}{}", &text[..start], &text[end..]).replace("monthly = 2900", "monthly = 3900");
    let h2 = Harness::with_stripe_catalog(Backend::Sqlite, &stripe.url, &changed).await;
    let c2 = h2.client().await;
    let plan = c2.ok("sync_catalog", json!({})).await;
    let steps = plan["steps"].as_array().unwrap();
    assert_eq!(plan["changes"], 4, "{plan}");
    let replace = steps.iter().find(|s| s["action"] == "replace").unwrap();
    assert_eq!(
        (replace["key"].as_str(), replace["id"].as_str()),
        (Some("starter_monthly"), old_starter["id"].as_str())
    );
    assert!(
        replace["detail"].as_str().unwrap().contains("3900"),
        "{replace}"
    );
    // the Metered plan's two usage prices (tool calls, tokens) and its product
    assert_eq!(count(&plan["steps"], "archive", "price"), 2);
    assert_eq!(count(&plan["steps"], "archive", "product"), 1);

    c2.ok("sync_catalog", json!({"dry_run": false})).await;
    let prices = stripe.objects("price");
    let old = prices
        .iter()
        .find(|p| p["id"] == old_starter["id"])
        .unwrap();
    assert_eq!(
        (old["active"].clone(), old["lookup_key"].clone()),
        (json!(false), Value::Null)
    );
    let new = prices
        .iter()
        .find(|p| p["lookup_key"] == "starter_monthly")
        .unwrap();
    assert_eq!(
        (new["active"].clone(), new["unit_amount_decimal"].clone()),
        (json!(true), json!("3900"))
    );
    let gone = prices
        .iter()
        .find(|p| p["metadata"]["billing_mcp_plan"] == "metered")
        .unwrap();
    assert_eq!(gone["active"], false);
    let product = stripe
        .objects("product")
        .into_iter()
        .find(|p| p["metadata"]["billing_mcp_plan"] == "metered")
        .unwrap();
    assert_eq!(product["active"], false);
    assert_eq!(c2.ok("sync_catalog", json!({})).await["changes"], 0);
}

/// A client that keeps the progress notifications it receives.
#[derive(Clone, Default)]
struct Progress(Arc<Mutex<Vec<ProgressNotificationParam>>>);

impl ClientHandler for Progress {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.0.lock().unwrap().push(params);
    }
}

#[tokio::test]
async fn applying_reports_progress_step_by_step_to_a_client_that_asks() {
    let stripe = StripeServer::start().await;
    let h = Harness::with_stripe(Backend::Sqlite, &stripe.url).await;
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    let server = h.shared().server();
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    let seen = Progress::default();
    let client = seen.clone().serve(client_io).await.unwrap();
    let mut request = CallToolRequestParams::new("sync_catalog");
    request.arguments = json!({"dry_run": false}).as_object().cloned();
    request.meta = Some(RequestMetaObject::with_progress_token(ProgressToken(
        NumberOrString::String("sync-1".into()),
    )));
    let result = client.call_tool(request).await.unwrap();
    assert_ne!(result.is_error, Some(true));
    for _ in 0..100 {
        if seen.0.lock().unwrap().len() >= 27 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let got = seen.0.lock().unwrap().clone();
    assert_eq!(got.len(), 27);
    // rmcp's client puts its own token on the request; every notification carries that one
    assert!(
        got.iter()
            .all(|p| p.progress_token == got[0].progress_token)
    );
    assert!(got.windows(2).all(|w| w[0].progress < w[1].progress));
    let last = got.last().unwrap();
    assert_eq!((last.progress, last.total), (27.0, Some(27.0)));
    assert_eq!(
        got[0].message.as_deref(),
        Some("create meter forensics_api_call")
    );
}
