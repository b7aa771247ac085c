//! Plans and features as the core sees them: what a plan grants, what it includes, what it limits
//! per window, how usage above the included units is priced, and what happens at a limit.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::money::{Currency, MinorUnits};
use super::period::{Interval, Window};
use super::tier::PriceModel;

/// What a URL component keeps as it is: RFC 3986's unreserved characters.
const URL_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

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

/// What span a plan meter's included units (and its `month` limit) cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Per {
    /// Each month of the billing period (from the period's anchor), also on yearly plans.
    #[default]
    Month,
    /// The whole billing period (a year on a yearly plan).
    Period,
}

/// A plan's terms for one meter.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PlanMeter {
    /// Units each allowance span (`per`) covers before the price applies.
    pub included: u64,
    /// Hard (or, with `charge_overage`, soft) caps per window.
    pub limits: BTreeMap<Window, u64>,
    /// Price of the units above `included`; `None` means they are free.
    pub price: Option<PriceModel>,
    /// Prices by the value of the meter's priced dimension (`tool` unless the meter names
    /// another): such usage is priced in full by its own price, apart from `included`.
    pub dimension_prices: BTreeMap<String, PriceModel>,
    pub per: Per,
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
    /// Where a customer upgrades to `upgrade_to`: a URL template with `{customer}`, `{plan}`
    /// and `{email}` placeholders (filled URL-encoded).
    pub upgrade_url: Option<String>,
}

impl Plan {
    pub fn base_price(&self, interval: Interval) -> MinorUnits {
        match interval {
            Interval::Month => self.monthly,
            Interval::Year => self.yearly,
        }
        .unwrap_or(MinorUnits::ZERO)
    }

    /// Where `customer` upgrades from this plan: the `upgrade_url` template with `{customer}`,
    /// `{plan}` (the plan to upgrade to) and `{email}` filled in, URL-encoded.
    pub fn upgrade_link(&self, customer: &str, email: Option<&str>) -> Option<String> {
        let template = self.upgrade_url.as_deref()?;
        let encode = |s: &str| percent_encoding::utf8_percent_encode(s, URL_COMPONENT).to_string();
        Some(
            template
                .replace("{customer}", &encode(customer))
                .replace("{plan}", &encode(self.upgrade_to.as_deref().unwrap_or("")))
                .replace("{email}", &encode(email.unwrap_or(""))),
        )
    }

    /// A plan the customer pays for: a base price or a priced meter (a free plan or one paid
    /// with prepaid credits is no subscription).
    pub fn is_paid(&self) -> bool {
        !self.pay_with_credits
            && (self.monthly.is_some_and(|m| m > MinorUnits::ZERO)
                || self.yearly.is_some_and(|m| m > MinorUnits::ZERO)
                || self
                    .meters
                    .values()
                    .any(|m| m.price.is_some() || !m.dimension_prices.is_empty()))
    }
}

/// A plan with a monthly price and nothing else, for tests to build on.
#[cfg(test)]
pub fn test_plan(id: &str, monthly: i64) -> Plan {
    Plan {
        id: id.into(),
        name: id.into(),
        description: None,
        currency: Currency::USD,
        monthly: Some(MinorUnits(monthly)),
        yearly: None,
        trial_days: 0,
        features: BTreeSet::new(),
        meters: BTreeMap::new(),
        at_limit: AtLimit::ChargeOverage,
        upgrade_to: None,
        pay_with_credits: false,
        on_payment_overdue: OverduePolicy::Block,
        rate_limit: None,
        upgrade_url: None,
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
