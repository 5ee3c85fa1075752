//! Recipient phone numbers (MSISDN) in one canonical spelling.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A mobile number in international form without the `+`: `2250747000000`.
///
/// Every spelling a user may write (`+225 07 47 00 00 00`, `2250747000000`) parses to this one
/// form, so two spellings are one recipient and one state key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Msisdn(String);

/// The provider's published test numbers. `TEST_FAILS` is not a valid number in the national
/// numbering plan, but both must be accepted as written so that a manifest can exercise both
/// outcomes.
pub const TEST_COMPLETES: &str = "2250747000000";
pub const TEST_FAILS: &str = "2251212121205";

/// Reasons a string is not an accepted MSISDN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MsisdnError {
    #[error("`{0}` is empty")]
    Empty(String),
    #[error("`{0}` contains `{1}`, which is not a digit")]
    NotDigits(String, char),
    #[error("`{0}` has no country code; write it as 225 followed by the 10-digit number")]
    NoCountryCode(String),
    #[error(
        "`{0}` follows the 8-digit Côte d'Ivoire plan that ended in 2021; write 225 followed by \
         the 10-digit number"
    )]
    OldPlan(String),
    #[error(
        "`{0}` is not a Côte d'Ivoire mobile number: after 225 come 10 digits starting with 01, \
         05 or 07"
    )]
    NotIvorianMobile(String),
    #[error("`{0}` is not a valid mobile number for its country")]
    Invalid(String),
}

/// Côte d'Ivoire's country calling code.
const IVORY_COAST: &str = "225";

impl Msisdn {
    /// Parses a number as a user or the provider writes it: an optional `+`, digits, and
    /// spaces, dots or dashes between digit groups.
    pub fn parse(input: &str) -> Result<Msisdn, MsisdnError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(MsisdnError::Empty(input.to_owned()));
        }

        let body = trimmed.strip_prefix('+').unwrap_or(trimmed);
        let mut digits = String::with_capacity(body.len());
        for ch in body.chars() {
            match ch {
                '0'..='9' => digits.push(ch),
                ' ' | '.' | '-' => {}
                other => return Err(MsisdnError::NotDigits(input.to_owned(), other)),
            }
        }

        if digits == TEST_COMPLETES || digits == TEST_FAILS {
            return Ok(Msisdn(digits));
        }
        if digits.starts_with('0') {
            return Err(MsisdnError::NoCountryCode(input.to_owned()));
        }
        if let Some(national) = digits.strip_prefix(IVORY_COAST) {
            return match national.as_bytes() {
                // The national plan's mobile ranges: 0[157] and 8 digits.
                [b'0', b'1' | b'5' | b'7', rest @ ..] if rest.len() == 8 => Ok(Msisdn(digits)),
                _ if national.len() == 8 => Err(MsisdnError::OldPlan(input.to_owned())),
                _ => Err(MsisdnError::NotIvorianMobile(input.to_owned())),
            };
        }

        let international = format!("+{digits}");
        let number = phonenumber::parse(None, &international)
            .map_err(|_| MsisdnError::Invalid(input.to_owned()))?;
        let mobile = matches!(
            number.number_type(&phonenumber::metadata::DATABASE),
            phonenumber::Type::Mobile | phonenumber::Type::FixedLineOrMobile
        );
        if !phonenumber::is_valid(&number) || !mobile {
            return Err(MsisdnError::Invalid(input.to_owned()));
        }
        Ok(Msisdn(digits))
    }

    /// Returns the digits, country code first, without `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares this number with one spelled by someone else, such as the provider: equal when
    /// both parse to one canonical form, or, for a spelling that does not parse, when the text
    /// is identical.
    pub fn same_as(&self, spelled: &str) -> bool {
        Msisdn::parse(spelled)
            .map(|theirs| theirs == *self)
            .unwrap_or_else(|_| spelled == self.0)
    }
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Msisdn {
    type Error = MsisdnError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Msisdn::parse(&value)
    }
}

impl From<Msisdn> for String {
    fn from(value: Msisdn) -> String {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_normalise_to_one_form() {
        let plain = Msisdn::parse("2250747000001").expect("plain digits");
        let spaced = Msisdn::parse("+225 07 47 00 00 01").expect("spaced with plus");
        assert_eq!(plain, spaced);
        assert_eq!(plain.as_str(), "2250747000001");
    }

    #[test]
    fn published_test_numbers_pass() {
        assert!(Msisdn::parse(TEST_COMPLETES).is_ok());
        assert!(Msisdn::parse(TEST_FAILS).is_ok());
    }

    #[test]
    fn old_eight_digit_plan_is_rejected() {
        assert!(matches!(
            Msisdn::parse("22507470000"),
            Err(MsisdnError::OldPlan(_))
        ));
    }

    #[test]
    fn ivorian_fixed_line_is_rejected() {
        assert!(matches!(
            Msisdn::parse("2252720212345"),
            Err(MsisdnError::NotIvorianMobile(_))
        ));
    }

    #[test]
    fn ivorian_mobile_ranges_agree_with_metadata() {
        for prefix in ["01", "05", "07"] {
            let digits = format!("225{prefix}44128730");
            let number = phonenumber::parse(None, format!("+{digits}")).expect("parses");
            assert!(phonenumber::is_valid(&number), "{digits}");
            assert_eq!(Msisdn::parse(&digits).map(String::from), Ok(digits));
        }
    }

    #[test]
    fn foreign_mobile_is_accepted() {
        let senegal = Msisdn::parse("+221 77 123 45 67").expect("Senegal mobile");
        assert_eq!(senegal.as_str(), "221771234567");
    }

    #[test]
    fn national_form_needs_country_code() {
        assert!(matches!(
            Msisdn::parse("0747000000"),
            Err(MsisdnError::NoCountryCode(_))
        ));
    }

    #[test]
    fn letters_are_rejected() {
        assert!(matches!(
            Msisdn::parse("2250747abc000"),
            Err(MsisdnError::NotDigits(_, 'a'))
        ));
    }
}
