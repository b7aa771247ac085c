//! Hostile input changes nothing: control characters refused alike on SQLite and PostgreSQL,
//! audit entries bounded whatever a refused call names, cursors held to their customer, and
//! messages that quote a huge value only by its start.

use billing_mcp::access::Role;
use serde_json::{Value, json};

use crate::support::{A, B, Backend, Harness, backends};

/// One call per text field that reaches the ledger, each holding a NUL.
fn nul_calls() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "create_customer",
            "name",
            json!({"customer": "n1", "name": "a\u{0}b"}),
        ),
        (
            "create_customer",
            "email",
            json!({"customer": "n2", "email": "a\u{0}@x.io"}),
        ),
        (
            "create_customer",
            "metadata",
            json!({"customer": "n3", "metadata": {"k": "v\u{0}"}}),
        ),
        (
            "grant_credits",
            "description",
            json!({"customer": A, "credits": 5, "description": "gift\u{0}"}),
        ),
        (
            "adjust_credits",
            "reason",
            json!({"customer": A, "credits": -1, "reason": "fix\u{0}"}),
        ),
        (
            "create_api_key",
            "name",
            json!({"role": "service", "name": "ci\u{0}"}),
        ),
        (
            "get_usage",
            "starting_after",
            json!({"customer": A, "starting_after": "evt\u{0}"}),
        ),
        (
            "get_usage",
            "to",
            json!({"customer": A, "to": "2026-01-01T00:00:00Z\u{0}"}),
        ),
        (
            "record_usage",
            "dimensions",
            json!({"customer": A, "meter": "tool_calls", "quantity": 1, "dimensions": {"tool": "x\u{0}"}}),
        ),
        (
            "set_reserved_tiers",
            "reserved_json",
            json!({"reserved_json": "{\"cust_a\u{0}\": {}}"}),
        ),
        (
            "set_reserved_tiers",
            "reserved_json",
            json!({"reserved_json": "{\"cust_a\\u0000\": {}}"}),
        ),
    ]
}

#[tokio::test]
async fn a_nul_in_any_text_field_is_the_same_invalid_params_on_every_backend() {
    let mut answers: Vec<Vec<(String, String)>> = Vec::new();
    for backend in backends() {
        let h = Harness::new(backend).await;
        let owner = h.client().await;
        owner
            .ok("create_customer", json!({"customer": A, "plan": "starter"}))
            .await;
        let mut got = Vec::new();
        for (tool, field, args) in nul_calls() {
            let (code, message) = owner.err(tool, args).await;
            assert_eq!(
                code, "invalid_params",
                "{backend:?} {tool}.{field}: {message}"
            );
            assert!(
                message.contains(field) || message.contains("reserved_json"),
                "{tool}.{field}: {message}"
            );
            got.push((code, message));
        }
        answers.push(got);
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
}

#[tokio::test]
async fn a_refused_call_with_a_huge_customer_leaves_one_small_audit_entry() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let owner = h.client().await;
        owner
            .ok("create_customer", json!({"customer": A, "plan": "starter"}))
            .await;
        let key = h.key(Role::Customer, Some(A)).await;
        let customer = h.client_as(&key).await;
        for huge in ["z".repeat(1 << 20), format!("{}\u{0}", "y".repeat(3000))] {
            let (code, _) = customer.err("get_usage", json!({"customer": huge})).await;
            assert_eq!(code, "forbidden", "{backend:?}");
        }
        let log = owner
            .ok("get_audit_log", json!({"result": "forbidden"}))
            .await;
        let entries = log["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 2, "{backend:?}: both refusals are kept");
        for e in entries {
            let size = e.to_string().len();
            assert!(size < 1024, "{backend:?}: an entry of {size} bytes: {e}");
        }
        assert_eq!(
            entries[1]["customer"],
            format!("{}… (1048576 bytes)", "z".repeat(64)),
            "{backend:?}"
        );
        assert!(
            entries[0]["customer"]
                .as_str()
                .unwrap()
                .ends_with("… (3001 bytes)")
        );
    }
}

