//! Promotion codes: the codes customers type (`LAUNCH50`) on a coupon, with their limits
//! (redemptions, expiry, first purchase only, a minimum amount), listed and looked up by code.
//! A code's coupon is always expanded, so a view says what the code takes off.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use stripe_product::promotion_code::{
    CreatePromotionCode, CreatePromotionCodePromotion, CreatePromotionCodePromotionType,
    CreatePromotionCodeRestrictions, ListPromotionCode, RetrievePromotionCode,
};
use stripe_types::Expandable;

use super::views::{CouponView, Page, money, sorted, time};
use super::{Error, Payments, key, metadata, page_limit, parse};
use crate::values::{CurrencyCode, CustomerId, IdempotencyKey, Money, StringMap, StripeId, Text};

const EXPAND_COUPON: &str = "promotion.coupon";

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPromotionCode {
    /// The coupon the code applies (`create_coupon` makes one).
    pub coupon: StripeId,
    /// What customers type, e.g. `LAUNCH50` (letters, digits and `-`, `_`; case-insensitive;
    /// Stripe makes one up when omitted).
    pub code: Option<Text>,
    /// Times the code can be redeemed in all.
    pub max_redemptions: Option<u32>,
    /// When the code stops working (RFC 3339, in the future).
    pub expires_at: Option<Text>,
    /// Only for a customer's first purchase.
    #[serde(default)]
    pub first_time_transaction: bool,
    /// The least an order must come to, in minor units of `minimum_amount_currency`.
    pub minimum_amount: Option<u64>,
    pub minimum_amount_currency: Option<CurrencyCode>,
    /// Only this customer may use the code (ledger id or `cus_…`).
    pub customer: Option<CustomerId>,
    #[serde(default)]
    pub metadata: StringMap,
    pub idempotency_key: Option<IdempotencyKey>,
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionCodeQuery {
    /// Codes of this coupon only.
    pub coupon: Option<StripeId>,
    /// This code only (case-insensitive).
    pub code: Option<Text>,
    /// Active (true) or inactive (false) codes only.
    pub active: Option<bool>,
    /// Codes restricted to this customer (ledger id or `cus_…`).
    pub customer: Option<CustomerId>,
    /// 1 to 100 (default 10).
    #[serde(default = "ten")]
    pub limit: u32,
    pub starting_after: Option<StripeId>,
}

fn ten() -> u32 {
    10
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PromotionCodeView {
    pub id: String,
    /// What customers type.
    pub code: String,
    pub active: bool,
    /// The coupon it applies: what it takes off and for how long.
    pub coupon: Option<CouponView>,
    pub expires_at: Option<String>,
    pub max_redemptions: Option<i64>,
    pub times_redeemed: i64,
    pub first_time_transaction: bool,
    pub minimum_amount: Option<Money>,
    /// The one customer who may use it (`cus_…`), if restricted.
    pub customer: Option<String>,
    pub metadata: std::collections::BTreeMap<String, String>,
    pub created: String,
    /// Epoch seconds of expires_at, for the redeemability check.
    #[serde(skip)]
    #[schemars(skip)]
    pub expires_at_secs: Option<i64>,
}

impl From<&stripe_shared::PromotionCode> for PromotionCodeView {
    fn from(p: &stripe_shared::PromotionCode) -> Self {
        let r = &p.restrictions;
        PromotionCodeView {
            id: p.id.to_string(),
            code: p.code.clone(),
            active: p.active,
            coupon: match &p.promotion.coupon {
                Some(Expandable::Object(c)) => Some(CouponView::from(&**c)),
                _ => None,
            },
            expires_at: p.expires_at.map(time),
            max_redemptions: p.max_redemptions,
            times_redeemed: p.times_redeemed,
            first_time_transaction: r.first_time_transaction,
            minimum_amount: r
                .minimum_amount
                .zip(r.minimum_amount_currency.as_ref())
                .map(|(a, c)| money(a, c)),
            customer: p.customer.as_ref().map(|c| c.id().to_string()),
            metadata: p.metadata.as_ref().map(sorted).unwrap_or_default(),
            created: time(p.created),
            expires_at_secs: p.expires_at,
        }
    }
}

impl PromotionCodeView {
    /// Why the code cannot be redeemed at `now` (epoch seconds), or none when it can.
    pub fn refusal(&self, now: i64) -> Option<String> {
        if !self.active {
            return Some(format!("promotion code `{}` is inactive", self.code));
        }
        if let Some(at) = self.expires_at_secs.filter(|at| *at <= now) {
            return Some(format!(
                "promotion code `{}` expired at {}",
                self.code,
                time(at)
            ));
        }
        if let Some(max) = self.max_redemptions.filter(|m| self.times_redeemed >= *m) {
            return Some(format!(
                "promotion code `{}` was redeemed {max} times, its maximum",
                self.code
            ));
        }
        if self.coupon.as_ref().is_some_and(|c| !c.valid) {
            return Some(format!(
                "the coupon of promotion code `{}` is no longer valid",
                self.code
            ));
        }
        None
    }
}

impl Payments {
    pub async fn create_promotion_code(
        &self,
        p: &NewPromotionCode,
        stripe_customer: Option<String>,
        expires_at: Option<i64>,
    ) -> Result<PromotionCodeView, Error> {
        let mut promotion =
            CreatePromotionCodePromotion::new(CreatePromotionCodePromotionType::Coupon);
        promotion.coupon = Some(p.coupon.0.clone());
        let mut req = CreatePromotionCode::new(promotion).expand(vec![EXPAND_COUPON.to_string()]);
        if let Some(code) = &p.code {
            req = req.code(code.0.clone());
        }
        if let Some(max) = p.max_redemptions {
            if max == 0 {
                return Err(Error::invalid("max_redemptions must be 1 or more"));
            }
            req = req.max_redemptions(i64::from(max));
        }
        if let Some(at) = expires_at {
            req = req.expires_at(at);
        }
        let mut restrictions = CreatePromotionCodeRestrictions::new();
        if p.first_time_transaction {
            restrictions.first_time_transaction = Some(true);
        }
        match (p.minimum_amount, &p.minimum_amount_currency) {
            (Some(amount), Some(currency)) => {
                restrictions.minimum_amount = Some(i64::try_from(amount).unwrap_or(i64::MAX));
                restrictions.minimum_amount_currency = Some(parse::<stripe_types::Currency>(
                    &currency.0.to_ascii_lowercase(),
                ));
            }
            (None, None) => {}
            _ => {
                return Err(Error::invalid(
                    "give minimum_amount and minimum_amount_currency together",
                ));
            }
        }
        if restrictions.first_time_transaction.is_some() || restrictions.minimum_amount.is_some() {
            req = req.restrictions(restrictions);
        }
        if let Some(c) = stripe_customer {
            req = req.customer(c);
        }
        if !p.metadata.is_empty() {
            req = req.metadata(metadata(&p.metadata));
        }
        let code = self
            .write(req, &key("create_promotion_code", &p.idempotency_key))
            .await?;
        Ok(PromotionCodeView::from(&code))
    }

    pub async fn list_promotion_codes(
        &self,
        q: &PromotionCodeQuery,
        stripe_customer: Option<String>,
    ) -> Result<Page<PromotionCodeView>, Error> {
        let mut req = ListPromotionCode::new()
            .limit(page_limit(q.limit)?)
            .expand(vec![format!("data.{EXPAND_COUPON}")]);
        if let Some(c) = &q.coupon {
            req = req.coupon(c.0.clone());
        }
        if let Some(code) = &q.code {
            req = req.code(code.0.clone());
        }
        if let Some(active) = q.active {
            req = req.active(active);
        }
        if let Some(c) = stripe_customer {
            req = req.customer(c);
        }
        if let Some(after) = &q.starting_after {
            req = req.starting_after(after.0.clone());
        }
        let list = self.read(req).await?;
        Ok(Page::of(list, |p| p.id.to_string()))
    }

    /// One promotion code by its `promo_…` id.
    pub async fn promotion_code(&self, id: &str) -> Result<PromotionCodeView, Error> {
        let req = RetrievePromotionCode::new(id).expand(vec![EXPAND_COUPON.to_string()]);
        Ok(PromotionCodeView::from(&self.read(req).await?))
    }

    /// The promotion codes spelled `code` (Stripe compares without case), active ones first.
    pub async fn find_promotion_codes(&self, code: &str) -> Result<Vec<PromotionCodeView>, Error> {
        let page = self
            .list_promotion_codes(
                &PromotionCodeQuery {
                    coupon: None,
                    code: Some(Text(code.to_string())),
                    active: None,
                    customer: None,
                    limit: 10,
                    starting_after: None,
                },
                None,
            )
            .await?;
        let mut found = page.data;
        found.sort_by_key(|p| !p.active);
        Ok(found)
    }
}
