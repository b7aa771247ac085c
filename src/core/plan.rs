//! Plans and features as the core sees them: what a plan grants, what it includes, what it limits
//! per window, how usage above the included units is priced, and what happens at a limit.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::money::{Currency, MinorUnits};
use super::period::{Interval, Window};
use super::tier::PriceModel;

/// What happens when a limit window is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AtLimit {
    /// Deny with `quota_exceeded`.
    Block,
    /// Deny with `quota_exceeded` and name the plan to upgrade to.
    UpgradePrompt,
    /// Allow and price the extra units (the limit is a soft cap).
    ChargeOverage,
}

/// What happens while the customer's payment is overdue (Stripe `past_due` or delinquent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverduePolicy {
    Block,
    Allow,
}

/// A plan's terms for one meter.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PlanMeter {
    /// Units per billing period that the base price covers.
    pub included: u64,
    /// Hard (or, with `charge_overage`, soft) caps per window.
    pub limits: BTreeMap<Window, u64>,
    /// Price of the units above `included`; `None` means they are free.
    pub price: Option<PriceModel>,
    /// Per-tool prices (dimension `tool`); such usage is priced in full by its own price.
    pub tool_prices: BTreeMap<String, PriceModel>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub currency: Currency,
    pub monthly: Option<MinorUnits>,
    pub yearly: Option<MinorUnits>,
    pub trial_days: u32,
    pub features: BTreeSet<String>,
    pub meters: BTreeMap<String, PlanMeter>,
    pub at_limit: AtLimit,
    pub upgrade_to: Option<String>,
    pub pay_with_credits: bool,
    pub on_payment_overdue: OverduePolicy,
    /// The rate limit of this plan's customers' keys (those without a rate of their own).
    pub rate_limit: Option<Rate>,
}

impl Plan {
    pub fn base_price(&self, interval: Interval) -> MinorUnits {
        match interval {
            Interval::Month => self.monthly,
            Interval::Year => self.yearly,
        }
        .unwrap_or(MinorUnits::ZERO)
    }
}

/// A feature: a boolean gate, or metered through a meter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Feature {
    pub id: String,
    pub meter: Option<String>,
    pub description: Option<String>,
}

/// Serde support for `Currency` where core types are serialized.
impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// A rate limit: calls per minute, with up to `burst` at once (a key's own, a plan's for its
/// customers' keys, or a role's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Rate {
    pub const fn new(per_minute: u32, burst: u32) -> Rate {
        Rate { per_minute, burst }
    }

    /// A key's stored rate; a burst defaults to one minute's calls.
    pub fn from_stored(per_minute: Option<i64>, burst: Option<i64>) -> Option<Rate> {
        let per_minute = u32::try_from(per_minute?).ok().filter(|n| *n > 0)?;
        let burst = burst
            .and_then(|b| u32::try_from(b).ok())
            .filter(|b| *b > 0)
            .unwrap_or(per_minute);
        Some(Rate { per_minute, burst })
    }

    /// `PER_MINUTE[:BURST]` (e.g. `600:60`) or `off`.
    pub fn parse(text: &str) -> Result<Option<Rate>, String> {
        if text == "off" {
            return Ok(None);
        }
        let number = |s: &str| {
            s.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                format!("`{text}`: expected PER_MINUTE[:BURST] with whole numbers ≥ 1 (e.g. 600:60), or off")
            })
        };
        let (rate, burst) = match text.split_once(':') {
            Some((r, b)) => (number(r)?, number(b)?),
            None => (number(text)?, number(text)?),
        };
        Ok(Some(Rate::new(rate, burst)))
    }
}
