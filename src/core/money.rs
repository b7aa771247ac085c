//! Exact money: integer minor units with a currency, Decimal rates for sub-minor precision, and
//! the one rounding rule of the whole system ([`round_minor`]). No floats anywhere.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::CoreError;

/// The single rounding rule: a line total is rounded once, to the nearest minor unit, with halves
/// rounded away from zero (Stripe's behaviour for `unit_amount_decimal`).
pub const ROUNDING: RoundingStrategy = RoundingStrategy::MidpointAwayFromZero;

/// Round an exact amount in minor units to whole minor units with [`ROUNDING`].
pub fn round_minor(exact: Decimal) -> Result<MinorUnits, CoreError> {
    let rounded = exact.round_dp_with_strategy(0, ROUNDING);
    i64::try_from(rounded)
        .map(MinorUnits)
        .map_err(|_| CoreError::Overflow)
}

/// An amount of money in the smallest unit of its currency (cents for usd, yen for jpy).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct MinorUnits(pub i64);

impl MinorUnits {
    pub const ZERO: MinorUnits = MinorUnits(0);

    pub fn checked_add(self, other: MinorUnits) -> Result<MinorUnits, CoreError> {
        self.0
            .checked_add(other.0)
            .map(MinorUnits)
            .ok_or(CoreError::Overflow)
    }

    pub fn checked_sub(self, other: MinorUnits) -> Result<MinorUnits, CoreError> {
        self.0
            .checked_sub(other.0)
            .map(MinorUnits)
            .ok_or(CoreError::Overflow)
    }

    pub fn checked_mul(self, factor: i64) -> Result<MinorUnits, CoreError> {
        self.0
            .checked_mul(factor)
            .map(MinorUnits)
            .ok_or(CoreError::Overflow)
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::from(self.0)
    }
}

/// An ISO 4217 currency with its minor-unit exponent (2 for usd, 0 for jpy, 3 for kwd).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    exponent: u32,
}

/// Currencies whose exponent is not 2 (Stripe's zero-decimal and three-decimal lists).
const ZERO_DECIMAL: &[&str] = &[
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];
const THREE_DECIMAL: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];
const TWO_DECIMAL: &[&str] = &[
    "usd", "eur", "gbp", "chf", "cad", "aud", "nzd", "sek", "nok", "dkk", "pln", "czk", "huf",
    "ron", "bgn", "inr", "brl", "mxn", "sgd", "hkd", "zar", "ils", "thb", "myr", "php", "idr",
    "try", "aed", "sar", "cny", "twd",
];

impl Currency {
    pub const USD: Currency = Currency {
        code: "usd",
        exponent: 2,
    };

    /// Parse a lower- or upper-case ISO code.
    pub fn parse(code: &str) -> Result<Currency, CoreError> {
        let lower = code.to_ascii_lowercase();
        for (list, exponent) in [(TWO_DECIMAL, 2), (ZERO_DECIMAL, 0), (THREE_DECIMAL, 3)] {
            if let Some(found) = list.iter().find(|c| **c == lower) {
                return Ok(Currency {
                    code: found,
                    exponent,
                });
            }
        }
        Err(CoreError::UnknownCurrency(code.to_string()))
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn exponent(&self) -> u32 {
        self.exponent
    }

    /// Convert an amount in major units (e.g. dollars, as an exact decimal) to exact minor units.
    pub fn major_to_minor(&self, major: Decimal) -> Result<Decimal, CoreError> {
        major
            .checked_mul(Decimal::from(10_i64.pow(self.exponent)))
            .ok_or(CoreError::Overflow)
    }

    /// Render minor units as a major-unit string, e.g. 12345 usd → "123.45".
    pub fn format(&self, amount: MinorUnits) -> String {
        Decimal::new(amount.0, self.exponent).to_string()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap_or_default()
    }

    #[test]
    fn halves_round_away_from_zero_once() {
        assert_eq!(round_minor(d("0.5")), Ok(MinorUnits(1)));
        assert_eq!(round_minor(d("1.49999")), Ok(MinorUnits(1)));
        assert_eq!(round_minor(d("2.5")), Ok(MinorUnits(3)));
        assert_eq!(round_minor(d("-2.5")), Ok(MinorUnits(-3)));
    }

    #[test]
    fn currencies_know_their_exponent() {
        assert_eq!(Currency::parse("JPY").map(|c| c.exponent()), Ok(0));
        assert_eq!(Currency::parse("kwd").map(|c| c.exponent()), Ok(3));
        assert_eq!(
            Currency::parse("usd").map(|c| c.format(MinorUnits(12345))),
            Ok("123.45".into())
        );
        assert!(Currency::parse("xyz").is_err());
        assert_eq!(
            Currency::USD.major_to_minor(d("0.001")).ok(),
            Some(d("0.100"))
        );
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert_eq!(
            MinorUnits(i64::MAX).checked_add(MinorUnits(1)),
            Err(CoreError::Overflow)
        );
    }
}
