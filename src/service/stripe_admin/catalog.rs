//! Products, prices, meters and coupons at Stripe (the `stripe` toolset's catalog tools).

use crate::service::{App, BillingError};
use crate::stripe::catalog::{
    CouponQuery, MeterQuery, NewCoupon, NewMeter, NewPrice, NewProduct, PriceQuery, ProductQuery,
};
use crate::stripe::views::{CouponView, MeterView, Page, PriceView, ProductView};

impl App {
    pub async fn create_product(&self, p: NewProduct) -> Result<ProductView, BillingError> {
        let key = p.idempotency_key.clone();
        self.remembered("create_product", key.as_ref(), p, |s, p| {
            s.create_product(p)
        })
        .await
    }

    pub async fn list_products(&self, q: ProductQuery) -> Result<Page<ProductView>, BillingError> {
        self.on_stripe(|s| s.list_products(q)).await
    }

    pub async fn create_price(&self, p: NewPrice) -> Result<PriceView, BillingError> {
        let key = p.idempotency_key.clone();
        self.remembered("create_price", key.as_ref(), p, |s, p| s.create_price(p))
            .await
    }

    pub async fn list_prices(&self, q: PriceQuery) -> Result<Page<PriceView>, BillingError> {
        self.on_stripe(|s| s.list_prices(q)).await
    }

    pub async fn create_meter(&self, m: NewMeter) -> Result<MeterView, BillingError> {
        let key = m.idempotency_key.clone();
        self.remembered("create_meter", key.as_ref(), m, |s, m| s.create_meter(m))
            .await
    }

    pub async fn list_meters(&self, q: MeterQuery) -> Result<Page<MeterView>, BillingError> {
        self.on_stripe(|s| s.list_meters(q)).await
    }

    pub async fn create_coupon(&self, c: NewCoupon) -> Result<CouponView, BillingError> {
        let key = c.idempotency_key.clone();
        self.remembered("create_coupon", key.as_ref(), c, |s, c| s.create_coupon(c))
            .await
    }

    pub async fn list_coupons(&self, q: CouponQuery) -> Result<Page<CouponView>, BillingError> {
        self.on_stripe(|s| s.list_coupons(q)).await
    }
}
