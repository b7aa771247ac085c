//! The walk's data, made through the tools: B with real data of every kind the tools make (its
//! values gathered by what they name), and A with its twin, alike in history, each with a key.

use std::collections::BTreeSet;

use billing_mcp::access::Role;
use billing_mcp::service::keys::{self, NewKey};
use serde_json::{Value, json};

use super::TWIN;
use super::ids::harvest;
use super::schema::Kind;
use crate::support::{A, B, Client, Harness};

/// B's values by what they name.
pub(super) struct Foreign {
    customer: Vec<String>,
    idempotency: Vec<String>,
    key_ids: Vec<String>,
    /// Every id and cursor the tools gave about B (key ids included).
    ids: Vec<String>,
}

impl Foreign {
    pub(super) fn all(&self) -> BTreeSet<String> {
        let mut all: BTreeSet<String> = self.ids.iter().cloned().collect();
        all.extend(self.customer.iter().cloned());
        all.extend(self.idempotency.iter().cloned());
        all
    }

    pub(super) fn of(&self, kind: Kind) -> Vec<String> {
        match kind {
            Kind::Customer => self.customer.clone(),
            Kind::Idempotency => self.idempotency.clone(),
            Kind::KeyId => self.key_ids.clone(),
            Kind::Id => self.ids.clone(),
            Kind::Cursor => self.all().into_iter().collect(),
            Kind::Stripe => Vec::new(),
        }
    }
}

/// B with real data of every kind the tools make, through the tools; returns B's values.
pub(super) async fn give_b_data(h: &Harness, owner: &Client) -> Foreign {
    let idempotency: Vec<String> = [
        "b-usage-1",
        "b-usage-2",
        "b-batch-1",
        "b-batch-2",
        "b-grant-1",
        "b-adjust-1",
        "b-apikey-1",
        "b-consume-1",
    ]
    .map(String::from)
    .to_vec();
    let mut seen = Vec::new();
    seen.push(
        owner
            .ok("create_customer", json!({"customer": B, "plan": "starter"}))
            .await,
    );
    for (i, key) in ["b-usage-1", "b-usage-2"].into_iter().enumerate() {
        seen.push(owner.ok("record_usage", json!({"customer": B, "meter": "tool_calls", "quantity": i + 2, "dimensions": {"tool": "search"}, "idempotency_key": key})).await);
    }
    seen.push(
        owner
            .ok(
                "record_usage",
                json!({"customer": B, "meter": "llm_tokens", "quantity": 900, "dimensions": {"model": "m1"}}),
            )
            .await,
    );
    seen.push(owner.ok("record_usage_batch", json!({"events": [
        {"customer": B, "meter": "tool_calls", "quantity": 1, "idempotency_key": "b-batch-1"},
        {"customer": B, "meter": "tools_used", "quantity": 1, "dimensions": {"tool": "fetch"}, "idempotency_key": "b-batch-2"},
    ]})).await);
    let grant = owner
        .ok(
            "grant_credits",
            json!({"customer": B, "credits": 500, "description": "pack", "idempotency_key": "b-grant-1"}),
        )
        .await;
    seen.push(grant);
    seen.push(
        owner
            .ok(
                "grant_credits",
                json!({"customer": B, "credits": 70, "priority": 1}),
            )
            .await,
    );
    seen.push(
        owner
            .ok(
                "adjust_credits",
                json!({"customer": B, "credits": -10, "reason": "refund", "idempotency_key": "b-adjust-1"}),
            )
            .await,
    );
    let b_key = owner
        .ok(
            "create_api_key",
            json!({"role": "customer", "customer": B, "idempotency_key": "b-apikey-1"}),
        )
        .await;
    seen.push(b_key.clone());
    seen.push(
        owner
            .ok("create_api_key", json!({"role": "customer", "customer": B}))
            .await,
    );
    seen.push(
        owner
            .ok(
                "set_customer_plan",
                json!({"customer": B, "plan": "professional"}),
            )
            .await,
    );
    // B's own key at work: a consumed entitlement and reads, each audited or paged.
    let as_b = h.client_as(b_key["secret"].as_str().unwrap()).await;
    seen.push(
        as_b.ok(
            "check_entitlement",
            json!({"feature": "tool_calls", "consume": true, "idempotency_key": "b-consume-1"}),
        )
        .await,
    );
    seen.push(as_b.ok("get_usage", json!({"limit": 1})).await);
    // Everything the operator can read of B, and a cursor from each of B's paged lists.
    seen.push(
        owner
            .ok("get_usage", json!({"customer": B, "limit": 100}))
            .await,
    );
    seen.push(
        owner
            .ok("get_usage", json!({"customer": B, "limit": 2}))
            .await,
    );
    seen.push(
        owner
            .ok(
                "get_usage",
                json!({"customer": B, "meter": "tool_calls", "limit": 1}),
            )
            .await,
    );
    seen.push(owner.ok("get_credit_balance", json!({"customer": B})).await);
    seen.push(owner.ok("get_customer", json!({"customer": B})).await);
    seen.push(owner.ok("get_billing_status", json!({"customer": B})).await);
    seen.push(
        owner
            .ok(
                "list_api_keys",
                json!({"customer": B, "include_inactive": true, "limit": 1}),
            )
            .await,
    );
    seen.push(
        owner
            .ok(
                "list_api_keys",
                json!({"customer": B, "include_inactive": true, "limit": 100}),
            )
            .await,
    );
    // Audit entries commit with the writer's next transaction: wait until B's are all there.
    let mut audit = Value::Null;
    for _ in 0..100 {
        audit = owner
            .ok("get_audit_log", json!({"customer": B, "limit": 100}))
            .await;
        if audit["entries"].as_array().is_some_and(|e| e.len() >= 8) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    seen.push(audit);
    seen.push(
        owner
            .ok("get_audit_log", json!({"customer": B, "limit": 1}))
            .await,
    );
    let mut ids = BTreeSet::new();
    seen.iter().for_each(|v| harvest(v, &mut ids));
    let key_ids: Vec<String> = ids
        .iter()
        .filter(|i| i.starts_with("bmcp_"))
        .cloned()
        .collect();
    for prefix in ["evt_", "cgr_", "aud_", "bmcp_"] {
        assert!(
            ids.iter().any(|i| i.starts_with(prefix)),
            "B has no {prefix}… id: {ids:?}"
        );
    }
    Foreign {
        customer: vec![B.to_string()],
        idempotency,
        key_ids,
        ids: ids.into_iter().collect(),
    }
}

/// A and its twin with the same history (their own events, credits and keys), and a key for
/// each that no rate limit stops during the walk (their secrets).
pub(super) async fn a_and_twin(h: &Harness, owner: &Client) -> (String, String) {
    let mut secrets = Vec::new();
    for c in [A, TWIN] {
        owner
            .ok("create_customer", json!({"customer": c, "plan": "starter"}))
            .await;
        for i in 0..3 {
            owner.ok("record_usage", json!({"customer": c, "meter": "tool_calls", "quantity": 1, "dimensions": {"tool": "search"}, "idempotency_key": format!("own-{i}")})).await;
        }
        owner
            .ok("grant_credits", json!({"customer": c, "credits": 200}))
            .await;
        let secret = keys::create(
            &h.app,
            NewKey {
                rate_per_minute: Some(100_000),
                burst: Some(10_000),
                ..NewKey::new(Role::Customer, Some(c.into()))
            },
        )
        .await
        .unwrap()
        .secret
        .unwrap();
        secrets.push(secret);
    }
    let twin = secrets.pop().unwrap();
    (secrets.pop().unwrap(), twin)
}
