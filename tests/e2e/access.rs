//! Identity and access through real clients: customer isolation over every tool in the registry,
//! roles and the tools each lists, rate limits with `retry_after_ms`, revocation and rotation,
//! 401 on HTTP, the audit log, and secrets kept out of the binary's logs.

use std::process::Stdio;

use billing_mcp::access::{Audience, Role};
use billing_mcp::mcp::tools;
use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

use crate::support::http::{Server, json_rpc, tools_call};
use crate::support::{A, B, BINARY, Backend, Client, EXAMPLE_CATALOG, Harness, backends, test_db};

/// Arguments for every tool in the registry, aimed at `customer` (or at the caller's own
/// customer when `None`). A tool added without an entry here fails the isolation test.
fn sample(tool: &str, customer: Option<&str>, b_key: &str) -> Option<Value> {
    let mut args = match tool {
        "record_usage" => json!({"meter": "tool_calls", "quantity": 1}),
        "record_usage_batch" => {
            return Some(
                json!({"events": [{"customer": customer.unwrap_or(A), "meter": "tool_calls", "quantity": 1}]}),
            );
        }
        "check_entitlement" => json!({"feature": "tool_calls", "consume": true}),
        "get_usage" | "get_credit_balance" | "get_customer" | "get_billing_status"
        | "preview_invoice" => json!({}),
        "quote_price" => json!({"meter": "tool_calls", "quantity": 10}),
        "grant_credits" => json!({"credits": 1000}),
        "adjust_credits" => json!({"credits": -1, "reason": "probe"}),
        "create_customer" => json!({"plan": "free"}),
        "set_customer_plan" => json!({"plan": "professional"}),
        "list_customers" | "list_plans" => return Some(json!({})),
        "get_audit_log" => json!({}),
        // Webhook administration: admin keys only, about no customer.
        "list_webhook_events" => return Some(json!({})),
        "sync_catalog" => return Some(json!({})),
        "sync_reserved_tiers" => return Some(json!({"reserved_json": "{}"})),
        "set_reserved_tiers" => return Some(json!({"reserved_json": "{}", "dry_run": false})),
        "retry_webhook_event" => return Some(json!({"event_id": "evt_1"})),
        "retry_meter_events" => json!({}),
        "create_api_key" => json!({"role": "customer"}),
        "list_api_keys" => json!({}),
        "rotate_api_key" | "revoke_api_key" => return Some(json!({"key_id": b_key})),
        // Stripe administration: admin keys only.
        "create_invoice"
        | "create_invoice_item"
        | "list_invoices"
        | "list_payment_intents"
        | "list_subscriptions"
        | "create_billing_portal_session"
        | "create_checkout_session" => {
            json!({"mode": "payment", "line_items": [{"price": "price_1"}], "success_url": "https://example.com"})
        }
        "create_product"
        | "list_products"
        | "create_price"
        | "list_prices"
        | "create_payment_link"
        | "finalize_invoice"
        | "retrieve_balance"
        | "create_refund"
        | "update_subscription"
        | "cancel_subscription"
        | "create_coupon"
        | "list_coupons"
        | "list_disputes"
        | "update_dispute"
        | "create_meter"
        | "list_meters" => {
            return Some(
                json!({"payment_intent": "pi_1", "idempotency_key": "k", "confirm": true}),
            );
        }
        _ => return None,
    };
    if let Some(c) = customer {
        args["customer"] = json!(c);
    }
    Some(args)
}

/// Everything the operator can see of a customer.
async fn state_of(owner: &Client, customer: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    for tool in [
        "get_customer",
        "get_usage",
        "get_credit_balance",
        "get_billing_status",
    ] {
        seen.push(owner.ok(tool, json!({"customer": customer})).await);
    }
    seen.push(
        owner
            .ok(
                "list_api_keys",
                json!({"customer": customer, "include_inactive": true}),
            )
            .await,
    );
    seen
}

