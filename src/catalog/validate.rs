//! Turns the parsed file into core types, checking every rule a person can break and naming the
//! field and the fix when one is broken.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use rust_decimal::Decimal;

use super::schema::{CatalogFile, CreditsSpec, PlanMeterSpec, PlanSpec, PriceSpec};
use super::{Aggregation, Catalog, Credits, Meter};
use crate::core::credit::CreditPack;
use crate::core::period::Window;
use crate::core::plan::{AtLimit, Feature, OverduePolicy, Per, Plan, PlanMeter, Rate};
use crate::core::tier::{PackageRounding, PriceModel, Tier, TiersMode};
use crate::core::{Currency, MinorUnits};
pub(super) use Ctx as Context;

/// A catalog mistake: which file, which field, what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogError {
    pub file: String,
    pub field: String,
    pub problem: String,
    pub fix: String,
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: `{}`: {}. Fix: {}",
            self.file, self.field, self.problem, self.fix
        )
    }
}

impl std::error::Error for CatalogError {}

impl CatalogError {
    pub(super) fn unreadable(path: &Path, e: &std::io::Error) -> CatalogError {
        CatalogError {
            file: path.display().to_string(),
            field: "(file)".into(),
            problem: format!("cannot read the catalog: {e}"),
            fix:
                "pass an existing file with --catalog (the repository ships examples/billing.toml)"
                    .into(),
        }
    }

    pub(super) fn from_toml(file: &str, e: &toml::de::Error) -> CatalogError {
        let message = e.message().to_string();
        let field = message
            .split('`')
            .nth(1)
            .filter(|_| {
                message.starts_with("unknown field") || message.starts_with("missing field")
            })
            .unwrap_or("(syntax)")
            .to_string();
        let location = e
            .span()
            .map(|s| format!(" (byte {} of the file)", s.start))
            .unwrap_or_default();
        let fix = if message.contains("floating point") {
            "money is never a float: write minor units as integers (unit_amount = 5 for 5 cents) \
             or exact rates as strings (unit_amount_decimal = \"0.5\")"
        } else if message.starts_with("unknown field") {
            "remove or rename the field; the accepted names are listed above and in examples/billing.toml"
        } else {
            "correct the value; examples/billing.toml shows every field"
        };
        CatalogError {
            file: file.into(),
            field,
            problem: format!("{message}{location}"),
            fix: fix.into(),
        }
    }
}

pub(super) struct Ctx<'a> {
    file: &'a str,
}

