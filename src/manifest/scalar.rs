//! Reading YAML scalars the way a finance reviewer means them: whole numbers, percentages and
//! phone numbers, each rejected with the reason when YAML would read it differently.

use marked_yaml::types::MarkedScalarNode;

use super::yaml::is_plain;
use crate::money::FeeRate;
use crate::msisdn::Msisdn;

/// Why a scalar was rejected: the message and a help line with the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub message: String,
    pub help: String,
}

fn reject(message: String, help: impl Into<String>) -> Rejection {
    Rejection {
        message,
        help: help.into(),
    }
}

/// Reads a whole number written as a plain YAML integer. `key` names the field in messages.
pub fn whole_number(key: &str, scalar: &MarkedScalarNode) -> Result<u64, Rejection> {
    let text = scalar.as_str();
    if !is_plain(scalar) {
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        return Err(reject(
            format!("`{key}` is the quoted string `{text:?}`, not a number"),
            format!("remove the quotes: `{key}: {digits}`"),
        ));
    }
    if text.is_empty() || text == "~" || text.eq_ignore_ascii_case("null") {
        return Err(reject(
            format!("`{key}` is empty"),
            "write a whole number such as `25000`",
        ));
    }
    if text.len() > 1 && text.starts_with('0') && text.bytes().all(|byte| byte.is_ascii_digit()) {
        // YAML 1.1 tools read a leading zero as octal (`010000` is 4096), so the number is
        // ambiguous between readers of the same file.
        let trimmed = text.trim_start_matches('0');
        let trimmed = if trimmed.is_empty() { "0" } else { trimmed };
        return Err(reject(
            format!("`{key}` `{text}` starts with a zero, which YAML 1.1 tools read as octal"),
            format!("write it without the leading zero: `{key}: {trimmed}`"),
        ));
    }
    if let Some(rest) = text.strip_prefix('+')
        && !rest.is_empty()
        && rest.bytes().all(|byte| byte.is_ascii_digit())
    {
        return Err(reject(
            format!("`{key}` `{text}` has a `+` sign"),
            format!("write it without the sign: `{key}: {rest}`"),
        ));
    }
    if text.bytes().all(|byte| byte.is_ascii_digit()) {
        return text.parse::<u64>().map_err(|_| {
            reject(
                format!("`{key}` `{text}` is too large"),
                "write a whole number such as `25000`",
            )
        });
    }
    if text.starts_with('-') && text[1..].bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(reject(
            format!("`{key}` `{text}` is negative"),
            "write a positive whole number",
        ));
    }
    if is_grouped_with_dots(text) {
        let joined = text.replace('.', "");
        return Err(reject(
            format!(
                "`{key}` `{text}` is the decimal number {} in YAML, not {joined}",
                text.parse::<f64>().unwrap_or_default()
            ),
            format!("write whole XOF without separators: `{key}: {joined}`"),
        ));
    }
    if text.parse::<f64>().is_ok() && text.chars().any(|c| c.is_ascii_digit()) {
        let suggestion = text
            .parse::<f64>()
            .ok()
            .filter(|value| value.fract() == 0.0 && *value >= 0.0 && *value < 1e15)
            .map_or_else(|| "25000".to_owned(), |value| format!("{value:.0}"));
        return Err(reject(
            format!("`{key}` `{text}` is a decimal number; amounts are whole XOF"),
            format!("write an integer without a decimal point or exponent: `{key}: {suggestion}`"),
        ));
    }
    if text.chars().any(|c| c.is_ascii_digit()) {
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        return Err(reject(
            format!("`{key}` `{text}` is not a number"),
            format!("write digits only, without spaces or separators: `{key}: {digits}`"),
        ));
    }
    Err(reject(
        format!("`{key}` `{text}` is not a number"),
        "write a whole number such as `25000`",
    ))
}

/// `5.000` and `1.250.000`: thousands written with dots, which YAML reads as a decimal or a string.
fn is_grouped_with_dots(text: &str) -> bool {
    let mut groups = text.split('.');
    let first = groups.next().unwrap_or_default();
    let rest: Vec<&str> = groups.collect();
    !rest.is_empty()
        && (1..=3).contains(&first.len())
        && first.bytes().all(|byte| byte.is_ascii_digit())
        && rest
            .iter()
            .all(|group| group.len() == 3 && group.bytes().all(|byte| byte.is_ascii_digit()))
}

/// The largest fee rate accepted, in percent.
pub const MAX_FEE_PERCENT: u32 = 10;

