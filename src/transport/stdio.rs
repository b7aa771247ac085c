//! stdio: JSON-RPC on stdin/stdout (logs go to stderr). The process owner is the operator.

use rmcp::ServiceExt;

use super::Shared;

pub async fn serve(shared: Shared) -> anyhow::Result<()> {
    let running = shared.server().serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}
