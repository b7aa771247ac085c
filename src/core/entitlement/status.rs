//! The stable codes a decision speaks in: why it was taken ([`Reason`]) and the subscription
//! status it reads ([`Status`]), with Stripe's names.

use serde::Serialize;

/// Stable reason codes (an API: never renamed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Ok,
    UnknownCustomer,
    FeatureNotInPlan,
    QuotaExceeded,
    InsufficientCredits,
    RateLimited,
    SubscriptionInactive,
    PaymentOverdue,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Ok => "ok",
            Reason::UnknownCustomer => "unknown_customer",
            Reason::FeatureNotInPlan => "feature_not_in_plan",
            Reason::QuotaExceeded => "quota_exceeded",
            Reason::InsufficientCredits => "insufficient_credits",
            Reason::RateLimited => "rate_limited",
            Reason::SubscriptionInactive => "subscription_inactive",
            Reason::PaymentOverdue => "payment_overdue",
        }
    }

    pub const ALL: [Reason; 8] = [
        Reason::Ok,
        Reason::UnknownCustomer,
        Reason::FeatureNotInPlan,
        Reason::QuotaExceeded,
        Reason::InsufficientCredits,
        Reason::RateLimited,
        Reason::SubscriptionInactive,
        Reason::PaymentOverdue,
    ];

    /// The reason [`Reason::as_str`] names.
    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Subscription status, with Stripe's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    Trialing,
    PastDue,
    Unpaid,
    Canceled,
    Incomplete,
    IncompleteExpired,
    Paused,
}

impl Status {
    /// Whether a subscription in this status pays its plan (past due and unpaid still do, until
    /// Stripe cancels them): what MRR counts.
    pub fn pays(self) -> bool {
        !matches!(
            self,
            Status::Canceled | Status::Incomplete | Status::IncompleteExpired | Status::Paused
        )
    }

    /// Whether the customer has left: canceled, or its first payment never came.
    pub fn churned(self) -> bool {
        matches!(self, Status::Canceled | Status::IncompleteExpired)
    }

    pub const NAMES: [&'static str; 8] = [
        "active",
        "trialing",
        "past_due",
        "unpaid",
        "canceled",
        "incomplete",
        "incomplete_expired",
        "paused",
    ];

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "active" => Status::Active,
            "trialing" => Status::Trialing,
            "past_due" => Status::PastDue,
            "unpaid" => Status::Unpaid,
            "canceled" => Status::Canceled,
            "incomplete" => Status::Incomplete,
            "incomplete_expired" => Status::IncompleteExpired,
            "paused" => Status::Paused,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Trialing => "trialing",
            Status::PastDue => "past_due",
            Status::Unpaid => "unpaid",
            Status::Canceled => "canceled",
            Status::Incomplete => "incomplete",
            Status::IncompleteExpired => "incomplete_expired",
            Status::Paused => "paused",
        }
    }

    pub(super) fn is_inactive(self) -> bool {
        matches!(
            self,
            Status::Unpaid
                | Status::Canceled
                | Status::IncompleteExpired
                | Status::Paused
                | Status::Incomplete
        )
    }
}
