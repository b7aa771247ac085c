//! `sync_reserved_tiers`: seed 001's `reserved.json` (per customer `<meter>_reserved` and
//! `<meter>_overage_tiers`) → the items of each customer's Stripe subscription. Every overage
//! tier is one metered item whose graduated price is free up to reserved + threshold, bills
//! `price_per_unit` up to the next tier's start, and is free above, so the items together bill
//! exactly the core's overage charge. Prices are shared by lookup key
//! (`reserved_<meter>_<digest>`); items are found by their metadata (`billing_mcp_tier`). All of a
//! customer's item changes go to Stripe in one subscription update. Decimal prices are read
//! from the JSON text itself, never through a float.

mod apply;

use apply::apply_customer;

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Serialize;

use super::describe;
use super::desired::{PriceSpec, fingerprint};
use crate::core::reserved::{ItemAction, ReservedMeter, TierItem, desired_items, plan_items};
use crate::core::tier::{PriceModel, Tier, TiersMode};
use crate::core::{Currency, MinorUnits};
use crate::service::progress::report;
use crate::service::{App, BillingError};
use crate::stripe::Payments;
use crate::stripe::views::{MeterView, PriceView, ProductView, SubscriptionView};

/// Item metadata: which tier the item bills (`<meter>/<threshold>`), at what price and band.
const TIER_KEY: &str = "billing_mcp_tier";
const TIER_PRICE_KEY: &str = "billing_mcp_tier_price";
const TIER_BAND_KEY: &str = "billing_mcp_tier_band";
/// Product metadata: the meter whose reserved-tier prices it holds.
const RESERVED_METER_KEY: &str = "billing_mcp_reserved_meter";
/// Stripe's limit of items on one subscription.
const MAX_ITEMS: usize = 20;

/// A price the plan needs that Stripe does not hold yet.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NewTierPrice {
    pub lookup_key: String,
    pub detail: String,
    /// After applying: the price created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CustomerTiers {
    pub customer: String,
    pub subscription: String,
    /// Subscription items to add, update (price or band) or remove.
    #[schemars(with = "Vec<serde_json::Value>")]
    pub items: Vec<ItemAction>,
    pub prices: Vec<NewTierPrice>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ReservedSync {
    pub dry_run: bool,
    /// Item changes plus prices to create, over every customer (0: Stripe already matches).
    pub changes: usize,
    pub customers: Vec<CustomerTiers>,
}

/// One wanted tier item and the price that bills it.
struct TierPrice {
    item: TierItem,
    /// The catalog meter and the Stripe meter the price reads.
    meter: String,
    stripe_meter: String,
    spec: PriceSpec,
    digest: String,
    lookup_key: String,
}

/// Everything a customer's plan needs to apply.
struct Planned {
    view: CustomerTiers,
    /// The wanted tier items by key (`<meter>/<threshold>`).
    tiers: BTreeMap<String, TierPrice>,
    /// The tier items Stripe holds now (part of the update's idempotency key).
    current: Vec<TierItem>,
}

/// Stripe's state shared by every customer's plan.
struct Stripe {
    meters: Vec<MeterView>,
    products: Vec<ProductView>,
    prices: Vec<PriceView>,
}

pub async fn sync_reserved_tiers(
    app: &App,
    document: Option<&str>,
    only: Option<&str>,
    dry_run: bool,
) -> Result<ReservedSync, BillingError> {
    let stripe = app.stripe()?;
    // The ledger holds what customers have reserved; a document given here is stored first.
    let all = match document {
        Some(text) => {
            let all = crate::service::reserved::checked_document(app, text, only).await?;
            if !dry_run {
                crate::service::reserved::set_reserved_tiers(app, text, only, false).await?;
            }
            all
        }
        None => crate::service::reserved::held(app, only).await?,
    };
    let mut state = Stripe {
        meters: stripe.every_meter().await?,
        products: stripe.every_active_product().await?,
        prices: stripe.every_active_price().await?,
    };
    let mut planned = Vec::new();
    for (customer, meters) in &all {
        planned.push(plan_customer(app, stripe, &state, customer, meters).await?);
    }
    if !dry_run {
        let total = planned.len() as u64;
        for (n, p) in planned.iter_mut().enumerate() {
            apply_customer(app, stripe, &mut state, p).await?;
            report(
                n as u64 + 1,
                total,
                format!("reserved tiers of {}", p.view.customer),
            )
            .await;
        }
    }
    let customers: Vec<CustomerTiers> = planned.into_iter().map(|p| p.view).collect();
    let changes = customers
        .iter()
        .map(|c| c.items.len() + c.prices.len())
        .sum();
    Ok(ReservedSync {
        dry_run,
        changes,
        customers,
    })
}

