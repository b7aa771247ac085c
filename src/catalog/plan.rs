//! A plan's declaration checked: its currency, features, metered terms (limits, included units,
//! prices and the span they apply to), behaviour at the limit and when payment is overdue, rate
//! limit and upgrade URL.

use std::collections::{BTreeMap, BTreeSet};

use super::error::{CatalogError, Context};
use super::schema::{PlanMeterSpec, PlanSpec};
use super::validate::{amount, check_id, check_meter, keys, parse_currency};
use super::{Aggregation, Meter};
use crate::core::Currency;
use crate::core::period::Window;
use crate::core::plan::{AtLimit, Feature, OverduePolicy, Per, Plan, PlanMeter, Rate};

pub(super) fn build(
    cx: &Context<'_>,
    id: &str,
    spec: &PlanSpec,
    catalog_currency: Currency,
    meters: &BTreeMap<String, Meter>,
    features: &BTreeMap<String, Feature>,
) -> Result<Plan, CatalogError> {
    let field = format!("plans.{id}");
    check_id(cx, &field, id)?;
    let currency = match &spec.currency {
        Some(code) => parse_currency(cx, &format!("{field}.currency"), code)?,
        None => catalog_currency,
    };
    let mut feature_ids = BTreeSet::new();
    for f in &spec.features {
        if !features.contains_key(f) && !meters.contains_key(f) {
            return Err(cx.err(
                format!("{field}.features"),
                format!("unknown feature `{f}`"),
                format!("declare [features.{f}] or use one of: {}", keys(features)),
            ));
        }
        feature_ids.insert(f.clone());
    }
    let mut plan_meters = BTreeMap::new();
    for (meter, m) in &spec.meters {
        let mfield = format!("{field}.meters.{meter}");
        check_meter(cx, &mfield, meter, meters)?;
        let kind = meters
            .get(meter)
            .map_or(Aggregation::Sum, |m| m.aggregation);
        plan_meters.insert(meter.clone(), build_plan_meter(cx, &mfield, m, kind)?);
    }
    let at_limit = match spec.at_limit.as_deref().unwrap_or("block") {
        "block" => AtLimit::Block,
        "upgrade_prompt" => AtLimit::UpgradePrompt,
        "charge_overage" => AtLimit::ChargeOverage,
        other => {
            return Err(cx.err(
                format!("{field}.at_limit"),
                format!("unknown behaviour `{other}`"),
                "use block, upgrade_prompt or charge_overage",
            ));
        }
    };
    let on_payment_overdue = match spec.on_payment_overdue.as_deref().unwrap_or("block") {
        "block" => OverduePolicy::Block,
        "allow" => OverduePolicy::Allow,
        other => {
            return Err(cx.err(
                format!("{field}.on_payment_overdue"),
                format!("unknown policy `{other}`"),
                "use block or allow",
            ));
        }
    };
    let rate_limit = match &spec.rate_limit {
        None => None,
        Some(r) if r.per_minute == 0 || r.burst == Some(0) => {
            return Err(cx.err(
                format!("{field}.rate_limit"),
                "a rate of 0 would refuse every call",
                "give per_minute (and burst, if any) as whole numbers ≥ 1, or remove rate_limit",
            ));
        }
        Some(r) => Some(Rate::new(r.per_minute, r.burst.unwrap_or(r.per_minute))),
    };
    Ok(Plan {
        id: id.into(),
        name: spec.name.clone().unwrap_or_else(|| id.into()),
        description: spec.description.clone(),
        currency,
        monthly: spec
            .monthly
            .map(|v| amount(cx, &format!("{field}.monthly"), v))
            .transpose()?,
        yearly: spec
            .yearly
            .map(|v| amount(cx, &format!("{field}.yearly"), v))
            .transpose()?,
        trial_days: spec.trial_days.unwrap_or(0),
        features: feature_ids,
        meters: plan_meters,
        at_limit,
        upgrade_to: spec.upgrade_to.clone(),
        pay_with_credits: spec.pay_with_credits,
        on_payment_overdue,
        rate_limit,
        upgrade_url: spec
            .upgrade_url
            .as_deref()
            .map(|u| upgrade_url(cx, &format!("{field}.upgrade_url"), u))
            .transpose()?,
    })
}

/// An upgrade URL template: http(s), placeholders `{customer}`, `{plan}`, `{email}` only.
fn upgrade_url(cx: &Context<'_>, field: &str, url: &str) -> Result<String, CatalogError> {
    let fix = "write an http(s) URL; {customer}, {plan} and {email} are filled in, e.g. https://example.com/upgrade?customer={customer}&plan={plan}";
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2048 {
        return Err(cx.err(field, "not an http(s) URL of at most 2,048 characters", fix));
    }
    let mut rest = url;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map(|c| open + c);
        let name = close.map(|c| &rest[open + 1..c]);
        if !matches!(name, Some("customer" | "plan" | "email")) {
            return Err(cx.err(
                field,
                format!(
                    "unknown placeholder in `{}`",
                    &rest[open..close.map_or(rest.len(), |c| c + 1)]
                ),
                fix,
            ));
        }
        rest = &rest[close.map_or(rest.len(), |c| c + 1)..];
    }
    Ok(url.to_string())
}

fn build_plan_meter(
    cx: &Context<'_>,
    field: &str,
    spec: &PlanMeterSpec,
    aggregation: Aggregation,
) -> Result<PlanMeter, CatalogError> {
    let mut limits = BTreeMap::new();
    if let Some(l) = &spec.limits {
        for (w, v) in [
            (Window::Hour, l.hour),
            (Window::Day, l.day),
            (Window::Month, l.month),
        ] {
            if let Some(v) = v {
                limits.insert(w, v);
            }
        }
    }
    let price = spec
        .price
        .as_ref()
        .map(|p| super::price::build(cx, &format!("{field}.price"), p))
        .transpose()?;
    if !spec.dimension_prices.is_empty()
        && !matches!(aggregation, Aggregation::Sum | Aggregation::Count)
    {
        return Err(cx.err(
            format!("{field}.dimension_prices"),
            format!("a `{}` meter cannot be priced by dimension value: its quantity is not a sum of the values' quantities", aggregation.as_str()),
            "price the whole meter with `price`, or use a sum or count meter",
        ));
    }
    let mut dimension_prices = BTreeMap::new();
    for (value, p) in &spec.dimension_prices {
        dimension_prices.insert(
            value.clone(),
            super::price::build(cx, &format!("{field}.dimension_prices.{value}"), p)?,
        );
    }
    let per = match spec.per.as_deref().unwrap_or("month") {
        "month" => Per::Month,
        "period" => Per::Period,
        other => {
            return Err(cx.err(
                format!("{field}.per"),
                format!("unknown span `{other}`"),
                "use month (included units and the month limit each month, also on yearly plans) or period",
            ));
        }
    };
    Ok(PlanMeter {
        included: spec.included.unwrap_or(0),
        limits,
        price,
        dimension_prices,
        per,
    })
}
