//! One upstream MCP server the gateway serves: where it is (a child process on stdio or a
//! streamable HTTP endpoint with headers for its own auth), its tools as last listed, and the
//! relay of what it sends back during a call: progress to the client whose call it is,
//! elicitation and sampling requests to the client whose call is the one in flight on the
//! session they came on, when it supports them (see `in_flight`), log
//! messages to the server's log (which admins that set a level receive), and a changed list read
//! again and announced to the gateway's clients.

// Sampling and logging are deprecated from 2026-07-28 on, yet upstreams of the 2025 revisions
// still send them, and they are relayed.
#![allow(deprecated)]

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use rmcp::model::{
    ClientCapabilities, ClientConfig, CreateMessageRequestParams, CreateMessageResult,
    ElicitRequestParams, ElicitResult, Implementation, LoggingMessageNotificationParam,
    ProgressNotificationParam, ProgressToken, Tool,
};
use rmcp::service::{NotificationContext, Peer, RequestContext};
use rmcp::{ClientHandler, ErrorData, RoleClient, RoleServer};

use super::clients::{Changed, Clients};
use super::in_flight::InFlight;
use super::listings::Listings;
use super::progress::{Call, Routes};

/// Where an upstream is: `NAME=COMMAND ARGS…` or `NAME=https://…/mcp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamSpec {
    pub name: String,
    pub target: Target,
    /// `Header: value` pairs sent with every HTTP request (the upstream's own auth).
    pub headers: Vec<(String, String)>,
    /// Variables of the gateway's environment a child process gets beside [`PASSED_ON`].
    pub env: Vec<String>,
}

/// What a child process gets of the gateway's environment unless `--upstream-env` names more:
/// what programs need to run (paths, locale, temporary directories), never a secret.
const PASSED_ON: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TERM",
    "TMPDIR",
    "TEMP",
    "TMP",
    "SYSTEMROOT",
    "SYSTEMDRIVE",
    "WINDIR",
    "COMSPEC",
    "PATHEXT",
    "APPDATA",
    "LOCALAPPDATA",
    "USERPROFILE",
    "PROGRAMDATA",
    "PROGRAMFILES",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
];

pub(super) fn passed_on(name: &str, extra: &[String]) -> bool {
    PASSED_ON.contains(&name)
        || name.starts_with("LC_")
        || name.starts_with("XDG_")
        || extra.iter().any(|e| e == name)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Command { program: String, args: Vec<String> },
    Url(String),
}

