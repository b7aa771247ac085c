//! The benchmark's no-op tools: the protocol floor, a no-op whose answer has
//! `check_entitlement`'s size and shape, and a no-op that waits for a batch on another thread as
//! a consumption waits for the ledger writer's commit.

use billing_mcp::access::Audience;
use billing_mcp::mcp::registry::{BillingTool, Hints, Toolset};
use billing_mcp::service::entitlements::{CostView, EntitlementView};
use billing_mcp::service::{App, BillingError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The protocol floor: a tool that does nothing.
pub struct Noop;
#[derive(Deserialize, JsonSchema, Default)]
pub struct NoArgs {}
#[derive(Serialize, JsonSchema)]
pub struct Nothing {
    ok: bool,
}
impl BillingTool for Noop {
    const NAME: &'static str = "noop";
    const TITLE: &'static str = "No-op";
    const DESCRIPTION: &'static str = "Does nothing (benchmark floor).";
    const TOOLSET: Toolset = Toolset::Usage;
    const HINTS: Hints = Hints::READ;
    const AUDIENCE: Audience = Audience::Anyone;
    type Params = NoArgs;
    type Output = Nothing;
    async fn run(_: &App, _: NoArgs) -> Result<Nothing, BillingError> {
        Ok(Nothing { ok: true })
    }
}

/// A no-op that waits as a consumption does, without the ledger: each call hands a waker to a
/// thread of its own, which takes every call waiting, sleeps a millisecond (about a commit here)
/// and answers them all from outside the runtime. Separates what waiting for a commit costs the
/// calls' own path (their tasks parked and woken from another thread) from the ledger's work.
pub struct NoopWaiting;
impl BillingTool for NoopWaiting {
    const NAME: &'static str = "noop_waiting";
    const TITLE: &'static str = "No-op that waits for a batch";
    const DESCRIPTION: &'static str = "Does nothing, after a commit-like wait (benchmark).";
    const TOOLSET: Toolset = Toolset::Usage;
    const HINTS: Hints = Hints::READ;
    const AUDIENCE: Audience = Audience::Anyone;
    type Params = NoArgs;
    type Output = Nothing;
    async fn run(_: &App, _: NoArgs) -> Result<Nothing, BillingError> {
        let (done, wait) = tokio::sync::oneshot::channel();
        batcher()
            .send(done)
            .map_err(|_| BillingError::new("internal", "the batch thread is gone"))?;
        wait.await
            .map_err(|_| BillingError::new("internal", "the batch thread is gone"))?;
        Ok(Nothing { ok: true })
    }
}

/// The batch thread of [`NoopWaiting`], started on first use.
fn batcher() -> &'static std::sync::mpsc::Sender<tokio::sync::oneshot::Sender<()>> {
    static BATCHER: std::sync::OnceLock<std::sync::mpsc::Sender<tokio::sync::oneshot::Sender<()>>> =
        std::sync::OnceLock::new();
    BATCHER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<tokio::sync::oneshot::Sender<()>>();
        std::thread::spawn(move || {
            while let Ok(first) = rx.recv() {
                std::thread::sleep(std::time::Duration::from_millis(1));
                let _ = first.send(());
                for waiting in rx.try_iter() {
                    let _ = waiting.send(());
                }
            }
        });
        tx
    })
}

/// A no-op whose answer has the size and shape of check_entitlement's: separates the cost of a
/// bigger answer (serializing, sending and parsing it) from the cost of deciding.
pub struct NoopSized;
impl BillingTool for NoopSized {
    const NAME: &'static str = "noop_sized";
    const TITLE: &'static str = "No-op with an entitlement-sized answer";
    const DESCRIPTION: &'static str = "Does nothing (benchmark floor for a bigger answer).";
    const TOOLSET: Toolset = Toolset::Usage;
    const HINTS: Hints = Hints::READ;
    const AUDIENCE: Audience = Audience::Anyone;
    type Params = NoArgs;
    type Output = EntitlementView;
    async fn run(_: &App, _: NoArgs) -> Result<EntitlementView, BillingError> {
        Ok(EntitlementView {
            allowed: true,
            reason: "ok".into(),
            customer: "bench".into(),
            feature: "tool_calls".into(),
            meter: Some("tool_calls".into()),
            window: Some("month".into()),
            limit: Some(5000),
            used: Some(0),
            remaining: Some(5000),
            resets_at: Some("2026-12-21T12:00:00.000Z".into()),
            cost: CostView {
                amount: Some(billing_mcp::service::Money {
                    amount: 0,
                    currency: "usd".into(),
                    display: "0.00".into(),
                }),
                total_before: None,
                total_after: None,
                credits: None,
            },
            upgrade: None,
            hold: None,
            consumed: false,
            duplicate: false,
            event_id: None,
            message: "Allowed; 5000 remaining in this month.".into(),
        })
    }
}
