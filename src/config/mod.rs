//! Configuration: command line first, then environment (`DATABASE_URL`, `BILLING_CATALOG`, …),
//! then defaults. Loads the catalog (refusing to start on any mistake in it) and builds the
//! tool filter.

pub mod gateway;
pub mod keys;
pub mod retention;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use secrecy::{ExposeSecret, SecretString};

use crate::access::Role;
use crate::access::limits::{Rate, RoleRates};
use crate::catalog::{Catalog, CatalogError};
use crate::mcp::{ToolFilter, Toolset};
use crate::service::outbox::{MeterApi, OutboxSettings};
use crate::service::webhooks::WebhookSettings;
use crate::stripe::{Retry, StripeSettings};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://billing.db";
pub const DEFAULT_CATALOG: &str = "billing.toml";

/// Where the ledger is.
#[derive(Debug, Clone, Args)]
pub struct LedgerArgs {
    /// Ledger database: sqlite://FILE (default sqlite://billing.db; `~/` is the home directory)
    /// or postgres://USER@HOST/DB.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

impl LedgerArgs {
    /// The database URL to open: see [`ledger_url`].
    pub fn url(&self) -> Result<String, String> {
        ledger_url(&self.database_url)
    }
}

/// A ledger URL ready to open: `sqlite://~/…` names a file in the home directory, and an SQLite
/// file's directory is created when missing (so `sqlite://~/.billing-mcp/billing.db` works on a
/// fresh machine).
pub fn ledger_url(url: &str) -> Result<String, String> {
    let Some(rest) = url.strip_prefix("sqlite://") else {
        return Ok(url.to_string());
    };
    let url = match rest.strip_prefix("~/") {
        Some(under_home) => {
            let home = std::env::var_os("HOME")
                .or_else(|| std::env::var_os("USERPROFILE"))
                .ok_or(
                    "--database-url starts with `~/` but HOME is not set; give an absolute path",
                )?;
            format!("sqlite://{}/{under_home}", PathBuf::from(home).display())
        }
        None => url.to_string(),
    };
    let file = url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap_or_default();
    if let Some(dir) = std::path::Path::new(file)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "cannot create the ledger's directory {}: {e}",
                dir.display()
            )
        })?;
    }
    Ok(url)
}

/// The catalog compiled into the binary (the repository's `examples/billing.toml`), named by
/// `--catalog builtin:example`: a first run needs no file.
pub const BUILTIN_EXAMPLE: &str = "builtin:example";
const EXAMPLE_CATALOG: &str = include_str!("../../examples/billing.toml");

/// Where the catalog is.
#[derive(Debug, Clone, Args)]
pub struct CatalogArgs {
    /// Catalog file (plans, meters, prices, credit packs), or `builtin:example` for the example
    /// catalog built in. Default billing.toml; when that file does not exist the server starts
    /// with an empty catalog.
    #[arg(long, env = "BILLING_CATALOG")]
    pub catalog: Option<PathBuf>,
}

impl CatalogArgs {
    /// The validated catalog; a missing default file gives an empty catalog.
    pub fn load_catalog(&self) -> Result<Catalog, CatalogError> {
        match &self.catalog {
            Some(path) if path.as_os_str() == BUILTIN_EXAMPLE => {
                Catalog::parse(EXAMPLE_CATALOG, BUILTIN_EXAMPLE)
            }
            Some(path) => Catalog::load(path),
            None => {
                let path = PathBuf::from(DEFAULT_CATALOG);
                if path.exists() {
                    Catalog::load(&path)
                } else {
                    tracing::warn!(
                        "no billing.toml here and no --catalog given: starting with an empty catalog (no plans)"
                    );
                    Ok(Catalog::empty())
                }
            }
        }
    }

    /// The catalog to check: like [`Self::load_catalog`], but a missing default file is an error
    /// (there is nothing to check).
    pub fn catalog_to_check(&self) -> Result<Catalog, String> {
        if self.catalog.is_none() && !PathBuf::from(DEFAULT_CATALOG).exists() {
            return Err(format!(
                "no catalog to check: {DEFAULT_CATALOG} is not in this directory; pass --catalog FILE \
                 (or set BILLING_CATALOG), e.g. --catalog examples/billing.toml"
            ));
        }
        self.load_catalog().map_err(|e| e.to_string())
    }
}

/// Which tools to expose.
#[derive(Debug, Clone, Default, Args)]
pub struct ToolArgs {
    /// Only these toolsets (comma-separated): usage, credits, customers, catalog, stripe, insights, admin.
    #[arg(long, value_delimiter = ',')]
    pub toolsets: Vec<String>,
    /// Also these tools, whatever their toolset (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub tools: Vec<String>,
    /// Never these tools (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub exclude_tools: Vec<String>,
    /// Only tools that change nothing (read_only_hint = true).
    #[arg(long)]
    pub read_only: bool,
}

