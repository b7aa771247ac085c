//! API keys: revoked keys fail on their next call, rotated secrets after their grace period,
//! requests for keys are checked and a duplicate never shows the secret, and HTTP without a valid
//! key is 401 while health stays open.

use billing_mcp::access::Role;
use serde_json::json;

use crate::support::http::{Server, json_rpc};
use crate::support::{A, Backend, Harness, backends};

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
    let health = crate::support::http_get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
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
