//! The clients connected to the gateway, told when an upstream's tools, prompts or resources
//! change: sessions of the 2025 revisions by a notification on their connection (registered when
//! they finish initializing), clients of 2026-07-28 through their `subscriptions/listen` stream.
//! Closed ones are dropped as they are found.

use std::sync::{Mutex, PoisonError};

use rmcp::RoleServer;
use rmcp::model::SubscriptionFilter;
use rmcp::service::{Peer, SubscriptionSink};

/// What an upstream changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    Tools,
    Prompts,
    Resources,
}

enum Listener {
    Session(Peer<RoleServer>),
    Subscription(SubscriptionSink),
}

#[derive(Default)]
pub struct Clients {
    /// Each listener under a number of its own.
    listeners: Mutex<Vec<(u64, Listener)>>,
    next: std::sync::atomic::AtomicU64,
}

impl Clients {
    /// A session that finished initializing.
    pub fn session(&self, peer: Peer<RoleServer>) {
        self.add(Listener::Session(peer));
    }

    /// A `subscriptions/listen` stream, until it ends.
    pub fn subscription(&self, sink: SubscriptionSink) {
        self.add(Listener::Subscription(sink));
    }

    fn add(&self, listener: Listener) {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut all = self
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        all.retain(|(_, l)| match l {
            Listener::Session(p) => !p.is_transport_closed(),
            Listener::Subscription(_) => true,
        });
        all.push((id, listener));
    }

    /// Tell every client that `what` changed.
    pub async fn changed(&self, what: Changed) {
        let listeners: Vec<(u64, Listener)> = self
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(i, l)| {
                (
                    *i,
                    match l {
                        Listener::Session(p) => Listener::Session(p.clone()),
                        Listener::Subscription(s) => Listener::Subscription(s.clone()),
                    },
                )
            })
            .collect();
        let mut gone = Vec::new();
        for (i, listener) in listeners {
            let sent = match (&listener, what) {
                (Listener::Session(p), Changed::Tools) => {
                    p.notify_tool_list_changed().await.is_ok()
                }
                (Listener::Session(p), Changed::Prompts) => {
                    p.notify_prompt_list_changed().await.is_ok()
                }
                (Listener::Session(p), Changed::Resources) => {
                    p.notify_resource_list_changed().await.is_ok()
                }
                (Listener::Subscription(s), Changed::Tools) => {
                    s.notify_tool_list_changed().await.is_ok()
                        || s.accepted().tools_list_changed != Some(true)
                }
                (Listener::Subscription(s), Changed::Prompts) => {
                    s.notify_prompt_list_changed().await.is_ok()
                        || s.accepted().prompts_list_changed != Some(true)
                }
                (Listener::Subscription(s), Changed::Resources) => {
                    s.notify_resource_list_changed().await.is_ok()
                        || s.accepted().resources_list_changed != Some(true)
                }
            };
            if !sent {
                gone.push(i);
            }
        }
        if !gone.is_empty() {
            let mut all = self
                .listeners
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            all.retain(|(id, _)| !gone.contains(id));
        }
    }
}

/// Of what a `subscriptions/listen` asks, what the gateway sends: its list changes.
pub fn accepted(requested: &SubscriptionFilter) -> SubscriptionFilter {
    let mut filter = SubscriptionFilter::new();
    filter.tools_list_changed = requested.tools_list_changed;
    filter.prompts_list_changed = requested.prompts_list_changed;
    filter.resources_list_changed = requested.resources_list_changed;
    filter
}
