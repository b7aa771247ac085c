//! Discount codes: promotion codes created on a coupon, listed, and looked up by the code a
//! customer types, with whether it can be redeemed now and why not. Subscriptions and Checkout
//! sessions take the code as typed; it is resolved to its `promo_…` id here.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::subscriptions::future_instant;
use crate::service::{App, BillingError};
use crate::stripe::promotions::{NewPromotionCode, PromotionCodeQuery, PromotionCodeView};
use crate::stripe::views::Page;
use crate::values::Text;

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountQuery {
    /// The code customers type (e.g. `SUMMER2024`, any case) or a `promo_…` id.
    pub code: Text,
}

/// A discount code and whether it can be used now.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct DiscountView {
    /// As customers type it.
    pub code: String,
    /// True when a purchase can use the code now (active, not expired, redemptions left, its
    /// coupon valid). Restrictions that depend on the purchase (first purchase only, a minimum
    /// amount, one customer) are in `promotion_code`, and Stripe checks them when it is used.
    pub redeemable: bool,
    /// Why it cannot be used, when it cannot.
    pub reason: Option<String>,
    pub promotion_code: PromotionCodeView,
}

impl App {
    pub async fn create_promotion_code(
        &self,
        p: NewPromotionCode,
    ) -> Result<PromotionCodeView, BillingError> {
        self.stripe()?;
        let expires_at = match &p.expires_at {
            Some(t) => Some(future_instant(self, &t.0, "expires_at")?),
            None => None,
        };
        let customer = match &p.customer {
            Some(c) => Some(self.stripe_customer(&c.0).await?),
            None => None,
        };
        let key = p.idempotency_key.clone();
        self.remembered(
            "create_promotion_code",
            key.as_ref(),
            p,
            move |s, p| async move { s.create_promotion_code(&p, customer, expires_at).await },
        )
        .await
    }

    pub async fn list_promotion_codes(
        &self,
        q: PromotionCodeQuery,
    ) -> Result<Page<PromotionCodeView>, BillingError> {
        self.stripe()?;
        let customer = self
            .stripe_customer_opt(q.customer.as_ref().map(|c| c.0.as_str()))
            .await?;
        self.on_stripe(|s| s.list_promotion_codes(&q, customer))
            .await
    }

    pub async fn get_discount(&self, q: DiscountQuery) -> Result<DiscountView, BillingError> {
        let code = self.promotion_code_by(&q.code.0).await?;
        let reason = code.refusal(self.now().div_euclid(1000));
        Ok(DiscountView {
            code: code.code.clone(),
            redeemable: reason.is_none(),
            reason,
            promotion_code: code,
        })
    }

    /// The promotion code `given` names: a `promo_…` id, or the code as customers type it (an
    /// active code first when several were spelled alike over time).
    pub(super) async fn promotion_code_by(
        &self,
        given: &str,
    ) -> Result<PromotionCodeView, BillingError> {
        let stripe = self.stripe()?;
        if given.starts_with("promo_") {
            return Ok(stripe.promotion_code(given).await?);
        }
        stripe
            .find_promotion_codes(given)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                BillingError::new(
                    "promotion_code_not_found",
                    format!(
                        "no promotion code `{given}`; list_promotion_codes shows the codes, create_promotion_code makes one"
                    ),
                )
                .with("promotion_code", given)
            })
    }
}
