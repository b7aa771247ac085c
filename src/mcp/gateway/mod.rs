//! `billing-mcp gateway`: the tools of one or more upstream MCP servers, served to clients with
//! the same keys, roles, rate limits and audit log as `serve`, every call priced by the catalog's
//! `[gateway]` table and held, forwarded, then settled or released ([`crate::service::gateway`]).
//! Tool names keep their upstream names, or get `NAME_` prefixes when several upstreams are
//! served (or `--prefix`); schemas, annotations and descriptions pass through unchanged (a
//! pricing note is appended with `--describe-prices`). Tools the payer's plan lacks are listed
//! and refused with the upgrade link, or hidden (`--locked-tools hide`).

mod call;
mod clients;
mod in_flight;
mod listings;
mod progress;
mod sessions;
mod upstream;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use rmcp::model::Tool;

use crate::access::{Principal, Role};
use crate::catalog::Pricing;
use crate::service::{App, BillingError};
pub use clients::{Changed, Clients, accepted as accepted_subscription};
use sessions::Upstream;
pub use sessions::http_client;
pub use upstream::{Target, UpstreamSpec};

/// What a tool the payer's plan does not include does in `tools/list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locked {
    Show,
    Hide,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// `NAME_` before every tool name (always when there are several upstreams).
    pub prefix: bool,
    pub locked: Locked,
    pub describe_prices: bool,
    /// Who pays for calls of a caller that is not a customer key (the operator on stdio).
    pub customer: Option<String>,
    /// How long a call may run upstream before it is cancelled (and released), and how long one
    /// reading of an upstream's list may take.
    pub timeout: Duration,
}

pub struct Gateway {
    upstreams: Vec<Upstream>,
    options: Options,
    prefixed: bool,
    calls: AtomicU64,
    /// The billing tools served beside: an upstream tool under one of their names is not served.
    reserved: std::collections::BTreeSet<String>,
    /// Who is told when an upstream's lists change.
    pub clients: Arc<Clients>,
}

impl Gateway {
    /// Connect to every upstream and list its tools; refuses two tools served under one name,
    /// among them the billing tools served beside (`reserved`).
    pub async fn connect(
        specs: &[UpstreamSpec],
        options: Options,
        reserved: &[String],
    ) -> anyhow::Result<Gateway> {
        let clients = Arc::new(Clients::default());
        let mut upstreams = Vec::new();
        for spec in specs {
            let upstream = Upstream::connect(spec, Arc::clone(&clients), options.timeout).await?;
            tracing::info!(upstream = %spec.name, tools = upstream.relay.tools().len(), "upstream connected");
            upstreams.push(upstream);
        }
        let prefixed = options.prefix || upstreams.len() > 1;
        let gateway = Gateway {
            upstreams,
            options,
            prefixed,
            calls: AtomicU64::new(0),
            reserved: reserved.iter().cloned().collect(),
            clients,
        };
        let mut seen = gateway.reserved.clone();
        for (up, tool) in gateway.all_tools() {
            let served = gateway.served_name(up, &tool.name);
            if !seen.insert(served.clone()) {
                anyhow::bail!(
                    "two tools would be served as `{served}` (two upstreams', or an upstream's and a billing tool's): serve the upstreams with --prefix"
                );
            }
        }
        Ok(gateway)
    }

    /// Every upstream tool served, in order. A tool an upstream lists later under a name that is
    /// taken (a billing tool's, or an earlier upstream's) is left out and said in the log; the
    /// name keeps calling what it called.
    fn all_tools(&self) -> Vec<(&Upstream, Tool)> {
        let mut seen = self.reserved.clone();
        let mut out = Vec::new();
        for u in &self.upstreams {
            for t in u.relay.tools() {
                let served = self.served_name(u, &t.name);
                if seen.insert(served.clone()) {
                    out.push((u, t));
                } else {
                    tracing::warn!(upstream = %u.name, tool = %t.name, "an upstream tool is not served: its name `{served}` is taken; serve the upstreams with --prefix");
                }
            }
        }
        out
    }

