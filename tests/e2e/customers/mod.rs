//! Changing and deleting customers through a real MCP client, with Stripe played by the in-repo
//! test server: `update_customer` changes the ledger and then the linked Stripe customer (exact
//! form fields, once per change, a failed mirror finished by a retry); `delete_customer` is in
//! `delete`.

mod delete;

use serde_json::{Value, json};

use crate::support::stripe::{StripeServer, setup};
use crate::support::{Client, Harness};

/// `acme`, linked to a Stripe customer, with a name, an email and two metadata keys; its
/// Stripe customer id.
async fn linked_acme(c: &Client) -> String {
    let created = c
        .ok(
            "create_customer",
            json!({"customer": "acme", "plan": "starter", "name": "Acme", "email": "billing@acme.test",
                   "metadata": {"tier": "gold", "region": "eu"}}),
        )
        .await;
    created["stripe_customer_id"].as_str().unwrap().to_string()
}

/// The Stripe customer as the test server holds it.
fn stripe_customer(stripe: &StripeServer, id: &str) -> Value {
    stripe
        .objects("customer")
        .into_iter()
        .find(|c| c["id"] == id)
        .unwrap_or(Value::Null)
}

/// A request's form, sorted (async-stripe sends maps in hash order).
fn sorted_form(form: &[(String, String)]) -> Vec<(String, String)> {
    let mut form = form.to_vec();
    form.sort();
    form
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn an_update_changes_the_ledger_then_the_stripe_customer_and_a_repeat_changes_nothing() {
    let (stripe, _h, c) = setup().await;
    let cus = linked_acme(&c).await;
    let path = format!("/v1/customers/{cus}");
    let args = json!({"customer": "acme", "name": "Acme Corp", "metadata": {"tier": "platinum", "region": ""}});

    let first = c.ok("update_customer", args.clone()).await;
    assert_eq!(first["changed"], true, "{first}");
    assert_eq!(first["stripe_updated"], true, "{first}");
    assert_eq!(first["name"], "Acme Corp");
    assert_eq!(
        first["email"], "billing@acme.test",
        "an email not given stays"
    );
    assert_eq!(
        first["metadata"],
        json!({"tier": "platinum"}),
        "merged; `region` removed"
    );
    let sent = stripe.requests("POST", &path);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sorted_form(&sent[0].form),
        pairs(&[
            ("metadata[region]", ""),
            ("metadata[tier]", "platinum"),
            ("name", "Acme Corp")
        ]),
        "exactly the fields the call changed"
    );
    let key = sent[0].idempotency_key.clone().unwrap();
    assert!(key.starts_with("update_customer:"), "{key}");
    let held = stripe_customer(&stripe, &cus);
    assert_eq!(held["name"], "Acme Corp");
    assert_eq!(held["email"], "billing@acme.test");
    assert_eq!(
        held["metadata"],
        json!({"billing_mcp_customer": "acme", "tier": "platinum"})
    );

    // The same update again: nothing changes in the ledger, and Stripe gets the same request
    // under the same key (so it is taken once).
    let again = c.ok("update_customer", args.clone()).await;
    assert_eq!(again["changed"], false, "{again}");
    let mut same = first.clone();
    same["changed"] = json!(false);
    assert_eq!(again, same);
    let sent = stripe.requests("POST", &path);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].idempotency_key.as_deref(), Some(key.as_str()));
    assert_eq!(stripe_customer(&stripe, &cus), held);
    assert_eq!(
        c.ok("get_customer", json!({"customer": "acme"})).await["name"],
        "Acme Corp"
    );

    // A change away and back again is sent anew each time (not taken for a retry).
    for name in ["Acme Ltd", "Acme Corp"] {
        let r = c
            .ok("update_customer", json!({"customer": "acme", "name": name}))
            .await;
        assert_eq!(
            (r["changed"].clone(), r["name"].clone()),
            (json!(true), json!(name))
        );
        assert_eq!(stripe_customer(&stripe, &cus)["name"], name);
    }
    // An empty email clears it, in the ledger and at Stripe.
    let cleared = c
        .ok("update_customer", json!({"customer": "acme", "email": ""}))
        .await;
    assert_eq!(cleared["email"], Value::Null);
    let last = stripe.requests("POST", &path).pop().unwrap();
    assert_eq!(sorted_form(&last.form), pairs(&[("email", "")]));
    assert_eq!(stripe_customer(&stripe, &cus)["email"], Value::Null);
}

