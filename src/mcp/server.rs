//! The rmcp `ServerHandler`: lists and calls the registry's tools, lists and renders prompts, and
//! sends `tools/_instructions.md` at initialize. The same handler serves stdio and HTTP; state
//! lives in shared `Arc`s so the per-request factory of stateless HTTP is cheap.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, GetPromptRequestParams, GetPromptResponse,
    Implementation, ListPromptsResult, ListToolsResult, PaginatedRequestParams, ServerCapabilities,
    ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use super::prompts::Prompts;
use super::registry::Registry;
use crate::service::App;

pub const INSTRUCTIONS: &str = include_str!("../../tools/_instructions.md");

#[derive(Clone)]
pub struct BillingServer {
    app: Arc<App>,
    registry: Arc<Registry>,
    prompts: Arc<Prompts>,
}

impl BillingServer {
    pub fn new(app: Arc<App>, registry: Arc<Registry>, prompts: Arc<Prompts>) -> BillingServer {
        BillingServer {
            app,
            registry,
            prompts,
        }
    }
}

impl ServerHandler for BillingServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_prompts()
                .build(),
        )
        .with_server_info(Implementation::new(
            "billing-mcp",
            env!("CARGO_PKG_VERSION"),
        ))
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let mut result = ListToolsResult::default();
        result.tools = self.registry.tools();
        Ok(result)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.registry.get(name).map(|e| e.tool.clone())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(entry) = self.registry.get(&request.name) else {
            return Err(ErrorData::invalid_params(
                format!(
                    "unknown tool `{}`; call tools/list for the tools this server offers",
                    request.name
                ),
                None,
            ));
        };
        Ok(entry
            .call(Arc::clone(&self.app), request.arguments.unwrap_or_default())
            .await
            .into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let mut result = ListPromptsResult::default();
        result.prompts = self.prompts.list();
        Ok(result)
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let args = request.arguments.unwrap_or_default();
        self.prompts
            .render(&request.name, &args)
            .map(Into::into)
            .map_err(|m| ErrorData::invalid_params(m, None))
    }
}