async fn two_customers(h: &Harness) -> Client {
    let owner = h.client().await;
    for c in [A, B] {
        owner
            .ok("create_customer", json!({"customer": c, "plan": "starter"}))
            .await;
        owner
            .ok(
                "record_usage",
                json!({"customer": c, "meter": "tool_calls", "quantity": 7}),
            )
            .await;
        owner
            .ok("grant_credits", json!({"customer": c, "credits": 50}))
            .await;
    }
    owner
}

#[tokio::test]
async fn a_customer_key_can_neither_read_nor_change_another_customer_through_any_tool() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let owner = two_customers(&h).await;
        // Its own generous rate: this test walks every tool three times, past the role's burst.
        let a_key = billing_mcp::service::keys::create(
            &h.app,
            billing_mcp::service::keys::NewKey {
                rate_per_minute: Some(100_000),
                burst: Some(10_000),
                ..billing_mcp::service::keys::NewKey::new(Role::Customer, Some(A.into()))
            },
        )
        .await
        .unwrap()
        .secret
        .unwrap();
        let b_key = owner
            .ok("create_api_key", json!({"role": "customer", "customer": B}))
            .await["key"]["key_id"]
            .as_str()
            .unwrap()
            .to_string();
        let before = state_of(&owner, B).await;
        let server = Server::start(&h).await;
        let as_a = server.client(&a_key).await;
        let stdio_a = h.client_as(&a_key).await;

        for entry in tools::all().entries() {
            let name = entry.tool.name.as_ref();
            let aimed_at_b = sample(name, Some(B), &b_key).unwrap_or_else(|| {
                panic!("no sample arguments for `{name}`: add them to sample()")
            });
            for client in [&as_a, &stdio_a] {
                match client.call(name, aimed_at_b.clone()).await {
                    // A tool for anyone takes no customer and shows none.
                    Ok(body) if entry.audience == Audience::Anyone => {
                        assert!(!body.to_string().contains(B), "{name} showed B: {body}");
                    }
                    Ok(body) => panic!("{name} aimed at B answered {body}"),
                    Err(e) => {
                        assert_eq!(e["code"], "forbidden", "{name} aimed at B: {e}");
                        assert!(!e.to_string().contains(B), "{name}: the refusal names B");
                    }
                }
            }
            let own = sample(name, None, &b_key).unwrap();
            let answer = as_a.call(name, own).await;
            match entry.audience {
                Audience::OwnCustomer | Audience::Anyone => {
                    let body = answer.unwrap_or_else(|e| panic!("{name} on its own customer: {e}"));
                    assert!(!body.to_string().contains(B), "{name} showed B: {body}");
                }
                Audience::Service | Audience::Admin => {
                    assert_eq!(answer.unwrap_err()["code"], "forbidden", "{name}");
                }
            }
        }
        assert_eq!(state_of(&owner, B).await, before, "{backend:?}: B changed");
        let own = as_a.ok("get_usage", json!({})).await;
        assert_eq!(
            own["customer"], A,
            "a customer key without `customer` acts on its own"
        );
        let forbidden = owner
            .ok(
                "get_audit_log",
                json!({"result": "forbidden", "limit": 200}),
            )
            .await;
        assert!(
            forbidden["entries"].as_array().unwrap().len()
                >= 2 * (tools::all().entries().len() - 1),
            "every forbidden attempt is audited"
        );
    }
}

