//! One call through the gateway: rate limited and paid for like any call, held, forwarded with
//! its arguments, `_meta` and progress token, and ended by what came back. The upstream's result
//! is returned as it is; its error result, an error running the call, a lost connection or the
//! timeout release the hold (charged instead with `charge_failed`), as do a request the upstream
//! refused without running the tool (never charged) and the client's cancellation, which is
//! passed on to the upstream. A retried call is charged once when the client repeats
//! its `_meta` key `billing-mcp/idempotency_key`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResponse, ClientRequest, JsonObject,
    ServerResult,
};
use rmcp::service::{PeerRequestOptions, RequestContext};
use rmcp::{ErrorData, RoleServer};
use serde_json::Value;

use super::Gateway;
use crate::access::{Principal, redact};
use crate::mcp::guard::{plan_rate, rate_limited};
use crate::mcp::registry::error_result;
use crate::service::gateway::{self, Admitted, Outcome};
use crate::service::{App, BillingError, audit};

/// The `_meta` key a client repeats on a retried call so it is charged once.
pub const IDEMPOTENCY_META: &str = "billing-mcp/idempotency_key";

impl Gateway {
    /// Call an upstream tool for `who`; `None` when no upstream serves `request.name`.
    pub async fn call(
        &self,
        app: &Arc<App>,
        who: &Principal,
        request: CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Option<Result<CallToolResponse, ErrorData>> {
        let (up, tool) = self.route(&request.name)?;
        let served = request.name.to_string();
        let started = std::time::Instant::now();
        let arguments = request.arguments.clone().unwrap_or_default();
        let admitted = self
            .admit(
                app,
                who,
                (&served, &arguments),
                context,
                &up.name,
                &tool.name,
            )
            .await;
        let (response, code, customer) = match admitted {
            Err(e) => (Ok(error_result(&e).into()), e.code.to_string(), None),
            Ok(admitted) => {
                let (response, outcome) =
                    self.forward(up, &tool.name, request.clone(), context).await;
                gateway::finish(app, &admitted, outcome).await;
                (
                    response,
                    outcome.code().to_string(),
                    Some(admitted.customer),
                )
            }
        };
        metrics::histogram!("billing_mcp_operation_duration_seconds", "operation" => "gateway")
            .record(started.elapsed().as_secs_f64());
        metrics::counter!("billing_mcp_operations_total", "operation" => "gateway", "status" => code.clone())
            .increment(1);
        // Calls that may change something upstream, and every refusal, are kept.
        let read_only = tool.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true);
        if !read_only || code != "ok" {
            let args = redact(&request.arguments.clone().unwrap_or_default());
            if let Err(e) = audit::record(app, who, &served, customer, args, &code).await {
                tracing::error!(error = %e, "a gateway call's audit entry was not stored");
            }
        }
        Some(response)
    }

    async fn admit(
        &self,
        app: &App,
        who: &Principal,
        (served, arguments): (&str, &JsonObject),
        context: &RequestContext<RoleServer>,
        server: &str,
        tool: &str,
    ) -> Result<Admitted, BillingError> {
        let plan = plan_rate(app, who).await;
        app.limits.take(who, plan).map_err(rate_limited)?;
        let customer = self.payer(who)?;
        // rmcp hands a request's `_meta` to the handler in its context.
        let key = match context.meta.get(IDEMPOTENCY_META) {
            None => None,
            Some(Value::String(k))
                if !k.is_empty() && k.len() <= 200 && k.chars().all(|c| c.is_ascii_graphic()) =>
            {
                Some(call_key(k, served, arguments))
            }
            Some(_) => {
                return Err(BillingError::invalid(format!(
                    "_meta `{IDEMPOTENCY_META}` must be 1–200 printable ASCII characters without spaces"
                )));
            }
        };
        gateway::admit(app, &customer, server, served, tool, key).await
    }