impl Ctx<'_> {
    pub(super) fn err(
        &self,
        field: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> CatalogError {
        CatalogError {
            file: self.file.into(),
            field: field.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

pub(super) fn build(raw: CatalogFile, file: &str) -> Result<Catalog, CatalogError> {
    let cx = Ctx { file };
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
        let plan = build_plan(&cx, id, spec, currency, &meters, &features)?;
        plans.insert(id.clone(), plan);
    }
    for (id, plan) in &plans {
        if let Some(up) = &plan.upgrade_to
            && !plans.contains_key(up)
        {
            return Err(cx.err(
                format!("plans.{id}.upgrade_to"),
                format!("unknown plan `{up}`"),
                format!(
                    "name a plan declared under [plans], one of: {}",
                    keys(&plans)
                ),
            ));
        }
    }
    if let Some(default) = &raw.default_plan
        && !plans.contains_key(default)
    {
        return Err(cx.err(
            "default_plan",
            format!("unknown plan `{default}`"),
            format!(
                "name a plan declared under [plans], one of: {}",
                keys(&plans)
            ),
        ));
    }
    let credits = build_credits(&cx, raw.credits)?;
    Ok(Catalog {
        currency,
        default_plan: raw.default_plan,
        meters,
        features,
        plans,
        credits,
    })
}

fn keys<V>(map: &BTreeMap<String, V>) -> String {
    if map.is_empty() {
        "(none declared)".into()
    } else {
        map.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

fn check_id(cx: &Ctx<'_>, field: &str, id: &str) -> Result<(), CatalogError> {
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

fn check_meter(
    cx: &Ctx<'_>,
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

fn parse_currency(cx: &Ctx<'_>, field: &str, code: &str) -> Result<Currency, CatalogError> {
    Currency::parse(code).map_err(|e| {
        cx.err(
            field,
            e.to_string(),
            "use an ISO 4217 code such as usd, eur, gbp or jpy",
        )
    })
}

fn amount(cx: &Ctx<'_>, field: &str, value: i64) -> Result<MinorUnits, CatalogError> {
    if value < 0 {
        return Err(cx.err(
            field,
            format!("a price cannot be negative (got {value})"),
            "write the amount in minor units, 0 or more",
        ));
    }
    Ok(MinorUnits(value))
}

fn build_plan(
    cx: &Ctx<'_>,
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
fn upgrade_url(cx: &Ctx<'_>, field: &str, url: &str) -> Result<String, CatalogError> {
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
    cx: &Ctx<'_>,
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
        .map(|p| build_price(cx, &format!("{field}.price"), p))
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
            build_price(cx, &format!("{field}.dimension_prices.{value}"), p)?,
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

fn rate(
    cx: &Ctx<'_>,
    field: &str,
    int: Option<i64>,
    dec: Option<&str>,
) -> Result<Decimal, CatalogError> {
    match (int, dec) {
        (Some(_), Some(_)) => Err(cx.err(
            field,
            "both unit_amount and unit_amount_decimal are set",
            "keep only one of them",
        )),
        (Some(v), None) => Ok(amount(cx, &format!("{field}.unit_amount"), v)?.to_decimal()),
        (None, Some(s)) => {
            let v = Decimal::from_str(s).map_err(|_| {
                cx.err(
                    format!("{field}.unit_amount_decimal"),
                    format!("`{s}` is not a decimal number"),
                    "write it as a string of digits, e.g. \"0.25\" (minor units)",
                )
            })?;
            if v.is_sign_negative() && !v.is_zero() {
                return Err(cx.err(
                    format!("{field}.unit_amount_decimal"),
                    format!("a price cannot be negative (got {s})"),
                    "use 0 or more",
                ));
            }
            Ok(v)
        }
        (None, None) => Err(cx.err(
            field,
            "no unit price",
            "set unit_amount (integer minor units) or unit_amount_decimal (string)",
        )),
    }
}

fn build_price(cx: &Ctx<'_>, field: &str, spec: &PriceSpec) -> Result<PriceModel, CatalogError> {
    let model = if let Some(pkg) = &spec.package {
        let rounding = match pkg.round.as_deref().unwrap_or("up") {
            "up" => PackageRounding::Up,
            "down" => PackageRounding::Down,
            other => {
                return Err(cx.err(
                    format!("{field}.package.round"),
                    format!("unknown rounding `{other}`"),
                    "use up or down",
                ));
            }
        };
        PriceModel::Package {
            size: pkg.size,
            amount: amount(cx, &format!("{field}.package.amount"), pkg.amount)?,
            rounding,
        }
    } else if let Some(tiers) = &spec.tiers {
        let mode = match spec.tiers_mode.as_deref() {
            Some("graduated") => TiersMode::Graduated,
            Some("volume") => TiersMode::Volume,
            other => {
                return Err(cx.err(
                    format!("{field}.tiers_mode"),
                    format!(
                        "tiers_mode is {}",
                        other.map_or("missing".to_string(), |o| format!("`{o}`"))
                    ),
                    "set tiers_mode = \"graduated\" or \"volume\"",
                ));
            }
        };
        let mut out = Vec::new();
        for (i, t) in tiers.iter().enumerate() {
            let tfield = format!("{field}.tiers[{i}]");
            out.push(Tier {
                up_to: t.up_to,
                unit_amount: rate(
                    cx,
                    &tfield,
                    t.unit_amount
                        .or(t.unit_amount_decimal.is_none().then_some(0)),
                    t.unit_amount_decimal.as_deref(),
                )?,
                flat_amount: amount(
                    cx,
                    &format!("{tfield}.flat_amount"),
                    t.flat_amount.unwrap_or(0),
                )?,
            });
        }
        PriceModel::Tiered { mode, tiers: out }
    } else {
        PriceModel::PerUnit {
            unit_amount: rate(
                cx,
                field,
                spec.unit_amount,
                spec.unit_amount_decimal.as_deref(),
            )?,
        }
    };
    model.validate().map_err(|e| cx.err(format!("{field}.tiers"), e.to_string(),
        "list tiers in increasing up_to order with the last tier unbounded (no up_to), all amounts 0 or more"))?;
    Ok(model)
}

fn build_credits(cx: &Ctx<'_>, spec: Option<CreditsSpec>) -> Result<Credits, CatalogError> {
    let Some(spec) = spec else {
        return Ok(Credits {
            default_cost: 1,
            ..Credits::default()
        });
    };
    let mut packs = BTreeMap::new();
    for (id, p) in spec.packs {
        let field = format!("credits.packs.{id}");
        check_id(cx, &field, &id)?;
        if p.credits == 0 {
            return Err(cx.err(
                format!("{field}.credits"),
                "a pack must contain credits",
                "set credits to 1 or more",
            ));
        }
        let price = amount(cx, &format!("{field}.price"), p.price)?;
        packs.insert(
            id.clone(),
            CreditPack {
                name: p.name.unwrap_or_else(|| id.clone()),
                id,
                credits: p.credits,
                bonus: p.bonus,
                price,
            },
        );
    }
    Ok(Credits {
        default_cost: spec.default_cost.unwrap_or(1),
        tool_costs: spec.tool_costs,
        packs,
    })
}
