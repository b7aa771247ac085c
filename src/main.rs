//! The `billing-mcp` command: `serve --stdio | --http ADDR`, `keys create | list | revoke`,
//! `migrate`, `check-catalog`.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use billing_mcp::config::gateway::GatewayArgs;
use billing_mcp::config::keys::KeysCommand;
use billing_mcp::config::retention::RetentionArgs;
use billing_mcp::config::{
    AccessArgs, CatalogArgs, HttpArgs, LedgerArgs, OutboxArgs, StripeArgs, ToolArgs, WebhookArgs,
    check_bind,
};
use billing_mcp::mcp::Identity;
use billing_mcp::mcp::prompts::Prompts;
use billing_mcp::service::outbox::Outbox;
use billing_mcp::service::{App, keys, system_clock};
use billing_mcp::stripe::Payments;
use billing_mcp::transport::{Shared, http, stdio};
use billing_mcp::{mcp, store};

/// jemalloc (with its background purge thread, see .cargo/config.toml) returns freed pages to
/// the system, so memory comes back after large requests.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Debug, Parser)]
#[command(
    name = "billing-mcp",
    version,
    about = "An MCP server that exposes billing as tools",
    after_help = "First run:\n  \
        billing-mcp keys create --role admin\n  \
        billing-mcp serve --http 127.0.0.1:8080 --catalog builtin:example\n\n\
        For an agent on stdio (Claude, VS Code, Cursor, BlackBox):\n  \
        billing-mcp serve --stdio --catalog builtin:example"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start; boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Serve MCP on stdio or streamable HTTP (one of --stdio or --http ADDR).
    #[command(
        group(clap::ArgGroup::new("transport").required(true).args(["stdio", "http"])),
        after_help = "Examples:\n  \
            billing-mcp serve --stdio --catalog builtin:example\n  \
            billing-mcp serve --http 127.0.0.1:8080 --catalog billing.toml --database-url postgres://postgres@127.0.0.1/billing"
    )]
    Serve {
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        tools: ToolArgs,
    },
    /// Serve the tools of other MCP servers, every call priced, held, forwarded and metered by
    /// the catalog's [gateway] table (one of --stdio or --http ADDR).
    #[command(
        group(clap::ArgGroup::new("transport").required(true).args(["stdio", "http"])),
        after_help = "Examples:\n  \
            billing-mcp gateway --stdio --customer acme --upstream 'files=npx -y @modelcontextprotocol/server-everything'\n  \
            billing-mcp gateway --http 127.0.0.1:8080 --upstream search=https://search.example.com/mcp \\\n    \
            --upstream-header 'search=Authorization: Bearer TOKEN' --billing-tools"
    )]
    Gateway {
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        gateway: GatewayArgs,
    },
    /// Manage API keys (the first admin key comes from here).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Create or upgrade the ledger's tables, then exit.
    #[command(
        after_help = "Example:\n  billing-mcp migrate --database-url postgres://postgres@127.0.0.1/billing"
    )]
    Migrate {
        #[command(flatten)]
        ledger: LedgerArgs,
    },
    /// Validate the catalog and print its plans, then exit (1 with the mistake named).
    #[command(after_help = "Example:\n  billing-mcp check-catalog --catalog billing.toml")]
    CheckCatalog {
        #[command(flatten)]
        catalog: CatalogArgs,
    },
}

