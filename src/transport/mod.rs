//! Transports: stdio for an operator's agent, streamable HTTP for servers. Both serve the same
//! [`BillingServer`]; [`Shared`] holds what every connection shares.

pub mod http;
pub mod stdio;

use std::sync::Arc;

use crate::mcp::prompts::Prompts;
use crate::mcp::{BillingServer, Registry};
use crate::service::App;

#[derive(Clone)]
pub struct Shared {
    pub app: Arc<App>,
    pub registry: Arc<Registry>,
    pub prompts: Arc<Prompts>,
}

impl Shared {
    pub fn server(&self) -> BillingServer {
        BillingServer::new(
            Arc::clone(&self.app),
            Arc::clone(&self.registry),
            Arc::clone(&self.prompts),
        )
    }
}
