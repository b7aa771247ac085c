//! Values every layer's answers share: an amount of money (integer minor units with a readable
//! form) and the position of a page in a list.

use schemars::JsonSchema;
use serde::Serialize;

use crate::core::{Currency, MinorUnits};

/// An amount of money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, JsonSchema)]
pub struct Money {
    /// Integer minor units (cents for usd).
    pub amount: i64,
    pub currency: String,
    /// The amount in major units, e.g. "29.00".
    pub display: String,
}

impl Money {
    pub fn new(amount: MinorUnits, currency: Currency) -> Money {
        Money {
            amount: amount.0,
            currency: currency.code().into(),
            display: currency.format(amount),
        }
    }
}

/// A page of a list: `next_cursor` goes into `starting_after` for the next page.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, JsonSchema)]
pub struct PageInfo {
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

impl PageInfo {
    /// Rows were read with `limit + 1`: keep `limit`, and say whether more follow and from where.
    pub fn cut<T>(rows: &mut Vec<T>, limit: i64, cursor: impl Fn(&T) -> String) -> PageInfo {
        let limit = usize::try_from(limit).unwrap_or(0);
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        PageInfo {
            has_more,
            next_cursor: if has_more {
                rows.last().map(cursor)
            } else {
                None
            },
        }
    }
}
