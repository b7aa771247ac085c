//! The calls in flight on one upstream, by the session each was sent on. A request the upstream
//! sends during a call (elicitation, sampling) carries nothing that names the call, so it is
//! told apart by its session: a call goes to a session with no other call in flight while one is
//! open, and a request arriving on a session with exactly one call in flight is that call's
//! client's. With more calls than sessions (a child process has one), a request on a shared
//! session cannot be told apart and is refused rather than shown to another caller.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use rmcp::service::Peer;
use rmcp::{ErrorData, RoleClient, RoleServer};

/// Each call's session number and client.
#[derive(Default)]
pub struct InFlight(Mutex<HashMap<u64, (usize, Peer<RoleServer>)>>);

impl InFlight {
    /// Enter `call` from `client` on one of `sessions` (numbers and peers, in the order to try;
    /// never empty: an upstream opens one session or more): the first open one with no call in
    /// flight, else the first open one, else the first. The session chosen.
    pub fn enter(
        &self,
        call: u64,
        client: Peer<RoleServer>,
        mut sessions: Vec<(usize, Peer<RoleClient>)>,
    ) -> (usize, Peer<RoleClient>) {
        let mut calls = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let idle = |n: &usize| !calls.values().any(|(s, _)| s == n);
        let open = |p: &Peer<RoleClient>| !p.is_transport_closed();
        let at = sessions
            .iter()
            .position(|(n, p)| open(p) && idle(n))
            .or_else(|| sessions.iter().position(|(_, p)| open(p)))
            .unwrap_or(0);
        let chosen = sessions.swap_remove(at);
        calls.insert(call, (chosen.0, client));
        chosen
    }

    pub fn leave(&self, call: u64) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&call);
    }

    /// The client a request arriving on `session` is for: the one whose call is the only one in
    /// flight there.
    pub fn client_on(&self, session: usize) -> Result<Peer<RoleServer>, ErrorData> {
        let calls = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut on = calls.values().filter(|(s, _)| *s == session);
        match (on.next(), on.next()) {
            (Some((_, client)), None) => Ok(client.clone()),
            _ => Err(ErrorData::invalid_request(
                "the gateway relays this request only while its session with the upstream carries one call",
                None,
            )),
        }
    }
}
