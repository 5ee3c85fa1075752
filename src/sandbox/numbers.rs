//! The sandbox's special phone numbers, in one place.
//!
//! Besides the two numbers the provider publishes, the sandbox reserves
//! `2250700000100..=2250700000299` for numbers that simulate the other outcomes, so that example
//! manifests never collide with them. Every other well-formed Côte d'Ivoire number is a customer
//! with complete KYC, no limit, and its transfers complete.

use crate::money::Amount;
use crate::msisdn::{TEST_COMPLETES, TEST_FAILS};

/// The KYC status of a validated customer; any other status means identification has a problem.
pub const KYC_COMPLETE: &str = "complete";

/// The KYC statuses of the sandbox's customers, `complete` first.
pub const KYC_STATUSES: [&str; 5] = [KYC_COMPLETE, "pending", "incomplete", "rejected", "expired"];

/// Failure reasons the provider documents.
pub const DJAMO_ACCOUNT_NOT_FOUND: &str = "DJAMO_ACCOUNT_NOT_FOUND";
pub const TRANSACTION_AMOUNT_OVER_ACCOUNT_LIMIT: &str = "TRANSACTION_AMOUNT_OVER_ACCOUNT_LIMIT";
pub const INTERNAL_ERROR: &str = "INTERNAL_ERROR";
pub const UNKNOWN_ERROR: &str = "UNKNOWN_ERROR";

/// The published number whose transfers complete.
pub const COMPLETES: &str = TEST_COMPLETES;
/// The published number whose transfers fail, with [`PUBLISHED_FAILURE_REASON`].
pub const FAILS: &str = TEST_FAILS;
/// The failure reason of [`FAILS`]. Its customer check returns `complete`, so that a plan lets it
/// through and a manifest can exercise a failed payment.
pub const PUBLISHED_FAILURE_REASON: &str = UNKNOWN_ERROR;

/// Transfers fail with `INTERNAL_ERROR`.
pub const FAILS_INTERNAL_ERROR: &str = "2250700000100";
/// Transfers fail with `UNKNOWN_ERROR`.
pub const FAILS_UNKNOWN_ERROR: &str = "2250700000101";
/// A customer whose account takes at most [`LIMITED_CUSTOMER_LIMIT`]; a larger transfer fails
/// with `TRANSACTION_AMOUNT_OVER_ACCOUNT_LIMIT`.
pub const LIMITED_CUSTOMER: &str = "2250700000102";
/// The limit of [`LIMITED_CUSTOMER`].
pub const LIMITED_CUSTOMER_LIMIT: Amount = Amount(100_000);
/// Not a Djamo customer: the customer check returns 404 and transfers fail with
/// `DJAMO_ACCOUNT_NOT_FOUND`.
pub const NOT_A_CUSTOMER: &str = "2250700000103";
/// Customers whose KYC status is not `complete`; their transfers still complete.
pub const KYC_PENDING: &str = "2250700000110";
pub const KYC_INCOMPLETE: &str = "2250700000111";
pub const KYC_REJECTED: &str = "2250700000112";
pub const KYC_EXPIRED: &str = "2250700000113";

/// First and last number of the reserved range.
pub const RESERVED_FIRST: u64 = 2_250_700_000_100;
pub const RESERVED_LAST: u64 = 2_250_700_000_299;

/// Every special number with a one-line description, for docs and tests.
pub const SPECIAL: [(&str, &str); 10] = [
    (COMPLETES, "published: completes"),
    (FAILS, "published: fails with UNKNOWN_ERROR"),
    (FAILS_INTERNAL_ERROR, "fails with INTERNAL_ERROR"),
    (FAILS_UNKNOWN_ERROR, "fails with UNKNOWN_ERROR"),
    (
        LIMITED_CUSTOMER,
        "limit 100 000 XOF; above it fails with TRANSACTION_AMOUNT_OVER_ACCOUNT_LIMIT",
    ),
    (
        NOT_A_CUSTOMER,
        "not a customer: check 404, fails with DJAMO_ACCOUNT_NOT_FOUND",
    ),
    (KYC_PENDING, "KYC pending, completes"),
    (KYC_INCOMPLETE, "KYC incomplete, completes"),
    (KYC_REJECTED, "KYC rejected, completes"),
    (KYC_EXPIRED, "KYC expired, completes"),
];

