//! `delete_customer`: the Stripe customer deleted (exactly one DELETE; one Stripe no longer has
//! counts as deleted), the ledger's personal fields erased (the row, list_customers and the audit
//! log's copies), every money record kept (usage, invoice preview, credits, billing status and
//! the dashboard's figures read the same), every later write for the customer refused with
//! `customer_deleted`, and a second delete answering the same and doing nothing more.

use serde_json::{Value, json};

use super::{linked_acme, stripe_customer};
use crate::support::stripe::{KEY, StripeServer, setup};
use crate::support::{Backend, Client, Harness, backends, http_client};

/// What the ledger says acme was used, owes and holds.
async fn money_of(c: &Client) -> Vec<Value> {
    let mut seen = Vec::new();
    for tool in [
        "get_usage",
        "preview_invoice",
        "get_credit_balance",
        "get_billing_status",
    ] {
        seen.push(c.ok(tool, json!({"customer": "acme"})).await);
    }
    seen
}

/// The dashboard's revenue, usage, credit and customer figures.
async fn dashboard_figures(c: &Client) -> Value {
    let d = c.ok("get_dashboard", json!({})).await;
    json!([d["currencies"], d["usage"], d["credits"], d["customers"]])
}

fn ids(list: &Value) -> Vec<String> {
    list["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customer"].as_str().unwrap().to_string())
        .collect()
}

/// What acme's personal fields held, none of which may show after the deletion.
const PERSONAL: [&str; 4] = ["Acme", "billing@acme.test", "ap@acme.test", "gold"];

fn assert_no_personal(what: &str, shown: &Value) {
    let text = shown.to_string();
    for p in PERSONAL {
        assert!(!text.contains(p), "{what} still shows `{p}`: {text}");
    }
}

#[tokio::test]
async fn a_deleted_customer_keeps_its_money_records_and_loses_its_personal_fields() {
    for backend in backends() {
        let stripe = StripeServer::start().await;
        let h = Harness::with_stripe(backend, &stripe.url).await;
        let c = h.client().await;
        let cus = linked_acme(&c).await;
        let path = format!("/v1/customers/{cus}");
        c.ok(
            "create_customer",
            json!({"customer": "globex", "name": "Globex", "email": "ap@globex.test"}),
        )
        .await;
        for quantity in [7, 5] {
            c.ok(
                "record_usage",
                json!({"customer": "acme", "meter": "tool_calls", "quantity": quantity}),
            )
            .await;
        }
        c.ok("grant_credits", json!({"customer": "acme", "credits": 50}))
            .await;
        c.ok(
            "update_customer",
            json!({"customer": "acme", "email": "ap@acme.test"}),
        )
        .await;
        let money = money_of(&c).await;
        let figures = dashboard_figures(&c).await;

        let (code, _) = c.err("delete_customer", json!({"customer": "acme"})).await;
        assert_eq!(code, "confirmation_required", "{backend:?}");
        assert!(stripe.requests("DELETE", &path).is_empty());

        let deleted = c
            .ok(
                "delete_customer",
                json!({"customer": "acme", "confirm": true}),
            )
            .await;
        assert_eq!(deleted["deleted"], true, "{backend:?}: {deleted}");
        assert_eq!(deleted["deleted_at"], "2026-11-21T10:30:00.000Z");
        assert_eq!(
            (
                deleted["name"].clone(),
                deleted["email"].clone(),
                deleted["metadata"].clone()
            ),
            (Value::Null, Value::Null, json!({}))
        );
        assert_eq!(deleted["stripe_customer_id"], cus.as_str());
        assert_eq!(stripe.requests("DELETE", &path).len(), 1);
        assert_eq!(
            stripe_customer(&stripe, &cus),
            Value::Null,
            "gone at Stripe"
        );
        assert_eq!(stripe.objects("customer").len(), 1, "globex's stays");

        let shown = c.ok("get_customer", json!({"customer": "acme"})).await;
        let mut expected = deleted.clone();
        expected.as_object_mut().unwrap().remove("deleted");
        assert_eq!(shown, expected, "{backend:?}");
        assert_no_personal("get_customer", &shown);
        let live = c.ok("list_customers", json!({})).await;
        assert_eq!(ids(&live), ["globex"], "{backend:?}: {live}");
        let all = c
            .ok("list_customers", json!({"include_deleted": true}))
            .await;
        assert_eq!(ids(&all), ["acme", "globex"]);
        assert_eq!(all["customers"][0], expected);
        assert_no_personal("list_customers", &all);
        let audit = c
            .ok("get_audit_log", json!({"customer": "acme", "limit": 100}))
            .await;
        let tools: Vec<&str> = audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["tool"].as_str())
            .collect();
        for kept in ["create_customer", "record_usage", "update_customer"] {
            assert!(tools.contains(&kept), "{backend:?}: {kept} kept: {tools:?}");
        }
        assert_no_personal("get_audit_log", &audit);
        assert_eq!(money_of(&c).await, money, "{backend:?}: money records stay");
        assert_eq!(dashboard_figures(&c).await, figures, "{backend:?}");

        let again = c
            .ok(
                "delete_customer",
                json!({"customer": "acme", "confirm": true}),
            )
            .await;
        assert_eq!(
            again, deleted,
            "{backend:?}: deleting twice answers the same"
        );
        assert_eq!(
            stripe.requests("DELETE", &path).len(),
            1,
            "and asks Stripe nothing more"
        );

        let refused = [
            (
                "record_usage",
                json!({"customer": "acme", "meter": "tool_calls", "quantity": 1}),
            ),
            (
                "check_entitlement",
                json!({"customer": "acme", "feature": "tool_calls"}),
            ),
            (
                "check_entitlement",
                json!({"customer": "acme", "feature": "tool_calls", "consume": true}),
            ),
            (
                "check_entitlement",
                json!({"customer": "acme", "feature": "tool_calls", "hold": true}),
            ),
            ("grant_credits", json!({"customer": "acme", "credits": 5})),
            (
                "set_customer_plan",
                json!({"customer": "acme", "plan": "professional"}),
            ),
            (
                "update_customer",
                json!({"customer": "acme", "name": "Acme again"}),
            ),
            (
                "create_customer",
                json!({"customer": "acme", "name": "Acme again"}),
            ),
            (
                "create_api_key",
                json!({"role": "customer", "customer": "acme"}),
            ),
            ("create_invoice", json!({"customer": "acme"})),
        ];
        for (tool, args) in refused {
            let (code, message) = c.err(tool, args.clone()).await;
            assert_eq!(
                code, "customer_deleted",
                "{backend:?} {tool}({args}): {message}"
            );
        }
        let batch = c
            .ok(
                "record_usage_batch",
                json!({"events": [
                    {"customer": "acme", "meter": "tool_calls", "quantity": 1},
                    {"customer": "globex", "meter": "tool_calls", "quantity": 1}]}),
            )
            .await;
        assert_eq!(batch["events"][0]["status"], "customer_deleted", "{batch}");
        assert_eq!(batch["events"][1]["status"], "recorded");
        assert_eq!(batch["rejected"], 1);
        assert_eq!(
            money_of(&c).await,
            money,
            "{backend:?}: refusals changed nothing"
        );
        // What Stripe billed it stays readable.
        c.ok("list_invoices", json!({"customer": "acme"})).await;
        let globex = c.ok("get_customer", json!({"customer": "globex"})).await;
        assert_eq!(globex["email"], "ap@globex.test");
    }
}

