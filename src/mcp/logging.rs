//! MCP logging (`logging/setLevel`, `notifications/message`): the server's own `tracing` events
//! (targets `billing_mcp…`; rmcp's, which dump whole messages, never) go to each client that set
//! a level, at that level and above. A field named like a secret, or a value shaped like one, is
//! sent as `[redacted]`. Only the operator on stdio and admin keys receive them: a log line may
//! name any customer. A stream pauses while its client sends nothing for five minutes (so it
//! never keeps an idle session alive) and ends with its connection. (Logging is deprecated from protocol 2026-07-28 on, SEP-2577; 2025 clients
//! still use it, and a stateless request has no stream to log on.)
#![allow(deprecated)]

use std::fmt::Debug;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use rmcp::RoleServer;
use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam};
use rmcp::service::Peer;
use serde_json::{Map, Value};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;

use crate::access::{secret_field, secret_value};

/// One log event as clients receive it.
#[derive(Debug, Clone)]
pub struct Record {
    level: u8,
    logger: String,
    data: Value,
}

/// Events waiting for slow clients; a client further behind skips what it missed.
const BACKLOG: usize = 256;

fn hub() -> &'static broadcast::Sender<Record> {
    static HUB: OnceLock<broadcast::Sender<Record>> = OnceLock::new();
    HUB.get_or_init(|| broadcast::channel(BACKLOG).0)
}

/// The `tracing` layer that feeds clients: install it beside the stderr layer.
pub struct McpLogLayer;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for McpLogLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        if !meta.target().starts_with("billing_mcp") || hub().receiver_count() == 0 {
            return;
        }
        let mut fields = Fields(Map::new());
        event.record(&mut fields);
        let _ = hub().send(Record {
            level: rank(tracing_level(*meta.level())),
            logger: meta.target().to_string(),
            data: Value::Object(fields.0),
        });
    }
}

/// An event's fields as JSON, secrets redacted.
struct Fields(Map<String, Value>);

impl Fields {
    fn put(&mut self, field: &Field, value: String) {
        let value = if secret_field(field.name()) || secret_value(&value) {
            "[redacted]".to_string()
        } else {
            value
        };
        self.0
            .insert(field.name().to_string(), Value::String(value));
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.put(field, format!("{value:?}"));
    }
}

fn tracing_level(level: tracing::Level) -> LoggingLevel {
    match level {
        tracing::Level::ERROR => LoggingLevel::Error,
        tracing::Level::WARN => LoggingLevel::Warning,
        tracing::Level::INFO => LoggingLevel::Info,
        _ => LoggingLevel::Debug,
    }
}

/// Severity as a number, lowest first (RFC 5424's order, as MCP's levels follow it).
fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

fn level_of(rank: u8) -> LoggingLevel {
    match rank {
        0 => LoggingLevel::Debug,
        1 => LoggingLevel::Info,
        2 => LoggingLevel::Notice,
        3 => LoggingLevel::Warning,
        4 => LoggingLevel::Error,
        5 => LoggingLevel::Critical,
        6 => LoggingLevel::Alert,
        _ => LoggingLevel::Emergency,
    }
}

/// How long a client may send no request before its log stream pauses: the idle time after which
/// rmcp ends a session (a notification sent would otherwise keep the session alive forever).
const IDLE_SECS: u64 = 300;

/// Seconds since the process started (a clock for idleness only).
fn now_secs() -> u64 {
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs()
}

/// One connection's log stream: the level it asked for, when it last sent a request, and its
/// forwarder, which ends with the connection (when the handler is dropped).
#[derive(Default)]
pub struct ClientLog {
    level: Arc<AtomicU8>,
    seen: Arc<AtomicU64>,
    started: OnceLock<()>,
    stop: CancellationToken,
}

impl Drop for ClientLog {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl ClientLog {
    /// The client sent a request: its stream goes on (see [`IDLE_SECS`]).
    pub fn seen(&self) {
        self.seen.store(now_secs(), Ordering::Relaxed);
    }

    /// Set this connection's level; the first call starts sending it events.
    pub fn set(&self, level: LoggingLevel, peer: Peer<RoleServer>) {
        self.level.store(rank(level), Ordering::Relaxed);
        self.seen();
        if self.started.set(()).is_err() {
            return;
        }
        let (threshold, seen, stop) = (
            Arc::clone(&self.level),
            Arc::clone(&self.seen),
            self.stop.clone(),
        );
        let mut events = hub().subscribe();
        tokio::spawn(async move {
            loop {
                let record = tokio::select! {
                    _ = stop.cancelled() => return,
                    record = events.recv() => match record {
                        Ok(record) => record,
                        Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                };
                let idle = now_secs().saturating_sub(seen.load(Ordering::Relaxed)) >= IDLE_SECS;
                if idle || record.level < threshold.load(Ordering::Relaxed) {
                    continue;
                }
                let param =
                    LoggingMessageNotificationParam::new(level_of(record.level), record.data)
                        .with_logger(record.logger);
                if peer.notify_logging_message(param).await.is_err() {
                    return; // the client is gone
                }
            }
        });
    }
}