/// What `serve` and `gateway` share: the transport, the ledger, the catalog, access, Stripe.
#[derive(Debug, clap::Args)]
struct ServerArgs {
    /// Serve on stdin/stdout (for Claude, VS Code, Cursor, BlackBox).
    #[arg(long)]
    stdio: bool,
    /// Serve streamable HTTP on this address, e.g. 127.0.0.1:8080 (`/mcp`, `/healthz`).
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
    #[command(flatten)]
    ledger: LedgerArgs,
    #[command(flatten)]
    catalog: CatalogArgs,
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
    #[command(flatten)]
    retention: RetentionArgs,
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
    // The process's TLS provider for any HTTP client built without one (the gateway's upstreams).
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Every connection is a file: take what the system allows (the soft limit is often 1,024).
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::debug!(error = %e, "the open-files limit could not be raised");
    }
    match Cli::parse().command {
        Command::Serve { server, tools } => {
            let all = mcp::tools::all();
            let names: Vec<String> = all
                .entries()
                .iter()
                .map(|e| e.tool.name.to_string())
                .collect();
            let filter = tools.filter(&names).map_err(|e| anyhow!(e))?;
            serve(server, all.filtered(&filter), None).await?;
        }
        Command::Gateway { server, gateway } => {
            let specs = gateway.specs().map_err(|e| anyhow!(e))?;
            let billing = gateway.billing_tools().map_err(|e| anyhow!(e))?;
            let registry = mcp::tools::all().only(&billing);
            let upstreams =
                mcp::gateway::Gateway::connect(&specs, gateway.options(), &billing).await?;
            serve(server, registry, Some(Arc::new(upstreams))).await?;
        }
        Command::Keys { command } => billing_mcp::config::keys::manage(command).await?,
        Command::Migrate { ledger } => {
            let backend = store::migrate(&ledger.url().map_err(|e| anyhow!(e))?).await?;
            eprintln!("ledger migrated ({backend})");
        }
        Command::CheckCatalog { catalog } => {
            let catalog = catalog.catalog_to_check().map_err(|e| anyhow!(e))?;
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

/// Serve `registry` (and the gateway's upstream tools) on stdio or HTTP until the client leaves
/// or a signal comes.
async fn serve(
    server: ServerArgs,
    registry: mcp::Registry,
    gateway: Option<Arc<mcp::gateway::Gateway>>,
) -> anyhow::Result<()> {
    let ServerArgs {
        stdio: on_stdio,
        http: addr,
        ledger,
        catalog,
        http_args,
        access,
        stripe,
        outbox,
        webhooks,
        retention,
    } = server;
    let catalog = catalog.load_catalog().map_err(|e| anyhow!("{e}"))?;
    let rates = access.role_rates().map_err(|e| anyhow!(e))?;
    let terms = &catalog.gateway;
    if let Some(timeout) = gateway.as_ref().map(|g| g.timeout())
        && timeout.as_millis() >= u128::try_from(terms.hold_ttl_ms).unwrap_or(0)
    {
        anyhow::bail!(
            "--upstream-timeout ({} s) must be shorter than the catalog's gateway.hold_ttl_seconds ({} s): a call still running when its hold expires would no longer be counted",
            timeout.as_secs(),
            terms.hold_ttl_ms / 1000
        );
    }
    if gateway.is_some()
        && terms.feature.is_none()
        && terms.tools.is_empty()
        && terms.unlisted == billing_mcp::catalog::Unlisted::Charge
    {
        anyhow::bail!(
            "the catalog has no [gateway] table, so no upstream call has a price: add [gateway] with feature = \"tool_calls\" (or unlisted = \"free\")"
        );
    }
    let store = store::open(&ledger.url().map_err(|e| anyhow!(e))?)
        .await
        .with_context(|| "cannot open the ledger (--database-url)")?;
    let app = App::with(store, catalog, system_clock(), rates)
        .with_webhooks(webhooks.settings())
        .with_retention(retention.settings());
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
    billing_mcp::transport::metrics::handle();
    if app.retention.removes_anything() {
        tokio::spawn(billing_mcp::service::retention::run(
            Arc::clone(&app),
            cancel.clone(),
        ));
    }
    if let Some(metrics_addr) = http_args.metrics_addr {
        check_bind(metrics_addr, http_args.allow_remote).map_err(|e| anyhow!(e))?;
        let listener = tokio::net::TcpListener::bind(metrics_addr)
            .await
            .with_context(|| format!("cannot listen on {metrics_addr}"))?;
        tracing::info!(address = %listener.local_addr()?, "serving Prometheus metrics at /metrics");
        tokio::spawn(billing_mcp::transport::metrics::serve(
            listener,
            Arc::clone(&app),
            cancel.clone(),
        ));
    }
    let identity = stdio_identity(&app).await?;
    let shared = Shared {
        app,
        registry: Arc::new(registry),
        prompts: Arc::new(Prompts::load().map_err(|e| anyhow!(e))?),
        identity: Arc::new(identity),
        gateway,
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
    // Clients that ask (`logging/setLevel`) get the server's own events up to debug.
    let to_clients = billing_mcp::mcp::logging::McpLogLayer.with_filter(
        tracing_subscriber::filter::filter_fn(|meta| {
            meta.target().starts_with("billing_mcp") && *meta.level() <= tracing::Level::DEBUG
        }),
    );
    tracing_subscriber::registry()
        .with(stderr)
        .with(to_clients)
        .init();
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
