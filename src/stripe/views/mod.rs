//! Projections of Stripe objects: the fields a person acts on (ids, amounts with their currency,
//! status, links, the customer and plan metadata), never the 5 KB raw object, never a bare id.
//! Money is integer minor units plus a readable string; times are RFC 3339.

use std::collections::{BTreeMap, HashMap};

use schemars::JsonSchema;
use serde::Serialize;
use stripe_types::{Expandable, List, Object};

use crate::core::period::rfc3339;
use crate::core::{Currency, MinorUnits};
use crate::values::{Money, PageInfo};

mod billing;
mod catalog;
mod checkout;
mod payments;

pub use billing::*;
pub use catalog::*;
pub use checkout::*;
pub use payments::*;

pub(crate) fn money(amount: i64, currency: &stripe_types::Currency) -> Money {
    let code = currency.to_string();
    match Currency::parse(&code) {
        Ok(c) => Money::new(MinorUnits(amount), c),
        Err(_) => Money {
            amount,
            display: format!("{amount} (minor units)"),
            currency: code,
        },
    }
}

pub(super) fn time(seconds: i64) -> String {
    rfc3339(seconds.saturating_mul(1000))
}

pub(super) fn id<T: Object>(e: &Expandable<T>) -> String
where
    T::Id: std::fmt::Display,
{
    e.id().to_string()
}

pub(super) fn opt_id<T: Object>(e: Option<&Expandable<T>>) -> Option<String>
where
    T::Id: std::fmt::Display,
{
    e.map(id)
}

/// An invoice's id is optional in Stripe's schema (upcoming invoices have none).
pub(super) fn invoice_id(e: Option<&Expandable<stripe_shared::Invoice>>) -> Option<String> {
    match e? {
        Expandable::Id(id) => id.as_ref().map(ToString::to_string),
        Expandable::Object(invoice) => invoice.id.as_ref().map(ToString::to_string),
    }
}

pub(super) fn sorted(m: &HashMap<String, String>) -> BTreeMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// A page of Stripe objects: pass `next_cursor` as `starting_after` for the next page.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    #[serde(flatten)]
    pub page: PageInfo,
}

impl<T> Page<T> {
    pub(crate) fn of<S>(list: List<S>, cursor: impl Fn(&S) -> String) -> Page<T>
    where
        T: for<'a> From<&'a S>,
    {
        let next_cursor = if list.has_more {
            list.data.last().map(&cursor)
        } else {
            None
        };
        Page {
            data: list.data.iter().map(T::from).collect(),
            page: PageInfo {
                has_more: list.has_more,
                next_cursor,
            },
        }
    }
}