/// The customer record of one recipient: the built-in rules, or an override set through
/// `POST /_sandbox/customers`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub msisdn: String,
    /// False when the number is not a Djamo customer.
    pub exists: bool,
    pub kyc_status: String,
    /// The largest amount the account can receive in one transfer; `None` is no limit.
    #[serde(default)]
    pub limit: Option<Amount>,
    /// A failure reason every transfer to this number settles with, whatever its amount.
    #[serde(default)]
    pub fails_with: Option<String>,
}

impl Customer {
    /// Returns the built-in record of a canonical MSISDN.
    pub fn builtin(msisdn: &str) -> Customer {
        let mut customer = Customer {
            msisdn: msisdn.to_owned(),
            exists: true,
            kyc_status: KYC_COMPLETE.to_owned(),
            limit: None,
            fails_with: None,
        };
        match msisdn {
            FAILS => customer.fails_with = Some(PUBLISHED_FAILURE_REASON.to_owned()),
            FAILS_INTERNAL_ERROR => customer.fails_with = Some(INTERNAL_ERROR.to_owned()),
            FAILS_UNKNOWN_ERROR => customer.fails_with = Some(UNKNOWN_ERROR.to_owned()),
            LIMITED_CUSTOMER => customer.limit = Some(LIMITED_CUSTOMER_LIMIT),
            NOT_A_CUSTOMER => customer.exists = false,
            KYC_PENDING => customer.kyc_status = "pending".to_owned(),
            KYC_INCOMPLETE => customer.kyc_status = "incomplete".to_owned(),
            KYC_REJECTED => customer.kyc_status = "rejected".to_owned(),
            KYC_EXPIRED => customer.kyc_status = "expired".to_owned(),
            _ => {}
        }
        customer
    }

    /// Decides how a transfer of `amount` to this customer settles: `None` completes, `Some(reason)`
    /// fails.
    pub fn outcome(&self, amount: Amount) -> Option<&str> {
        if !self.exists {
            return Some(DJAMO_ACCOUNT_NOT_FOUND);
        }
        if let Some(reason) = &self.fails_with {
            return Some(reason);
        }
        match self.limit {
            Some(limit) if amount > limit => Some(TRANSACTION_AMOUNT_OVER_ACCOUNT_LIMIT),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msisdn::Msisdn;

    #[test]
    fn every_special_number_parses_to_itself() {
        for (number, what) in SPECIAL {
            let parsed = Msisdn::parse(number).unwrap_or_else(|e| panic!("{number} ({what}): {e}"));
            assert_eq!(parsed.as_str(), number);
        }
    }

    #[test]
    fn sandbox_only_numbers_are_in_the_reserved_range() {
        for (number, _) in &SPECIAL[2..] {
            let value: u64 = number.parse().expect("digits");
            assert!(
                (RESERVED_FIRST..=RESERVED_LAST).contains(&value),
                "{number}"
            );
        }
    }

    #[test]
    fn reserved_range_ends_parse() {
        assert!(Msisdn::parse(&RESERVED_FIRST.to_string()).is_ok());
        assert!(Msisdn::parse(&RESERVED_LAST.to_string()).is_ok());
    }

    #[test]
    fn outcomes_follow_the_rules() {
        assert_eq!(Customer::builtin(COMPLETES).outcome(Amount(500_000)), None);
        assert_eq!(
            Customer::builtin(FAILS).outcome(Amount(5_000)),
            Some(UNKNOWN_ERROR)
        );
        assert_eq!(
            Customer::builtin(LIMITED_CUSTOMER).outcome(Amount(100_000)),
            None
        );
        assert_eq!(
            Customer::builtin(LIMITED_CUSTOMER).outcome(Amount(100_001)),
            Some(TRANSACTION_AMOUNT_OVER_ACCOUNT_LIMIT)
        );
        assert_eq!(
            Customer::builtin(NOT_A_CUSTOMER).outcome(Amount(5_000)),
            Some(DJAMO_ACCOUNT_NOT_FOUND)
        );
        assert_eq!(Customer::builtin(KYC_REJECTED).outcome(Amount(5_000)), None);
    }
}