#[tokio::test]
async fn each_role_lists_only_the_tools_it_may_call() {
    let h = Harness::new(Backend::Sqlite).await;
    h.client()
        .await
        .ok("create_customer", json!({"customer": A}))
        .await;
    let server = Server::start(&h).await;
    let mut listed = Vec::new();
    for (role, customer) in [
        (Role::Admin, None),
        (Role::Service, None),
        (Role::Customer, Some(A)),
    ] {
        let key = h.key(role, customer).await;
        let client = server.client(&key).await;
        let mut names: Vec<String> = client
            .inner
            .list_all_tools()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect();
        names.sort();
        listed.push(names);
    }
    let all: Vec<String> = tools::all()
        .entries()
        .iter()
        .map(|e| e.tool.name.to_string())
        .collect();
    assert_eq!(listed[0].len(), all.len(), "admin sees every tool");
    for admin_only in [
        "create_api_key",
        "revoke_api_key",
        "get_audit_log",
        "set_customer_plan",
    ] {
        assert!(
            !listed[1].contains(&admin_only.to_string()),
            "service sees {admin_only}"
        );
    }
    for service in [
        "record_usage",
        "check_entitlement",
        "grant_credits",
        "create_customer",
    ] {
        assert!(
            listed[1].contains(&service.to_string()),
            "service misses {service}"
        );
    }
    assert_eq!(
        listed[2],
        [
            "check_entitlement",
            "get_billing_status",
            "get_credit_balance",
            "get_customer",
            "get_usage",
            "list_plans",
            "preview_invoice",
            "quote_price"
        ],
        "a customer key sees its own entitlements, usage, balance and billing status"
    );
}

#[tokio::test]
async fn calls_beyond_a_keys_rate_are_refused_with_retry_after_and_allowed_after_it() {
    let h = Harness::new(Backend::Sqlite).await;
    let owner = h.client().await;
    owner
        .ok("create_customer", json!({"customer": A, "plan": "starter"}))
        .await;
    let issued = owner
        .ok(
            "create_api_key",
            json!({"role": "service", "rate_per_minute": 60, "burst": 3}),
        )
        .await;
    let secret = issued["secret"].as_str().unwrap();
    let server = Server::start(&h).await;
    let service = server.client(secret).await;
    let check = json!({"customer": A, "feature": "tool_calls"});
    for _ in 0..3 {
        service.ok("check_entitlement", check.clone()).await;
    }
    let refused = service
        .call("check_entitlement", check.clone())
        .await
        .unwrap_err();
    assert_eq!(refused["code"], "rate_limited");
    assert_eq!(
        refused["retry_after_ms"], 1000,
        "60 per minute: one call a second"
    );
    h.set_now(crate::support::NOW + 999);
    let refused = service
        .call("check_entitlement", check.clone())
        .await
        .unwrap_err();
    assert_eq!(refused["retry_after_ms"], 1);
    h.set_now(crate::support::NOW + 1000);
    service.ok("check_entitlement", check.clone()).await;
    let refused = service
        .call(
            "record_usage",
            json!({"customer": A, "meter": "tool_calls", "quantity": 1}),
        )
        .await
        .unwrap_err();
    assert_eq!(refused["code"], "rate_limited");
    let usage = owner.ok("get_usage", json!({"customer": A})).await;
    assert_eq!(
        usage["events"].as_array().unwrap().len(),
        0,
        "a refused write records nothing"
    );
    let audit = owner
        .ok(
            "get_audit_log",
            json!({"key_id": issued["key"]["key_id"], "result": "rate_limited"}),
        )
        .await;
    assert_eq!(
        audit["entries"][0]["tool"], "record_usage",
        "refused writes are audited"
    );

    // The operator on stdio is never limited; another key has a bucket of its own.
    for _ in 0..10 {
        owner.ok("check_entitlement", check.clone()).await;
    }
    let other = h.key(Role::Service, None).await;
    server
        .client(&other)
        .await
        .ok("check_entitlement", check)
        .await;
}

