//! The sessions the gateway holds with one upstream: opened at start, each watched, and opened
//! again when it ends — a child process that exited is started again, an HTTP session rmcp
//! closed is initialized again — at once, then after 1 s, doubled up to 30 s while opening fails
//! or the sessions it opens end within 30 s. Opening (starting the child and `initialize`) gives
//! up after 30 s. On each reopening the upstream's tools, prompts and resources are read again
//! and clients are told of a list that changed. Every session opened gets a number of its own
//! (what its progress tokens are told apart by). A call goes to the next open session with no
//! call in flight (else the next open one: see `in_flight`); sent while none is open, it fails at
//! once (and releases its hold) rather than wait.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use anyhow::{Context, anyhow};
use rmcp::service::{Peer, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, RoleServer, ServiceExt};

use super::clients::{Changed, Clients};
use super::upstream::{Relay, RelayHandler, Target, UpstreamSpec, passed_on};

type Connection = RunningService<RoleClient, RelayHandler>;

/// Sessions opened with an HTTP upstream: one rmcp client sends its requests one after the
/// other, so calls in flight share several (a child process has one pipe).
const HTTP_SESSIONS: usize = 8;

/// The longest wait between two attempts to open a session again; also how long opening may
/// take, and how long a session must have lived for the next reopening to start without waiting.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A session's peer and its number among every session opened with the upstream.
type Slot = Arc<RwLock<(usize, Peer<RoleClient>)>>;

/// One upstream: its name, its relay, and a peer per session, each replaced when its session is
/// opened again.
pub struct Upstream {
    pub name: String,
    pub relay: Arc<Relay>,
    peers: Vec<Slot>,
    next: AtomicUsize,
    /// The tasks that watch and reopen the sessions (stopped with the gateway).
    watchers: Vec<tokio::task::AbortHandle>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        for w in &self.watchers {
            w.abort();
        }
    }
}

impl Upstream {
    /// Connect to an upstream (one child process, or [`HTTP_SESSIONS`] sessions with an HTTP
    /// one) and list its tools, prompts and resources.
    /// Each list is given at most `timeout` to be read, at connect and again later.
    pub async fn connect(
        spec: &UpstreamSpec,
        clients: Arc<Clients>,
        timeout: Duration,
    ) -> anyhow::Result<Upstream> {
        let relay = Arc::new(Relay::new(&spec.name, clients, timeout));
        let dialer = Arc::new(Dialer::new(spec)?);
        let count = match spec.target {
            Target::Command { .. } => 1,
            Target::Url(_) => HTTP_SESSIONS,
        };
        let mut opened = Vec::with_capacity(count);
        for _ in 0..count {
            opened.push(dialer.open_within(&relay).await?);
        }
        relay.first_reading(opened[0].1.peer()).await?;
        let mut peers = Vec::with_capacity(count);
        let mut watchers = Vec::with_capacity(count);
        for (n, (id, running)) in opened.into_iter().enumerate() {
            let slot = Arc::new(RwLock::new((id, running.peer().clone())));
            let watch = watch(
                Arc::clone(&dialer),
                Arc::clone(&relay),
                (n == 0, Arc::clone(&slot)),
                running,
            );
            watchers.push(tokio::spawn(watch).abort_handle());
            peers.push(slot);
        }
        Ok(Upstream {
            name: spec.name.clone(),
            relay,
            peers,
            next: AtomicUsize::new(0),
            watchers,
        })
    }

    /// Every session's number (what its notifications are told apart by: each session numbers
    /// its progress tokens from 0) and peer, from the next one in turn.
    fn in_turn(&self) -> Vec<(usize, Peer<RoleClient>)> {
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        (first..first + self.peers.len())
            .map(|i| {
                self.peers[i % self.peers.len()]
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone()
            })
            .collect()
    }

    /// The session for a call from `client`, entered as in flight there (`relay.in_flight`):
    /// the next open one with no call in flight, else the next open one, else a closed one.
    pub fn enter(&self, call: u64, client: Peer<RoleServer>) -> (usize, Peer<RoleClient>) {
        self.relay.in_flight.enter(call, client, self.in_turn())
    }

    /// A peer for the next request: the next open session's, or a closed one when none is open.
    pub fn peer(&self) -> Peer<RoleClient> {
        let sessions = self.in_turn();
        let first = sessions[0].1.clone();
        sessions
            .into_iter()
            .map(|(_, peer)| peer)
            .find(|peer| !peer.is_transport_closed())
            .unwrap_or(first)
    }
}

