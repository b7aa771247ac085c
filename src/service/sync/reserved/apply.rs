//! Applying one customer's planned tier items: the product holding the meter's tier prices
//! (found by metadata, made once), the prices (shared by lookup key), and every item change in
//! one subscription update.

use std::collections::HashMap;

use crate::core::reserved::ItemAction;
use crate::service::sync::desired::fingerprint;
use crate::service::sync::{SPEC_KEY, SYNC_KEY, idempotency, tagged};
use crate::service::{App, BillingError};
use crate::stripe::Payments;
use crate::stripe::sync::{ItemEdit, PriceRequest};

use super::*;

/// The product holding a meter's tier prices, created on first use.
pub(super) async fn product_for(
    stripe: &Payments,
    state: &mut Stripe,
    app: &App,
    meter: &str,
) -> Result<String, BillingError> {
    if let Some(p) = state
        .products
        .iter()
        .find(|p| p.metadata.get(RESERVED_METER_KEY).map(String::as_str) == Some(meter))
    {
        return Ok(p.id.clone());
    }
    let name = match &app.catalog.meters[meter].description {
        Some(d) => format!("{d} (reserved overage)"),
        None => format!("{meter} reserved overage"),
    };
    let meta = tagged(&[(RESERVED_METER_KEY, meter), (SYNC_KEY, "reserved")]);
    let made = stripe
        .create_tagged_product(
            &name,
            None,
            meta,
            &idempotency(&["reserved_product", meter]),
        )
        .await?;
    let id = made.id.clone();
    state.products.push(made);
    Ok(id)
}

pub(super) async fn apply_customer(
    app: &App,
    stripe: &Payments,
    state: &mut Stripe,
    p: &mut Planned,
) -> Result<(), BillingError> {
    for new in &mut p.view.prices {
        let Some(t) = p.tiers.values().find(|t| t.lookup_key == new.lookup_key) else {
            continue;
        };
        let product = product_for(stripe, state, app, &t.meter).await?;
        let made = stripe
            .create_spec_price(
                PriceRequest {
                    product: &product,
                    currency: &t.spec.currency,
                    interval: t.spec.interval,
                    meter: Some(&t.stripe_meter),
                    amount: &t.spec.amount,
                    lookup_key: Some(&t.lookup_key),
                    nickname: &format!("{} reserved-tier overage", t.meter),
                    metadata: tagged(&[(SPEC_KEY, &t.digest), (SYNC_KEY, "reserved")]),
                },
                &idempotency(&["reserved_price", &t.lookup_key, &product, &t.stripe_meter]),
            )
            .await?;
        new.result = Some(made.id.clone());
        state.prices.push(made);
    }
    let mut edits = Vec::new();
    for action in &p.view.items {
        edits.push(match action {
            ItemAction::Remove { item_id, .. } => ItemEdit {
                id: item_id.clone(),
                price: None,
                metadata: HashMap::new(),
                deleted: true,
            },
            ItemAction::Add { key, .. } | ItemAction::Update { key, .. } => {
                let t = &p.tiers[key];
                let Some(price) = state
                    .prices
                    .iter()
                    .find(|x| x.lookup_key.as_deref() == Some(t.lookup_key.as_str()))
                    .map(|x| x.id.clone())
                else {
                    return Err(BillingError::new(
                        "stripe_unexpected_response",
                        format!(
                            "no price {} after creating it; run sync_reserved_tiers again",
                            t.lookup_key
                        ),
                    ));
                };
                let item = &t.item;
                let band = format!(
                    "{}-{}",
                    item.band_start,
                    item.band_end.map(|e| e.to_string()).unwrap_or_default()
                );
                let price_text = item.price_per_unit.normalize().to_string();
                let meta = tagged(&[
                    (TIER_KEY, key),
                    (TIER_PRICE_KEY, &price_text),
                    (TIER_BAND_KEY, &band),
                ]);
                let id = match action {
                    ItemAction::Update { item_id, .. } => item_id.clone(),
                    _ => None,
                };
                ItemEdit {
                    id,
                    price: Some(price),
                    metadata: meta,
                    deleted: false,
                }
            }
        });
    }
    if edits.is_empty() {
        return Ok(());
    }
    let key = idempotency(&[
        "reserved_items",
        &p.view.subscription,
        &fingerprint(&(&p.current, &p.view.items)),
    ]);
    stripe
        .edit_items(&p.view.subscription, &edits, &key)
        .await?;
    Ok(())
}