/// Reads a fee rate in percent with at most two decimals, such as `1` or `1.5`, exactly.
pub fn fee_rate(scalar: &MarkedScalarNode) -> Result<FeeRate, Rejection> {
    let text = scalar.as_str();
    let help = "write a percent from 0 to 10 with at most two decimals, such as `fees: 1.5`";
    if !is_plain(scalar) {
        return Err(reject(
            format!("`fees` is the quoted string `{text:?}`, not a number"),
            help,
        ));
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits_only = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty() || !digits_only(whole) || !digits_only(fraction) {
        return Err(reject(format!("`fees` `{text}` is not a percent"), help));
    }
    if fraction.len() > 2 {
        return Err(reject(
            format!("`fees` `{text}` has more than two decimals"),
            help,
        ));
    }
    let whole: u32 = whole
        .parse()
        .map_err(|_| reject(format!("`fees` `{text}` is too large"), help))?;
    let hundredths: u32 = format!("{fraction:0<2}").parse().unwrap_or(0);
    if whole > MAX_FEE_PERCENT || (whole == MAX_FEE_PERCENT && hundredths > 0) {
        return Err(reject(
            format!("`fees` `{text}` is above the maximum of {MAX_FEE_PERCENT} percent"),
            help,
        ));
    }
    Ok(FeeRate(whole * 100 + hundredths))
}

/// Reads a phone number, which must be text: YAML turns an unquoted `+2250747000000` into an
/// integer, and spreadsheets turn long numbers into `2.25075E+12`.
pub fn msisdn(scalar: &MarkedScalarNode) -> Result<Msisdn, Rejection> {
    let text = scalar.as_str();
    if is_plain(scalar) && looks_numeric(text) {
        return Err(unquoted_msisdn(text));
    }
    parse_msisdn(text)
}

/// Parses a phone number written as text, with the fix for each way it can be wrong.
pub fn parse_msisdn(text: &str) -> Result<Msisdn, Rejection> {
    if is_scientific(text) {
        return Err(reject(
            format!(
                "`msisdn` `{text}` is in scientific notation, as spreadsheets write long numbers, \
                 so its last digits are lost"
            ),
            "format the column as text in the spreadsheet and write the full number, such as \
             `2250747000000`",
        ));
    }
    Msisdn::parse(text).map_err(|error| {
        reject(
            format!("`msisdn` {error}"),
            "write 225 followed by the 10-digit mobile number (01, 05 or 07 and 8 digits), \
             such as `\"2250747000000\"`",
        )
    })
}

fn unquoted_msisdn(text: &str) -> Rejection {
    if is_scientific(text) {
        return parse_msisdn(text)
            .err()
            .unwrap_or_else(|| reject(String::new(), ""));
    }
    let digits = text.trim_start_matches('+');
    reject(
        format!("`msisdn` `{text}` is not quoted, so YAML reads it as a number"),
        format!("write it in double quotes: `msisdn: \"{digits}\"`"),
    )
}

fn looks_numeric(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'))
        && text.chars().any(|c| c.is_ascii_digit())
}

fn is_scientific(text: &str) -> bool {
    text.contains(['e', 'E']) && text.parse::<f64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use marked_yaml::Span;

    fn plain(text: &str) -> MarkedScalarNode {
        let mut node = MarkedScalarNode::new(Span::new_blank(), text);
        node.set_coerce(true);
        node
    }

    fn quoted(text: &str) -> MarkedScalarNode {
        let mut node = MarkedScalarNode::new(Span::new_blank(), text);
        node.set_coerce(false);
        node
    }

    #[test]
    fn whole_number_accepts_plain_integer() {
        assert_eq!(whole_number("amount", &plain("25000")), Ok(25_000));
    }

    #[test]
    fn whole_number_rejects_each_lookalike() {
        let cases = [
            (plain("5.000"), "decimal number 5 in YAML, not 5000"),
            (plain("25000.0"), "is a decimal number"),
            (plain("2.5e4"), "is a decimal number"),
            (quoted("25000"), "quoted string"),
            (plain("25 000"), "is not a number"),
            (plain("-5000"), "is negative"),
            (plain(""), "is empty"),
            (plain("lots"), "is not a number"),
            (plain("010000"), "read as octal"),
            (plain("+25000"), "has a `+` sign"),
        ];
        for (scalar, expected) in cases {
            let rejection = whole_number("amount", &scalar).expect_err(scalar.as_str());
            assert!(
                rejection.message.contains(expected),
                "{}: {}",
                scalar.as_str(),
                rejection.message
            );
        }
    }

    #[test]
    fn fee_rate_reads_exact_basis_points() {
        assert_eq!(fee_rate(&plain("1")), Ok(FeeRate(100)));
        assert_eq!(fee_rate(&plain("1.5")), Ok(FeeRate(150)));
        assert_eq!(fee_rate(&plain("0.25")), Ok(FeeRate(25)));
        assert_eq!(fee_rate(&plain("10")), Ok(FeeRate(1000)));
    }

    #[test]
    fn fee_rate_rejects_out_of_range() {
        for text in ["1.234", "10.5", "11", "-1", "1e2", "abc"] {
            assert!(
                fee_rate(&plain(text)).is_err(),
                "`{text}` should be rejected"
            );
        }
        assert!(fee_rate(&quoted("1")).is_err());
    }

    #[test]
    fn msisdn_unquoted_number_needs_quotes() {
        let rejection = msisdn(&plain("+2250747000000")).expect_err("unquoted");
        assert!(
            rejection.message.contains("not quoted"),
            "{}",
            rejection.message
        );
        assert!(
            rejection.help.contains("\"2250747000000\""),
            "{}",
            rejection.help
        );
    }

    #[test]
    fn msisdn_scientific_notation_explained() {
        let rejection = msisdn(&plain("2.25075E+12")).expect_err("scientific");
        assert!(
            rejection.message.contains("scientific notation"),
            "{}",
            rejection.message
        );
    }

    #[test]
    fn msisdn_quoted_spellings_agree() {
        let spaced = msisdn(&quoted("+225 07 47 00 00 01")).expect("valid");
        let plain_digits = msisdn(&quoted("2250747000001")).expect("valid");
        assert_eq!(spaced, plain_digits);
    }
}
