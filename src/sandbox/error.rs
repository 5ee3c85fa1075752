//! The error responses of the handlers: a status, a machine code, a message for the client and
//! a message for the log.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::djamo::wire::ErrorBody;

/// The machine code of an error response, kept in its extensions for the request log.
#[derive(Clone, Copy, Debug)]
pub struct ErrorCode(pub &'static str);

/// One error response.
#[derive(Debug)]
pub struct ApiFailure {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Extra detail for the sandbox's own log, never sent to the client.
    pub internal: Option<String>,
}

impl ApiFailure {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiFailure {
        ApiFailure {
            status,
            code,
            message: message.into(),
            internal: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiFailure {
        ApiFailure::new(StatusCode::BAD_REQUEST, "INVALID_PARAMETER", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiFailure {
        ApiFailure::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    /// Builds a storage failure: the client gets a 500 and the log gets the cause.
    pub fn internal(cause: impl std::fmt::Display) -> ApiFailure {
        ApiFailure {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "INTERNAL_ERROR",
            message: "the sandbox ledger failed; see the sandbox log".to_owned(),
            internal: Some(cause.to_string()),
        }
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        if let Some(internal) = &self.internal {
            tracing::error!(code = self.code, "{}: {internal}", self.message);
        }
        let body = ErrorBody {
            message: self.message,
            code: Some(self.code.to_owned()),
        };
        let mut response = (self.status, Json(body)).into_response();
        response.extensions_mut().insert(ErrorCode(self.code));
        response
    }
}

impl From<sled::Error> for ApiFailure {
    fn from(error: sled::Error) -> ApiFailure {
        ApiFailure::internal(error)
    }
}
