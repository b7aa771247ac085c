//! The billing of one call through `billing-mcp gateway`: priced by the catalog's `[gateway]`
//! table, held before it is forwarded (so concurrent calls never pass a limit or overdraw),
//! settled when the upstream answered, released when it failed, timed out or was cancelled
//! (a failure is charged instead when the catalog says `charge_failed`; a request the upstream
//! refused without running the tool never is). A denial is an error
//! the model can act on: the reason as its code, the limit, when it resets and the upgrade link.

use std::collections::BTreeMap;

use serde_json::Value;

use super::entitlements::{self, CheckInput, EntitlementView, Held, SettleInput};
use super::{App, BillingError};
use crate::catalog::Pricing;
use crate::core::entitlement::Reason;

/// A call admitted: the hold to end, if the call costs anything.
#[derive(Debug, Clone)]
pub struct Admitted {
    pub customer: String,
    pub hold: Option<Held>,
}

/// How a forwarded call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The upstream answered with a result (not an error result).
    Answered,
    /// An error result, an error the upstream met running the call, a lost upstream or a
    /// timeout.
    Failed,
    /// The upstream refused the request before running the tool: a JSON-RPC parse, request,
    /// method or params error (say arguments it rejects, or a tool it no longer has), or MCP's
    /// header mismatch, missing client capability or unsupported protocol version. Released
    /// even with `charge_failed`.
    Refused,
    /// The client cancelled the call.
    Cancelled,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "ok",
            Outcome::Failed => "error",
            Outcome::Refused => "refused",
            Outcome::Cancelled => "cancelled",
        }
    }

    /// The code of the call's audit entry and of its operation metric.
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Answered => "ok",
            Outcome::Failed => "upstream_error",
            Outcome::Refused => "upstream_refused",
            Outcome::Cancelled => "cancelled",
        }
    }
}

fn denial(view: EntitlementView, tool: &str) -> BillingError {
    // The decision's reason is the error's code (the codes of `check_entitlement`).
    let code = Reason::parse(&view.reason).map_or("not_allowed", Reason::as_str);
    let mut e = BillingError::new(code, view.message)
        .with("tool", tool)
        .with("feature", view.feature);
    let figures = [
        ("limit", view.limit.map(Value::from)),
        ("used", view.used.map(Value::from)),
        ("remaining", view.remaining.map(Value::from)),
        ("resets_at", view.resets_at.map(Value::from)),
        ("window", view.window.map(Value::from)),
        ("credits_needed", view.cost.credits.map(Value::from)),
    ];
    for (key, value) in figures {
        if let Some(v) = value {
            e = e.with(key, v);
        }
    }
    if let Some(up) = view.upgrade {
        e = e.with("upgrade_plan", up.plan);
        if let Some(url) = up.url {
            e = e.with("upgrade_url", url);
        }
    }
    e
}

/// Price and hold one call of `served` (upstream `server`'s tool `tool`) for `customer`.
/// `key`, when the client gave one, makes a retried call charged once: while the first call runs
/// a retry is refused (`call_in_progress`), after it answered too (`already_answered`: the
/// gateway keeps no answers), and after it failed the retry runs and holds under the key. The key
/// is the client's key with the tool and a digest of its arguments (see `call.rs`), kept apart
/// from `check_entitlement`'s keys.
pub async fn admit(
    app: &App,
    customer: &str,
    server: &str,
    served: &str,
    tool: &str,
    key: Option<String>,
) -> Result<Admitted, BillingError> {
    let (feature, quantity) = match app.catalog.gateway.pricing(served, tool) {
        Pricing::Free => {
            return Ok(Admitted {
                customer: customer.to_string(),
                hold: None,
            });
        }
        Pricing::Refuse => {
            return Err(BillingError::new(
                "tool_not_for_sale",
                format!("`{served}` has no price in the catalog's [gateway] table, so it cannot be called; ask the operator to list it"),
            )
            .with("tool", served));
        }
        Pricing::Charge { feature, quantity } => (feature, quantity),
    };
    let dimensions = BTreeMap::from([("server_id".to_string(), server.to_string())]);
    let input = CheckInput {
        customer: customer.to_string(),
        feature,
        quantity,
        consume: false,
        tool: Some(tool.to_string()),
        dimensions: dimensions.clone(),
        idempotency_key: key,
        hold_ttl_ms: Some(app.catalog.gateway.hold_ttl_ms),
        compact: false,
    };
    let view = entitlements::check(app, input).await?;
    if let Some(first) = view.hold.as_ref().filter(|h| h.duplicate) {
        return Err(match first.status.as_str() {
            "settled" => BillingError::new(
                "already_answered",
                "a call with this idempotency key was answered and charged; the gateway keeps no answers: to call again, send a new key",
            ),
            _ => BillingError::new(
                "call_in_progress",
                "a call with this idempotency key is running; wait for its answer (a retry after it failed runs again)",
            ),
        });
    }
    if !view.allowed {
        return Err(denial(view, served));
    }
    // What the hold was placed with, so settling it needs no reading of it.
    let hold = view.hold.map(|h| Held {
        id: h.hold_id,
        feature: h.feature,
        dimensions,
        tool: Some(tool.to_string()),
        quantity: h.quantity,
    });
    Ok(Admitted {
        customer: customer.to_string(),
        hold,
    })
}

/// End a call's hold: settled into usage when it answered (or failed, with `charge_failed`),
/// released otherwise. A failure here is logged: the hold then expires and nothing is charged.
pub async fn finish(app: &App, admitted: &Admitted, outcome: Outcome) {
    let Some(held) = &admitted.hold else {
        return;
    };
    let hold_id = &held.id;
    let charge = match outcome {
        Outcome::Answered => true,
        Outcome::Failed => app.catalog.gateway.charge_failed,
        Outcome::Refused | Outcome::Cancelled => false,
    };
    let ended = if charge {
        let input = SettleInput {
            customer: admitted.customer.clone(),
            hold_id: hold_id.clone(),
            quantity: None,
            dimensions: BTreeMap::from([("outcome".to_string(), outcome.as_str().to_string())]),
        };
        entitlements::settle_held(app, held.clone(), input)
            .await
            .map(|_| ())
    } else {
        entitlements::release(app, &admitted.customer, hold_id)
            .await
            .map(|_| ())
    };
    metrics::counter!("billing_gateway_calls_total", "outcome" => outcome.as_str(), "charged" => if charge { "true" } else { "false" }).increment(1);
    if let Err(e) = ended {
        tracing::error!(hold = %hold_id, error = %e, "a gateway hold could not be ended; it expires unsettled");
    }
}
