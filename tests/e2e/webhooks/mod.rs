//! Stripe webhooks in, through the HTTP server: signatures (forged, stale, several `v1`, a rolled
//! secret), each event stored and processed once, per-object order, and what each event does to
//! plans, credits, delinquency and entitlements; `billing_status` checks what they tell
//! `get_billing_status` (subscription, outstanding invoices, payment method).

use billing_mcp::stripe::signature::sign;
use serde_json::{Value, json};

mod billing_status;
mod delivery;
mod invoices;
mod signatures;

use crate::support::http::Server;
use crate::support::{Backend, Client, Harness, NOW};

pub(crate) const NEW: &str = "whsec_new1";
const OLD: &str = "whsec_old1";

pub(crate) struct Hook {
    server: Server,
    http: reqwest::Client,
}

impl Hook {
    pub(crate) async fn start(h: &Harness) -> Hook {
        Hook {
            server: Server::start(h).await,
            http: crate::support::http_client(),
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
