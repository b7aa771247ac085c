//! Test harness: a fresh ledger per test (SQLite file, or a new PostgreSQL database when
//! `BILLING_TEST_POSTGRES_URL` is set), the example catalog, and an in-process MCP client.

pub mod binary;
mod db;
pub mod http;
pub mod stripe;

pub use db::{Backend, TestDb, backends, test_db};

use std::sync::Arc;

use billing_mcp::access::Role;
use billing_mcp::access::limits::RoleRates;
use billing_mcp::catalog::Catalog;
use billing_mcp::mcp::prompts::Prompts;
use billing_mcp::mcp::{self, Identity, ToolFilter};
use billing_mcp::service::{App, Clock, keys};
use billing_mcp::store;
use billing_mcp::stripe::{Payments, Retry, StripeSettings};
use billing_mcp::transport::Shared;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;

pub const EXAMPLE_CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/billing.toml");
pub const BINARY: &str = env!("CARGO_BIN_EXE_billing-mcp");

fn stripe_settings(stripe_url: &str) -> StripeSettings {
    StripeSettings {
        secret_key: stripe::KEY.to_string().into(),
        api_base: Some(stripe_url.to_string()),
        account: None,
        allow_live: false,
        retry: Retry {
            attempts: 3,
            backoff: std::time::Duration::from_millis(1),
        },
        meter_events_base: None,
    }
}

/// Webhooks signed with any of `secrets` are accepted, up to five minutes old.
fn webhook_settings(secrets: &[&str]) -> billing_mcp::service::webhooks::WebhookSettings {
    billing_mcp::service::webhooks::WebhookSettings {
        secrets: secrets.iter().map(|s| s.to_string().into()).collect(),
        tolerance_secs: 300,
    }
}

pub fn example_catalog() -> Catalog {
    Catalog::load(std::path::Path::new(EXAMPLE_CATALOG)).unwrap()
}

/// A fixed clock: 2026-11-21T10:30:00Z unless moved.
pub fn fixed_clock(ms: Arc<std::sync::atomic::AtomicI64>) -> Clock {
    Arc::new(move || ms.load(std::sync::atomic::Ordering::SeqCst))
}

pub const NOW: i64 = 1_795_257_000_000; // 2026-11-21T10:30:00Z
pub const HOUR: i64 = 3_600_000;
pub const DAY: i64 = 24 * HOUR;

/// The seeds' reserved tiers (seed 001), as an operator hands them to the tools.
pub const RESERVED_JSON: &str = include_str!("../../../examples/reserved.json");

/// The gateway's HTTP client turns on rustls in `reqwest` for the whole build, so every client
/// of the test process (rmcp's HTTP transport's own included) needs a default crypto provider:
/// ring, as the binary installs at start.
pub fn tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An HTTP client (see [`tls`]).
pub fn http_client() -> reqwest::Client {
    billing_mcp::mcp::gateway::http_client().unwrap()
}

/// GET a URL with [`http_client`].
pub async fn http_get(url: String) -> reqwest::Result<reqwest::Response> {
    http_client().get(url).send().await
}

/// Two customers that the isolation tests keep apart.
pub const A: &str = "cust_a";
pub const B: &str = "cust_b";

/// An App over a fresh ledger, the example catalog and a controllable clock.
pub struct Harness {
    /// Keeps the test database alive as long as the harness.
    pub _db: TestDb,
    pub app: Arc<App>,
    pub now: Arc<std::sync::atomic::AtomicI64>,
}

impl Harness {
    pub async fn new(backend: Backend) -> Harness {
        let db = test_db(backend).await;
        Harness::on(db).await
    }

    /// A harness whose catalog is `toml` instead of the example.
    pub async fn with_catalog(backend: Backend, toml: &str) -> Harness {
        let db = test_db(backend).await;
        Harness::build(db, Catalog::parse(toml, "test.toml").unwrap()).await
    }

    pub async fn on(db: TestDb) -> Harness {
        Harness::build(db, example_catalog()).await
    }

    async fn build(db: TestDb, catalog: Catalog) -> Harness {
        Harness::build_with(db, catalog, None).await
    }