#[tokio::test]
async fn another_customers_event_is_as_unknown_a_cursor_as_none_at_all() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let owner = h.client().await;
        for c in [A, B] {
            owner
                .ok("create_customer", json!({"customer": c, "plan": "starter"}))
                .await;
        }
        for i in 0..3 {
            owner.ok("record_usage", json!({"customer": A, "meter": "tool_calls", "quantity": 1, "idempotency_key": format!("a{i}")})).await;
        }
        let b_event = owner
            .ok(
                "record_usage",
                json!({"customer": B, "meter": "tool_calls", "quantity": 1}),
            )
            .await["event_id"]
            .as_str()
            .unwrap()
            .to_string();
        let key = h.key(Role::Customer, Some(A)).await;
        let a = h.client_as(&key).await;
        let foreign = a
            .call(
                "get_usage",
                json!({"customer": A, "starting_after": b_event}),
            )
            .await;
        let unknown = a
            .call(
                "get_usage",
                json!({"customer": A, "starting_after": "evt_0000000000000000"}),
            )
            .await;
        let foreign = foreign.expect_err("another customer's cursor is refused");
        assert_eq!(foreign, unknown.unwrap_err(), "{backend:?}");
        assert_eq!(foreign["code"], "invalid_params");
        // Every list the ledger serves answers a cursor it did not issue alike.
        for (tool, args) in [
            ("list_customers", json!({"starting_after": "nobody"})),
            (
                "list_api_keys",
                json!({"starting_after": "bmcp_0000000000000000"}),
            ),
            ("get_audit_log", json!({"starting_after": "aud_nothing"})),
            (
                "list_webhook_events",
                json!({"starting_after": "evt_nothing"}),
            ),
        ] {
            let (code, _) = owner.err(tool, args).await;
            assert_eq!(code, "invalid_params", "{backend:?} {tool}");
        }
    }
}

#[tokio::test]
async fn a_huge_value_comes_back_in_a_short_message() {
    let h = Harness::new(crate::support::Backend::Sqlite).await;
    let owner = h.client().await;
    owner
        .ok("create_customer", json!({"customer": A, "plan": "starter"}))
        .await;
    let huge = "9".repeat(1 << 20);
    for (tool, args) in [
        ("get_usage", json!({"customer": A, "to": huge})),
        ("grant_credits", json!({"customer": A, "credits": huge})),
        ("create_customer", json!({"customer": A, "interval": huge})),
        (
            "record_usage",
            json!({"customer": A, "meter": "tool_calls", "quantity": 1, "dimensions": {huge.clone(): "x"}}),
        ),
        (
            "set_reserved_tiers",
            json!({"reserved_json": format!("{{\"{A}\": {{\"{huge}_reserved\": 1}}}}")}),
        ),
    ] {
        let (code, message) = owner.err(tool, args).await;
        assert_eq!(code, "invalid_params", "{tool}");
        assert!(
            message.len() < 300,
            "{tool}: {} bytes: {}",
            message.len(),
            &message[..300]
        );
    }
}

/// A plan at Stripe's largest unit price, and usage at the largest quantity an event may carry:
/// ten such events make a total no ledger can hold.
const HUGE: &str = r#"
currency = "usd"
[meters.calls]
event_name = "calls"
[features.calls]
meter = "calls"
[plans.big]
features = ["calls"]
at_limit = "charge_overage"
[plans.big.meters.calls]
price = { unit_amount = 99999999 }
"#;

