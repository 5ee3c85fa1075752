//! Validation of transaction requests, field by field, so that every 400 names the field and,
//! in a batch, the item index.

use serde_json::{Map, Value};

use crate::djamo::wire::TRANSFER;
use crate::money::{Amount, MAX_TRANSFER, MIN_TRANSFER};
use crate::msisdn::Msisdn;
use crate::sandbox::error::ApiFailure;

/// The maximum length of a reference, in characters.
pub const MAX_REFERENCE_CHARS: usize = 100;
/// The maximum length of a description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 255;
/// The maximum number of transactions in one batch.
pub const MAX_BATCH_ITEMS: usize = 1_000;

/// A transfer request that passed validation.
#[derive(Clone, Debug)]
pub struct Transfer {
    pub msisdn: Msisdn,
    pub amount: Amount,
    pub reference: String,
    pub description: Option<String>,
}

/// Parses the body of `POST /v1/transactions`.
pub fn single(body: &[u8]) -> Result<Transfer, ApiFailure> {
    let value = parse_json(body)?;
    let object = value
        .as_object()
        .ok_or_else(|| ApiFailure::bad_request("the body must be a JSON object"))?;
    transfer(object, "")
}

/// Parses the body of `POST /v1/transactions/batch`.
pub fn batch(body: &[u8]) -> Result<Vec<Transfer>, ApiFailure> {
    let value = parse_json(body)?;
    let items = value
        .get("transactions")
        .ok_or_else(|| ApiFailure::bad_request("`transactions` is required"))?
        .as_array()
        .ok_or_else(|| ApiFailure::bad_request("`transactions` must be an array"))?;
    if items.is_empty() {
        return Err(ApiFailure::bad_request("`transactions` must not be empty"));
    }
    if items.len() > MAX_BATCH_ITEMS {
        return Err(ApiFailure::bad_request(format!(
            "`transactions` has {} items; a batch takes at most {MAX_BATCH_ITEMS}",
            items.len()
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let prefix = format!("transactions[{index}].");
            let object = item.as_object().ok_or_else(|| {
                ApiFailure::bad_request(format!("`transactions[{index}]` must be a JSON object"))
            })?;
            transfer(object, &prefix)
        })
        .collect()
}

fn parse_json(body: &[u8]) -> Result<Value, ApiFailure> {
    serde_json::from_slice(body)
        .map_err(|e| ApiFailure::bad_request(format!("the body is not valid JSON: {e}")))
}

fn transfer(object: &Map<String, Value>, prefix: &str) -> Result<Transfer, ApiFailure> {
    let field = |name: &str| format!("`{prefix}{name}`");

    let amount = match object.get("amount") {
        None | Some(Value::Null) => {
            return Err(ApiFailure::bad_request(format!(
                "{} is required",
                field("amount")
            )));
        }
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) => Amount(v),
            None => {
                return Err(ApiFailure::bad_request(format!(
                    "{} must be a whole number of XOF, got `{n}`",
                    field("amount")
                )));
            }
        },
        Some(other) => {
            return Err(ApiFailure::bad_request(format!(
                "{} must be a whole number of XOF, got {}",
                field("amount"),
                kind_of(other)
            )));
        }
    };
    if amount < MIN_TRANSFER || amount > MAX_TRANSFER {
        return Err(ApiFailure::bad_request(format!(
            "{} must be between {} and {}, got `{}`",
            field("amount"),
            MIN_TRANSFER.0,
            MAX_TRANSFER.0,
            amount.0
        )));
    }

    let msisdn = required_string(object, "msisdn", &field("msisdn"))?;
    let msisdn = Msisdn::parse(msisdn).map_err(|e| {
        ApiFailure::bad_request(format!("{} is not a valid msisdn: {e}", field("msisdn")))
    })?;

    let reference = required_string(object, "reference", &field("reference"))?;
    if reference.trim().is_empty() {
        return Err(ApiFailure::bad_request(format!(
            "{} must not be empty",
            field("reference")
        )));
    }
    if reference.chars().count() > MAX_REFERENCE_CHARS {
        return Err(ApiFailure::bad_request(format!(
            "{} is longer than {MAX_REFERENCE_CHARS} characters",
            field("reference")
        )));
    }
    if reference.chars().any(char::is_control) {
        return Err(ApiFailure::bad_request(format!(
            "{} contains a control character",
            field("reference")
        )));
    }

    match object.get("type") {
        None | Some(Value::Null) => {}
        Some(Value::String(kind)) if kind == TRANSFER => {}
        Some(other) => {
            return Err(ApiFailure::bad_request(format!(
                "{} must be `{TRANSFER}`, got {}",
                field("type"),
                shown(other)
            )));
        }
    }

    let description = match object.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.chars().count() <= MAX_DESCRIPTION_CHARS => {
            Some(text.clone())
        }
        Some(Value::String(_)) => {
            return Err(ApiFailure::bad_request(format!(
                "{} is longer than {MAX_DESCRIPTION_CHARS} characters",
                field("description")
            )));
        }
        Some(other) => {
            return Err(ApiFailure::bad_request(format!(
                "{} must be a string, got {}",
                field("description"),
                kind_of(other)
            )));
        }
    };

    Ok(Transfer {
        msisdn,
        amount,
        reference: reference.to_owned(),
        description,
    })
}

fn required_string<'a>(
    object: &'a Map<String, Value>,
    name: &str,
    shown_name: &str,
) -> Result<&'a str, ApiFailure> {
    match object.get(name) {
        None | Some(Value::Null) => {
            Err(ApiFailure::bad_request(format!("{shown_name} is required")))
        }
        Some(Value::String(text)) => Ok(text),
        Some(other) => Err(ApiFailure::bad_request(format!(
            "{shown_name} must be a string, got {}",
            kind_of(other)
        ))),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => format!("`{text}`"),
        other => kind_of(other).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<Transfer, ApiFailure>) -> String {
        match result {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.message,
        }
    }

    #[test]
    fn float_and_string_amounts_name_the_field() {
        let float = single(br#"{"msisdn":"2250747000000","amount":5000.0,"reference":"r"}"#);
        assert!(message(float).contains("`amount` must be a whole number"));
        let text = single(br#"{"msisdn":"2250747000000","amount":"5000","reference":"r"}"#);
        assert!(message(text).contains("`amount` must be a whole number of XOF, got a string"));
    }

    #[test]
    fn amount_range_is_inclusive() {
        let ok = |a: u64| {
            single(
                format!(r#"{{"msisdn":"2250747000000","amount":{a},"reference":"r"}}"#).as_bytes(),
            )
            .is_ok()
        };
        assert!(ok(5_000));
        assert!(ok(500_000));
        assert!(!ok(4_999));
        assert!(!ok(500_001));
    }

    #[test]
    fn batch_errors_name_the_index() {
        let body = br#"{"transactions":[
            {"msisdn":"2250747000000","amount":5000,"reference":"a"},
            {"msisdn":"2250747000000","amount":5000,"reference":"b","type":"payout"}]}"#;
        let err = batch(body).expect_err("invalid");
        assert!(
            err.message.contains("`transactions[1].type`"),
            "{}",
            err.message
        );
    }
}