    /// Send the call upstream and wait for its answer, the client's cancellation or the timeout.
    async fn forward(
        &self,
        up: &super::sessions::Upstream,
        tool: &str,
        request: CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> (Result<CallToolResponse, ErrorData>, Outcome) {
        let call_id = self.calls.fetch_add(1, Ordering::Relaxed);
        // The client's `_meta` goes on, but for its progress token (the upstream gets one of the
        // gateway's, relayed back), the billing key, and the protocol's own keys (the gateway's
        // connection to the upstream has its own version and capabilities).
        let mut meta = context.meta.clone();
        let client_token = meta.get_progress_token();
        meta.retain(|k, _| {
            k != "progressToken"
                && k != IDEMPOTENCY_META
                && !k.starts_with("io.modelcontextprotocol/")
        });
        let mut params = request;
        params.name = tool.to_string().into();
        params.meta = None;
        let mut options = PeerRequestOptions::no_options();
        options.meta = Some(meta);
        let (session, peer) = up.enter(call_id, context.peer.clone());
        if peer.is_transport_closed() {
            up.relay.in_flight.leave(call_id);
            // Never sent: released even with `charge_failed`.
            return (
                Err(upstream_lost(
                    &up.name,
                    "its session ended and is being opened again; retry in a moment",
                )),
                Outcome::Cancelled,
            );
        }
        let sent = peer
            .send_cancellable_request(
                ClientRequest::CallToolRequest(CallToolRequest::new(params)),
                options,
            )
            .await;
        let mut handle = match sent {
            Ok(h) => h,
            Err(e) => {
                up.relay.in_flight.leave(call_id);
                return (
                    Err(upstream_lost(&up.name, &e.to_string())),
                    Outcome::Failed,
                );
            }
        };
        if let Some(token) = client_token.clone() {
            let early = up.relay.follow_progress(
                (session, handle.progress_token.clone()),
                (context.peer.clone(), token),
            );
            for progress in early {
                if let Err(e) = context.peer.notify_progress(progress).await {
                    tracing::debug!(error = %e, "upstream progress not delivered");
                }
            }
        }
        let upstream_token = (session, handle.progress_token.clone());
        let answer = tokio::select! {
            r = &mut handle.rx => Some(r),
            () = context.ct.cancelled() => None,
            () = tokio::time::sleep(self.options.timeout) => Some(Ok(Err(rmcp::ServiceError::Timeout { timeout: self.options.timeout }))),
        };
        if client_token.is_some() {
            // rmcp hands each notification of the upstream to a task of its own, started before
            // the answer that came after it is delivered here: a turn of the scheduler for those
            // tasks, then a moment for progress on its way, before the answer goes out.
            tokio::task::yield_now().await;
            if up.relay.sent_progress(&upstream_token) {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
        up.relay.forget_progress(&upstream_token);
        up.relay.in_flight.leave(call_id);
        let answer = match answer {
            None => {
                let _ = handle
                    .cancel(Some("the client cancelled the call".into()))
                    .await;
                return (
                    Err(ErrorData::internal_error("the call was cancelled", None)),
                    Outcome::Cancelled,
                );
            }
            Some(Ok(answer)) => answer,
            Some(Err(_)) => Err(rmcp::ServiceError::TransportClosed),
        };
        match answer {
            Ok(ServerResult::CallToolResult(result)) => {
                let outcome = if result.is_error == Some(true) {
                    Outcome::Failed
                } else {
                    Outcome::Answered
                };
                (Ok(CallToolResponse::Complete(result)), outcome)
            }
            // More input is needed: nothing ran yet, the retry holds again.
            Ok(ServerResult::InputRequiredResult(result)) => (
                Ok(CallToolResponse::InputRequired(result)),
                Outcome::Cancelled,
            ),
            // Tasks are not served through the gateway (no tasks/get): a task the client cannot
            // fetch is not charged.
            Ok(ServerResult::CreateTaskResult(result)) => {
                (Ok(CallToolResponse::Task(result)), Outcome::Cancelled)
            }
            Ok(_) => (
                Err(upstream_lost(
                    &up.name,
                    "an unexpected answer to tools/call",
                )),
                Outcome::Failed,
            ),
            Err(rmcp::ServiceError::McpError(e)) => {
                let outcome = if refused(&e) {
                    Outcome::Refused
                } else {
                    Outcome::Failed
                };
                (Err(e), outcome)
            }
            Err(e @ rmcp::ServiceError::Timeout { .. }) => {
                let _ = handle.cancel(Some("timed out at the gateway".into())).await;
                (
                    Err(upstream_lost(&up.name, &e.to_string())),
                    Outcome::Failed,
                )
            }
            Err(e) => (
                Err(upstream_lost(&up.name, &e.to_string())),
                Outcome::Failed,
            ),
        }
    }
}

/// The ledger key of a client's call key: the key, the tool and a digest of the arguments, so a
/// key names one call (another tool or other arguments under it is another call). The spaces keep
/// it apart from `check_entitlement`'s keys, which have none.
fn call_key(key: &str, tool: &str, arguments: &JsonObject) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(Value::Object(arguments.clone()).to_string().as_bytes());
    format!("gateway call {key} {tool} {}", hex::encode(&digest[..12]))
}

/// Whether the upstream refused the request itself, before any tool ran: JSON-RPC's parse,
/// request, method and params errors, and MCP's refusals of a request it cannot serve (a header
/// that does not match, a client capability missing, a protocol version it does not speak). An
/// internal error, or a code of the server's own, may come from a call that ran.
fn refused(e: &ErrorData) -> bool {
    use rmcp::model::ErrorCode;
    [
        ErrorCode::PARSE_ERROR,
        ErrorCode::INVALID_REQUEST,
        ErrorCode::METHOD_NOT_FOUND,
        ErrorCode::INVALID_PARAMS,
        ErrorCode::HEADER_MISMATCH,
        ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY,
        ErrorCode::UNSUPPORTED_PROTOCOL_VERSION,
    ]
    .contains(&e.code)
}

fn upstream_lost(name: &str, why: &str) -> ErrorData {
    ErrorData::internal_error(format!("upstream `{name}` did not answer: {why}"), None)
}