impl ToolArgs {
    pub fn filter(&self, known_tools: &[String]) -> Result<ToolFilter, String> {
        let mut toolsets = BTreeSet::new();
        for t in &self.toolsets {
            let set = Toolset::parse(t.trim()).ok_or_else(|| {
                format!(
                    "unknown toolset `{t}`; use any of: {}",
                    Toolset::ALL.map(Toolset::as_str).join(", ")
                )
            })?;
            toolsets.insert(set);
        }
        let names = |list: &[String], flag: &str| -> Result<BTreeSet<String>, String> {
            list.iter()
                .map(|n| n.trim().to_string())
                .map(|n| {
                    if known_tools.contains(&n) {
                        Ok(n)
                    } else {
                        Err(format!("{flag}: unknown tool `{n}`"))
                    }
                })
                .collect()
        };
        Ok(ToolFilter {
            toolsets,
            tools: names(&self.tools, "--tools")?,
            exclude: names(&self.exclude_tools, "--exclude-tools")?,
            read_only: self.read_only,
        })
    }
}

/// HTTP options.
#[derive(Debug, Clone, Args)]
pub struct HttpArgs {
    /// Extra `Host` names accepted besides localhost, 127.0.0.1 and ::1 (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// Extra browser origins accepted besides http://localhost:* and http://127.0.0.1:* (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Allow binding a non-loopback address.
    #[arg(long)]
    pub allow_remote: bool,
    /// Seconds a client has to send a request's headers, and again its body (then 408, or the
    /// connection is closed).
    #[arg(long, env = "BILLING_HTTP_READ_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub read_timeout: u64,
    /// MCP sessions open at once (2025 protocol clients); past it a new session is refused
    /// with 503 until one ends or expires (after 5 minutes without a request).
    #[arg(long, env = "BILLING_MAX_SESSIONS", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_sessions: u32,
    /// Also serve Prometheus `/metrics` here without a key, e.g. 127.0.0.1:9464 (loopback
    /// unless --allow-remote); the HTTP server's own `/metrics` needs an admin or service key.
    #[arg(long, env = "BILLING_METRICS_ADDR", value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

impl Default for HttpArgs {
    fn default() -> Self {
        HttpArgs {
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            allow_remote: false,
            read_timeout: 30,
            max_sessions: 1000,
            metrics_addr: None,
        }
    }
}

/// Who may call, and how often.
#[derive(Debug, Clone, Default, Args)]
pub struct AccessArgs {
    /// Default rate limit of each role's keys, ROLE=PER_MINUTE[:BURST] or ROLE=off
    /// (comma-separated). Defaults: customer=600:100, service=off, admin=off. A key created with
    /// its own rate keeps it.
    #[arg(
        long = "rate-limit",
        env = "BILLING_RATE_LIMITS",
        value_delimiter = ',',
        value_name = "ROLE=RATE"
    )]
    pub rate_limits: Vec<String>,
}

impl AccessArgs {
    pub fn role_rates(&self) -> Result<RoleRates, String> {
        let mut rates = RoleRates::default();
        for item in &self.rate_limits {
            let (role, rate) = item.trim().split_once('=').ok_or_else(|| {
                format!(
                    "--rate-limit `{item}`: expected ROLE=PER_MINUTE[:BURST], e.g. customer=600:100"
                )
            })?;
            let rate = Rate::parse(rate.trim()).map_err(|e| format!("--rate-limit {e}"))?;
            match Role::parse(role.trim()) {
                Some(Role::Admin) => rates.admin = rate,
                Some(Role::Service) => rates.service = rate,
                Some(Role::Customer) => rates.customer = rate,
                None => {
                    return Err(format!(
                        "--rate-limit `{item}`: unknown role `{role}`; use admin, service or customer"
                    ));
                }
            }
        }
        Ok(rates)
    }
}

/// How to reach Stripe. Without a key the server runs ledger-only and the Stripe tools answer
/// `stripe_not_configured`.
#[derive(Debug, Clone, Default, Args)]
pub struct StripeArgs {
    /// Stripe secret or restricted key (sk_test_…, rk_test_…; live keys need --allow-live).
    /// Prefer the environment variable: a flag shows in the process list.
    #[arg(long = "stripe-secret-key", env = "STRIPE_SECRET_KEY", hide_env_values = true, value_parser = secret)]
    pub secret_key: Option<SecretString>,
    /// Stripe API base URL (default https://api.stripe.com; tests point it at a
    /// Stripe-compatible server).
    #[arg(long, env = "STRIPE_API_BASE")]
    pub stripe_api_base: Option<String>,
    /// Connected account (acct_…) sent as `Stripe-Account` on every request.
    #[arg(long, env = "STRIPE_ACCOUNT")]
    pub stripe_account: Option<String>,
    /// Accept a live key (sk_live_… / rk_live_…), which moves real money.
    #[arg(long, env = "STRIPE_ALLOW_LIVE")]
    pub allow_live: bool,
    /// Attempts per Stripe request on 409, 429, 5xx and network failures (same idempotency
    /// key each time; 500 ms backoff, doubled each retry).
    #[arg(long, env = "STRIPE_MAX_ATTEMPTS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub stripe_max_attempts: u32,
    /// Base URL of Stripe's v2 meter event stream (default: --stripe-api-base when given, else
    /// https://meter-events.stripe.com).
    #[arg(long, env = "STRIPE_METER_EVENTS_BASE")]
    pub stripe_meter_events_base: Option<String>,
}

