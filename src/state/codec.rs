//! Keys and values of the sled trees.
//!
//! A key joins its parts with a NUL byte, so the key of a payment is
//! `job \0 period \0 reference` and the payments of one job and period are the keys that start
//! with `job \0 period \0`. NUL is rejected inside a part, because it would let one job's prefix
//! match another job's keys. Every value is JSON with a `schema_version` field.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::state::{SCHEMA_VERSION, StateError};

/// The separator between key parts.
const SEPARATOR: u8 = 0;

/// Joins `parts` into a key, rejecting a part that contains the separator.
pub fn key(parts: &[&str]) -> Result<Vec<u8>, StateError> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.iter().enumerate() {
        if part.as_bytes().contains(&SEPARATOR) {
            return Err(StateError::InvalidKey {
                value: part.escape_default().to_string(),
            });
        }
        if i > 0 {
            out.push(SEPARATOR);
        }
        out.extend_from_slice(part.as_bytes());
    }
    Ok(out)
}

/// The prefix of every key whose first parts are `parts`.
pub fn prefix(parts: &[&str]) -> Result<Vec<u8>, StateError> {
    let mut out = key(parts)?;
    out.push(SEPARATOR);
    Ok(out)
}

/// A key in the readable form used in error messages: parts joined by `/`.
pub fn display_key(tree: &str, key: &[u8]) -> String {
    let parts: Vec<String> = key
        .split(|b| *b == SEPARATOR)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    format!("{tree}:{}", parts.join("/"))
}

/// Serializes a value. The value types contain no maps with non-string keys, so this fails only
/// on a bug; the error is still returned rather than unwrapped.
pub fn encode<T: Serialize>(path: &str, value: &T) -> Result<Vec<u8>, StateError> {
    serde_json::to_vec(value).map_err(|e| StateError::Write {
        path: path.to_owned(),
        cause: format!("could not serialize a record: {e}"),
    })
}

/// Deserializes the value stored under `key`, checking its schema version first so that a newer
/// layout is reported as such and not as garbage.
pub fn decode<T: DeserializeOwned>(
    path: &str,
    tree: &str,
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StateError> {
    #[derive(serde::Deserialize)]
    struct Versioned {
        schema_version: u32,
    }

    let corrupt = |e: serde_json::Error| StateError::Corrupt {
        path: path.to_owned(),
        cause: format!("record `{}` is unreadable: {e}", display_key(tree, key)),
    };

    let versioned: Versioned = serde_json::from_slice(bytes).map_err(corrupt)?;
    if versioned.schema_version != SCHEMA_VERSION {
        return Err(StateError::Version {
            key: display_key(tree, key),
            found: versioned.schema_version,
            expected: SCHEMA_VERSION,
        });
    }
    serde_json::from_slice(bytes).map_err(corrupt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_joins_parts_with_nul() {
        assert_eq!(key(&["a", "b", "c"]).ok(), Some(b"a\0b\0c".to_vec()));
        assert_eq!(prefix(&["a", "b"]).ok(), Some(b"a\0b\0".to_vec()));
    }

    #[test]
    fn key_rejects_part_with_nul() {
        let error = key(&["a\0b"]).err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("state key part `a\\u{0}b` contains a NUL byte, which keys use as a separator")
        );
    }

    #[test]
    fn job_prefix_excludes_longer_job() {
        let prefix = prefix(&["pay"]).unwrap_or_default();
        let other = key(&["pay-2", "2026-12", "r"]).unwrap_or_default();
        assert!(!other.starts_with(&prefix));
    }

    #[test]
    fn decode_reports_newer_schema_version() {
        let body = br#"{"schema_version": 99, "serial": 1}"#;
        let error = decode::<serde_json::Value>("dir", "serials", b"job", body).err();
        assert!(matches!(
            error,
            Some(StateError::Version {
                found: 99,
                expected: SCHEMA_VERSION,
                ..
            })
        ));
    }
}