#[tokio::test]
async fn a_customer_keys_rate_follows_its_plan() {
    let h = Harness::new(Backend::Sqlite).await;
    let owner = h.client().await;
    owner
        .ok("create_customer", json!({"customer": A, "plan": "free"}))
        .await;
    let key = h.key(Role::Customer, Some(A)).await;
    let customer = h.client_as(&key).await;
    // The example's free plan: rate_limit = { per_minute = 60, burst = 10 }.
    for _ in 0..10 {
        customer.ok("get_billing_status", json!({})).await;
    }
    let refused = customer
        .call("get_billing_status", json!({}))
        .await
        .unwrap_err();
    assert_eq!(refused["code"], "rate_limited");
    assert_eq!(refused["retry_after_ms"], 1000);
    owner
        .ok(
            "set_customer_plan",
            json!({"customer": A, "plan": "professional"}),
        )
        .await;
    customer.ok("get_billing_status", json!({})).await;
    let plans = owner.ok("list_plans", json!({})).await;
    let free = plans["plans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["plan"] == "free")
        .unwrap();
    assert_eq!(free["rate_limit"], json!({"per_minute": 60, "burst": 10}));
}

#[tokio::test]
async fn a_revoked_key_fails_on_its_next_call_and_a_rotated_secret_after_its_grace() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let owner = h.client().await;
        owner.ok("create_customer", json!({"customer": A})).await;
        let server = Server::start(&h).await;
        let call = |key: String| {
            let server = &server;
            async move {
                server
                    .post("get_customer", json!({"customer": A}), Some(&key), None)
                    .await
            }
        };

        let doomed = owner.ok("create_api_key", json!({"role": "service"})).await;
        let secret = doomed["secret"].as_str().unwrap().to_string();
        assert_eq!(call(secret.clone()).await.status(), 200);
        let stdio = h.client_as(&secret).await;
        stdio.ok("get_customer", json!({"customer": A})).await;
        let revoked = owner
            .ok("revoke_api_key", json!({"key_id": doomed["key"]["key_id"]}))
            .await;
        assert_eq!(revoked["status"], "revoked");
        let refused = call(secret.clone()).await;
        assert_eq!(
            refused.status(),
            401,
            "{backend:?}: revoked keys fail at once"
        );
        let challenge = refused.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{challenge}"
        );
        assert!(
            json_rpc(refused).await["message"]
                .as_str()
                .unwrap()
                .contains("revoked")
        );
        assert_eq!(
            stdio.err("get_customer", json!({"customer": A})).await.0,
            "unauthorized"
        );
        let again = owner
            .ok("revoke_api_key", json!({"key_id": doomed["key"]["key_id"]}))
            .await;
        assert_eq!(
            again["revoked_at"], revoked["revoked_at"],
            "revoking twice changes nothing"
        );

        let old = owner
            .ok(
                "create_api_key",
                json!({"role": "service", "name": "search-mcp"}),
            )
            .await;
        let old_secret = old["secret"].as_str().unwrap().to_string();
        let rotated = owner
            .ok(
                "rotate_api_key",
                json!({"key_id": old["key"]["key_id"], "grace_period_seconds": 60, "idempotency_key": "rot-1"}),
            )
            .await;
        let new_secret = rotated["secret"].as_str().unwrap().to_string();
        assert_eq!(rotated["key"]["name"], "search-mcp");
        assert_eq!(rotated["key"]["rotated_from"], old["key"]["key_id"]);
        assert_eq!(rotated["previous"]["status"], "expiring");
        let retried = owner
            .ok(
                "rotate_api_key",
                json!({"key_id": old["key"]["key_id"], "idempotency_key": "rot-1"}),
            )
            .await;
        assert_eq!(retried["status"], "duplicate");
        assert_eq!(retried["key"]["key_id"], rotated["key"]["key_id"]);
        assert!(retried["secret"].is_null(), "a secret is shown only once");

        assert_eq!(
            call(old_secret.clone()).await.status(),
            200,
            "within the grace period"
        );
        h.set_now(crate::support::NOW + 59_999);
        assert_eq!(call(old_secret.clone()).await.status(), 200);
        h.set_now(crate::support::NOW + 60_000);
        assert_eq!(
            call(old_secret.clone()).await.status(),
            401,
            "after the grace period"
        );
        assert_eq!(call(new_secret).await.status(), 200);
        let (code, _) = owner
            .err("rotate_api_key", json!({"key_id": doomed["key"]["key_id"]}))
            .await;
        assert_eq!(code, "key_inactive");
        let listed = owner.ok("list_api_keys", json!({})).await;
        assert_eq!(
            listed["keys"].as_array().unwrap().len(),
            1,
            "only the live key by default"
        );
    }
}

