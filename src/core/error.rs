//! Errors of the pure core: each is a rule the input broke, phrased so a caller can fix it.

/// A billing rule the input broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// An amount does not fit the integer range (i64 minor units).
    #[error(
        "amount overflows the supported range (at most {} minor units)",
        i64::MAX
    )]
    Overflow,
    /// A currency code we do not know.
    #[error("unknown currency `{0}`; use an ISO 4217 code such as usd, eur or jpy")]
    UnknownCurrency(String),
    /// Tiers are not strictly increasing or the last one is bounded.
    #[error("{0}")]
    InvalidTiers(String),
    /// Any other invalid price shape.
    #[error("{0}")]
    InvalidPrice(String),
}
