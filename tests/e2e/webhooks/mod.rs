//! Stripe webhooks in, through the HTTP server: signatures (forged, stale, several `v1`, a rolled
//! secret), each event stored and processed once, per-object order, and what each event does to
//! plans, credits, delinquency and entitlements; `billing_status` checks what they tell
//! `get_billing_status` (subscription, outstanding invoices, payment method).

use billing_mcp::stripe::signature::sign;
use serde_json::{Value, json};

mod billing_status;

use crate::support::http::Server;
use crate::support::{Backend, Client, Harness, NOW, backends};

pub(crate) const NEW: &str = "whsec_new1";
const OLD: &str = "whsec_old1";

pub(crate) struct Hook {
    server: Server,
    http: reqwest::Client,
}

impl Hook {
    async fn start(h: &Harness) -> Hook {
        Hook {
            server: Server::start(h).await,
            http: reqwest::Client::new(),
        }
    }

    /// Deliver `event` with this Stripe-Signature header value; (status, body).
    async fn deliver_with(&self, event: &Value, header: Option<String>) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}/webhooks/stripe", self.server.base))
            .header("content-type", "application/json")
            .body(event.to_string());
        if let Some(h) = header {
            req = req.header("stripe-signature", h);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Deliver `event` signed now with `secret`.
    pub(crate) async fn deliver(&self, event: &Value, secret: &str) -> (u16, Value) {
        let t = NOW / 1000;
        let header = format!("t={t},v1={}", sign(secret, t, event.to_string().as_bytes()));
        self.deliver_with(event, Some(header)).await
    }

    /// Deliver `event` signed now with the new secret, expect 200, and return what became of it.
    pub(crate) async fn accept(&self, event: Value) -> Value {
        let (code, answer) = self.deliver(&event, NEW).await;
        assert_eq!(code, 200, "{answer}");
        answer["event"].clone()
    }
}

pub(crate) fn event(id: &str, kind: &str, created_offset_s: i64, object: Value) -> Value {
    json!({"id": id, "object": "event", "type": kind, "created": NOW / 1000 + created_offset_s,
        "api_version": "2026-09-30", "livemode": false, "data": {"object": object}})
}

pub(crate) fn subscription(id: &str, customer: &str, plan: &str, status: &str) -> Value {
    json!({"id": id, "object": "subscription", "customer": "cus_w1", "status": status,
        "metadata": {"billing_mcp_customer": customer},
        "items": {"object": "list", "data": [{"id": "si_1", "current_period_start": NOW / 1000 - 86_400,
            "price": {"id": "price_1", "unit_amount": 4900, "metadata": {"billing_mcp_plan": plan},
                      "recurring": {"interval": "year"}}}]}})
}

pub(crate) async fn setup(backend: Backend) -> (Harness, Hook, Client) {
    let h = Harness::with_webhook_secrets(backend, &[NEW, OLD]).await;
    let hook = Hook::start(&h).await;
    let c = h.client().await;
    c.ok(
        "create_customer",
        json!({"customer": "acme", "plan": "free"}),
    )
    .await;
    (h, hook, c)
}

