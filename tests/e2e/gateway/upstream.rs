//! The upstream MCP server the gateway tests call, served over streamable HTTP in the test
//! process: `echo` (no-op), `add` (structured output, read-only), `slow` (sleeps `ms`, sends
//! progress, notices cancellation), `fail` (an error result), `refuse` (a JSON-RPC invalid-params
//! error: the request refused before anything ran), `crash` (a JSON-RPC internal error while
//! running), `render` and `ping`. It counts
//! what it ran, so a test knows exactly how many calls were forwarded. `grow` adds a tool of the
//! given `name` and tells every connected session its tool list changed; with `stall_ms`, every
//! tool list asked for within that many milliseconds is never answered. `ask` asks its caller for
//! a name (form elicitation) and answers with it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ElicitRequestParams,
    ElicitationSchema, ListToolsResult, PaginatedRequestParams, ProgressNotificationParam,
    ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Value, json};

#[derive(Default)]
pub struct Counts {
    /// Calls of `slow` that started.
    pub started: AtomicU64,
    /// Calls that ran to their end.
    pub completed: AtomicU64,
    /// Calls that were cancelled while running.
    pub cancelled: AtomicU64,
}

#[derive(Clone)]
pub struct Upstream {
    pub counts: Arc<Counts>,
    /// Tools `grow` added, and every session that initialized (to tell of them).
    grown: Arc<std::sync::Mutex<Vec<String>>>,
    sessions: Arc<std::sync::Mutex<Vec<rmcp::service::Peer<RoleServer>>>>,
    /// Until when a tool list asked for is never answered.
    stalled: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

fn object(v: Value) -> Arc<serde_json::Map<String, Value>> {
    Arc::new(v.as_object().cloned().unwrap_or_default())
}

/// The tools as the upstream lists them (what the gateway must pass through unchanged).
pub fn tools() -> Vec<Tool> {
    let text = object(json!({"type": "object", "properties": {"text": {"type": "string"}}}));
    let ms =
        object(json!({"type": "object", "properties": {"ms": {"type": "integer", "minimum": 0}}}));
    let none = object(json!({"type": "object", "properties": {}}));
    let mut add = Tool::new(
        "add",
        "Add two integers.",
        object(json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]})),
    )
    .with_title("Adder")
    .with_raw_output_schema(object(json!({"type": "object", "properties": {"sum": {"type": "integer"}}, "required": ["sum"]})));
    add.annotations = Some(ToolAnnotations::new().read_only(true).idempotent(true));
    vec![
        Tool::new("echo", "Say the text back.", text.clone()),
        add,
        Tool::new("slow", "Sleep ms milliseconds, with progress.", ms),
        Tool::new("fail", "Always an error result.", none.clone()),
        Tool::new("refuse", "Always refused as invalid params.", none.clone()),
        Tool::new("crash", "Always an internal error.", none.clone()),
        Tool::new("render", "Render (5 credits).", text),
        Tool::new("ping", "Free.", none.clone()),
        Tool::new("ask", "Ask the caller for a name.", none.clone()),
        Tool::new(
            "grow",
            "Add a tool named `name`.",
            object(
                json!({"type": "object", "properties": {"name": {"type": "string"}, "stall_ms": {"type": "integer"}}}),
            ),
        ),
    ]
}

