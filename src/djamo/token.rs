//! The API token, masked in every `Debug` and `Display`.

use std::fmt;

/// A bearer token. Its value is reachable only through [`ApiToken::expose`], so it cannot end up
/// in a log line, an error or a plan file by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    pub fn new(value: impl Into<String>) -> ApiToken {
        ApiToken(value.into())
    }

    /// The raw token, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(***)")
    }
}

impl fmt::Display for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