async fn stored(c: &Client) -> Vec<Value> {
    c.ok("list_webhook_events", json!({"limit": 100})).await["events"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn forged_stale_or_unsigned_deliveries_get_400_and_nothing_is_stored() {
    let (_h, hook, c) = setup(Backend::Sqlite).await;
    let e = event(
        "evt_forged",
        "customer.subscription.updated",
        0,
        subscription("sub_1", "acme", "professional", "active"),
    );
    let t = NOW / 1000;
    let body = e.to_string();
    let cases = [
        (
            "wrong secret",
            Some(format!(
                "t={t},v1={}",
                sign("whsec_evil", t, body.as_bytes())
            )),
        ),
        (
            "stale",
            Some(format!(
                "t={},v1={}",
                t - 301,
                sign(NEW, t - 301, body.as_bytes())
            )),
        ),
        (
            "from the future",
            Some(format!(
                "t={},v1={}",
                t + 301,
                sign(NEW, t + 301, body.as_bytes())
            )),
        ),
        (
            "another body",
            Some(format!("t={t},v1={}", sign(NEW, t, b"{}"))),
        ),
        ("no v1", Some(format!("t={t}"))),
        ("no header", None),
    ];
    for (case, header) in cases {
        let (status, answer) = hook.deliver_with(&e, header).await;
        assert_eq!(status, 400, "{case}: {answer}");
        assert_eq!(answer["received"], false, "{case}");
    }
    assert!(stored(&c).await.is_empty(), "nothing stored");
    let acme = c.ok("get_customer", json!({"customer": "acme"})).await;
    assert_eq!(acme["plan"], "free", "nothing changed");
    // Within the tolerance, with the new and the old secret (during a roll), among other v1s.
    let (status, _) = hook
        .deliver_with(
            &e,
            Some(format!(
                "t={},v1=00ff,v1={}",
                t - 299,
                sign(OLD, t - 299, body.as_bytes())
            )),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_webhook_without_a_signing_secret_is_refused_with_503() {
    let h = Harness::new(Backend::Sqlite).await;
    let hook = Hook::start(&h).await;
    let e = event("evt_1", "customer.created", 0, json!({"id": "cus_1"}));
    let (status, answer) = hook.deliver(&e, NEW).await;
    assert_eq!(status, 503);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("STRIPE_WEBHOOK_SECRET")
    );
}

#[tokio::test]
async fn a_credit_pack_checkout_delivered_three_times_grants_its_credits_once() {
    for backend in backends() {
        let (_h, hook, c) = setup(backend).await;
        let e = event(
            "evt_pack",
            "checkout.session.completed",
            0,
            json!({
            "id": "cs_1", "object": "checkout.session", "mode": "payment", "payment_status": "paid",
            "customer": "cus_w1", "client_reference_id": "acme", "amount_total": 1000, "currency": "usd",
            "metadata": {"billing_mcp_customer": "acme", "billing_mcp_pack": "small_pack"}}),
        );
        let mut answers = Vec::new();
        for _ in 0..3 {
            let (status, answer) = hook.deliver(&e, NEW).await;
            assert_eq!(status, 200, "{answer}");
            answers.push(answer);
        }
        assert_eq!(answers[0]["duplicate"], false);
        assert_eq!(answers[0]["event"]["status"], "processed");
        assert!(answers[1..].iter().all(|a| a["duplicate"] == true));
        let balance = c
            .ok("get_credit_balance", json!({"customer": "acme"}))
            .await;
        assert_eq!(
            balance["balance"], 110,
            "100 credits + 10 bonus, once: {balance}"
        );
        let events = stored(&c).await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["attempts"], 1, "processed once");
        let acme = c.ok("get_customer", json!({"customer": "acme"})).await;
        assert_eq!(
            acme["stripe_customer_id"], "cus_w1",
            "linked by the session"
        );
    }
}

#[tokio::test]
async fn subscription_events_change_the_plan_in_order_and_entitlements_follow_at_once() {
    for backend in backends() {
        let (_h, hook, c) = setup(backend).await;
        let premium = json!({"customer": "acme", "feature": "premium_tools"});
        let before = c.ok("check_entitlement", premium.clone()).await;
        assert_eq!(
            before["allowed"], false,
            "free has no premium_tools: {before}"
        );

        let newer = event(
            "evt_2",
            "customer.subscription.updated",
            20,
            subscription("sub_1", "acme", "professional", "active"),
        );
        assert_eq!(hook.deliver(&newer, NEW).await.0, 200);
        let acme = c.ok("get_customer", json!({"customer": "acme"})).await;
        assert_eq!(acme["plan"], "professional", "{acme}");
        assert_eq!(acme["interval"], "year");
        let after = c.ok("check_entitlement", premium.clone()).await;
        assert_eq!(
            after["allowed"], true,
            "the cached decision followed the plan: {after}"
        );

        // An older update of the same subscription arrives late: ignored.
        let older = event(
            "evt_1",
            "customer.subscription.updated",
            10,
            subscription("sub_1", "acme", "starter", "past_due"),
        );
        let (status, answer) = hook.deliver(&older, NEW).await;
        assert_eq!(status, 200);
        assert_eq!(answer["event"]["status"], "ignored", "{answer}");
        assert!(
            answer["event"]["outcome"]
                .as_str()
                .unwrap()
                .contains("evt_2")
        );
        let acme = c.ok("get_customer", json!({"customer": "acme"})).await;
        assert_eq!(acme["plan"], "professional");
        assert_eq!(acme["status"], "active");

        // Deleted: back on the catalog's default plan.
        let gone = event(
            "evt_3",
            "customer.subscription.deleted",
            30,
            subscription("sub_1", "acme", "professional", "canceled"),
        );
        assert_eq!(hook.deliver(&gone, NEW).await.0, 200);
        let acme = c.ok("get_customer", json!({"customer": "acme"})).await;
        assert_eq!(acme["plan"], "free");
        assert_eq!(c.ok("check_entitlement", premium).await["allowed"], false);
    }
}

/// An invoice of acme's for the day before now.
fn invoice(id: &str) -> Value {
    json!({"id": id, "object": "invoice", "customer": "cus_w1",
        "metadata": {"billing_mcp_customer": "acme"}, "period_start": NOW / 1000 - 86_400, "period_end": NOW / 1000})
}

#[tokio::test]
async fn a_failed_invoice_payment_makes_the_customer_overdue_until_a_newer_invoice_is_paid() {
    let (_h, hook, c) = setup(Backend::Sqlite).await;
    c.ok(
        "set_customer_plan",
        json!({"customer": "acme", "plan": "forensics"}),
    )
    .await;
    let failed = event("evt_f", "invoice.payment_failed", 10, invoice("in_1"));
    assert_eq!(hook.deliver(&failed, NEW).await.0, 200);
    let status = c
        .ok("get_billing_status", json!({"customer": "acme"}))
        .await;
    assert_eq!(status["is_delinquent"], true);
    let denied = c
        .ok(
            "check_entitlement",
            json!({"customer": "acme", "feature": "forensics"}),
        )
        .await;
    assert_eq!(denied["allowed"], false);
    assert_eq!(
        denied["reason"], "payment_overdue",
        "the plan blocks when overdue"
    );

    let paid = event("evt_p", "invoice.paid", 20, invoice("in_1"));
    let (_, answer) = hook.deliver(&paid, NEW).await;
    assert!(
        answer["event"]["outcome"]
            .as_str()
            .unwrap()
            .contains("paid"),
        "{answer}"
    );
    assert_eq!(
        c.ok("get_billing_status", json!({"customer": "acme"}))
            .await["is_delinquent"],
        false
    );
    assert_eq!(
        c.ok(
            "check_entitlement",
            json!({"customer": "acme", "feature": "forensics"})
        )
        .await["allowed"],
        true
    );
}

#[tokio::test]
async fn an_event_for_an_unknown_customer_fails_and_is_retried_after_the_customer_exists() {
    let (_h, hook, c) = setup(Backend::Sqlite).await;
    let e = event(
        "evt_new",
        "customer.subscription.created",
        0,
        subscription("sub_9", "globex", "starter", "trialing"),
    );
    let (status, answer) = hook.deliver(&e, NEW).await;
    assert_eq!(status, 200, "stored: Stripe need not send it again");
    assert_eq!(answer["event"]["status"], "failed");
    assert!(
        answer["event"]["outcome"]
            .as_str()
            .unwrap()
            .contains("create_customer"),
        "{answer}"
    );
    let failed = c
        .ok("list_webhook_events", json!({"status": "failed"}))
        .await;
    assert_eq!(failed["events"][0]["event_id"], "evt_new");

    c.ok("create_customer", json!({"customer": "globex"})).await;
    let retried = c
        .ok("retry_webhook_event", json!({"event_id": "evt_new"}))
        .await;
    assert_eq!(retried["status"], "processed", "{retried}");
    assert_eq!(retried["attempts"], 2);
    let globex = c.ok("get_customer", json!({"customer": "globex"})).await;
    assert_eq!(globex["plan"], "starter");
    assert_eq!(globex["status"], "trialing");
    let (code, _) = c
        .err("retry_webhook_event", json!({"event_id": "evt_new"}))
        .await;
    assert_eq!(code, "already_processed");
    let (code, _) = c
        .err("retry_webhook_event", json!({"event_id": "evt_missing"}))
        .await;
    assert_eq!(code, "unknown_webhook_event");
    // Unhandled types are stored and ignored, with the reason.
    let other = event("evt_o", "charge.succeeded", 0, json!({"id": "ch_1"}));
    assert_eq!(
        hook.deliver(&other, NEW).await.1["event"]["status"],
        "ignored"
    );
}

#[tokio::test]
async fn a_paid_invoice_marks_its_periods_usage_billed_once() {
    for backend in backends() {
        let (_h, hook, c) = setup(backend).await;
        let at = |offset_s: i64| {
            chrono::DateTime::from_timestamp(NOW / 1000 + offset_s, 0)
                .unwrap()
                .to_rfc3339()
        };
        // before the invoice's period, inside it, and at its end (the end is not in it)
        for (key, offset) in [("before", -2 * 86_400), ("inside", -3_600), ("at_end", 0)] {
            c.ok(
                "record_usage",
                json!({"customer": "acme", "meter": "tool_calls", "quantity": 1,
                       "timestamp": at(offset), "idempotency_key": key}),
            )
            .await;
        }
        let (_, answer) = hook
            .deliver(
                &event("evt_paid1", "invoice.paid", 10, invoice("in_9")),
                NEW,
            )
            .await;
        assert!(
            answer["event"]["outcome"]
                .as_str()
                .unwrap()
                .contains("usage marked billed"),
            "{answer}"
        );
        // an invoice for the same period paid later does not take the events over
        hook.deliver(
            &event("evt_paid2", "invoice.paid", 20, invoice("in_10")),
            NEW,
        )
        .await;
        let usage = c
            .ok(
                "get_usage",
                json!({"customer": "acme", "from": at(-3 * 86_400), "to": at(60), "limit": 10}),
            )
            .await;
        let billed: Vec<(String, Value)> = usage["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["idempotency_key"].as_str().unwrap().to_string(),
                    e["stripe"]["invoice"].clone(),
                )
            })
            .collect();
        assert_eq!(billed.len(), 3, "{usage}");
        for (key, invoice) in billed {
            let want = if key == "inside" {
                json!("in_9")
            } else {
                Value::Null
            };
            assert_eq!(invoice, want, "{backend:?} {key}");
        }
    }
}