/// The subscription the tiers belong on: the one already holding tier items, else the only one.
fn choose(
    customer: &str,
    mut subs: Vec<SubscriptionView>,
) -> Result<SubscriptionView, BillingError> {
    let ids: Vec<String> = subs.iter().map(|s| s.id.clone()).collect();
    if let Some(i) = subs
        .iter()
        .position(|s| s.items.iter().any(|i| i.metadata.contains_key(TIER_KEY)))
    {
        return Ok(subs.swap_remove(i));
    }
    match subs.len() {
        1 => Ok(subs.remove(0)),
        0 => Err(BillingError::new("no_subscription", format!("customer `{customer}` has no active subscription for the tier items; start one (create_payment_link or create_checkout_session) and sync again")).with("customer", customer)),
        _ => Err(BillingError::new("ambiguous_subscription", format!("customer `{customer}` has {} active subscriptions ({}); cancel the extra ones or add a tier item to one of them first", ids.len(), ids.join(", "))).with("customer", customer)),
    }
}

/// A Stripe item's tier terms, read from its metadata (unreadable terms never match).
fn current_item(i: &crate::stripe::views::SubscriptionItemView) -> Option<TierItem> {
    let key = i.metadata.get(TIER_KEY)?.clone();
    let price = i
        .metadata
        .get(TIER_PRICE_KEY)
        .and_then(|p| Decimal::from_str(p).ok());
    let band = i.metadata.get(TIER_BAND_KEY).and_then(|b| {
        let (start, end) = b.split_once('-')?;
        Some((
            start.parse().ok()?,
            if end.is_empty() {
                None
            } else {
                Some(end.parse().ok()?)
            },
        ))
    });
    let (price, (band_start, band_end)) = match (price, band) {
        (Some(p), Some(b)) => (p, b),
        _ => (Decimal::NEGATIVE_ONE, (0, Some(0))),
    };
    Some(TierItem {
        key,
        price_per_unit: price,
        band_start,
        band_end,
        item_id: Some(i.id.clone()),
    })
}

/// The graduated price of one tier item: free below the band, `minor` per unit in it, free above.
fn band_price(minor: Decimal, start: u64, end: Option<u64>) -> PriceModel {
    let tier = |up_to, unit_amount| Tier {
        up_to,
        unit_amount,
        flat_amount: MinorUnits::ZERO,
    };
    let mut tiers = Vec::new();
    if start > 0 {
        tiers.push(tier(Some(start), Decimal::ZERO));
    }
    match end {
        Some(e) => {
            tiers.push(tier(Some(e), minor));
            tiers.push(tier(None, Decimal::ZERO));
        }
        None => tiers.push(tier(None, minor)),
    }
    if tiers.len() == 1 {
        return PriceModel::PerUnit { unit_amount: minor };
    }
    PriceModel::Tiered {
        mode: TiersMode::Graduated,
        tiers,
    }
}

