//! The `[gateway]` table: what each upstream tool call costs when `billing-mcp gateway` serves
//! another MCP server's tools. A call consumes a feature (its meter's prices, limits and the
//! plan's `tool_prices`, and `[credits] tool_costs`, all apply with dimension `tool` = the
//! upstream tool's name); `unlisted` says what a tool the table does not name does.
//!
//! ```toml
//! [gateway]
//! feature = "tool_calls"      # what a call consumes unless its tool says otherwise
//! unlisted = "charge"         # charge | free | refuse
//! charge_failed = false       # an upstream error or timeout is released (true: charged; a
//!                             # request the upstream refused unrun never is)
//! hold_ttl_seconds = 300      # a hold a crashed gateway left expires after this
//! [gateway.tools.search]      # by the name clients see (with its prefix) or the upstream's
//! feature = "searches"
//! quantity = 1
//! [gateway.tools.ping]
//! free = true
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::{CatalogError, Context};
use super::validate::keys;
use crate::core::plan::Feature;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySpec {
    pub feature: Option<String>,
    pub unlisted: Option<String>,
    #[serde(default)]
    pub charge_failed: bool,
    pub hold_ttl_seconds: Option<u32>,
    #[serde(default)]
    pub tools: BTreeMap<String, GatewayToolSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayToolSpec {
    pub feature: Option<String>,
    pub quantity: Option<u64>,
    #[serde(default)]
    pub free: bool,
}

/// What a tool the table does not name does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Unlisted {
    /// Consumes the table's `feature`, one unit a call.
    #[default]
    Charge,
    Free,
    Refuse,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GatewayTool {
    /// `None`: free.
    pub feature: Option<String>,
    pub quantity: u64,
}

/// The validated `[gateway]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gateway {
    pub feature: Option<String>,
    pub unlisted: Unlisted,
    pub charge_failed: bool,
    pub hold_ttl_ms: i64,
    pub tools: BTreeMap<String, GatewayTool>,
}

impl Default for Gateway {
    fn default() -> Gateway {
        Gateway {
            feature: None,
            unlisted: Unlisted::Charge,
            charge_failed: false,
            hold_ttl_ms: 300_000,
            tools: BTreeMap::new(),
        }
    }
}

/// What one upstream call costs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pricing {
    Free,
    Charge {
        feature: String,
        quantity: u64,
    },
    /// Not for sale: the catalog neither names the tool nor charges unlisted tools.
    Refuse,
}

impl Gateway {
    /// The price of a call of `served` (the name clients see), also known upstream as `upstream`.
    pub fn pricing(&self, served: &str, upstream: &str) -> Pricing {
        let charge =
            |feature: &Option<String>, quantity| match feature.as_ref().or(self.feature.as_ref()) {
                Some(f) => Pricing::Charge {
                    feature: f.clone(),
                    quantity,
                },
                None => Pricing::Refuse,
            };
        match self.tools.get(served).or_else(|| self.tools.get(upstream)) {
            Some(GatewayTool {
                feature: None,
                quantity: 0,
            }) => Pricing::Free,
            Some(t) => charge(&t.feature, t.quantity),
            None => match self.unlisted {
                Unlisted::Charge => charge(&None, 1),
                Unlisted::Free => Pricing::Free,
                Unlisted::Refuse => Pricing::Refuse,
            },
        }
    }
}

fn check_feature(
    cx: &Context<'_>,
    field: &str,
    feature: &str,
    features: &BTreeMap<String, Feature>,
    meters: &BTreeMap<String, super::Meter>,
) -> Result<(), CatalogError> {
    if features.contains_key(feature) || meters.contains_key(feature) {
        return Ok(());
    }
    Err(cx.err(
        field,
        format!("unknown feature `{feature}`"),
        format!("use a feature or meter of the catalog: {}", keys(features)),
    ))
}

pub(super) fn build(
    cx: &Context<'_>,
    spec: Option<GatewaySpec>,
    features: &BTreeMap<String, Feature>,
    meters: &BTreeMap<String, super::Meter>,
) -> Result<Gateway, CatalogError> {
    let Some(spec) = spec else {
        return Ok(Gateway::default());
    };
    if let Some(f) = &spec.feature {
        check_feature(cx, "gateway.feature", f, features, meters)?;
    }
    let unlisted = match spec.unlisted.as_deref() {
        None | Some("charge") => Unlisted::Charge,
        Some("free") => Unlisted::Free,
        Some("refuse") => Unlisted::Refuse,
        Some(other) => {
            return Err(cx.err(
                "gateway.unlisted",
                format!("`{other}` is not a choice"),
                "use charge, free or refuse",
            ));
        }
    };
    if unlisted == Unlisted::Charge && spec.feature.is_none() && spec.unlisted.is_some() {
        return Err(cx.err(
            "gateway.feature",
            "unlisted = \"charge\" needs the feature a call consumes",
            "set gateway.feature, e.g. feature = \"tool_calls\"",
        ));
    }
    let ttl = spec.hold_ttl_seconds.unwrap_or(300);
    if !(1..=86_400).contains(&ttl) {
        return Err(cx.err(
            "gateway.hold_ttl_seconds",
            format!("{ttl} is out of range"),
            "use 1 to 86400 seconds",
        ));
    }
    let mut tools = BTreeMap::new();
    for (name, t) in spec.tools {
        let field = format!("gateway.tools.{name}");
        if let Some(f) = &t.feature {
            check_feature(cx, &format!("{field}.feature"), f, features, meters)?;
        }
        let tool = if t.free {
            if t.feature.is_some() || t.quantity.is_some() {
                return Err(cx.err(
                    &field,
                    "a free tool consumes nothing",
                    "remove feature and quantity, or free = true",
                ));
            }
            GatewayTool {
                feature: None,
                quantity: 0,
            }
        } else {
            if t.feature.is_none() && spec.feature.is_none() {
                return Err(cx.err(
                    format!("{field}.feature"),
                    "the tool consumes no feature",
                    "name its feature here or set gateway.feature, or say free = true",
                ));
            }
            let quantity = t.quantity.unwrap_or(1);
            if quantity == 0 || quantity > 1_000_000_000_000 {
                return Err(cx.err(
                    format!("{field}.quantity"),
                    "quantity is out of range",
                    "use 1 to 10^12 units a call, or free = true",
                ));
            }
            GatewayTool {
                feature: t.feature.or_else(|| spec.feature.clone()),
                quantity,
            }
        };
        tools.insert(name, tool);
    }
    Ok(Gateway {
        feature: spec.feature,
        unlisted,
        charge_failed: spec.charge_failed,
        hold_ttl_ms: i64::from(ttl) * 1000,
        tools,
    })
}