#[tokio::test]
async fn a_stripe_failure_deletes_nothing_and_a_customer_stripe_no_longer_has_counts_as_deleted() {
    let (stripe, h, c) = setup().await;
    let cus = linked_acme(&c).await;
    let path = format!("/v1/customers/{cus}");
    let delete = json!({"customer": "acme", "confirm": true});

    // A linked customer needs Stripe to be deleted.
    let ledger_only = h.second_process().await.client().await;
    let (code, message) = ledger_only.err("delete_customer", delete.clone()).await;
    assert_eq!(code, "stripe_not_configured", "{message}");
    assert!(message.contains(&cus), "{message}");

    stripe.fail_next(
        400,
        "invalid_request_error",
        None,
        "This customer cannot be deleted right now",
    );
    let e = c.call("delete_customer", delete.clone()).await.unwrap_err();
    assert_eq!(e["code"], "stripe_error", "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("nothing was deleted"),
        "{e}"
    );
    assert_eq!(
        c.ok("get_customer", json!({"customer": "acme"})).await["name"],
        "Acme",
        "the ledger is as it was"
    );
    c.ok(
        "record_usage",
        json!({"customer": "acme", "meter": "tool_calls", "quantity": 1}),
    )
    .await;

    // Deleted at Stripe by someone else meanwhile: Stripe's 404 counts as deleted.
    let gone = http_client()
        .delete(format!("{}{path}", stripe.url))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert!(gone.status().is_success());
    let deleted = c.ok("delete_customer", delete).await;
    assert_eq!(deleted["deleted"], true);
    assert_eq!(deleted["name"], Value::Null);
    assert_eq!(stripe.requests("DELETE", &path).len(), 3);
}

#[tokio::test]
async fn a_deleted_customers_live_holds_are_released_and_charge_nothing() {
    let h = Harness::new(Backend::Sqlite).await;
    let c = h.client().await;
    c.ok(
        "create_customer",
        json!({"customer": "acme", "plan": "starter", "name": "Acme"}),
    )
    .await;
    let held = c
        .ok(
            "check_entitlement",
            json!({"customer": "acme", "feature": "tool_calls", "hold": true}),
        )
        .await;
    let hold = held["hold"]["hold_id"].as_str().unwrap().to_string();
    c.ok(
        "delete_customer",
        json!({"customer": "acme", "confirm": true}),
    )
    .await;
    let (code, _) = c
        .err("settle_hold", json!({"customer": "acme", "hold_id": hold}))
        .await;
    assert_eq!(code, "hold_released");
    let usage = c.ok("get_usage", json!({"customer": "acme"})).await;
    assert_eq!(usage["events"], json!([]), "{usage}");
}
