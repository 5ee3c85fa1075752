//! Errors of provider calls.

use std::fmt;

/// The failure of one provider call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// The provider responded with a non-2xx status and this `message`.
    Status { status: u16, message: String },
    /// No response within the request timeout.
    Timeout,
    /// The connection could not be made or broke during the call. The text reads after the
    /// method and path, such as "failed to connect to `http://127.0.0.1:9`: Connection refused".
    Connection(String),
    /// The response body was not the documented JSON.
    Decode(String),
    /// The client was set up wrongly (such as a base URL that does not parse); nothing was sent.
    InvalidConfig(String),
}

/// A failed provider call. It keeps the method, the path, the status and the provider's message,
/// and never the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ApiError {
    pub method: &'static str,
    pub path: String,
    pub kind: ApiErrorKind,
    /// How many times the call was sent in all.
    pub attempts: u32,
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self.kind {
            ApiErrorKind::Status { status, .. } => Some(status),
            _ => None,
        }
    }

    /// True when a POST that failed this way may still have created its transactions: a timeout,
    /// a broken connection, an undecodable answer, a 5xx, a 422 or a 429. The caller must look the
    /// references up before sending anything again.
    pub fn outcome_unknown(&self) -> bool {
        match &self.kind {
            ApiErrorKind::Status { status, .. } => {
                *status >= 500 || *status == 422 || *status == 429
            }
            ApiErrorKind::Timeout | ApiErrorKind::Connection(_) | ApiErrorKind::Decode(_) => true,
            ApiErrorKind::InvalidConfig(_) => false,
        }
    }

    /// Returns the provider's `message`, when it responded with an error status.
    pub fn provider_message(&self) -> Option<&str> {
        match &self.kind {
            ApiErrorKind::Status { message, .. } => Some(message),
            _ => None,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let ApiErrorKind::InvalidConfig(cause) = &self.kind {
            return write!(f, "invalid provider settings: {cause}");
        }
        write!(f, "{} {} ", self.method, self.path)?;
        match &self.kind {
            ApiErrorKind::Status { status, message } => {
                write!(f, "failed with HTTP {status}: {message}")?
            }
            ApiErrorKind::Timeout => f.write_str("timed out")?,
            ApiErrorKind::Connection(cause) => f.write_str(cause)?,
            ApiErrorKind::Decode(cause) => write!(f, "returned an unexpected body: {cause}")?,
            ApiErrorKind::InvalidConfig(_) => {}
        }
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        Ok(())
    }
}