impl ServerHandler for Upstream {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .enable_prompts()
                .enable_resources()
                .build(),
        )
    }

    async fn on_initialized(&self, context: rmcp::service::NotificationContext<RoleServer>) {
        self.sessions.lock().unwrap().push(context.peer);
    }

    async fn list_prompts(
        &self,
        _r: Option<PaginatedRequestParams>,
        _c: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListPromptsResult, ErrorData> {
        Ok(rmcp::model::ListPromptsResult {
            prompts: vec![rmcp::model::Prompt::new(
                "greet",
                Some("Greet someone."),
                None,
            )],
            ..Default::default()
        })
    }

    async fn get_prompt(
        &self,
        request: rmcp::model::GetPromptRequestParams,
        _c: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::GetPromptResponse, ErrorData> {
        let name = request
            .arguments
            .and_then(|a| a.get("name").and_then(Value::as_str).map(String::from))
            .unwrap_or_default();
        let text = format!("Hello, {name}!");
        Ok(
            rmcp::model::GetPromptResult::new(vec![rmcp::model::PromptMessage::new_text(
                rmcp::model::Role::User,
                text,
            )])
            .into(),
        )
    }

    async fn list_resources(
        &self,
        _r: Option<PaginatedRequestParams>,
        _c: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListResourcesResult, ErrorData> {
        Ok(rmcp::model::ListResourcesResult {
            resources: vec![rmcp::model::Resource::new("test://readme", "readme")],
            ..Default::default()
        })
    }

    async fn read_resource(
        &self,
        request: rmcp::model::ReadResourceRequestParams,
        _c: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ReadResourceResponse, ErrorData> {
        Ok(
            rmcp::model::ReadResourceResult::new(vec![rmcp::model::ResourceContents::text(
                "read me",
                request.uri,
            )])
            .into(),
        )
    }

    async fn list_tools(
        &self,
        _r: Option<PaginatedRequestParams>,
        _c: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let stalled = *self.stalled.lock().unwrap();
        if stalled.is_some_and(|until| std::time::Instant::now() < until) {
            std::future::pending::<()>().await;
        }
        let mut all = tools();
        let none = object(json!({"type": "object", "properties": {}}));
        for name in self.grown.lock().unwrap().iter() {
            all.push(Tool::new(name.clone(), "Added later.", none.clone()));
        }
        Ok(ListToolsResult {
            tools: all,
            ..Default::default()
        })
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = request.arguments.clone().unwrap_or_default();
        let done = |r: CallToolResult| {
            self.counts.completed.fetch_add(1, Ordering::SeqCst);
            Ok(r.into())
        };
        match request.name.as_ref() {
            "add" => {
                let sum = args.get("a").and_then(Value::as_i64).unwrap_or(0)
                    + args.get("b").and_then(Value::as_i64).unwrap_or(0);
                done(CallToolResult::structured(json!({"sum": sum})))
            }
            "slow" => {
                let ms = args.get("ms").and_then(Value::as_u64).unwrap_or(50);
                self.counts.started.fetch_add(1, Ordering::SeqCst);
                if let Some(token) = context.meta.get_progress_token() {
                    let _ = context
                        .peer
                        .notify_progress(ProgressNotificationParam::new(token, 1.0).with_total(2.0))
                        .await;
                }
                tokio::select! {
                    () = tokio::time::sleep(std::time::Duration::from_millis(ms)) => done(CallToolResult::success(vec![ContentBlock::text("slept")])),
                    () = context.ct.cancelled() => {
                        self.counts.cancelled.fetch_add(1, Ordering::SeqCst);
                        Err(ErrorData::internal_error("cancelled", None))
                    }
                }
            }
            "grow" => {
                let name = args.get("name").and_then(Value::as_str).unwrap_or("extra");
                self.grown.lock().unwrap().push(name.to_string());
                if let Some(ms) = args.get("stall_ms").and_then(Value::as_u64) {
                    let until = std::time::Instant::now() + std::time::Duration::from_millis(ms);
                    *self.stalled.lock().unwrap() = Some(until);
                }
                let sessions = self.sessions.lock().unwrap().clone();
                for peer in sessions {
                    let _ = peer.notify_tool_list_changed().await;
                }
                done(CallToolResult::success(vec![ContentBlock::text("grown")]))
            }
            "ask" => {
                let asked = context
                    .peer
                    .create_elicitation(ElicitRequestParams::FormElicitationParams {
                        meta: None,
                        message: "Who is calling?".into(),
                        requested_schema: ElicitationSchema::builder()
                            .required_string("name")
                            .build_unchecked(),
                    })
                    .await;
                done(match asked {
                    Ok(r) => CallToolResult::success(vec![ContentBlock::text(
                        r.content
                            .and_then(|c| c.get("name").and_then(Value::as_str).map(String::from))
                            .unwrap_or_else(|| "no name".into()),
                    )]),
                    Err(e) => CallToolResult::error(vec![ContentBlock::text(e.to_string())]),
                })
            }
            "fail" => done(CallToolResult::error(vec![ContentBlock::text(
                "upstream failure",
            )])),
            "refuse" => Err(ErrorData::invalid_params("refuse takes no call", None)),
            "crash" => Err(ErrorData::internal_error("crashed while running", None)),
            "render" => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                done(CallToolResult::success(vec![ContentBlock::text(
                    "rendered",
                )]))
            }
            _ => done(CallToolResult::success(vec![ContentBlock::text(
                args.get("text")
                    .and_then(Value::as_str)
                    .unwrap_or("pong")
                    .to_string(),
            )])),
        }
    }
}

/// Serve a new upstream on a free local port; its URL and counts.
pub async fn start() -> (String, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let upstream = Upstream {
        counts: Arc::clone(&counts),
        grown: Arc::default(),
        sessions: Arc::default(),
        stalled: Arc::default(),
    };
    let service = StreamableHttpService::new(
        move || Ok(upstream.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let router = axum::Router::new().nest_service("/mcp", service);
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, counts)
}