    fn served_name(&self, up: &Upstream, tool: &str) -> String {
        if self.prefixed {
            format!("{}_{tool}", up.name)
        } else {
            tool.to_string()
        }
    }

    /// The upstream and tool a served name calls.
    fn route(&self, served: &str) -> Option<(&Upstream, Tool)> {
        if self.reserved.contains(served) {
            return None;
        }
        self.upstreams.iter().find_map(|u| {
            let name = if self.prefixed {
                served.strip_prefix(&u.name)?.strip_prefix('_')?
            } else {
                served
            };
            u.relay.tool(name).map(|t| (u, t))
        })
    }

    /// How long a call may run upstream.
    pub fn timeout(&self) -> Duration {
        self.options.timeout
    }

    /// Whether a name is one of the upstreams' tools.
    pub fn serves(&self, name: &str) -> bool {
        self.route(name).is_some()
    }

    /// An upstream tool by the name clients see.
    pub fn tool(&self, served: &str) -> Option<Tool> {
        self.route(served).map(|(_, mut t)| {
            t.name = served.to_string().into();
            t
        })
    }

    /// Who pays for `who`'s calls.
    fn payer(&self, who: &Principal) -> Result<String, BillingError> {
        if who.role == Role::Customer {
            return who.customer.clone().ok_or_else(|| {
                BillingError::new("forbidden", "this customer key names no customer")
            });
        }
        self.options.customer.clone().ok_or_else(|| {
            BillingError::new(
                "customer_required",
                "a call through the gateway is paid by a customer: call with a customer API key (BILLING_MCP_API_KEY on stdio), or start the gateway with --customer",
            )
        })
    }

    /// The upstreams' tools as `who` sees them.
    pub async fn tools_for(&self, app: &App, who: &Principal) -> Vec<Tool> {
        let plan = match self.payer(who) {
            Ok(customer) => match app.store.snapshot(&customer, None, app.now()).await {
                Ok(Some(s)) => app.plan_of(&s.customer).cloned(),
                Ok(None) => None,
                Err(e) => {
                    tracing::error!(error = %e, "the payer's plan could not be read; its tools are listed as locked");
                    None
                }
            },
            Err(_) => None,
        };
        let mut out = Vec::new();
        for (up, mut tool) in self.all_tools() {
            let served = self.served_name(up, &tool.name);
            let pricing = app.catalog.gateway.pricing(&served, &tool.name);
            let included = match &pricing {
                Pricing::Free => true,
                Pricing::Refuse => false,
                Pricing::Charge { feature, .. } => plan.as_ref().is_some_and(|p| {
                    p.features.contains(feature)
                        || app.catalog.feature(feature).is_some_and(|f| {
                            f.meter.as_ref().is_some_and(|m| p.meters.contains_key(m))
                        })
                }),
            };
            if !included && self.options.locked == Locked::Hide {
                continue;
            }
            if self.options.describe_prices {
                let note = price_note(app, &pricing, &tool.name, plan.as_ref());
                let description = tool.description.as_deref().unwrap_or("");
                tool.description = Some(
                    format!("{description}\n\n{note}")
                        .trim_start()
                        .to_string()
                        .into(),
                );
            }
            tool.name = served.into();
            out.push(tool);
        }
        out
    }
}

/// One sentence on what a call costs the payer, for `--describe-prices`.
fn price_note(
    app: &App,
    pricing: &Pricing,
    tool: &str,
    plan: Option<&crate::core::plan::Plan>,
) -> String {
    match pricing {
        Pricing::Free => "Billing: free.".into(),
        Pricing::Refuse => {
            "Billing: not available (the operator sells no calls of this tool).".into()
        }
        Pricing::Charge { feature, quantity } => {
            let credits = plan.is_some_and(|p| p.pay_with_credits).then(|| {
                app.catalog
                    .credits
                    .cost_of(Some(tool))
                    .saturating_mul(*quantity)
            });
            match credits {
                Some(c) => format!("Billing: each call costs {c} credits."),
                None => {
                    format!("Billing: each call counts {quantity} toward `{feature}` on your plan.")
                }
            }
        }
    }
}
