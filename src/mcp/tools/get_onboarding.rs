//! `get_onboarding`: where a sign-up flow stands and what it needs next.

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::onboarding::{OnboardingQuery, OnboardingView};
use crate::service::{App, BillingError};

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "get_onboarding";
    const TITLE: &'static str = "Show a sign-up";
    const DESCRIPTION: &'static str = include_str!("../../../tools/get_onboarding.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_READ;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = OnboardingQuery;
    type Output = OnboardingView;

    async fn run(app: &App, p: OnboardingQuery) -> Result<OnboardingView, BillingError> {
        app.get_onboarding(p).await
    }
}
