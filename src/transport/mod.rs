//! Transports: stdio for an operator's agent, streamable HTTP for servers. Both serve the same
//! [`BillingServer`]; [`Shared`] holds what every connection shares.

mod auth;
mod body;
mod dashboard;
pub mod http;
pub mod jsonrpc;
mod listen;
pub mod metrics;
mod origin;
pub mod stdio;

use std::sync::Arc;

use crate::mcp::gateway::Gateway;
use crate::mcp::prompts::Prompts;
use crate::mcp::{BillingServer, Identity, Registry};
use crate::service::App;

/// Largest message, on stdio (one line) and HTTP (one body): big enough that an oversized
/// argument (say a 10 MB string) reaches argument validation and comes back as an
/// `invalid_params` tool error, not a dropped connection.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Clone)]
pub struct Shared {
    pub app: Arc<App>,
    pub registry: Arc<Registry>,
    pub prompts: Arc<Prompts>,
    /// Who calls on stdio (HTTP identifies every request by its bearer key instead).
    pub identity: Arc<Identity>,
    /// With `billing-mcp gateway`: the upstream servers whose tools are served beside the
    /// registry's.
    pub gateway: Option<Arc<Gateway>>,
}

impl Shared {
    pub fn server(&self) -> BillingServer {
        BillingServer::new(
            Arc::clone(&self.app),
            Arc::clone(&self.registry),
            Arc::clone(&self.prompts),
            Arc::clone(&self.identity),
        )
        .with_gateway(self.gateway.clone())
    }
}
