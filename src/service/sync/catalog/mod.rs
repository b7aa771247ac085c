//! `sync_catalog`: read what Stripe holds (meters by event name, products by
//! `billing_mcp_plan` metadata, prices by lookup key), compare it with what the catalog wants,
//! and list the steps (create, update, replace, archive). Prices are immutable at Stripe, so a
//! changed price is replaced: a new price takes over the lookup key and the old one is
//! archived. Applying runs the steps in order with a progress report after each; planning again
//! afterwards finds nothing to do.

mod apply;

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::Serialize;

use super::desired::{Desired, Skipped, WantMeter, WantPrice, WantProduct, desired};
use super::{SPEC_KEY, SYNC_KEY, Step, describe};
use crate::service::{App, BillingError};
use crate::stripe::checkout::PLAN_KEY;
use crate::stripe::views::{MeterView, PriceView, ProductView};
use crate::stripe::{Payments, wire};

/// The meter a synced usage price reads (catalog id).
const METER_KEY: &str = "billing_mcp_meter";

#[derive(Debug, Serialize, JsonSchema)]
pub struct Unchanged {
    pub object: &'static str,
    pub key: String,
    pub id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CatalogSync {
    /// True when nothing was changed (the default): `steps` is the plan.
    pub dry_run: bool,
    /// How many steps the plan has (0: Stripe already matches the catalog).
    pub changes: usize,
    pub steps: Vec<Step>,
    pub unchanged: Vec<Unchanged>,
    /// Catalog parts Stripe cannot bill as the ledger does, and why.
    pub skipped: Vec<Skipped>,
}

/// What one step does when applied.
#[derive(Debug, Clone)]
enum Work {
    CreateMeter(WantMeter),
    RenameMeter(String),
    CreateProduct(WantProduct),
    UpdateProduct(WantProduct),
    CreatePrice(WantPrice),
    ArchivePrice,
    ArchiveProduct,
}

/// Stripe's objects as the planner sees them.
struct Current {
    meters: Vec<MeterView>,
    products: Vec<ProductView>,
    prices: Vec<PriceView>,
}

impl Current {
    async fn read(stripe: &Payments) -> Result<Current, BillingError> {
        Ok(Current {
            meters: stripe.every_meter().await?,
            products: stripe.every_active_product().await?,
            prices: stripe.every_active_price().await?,
        })
    }

    fn meter(&self, event_name: &str) -> Option<&MeterView> {
        self.meters.iter().find(|m| m.event_name == event_name)
    }

