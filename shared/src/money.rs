//! Money: `rust_decimal::Decimal` with exactly two decimals, `NUMERIC(12,2)`
//! in SQL, a string such as `"50.00"` on the wire. No float ever touches it.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::AppError;

/// Largest amount `NUMERIC(12,2)` holds: 10 integer digits.
const MAX_MAJOR_DIGITS: u32 = 10;

/// An amount of money with two decimals. Negative amounts are allowed here
/// (ledger deltas); fields that must not be negative use [`Money::parse_non_negative`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("is empty")]
    Empty,
    #[error("is not a decimal number")]
    NotANumber,
    #[error("has more than 2 decimals")]
    TooPrecise,
    #[error("is too large (at most 9999999999.99)")]
    TooLarge,
    #[error("must not be negative")]
    Negative,
}

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Parses a wire string: optional sign, digits, at most 2 decimals,
    /// within `NUMERIC(12,2)`. No exponent, no spaces, no thousands
    /// separators.
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        if text.is_empty() {
            return Err(MoneyError::Empty);
        }
        let unsigned = text.strip_prefix('-').unwrap_or(text);
        let mut parts = unsigned.splitn(2, '.');
        let whole = parts.next().unwrap_or("");
        let fraction = parts.next();
        let digits_only = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
        if !digits_only(whole) || fraction.is_some_and(|part| !digits_only(part)) {
            return Err(MoneyError::NotANumber);
        }
        if fraction.is_some_and(|part| part.len() > 2) {
            return Err(MoneyError::TooPrecise);
        }
        if whole.trim_start_matches('0').len() > MAX_MAJOR_DIGITS as usize {
            return Err(MoneyError::TooLarge);
        }
        let value = Decimal::from_str(text).map_err(|_| MoneyError::NotANumber)?;
        Ok(Self::from_decimal(value))
    }

    /// Parses and refuses negative amounts.
    pub fn parse_non_negative(text: &str) -> Result<Self, MoneyError> {
        let money = Self::parse(text)?;
        if money.0.is_sign_negative() && !money.0.is_zero() {
            return Err(MoneyError::Negative);
        }
        Ok(money)
    }

    /// Parses a request field, naming the field in the error.
    pub fn parse_field(field: &str, text: &str) -> Result<Self, AppError> {
        Self::parse_non_negative(text).map_err(|error| AppError::invalid_field(field, error.to_string()))
    }

    /// Wraps a decimal, rounding half-up (away from zero) to 2 decimals.
    pub fn from_decimal(value: Decimal) -> Self {
        let mut rounded = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        rounded.rescale(2);
        Self(rounded)
    }

    pub fn as_decimal(&self) -> Decimal {
        self.0
    }

    pub fn is_negative(&self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Self::from_decimal)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Self::from_decimal)
    }
}

impl fmt::Display for Money {
    /// Always two decimals: `5` → `"5.00"`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut value = self.0;
        value.rescale(2);
        if value.is_zero() {
            value.set_sign_positive(true);
        }
        write!(formatter, "{value}")
    }
}

impl FromStr for Money {
    type Err = MoneyError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl From<Money> for Decimal {
    fn from(money: Money) -> Decimal {
        money.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_two_decimals() {
        assert_eq!(Money::parse("5").unwrap().to_string(), "5.00");
        assert_eq!(Money::parse("5.5").unwrap().to_string(), "5.50");
        assert_eq!(Money::parse("0").unwrap().to_string(), "0.00");
        assert_eq!(Money::parse("-0.00").unwrap().to_string(), "0.00");
        assert_eq!(Money::parse("9999999999.99").unwrap().to_string(), "9999999999.99");
        assert_eq!(Money::ZERO.to_string(), "0.00");
    }

    #[test]
    fn refuses_malformed_amounts() {
        assert_eq!(Money::parse(""), Err(MoneyError::Empty));
        assert_eq!(Money::parse("1.234"), Err(MoneyError::TooPrecise));
        assert_eq!(Money::parse("1e3"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse(" 1"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("1,000"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("1."), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse(".5"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("NaN"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("10000000000.00"), Err(MoneyError::TooLarge));
        assert_eq!(Money::parse_non_negative("-1.00"), Err(MoneyError::Negative));
        assert!(Money::parse("-1.00").unwrap().is_negative());
    }

    #[test]
    fn rounds_half_up() {
        let value = Decimal::from_str("2.345").unwrap();
        assert_eq!(Money::from_decimal(value).to_string(), "2.35");
        let value = Decimal::from_str("-2.345").unwrap();
        assert_eq!(Money::from_decimal(value).to_string(), "-2.35");
        let value = Decimal::from_str("2.344").unwrap();
        assert_eq!(Money::from_decimal(value).to_string(), "2.34");
    }

    #[test]
    fn arithmetic_stays_exact() {
        let mut total = Money::ZERO;
        for _ in 0..10 {
            total = total.checked_add(Money::parse("0.10").unwrap()).unwrap();
        }
        assert_eq!(total.to_string(), "1.00");
        assert_eq!(total.checked_sub(Money::parse("1.01").unwrap()).unwrap().to_string(), "-0.01");
    }

    #[test]
    fn field_errors_name_the_field() {
        let error = Money::parse_field("credit_limit", "abc").unwrap_err();
        assert_eq!(error.to_string(), "credit_limit: is not a decimal number");
    }
}