#[tokio::test]
async fn http_without_a_valid_key_gets_401_and_health_stays_open() {
    let h = Harness::new(Backend::Sqlite).await;
    let server = Server::start(&h).await;
    let missing = server.post("list_plans", json!({}), None, None).await;
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.headers()["www-authenticate"].to_str().unwrap(),
        r#"Bearer realm="billing-mcp""#
    );
    let real = h.key(Role::Admin, None).await;
    let forged = format!("{}0", &real[..real.len() - 1]);
    let forged = if forged == real {
        format!("{}1", &real[..real.len() - 1])
    } else {
        forged
    };
    for bad in ["bmcp_nonsense", forged.as_str(), "sk_test_123"] {
        let r = server.post("list_plans", json!({}), Some(bad), None).await;
        assert_eq!(r.status(), 401, "{bad}");
    }
    assert_eq!(
        server
            .post("list_plans", json!({}), Some(&real), None)
            .await
            .status(),
        200
    );
    let health = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn mutating_calls_are_audited_with_secrets_redacted() {
    let h = Harness::new(Backend::Sqlite).await;
    let owner = h.client().await;
    owner
        .ok(
            "create_customer",
            json!({"customer": A, "plan": "starter", "metadata": {"stripe": "sk_test_leaked"}}),
        )
        .await;
    let issued = owner.ok("create_api_key", json!({"role": "service"})).await;
    let secret = issued["secret"].as_str().unwrap();
    let key_id = issued["key"]["key_id"].as_str().unwrap();
    let service = h.client_as(secret).await;
    service
        .ok(
            "check_entitlement",
            json!({"customer": A, "feature": "tool_calls"}),
        )
        .await;
    service
        .ok(
            "check_entitlement",
            json!({"customer": A, "feature": "tool_calls", "consume": true, "idempotency_key": "c-1"}),
        )
        .await;
    service
        .err(
            "set_customer_plan",
            json!({"customer": A, "plan": "professional"}),
        )
        .await;

    let log = owner.ok("get_audit_log", json!({})).await;
    let entries = log["entries"].as_array().unwrap();
    let tools_logged: Vec<&str> = entries
        .iter()
        .map(|e| e["tool"].as_str().unwrap())
        .collect();
    assert_eq!(
        tools_logged,
        [
            "set_customer_plan",
            "check_entitlement",
            "create_api_key",
            "create_customer"
        ],
        "newest first; a check without consume changes nothing and is not logged"
    );
    assert_eq!(entries[0]["result"], "forbidden");
    assert_eq!(entries[0]["key_id"], key_id);
    assert_eq!(entries[0]["role"], "service");
    assert_eq!(entries[1]["result"], "ok");
    assert_eq!(entries[1]["customer"], A);
    assert_eq!(entries[1]["arguments"]["idempotency_key"], "c-1");
    assert!(
        entries[3]["key_id"].is_null(),
        "the operator on stdio has no key"
    );
    assert_eq!(entries[3]["arguments"]["metadata"]["stripe"], "[redacted]");
    let text = log.to_string();
    assert!(
        !text.contains(secret) && !text.contains("sk_test_leaked"),
        "{text}"
    );

    let page = owner.ok("get_audit_log", json!({"limit": 2})).await;
    assert_eq!(page["has_more"], true);
    let rest = owner
        .ok(
            "get_audit_log",
            json!({"limit": 2, "starting_after": page["next_cursor"]}),
        )
        .await;
    assert_eq!(rest["entries"][0]["tool"], "create_api_key");
    assert_eq!(rest["has_more"], false);
    let by_tool = owner
        .ok("get_audit_log", json!({"tool": "create_api_key"}))
        .await;
    assert_eq!(by_tool["entries"].as_array().unwrap().len(), 1);

    // A usage dimension named like a count of tokens is not a secret; a key in a value is.
    owner
        .ok(
            "record_usage",
            json!({"customer": A, "meter": "tool_calls", "quantity": 1,
                   "dimensions": {"token_count": "512", "note": "key sk_test_leaked2"}}),
        )
        .await;
    let usage = owner
        .ok("get_audit_log", json!({"tool": "record_usage"}))
        .await;
    let dimensions = &usage["entries"][0]["arguments"]["dimensions"];
    assert_eq!(dimensions["token_count"], "512", "{usage}");
    assert_eq!(dimensions["note"], "[redacted]", "{usage}");
}

