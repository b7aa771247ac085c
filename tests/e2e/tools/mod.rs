//! Tools as a user sees them: exact prices, clear errors, windows that reset, plans that apply
//! at once.

mod plans;
mod prices;
mod usage;
