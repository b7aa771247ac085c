//! The `billing-mcp` command: `serve --stdio | --http ADDR`, `keys create | list | revoke`,
//! `migrate`, `check-catalog`.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use billing_mcp::access::Role;
use billing_mcp::access::limits::RoleRates;
use billing_mcp::catalog::Catalog;
use billing_mcp::config::{
    AccessArgs, DataArgs, HttpArgs, OutboxArgs, StripeArgs, ToolArgs, WebhookArgs, check_bind,
};
use billing_mcp::mcp::Identity;
use billing_mcp::mcp::prompts::Prompts;
use billing_mcp::service::outbox::Outbox;
use billing_mcp::service::{App, keys, system_clock};
use billing_mcp::stripe::Payments;
use billing_mcp::transport::{Shared, http, stdio};
use billing_mcp::{mcp, store};

/// mimalloc returns freed pages to the system, so memory comes back after large requests.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Debug, Parser)]
#[command(
    name = "billing-mcp",
    version,
    about = "An MCP server that exposes billing as tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start; boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Serve MCP on stdio or streamable HTTP.
    Serve {
        /// Serve on stdin/stdout (for Claude, VS Code, Cursor, BlackBox).
        #[arg(long, conflicts_with = "http", required_unless_present = "http")]
        stdio: bool,
        /// Serve streamable HTTP on this address, e.g. 127.0.0.1:8080 (`/mcp`, `/healthz`).
        #[arg(long, value_name = "ADDR")]
        http: Option<SocketAddr>,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        tools: ToolArgs,
        #[command(flatten)]
        http_args: HttpArgs,
        #[command(flatten)]
        access: AccessArgs,
        #[command(flatten)]
        stripe: StripeArgs,
        #[command(flatten)]
        outbox: OutboxArgs,
        #[command(flatten)]
        webhooks: WebhookArgs,
    },
    /// Manage API keys (the first admin key comes from here).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Create or upgrade the ledger's tables, then exit.
    Migrate {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Validate the catalog and print its plans, then exit.
    CheckCatalog {
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a key and print its secret (once) on stdout.
    Create {
        /// admin, service or customer.
        #[arg(long)]
        role: String,
        /// The customer a customer key belongs to.
        #[arg(long)]
        customer: Option<String>,
        /// A label for lists and the audit log.
        #[arg(long)]
        name: Option<String>,
        /// The key's own rate limit (calls per minute); default: its role's.
        #[arg(long)]
        rate_per_minute: Option<u32>,
        /// Calls allowed at once (default: one minute's worth).
        #[arg(long)]
        burst: Option<u32>,
        #[arg(long, env = "DATABASE_URL", default_value = billing_mcp::config::DEFAULT_DATABASE_URL)]
        database_url: String,
    },
    /// List keys (never their secrets).
    List {
        /// Include revoked and expired keys.
        #[arg(long)]
        all: bool,
        #[arg(long, env = "DATABASE_URL", default_value = billing_mcp::config::DEFAULT_DATABASE_URL)]
        database_url: String,
    },
    /// Revoke a key at once.
    Revoke {
        key_id: String,
        #[arg(long, env = "DATABASE_URL", default_value = billing_mcp::config::DEFAULT_DATABASE_URL)]
        database_url: String,
    },
}

/// Errors end the process with one readable message (and its causes), never a backtrace.
fn main() -> std::process::ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    init_logging();
    match Cli::parse().command {
        Command::Serve {
            stdio: on_stdio,
            http: addr,
            data,
            tools,
            http_args,
            access,
            stripe,
            outbox,
            webhooks,
        } => {
            let catalog = data.load_catalog().map_err(|e| anyhow!("{e}"))?;
            let rates = access.role_rates().map_err(|e| anyhow!(e))?;
            let all = mcp::tools::all();
            let names: Vec<String> = all
                .entries()
                .iter()
                .map(|e| e.tool.name.to_string())
                .collect();
            let filter = tools.filter(&names).map_err(|e| anyhow!(e))?;
            let store = store::open(&data.database_url)
                .await
                .with_context(|| "cannot open the ledger (--database-url)")?;
            let app =
                App::with(store, catalog, system_clock(), rates).with_webhooks(webhooks.settings());
            let app = Arc::new(match stripe.settings() {
                Some(settings) => {
                    let payments = Payments::connect(&settings).map_err(|e| anyhow!(e))?;
                    tracing::info!(
                        api = settings
                            .api_base
                            .as_deref()
                            .unwrap_or("https://api.stripe.com"),
                        account = settings.account.as_deref().unwrap_or("-"),
                        "Stripe tools are on"
                    );
                    app.with_stripe(payments)
                }
                None => {
                    tracing::info!(
                        "no STRIPE_SECRET_KEY: ledger-only; Stripe tools answer stripe_not_configured"
                    );
                    app
                }
            });
            let cancel = CancellationToken::new();
            let sender = app.stripe.is_some().then(|| {
                tokio::spawn(Outbox::new(outbox.settings()).run(Arc::clone(&app), cancel.clone()))
            });
            let identity = stdio_identity(&app).await?;
            let shared = Shared {
                app,
                registry: Arc::new(all.filtered(&filter)),
                prompts: Arc::new(Prompts::load().map_err(|e| anyhow!(e))?),
                identity: Arc::new(identity),
            };
            match addr {
                Some(addr) if !on_stdio => {
                    check_bind(addr, http_args.allow_remote).map_err(|e| anyhow!(e))?;
                    let listener = tokio::net::TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("cannot listen on {addr}"))?;
                    tracing::info!(address = %listener.local_addr()?, "serving MCP over HTTP at /mcp");
                    warn_if_keyless(&shared.app).await;
                    let on_signal = cancel.clone();
                    tokio::spawn(async move {
                        let _ = tokio::signal::ctrl_c().await;
                        on_signal.cancel();
                    });
                    http::serve(listener, shared, &http_args, cancel.clone()).await?;
                }
                _ => stdio::serve(shared).await?,
            }
            cancel.cancel();
            // The sender finishes its round and gives up the sender role, so another process
            // takes over at once (a round still running after 5 s is left to its lease).
            if let Some(sender) = sender {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(5), sender).await;
            }
        }
        Command::Keys { command } => manage_keys(command).await?,
        Command::Migrate { data } => {
            let backend = store::migrate(&data.database_url).await?;
            eprintln!("ledger migrated ({backend})");
        }
        Command::CheckCatalog { data } => {
            let catalog = data.load_catalog().map_err(|e| anyhow!("{e}"))?;
            println!(
                "catalog ok: {} plans ({}), {} meters, {} features, {} credit packs",
                catalog.plans.len(),
                catalog.plans.keys().cloned().collect::<Vec<_>>().join(", "),
                catalog.meters.len(),
                catalog.features.len(),
                catalog.credits.packs.len()
            );
        }
    }
    Ok(())
}

