//! `start_onboarding`: start (or resume) a customer's sign-up flow.

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::onboarding::{OnboardingView, StartOnboarding};
use crate::service::{App, BillingError};

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "start_onboarding";
    const TITLE: &'static str = "Start signing a customer up";
    const DESCRIPTION: &'static str = include_str!("../../../tools/start_onboarding.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_CREATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = StartOnboarding;
    type Output = OnboardingView;

    async fn run(app: &App, p: StartOnboarding) -> Result<OnboardingView, BillingError> {
        app.start_onboarding(p).await
    }
}