#[tokio::test]
async fn key_requests_are_checked_and_a_duplicate_never_shows_the_secret() {
    let h = Harness::new(Backend::Sqlite).await;
    let owner = h.client().await;
    owner.ok("create_customer", json!({"customer": A})).await;
    let cases = [
        (json!({"role": "customer"}), "invalid_params"),
        (json!({"role": "service", "customer": A}), "invalid_params"),
        (
            json!({"role": "customer", "customer": "ghost"}),
            "unknown_customer",
        ),
        (json!({"role": "root"}), "invalid_params"),
        (json!({"role": "service", "burst": 5}), "invalid_params"),
        (
            json!({"role": "service", "rate_per_minute": 0}),
            "invalid_params",
        ),
    ];
    for (args, code) in cases {
        assert_eq!(
            owner.err("create_api_key", args.clone()).await.0,
            code,
            "{args}"
        );
    }
    let request = json!({"role": "customer", "customer": A, "idempotency_key": "k-1"});
    let first = owner.ok("create_api_key", request.clone()).await;
    assert_eq!(first["status"], "created");
    assert_eq!(
        first["key"]["rate_limit"],
        json!({"per_minute": 600, "burst": 100})
    );
    let again = owner.ok("create_api_key", request).await;
    assert_eq!(again["status"], "duplicate");
    assert_eq!(again["key"]["key_id"], first["key"]["key_id"]);
    assert!(again["secret"].is_null());
    let (code, _) = owner
        .err("revoke_api_key", json!({"key_id": "bmcp_0000000000000000"}))
        .await;
    assert_eq!(code, "unknown_key");
    let (code, message) = owner
        .err("revoke_api_key", json!({"key_id": first["secret"]}))
        .await;
    assert_eq!(code, "invalid_params");
    assert!(
        !message.contains(first["secret"].as_str().unwrap()),
        "{message}"
    );
}

