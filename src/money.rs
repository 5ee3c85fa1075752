//! Whole-franc XOF amounts and the fee rule shared by plans and the sandbox.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An amount in whole XOF. XOF has no minor unit, so there is no fraction to lose.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(transparent)]
pub struct Amount(pub u64);

/// The smallest amount the provider accepts for one transfer.
pub const MIN_TRANSFER: Amount = Amount(5_000);
/// The largest amount the provider accepts for one transfer.
pub const MAX_TRANSFER: Amount = Amount(500_000);

/// A fee rate in basis points (1 % = 100 bp), so that rates such as 1.5 % stay exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FeeRate(pub u32);

impl FeeRate {
    /// The provider's published rate: 1 % of the amount.
    pub const DEFAULT: FeeRate = FeeRate(100);

    /// Computes the fee on `amount`, rounded to the nearest franc with halves rounded up.
    ///
    /// The sandbox charges exactly this, so a plan's fee column matches the ledger.
    pub fn fee(self, amount: Amount) -> Amount {
        let scaled = u128::from(amount.0) * u128::from(self.0);
        let fee = (scaled + 5_000) / 10_000;
        Amount(u64::try_from(fee).unwrap_or(u64::MAX))
    }
}

impl Default for FeeRate {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Amount {
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    pub fn saturating_sub(self, other: Amount) -> Amount {
        Amount(self.0.saturating_sub(other.0))
    }

    /// Formats the number with a space between groups of three digits, as French-speaking
    /// finance teams write it: `1 250 000`.
    pub fn grouped(self) -> String {
        let digits = self.0.to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(' ');
            }
            out.push(ch);
        }
        out
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} XOF", self.grouped())
    }
}

impl std::iter::Sum for Amount {
    fn sum<I: Iterator<Item = Amount>>(iter: I) -> Amount {
        Amount(iter.map(|a| a.0).fold(0u64, u64::saturating_add))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_matches_published_examples() {
        assert_eq!(FeeRate::DEFAULT.fee(Amount(500_000)), Amount(5_000));
        assert_eq!(FeeRate::DEFAULT.fee(Amount(430_000)), Amount(4_300));
        assert_eq!(FeeRate::DEFAULT.fee(Amount(5_000)), Amount(50));
    }

    #[test]
    fn fee_rounds_half_up() {
        assert_eq!(FeeRate::DEFAULT.fee(Amount(12_349)), Amount(123));
        assert_eq!(FeeRate::DEFAULT.fee(Amount(12_350)), Amount(124));
        assert_eq!(FeeRate(150).fee(Amount(10_001)), Amount(150));
    }

    #[test]
    fn grouped_inserts_spaces() {
        assert_eq!(Amount(0).grouped(), "0");
        assert_eq!(Amount(999).grouped(), "999");
        assert_eq!(Amount(1_000).grouped(), "1 000");
        assert_eq!(Amount(1_250_000).to_string(), "1 250 000 XOF");
    }
}
