//! Turns the parsed file into core types, checking every rule a person can break and naming the
//! field and the fix when one is broken: the catalog as a whole here (ids, references between
//! meters, features and plans, amounts), a meter in `meter.rs`, a plan in `plan.rs`, a price in
//! `price.rs` and the credits in `credits.rs`.

use std::collections::{BTreeMap, BTreeSet};

use super::error::{CatalogError, Context};
use super::schema::CatalogFile;
use super::{Catalog, Meter};
use crate::core::plan::{Feature, Plan};
use crate::core::{Currency, MinorUnits};

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

pub(super) fn build(raw: CatalogFile, file: &str) -> Result<Catalog, CatalogError> {
    let cx = Context::new(file);
    let currency = parse_currency(&cx, "currency", raw.currency.as_deref().unwrap_or("usd"))?;

    let mut meters = BTreeMap::new();
    let mut event_names = BTreeSet::new();
    for (id, spec) in raw.meters {
        let field = format!("meters.{id}");
        check_id(&cx, &field, &id)?;
        if spec.event_name.trim().is_empty() || !event_names.insert(spec.event_name.clone()) {
            return Err(cx.err(format!("{field}.event_name"), "event_name is empty or used by another meter",
                "give each meter its own Stripe event name, e.g. event_name = \"tool_call_executed\""));
        }
        meters.insert(id.clone(), super::meter::build(&cx, &field, id, spec)?);
    }

    let mut features = BTreeMap::new();
    for (id, spec) in raw.features {
        let field = format!("features.{id}");
        check_id(&cx, &field, &id)?;
        if let Some(m) = &spec.meter {
            check_meter(&cx, &format!("{field}.meter"), m, &meters)?;
        }
        features.insert(
            id.clone(),
            Feature {
                id,
                meter: spec.meter,
                description: spec.description,
            },
        );
    }

    let mut plans = BTreeMap::new();
    for (id, spec) in &raw.plans {
        let plan = super::plan::build(&cx, id, spec, currency, &meters, &features)?;
        plans.insert(id.clone(), plan);
    }
    for (id, plan) in &plans {
        if let Some(up) = &plan.upgrade_to {
            check_plan(&cx, &format!("plans.{id}.upgrade_to"), up, &plans)?;
        }
    }
    if let Some(default) = &raw.default_plan {
        check_plan(&cx, "default_plan", default, &plans)?;
    }
    let credits = super::credits::build(&cx, raw.credits)?;
    let gateway = super::gateway::build(&cx, raw.gateway, &features, &meters)?;
    Ok(Catalog {
        currency,
        default_plan: raw.default_plan,
        meters,
        features,
        plans,
        credits,
        gateway,
    })
}

pub(super) fn keys<V>(map: &BTreeMap<String, V>) -> String {
    if map.is_empty() {
        "(none declared)".into()
    } else {
        map.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

pub(super) fn check_id(cx: &Context<'_>, field: &str, id: &str) -> Result<(), CatalogError> {
    if valid_id(id) {
        Ok(())
    } else {
        Err(cx.err(
            field,
            format!("`{id}` is not a valid id"),
            "use 1–64 letters, digits, `_`, `-` or `.`",
        ))
    }
}

pub(super) fn check_meter(
    cx: &Context<'_>,
    field: &str,
    meter: &str,
    meters: &BTreeMap<String, Meter>,
) -> Result<(), CatalogError> {
    if meters.contains_key(meter) {
        Ok(())
    } else {
        Err(cx.err(
            field,
            format!("unknown meter `{meter}`"),
            format!("declare [meters.{meter}] or use one of: {}", keys(meters)),
        ))
    }
}

pub(super) fn parse_currency(
    cx: &Context<'_>,
    field: &str,
    code: &str,
) -> Result<Currency, CatalogError> {
    Currency::parse(code).map_err(|e| {
        cx.err(
            field,
            e.to_string(),
            "use an ISO 4217 code such as usd, eur, gbp or jpy",
        )
    })
}

/// The largest amount a price may state, in minor units: Stripe's own limit for `unit_amount`
/// (eight digits: 999,999.99 in usd). With quantities bounded per event, totals stay far inside
/// the ledger's range.
pub const MAX_PRICE_AMOUNT: i64 = 99_999_999;

/// The most decimal places a `unit_amount_decimal` may have (Stripe's limit).
pub const MAX_RATE_SCALE: u32 = 12;

pub(super) fn amount(
    cx: &Context<'_>,
    field: &str,
    value: i64,
) -> Result<MinorUnits, CatalogError> {
    if value < 0 {
        return Err(cx.err(
            field,
            format!("a price cannot be negative (got {value})"),
            "write the amount in minor units, 0 or more",
        ));
    }
    if value > MAX_PRICE_AMOUNT {
        return Err(cx.err(
            field,
            format!("{value} is more than a price may be ({MAX_PRICE_AMOUNT} minor units, Stripe's limit)"),
            "write the amount in minor units (cents for usd), at most 99999999",
        ));
    }
    Ok(MinorUnits(value))
}

fn check_plan(
    cx: &Context<'_>,
    field: &str,
    plan: &str,
    plans: &BTreeMap<String, Plan>,
) -> Result<(), CatalogError> {
    if plans.contains_key(plan) {
        Ok(())
    } else {
        Err(cx.err(
            field,
            format!("unknown plan `{plan}`"),
            format!(
                "name a plan declared under [plans], one of: {}",
                keys(plans)
            ),
        ))
    }
}
