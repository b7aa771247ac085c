//! The synced prices that sell a catalog plan: the line items of a payment link or Checkout
//! Session that sells `plan` at an interval, read from Stripe by lookup key and checked against
//! the catalog's current spec.

use super::SPEC_KEY;
use super::desired::{WantPrice, desired};
use crate::service::{App, BillingError};
use crate::stripe::catalog::PriceQuery;
use crate::stripe::checkout::{LineItem, PlanInterval};
use crate::values::{Name, StripeId};

/// The synced prices that sell `plan` (a catalog plan: callers check it) at `interval`: its base
/// price and its usage prices, as Stripe holds them now. A price missing or out of date at Stripe is an error naming the fix.
pub async fn plan_line_items(
    app: &App,
    plan: &str,
    interval: PlanInterval,
) -> Result<Vec<LineItem>, BillingError> {
    let stripe = app.stripe()?;
    let every = match interval {
        PlanInterval::Monthly => "month",
        PlanInterval::Yearly => "year",
    };
    let wanted: Vec<WantPrice> = desired(&app.catalog)
        .prices
        .into_iter()
        .filter(|p| p.plan == plan && p.spec.interval == every)
        .collect();
    if wanted.is_empty() {
        return Err(BillingError::invalid(format!(
            "plan `{plan}` has no {}ly price in the catalog; list_plans shows its prices",
            every
        )));
    }
    let mut found = Vec::new();
    for chunk in wanted.chunks(10) {
        let page = stripe
            .list_prices(PriceQuery {
                product: None,
                active: Some(true),
                kind: None,
                lookup_keys: chunk.iter().map(|p| Name(p.lookup_key.clone())).collect(),
                limit: 100,
                starting_after: None,
            })
            .await?;
        found.extend(page.data);
    }
    wanted
        .iter()
        .map(|want| {
            let price = found
                .iter()
                .find(|p| p.lookup_key.as_deref() == Some(&want.lookup_key))
                .filter(|p| p.metadata.get(SPEC_KEY) == Some(&want.fingerprint))
                .ok_or_else(|| {
                    BillingError::new(
                        "catalog_not_synced",
                        format!(
                            "Stripe holds no current price `{}` for plan `{plan}`; run sync_catalog with dry_run false, then try again",
                            want.lookup_key
                        ),
                    )
                })?;
            Ok(LineItem {
                price: StripeId(price.id.clone()),
                quantity: 1,
                metered: want.spec.event_name.is_some(),
            })
        })
        .collect()
}

/// The line items of a link or session: the caller's, or those of `plan` at `interval`
/// (monthly unless given) when the caller gives none.
pub async fn line_items_or_plan(
    app: &App,
    items: &mut Vec<LineItem>,
    plan: Option<&Name>,
    interval: Option<PlanInterval>,
) -> Result<(), BillingError> {
    match (items.is_empty(), plan) {
        (false, _) if interval.is_some() => Err(BillingError::invalid(
            "interval sells a plan's synced prices: give plan and interval without line_items, or line_items without interval",
        )),
        (false, _) => Ok(()),
        (true, Some(plan)) => {
            *items =
                plan_line_items(app, &plan.0, interval.unwrap_or(PlanInterval::Monthly)).await?;
            Ok(())
        }
        (true, None) => Err(BillingError::invalid(
            "give line_items (price ids), or plan (with interval monthly or yearly) to sell a catalog plan",
        )),
    }
}