impl UpstreamSpec {
    /// Parse `NAME=COMMAND ARGS…` (split on spaces) or `NAME=http(s)://…`.
    pub fn parse(text: &str) -> Result<UpstreamSpec, String> {
        let (name, target) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}`: give NAME=COMMAND or NAME=https://host/mcp"))?;
        let valid = !name.is_empty()
            && name.len() <= 32
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(format!(
                "upstream name `{name}`: use 1–32 letters, digits, `-` or `_`"
            ));
        }
        let target = target.trim();
        let target = if target.starts_with("http://") || target.starts_with("https://") {
            Target::Url(target.to_string())
        } else {
            let mut words = target.split_whitespace().map(String::from);
            let program = words
                .next()
                .ok_or_else(|| format!("upstream `{name}`: the command is empty"))?;
            Target::Command {
                program,
                args: words.collect(),
            }
        };
        Ok(UpstreamSpec {
            name: name.to_string(),
            target,
            headers: Vec::new(),
            env: Vec::new(),
        })
    }
}

/// Who waits for what an upstream sends during calls in flight.
#[derive(Default)]
pub struct Relay {
    /// Where the upstream's progress goes (by the token the gateway sent with each call).
    progress: Mutex<Routes<Peer<RoleServer>>>,
    /// The calls in flight on this upstream, by session.
    pub in_flight: InFlight,
    /// The upstream's tools by upstream name, in its order.
    tools: RwLock<Vec<Tool>>,
    /// Its prompts and resources.
    pub listings: Listings,
    /// Held while the lists are read again: one reading at a time, so a reading that started
    /// earlier (a reopened session's, or another session's `list_changed`) never replaces the
    /// lists a later one read.
    reading: tokio::sync::Mutex<()>,
    /// How long one reading of a list may wait for the upstream.
    read_timeout: std::time::Duration,
    name: String,
    /// The gateway's clients, told when a list changes.
    clients: Arc<Clients>,
}

impl Relay {
    pub fn new(name: &str, clients: Arc<Clients>, read_timeout: std::time::Duration) -> Relay {
        Relay {
            name: name.to_string(),
            clients,
            read_timeout,
            ..Relay::default()
        }
    }

    /// Read the lists `which` again: one reading at a time, each list given at most the read
    /// timeout (an upstream that never answers leaves its list as it was, and never holds up the
    /// readings after it); then tell the clients of the lists that changed, after the turn is
    /// given back, so a slow client holds up no reading either.
    pub async fn reread(&self, peer: &Peer<RoleClient>, which: &[Changed]) {
        let changed = {
            let _turn = self.reading.lock().await;
            let mut changed = Vec::new();
            for &what in which {
                match self.read_list(peer, what).await {
                    Ok(true) => changed.push(what),
                    Ok(false) => {}
                    Err(why) => {
                        tracing::warn!(upstream = %self.name, list = ?what, "{why}; the list is kept as it was")
                    }
                }
            }
            changed
        };
        for what in changed {
            self.clients.changed(what).await;
        }
    }

    /// The first reading, at connect and in the same turn as every later one (so a
    /// `list_changed` that arrives while the other sessions open is never overwritten by an
    /// older list): the tools, which must be read, then the prompts and resources.
    pub async fn first_reading(&self, peer: &Peer<RoleClient>) -> anyhow::Result<()> {
        {
            let _turn = self.reading.lock().await;
            self.read_list(peer, Changed::Tools)
                .await
                .map_err(|why| anyhow::anyhow!("upstream `{}`: {why}", self.name))?;
        }
        self.reread(peer, &[Changed::Prompts, Changed::Resources])
            .await;
        Ok(())
    }

    /// Read one list, within the read timeout (the caller holds the turn); whether it changed,
    /// or why it was not read.
    async fn read_list(&self, peer: &Peer<RoleClient>, what: Changed) -> Result<bool, String> {
        let read = async {
            match what {
                Changed::Tools => match peer.list_all_tools().await {
                    Ok(tools) => Ok(self.set_tools(tools)),
                    Err(e) => Err(format!("tools/list failed: {e}")),
                },
                Changed::Prompts => Ok(self.listings.reload_prompts(peer).await),
                Changed::Resources => Ok(self.listings.reload_resources(peer).await),
            }
        };
        tokio::time::timeout(self.read_timeout, read)
            .await
            .unwrap_or_else(|_| {
                let list = match what {
                    Changed::Tools => "tools/list",
                    Changed::Prompts => "prompts/list",
                    Changed::Resources => "resources/list",
                };
                Err(format!("{list} took longer than {:?}", self.read_timeout))
            })
    }

    /// Relay the call's progress to `client` under its own token; what the upstream sent before
    /// this, to send first.
    pub fn follow_progress(
        &self,
        upstream: Call,
        client: (Peer<RoleServer>, ProgressToken),
    ) -> Vec<ProgressNotificationParam> {
        self.progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .follow(upstream, client.0, client.1)
    }

    /// Whether the upstream has sent progress for this call.
    pub fn sent_progress(&self, upstream: &Call) -> bool {
        self.progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .sent(upstream)
    }

    /// The call was answered: its later progress goes nowhere.
    pub fn forget_progress(&self, upstream: &Call) {
        self.progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .end(upstream);
    }

    pub fn tools(&self) -> Vec<Tool> {
        self.tools
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn tool(&self, name: &str) -> Option<Tool> {
        self.tools
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|t| t.name == name)
            .cloned()
    }

    /// Keep the upstream's tools; whether they differ from those kept before.
    pub fn set_tools(&self, tools: Vec<Tool>) -> bool {
        super::listings::replace(&self.tools, tools)
    }
}

#[derive(Clone)]
/// The client side of one session with an upstream: the upstream's relay, and the session's
/// number.
pub struct RelayHandler(pub Arc<Relay>, pub usize);

impl ClientHandler for RelayHandler {
    fn get_info(&self) -> ClientConfig {
        let capabilities = ClientCapabilities::builder()
            .enable_sampling()
            .enable_elicitation()
            .build();
        ClientConfig::new(
            capabilities,
            Implementation::new("billing-mcp-gateway", env!("CARGO_PKG_VERSION")),
        )
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let routed = self
            .0
            .progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .arrive(self.1, params, std::time::Instant::now());
        if let Some((peer, param)) = routed
            && let Err(e) = peer.notify_progress(param).await
        {
            tracing::debug!(error = %e, "upstream progress not delivered");
        }
    }

    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        tracing::info!(upstream = %self.0.name, logger = params.logger.as_deref().unwrap_or(""), data = %params.data, "upstream log");
    }

    // Each session with an HTTP upstream hears of a change: clients hear of it once, as only
    // a list that differs from the one kept is announced.
    async fn on_prompt_list_changed(&self, context: NotificationContext<RoleClient>) {
        self.0.reread(&context.peer, &[Changed::Prompts]).await;
    }

    async fn on_resource_list_changed(&self, context: NotificationContext<RoleClient>) {
        self.0.reread(&context.peer, &[Changed::Resources]).await;
    }

    async fn on_tool_list_changed(&self, context: NotificationContext<RoleClient>) {
        self.0.reread(&context.peer, &[Changed::Tools]).await;
    }

    #[allow(deprecated)]
    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, ErrorData> {
        let peer = self.0.in_flight.client_on(self.1)?;
        if peer
            .peer_info()
            .is_none_or(|i| i.capabilities.sampling.is_none())
        {
            return Err(ErrorData::invalid_request(
                "the client does not support sampling",
                None,
            ));
        }
        peer.create_message(params)
            .await
            .map_err(|e| ErrorData::internal_error(format!("the client did not answer: {e}"), None))
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let peer = self.0.in_flight.client_on(self.1)?;
        if peer
            .peer_info()
            .is_none_or(|i| i.capabilities.elicitation.is_none())
        {
            return Err(ErrorData::invalid_request(
                "the client does not support elicitation",
                None,
            ));
        }
        peer.create_elicitation(request)
            .await
            .map_err(|e| ErrorData::internal_error(format!("the client did not answer: {e}"), None))
    }
}
