//! The Stripe calls behind `sync_catalog` and `sync_reserved_tiers`: read every page of meters,
//! products, prices and a customer's subscriptions; create prices from an exact spec (per unit,
//! tiered or package, decimal amounts kept as written); rename meters; update and archive
//! products and prices; change a subscription's items in one request. Every write carries the
//! idempotency key the planner derived from what it writes, so a retried apply never doubles.

use std::collections::HashMap;
use std::future::Future;

use stripe_billing::billing_meter::UpdateBillingMeter;
use stripe_billing::subscription::{UpdateSubscription, UpdateSubscriptionItems};
use stripe_product::price::{
    CreatePrice, CreatePriceRecurring, CreatePriceTransformQuantity, UpdatePrice,
};
use stripe_product::product::{CreateProduct, UpdateProduct};

use super::billing::SubscriptionQuery;
use super::catalog::{MeterQuery, PriceQuery, ProductQuery, tier, tiered};
use super::views::{MeterView, Page, PriceView, ProductView, SubscriptionView};
use super::{Error, Payments, decimal, parse, wire};
use crate::core::tier::PriceModel;
use crate::values::StripeId;

/// One subscription item change: add (no id), change price (id + price) or delete (id only).
#[derive(Debug, Clone)]
pub struct ItemEdit {
    pub id: Option<String>,
    pub price: Option<String>,
    pub metadata: HashMap<String, String>,
    pub deleted: bool,
}

/// A price to create: its product, exact amounts, interval, meter and how it is found again.
pub struct PriceRequest<'a> {
    pub product: &'a str,
    pub currency: &'a str,
    pub interval: &'a str,
    /// The Stripe meter (`mtr_…`) of a metered price.
    pub meter: Option<&'a str>,
    pub amount: &'a PriceModel,
    pub lookup_key: Option<&'a str>,
    pub nickname: &'a str,
    pub metadata: HashMap<String, String>,
}

/// Every item of a paged list, following `next_cursor` to the end.
async fn every<T, F, Fut>(mut page: F) -> Result<Vec<T>, Error>
where
    F: FnMut(Option<StripeId>) -> Fut,
    Fut: Future<Output = Result<Page<T>, Error>>,
{
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let p = page(after).await?;
        all.extend(p.data);
        match p.page.next_cursor {
            Some(cursor) if p.page.has_more => after = Some(StripeId(cursor)),
            _ => return Ok(all),
        }
    }
}

impl Payments {
    pub async fn every_meter(&self) -> Result<Vec<MeterView>, Error> {
        every(|starting_after| {
            self.list_meters(MeterQuery {
                status: None,
                limit: 100,
                starting_after,
            })
        })
        .await
    }

    pub async fn every_active_product(&self) -> Result<Vec<ProductView>, Error> {
        every(|starting_after| {
            self.list_products(ProductQuery {
                active: Some(true),
                limit: 100,
                starting_after,
            })
        })
        .await
    }

    pub async fn every_active_price(&self) -> Result<Vec<PriceView>, Error> {
        every(|starting_after| {
            self.list_prices(PriceQuery {
                product: None,
                active: Some(true),
                kind: None,
                lookup_keys: Vec::new(),
                limit: 100,
                starting_after,
            })
        })
        .await
    }

    /// A customer's subscriptions that bill (every status but canceled and ended).
    pub async fn live_subscriptions(
        &self,
        stripe_customer: &str,
    ) -> Result<Vec<SubscriptionView>, Error> {
        let all = every(|starting_after| {
            self.list_subscriptions(
                SubscriptionQuery {
                    customer: None,
                    price: None,
                    status: None,
                    limit: 100,
                    starting_after,
                },
                Some(stripe_customer.to_string()),
            )
        })
        .await?;
        Ok(all
            .into_iter()
            .filter(|s| matches!(s.status.as_str(), "active" | "trialing" | "past_due"))
            .collect())
    }

    pub async fn rename_meter(
        &self,
        id: &str,
        display_name: &str,
        key: &str,
    ) -> Result<MeterView, Error> {
        let meter = self
            .write(UpdateBillingMeter::new(id).display_name(display_name), key)
            .await?;
        Ok(MeterView::from(&meter))
    }