    /// A harness whose Stripe is the test server at `stripe_url` (retries back off 1 ms).
    pub async fn with_stripe(backend: Backend, stripe_url: &str) -> Harness {
        let db = test_db(backend).await;
        Harness::build_with(db, example_catalog(), Some(stripe_settings(stripe_url))).await
    }

    /// A harness with Stripe at `stripe_url` and its own catalog text.
    pub async fn with_stripe_catalog(backend: Backend, stripe_url: &str, toml: &str) -> Harness {
        let db = test_db(backend).await;
        let catalog = Catalog::parse(toml, "billing.toml").unwrap();
        Harness::build_with(db, catalog, Some(stripe_settings(stripe_url))).await
    }

    /// A server with Stripe on a ledger another harness created (`ledger_url`).
    pub async fn with_stripe_on(ledger_url: String, stripe_url: &str) -> Harness {
        let db = TestDb::existing(ledger_url);
        Harness::build_with(db, example_catalog(), Some(stripe_settings(stripe_url))).await
    }

    /// A harness with Stripe at `stripe_url` that accepts its webhooks signed with `secrets`.
    pub async fn with_stripe_and_webhooks(
        backend: Backend,
        stripe_url: &str,
        secrets: &[&str],
    ) -> Harness {
        let db = test_db(backend).await;
        let stripe = Some(stripe_settings(stripe_url));
        Harness::build_full(db, example_catalog(), stripe, webhook_settings(secrets)).await
    }

    /// [`Harness::with_stripe_and_webhooks`] on a ledger made and kept alive by someone else.
    pub async fn with_stripe_and_webhooks_on(
        ledger_url: String,
        stripe_url: &str,
        secrets: &[&str],
    ) -> Harness {
        let db = TestDb::existing(ledger_url);
        let stripe = Some(stripe_settings(stripe_url));
        Harness::build_full(db, example_catalog(), stripe, webhook_settings(secrets)).await
    }

    /// A harness that accepts Stripe webhooks signed with any of `secrets`.
    pub async fn with_webhook_secrets(backend: Backend, secrets: &[&str]) -> Harness {
        let db = test_db(backend).await;
        Harness::build_full(db, example_catalog(), None, webhook_settings(secrets)).await
    }

    async fn build_with(db: TestDb, catalog: Catalog, stripe: Option<StripeSettings>) -> Harness {
        Harness::build_full(db, catalog, stripe, Default::default()).await
    }

    async fn build_full(
        db: TestDb,
        catalog: Catalog,
        stripe: Option<StripeSettings>,
        webhooks: billing_mcp::service::webhooks::WebhookSettings,
    ) -> Harness {
        let store = store::open(&db.url).await.unwrap();
        let now = Arc::new(std::sync::atomic::AtomicI64::new(NOW));
        let mut app = App::with(
            store,
            catalog,
            fixed_clock(now.clone()),
            RoleRates::default(),
        )
        .with_webhooks(webhooks);
        if let Some(settings) = stripe {
            app = app.with_stripe(Payments::connect(&settings).unwrap());
        }
        Harness {
            _db: db,
            app: Arc::new(app),
            now,
        }
    }

    /// Another server process on the same ledger: its own store (and cache), its own clock.
    pub async fn second_process(&self) -> Harness {
        let db = TestDb::existing(self._db.url.clone());
        Harness::build(db, (*self.app.catalog).clone()).await
    }

    /// Another server process on the same ledger that accepts webhooks signed with `secrets`.
    pub async fn second_process_accepting(&self, secrets: &[&str]) -> Harness {
        let db = TestDb::existing(self._db.url.clone());
        let webhooks = webhook_settings(secrets);
        Harness::build_full(db, (*self.app.catalog).clone(), None, webhooks).await
    }