#[tokio::test]
async fn concurrent_copies_of_one_event_apply_it_once() {
    for backend in backends() {
        let (h, hook, c) = setup(backend).await;
        let other = h.second_process_accepting(&[NEW]).await;
        let hook2 = Hook::start(&other).await;
        let e = event(
            "evt_storm",
            "customer.subscription.updated",
            0,
            subscription("sub_storm", "acme", "professional", "active"),
        );
        let copies = (0..20).map(|i| {
            let hook = if i % 2 == 0 { &hook } else { &hook2 };
            let e = &e;
            async move { hook.deliver(e, NEW).await }
        });
        let answers = futures::future::join_all(copies).await;
        assert!(
            answers.iter().all(|(s, _)| *s == 200),
            "{backend:?}: {answers:?}"
        );
        let events = stored(&c).await;
        let storm = events
            .iter()
            .find(|e| e["event_id"] == "evt_storm")
            .unwrap();
        assert_eq!(
            (storm["status"].as_str(), storm["attempts"].as_i64()),
            (Some("processed"), Some(1)),
            "{backend:?}: 20 copies across two processes apply once: {storm}"
        );
    }
}

#[tokio::test]
async fn an_older_checkout_arriving_last_changes_nothing() {
    for backend in backends() {
        let (_h, hook, c) = setup(backend).await;
        let before = c.ok("get_customer", json!({"customer": "acme"})).await;
        let newer = event(
            "evt_sub_new",
            "customer.subscription.updated",
            10,
            subscription("sub_co", "acme", "professional", "active"),
        );
        assert_eq!(hook.deliver(&newer, NEW).await.0, 200);
        let after_sub = c.ok("get_customer", json!({"customer": "acme"})).await;
        let older = event(
            "evt_checkout_old",
            "checkout.session.completed",
            0,
            json!({"id": "cs_old", "object": "checkout.session", "mode": "subscription", "payment_status": "paid",
                "customer": "cus_w1", "subscription": "sub_co", "client_reference_id": "acme",
                "metadata": {"billing_mcp_customer": "acme", "billing_mcp_plan": "starter"}}),
        );
        let (status, answer) = hook.deliver(&older, NEW).await;
        assert_eq!(status, 200);
        assert_eq!(
            answer["event"]["status"], "ignored",
            "{backend:?}: {answer}"
        );
        let now = c.ok("get_customer", json!({"customer": "acme"})).await;
        assert_eq!(now["plan"], "professional", "{backend:?}");
        assert_eq!(
            now["current_period"], after_sub["current_period"],
            "{backend:?}: the period stays"
        );
        assert_ne!(before["plan"], now["plan"]);
    }
}