#[tokio::test]
async fn a_failed_stripe_update_keeps_the_ledger_change_and_the_same_call_again_finishes_it() {
    let (stripe, _h, c) = setup().await;
    let cus = linked_acme(&c).await;
    stripe.fail_next(
        400,
        "invalid_request_error",
        Some("email_invalid"),
        "Invalid email address: billing@@acme.test",
    );
    let args = json!({"customer": "acme", "email": "ap@acme.test"});
    let e = c.call("update_customer", args.clone()).await.unwrap_err();
    assert_eq!(e["code"], "stripe_error", "{e}");
    assert_eq!(e["ledger_changed"], true, "{e}");
    assert_eq!(e["stripe"]["code"], "email_invalid", "{e}");
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains("changed in the ledger") && message.contains("again"),
        "{message}"
    );
    assert_eq!(
        c.ok("get_customer", json!({"customer": "acme"})).await["email"],
        "ap@acme.test",
        "the ledger change stayed"
    );
    assert_eq!(stripe_customer(&stripe, &cus)["email"], "billing@acme.test");

    let retried = c.ok("update_customer", args).await;
    assert_eq!(
        (
            retried["changed"].clone(),
            retried["stripe_updated"].clone()
        ),
        (json!(false), json!(true))
    );
    assert_eq!(stripe_customer(&stripe, &cus)["email"], "ap@acme.test");
}

#[tokio::test]
async fn an_update_needs_something_to_change_and_a_known_customer() {
    let h = Harness::new(crate::support::Backend::Sqlite).await;
    let c = h.client().await;
    c.ok(
        "create_customer",
        json!({"customer": "acme", "name": "Acme"}),
    )
    .await;
    let (code, _) = c.err("update_customer", json!({"customer": "acme"})).await;
    assert_eq!(code, "invalid_params");
    let (code, _) = c
        .err(
            "update_customer",
            json!({"customer": "acme", "metadata": {"billing_mcp_customer": "globex"}}),
        )
        .await;
    assert_eq!(code, "invalid_params");
    let (code, _) = c
        .err(
            "update_customer",
            json!({"customer": "nobody", "name": "N"}),
        )
        .await;
    assert_eq!(code, "unknown_customer");
    // Without Stripe the ledger alone changes.
    let r = c
        .ok(
            "update_customer",
            json!({"customer": "acme", "name": "Acme 2"}),
        )
        .await;
    assert_eq!(
        (
            r["changed"].clone(),
            r["stripe_updated"].clone(),
            r["name"].clone()
        ),
        (json!(true), json!(false), json!("Acme 2"))
    );
    // Merged metadata stays within Stripe's 50 keys.
    let keys = |prefix: &str| -> Value {
        (0..30)
            .map(|i| (format!("{prefix}{i}"), json!("v")))
            .collect::<serde_json::Map<String, Value>>()
            .into()
    };
    c.ok(
        "update_customer",
        json!({"customer": "acme", "metadata": keys("k")}),
    )
    .await;
    let (code, message) = c
        .err(
            "update_customer",
            json!({"customer": "acme", "metadata": keys("j")}),
        )
        .await;
    assert_eq!(code, "invalid_params", "{message}");
    assert!(message.contains("60 keys"), "{message}");
}

#[tokio::test]
async fn tax_ids_are_added_to_the_stripe_customer_once() {
    let (stripe, _h, c) = setup().await;
    let cus = linked_acme(&c).await;
    let vat = json!({"customer": "acme", "tax_ids": [{"type": "eu_vat", "value": "DE123456789"}]});
    let added = c.ok("update_customer", vat.clone()).await;
    let sent = stripe.requests("POST", "/v1/tax_ids");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].param("owner[type]"), Some("customer"));
    assert_eq!(sent[0].param("owner[customer]"), Some(cus.as_str()));
    assert_eq!(sent[0].param("type"), Some("eu_vat"));
    assert_eq!(sent[0].param("value"), Some("DE123456789"));
    assert_eq!(added["tax_ids"][0]["value"], "DE123456789", "{added}");
    assert_eq!(added["tax_ids"][0]["verification"], "pending");
    // Again, and beside a name change: the id Stripe holds is not added twice.
    let again = c
        .ok(
            "update_customer",
            json!({"customer": "acme", "name": "Acme GmbH", "tax_ids": [{"type": "eu_vat", "value": "de123456789"}]}),
        )
        .await;
    assert_eq!(stripe.requests("POST", "/v1/tax_ids").len(), 1);
    assert_eq!(again["tax_ids"].as_array().unwrap().len(), 1);
    assert_eq!(again["name"], "Acme GmbH");
    // Without Stripe there is nowhere to keep one.
    let alone = Harness::new(crate::support::Backend::Sqlite).await;
    let local = alone.client().await;
    local
        .ok("create_customer", json!({"customer": "solo"}))
        .await;
    let (code, _) = local
        .err(
            "update_customer",
            json!({"customer": "solo", "tax_ids": [{"type": "eu_vat", "value": "DE1"}]}),
        )
        .await;
    assert_eq!(code, "stripe_not_configured");
}
