//! The rmcp `ServerHandler`: lists the tools the caller's key may use and calls them through
//! [`guard`](super::guard), lists and renders prompts, and sends `tools/_instructions.md` at
//! initialize, serves the catalog as resources and completes prompt and template arguments
//! ([`resources`]), and sends log events to clients that set a level. The same handler serves stdio and HTTP; state lives in shared `Arc`s so the
//! per-request factory of stateless HTTP is cheap.

use std::sync::Arc;

use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, GetPromptRequestParams, GetPromptResponse,
    Implementation, ListPromptsResult, ListToolsResult, PaginatedRequestParams,
    ProgressNotificationParam, ProtocolVersion, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use super::gateway::Gateway;
use super::guard::{self, Identity};
use super::logging::ClientLog;
use super::prompts::Prompts;
use super::registry::{Registry, error_result};
use super::resources;
use crate::access::Principal;
use crate::service::App;
use crate::service::progress::{self, Reporter};

/// Lists may change with the plan or the caller, so 2026-07-28 clients must not reuse them
/// across callers or for long.
/// Sends a long call's progress to the client when its request carried a progress token.
fn progress_reporter(context: &RequestContext<RoleServer>) -> Option<Reporter> {
    let token = context.meta.get_progress_token()?;
    let peer = context.peer.clone();
    Some(Reporter::new(move |done, total, message| {
        let peer = peer.clone();
        let param = ProgressNotificationParam::new(token.clone(), done as f64)
            .with_total(total as f64)
            .with_message(message);
        Box::pin(async move {
            if let Err(e) = peer.notify_progress(param).await {
                tracing::debug!(error = %e, "progress notification not delivered");
            }
        })
    }))
}

fn cache_hints(context: &RequestContext<RoleServer>) -> (Option<u64>, Option<CacheScope>) {
    let modern = context
        .protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
    (modern.then_some(0), modern.then_some(CacheScope::Private))
}

pub const INSTRUCTIONS: &str = include_str!("../../tools/_instructions.md");

#[derive(Clone)]
pub struct BillingServer {
    app: Arc<App>,
    registry: Arc<Registry>,
    prompts: Arc<Prompts>,
    identity: Arc<Identity>,
    /// This connection's `logging/setLevel`.
    log: Arc<ClientLog>,
    gateway: Option<Arc<Gateway>>,
}

impl BillingServer {
    pub fn new(
        app: Arc<App>,
        registry: Arc<Registry>,
        prompts: Arc<Prompts>,
        identity: Arc<Identity>,
    ) -> BillingServer {
        BillingServer {
            app,
            registry,
            prompts,
            identity,
            log: Arc::default(),
            gateway: None,
        }
    }

    /// Serve an upstream gateway's tools beside the registry's.
    pub fn with_gateway(mut self, gateway: Option<Arc<Gateway>>) -> BillingServer {
        self.gateway = gateway;
        self
    }
}

impl BillingServer {
    /// Who sent this request (the key on HTTP, the operator or `BILLING_MCP_API_KEY` on stdio).
    async fn caller(&self, context: &RequestContext<RoleServer>) -> Result<Principal, ErrorData> {
        self.identity
            .principal(&self.app, context)
            .await
            .map_err(|e| ErrorData::invalid_request(e.message, None))
    }

    /// The catalog is a resource where its tool (`list_plans`) is served; the dashboard app
    /// where `get_dashboard` is and the caller may call it.
    async fn offered(
        &self,
        context: &RequestContext<RoleServer>,
    ) -> Result<resources::Offered, ErrorData> {
        let dashboard = match self.registry.get("get_dashboard") {
            Some(entry) => self.caller(context).await?.role.may_call(entry.audience),
            None => false,
        };
        Ok(resources::Offered {
            catalog: self.registry.get("list_plans").is_some(),
            dashboard,
        })
    }
}