    pub async fn create_tagged_product(
        &self,
        name: &str,
        description: Option<&str>,
        metadata: HashMap<String, String>,
        key: &str,
    ) -> Result<ProductView, Error> {
        let mut req = CreateProduct::new(name).metadata(metadata);
        if let Some(d) = description {
            req = req.description(d);
        }
        let product = self.write(req, key).await?;
        metrics::counter!("billing_stripe_products_created_total").increment(1);
        Ok(ProductView::from(&product))
    }

    /// Set a product's name and description, or archive it (`active: false`).
    pub async fn update_product(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
        active: Option<bool>,
        key: &str,
    ) -> Result<ProductView, Error> {
        let mut req = UpdateProduct::new(id);
        if let Some(n) = name {
            req = req.name(n);
        }
        if let Some(d) = description {
            req = req.description(d);
        }
        if let Some(a) = active {
            req = req.active(a);
        }
        Ok(ProductView::from(&self.write(req, key).await?))
    }

    pub async fn archive_price(&self, id: &str, key: &str) -> Result<PriceView, Error> {
        let price = self.write(UpdatePrice::new(id).active(false), key).await?;
        Ok(PriceView::from(&price))
    }

    /// Create a recurring price exactly as specified; its lookup key moves to it.
    pub async fn create_spec_price(
        &self,
        p: PriceRequest<'_>,
        key: &str,
    ) -> Result<PriceView, Error> {
        let mut recurring = CreatePriceRecurring::new(parse::<
            stripe_product::price::CreatePriceRecurringInterval,
        >(p.interval));
        if let Some(m) = p.meter {
            recurring.usage_type = Some(parse("metered"));
            recurring.meter = Some(m.to_string());
        }
        let mut req = CreatePrice::new(parse::<stripe_types::Currency>(p.currency))
            .product(p.product)
            .recurring(recurring)
            .nickname(p.nickname)
            .metadata(p.metadata);
        if let Some(k) = p.lookup_key {
            req = req.lookup_key(k).transfer_lookup_key(true);
        }
        match p.amount {
            PriceModel::PerUnit { unit_amount } => {
                req = req.unit_amount_decimal(decimal(*unit_amount));
            }
            PriceModel::Tiered { mode, tiers } => {
                let tiers = tiers
                    .iter()
                    .map(|t| {
                        let flat = (t.flat_amount.0 != 0).then_some(t.flat_amount.0);
                        tier(t.up_to, None, Some(t.unit_amount), flat)
                    })
                    .collect();
                req = tiered(req, &wire(mode), tiers);
            }
            PriceModel::Package {
                size,
                amount,
                rounding,
            } => {
                req = req.unit_amount(amount.0).transform_quantity(
                    CreatePriceTransformQuantity::new(
                        i64::try_from(*size).unwrap_or(i64::MAX),
                        parse::<stripe_product::price::CreatePriceTransformQuantityRound>(&wire(
                            rounding,
                        )),
                    ),
                );
            }
        }
        let price = self.write(req, key).await?;
        metrics::counter!("billing_stripe_prices_created_total").increment(1);
        Ok(PriceView::from(&price))
    }

    /// Apply item edits to a subscription in one request, without proration (the edited items
    /// are usage prices: nothing is charged for the change itself).
    pub async fn edit_items(
        &self,
        subscription: &str,
        edits: &[ItemEdit],
        key: &str,
    ) -> Result<SubscriptionView, Error> {
        let items: Vec<UpdateSubscriptionItems> = edits
            .iter()
            .map(|e| {
                let mut item = UpdateSubscriptionItems::new();
                item.id = e.id.clone();
                item.price = e.price.clone();
                item.deleted = e.deleted.then_some(true);
                if !e.metadata.is_empty() {
                    item.metadata = Some(e.metadata.clone());
                }
                item
            })
            .collect();
        let req = UpdateSubscription::new(subscription)
            .items(items)
            .proration_behavior(parse::<
                stripe_billing::subscription::UpdateSubscriptionProrationBehavior,
            >("none"));
        Ok(SubscriptionView::from(&self.write(req, key).await?))
    }
}
