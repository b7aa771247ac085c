//! Use cases: each function validates its input, reads the clock once, asks the pure core and
//! talks to the store. Nothing here knows about MCP; tools call these functions.

pub mod audit;
pub mod credits;
pub mod customer_changes;
pub mod customers;
pub mod entitlements;
mod error;
pub mod gateway;
pub mod insights;
pub mod invoice;
pub mod invoice_reads;
pub mod keys;
pub mod onboarding;
mod onboarding_view;
pub mod outbox;
pub mod plan_change;
pub mod plans;
pub mod pricing;
pub mod progress;
pub mod reconcile;
pub mod reserved;
pub mod retention;
pub mod stripe_admin;
pub mod sync;
pub mod terms;
pub mod usage;
pub mod usage_event;
pub mod usage_report;
mod views;
pub mod webhooks;

use std::sync::Arc;

pub use crate::clock::{Clock, system_clock};
pub use error::BillingError;
pub use views::*;

use crate::access::keys::Keyring;
use crate::access::limits::{RateLimits, RoleRates};
use crate::catalog::Catalog;
use crate::store::Store;

/// Everything a use case needs.
pub struct App {
    pub store: Store,
    pub catalog: Arc<Catalog>,
    pub clock: Clock,
    /// Verified API keys (a short-lived cache over the ledger's key table).
    pub keys: Keyring,
    pub limits: RateLimits,
    /// Stripe, when a key is configured (ledger-only mode otherwise).
    pub stripe: Option<crate::stripe::Payments>,
    /// Webhook signing secrets (`whsec_…`; two while one is rolled) and the timestamp tolerance.
    pub webhooks: webhooks::WebhookSettings,
    /// Stripe's balance as the dashboard shows it (asked at most every five minutes).
    pub balance: insights::balance::BalanceCache,
    /// How long raw records are kept (everything, unless configured).
    pub retention: retention::RetentionSettings,
}

impl App {
    pub fn new(store: Store, catalog: Catalog) -> App {
        App::with(store, catalog, system_clock(), RoleRates::default())
    }

    pub fn with(store: Store, catalog: Catalog, clock: Clock, rates: RoleRates) -> App {
        App {
            store,
            catalog: Arc::new(catalog),
            limits: RateLimits::new(rates, Arc::clone(&clock)),
            clock,
            keys: Keyring::default(),
            stripe: None,
            webhooks: webhooks::WebhookSettings::default(),
            balance: Default::default(),
            retention: retention::RetentionSettings::default(),
        }
    }

    /// The same service talking to Stripe.
    pub fn with_stripe(mut self, payments: crate::stripe::Payments) -> App {
        self.stripe = Some(payments);
        self
    }

    /// The same service accepting Stripe webhooks signed with these secrets.
    pub fn with_webhooks(mut self, settings: webhooks::WebhookSettings) -> App {
        self.webhooks = settings;
        self
    }

    /// The same service keeping raw records as `settings` say.
    pub fn with_retention(mut self, settings: retention::RetentionSettings) -> App {
        self.retention = settings;
        self
    }

    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// The Stripe client, or the error every Stripe tool gives without a key.
    pub fn stripe(&self) -> Result<&crate::stripe::Payments, BillingError> {
        self.stripe.as_ref().ok_or_else(|| {
            BillingError::new(
                "stripe_not_configured",
                "Stripe is not configured: set STRIPE_SECRET_KEY (a sk_test_… or rk_test_… key) and restart the server; the ledger tools work without it",
            )
        })
    }
}