/// Logs go to stderr, filtered by `RUST_LOG` (default `info`). rmcp logs whole messages at debug
/// and trace, and those hold secrets (a new API key is in `create_api_key`'s answer), so rmcp is
/// capped at info whatever `RUST_LOG` says.
fn init_logging() {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let env =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let no_message_dumps = tracing_subscriber::filter::filter_fn(|meta| {
        !(meta.target().starts_with("rmcp") && *meta.level() > tracing::Level::INFO)
    });
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(env)
        .with_filter(no_message_dumps);
    tracing_subscriber::registry().with(stderr).init();
}

/// stdio acts as the process owner (admin) unless `BILLING_MCP_API_KEY` names a key to act as.
async fn stdio_identity(app: &App) -> anyhow::Result<Identity> {
    let Ok(secret) = std::env::var("BILLING_MCP_API_KEY") else {
        return Ok(Identity::Owner);
    };
    let who = app
        .keys
        .verify(&app.store, secret.trim(), app.now())
        .await
        .map_err(|e| anyhow!("BILLING_MCP_API_KEY: {e}"))?;
    tracing::info!(key = ?who.key_id, role = %who.role, "stdio acts as an API key");
    Ok(Identity::Key(secrecy::SecretString::from(
        secret.trim().to_string(),
    )))
}

async fn warn_if_keyless(app: &App) {
    let listed = keys::list(
        app,
        keys::KeyFilter {
            role: None,
            customer: None,
            include_inactive: false,
            limit: 1,
            starting_after: None,
        },
    )
    .await;
    if listed.is_ok_and(|l| l.keys.is_empty()) {
        tracing::warn!(
            "no API keys yet, so every /mcp request will get 401: create one with `billing-mcp keys create --role admin`"
        );
    }
}

async fn key_app(database_url: &str) -> anyhow::Result<App> {
    let store = store::open(database_url)
        .await
        .with_context(|| "cannot open the ledger (--database-url)")?;
    Ok(App::with(
        store,
        Catalog::empty(),
        system_clock(),
        RoleRates::default(),
    ))
}

async fn manage_keys(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create {
            role,
            customer,
            name,
            rate_per_minute,
            burst,
            database_url,
        } => {
            let role = Role::parse(&role)
                .ok_or_else(|| anyhow!("--role `{role}`: use admin, service or customer"))?;
            let app = key_app(&database_url).await?;
            let issued = keys::create(
                &app,
                keys::NewKey {
                    role,
                    customer,
                    name,
                    rate_per_minute,
                    burst,
                    idempotency_key: None,
                },
            )
            .await
            .map_err(|e| anyhow!("{}", e.message))?;
            eprintln!(
                "created {} key {}; the secret below is shown only once",
                issued.key.role, issued.key.key_id
            );
            println!("{}", issued.secret.unwrap_or_default());
        }
        KeysCommand::List { all, database_url } => {
            let app = key_app(&database_url).await?;
            let mut after = None;
            loop {
                let page = keys::list(
                    &app,
                    keys::KeyFilter {
                        role: None,
                        customer: None,
                        include_inactive: all,
                        limit: 100,
                        starting_after: after,
                    },
                )
                .await
                .map_err(|e| anyhow!("{}", e.message))?;
                for k in &page.keys {
                    println!(
                        "{}  {:<8}  {:<9}  {}  {}",
                        k.key_id,
                        k.role,
                        serde_json::to_value(k.status)?.as_str().unwrap_or_default(),
                        k.customer.as_deref().unwrap_or("-"),
                        k.name
                    );
                }
                if !page.page.has_more {
                    break;
                }
                after = page.page.next_cursor;
            }
        }
        KeysCommand::Revoke {
            key_id,
            database_url,
        } => {
            let app = key_app(&database_url).await?;
            let key = keys::revoke(&app, &key_id)
                .await
                .map_err(|e| anyhow!("{}", e.message))?;
            eprintln!("revoked {} ({})", key.key_id, key.name);
        }
    }
    Ok(())
}
