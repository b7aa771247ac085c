//! Every tool call passes here: the caller is identified, rate limited, admitted for the tool's
//! audience (a `customer` key held to its own customer), the tool runs, and a mutating call (or a
//! forbidden one) is written to the audit log.

use std::sync::Arc;

use rmcp::model::{CallToolResult, JsonObject, Tool};
use rmcp::service::{ElicitationError, Peer, RequestContext};
use rmcp::{RoleServer, elicit_safe};
use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::registry::{Entry, Registry, error_body, error_result};
use crate::access::{Principal, Rate, Role, redact};
use crate::service::{App, BillingError, audit};

/// How a connection's caller is known.
pub enum Identity {
    /// The process owner on stdio: an admin.
    Owner,
    /// stdio narrowed by `BILLING_MCP_API_KEY`: the key is checked again on every request, so a
    /// revoked key stops working.
    Key(SecretString),
    /// HTTP: the bearer key the `/mcp` middleware verified for this very request.
    Http,
}

impl Identity {
    pub async fn principal(
        &self,
        app: &App,
        context: &RequestContext<RoleServer>,
    ) -> Result<Principal, BillingError> {
        match self {
            Identity::Owner => Ok(Principal::owner()),
            Identity::Key(secret) => app
                .keys
                .verify(&app.store, secret.expose_secret(), app.now())
                .await
                .map_err(|e| BillingError::new("unauthorized", e.to_string())),
            Identity::Http => context
                .extensions
                .get::<axum::http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<Principal>())
                .cloned()
                .ok_or_else(|| {
                    BillingError::new("unauthorized", "this request carried no verified API key")
                }),
        }
    }
}

/// The tools a caller may see.
pub fn visible(registry: &Registry, who: &Principal) -> Vec<Tool> {
    registry
        .entries()
        .iter()
        .filter(|e| who.role.may_call(e.audience))
        .map(|e| e.tool.clone())
        .collect()
}

/// The rate of a customer key's plan, when the key has no rate of its own (read through the
/// snapshot cache, so a plan change applies within the cache's second).
pub(super) async fn plan_rate(app: &App, who: &Principal) -> Option<Rate> {
    if who.role != Role::Customer || who.rate.is_some() {
        return None;
    }
    let customer = who.customer.as_deref()?;
    let snapshot = app.store.snapshot(customer, None, app.now()).await.ok()??;
    app.catalog
        .plan(snapshot.customer.plan.as_deref()?)?
        .rate_limit
}

pub(super) fn rate_limited(retry_after_ms: u64) -> BillingError {
    BillingError::new(
        "rate_limited",
        format!("this key has used its rate of calls; retry after {retry_after_ms} ms"),
    )
    .with("retry_after_ms", retry_after_ms)
}

/// The answer a user gives to a destructive call's confirmation request.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Confirmation {
    /// Go ahead with this call.
    pub confirm: bool,
}

elicit_safe!(Confirmation);

/// A destructive call without `confirm: true` asks the user through elicitation where the client
/// supports it: yes sets `confirm`, no refuses the call; without elicitation the tool itself asks
/// for `confirm: true`.
async fn confirm(
    peer: &Peer<RoleServer>,
    entry: &Entry,
    args: &mut JsonObject,
) -> Result<(), BillingError> {
    if args.get("confirm").and_then(Value::as_bool) == Some(true) {
        return Ok(());
    }
    let shown = serde_json::to_string(&redact(args)).unwrap_or_default();
    let message = format!(
        "{}: {shown}. This cannot be undone. Go ahead?",
        entry.tool.title.as_deref().unwrap_or(&entry.tool.name)
    );
    match peer.elicit::<Confirmation>(message).await {
        Ok(Some(Confirmation { confirm: true })) => {
            args.insert("confirm".into(), Value::Bool(true));
            Ok(())
        }
        Ok(_)
        | Err(
            ElicitationError::UserDeclined
            | ElicitationError::UserCancelled
            | ElicitationError::NoContent,
        ) => Err(BillingError::new(
            "not_confirmed",
            "the user did not confirm this call, so nothing was done",
        )),
        Err(e) => {
            tracing::debug!(error = %e, "no elicitation; the tool asks for confirm: true");
            Ok(())
        }
    }
}

/// Run one call for `who`; `peer` (when the connection has one) is asked to confirm
/// destructive calls.
pub async fn call(
    app: Arc<App>,
    who: &Principal,
    entry: &Entry,
    mut args: JsonObject,
    peer: Option<&Peer<RoleServer>>,
) -> CallToolResult {
    let tool = entry.tool.name.as_ref();
    let started = std::time::Instant::now();
    let plan = plan_rate(&app, who).await;
    let admitted = app
        .limits
        .take(who, plan)
        .map_err(rate_limited)
        .and_then(|()| Ok(who.admit(tool, entry.audience, &mut args)?));
    let admitted = match (admitted, peer) {
        (Ok(customer), Some(peer)) if entry.hints.destructive => {
            confirm(peer, entry, &mut args).await.map(|()| customer)
        }
        (other, _) => other,
    };
    let (result, customer, arguments) = match admitted {
        Ok(customer) => {
            let arguments = (entry.mutates)(&args).then(|| redact(&args));
            (
                entry.call(Arc::clone(&app), args).await,
                customer,
                arguments,
            )
        }
        Err(e) => {
            // Refusals of writes, and every forbidden attempt, are kept; a flood of rate-limited
            // reads is not (it would turn into a flood of writes).
            let kept = (entry.mutates)(&args) || e.code == "forbidden";
            let named = args
                .get("customer")
                .and_then(Value::as_str)
                .map(String::from);
            (error_result(&e), named, kept.then(|| redact(&args)))
        }
    };
    let code = outcome(&result);
    let operation = entry.tool.name.clone();
    metrics::histogram!("billing_mcp_operation_duration_seconds", "operation" => operation.clone())
        .record(started.elapsed().as_secs_f64());
    if code == "rate_limited" {
        metrics::counter!("billing_rate_limited_total", "role" => who.role.as_str()).increment(1);
    }
    metrics::counter!("billing_mcp_operations_total", "operation" => operation, "status" => code.clone())
        .increment(1);
    if let Some(arguments) = arguments
        && let Err(e) = audit::record(&app, who, tool, customer, arguments, &code).await
    {
        return error_result(&e);
    }
    result
}

/// `ok`, or the error's code.
fn outcome(result: &CallToolResult) -> std::borrow::Cow<'static, str> {
    if result.is_error != Some(true) {
        return "ok".into();
    }
    error_body(result)
        .and_then(|b| b.get("code").and_then(Value::as_str).map(String::from))
        .map_or("error".into(), Into::into)
}