    fn product(&self, plan: &str) -> Option<&ProductView> {
        self.products
            .iter()
            .find(|p| p.metadata.get(PLAN_KEY).map(String::as_str) == Some(plan))
    }
}

/// Whether this sync made the object (only those are ever archived).
fn made_here(metadata: &std::collections::BTreeMap<String, String>) -> bool {
    metadata.get(SYNC_KEY).map(String::as_str) == Some("catalog")
}

fn step(
    action: &'static str,
    object: &'static str,
    key: &str,
    id: Option<&str>,
    detail: String,
) -> Step {
    Step {
        action,
        object,
        key: key.to_string(),
        id: id.map(String::from),
        detail,
        result: None,
    }
}

fn plan(want: &Desired, cur: &Current) -> (Vec<(Step, Work)>, Vec<Unchanged>, Vec<Skipped>) {
    let mut steps = Vec::new();
    let mut same = Vec::new();
    let mut skipped = want.skipped.clone();
    for m in &want.meters {
        match cur.meter(&m.event_name) {
            None => steps.push((
                step(
                    "create",
                    "meter",
                    &m.event_name,
                    None,
                    format!("{} meter \"{}\"", wire(m.formula), m.display_name),
                ),
                Work::CreateMeter(m.clone()),
            )),
            Some(have) if have.aggregation != wire(m.formula) || have.status != "active" => {
                skipped.push(Skipped {
                    object: "meter",
                    key: m.event_name.clone(),
                    reason: format!(
                        "Stripe holds {} as a {} {} meter; a meter's aggregation cannot change and an inactive meter takes no events: reactivate or replace it in Stripe, or change event_name in the catalog",
                        have.id, have.status, have.aggregation
                    ),
                });
            }
            Some(have) if have.display_name != m.display_name => steps.push((
                step(
                    "update",
                    "meter",
                    &m.event_name,
                    Some(&have.id),
                    format!(
                        "display name \"{}\" → \"{}\"",
                        have.display_name, m.display_name
                    ),
                ),
                Work::RenameMeter(m.display_name.clone()),
            )),
            Some(have) => same.push(Unchanged {
                object: "meter",
                key: m.event_name.clone(),
                id: have.id.clone(),
            }),
        }
    }
    for p in &want.products {
        match cur.product(&p.plan) {
            None => steps.push((
                step(
                    "create",
                    "product",
                    &p.plan,
                    None,
                    format!("product \"{}\"", p.name),
                ),
                Work::CreateProduct(p.clone()),
            )),
            Some(have) if have.name != p.name || have.description != p.description => steps.push((
                step(
                    "update",
                    "product",
                    &p.plan,
                    Some(&have.id),
                    format!(
                        "name \"{}\" → \"{}\", description updated",
                        have.name, p.name
                    ),
                ),
                Work::UpdateProduct(p.clone()),
            )),
            Some(have) => same.push(Unchanged {
                object: "product",
                key: p.plan.clone(),
                id: have.id.clone(),
            }),
        }
    }
    for p in &want.prices {
        let have = cur
            .prices
            .iter()
            .find(|h| h.lookup_key.as_deref() == Some(&p.lookup_key));
        match have {
            None => steps.push((
                step("create", "price", &p.lookup_key, None, describe(&p.spec)),
                Work::CreatePrice(p.clone()),
            )),
            Some(h) if current(h, p, cur) => same.push(Unchanged { object: "price", key: p.lookup_key.clone(), id: h.id.clone() }),
            Some(h) => steps.push((
                step("replace", "price", &p.lookup_key, Some(&h.id), format!("{} (prices cannot change at Stripe: a new price takes the lookup key, this one is archived)", describe(&p.spec))),
                Work::CreatePrice(p.clone()),
            )),
        }
    }
    let wanted_keys: BTreeSet<&str> = want.prices.iter().map(|p| p.lookup_key.as_str()).collect();
    for h in cur.prices.iter().filter(|h| made_here(&h.metadata)) {
        if !h
            .lookup_key
            .as_deref()
            .is_some_and(|k| wanted_keys.contains(k))
        {
            steps.push((
                step(
                    "archive",
                    "price",
                    h.lookup_key.as_deref().unwrap_or(&h.id),
                    Some(&h.id),
                    "no longer in the catalog".into(),
                ),
                Work::ArchivePrice,
            ));
        }
    }
    let wanted_plans: BTreeSet<&str> = want.products.iter().map(|p| p.plan.as_str()).collect();
    for h in cur.products.iter().filter(|h| made_here(&h.metadata)) {
        let plan = h.metadata.get(PLAN_KEY).map_or("", String::as_str);
        if !wanted_plans.contains(plan) {
            steps.push((
                step(
                    "archive",
                    "product",
                    plan,
                    Some(&h.id),
                    "plan no longer in the catalog or without prices".into(),
                ),
                Work::ArchiveProduct,
            ));
        }
    }
    (steps, same, skipped)
}

/// Whether Stripe's price is the one wanted: same fingerprint, product and meter.
fn current(have: &PriceView, want: &WantPrice, cur: &Current) -> bool {
    let same_spec = have.metadata.get(SPEC_KEY) == Some(&want.fingerprint);
    let same_product = cur
        .product(&want.plan)
        .is_some_and(|p| p.id == have.product);
    let same_meter = match &want.spec.event_name {
        None => true,
        Some(event) => {
            let meter = cur.meter(event).map(|m| m.id.as_str());
            have.recurring.as_ref().and_then(|r| r.meter.as_deref()) == meter && meter.is_some()
        }
    };
    same_spec && same_product && same_meter
}

pub async fn sync_catalog(app: &App, dry_run: bool) -> Result<CatalogSync, BillingError> {
    let stripe = app.stripe()?;
    let cur = Current::read(stripe).await?;
    let (mut steps, unchanged, skipped) = plan(&desired(&app.catalog), &cur);
    if !dry_run {
        apply::apply(stripe, &mut steps, &cur).await?;
    }
    Ok(CatalogSync {
        dry_run,
        changes: steps.len(),
        steps: steps.into_iter().map(|(s, _)| s).collect(),
        unchanged,
        skipped,
    })
}