#[tokio::test]
async fn a_total_too_large_for_any_bill_is_named_as_such_by_every_tool() {
    for backend in backends() {
        let h = Harness::with_catalog(backend, HUGE).await;
        let c = h.client().await;
        c.ok("create_customer", json!({"customer": A, "plan": "big"}))
            .await;
        let small = c
            .ok(
                "quote_price",
                json!({"customer": A, "meter": "calls", "quantity": 2}),
            )
            .await;
        assert_eq!(
            small["amount"]["amount"], 199_999_998,
            "{backend:?}: {small}"
        );
        for n in 0..10 {
            c.ok(
                "record_usage",
                json!({"customer": A, "meter": "calls", "quantity": 1_000_000_000_000u64, "idempotency_key": format!("huge-{n}")}),
            )
            .await;
        }
        for (tool, args) in [
            (
                "quote_price",
                json!({"customer": A, "meter": "calls", "quantity": 1}),
            ),
            ("preview_invoice", json!({"customer": A})),
            ("get_billing_status", json!({"customer": A})),
            (
                "check_entitlement",
                json!({"customer": A, "feature": "calls"}),
            ),
        ] {
            let (code, message) = c.err(tool, args).await;
            assert_eq!(code, "amount_out_of_range", "{backend:?} {tool}: {message}");
            assert!(
                message.contains("get_usage"),
                "{backend:?} {tool}: {message}"
            );
        }
    }
}

#[tokio::test]
async fn the_input_schema_says_what_the_server_takes() {
    let h = Harness::new(Backend::Sqlite).await;
    let c = h.client().await;
    c.ok("create_customer", json!({"customer": A})).await;
    let tools = c.inner.list_all_tools().await.unwrap();
    let schema = |tool: &str| {
        tools
            .iter()
            .find(|t| t.name == tool)
            .map(|t| serde_json::Value::Object((*t.input_schema).clone()))
            .unwrap()
    };
    let record = schema("record_usage");
    assert_eq!(
        record["properties"]["quantity"]["maximum"], 1_000_000_000_000u64,
        "{record}"
    );
    let listing = schema("get_usage");
    assert_eq!(
        listing["properties"]["limit"]["maximum"],
        u32::MAX,
        "{listing}"
    );
    // JSON Schema counts 1.0 as an integer: so does the server.
    let taken = c
        .ok(
            "record_usage",
            json!({"customer": A, "meter": "api_calls", "quantity": 3.0}),
        )
        .await;
    assert_eq!(taken["used"], 3, "{taken}");
    for quantity in [json!(1.5), json!(1_000_000_000_001u64), json!(-1.0)] {
        let (code, message) = c
            .err(
                "record_usage",
                json!({"customer": A, "meter": "api_calls", "quantity": quantity}),
            )
            .await;
        assert_eq!(code, "invalid_params", "{quantity}: {message}");
    }
    let (code, _) = c
        .err(
            "get_usage",
            json!({"customer": A, "limit": 4_294_967_296u64}),
        )
        .await;
    assert_eq!(code, "invalid_params");
}

/// Make every insert into the audit log fail, as a full disk or a broken table would.
async fn break_the_audit_log(backend: Backend, url: &str) {
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            sqlx::query("CREATE TRIGGER no_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log unwritable'); END")
                .execute(&pool)
                .await
                .unwrap();
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query("CREATE FUNCTION no_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit log unwritable'; END $$ LANGUAGE plpgsql")
                .execute(&pool)
                .await
                .unwrap();
            sqlx::query("CREATE TRIGGER no_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION no_audit()")
                .execute(&pool)
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn a_refusal_that_cannot_be_audited_is_not_answered_as_a_plain_refusal() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let owner = h.client().await;
        owner.ok("create_customer", json!({"customer": A})).await;
        let key = h.key(Role::Customer, Some(A)).await;
        let customer = h.client_as(&key).await;
        let (code, _) = customer.err("get_usage", json!({"customer": B})).await;
        assert_eq!(
            code, "forbidden",
            "{backend:?}: audited, so answered as the refusal it is"
        );
        break_the_audit_log(backend, &h._db.url).await;
        let (code, message) = customer.err("get_usage", json!({"customer": B})).await;
        assert_eq!(code, "internal_error", "{backend:?}: {message}");
        assert!(message.contains("audit log"), "{backend:?}: {message}");
        // A call that ran is answered as it ran (its entry's failure is logged).
        let usage = customer.ok("get_usage", json!({"customer": A})).await;
        assert_eq!(usage["customer"], A, "{backend:?}");
    }
}
