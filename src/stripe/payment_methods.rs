//! Payment methods on file: a setup intent whose `client_secret` lets Stripe.js collect one
//! (card, bank debit, wallets: whatever the account enables), and the methods a customer has,
//! with the one its invoices charge by default.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use stripe_core::customer::{
    ListPaymentMethodsCustomer, RetrieveCustomer, RetrieveCustomerReturned, UpdateCustomer,
    UpdateCustomerInvoiceSettings,
};
use stripe_core::setup_intent::{
    CreateSetupIntent, CreateSetupIntentAutomaticPaymentMethods, CreateSetupIntentUsage,
    RetrieveSetupIntent,
};

use super::checkout::CUSTOMER_KEY;
use super::views::{Page, time};
use super::{Error, Payments, key, metadata, page_limit};
use crate::values::{CustomerId, IdempotencyKey, StringMap, StripeId};

/// When the collected payment method will be charged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SetupUsage {
    /// Later, without the customer present (subscriptions, invoices): the default.
    #[default]
    OffSession,
    /// Only while the customer is present.
    OnSession,
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSetupIntent {
    /// The ledger customer (linked to Stripe) or a Stripe customer id (`cus_…`).
    pub customer: CustomerId,
    /// off_session (default) or on_session.
    #[serde(default)]
    pub usage: SetupUsage,
    #[serde(default)]
    pub metadata: StringMap,
    pub idempotency_key: Option<IdempotencyKey>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SetupIntentView {
    pub id: String,
    /// For Stripe.js (`stripe.confirmSetup`): give it to the customer's browser, never log it.
    pub client_secret: Option<String>,
    /// requires_payment_method, requires_confirmation, requires_action, processing, succeeded
    /// or canceled.
    pub status: String,
    pub customer: Option<String>,
    pub usage: String,
    /// The payment method it set up, once it succeeded.
    pub payment_method: Option<String>,
    pub created: String,
}

impl From<&stripe_shared::SetupIntent> for SetupIntentView {
    fn from(s: &stripe_shared::SetupIntent) -> Self {
        SetupIntentView {
            id: s.id.to_string(),
            client_secret: s.client_secret.clone(),
            status: s.status.as_str().into(),
            customer: s.customer.as_ref().map(|c| c.id().to_string()),
            usage: s.usage.clone(),
            payment_method: s.payment_method.as_ref().map(|p| p.id().to_string()),
            created: time(s.created),
        }
    }
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethodQuery {
    /// The ledger customer (linked to Stripe) or a Stripe customer id (`cus_…`).
    pub customer: CustomerId,
    /// 1 to 100 (default 10).
    #[serde(default = "ten")]
    pub limit: u32,
    pub starting_after: Option<StripeId>,
}

fn ten() -> u32 {
    10
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PaymentMethodView {
    pub id: String,
    /// card, sepa_debit, us_bank_account, link, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The customer's invoices and subscriptions charge this one unless told otherwise.
    pub default: bool,
    /// Card brand (visa, mastercard, …) for cards.
    pub brand: Option<String>,
    /// The last four digits of a card or account.
    pub last4: Option<String>,
    pub exp_month: Option<i64>,
    pub exp_year: Option<i64>,
    pub created: String,
}

impl From<&stripe_shared::PaymentMethod> for PaymentMethodView {
    fn from(p: &stripe_shared::PaymentMethod) -> Self {
        let card = p.card.as_ref();
        PaymentMethodView {
            id: p.id.to_string(),
            kind: p.type_.as_str().into(),
            default: false,
            brand: card.map(|c| c.brand.clone()),
            last4: card.map(|c| c.last4.clone()).or_else(|| {
                p.sepa_debit
                    .as_ref()
                    .and_then(|d| d.last4.clone())
                    .or_else(|| p.us_bank_account.as_ref().and_then(|a| a.last4.clone()))
            }),
            exp_month: card.map(|c| c.exp_month),
            exp_year: card.map(|c| c.exp_year),
            created: time(p.created),
        }
    }
}

/// A customer's payment methods and which one is the default.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PaymentMethodList {
    pub customer: String,
    /// The default payment method's id (the customer's `invoice_settings`), if any.
    pub default_payment_method: Option<String>,
    #[serde(flatten)]
    pub methods: Page<PaymentMethodView>,
}

impl Payments {
    pub async fn create_setup_intent(
        &self,
        s: &NewSetupIntent,
        stripe_customer: String,
        ledger_customer: Option<&str>,
    ) -> Result<SetupIntentView, Error> {
        let mut meta = metadata(&s.metadata);
        if let Some(c) = ledger_customer {
            meta.insert(CUSTOMER_KEY.into(), c.into());
        }
        let usage = match s.usage {
            SetupUsage::OffSession => CreateSetupIntentUsage::OffSession,
            SetupUsage::OnSession => CreateSetupIntentUsage::OnSession,
        };
        let req = CreateSetupIntent::new()
            .customer(stripe_customer)
            .usage(usage)
            .automatic_payment_methods(CreateSetupIntentAutomaticPaymentMethods::new(true))
            .metadata(meta);
        let intent = self
            .write(req, &key("create_setup_intent", &s.idempotency_key))
            .await?;
        Ok(SetupIntentView::from(&intent))
    }

    /// Make `payment_method` the one the customer's invoices and subscriptions charge
    /// (`invoice_settings[default_payment_method]`): a card a setup intent saved is not, until set.
    pub async fn set_default_payment_method(
        &self,
        stripe_customer: &str,
        payment_method: &str,
    ) -> Result<(), Error> {
        let mut settings = UpdateCustomerInvoiceSettings::new();
        settings.default_payment_method = Some(payment_method.to_string());
        let req = UpdateCustomer::new(stripe_customer).invoice_settings(settings);
        let key = format!("default_payment_method:{stripe_customer}:{payment_method}");
        self.write(req, &key).await.map(|_| ())
    }

    /// One setup intent, with the payment method it saved once it succeeded.
    pub async fn setup_intent(&self, id: &str) -> Result<SetupIntentView, Error> {
        Ok(SetupIntentView::from(
            &self.read(RetrieveSetupIntent::new(id)).await?,
        ))
    }

    pub async fn list_payment_methods(
        &self,
        q: &PaymentMethodQuery,
        stripe_customer: String,
    ) -> Result<PaymentMethodList, Error> {
        let customer = self
            .read(RetrieveCustomer::new(stripe_customer.as_str()))
            .await?;
        let default = match customer {
            RetrieveCustomerReturned::Customer(c) => c
                .invoice_settings
                .and_then(|s| s.default_payment_method)
                .map(|p| p.id().to_string()),
            RetrieveCustomerReturned::DeletedCustomer(_) => {
                return Err(Error::invalid(format!(
                    "Stripe customer {stripe_customer} is deleted"
                )));
            }
        };
        let mut req =
            ListPaymentMethodsCustomer::new(stripe_customer.as_str()).limit(page_limit(q.limit)?);
        if let Some(after) = &q.starting_after {
            req = req.starting_after(after.0.clone());
        }
        let list = self.read(req).await?;
        let mut methods: Page<PaymentMethodView> = Page::of(list, |p| p.id.to_string());
        for m in &mut methods.data {
            m.default = default.as_deref() == Some(m.id.as_str());
        }
        Ok(PaymentMethodList {
            customer: stripe_customer,
            default_payment_method: default,
            methods,
        })
    }
}
