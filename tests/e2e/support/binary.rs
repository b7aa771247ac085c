//! The binary as a child process on stdio, talking to the Stripe test server: its command, and
//! the tools it lists.

use rmcp::ServiceExt;

use super::stripe::StripeServer;
use super::{BINARY, EXAMPLE_CATALOG};

/// `billing-mcp serve --stdio` on the example catalog and ledger `db`, with Stripe at `stripe`,
/// and `extra` arguments.
pub fn stdio(db: &str, stripe: &StripeServer, extra: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(BINARY);
    cmd.args([
        "serve",
        "--stdio",
        "--catalog",
        EXAMPLE_CATALOG,
        "--database-url",
        db,
    ])
    .args(extra)
    .env("STRIPE_SECRET_KEY", super::stripe::KEY)
    .env("STRIPE_API_BASE", &stripe.url)
    .stdin(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null());
    cmd
}

/// The names of the tools the binary started by `cmd` lists.
pub async fn tool_names(cmd: tokio::process::Command) -> Vec<String> {
    let client = ().serve(rmcp::transport::TokioChildProcess::new(cmd).unwrap()).await.unwrap();
    let names = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    client.cancel().await.unwrap();
    names
}
