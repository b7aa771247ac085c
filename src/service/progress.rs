//! Progress of a long tool call (a catalog or reserved-tier apply), reported to the client that
//! asked for it with a progress token. The transport installs a reporter around the call; use
//! cases call [`report`] and never learn about MCP. Without a reporter a report does nothing.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;

/// Sends one progress step: (done, total, message).
#[derive(Clone)]
pub struct Reporter(Arc<dyn Fn(u64, u64, String) -> BoxFuture<'static, ()> + Send + Sync>);

impl Reporter {
    pub fn new(
        send: impl Fn(u64, u64, String) -> BoxFuture<'static, ()> + Send + Sync + 'static,
    ) -> Reporter {
        Reporter(Arc::new(send))
    }
}

tokio::task_local! {
    static REPORTER: Reporter;
}

/// Run `work` with `reporter` receiving its progress.
pub async fn scope<F: Future>(reporter: Option<Reporter>, work: F) -> F::Output {
    match reporter {
        Some(r) => REPORTER.scope(r, work).await,
        None => work.await,
    }
}

/// Report that `done` of `total` steps are finished.
pub async fn report(done: u64, total: u64, message: String) {
    if let Ok(send) = REPORTER.try_with(|r| Arc::clone(&r.0)) {
        send(done, total, message).await;
    }
}
