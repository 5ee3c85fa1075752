//! Fault injection: the next `count` requests whose path starts with a prefix misbehave.

use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::sandbox::error::ApiFailure;
use crate::sandbox::server::AppState;

/// The behaviour of a faulty request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Waits `delay_ms` when set, then responds with `status` without doing the work; a 429 carries
    /// `Retry-After`.
    Status,
    /// Waits `delay_ms`, then does the work and responds normally.
    Delay,
    /// Does the work, then fails the response: with `status` when it is set (and not 0),
    /// otherwise by dropping the connection before the body is complete.
    DropAfterCommit,
}

/// The body of `POST /_sandbox/faults`, and one armed fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// Applies to requests whose path starts with this, such as `/v1/transactions/batch`.
    pub path: String,
    pub kind: FaultKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default)]
    pub delay_ms: u64,
    /// How many requests misbehave; then the fault is gone.
    #[serde(default = "one")]
    pub count: u32,
    /// The `Retry-After` of a 429, in seconds; 1 when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

fn one() -> u32 {
    1
}

impl Fault {
    /// Checks the fields that its kind needs.
    pub fn validate(&self) -> Result<(), ApiFailure> {
        if !self.path.starts_with('/') {
            return Err(ApiFailure::bad_request(format!(
                "`path` must start with `/`, got `{}`",
                self.path
            )));
        }
        if self.count == 0 {
            return Err(ApiFailure::bad_request("`count` must be at least 1"));
        }
        match (self.kind, self.status) {
            (FaultKind::Status, None) => Err(ApiFailure::bad_request(
                "`status` is required for a fault of kind `status`",
            )),
            (FaultKind::Status, Some(s)) if !(400..=599).contains(&s) => Err(
                ApiFailure::bad_request(format!("`status` must be 400..=599, got `{s}`")),
            ),
            (FaultKind::DropAfterCommit, Some(s)) if s != 0 && !(400..=599).contains(&s) => {
                Err(ApiFailure::bad_request(format!(
                    "`status` must be 0 (drop the connection) or 400..=599, got `{s}`"
                )))
            }
            _ => Ok(()),
        }
    }
}

/// The armed faults, in the order they were added. They live in memory only.
#[derive(Default)]
pub struct Faults {
    armed: Mutex<Vec<Fault>>,
}

impl Faults {
    pub fn add(&self, fault: Fault) {
        self.lock().push(fault);
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn list(&self) -> Vec<Fault> {
        self.lock().clone()
    }

    /// Takes one use of the first fault that matches `path`.
    fn take(&self, path: &str) -> Option<Fault> {
        let mut armed = self.lock();
        let index = armed.iter().position(|f| path.starts_with(&f.path))?;
        let fault = armed[index].clone();
        if armed[index].count <= 1 {
            armed.remove(index);
        } else {
            armed[index].count -= 1;
        }
        Some(fault)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        self.armed.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Middleware: applies the first matching fault to an API request. Administration paths never
/// misbehave, so that a test can always clear its faults.
pub async fn apply(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path.starts_with("/_sandbox") {
        return next.run(request).await;
    }
    let Some(fault) = state.faults.take(path) else {
        return next.run(request).await;
    };
    tracing::info!(target: "payroll::sandbox", path, kind = ?fault.kind, status = fault.status, "injecting a fault");
    match fault.kind {
        FaultKind::Status => {
            if fault.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
            }
            let status = StatusCode::from_u16(fault.status.unwrap_or(500))
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            injected(status, fault.retry_after)
        }
        FaultKind::Delay => {
            tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
            next.run(request).await
        }
        FaultKind::DropAfterCommit => {
            let response = next.run(request).await;
            if fault.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
            }
            match fault.status.filter(|s| *s != 0).map(StatusCode::from_u16) {
                Some(Ok(status)) => injected(status, fault.retry_after),
                _ => cut_short(response).await,
            }
        }
    }
}

fn injected(status: StatusCode, retry_after: Option<u64>) -> Response {
    let mut failure = ApiFailure::new(
        status,
        "INJECTED_FAULT",
        format!("injected fault: HTTP {}", status.as_u16()),
    );
    if status == StatusCode::TOO_MANY_REQUESTS {
        failure.message = "too many requests; retry later".to_owned();
        failure.code = "RATE_LIMITED";
    }
    let mut response = failure.into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        let seconds = retry_after.unwrap_or(1).to_string();
        if let Ok(value) = HeaderValue::from_str(&seconds) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

/// Sends the head and half of the body of `response`, announcing the full length, so the
/// connection closes before the client has the whole response.
async fn cut_short(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let full = bytes.len() + 1;
    let half = bytes.slice(..bytes.len() / 2);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full));
    // A stream body has no known length, so the server trusts the header and, when the stream
    // ends early, aborts the connection.
    let body = Body::from_stream(Body::from(half).into_data_stream());
    Response::from_parts(parts, body)
}

impl Fault {
    /// Builds a fault: the next `count` requests under `path` get `status` and no work is done.
    pub fn status(path: impl Into<String>, status: u16, count: u32) -> Fault {
        Fault {
            path: path.into(),
            kind: FaultKind::Status,
            status: Some(status),
            delay_ms: 0,
            count,
            retry_after: None,
        }
    }

    /// Builds a fault: the next `count` requests under `path` wait `delay_ms` first.
    pub fn delay(path: impl Into<String>, delay_ms: u64, count: u32) -> Fault {
        Fault {
            path: path.into(),
            kind: FaultKind::Delay,
            status: None,
            delay_ms,
            count,
            retry_after: None,
        }
    }

    /// Builds a fault: the next `count` requests under `path` do their work, then lose the
    /// connection.
    pub fn drop_after_commit(path: impl Into<String>, count: u32) -> Fault {
        Fault {
            path: path.into(),
            kind: FaultKind::DropAfterCommit,
            status: None,
            delay_ms: 0,
            count,
            retry_after: None,
        }
    }

    /// Sets the status (for `drop_after_commit`: respond with it instead of dropping the connection).
    pub fn with_status(mut self, status: u16) -> Fault {
        self.status = Some(status);
        self
    }

    /// Sets the `Retry-After` of a 429, in seconds.
    pub fn with_retry_after(mut self, seconds: u64) -> Fault {
        self.retry_after = Some(seconds);
        self
    }
}
