//! Plain checks are served from memory; they must still see every write of their own process at
//! once, and writes of other processes within the cache's TTL. `consume` is exact at once.

use serde_json::json;

use crate::support::{HOUR, Harness, NOW, backends};

#[tokio::test]
async fn a_plain_check_sees_this_process_writes_at_once() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let c = h.client().await;
        c.ok(
            "create_customer",
            json!({"customer": "acme", "plan": "free"}),
        )
        .await;
        let check = json!({"customer": "acme", "feature": "tool_calls"});
        assert_eq!(
            c.ok("check_entitlement", check.clone()).await["remaining"],
            5
        );
        c.ok(
            "record_usage",
            json!({"customer": "acme", "meter": "tool_calls", "quantity": 2}),
        )
        .await;
        assert_eq!(
            c.ok("check_entitlement", check.clone()).await["remaining"],
            3,
            "{backend:?}"
        );
        c.ok(
            "check_entitlement",
            json!({"customer": "acme", "feature": "tool_calls", "consume": true}),
        )
        .await;
        assert_eq!(
            c.ok("check_entitlement", check.clone()).await["remaining"],
            2,
            "{backend:?}"
        );
        // a duplicate adds nothing
        c.ok("record_usage", json!({"customer": "acme", "meter": "tool_calls", "quantity": 1, "idempotency_key": "d"})).await;
        c.ok("record_usage", json!({"customer": "acme", "meter": "tool_calls", "quantity": 1, "idempotency_key": "d"})).await;
        assert_eq!(
            c.ok("check_entitlement", check.clone()).await["remaining"],
            1,
            "{backend:?}"
        );
        // usage from an earlier hour counts in the day window but not in this hour's
        c.ok("record_usage", json!({"customer": "acme", "meter": "tool_calls", "quantity": 1, "timestamp": "2026-11-21T09:59:00Z"})).await;
        assert_eq!(
            c.ok("check_entitlement", check.clone()).await["remaining"],
            1,
            "{backend:?}"
        );
        c.ok(
            "set_customer_plan",
            json!({"customer": "acme", "plan": "credits"}),
        )
        .await;
        assert_eq!(
            c.ok("check_entitlement", check.clone()).await["reason"],
            "insufficient_credits",
            "{backend:?}"
        );
        c.ok("grant_credits", json!({"customer": "acme", "credits": 3}))
            .await;
        assert_eq!(
            c.ok("check_entitlement", check.clone()).await["allowed"],
            true,
            "{backend:?}"
        );
        // the cache does not outlive the hour window it counted
        c.ok(
            "set_customer_plan",
            json!({"customer": "acme", "plan": "free"}),
        )
        .await;
        assert_eq!(
            c.ok("check_entitlement", check.clone()).await["remaining"],
            1
        );
        h.set_now(NOW + HOUR);
        assert_eq!(
            c.ok("check_entitlement", check).await["remaining"],
            5,
            "{backend:?}: a new hour"
        );
    }
}

#[tokio::test]
async fn two_processes_consume_exactly_and_plain_checks_catch_up_within_the_ttl() {
    for backend in backends() {
        let a = Harness::new(backend).await;
        let b = a.second_process().await;
        let (ca, cb) = (a.client().await, b.client().await);
        ca.ok(
            "create_customer",
            json!({"customer": "acme", "plan": "free"}),
        )
        .await;
        let check = json!({"customer": "acme", "feature": "tool_calls"});
        assert_eq!(
            ca.ok("check_entitlement", check.clone()).await["remaining"],
            5
        );
        for _ in 0..5 {
            assert_eq!(
                cb.ok(
                    "check_entitlement",
                    json!({"customer": "acme", "feature": "tool_calls", "consume": true})
                )
                .await["allowed"],
                true
            );
        }
        let consume = ca
            .ok(
                "check_entitlement",
                json!({"customer": "acme", "feature": "tool_calls", "consume": true}),
            )
            .await;
        assert_eq!(
            consume["reason"], "quota_exceeded",
            "{backend:?}: consume decides on the database"
        );
        a.set_now(NOW + billing_mcp::store::CACHE_TTL_MS);
        assert_eq!(
            ca.ok("check_entitlement", check).await["remaining"],
            0,
            "{backend:?}: caught up"
        );
    }
}
