//! The `billing-mcp` command: `serve --stdio | --http ADDR`, `migrate`, `check-catalog`.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use billing_mcp::config::{DataArgs, HttpArgs, ToolArgs, check_bind};
use billing_mcp::mcp::prompts::Prompts;
use billing_mcp::service::App;
use billing_mcp::transport::{Shared, http, stdio};
use billing_mcp::{mcp, store};

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
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    match Cli::parse().command {
        Command::Serve {
            stdio: on_stdio,
            http: addr,
            data,
            tools,
            http_args,
        } => {
            let catalog = data.load_catalog().map_err(|e| anyhow!("{e}"))?;
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
            let shared = Shared {
                app: Arc::new(App::new(store, catalog)),
                registry: Arc::new(all.filtered(&filter)),
                prompts: Arc::new(Prompts::load().map_err(|e| anyhow!(e))?),
            };
            match addr {
                Some(addr) if !on_stdio => {
                    check_bind(addr, http_args.allow_remote).map_err(|e| anyhow!(e))?;
                    let listener = tokio::net::TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("cannot listen on {addr}"))?;
                    tracing::info!(address = %listener.local_addr()?, "serving MCP over HTTP at /mcp");
                    let cancel = CancellationToken::new();
                    let on_signal = cancel.clone();
                    tokio::spawn(async move {
                        let _ = tokio::signal::ctrl_c().await;
                        on_signal.cancel();
                    });
                    http::serve(listener, shared, &http_args, cancel).await?;
                }
                _ => stdio::serve(shared).await?,
            }
        }
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
