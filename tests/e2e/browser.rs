//! What a web page on another site gets from the HTTP server: 403 on every route it could reach,
//! before any key or signature is looked at (so it cannot even learn whether a key is live),
//! and a foreign `Host` (DNS rebinding) refused on `/mcp`. Clients without an Origin (SDKs,
//! curl, Stripe's webhooks) are answered as before.

use billing_mcp::access::Role;
use serde_json::json;

use crate::support::http::{Server, tools_call};
use crate::support::{Backend, Harness};

const EVIL: &str = "http://evil.example";

#[tokio::test]
async fn a_foreign_origin_gets_403_before_the_key_is_checked() {
    let h = Harness::with_webhook_secrets(Backend::Sqlite, &["whsec_test1"]).await;
    let server = Server::start(&h).await;
    let admin = h.key(Role::Admin, None).await;
    let args = json!({"customer": "evil"});
    for (key, what) in [
        (None, "no key"),
        (Some("bmcp_not_a_key"), "a forged key"),
        (Some(admin.as_str()), "a valid key"),
    ] {
        let resp = server
            .post("create_customer", args.clone(), key, Some(EVIL))
            .await;
        assert_eq!(resp.status(), 403, "POST /mcp from {EVIL} with {what}");
        assert!(
            resp.headers().get("www-authenticate").is_none(),
            "{what}: no challenge tells the page a key would help"
        );
    }
    let http = crate::support::http_client();
    let mcp = format!("{}/mcp", server.base);
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let resp = http
            .request(method.clone(), &mcp)
            .header("origin", EVIL)
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            403,
            "{method} /mcp from {EVIL} without a key"
        );
    }
    let health = http
        .get(format!("{}/healthz", server.base))
        .header("origin", EVIL)
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 403, "/healthz read from {EVIL}");
    let hook = http
        .post(format!("{}/webhooks/stripe", server.base))
        .header("origin", EVIL)
        .header("stripe-signature", "t=1,v1=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status(), 403, "a webhook posted by a page on {EVIL}");

    // Without an Origin, as SDKs and Stripe send: the key or the signature decides.
    let keyless = server
        .post("create_customer", args.clone(), None, None)
        .await;
    assert_eq!(
        keyless.status(),
        401,
        "no Origin, no key: authentication asks"
    );
    let local = server
        .post("create_customer", args, None, Some("http://localhost:5173"))
        .await;
    assert_eq!(local.status(), 401, "a local page still needs a key");
    let unsigned = http
        .post(format!("{}/webhooks/stripe", server.base))
        .header("stripe-signature", "t=1,v1=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        unsigned.status(),
        400,
        "Stripe's route checks its signature"
    );
    let health = http.get(format!("{}/healthz", server.base)).send().await;
    assert_eq!(health.unwrap().status(), 200);
    let (code, _) = h
        .client()
        .await
        .err("get_customer", json!({"customer": "evil"}))
        .await;
    assert_eq!(code, "unknown_customer", "nothing ran for the foreign page");
}

#[tokio::test]
async fn a_foreign_host_gets_403_on_mcp_before_the_key_is_checked() {
    let h = Harness::new(Backend::Sqlite).await;
    let server = Server::start(&h).await;
    let admin = h.key(Role::Admin, None).await;
    for key in [None, Some(admin.as_str())] {
        let mut req =
            tools_call(&server.base, "list_plans", json!({})).header("host", "evil.example");
        if let Some(k) = key {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        let resp = req.send().await.unwrap();
        assert_eq!(
            resp.status(),
            403,
            "Host evil.example, key: {}",
            key.is_some()
        );
    }
    let port = server.base.rsplit(':').next().unwrap();
    let local = tools_call(&server.base, "list_plans", json!({}))
        .header("host", format!("localhost:{port}"))
        .header("authorization", format!("Bearer {admin}"))
        .send()
        .await
        .unwrap();
    assert_eq!(local.status(), 200, "Host localhost is the server's own");
}