    pub fn set_now(&self, ms: i64) {
        self.now.store(ms, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn shared(&self) -> Shared {
        Shared {
            app: self.app.clone(),
            registry: Arc::new(mcp::tools::all().filtered(&ToolFilter::default())),
            prompts: Arc::new(Prompts::load().unwrap()),
            identity: Arc::new(Identity::Owner),
            gateway: None,
        }
    }

    /// A new API key's secret.
    pub async fn key(&self, role: Role, customer: Option<&str>) -> String {
        keys::create(
            &self.app,
            keys::NewKey::new(role, customer.map(String::from)),
        )
        .await
        .unwrap()
        .secret
        .unwrap()
    }

    /// An MCP client connected in-process (duplex pipe) to a server on this harness, acting as
    /// the process owner (as on stdio).
    pub async fn client(&self) -> Client {
        self.client_with(Identity::Owner).await
    }

    /// A client acting as an API key (as stdio with `BILLING_MCP_API_KEY`).
    pub async fn client_as(&self, secret: &str) -> Client {
        self.client_with(Identity::Key(secret.to_string().into()))
            .await
    }

    async fn client_with(&self, identity: Identity) -> Client {
        self.client_of(Shared {
            identity: Arc::new(identity),
            ..self.shared()
        })
        .await
    }

    /// A client of a server serving `shared` (say, with a gateway) on this harness.
    pub async fn client_of(&self, shared: Shared) -> Client {
        let (server_io, client_io) = tokio::io::duplex(1 << 20);
        let server = shared.server();
        tokio::spawn(async move {
            if let Ok(running) = server.serve(server_io).await {
                let _ = running.waiting().await;
            }
        });
        Client {
            inner: Arc::new(().serve(client_io).await.unwrap()),
        }
    }
}

/// A connected MCP client with helpers that read results as JSON.
#[derive(Clone)]
pub struct Client {
    pub inner: Arc<RunningService<RoleClient, ()>>,
}

/// A tool's answer: `Ok(structured)` or `Err({code, message, ...details})`.
pub type Answer = Result<Value, Value>;

/// An error result's `{code, message, ...details}`, as a client reads it: the JSON of its text
/// block. An error carries no structured content (it would have to match the output schema).
pub fn error_body(r: &CallToolResult) -> Value {
    assert!(
        r.structured_content.is_none(),
        "an error result carries structured content: {:?}",
        r.structured_content
    );
    let text = r
        .content
        .iter()
        .find_map(|c| c.as_text())
        .map(|t| t.text.as_str())
        .unwrap_or_else(|| panic!("an error result without a text block: {r:?}"));
    serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("an error's text is not JSON ({e}): {text}"))
}

/// A success's structured content, after checking that its text block, for clients that read only
/// text, holds the same JSON.
pub fn success_body(r: &CallToolResult) -> Value {
    let structured = r.structured_content.clone().unwrap_or(Value::Null);
    if !structured.is_null() {
        let text = r
            .content
            .iter()
            .find_map(|c| c.as_text())
            .map(|t| t.text.as_str());
        let parsed = text.and_then(|t| serde_json::from_str::<Value>(t).ok());
        assert_eq!(
            parsed.as_ref(),
            Some(&structured),
            "a success's text is not its structured content as JSON: {text:?}"
        );
    }
    structured
}

impl Client {
    pub async fn raw(&self, tool: &str, args: Value) -> CallToolResult {
        let Value::Object(args) = args else {
            panic!("arguments must be an object")
        };
        self.inner
            .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args))
            .await
            .unwrap()
    }

    pub async fn call(&self, tool: &str, args: Value) -> Answer {
        let r = self.raw(tool, args).await;
        if r.is_error == Some(true) {
            Err(error_body(&r))
        } else {
            Ok(success_body(&r))
        }
    }

    /// Call and expect success.
    pub async fn ok(&self, tool: &str, args: Value) -> Value {
        match self.call(tool, args.clone()).await {
            Ok(v) => v,
            Err(e) => panic!("{tool}({args}) failed: {e}"),
        }
    }

    /// Call and expect a tool error; returns its code and message.
    pub async fn err(&self, tool: &str, args: Value) -> (String, String) {
        match self.call(tool, args.clone()).await {
            Ok(v) => panic!("{tool}({args}) should have failed but returned {v}"),
            Err(e) => (
                e["code"].as_str().unwrap_or_default().to_string(),
                e["message"].as_str().unwrap_or_default().to_string(),
            ),
        }
    }
}