impl ServerHandler for BillingServer {
    // Logging is deprecated from 2026-07-28 on (SEP-2577); 2025 clients still set a level.
    #[allow(deprecated)]
    fn get_info(&self) -> ServerConfig {
        let mut capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_prompts()
            .enable_resources()
            .enable_completions()
            .enable_logging()
            .build();
        if self.gateway.is_some() {
            // An upstream's lists can change while clients are connected.
            for changed in [
                capabilities.tools.as_mut().map(|c| &mut c.list_changed),
                capabilities.prompts.as_mut().map(|c| &mut c.list_changed),
                capabilities.resources.as_mut().map(|c| &mut c.list_changed),
            ]
            .into_iter()
            .flatten()
            {
                *changed = Some(true);
            }
        }
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new(
                "billing-mcp",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(INSTRUCTIONS)
    }

    async fn on_initialized(&self, context: rmcp::service::NotificationContext<RoleServer>) {
        if let Some(gateway) = &self.gateway {
            gateway.clients.session(context.peer);
        }
    }

    fn accepted_subscription_filter(
        &self,
        requested: &rmcp::model::SubscriptionFilter,
    ) -> Option<rmcp::model::SubscriptionFilter> {
        self.gateway
            .as_ref()
            .map(|_| super::gateway::accepted_subscription(requested))
    }

    async fn listen(&self, context: rmcp::service::SubscriptionContext) -> Result<(), ErrorData> {
        if let Some(gateway) = &self.gateway {
            gateway.clients.subscription(context.sink().clone());
        }
        context.cancelled().await;
        Ok(())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.log.seen();
        let who = self.caller(&context).await?;
        let (ttl_ms, cache_scope) = cache_hints(&context);
        let mut tools = guard::visible(&self.registry, &who);
        if let Some(gateway) = &self.gateway {
            tools.extend(gateway.tools_for(&self.app, &who).await);
        }
        Ok(ListToolsResult {
            tools,
            ttl_ms,
            cache_scope,
            ..Default::default()
        })
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.registry
            .get(name)
            .map(|e| e.tool.clone())
            .or_else(|| self.gateway.as_ref()?.tool(name))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.log.seen();
        if let Some(gateway) = self
            .gateway
            .as_ref()
            .filter(|g| self.registry.get(&request.name).is_none() && g.serves(&request.name))
        {
            let who = match self.identity.principal(&self.app, &context).await {
                Ok(who) => who,
                Err(e) => return Ok(error_result(&e).into()),
            };
            if let Some(answer) = gateway.call(&self.app, &who, request, &context).await {
                return answer;
            }
            return Err(ErrorData::invalid_params(
                "the upstream's tool list changed; call tools/list again",
                None,
            ));
        }
        let Some(entry) = self.registry.get(&request.name) else {
            return Err(ErrorData::invalid_params(
                format!(
                    "unknown tool `{}`; call tools/list for the tools this server offers",
                    request.name
                ),
                None,
            ));
        };
        let who = match self.identity.principal(&self.app, &context).await {
            Ok(who) => who,
            Err(e) => return Ok(error_result(&e).into()),
        };
        let args = request.arguments.unwrap_or_default();
        let call = guard::call(
            Arc::clone(&self.app),
            &who,
            entry,
            args,
            Some(&context.peer),
        );
        Ok(progress::scope(progress_reporter(&context), call)
            .await
            .into())
    }

    /// Admins (and the operator on stdio) get the server's log events from this level up;
    /// other keys are answered but sent none (a log line may name any customer).
    #[allow(deprecated)]
    async fn set_level(
        &self,
        request: rmcp::model::SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let who = self.caller(&context).await?;
        if who.role == crate::access::Role::Admin {
            self.log.set(request.level, context.peer.clone());
        }
        Ok(())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListResourcesResult, ErrorData> {
        self.log.seen();
        let mut list = resources::list(self.offered(&context).await?);
        if let Some(gateway) = &self.gateway {
            list.resources.extend(gateway.resources());
        }
        Ok(list)
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListResourceTemplatesResult, ErrorData> {
        self.log.seen();
        let mut list = resources::templates(self.registry.get("list_plans").is_some());
        if let Some(gateway) = &self.gateway {
            list.resource_templates.extend(gateway.resource_templates());
        }
        Ok(list)
    }

    async fn read_resource(
        &self,
        request: rmcp::model::ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ReadResourceResponse, ErrorData> {
        self.log.seen();
        if let Some(gateway) = &self.gateway {
            // Upstream resources are for any caller who may use the gateway: free, like prompts.
            self.caller(&context).await?;
            if let Some(answer) = gateway.read_resource(request.clone()).await {
                return answer;
            }
        }
        let offered = self.offered(&context).await?;
        resources::read(&self.app, &request.uri, offered).map(Into::into)
    }

    async fn complete(
        &self,
        request: rmcp::model::CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CompleteResult, ErrorData> {
        self.log.seen();
        let who = self.caller(&context).await?;
        let customers = self.registry.get("list_customers").is_some();
        Ok(resources::complete(&self.app, &who, &request.argument, customers).await)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        self.log.seen();
        let (ttl_ms, cache_scope) = cache_hints(&context);
        let mut prompts = self.prompts.list();
        if let Some(gateway) = &self.gateway {
            let upstream = gateway.prompts();
            prompts.retain(|p| upstream.iter().all(|u| u.name != p.name));
            prompts.extend(upstream);
        }
        Ok(ListPromptsResult {
            prompts,
            ttl_ms,
            cache_scope,
            ..Default::default()
        })
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        self.log.seen();
        if let Some(gateway) = &self.gateway
            && let Some(answer) = gateway.get_prompt(request.clone()).await
        {
            return answer;
        }
        let args = request.arguments.unwrap_or_default();
        self.prompts
            .render(&request.name, &args)
            .map(Into::into)
            .map_err(|m| ErrorData::invalid_params(m, None))
    }
}
