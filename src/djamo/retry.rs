//! When a failed provider call is sent again, and after how long.
//!
//! [`is_retryable`] is the one place that decides. Only a GET is ever retried: it changes
//! nothing on the provider, so sending it twice is harmless. A POST that failed in a way that may
//! have created its transactions is reconciled by looking its references up, never re-sent here.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::djamo::error::ApiErrorKind;

/// Maximum backoff between two attempts, whatever the attempt number.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Returns true when a call with `method` that failed with `kind` may be sent again: a GET that
/// got a 429, a 5xx, a timeout or a connection error.
///
/// A body that is not the documented JSON is not retried, because a second response from the same
/// provider would most likely be the same. Other 4xx answers need a change on the caller's side.
pub fn is_retryable(method: &Method, kind: &ApiErrorKind) -> bool {
    if method != Method::GET {
        return false;
    }
    match kind {
        ApiErrorKind::Status { status, .. } => *status == 429 || (500..=599).contains(status),
        ApiErrorKind::Timeout | ApiErrorKind::Connection(_) => true,
        ApiErrorKind::Decode(_) | ApiErrorKind::InvalidConfig(_) => false,
    }
}

/// Computes the wait before retry number `retry` (1 for the first retry).
///
/// A `Retry-After` from the provider wins, capped at `max_retry_after`. Otherwise the wait is
/// a random point between half and all of `base * 2^(retry - 1)`, capped at [`MAX_BACKOFF`], so
/// that many tasks rate-limited at once do not all come back at the same instant.
pub fn backoff(
    base: Duration,
    retry: u32,
    retry_after: Option<Duration>,
    max_retry_after: Duration,
) -> Duration {
    if let Some(wait) = retry_after {
        return wait.min(max_retry_after);
    }
    let exponent = retry.saturating_sub(1).min(31);
    let full = base.saturating_mul(1u32 << exponent).min(MAX_BACKOFF);
    let half = full / 2;
    half + jitter(full - half)
}

/// Reads `Retry-After` given in seconds. The HTTP-date form is ignored, so the exponential
/// backoff applies instead.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    let seconds: u64 = value.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// Returns a duration from zero to `range`, random enough to spread retries. The standard
/// library's `RandomState` is seeded randomly per process and per instance, which is all the
/// randomness this needs.
fn jitter(range: Duration) -> Duration {
    let nanos = u64::try_from(range.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    Duration::from_nanos(random % (nanos + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> ApiErrorKind {
        ApiErrorKind::Status {
            status,
            message: String::new(),
        }
    }

    #[test]
    fn get_retries_transient_failures() {
        for kind in [
            status(429),
            status(500),
            status(502),
            status(503),
            status(599),
            ApiErrorKind::Timeout,
            ApiErrorKind::Connection("reset".to_owned()),
        ] {
            assert!(is_retryable(&Method::GET, &kind), "{kind:?}");
        }
    }

    #[test]
    fn get_stops_on_client_errors() {
        for kind in [
            status(400),
            status(401),
            status(403),
            status(404),
            status(409),
            status(422),
            ApiErrorKind::Decode("not JSON".to_owned()),
        ] {
            assert!(!is_retryable(&Method::GET, &kind), "{kind:?}");
        }
    }

    #[test]
    fn post_is_never_retried() {
        for kind in [
            status(429),
            status(500),
            status(503),
            ApiErrorKind::Timeout,
            ApiErrorKind::Connection("reset".to_owned()),
        ] {
            assert!(!is_retryable(&Method::POST, &kind), "{kind:?}");
        }
    }

    #[test]
    fn backoff_doubles_within_bounds() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(5);
        for (retry, full_ms) in [(1, 100), (2, 200), (3, 400), (4, 800)] {
            let wait = backoff(base, retry, None, cap);
            let full = Duration::from_millis(full_ms);
            assert!(wait >= full / 2, "retry {retry}: {wait:?}");
            assert!(wait <= full, "retry {retry}: {wait:?}");
        }
        assert!(backoff(base, 40, None, cap) <= MAX_BACKOFF);
        assert_eq!(backoff(Duration::ZERO, 3, None, cap), Duration::ZERO);
    }

    #[test]
    fn retry_after_wins_and_is_capped() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(5);
        let two = Some(Duration::from_secs(2));
        assert_eq!(backoff(base, 1, two, cap), Duration::from_secs(2));
        let hour = Some(Duration::from_secs(3_600));
        assert_eq!(backoff(base, 1, hour, cap), cap);
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, reqwest::header::HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            RETRY_AFTER,
            reqwest::header::HeaderValue::from_static("Wed, 21 Oct 2026 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
