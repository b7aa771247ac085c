//! Webhook signatures: forged, stale, future, other-body, unsigned deliveries get 400 and store
//! nothing; several `v1` and a rolled secret are accepted; no signing secret is a 503.

use billing_mcp::stripe::signature::sign;
use serde_json::json;

use super::{Hook, NEW, OLD, event, setup, stored, subscription};
use crate::support::{Backend, Harness, NOW};

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
