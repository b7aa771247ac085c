//! `continue_onboarding`: move a sign-up flow on: the plan chosen, the next steps run.

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::onboarding::{ContinueOnboarding, OnboardingView};
use crate::service::{App, BillingError};

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "continue_onboarding";
    const TITLE: &'static str = "Move a sign-up on";
    const DESCRIPTION: &'static str = include_str!("../../../tools/continue_onboarding.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_CREATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = ContinueOnboarding;
    type Output = OnboardingView;

    async fn run(app: &App, p: ContinueOnboarding) -> Result<OnboardingView, BillingError> {
        app.continue_onboarding(p).await
    }
}
