//! Selling a catalog credit pack: a Checkout session in payment mode for the pack's price
//! (an inline price: packs live in the catalog, not as Stripe prices), tagged with the pack and
//! the ledger customer, so the `checkout.session.completed` webhook grants its credits once.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionDiscounts, CreateCheckoutSessionLineItems,
    CreateCheckoutSessionLineItemsPriceData, ProductData,
};

use super::checkout::{CUSTOMER_KEY, PACK_KEY};
use super::views::CheckoutSessionView;
use super::{Error, Payments, key, parse};
use crate::values::{CustomerId, IdempotencyKey, Name, Text, Url};

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCreditCheckout {
    /// The ledger customer the credits go to (linked to Stripe: create_customer links it).
    pub customer: CustomerId,
    /// The catalog credit pack sold (list_plans shows the packs).
    pub pack: Name,
    /// Where Stripe sends the customer after paying.
    pub success_url: Url,
    /// Where Stripe sends the customer who goes back.
    pub cancel_url: Option<Url>,
    /// A promotion code applied to the sale (the code customers type, or its `promo_…` id).
    pub promotion_code: Option<Text>,
    /// Let the customer type a promotion code on the payment page.
    #[serde(default)]
    pub allow_promotion_codes: bool,
    pub idempotency_key: Option<IdempotencyKey>,
}

/// The pack as the service resolved it from the catalog.
#[derive(Debug, Clone, Serialize)]
pub struct PackSale {
    pub stripe_customer: String,
    pub ledger_customer: String,
    pub pack: String,
    /// What the line reads on the payment page and receipt.
    pub label: String,
    pub unit_amount: i64,
    /// ISO code, lower case.
    pub currency: String,
    /// The `promo_…` id.
    pub promotion_code: Option<String>,
}

impl Payments {
    pub async fn create_credit_checkout(
        &self,
        c: &NewCreditCheckout,
        sale: &PackSale,
    ) -> Result<CheckoutSessionView, Error> {
        if c.allow_promotion_codes && sale.promotion_code.is_some() {
            return Err(Error::invalid(
                "give promotion_code or allow_promotion_codes, not both: Stripe takes one",
            ));
        }
        let mut product = ProductData::new(sale.label.clone());
        product.metadata = Some([(PACK_KEY.to_string(), sale.pack.clone())].into());
        let mut price = CreateCheckoutSessionLineItemsPriceData::new(
            parse::<stripe_types::Currency>(&sale.currency),
        );
        price.unit_amount = Some(sale.unit_amount);
        price.product_data = Some(product);
        let mut item = CreateCheckoutSessionLineItems::new();
        item.price_data = Some(price);
        item.quantity = Some(1);
        let meta: std::collections::HashMap<String, String> = [
            (CUSTOMER_KEY.to_string(), sale.ledger_customer.clone()),
            (PACK_KEY.to_string(), sale.pack.clone()),
        ]
        .into();
        let mut req = CreateCheckoutSession::new()
            .mode(stripe_shared::CheckoutSessionMode::Payment)
            .line_items(vec![item])
            .customer(sale.stripe_customer.clone())
            .client_reference_id(sale.ledger_customer.clone())
            .success_url(c.success_url.0.clone())
            .metadata(meta);
        if let Some(url) = &c.cancel_url {
            req = req.cancel_url(url.0.clone());
        }
        if let Some(promo) = &sale.promotion_code {
            let mut d = CreateCheckoutSessionDiscounts::new();
            d.promotion_code = Some(promo.clone());
            req = req.discounts(vec![d]);
        }
        if c.allow_promotion_codes {
            req = req.allow_promotion_codes(true);
        }
        let session = self
            .write(req, &key("create_credit_checkout", &c.idempotency_key))
            .await?;
        Ok(CheckoutSessionView::from(&session))
    }
}
