//! The HTTP accept loop (axum's `serve` sets no timer, so a client that trickles its headers
//! would hold a connection forever): each connection must send its request headers within the
//! read timeout, at most [`connection_cap`] are open at once (the next waits in the kernel's
//! backlog), and on shutdown open connections finish their requests for up to
//! [`DRAIN`] before they are closed.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Connections open at once, at most.
pub const MAX_CONNECTIONS: usize = 1024;
/// File descriptors kept for everything else (ledger, Stripe, logs) when the open-files limit
/// is what bounds the connections.
const OTHER_FILES: u64 = 128;

/// Connections open at once: [`MAX_CONNECTIONS`], or fewer when the process's open-files limit
/// (raised to its hard limit at start) would not leave room for the rest.
pub fn connection_cap() -> usize {
    let soft = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft);
    let room = usize::try_from(soft.saturating_sub(OTHER_FILES)).unwrap_or(MAX_CONNECTIONS);
    room.clamp(16, MAX_CONNECTIONS)
}
/// How long open connections get to finish after shutdown begins.
pub const DRAIN: Duration = Duration::from_secs(10);

/// Serve `app` on `listener` until `cancel` fires.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(connection_cap()));
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => tokio::select! {
                    _ = cancel.cancelled() => break,
                    accepted = listener.accept() => accepted.map(|a| (a, slot)),
                },
                Err(_) => break,
            },
        };
        let ((stream, _peer), slot) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Answers are small and written at once: Nagle's algorithm would hold each one back
        // until the client's delayed ACK (tens of milliseconds per call).
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "setting TCP_NODELAY failed");
        }
        let service = TowerToHyperService::new(app.clone().map_request(
            |request: axum::http::Request<Incoming>| request.map(axum::body::Body::new),
        ));
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("open connections did not finish within {DRAIN:?}; closing them");
    }
    Ok(())
}