/// Stripe webhooks in (`POST /webhooks/stripe` on the HTTP server).
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// The endpoint's signing secret (whsec_…); while rolling it, give the new and the old one,
    /// comma-separated. Prefer the environment variable.
    #[arg(long = "stripe-webhook-secret", env = "STRIPE_WEBHOOK_SECRET", hide_env_values = true, value_delimiter = ',', value_parser = secret)]
    pub secrets: Vec<SecretString>,
    /// Seconds a signature's timestamp may be from now (older deliveries are replays).
    #[arg(long, env = "STRIPE_WEBHOOK_TOLERANCE", default_value_t = 300, value_parser = clap::value_parser!(i64).range(1..=86_400))]
    pub stripe_webhook_tolerance: i64,
}

impl WebhookArgs {
    pub fn settings(&self) -> WebhookSettings {
        WebhookSettings {
            secrets: self
                .secrets
                .iter()
                .filter(|s| !s.expose_secret().is_empty())
                .cloned()
                .collect(),
            tolerance_secs: self.stripe_webhook_tolerance,
        }
    }
}

/// How usage reaches Stripe as meter events (only with a Stripe key).
#[derive(Debug, Clone, Args)]
pub struct OutboxArgs {
    /// How usage goes to Stripe: `stream` (the v2 meter event stream, up to 100 events per
    /// request) or `v1` (one event per request, one at a time per customer and meter).
    #[arg(long, env = "METER_EVENTS_API", value_enum, default_value_t = MeterApiArg::Stream)]
    pub meter_events_api: MeterApiArg,
    /// Meter-event requests per second to Stripe, at most, shared by every server process on
    /// the ledger (Stripe allows 1,000 v1 and 10,000 stream requests in live mode, far fewer in
    /// test mode).
    #[arg(long, env = "METER_EVENTS_PER_SECOND", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub meter_events_per_second: u32,
    /// Meter-event requests in flight at once.
    #[arg(long, env = "METER_EVENTS_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub meter_events_concurrency: u32,
    /// Seconds an event claimed by a sender stays its own; a process that dies mid-send leaves
    /// its events to be sent again (under the same identifier) after this.
    #[arg(long, env = "METER_EVENTS_LEASE", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub meter_events_lease: u64,
    /// Longest wait, in seconds, between attempts at an event Stripe did not take (429, 5xx,
    /// network); the wait starts at 1 s and doubles.
    #[arg(long, env = "METER_EVENTS_MAX_BACKOFF", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub meter_events_max_backoff: u64,
}

/// `--meter-events-api`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MeterApiArg {
    Stream,
    V1,
}

impl OutboxArgs {
    pub fn settings(&self) -> OutboxSettings {
        OutboxSettings {
            api: match self.meter_events_api {
                MeterApiArg::Stream => MeterApi::Stream,
                MeterApiArg::V1 => MeterApi::V1,
            },
            per_second: NonZeroU32::new(self.meter_events_per_second).unwrap_or(NonZeroU32::MIN),
            concurrency: self.meter_events_concurrency as usize,
            lease: Duration::from_secs(self.meter_events_lease),
            max_backoff: Duration::from_secs(self.meter_events_max_backoff),
            ..OutboxSettings::default()
        }
    }
}

fn secret(s: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(s.trim().to_string()))
}

impl StripeArgs {
    /// The settings, when a key is configured.
    pub fn settings(&self) -> Option<StripeSettings> {
        let key = self.secret_key.clone()?;
        if key.expose_secret().is_empty() {
            return None;
        }
        Some(StripeSettings {
            secret_key: key,
            api_base: self.stripe_api_base.clone(),
            account: self.stripe_account.clone(),
            allow_live: self.allow_live,
            retry: Retry {
                attempts: self.stripe_max_attempts,
                ..Retry::default()
            },
            meter_events_base: self.stripe_meter_events_base.clone(),
        })
    }
}

/// Refuse a non-loopback bind unless the operator asked for it.
pub fn check_bind(addr: SocketAddr, allow_remote: bool) -> Result<(), String> {
    if addr.ip().is_loopback() || allow_remote {
        Ok(())
    } else {
        Err(format!(
            "refusing to listen on {addr}: it is reachable from other machines. Bind 127.0.0.1, or pass --allow-remote behind a proxy that authenticates callers"
        ))
    }
}