/// The binary with every log level on: keys made by the CLI and by a tool, used over HTTP and
/// stdio, and a Stripe key in the environment, never appear in what it logs.
#[tokio::test]
async fn secrets_never_reach_the_binarys_logs() {
    let db = test_db(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let stripe_key = "sk_test_51NeverLogMe0000000000000000";
    // Stripe calls go out (and are refused: the test server knows another key), so the Stripe
    // client's own trace logging is searched too.
    let stripe = crate::support::stripe::StripeServer::start().await;
    let cli = tokio::process::Command::new(BINARY)
        .args([
            "keys",
            "create",
            "--role",
            "admin",
            "--database-url",
            &db.url,
        ])
        .env("RUST_LOG", "trace")
        .output()
        .await
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let admin = String::from_utf8(cli.stdout).unwrap().trim().to_string();
    assert!(
        admin.starts_with("bmcp_"),
        "the secret alone on stdout: {admin}"
    );
    let mut logs = String::from_utf8_lossy(&cli.stderr).to_string();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log_path = dir.path().join("http.log");
    let mut server = tokio::process::Command::new(BINARY)
        .args([
            "serve",
            "--http",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            &db.url,
        ])
        .args(["--catalog", EXAMPLE_CATALOG])
        .env("RUST_LOG", "trace")
        .env("STRIPE_SECRET_KEY", stripe_key)
        .env("STRIPE_API_BASE", &stripe.url)
        .stderr(std::fs::File::create(&log_path).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{base}/healthz")).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let post = |key: String, tool: &'static str, args: Value| {
        let base = base.clone();
        async move {
            let resp = tools_call(&base, tool, args)
                .bearer_auth(key)
                .send()
                .await
                .unwrap();
            json_rpc(resp).await
        }
    };
    post(admin.clone(), "create_customer", json!({"customer": A})).await;
    let made = post(
        admin.clone(),
        "create_api_key",
        json!({"role": "customer", "customer": A}),
    )
    .await;
    let customer_key = made["result"]["structuredContent"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let rotated = post(
        admin.clone(),
        "rotate_api_key",
        json!({"key_id": made["result"]["structuredContent"]["key"]["key_id"]}),
    )
    .await;
    let rotated_key = rotated["result"]["structuredContent"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    post(customer_key.clone(), "get_usage", json!({})).await;
    let refused = post(admin.clone(), "list_products", json!({})).await;
    assert_eq!(
        refused["result"]["structuredContent"]["stripe"]["status"],
        401
    );
    assert!(!stripe.seen().is_empty());
    post(
        format!("{}x", &admin[..admin.len() - 1]),
        "list_plans",
        json!({}),
    )
    .await;
    server.kill().await.unwrap();
    logs.push_str(&std::fs::read_to_string(&log_path).unwrap());

    // stdio narrowed by BILLING_MCP_API_KEY: a customer key lists only its tools.
    let mut cmd = tokio::process::Command::new(BINARY);
    cmd.args([
        "serve",
        "--stdio",
        "--database-url",
        &db.url,
        "--catalog",
        EXAMPLE_CATALOG,
    ])
    .env("RUST_LOG", "trace")
    .env("BILLING_MCP_API_KEY", &rotated_key);
    let (transport, stderr) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drained while the server runs: trace logging fills a pipe quickly.
    let mut stderr = stderr.unwrap();
    let drain = tokio::spawn(async move {
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut text)
            .await
            .unwrap();
        text
    });
    let client = ().serve(transport).await.unwrap();
    let names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(
        names.contains(&"get_usage".to_string()) && !names.contains(&"record_usage".to_string())
    );
    client.cancel().await.unwrap();
    logs.push_str(&drain.await.unwrap());

    assert!(
        logs.len() > 1000,
        "trace logging was on: {} bytes",
        logs.len()
    );
    for secret in [&admin, &customer_key, &rotated_key] {
        assert!(
            !logs.contains(secret.as_str()),
            "a key secret reached the logs"
        );
        assert!(
            !logs.contains(&secret[22..]),
            "the random part of a key reached the logs"
        );
    }
    assert!(
        !logs.contains(stripe_key),
        "the Stripe key reached the logs"
    );
}

#[tokio::test]
async fn the_binary_refuses_a_bad_stdio_key_and_bad_rate_limits() {
    let db = test_db(Backend::Sqlite).await;
    let bad_key = tokio::process::Command::new(BINARY)
        .args(["serve", "--stdio", "--database-url", &db.url])
        .env(
            "BILLING_MCP_API_KEY",
            "bmcp_0000000000000000_".to_string() + &"0".repeat(64),
        )
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!bad_key.status.success());
    let err = String::from_utf8_lossy(&bad_key.stderr);
    assert!(
        err.contains("BILLING_MCP_API_KEY: the API key is not valid"),
        "{err}"
    );
    let bad_rate = tokio::process::Command::new(BINARY)
        .args([
            "serve",
            "--stdio",
            "--database-url",
            &db.url,
            "--rate-limit",
            "customer=fast",
        ])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!bad_rate.status.success());
    let err = String::from_utf8_lossy(&bad_rate.stderr);
    assert!(err.contains("--rate-limit `fast`"), "{err}");
}
