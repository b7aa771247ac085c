//! The answer of `check_entitlement`: the core's decision as a person reads it, with the
//! figures after this call, the cost in the catalog's currency and a message saying what to do.

use schemars::JsonSchema;
use serde::Serialize;

use super::CheckInput;
use super::holds::HoldView;
use crate::core::entitlement::{Decision, Reason};
use crate::core::period::{Window, rfc3339};
use crate::service::{App, Money};

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CostView {
    /// The price of the asked units at the tier that applies, when the plan prices them (never
    /// negative; 0 in a trial).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// This meter's charge for the allowance span (the month, or the period) before and after
    /// the asked units; a volume price reaching a cheaper tier makes `total_after` the lower.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_before: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_after: Option<Money>,
    /// Credits this request burns, when the plan is paid with credits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credits: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct UpgradeView {
    pub plan: String,
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct EntitlementView {
    pub allowed: bool,
    /// ok, unknown_customer, feature_not_in_plan, quota_exceeded, insufficient_credits,
    /// rate_limited, subscription_inactive or payment_overdue.
    pub reason: String,
    pub customer: String,
    pub feature: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meter: Option<String>,
    /// Window the limit figures refer to: hour, day or month (from the billing period start).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// Units used in that window (after this request when it was consumed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resets_at: Option<String>,
    pub cost: CostView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<UpgradeView>,
    /// True when this call recorded the usage (and burned the credits).
    pub consumed: bool,
    /// True when the idempotency_key was used before: nothing was consumed again.
    pub duplicate: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// With `hold`: the hold placed (or placed before with this idempotency_key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold: Option<HoldView>,
    /// One sentence for a person (empty in a compact answer that allows).
    pub message: String,
}

impl EntitlementView {
    /// The answer a gate acts on (`compact: true`): the decision, the binding window's `limit`,
    /// `remaining` and `resets_at`, the credits burned, what was consumed or held. (Its message,
    /// empty when allowed, is written so by [`view`].)
    fn compact(self) -> EntitlementView {
        EntitlementView {
            meter: None,
            window: None,
            used: None,
            cost: CostView {
                amount: None,
                total_before: None,
                total_after: None,
                credits: self.cost.credits,
            },
            ..self
        }
    }
}

pub(super) fn view(
    app: &App,
    input: &CheckInput,
    d: Decision,
    event_id: Option<String>,
    duplicate: bool,
    hold: Option<HoldView>,
) -> EntitlementView {
    let consumed = input.consume && input.hold_ttl_ms.is_none() && d.allowed && !duplicate;
    let held = hold.as_ref().is_some_and(|h| !h.duplicate);
    let (used, remaining) = if consumed || held {
        (
            d.used.map(|u| u.saturating_add(input.quantity)),
            d.remaining.map(|r| r.saturating_sub(input.quantity)),
        )
    } else {
        (d.used, d.remaining)
    };
    let currency = d
        .cost
        .currency
        .as_deref()
        .and_then(|c| crate::core::Currency::parse(c).ok())
        .unwrap_or(app.catalog.currency);
    // A compact answer that allows says nothing more: its message is not written.
    let message = if input.compact && d.allowed {
        String::new()
    } else {
        let message = message(&d, input, remaining, duplicate);
        match &hold {
            Some(h) => format!("{message} {}", h.message),
            None => message,
        }
    };
    let view = EntitlementView {
        allowed: d.allowed,
        reason: d.reason.as_str().into(),
        customer: input.customer.clone(),
        feature: input.feature.clone(),
        meter: d.meter,
        window: d.window.map(|w| w.as_str().into()),
        limit: d.limit,
        used,
        remaining,
        resets_at: d.resets_at.map(rfc3339),
        cost: CostView {
            amount: d.cost.amount.map(|a| Money::new(a, currency)),
            total_before: d.cost.total_before.map(|a| Money::new(a, currency)),
            total_after: d.cost.total_after.map(|a| Money::new(a, currency)),
            credits: d.cost.credits,
        },
        upgrade: d.upgrade.map(|u| UpgradeView {
            plan: u.plan,
            url: u.url,
        }),
        consumed,
        duplicate,
        event_id,
        message,
        hold,
    };
    if input.compact { view.compact() } else { view }
}

fn message(d: &Decision, input: &CheckInput, remaining: Option<u64>, duplicate: bool) -> String {
    let upgrade = d
        .upgrade
        .as_ref()
        .map(|u| match &u.url {
            Some(url) => format!(" Upgrade to plan `{}` for more: {url}", u.plan),
            None => format!(" Upgrade to plan `{}` for more.", u.plan),
        })
        .unwrap_or_default();
    match d.reason {
        Reason::Ok if duplicate => {
            "Already consumed with this idempotency_key; nothing was consumed again.".into()
        }
        Reason::Ok => match remaining {
            Some(r) => format!(
                "Allowed; {r} remaining in this {}.",
                d.window.map_or("period", Window::as_str)
            ),
            None => "Allowed.".into(),
        },
        Reason::QuotaExceeded => format!(
            "The {} limit of {} is used up; it resets at {}.{upgrade}",
            d.window.map_or("plan", Window::as_str),
            d.limit.unwrap_or(0),
            d.resets_at
                .map_or_else(|| "the next period".into(), rfc3339)
        ),
        Reason::InsufficientCredits => format!(
            "This needs {} credits and the balance is lower; buy a credit pack or grant credits.{upgrade}",
            d.cost.credits.unwrap_or(0)
        ),
        Reason::FeatureNotInPlan => format!(
            "Feature `{}` is not in the customer's plan.{upgrade}",
            input.feature
        ),
        Reason::SubscriptionInactive => {
            "The customer's subscription is not active; reactivate it or set a plan.".into()
        }
        Reason::PaymentOverdue => {
            "The customer's payment is overdue; settle the open invoice to continue.".into()
        }
        Reason::UnknownCustomer => "No such customer.".into(),
        Reason::RateLimited => "Too many requests; retry later.".into(),
    }
}
