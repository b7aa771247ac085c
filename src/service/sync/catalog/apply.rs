//! Applying the catalog sync's steps in order: meters, products and prices created, updated,
//! replaced (a new price takes the lookup key, the old one is archived) or archived, each write
//! with an idempotency key derived from what it writes, and a progress report after each step.

use std::collections::HashMap;

use super::*;
use crate::service::BillingError;
use crate::service::progress::report;
use crate::service::sync::desired::WantPrice;
use crate::service::sync::{SPEC_KEY, SYNC_KEY, Step, idempotency, tagged};
use crate::stripe::catalog::NewMeter;
use crate::stripe::checkout::PLAN_KEY;
use crate::stripe::sync::PriceRequest;
use crate::stripe::{Payments, wire};
use crate::values::{IdempotencyKey, Name, Text};

pub(super) async fn apply(
    stripe: &Payments,
    steps: &mut [(Step, Work)],
    cur: &Current,
) -> Result<(), BillingError> {
    // Objects created by earlier steps of this run; the rest are found in `cur`.
    let mut products: HashMap<String, String> = HashMap::new();
    let mut meters: HashMap<String, String> = HashMap::new();
    let total = steps.len() as u64;
    for (n, (s, work)) in steps.iter_mut().enumerate() {
        let existing = s.id.clone().unwrap_or_default();
        let made = match work {
            Work::CreateMeter(m) => {
                let view = stripe
                    .create_meter(NewMeter {
                        display_name: Text(m.display_name.clone()),
                        event_name: Name(m.event_name.clone()),
                        aggregation: Some(m.formula),
                        customer_key: None,
                        value_key: None,
                        idempotency_key: Some(IdempotencyKey(idempotency(&[
                            "meter",
                            &m.event_name,
                            &wire(m.formula),
                        ]))),
                    })
                    .await?;
                meters.insert(m.event_name.clone(), view.id.clone());
                view.id
            }
            Work::RenameMeter(name) => {
                let key = idempotency(&["meter", &existing, name]);
                stripe.rename_meter(&existing, name, &key).await?.id
            }
            Work::CreateProduct(p) => {
                let key = idempotency(&[
                    "product",
                    &p.plan,
                    &p.name,
                    p.description.as_deref().unwrap_or(""),
                ]);
                let meta = tagged(&[(PLAN_KEY, &p.plan), (SYNC_KEY, "catalog")]);
                let view = stripe
                    .create_tagged_product(&p.name, p.description.as_deref(), meta, &key)
                    .await?;
                products.insert(p.plan.clone(), view.id.clone());
                view.id
            }
            Work::UpdateProduct(p) => {
                let key = idempotency(&[
                    "product",
                    &existing,
                    &p.name,
                    p.description.as_deref().unwrap_or(""),
                ]);
                stripe
                    .update_product(
                        &existing,
                        Some(&p.name),
                        p.description.as_deref(),
                        None,
                        &key,
                    )
                    .await?
                    .id
            }
            Work::CreatePrice(p) => {
                let product = products
                    .get(&p.plan)
                    .cloned()
                    .or_else(|| cur.product(&p.plan).map(|v| v.id.clone()))
                    .ok_or_else(|| missing("product", &p.plan))?;
                let meter = match &p.spec.event_name {
                    Some(e) => Some(
                        meters
                            .get(e)
                            .cloned()
                            .or_else(|| cur.meter(e).map(|v| v.id.clone()))
                            .ok_or_else(|| missing("meter", e))?,
                    ),
                    None => None,
                };
                let made = create_price(stripe, p, &product, meter.as_deref(), &existing).await?;
                let replaced = cur.prices.iter().find(|h| h.id == existing);
                if replaced.is_some_and(|h| made_here(&h.metadata)) {
                    archive_price(stripe, &existing).await?;
                }
                made
            }
            Work::ArchivePrice => archive_price(stripe, &existing).await?,
            Work::ArchiveProduct => {
                stripe
                    .update_product(
                        &existing,
                        None,
                        None,
                        Some(false),
                        &idempotency(&["archive", &existing]),
                    )
                    .await?
                    .id
            }
        };
        s.result = Some(made);
        report(
            n as u64 + 1,
            total,
            format!("{} {} {}", s.action, s.object, s.key),
        )
        .await;
    }
    Ok(())
}

async fn archive_price(stripe: &Payments, id: &str) -> Result<String, BillingError> {
    let key = idempotency(&["archive", id]);
    Ok(stripe.archive_price(id, &key).await?.id)
}

async fn create_price(
    stripe: &Payments,
    p: &WantPrice,
    product: &str,
    meter: Option<&str>,
    replaces: &str,
) -> Result<String, BillingError> {
    let mut meta = tagged(&[
        (PLAN_KEY, &p.plan),
        (SPEC_KEY, &p.fingerprint),
        (SYNC_KEY, "catalog"),
    ]);
    if let Some(m) = &p.meter {
        meta.insert(METER_KEY.into(), m.clone());
    }
    let key = idempotency(&[
        "price",
        &p.lookup_key,
        &p.fingerprint,
        product,
        meter.unwrap_or(""),
        replaces,
    ]);
    let spec = &p.spec;
    let view = stripe
        .create_spec_price(
            PriceRequest {
                product,
                currency: &spec.currency,
                interval: spec.interval,
                meter,
                amount: &spec.amount,
                lookup_key: Some(&p.lookup_key),
                nickname: &p.nickname,
                metadata: meta,
            },
            &key,
        )
        .await?;
    Ok(view.id)
}

fn missing(object: &str, key: &str) -> BillingError {
    BillingError::new(
        "stripe_unexpected_response",
        format!("the {object} for {key} was not created before its prices; run sync_catalog again"),
    )
}
