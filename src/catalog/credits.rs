//! The credits' declaration checked: the default cost of a unit, per-tool costs and the packs
//! on sale.

use std::collections::BTreeMap;

use super::Credits;
use super::error::{CatalogError, Context};
use super::schema::CreditsSpec;
use super::validate::{amount, check_id};
use crate::core::credit::CreditPack;

pub(super) fn build(cx: &Context<'_>, spec: Option<CreditsSpec>) -> Result<Credits, CatalogError> {
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