async fn plan_customer(
    app: &App,
    stripe: &Payments,
    state: &Stripe,
    customer: &str,
    meters: &BTreeMap<String, ReservedMeter>,
) -> Result<Planned, BillingError> {
    let stripe_customer = app.stripe_customer(customer).await?;
    let sub = choose(customer, stripe.live_subscriptions(&stripe_customer).await?)?;
    let currency = Currency::parse(&sub.currency).map_err(BillingError::from)?;
    // Every item of a subscription bills at one interval; the tier prices must match it.
    let yearly = sub
        .items
        .iter()
        .any(|i| i.interval.as_deref() == Some("year"));
    let interval = if yearly { "year" } else { "month" };
    let wanted = desired_items(meters);
    let current: Vec<TierItem> = sub.items.iter().filter_map(current_item).collect();
    let actions = plan_items(&wanted, &current);
    let after = sub.items.len()
        + actions
            .iter()
            .filter(|a| matches!(a, ItemAction::Add { .. }))
            .count()
        - actions
            .iter()
            .filter(|a| matches!(a, ItemAction::Remove { .. }))
            .count();
    if after > MAX_ITEMS {
        return Err(BillingError::invalid(format!(
            "customer `{customer}`: subscription {} would hold {after} items; Stripe allows {MAX_ITEMS} per subscription: fewer overage tiers, or remove other items",
            sub.id
        )));
    }
    let mut tiers = BTreeMap::new();
    let mut prices: Vec<NewTierPrice> = Vec::new();
    for item in wanted {
        let meter = item.key.split('/').next().unwrap_or_default().to_string();
        let event_name = &app.catalog.meters[&meter].event_name;
        // Checked here, so a dry run already says what applying would stop at.
        let Some(stripe_meter) = state
            .meters
            .iter()
            .find(|m| &m.event_name == event_name && m.status == "active")
            .map(|m| m.id.clone())
        else {
            return Err(BillingError::new(
                "meter_not_synced",
                format!(
                    "Stripe has no active meter for `{event_name}` (catalog meter {meter}); run sync_catalog with dry_run false first"
                ),
            ));
        };
        let minor = currency.major_to_minor(item.price_per_unit)?.normalize();
        if minor.scale() > 12 {
            return Err(BillingError::invalid(format!(
                "{customer}.{meter}: price_per_unit {} is finer than Stripe's 12 decimals of a minor unit",
                item.price_per_unit
            )));
        }
        let spec = PriceSpec {
            currency: currency.code().to_string(),
            interval,
            event_name: Some(event_name.clone()),
            amount: band_price(minor, item.band_start, item.band_end),
        };
        let digest = fingerprint(&spec);
        let lookup_key = format!("reserved_{meter}_{digest}");
        let changing = actions.iter().any(|a| matches!(a, ItemAction::Add { key, .. } | ItemAction::Update { key, .. } if *key == item.key));
        if changing
            && !state
                .prices
                .iter()
                .any(|p| p.lookup_key.as_deref() == Some(lookup_key.as_str()))
            && !prices.iter().any(|p| p.lookup_key == lookup_key)
        {
            prices.push(NewTierPrice {
                lookup_key: lookup_key.clone(),
                detail: describe(&spec),
                result: None,
            });
        }
        tiers.insert(
            item.key.clone(),
            TierPrice {
                item,
                meter,
                stripe_meter,
                spec,
                digest,
                lookup_key,
            },
        );
    }
    Ok(Planned {
        view: CustomerTiers {
            customer: customer.to_string(),
            subscription: sub.id,
            items: actions,
            prices,
        },
        tiers,
        current,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::reserved::parse_document;

    const SEED: &str = r#"{
      "acme": {
        "vex_reserved": 10000,
        "fu_reserved": 50000,
        "vex_overage_tiers": [
          {"threshold": 5000, "price_per_unit": 0.01, "stripe_item": "si_acme_vex_tier1"}
        ],
        "fu_overage_tiers": [
          {"threshold": 25000, "price_per_unit": 0.001, "stripe_item": "si_acme_fu_tier1"}
        ]
      }
    }"#;

    #[test]
    fn seed_document_parses_with_exact_decimals() {
        let doc = parse_document(SEED).unwrap();
        let fu = &doc["acme"]["fu"];
        assert_eq!(fu.reserved, 50_000);
        assert_eq!(fu.tiers[0].price_per_unit.to_string(), "0.001");
        assert_eq!(fu.tiers[0].stripe_item.as_deref(), Some("si_acme_fu_tier1"));
        // 17 significant digits survive: a float would not keep them
        let long = SEED.replace("0.001", "0.12345678901234567");
        let doc = parse_document(&long).unwrap();
        assert_eq!(
            doc["acme"]["fu"].tiers[0].price_per_unit.to_string(),
            "0.12345678901234567"
        );
    }

    #[test]
    fn bad_documents_say_where() {
        let unknown = parse_document(r#"{"acme": {"vex_limit": 3}}"#).unwrap_err();
        assert!(
            unknown.message.contains("acme.vex_limit"),
            "{}",
            unknown.message
        );
        let word = parse_document(
            r#"{"acme": {"vex_overage_tiers": [{"threshold": 1, "price_per_unit": "cheap"}]}}"#,
        )
        .unwrap_err();
        assert!(word.message.contains("cheap"), "{}", word.message);
        let order = parse_document(r#"{"acme": {"vex_overage_tiers": [{"threshold": 5, "price_per_unit": 1}, {"threshold": 2, "price_per_unit": 1}]}}"#).unwrap_err();
        assert!(order.message.contains("increase"), "{}", order.message);
    }

    #[test]
    fn tier_items_together_bill_the_core_overage() {
        let doc = parse_document(SEED).unwrap();
        let vex = &doc["acme"]["vex"];
        let items = desired_items(&doc["acme"]);
        let item = items.iter().find(|i| i.key == "vex/5000").unwrap();
        let price = band_price(
            Currency::USD.major_to_minor(item.price_per_unit).unwrap(),
            item.band_start,
            item.band_end,
        );
        for usage in [0_u64, 15_000, 17_000, 40_000] {
            let stripe = price.price(usage).unwrap().total;
            let core = crate::core::reserved::overage_charge(vex, usage, Currency::USD)
                .unwrap()
                .total;
            assert_eq!(stripe, core, "usage {usage}");
        }
    }
}
