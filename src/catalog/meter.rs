//! A meter's declaration checked: its Stripe event name, its aggregation, the dimension a
//! `unique` meter counts and the dimension plans price apart.

use super::error::{CatalogError, Context};
use super::schema::MeterSpec;
use super::{Aggregation, Meter};

pub(super) fn build(
    cx: &Context<'_>,
    field: &str,
    id: String,
    spec: MeterSpec,
) -> Result<Meter, CatalogError> {
    let aggregation = match spec.aggregation.as_deref().unwrap_or("sum") {
        "sum" => Aggregation::Sum,
        "count" => Aggregation::Count,
        "max" => Aggregation::Max,
        "last" => Aggregation::Last,
        "unique" => Aggregation::Unique,
        other => {
            return Err(cx.err(
                format!("{field}.aggregation"),
                format!("unknown aggregation `{other}`"),
                "use one of sum, count, max, last, unique",
            ));
        }
    };
    let declared = |d: &str| d == "tool" || spec.dimensions.iter().any(|x| x == d);
    let unique = match (aggregation, spec.unique) {
        (Aggregation::Unique, Some(d)) if declared(&d) => Some(d),
        (Aggregation::Unique, Some(d)) => {
            return Err(cx.err(
                format!("{field}.unique"),
                format!("dimension `{d}` is not declared"),
                format!("add \"{d}\" to {field}.dimensions"),
            ));
        }
        (Aggregation::Unique, None) => {
            return Err(cx.err(
                format!("{field}.unique"),
                "a unique meter needs the dimension whose distinct values it counts",
                "add e.g. unique = \"tool\"",
            ));
        }
        (_, Some(_)) => {
            return Err(cx.err(
                format!("{field}.unique"),
                "only a meter with aggregation = \"unique\" counts distinct values",
                "remove `unique`, or set aggregation = \"unique\"",
            ));
        }
        (_, None) => None,
    };
    let price_dimension = spec.price_dimension.unwrap_or_else(|| "tool".into());
    if !declared(&price_dimension) {
        return Err(cx.err(
            format!("{field}.price_dimension"),
            format!("dimension `{price_dimension}` is not declared"),
            format!("add \"{price_dimension}\" to {field}.dimensions"),
        ));
    }
    Ok(Meter {
        id,
        event_name: spec.event_name,
        aggregation,
        dimensions: spec.dimensions,
        unique,
        price_dimension,
        description: spec.description,
    })
}
