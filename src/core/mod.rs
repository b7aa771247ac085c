//! The pure billing core: money, tiers, plans, periods, credits, entitlements, reserved tiers and
//! quotes. Nothing here does I/O, reads a clock or knows about sqlx, Stripe, rmcp or tokio: every
//! input (including "now") is an argument, so every rule is testable with plain values.

pub mod cost;
pub mod credit;
pub mod entitlement;
pub mod error;
#[cfg(test)]
mod examples;
pub mod insight;
pub mod invoice;
pub mod money;
pub mod period;
pub mod plan;
pub mod quote;
pub mod reserved;
pub mod stretch;
pub mod text;
pub mod tier;
pub mod usage;

pub use error::CoreError;
pub use money::{Currency, MinorUnits, round_minor};