/// Wait for a session to end, open it again, put it in `slot`, and (for the first session) read
/// the upstream's lists again: a restarted child may be another version.
async fn watch(
    dialer: Arc<Dialer>,
    relay: Arc<Relay>,
    (first, slot): (bool, Slot),
    mut running: Connection,
) {
    let name = &dialer.spec.name;
    let mut wait = Duration::from_secs(1);
    loop {
        let opened = tokio::time::Instant::now();
        let reason = running.waiting().await;
        // A session that ended soon after it opened (a child that dies at once) is not started
        // again at once: the wait grows as it does while opening fails.
        if opened.elapsed() < MAX_BACKOFF {
            tracing::warn!(upstream = %name, reason = ?reason, retry_in = ?wait, "the upstream's session ended soon after it opened");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_BACKOFF);
        } else {
            tracing::warn!(upstream = %name, reason = ?reason, "the upstream's session ended; opening it again");
            wait = Duration::from_secs(1);
        }
        let (id, reopened) = loop {
            match dialer.open_within(&relay).await {
                Ok(r) => break r,
                Err(e) => {
                    tracing::warn!(upstream = %name, error = %e, retry_in = ?wait, "the upstream could not be reached");
                }
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_BACKOFF);
        };
        running = reopened;
        *slot.write().unwrap_or_else(PoisonError::into_inner) = (id, running.peer().clone());
        tracing::info!(upstream = %name, session = id, "the upstream's session is open again");
        metrics::counter!("billing_mcp_gateway_reconnects_total", "upstream" => name.clone())
            .increment(1);
        if first {
            let every = [Changed::Tools, Changed::Prompts, Changed::Resources];
            relay.reread(running.peer(), &every).await;
        }
    }
}

/// What opening a session with one upstream takes: its spec, its headers parsed once, and the
/// HTTP client its sessions share.
struct Dialer {
    spec: UpstreamSpec,
    headers: HashMap<reqwest::header::HeaderName, reqwest::header::HeaderValue>,
    http: Option<reqwest::Client>,
    /// Sessions opened so far: the next one's number.
    opened: AtomicUsize,
}

impl Dialer {
    fn new(spec: &UpstreamSpec) -> anyhow::Result<Dialer> {
        let mut headers = HashMap::new();
        for (k, v) in &spec.headers {
            let name = k
                .parse()
                .map_err(|_| anyhow!("upstream `{}`: header name `{k}` is not valid", spec.name))?;
            let value = v.parse().map_err(|_| {
                anyhow!(
                    "upstream `{}`: the value of header `{k}` is not valid",
                    spec.name
                )
            })?;
            headers.insert(name, value);
        }
        let http = match spec.target {
            Target::Url(_) => Some(http_client()?),
            Target::Command { .. } => None,
        };
        Ok(Dialer {
            spec: spec.clone(),
            headers,
            http,
            opened: AtomicUsize::new(0),
        })
    }

    /// [`Dialer::open`], given up after [`MAX_BACKOFF`] (a child that never answers
    /// `initialize` is stopped).
    async fn open_within(&self, relay: &Arc<Relay>) -> anyhow::Result<(usize, Connection)> {
        tokio::time::timeout(MAX_BACKOFF, self.open(relay))
            .await
            .map_err(|_| {
                anyhow!(
                    "upstream `{}` did not answer initialize within {MAX_BACKOFF:?}",
                    self.spec.name
                )
            })?
    }

    /// Start the child process, or open an HTTP session, and initialize it: its number and
    /// the session.
    async fn open(&self, relay: &Arc<Relay>) -> anyhow::Result<(usize, Connection)> {
        let spec = &self.spec;
        let session = self.opened.fetch_add(1, Ordering::Relaxed);
        let handler = RelayHandler(Arc::clone(relay), session);
        let running = match (&spec.target, &self.http) {
            (Target::Command { program, args }, _) => {
                let mut command = tokio::process::Command::new(program);
                command.args(args);
                // The upstream is another program: it gets what programs need to run and what
                // --upstream-env names, never the gateway's own settings or other secrets.
                command.env_clear();
                for (name, value) in std::env::vars_os() {
                    if name.to_str().is_some_and(|n| passed_on(n, &spec.env)) {
                        command.env(name, value);
                    }
                }
                let transport = TokioChildProcess::builder(command)
                    .stderr(std::process::Stdio::inherit())
                    .spawn()
                    .with_context(|| format!("upstream `{}`: cannot start `{program}`", spec.name))?
                    .0;
                handler
                    .serve(transport)
                    .await
                    .map_err(|e| anyhow!("upstream `{}`: {e}", spec.name))
            }
            (Target::Url(url), Some(client)) => {
                let config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
                    .custom_headers(self.headers.clone())
                    .max_concurrent_requests(1024);
                let transport = StreamableHttpClientTransport::with_client(client.clone(), config);
                handler
                    .serve(transport)
                    .await
                    .map_err(|e| anyhow!("upstream `{}` at {url}: {e}", spec.name))
            }
            (Target::Url(_), None) => unreachable!("an HTTP upstream's dialer has a client"),
        }?;
        Ok((session, running))
    }
}

/// The HTTP client for upstreams: rustls on ring with the Mozilla roots (the TLS stack the
/// Stripe client uses). Ring also becomes the process's default provider, which any other
/// `reqwest` client of the process needs.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()?)
}
