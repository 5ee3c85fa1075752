//! One provider call: the URL, the headers, the concurrency limit, the retry loop and the mapping
//! of every failure to an [`ApiError`].

use std::time::{Duration, Instant};

use reqwest::header::ACCEPT;
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::djamo::client::{COMPANY_HEADER, Client};
use crate::djamo::error::{ApiError, ApiErrorKind};
use crate::djamo::retry::{backoff, is_retryable, retry_after};
use crate::djamo::wire::ErrorBody;

/// Maximum length of the excerpt of a non-JSON error body kept as the provider's message, in characters.
const MAX_MESSAGE_CHARS: usize = 200;

/// A failed attempt: what went wrong and the provider's `Retry-After`, if it sent one.
type Failure = (ApiErrorKind, Option<Duration>);

impl Client {
    /// Sends a GET, retrying as [`is_retryable`] allows.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<T, ApiError> {
        self.send::<T, ()>(Method::GET, segments, query, None).await
    }

    /// Sends one call and decodes its JSON response. Only a GET is ever sent more than once.
    pub(crate) async fn send<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<&B>,
    ) -> Result<T, ApiError> {
        let url = self.url(segments, query);
        let path = url_path(&url);
        let method_name = method_name(&method);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let started = Instant::now();
            let (kind, retry_after) = match self.attempt(&method, &url, body).await {
                Ok(value) => {
                    tracing::debug!(
                        method = method_name,
                        path,
                        attempts,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "provider call succeeded"
                    );
                    return Ok(value);
                }
                Err(failure) => failure,
            };

            let retries_done = attempts - 1;
            if retries_done < self.config.max_retries && is_retryable(&method, &kind) {
                let wait = backoff(
                    self.config.retry_base_delay,
                    attempts,
                    retry_after,
                    self.config.max_retry_after,
                );
                tracing::info!(
                    method = method_name,
                    path,
                    attempt = attempts,
                    wait_ms = wait.as_millis() as u64,
                    error = ?kind,
                    "provider call failed; retrying"
                );
                tokio::time::sleep(wait).await;
                continue;
            }

            let error = ApiError {
                method: method_name,
                path,
                kind,
                attempts,
            };
            tracing::debug!(%error, "provider call failed");
            return Err(error);
        }
    }

    /// Sends the request once, holding a permit of the concurrency limit until the body is read.
    async fn attempt<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&B>,
    ) -> Result<T, Failure> {
        // The semaphore is never closed, so acquiring fails only if that changes.
        let _permit = self.limiter.acquire().await.map_err(|_| {
            (
                ApiErrorKind::Connection(
                    "failed: the client's concurrency limiter is closed".to_owned(),
                ),
                None,
            )
        })?;

        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(self.config.token.expose())
            .header(ACCEPT, "application/json");
        if let Some(company_id) = &self.config.company_id {
            request = request.header(COMPANY_HEADER, company_id);
        }
        if let Some(body) = body {
            request = request.json(body);
        }

        let response = request
            .send()
            .await
            .map_err(|e| (self.transport_error(&e), None))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let bytes = response
            .bytes()
            .await
            .map_err(|e| (self.transport_error(&e), None))?;

        if !status.is_success() {
            let message = self.provider_message(status, &bytes);
            let kind = ApiErrorKind::Status {
                status: status.as_u16(),
                message,
            };
            return Err((kind, retry_after));
        }
        serde_json::from_slice(&bytes).map_err(|e| (ApiErrorKind::Decode(e.to_string()), None))
    }

    /// Builds the URL of `segments` under the base URL. Each segment and query value is
    /// percent-encoded, so a reference with `&`, `#`, `/` or spaces stays one value.
    pub(crate) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        // A base URL that parsed as `http` or `https` always has path segments.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// The path and query of `segments`, as error messages show it.
    pub(crate) fn display_path(&self, segments: &[&str], query: &[(&str, &str)]) -> String {
        url_path(&self.url(segments, query))
    }

    /// Describes a failure below HTTP: a timeout, a refused connection or one that broke.
    fn transport_error(&self, error: &reqwest::Error) -> ApiErrorKind {
        if error.is_timeout() {
            return ApiErrorKind::Timeout;
        }
        let cause = root_cause(error);
        if error.is_connect() {
            let host = self.base.as_str().trim_end_matches('/');
            ApiErrorKind::Connection(format!("failed to connect to `{host}`: {cause}"))
        } else {
            ApiErrorKind::Connection(format!("failed: the connection broke: {cause}"))
        }
    }

    /// The `message` of an error body, or an excerpt of a body that is not the documented JSON.
    /// The token is masked in case a provider or proxy echoes the request headers.
    fn provider_message(&self, status: StatusCode, bytes: &[u8]) -> String {
        let message = match serde_json::from_slice::<ErrorBody>(bytes) {
            Ok(body) => body.message,
            Err(_) => {
                let text = String::from_utf8_lossy(bytes);
                let excerpt: String = text.trim().chars().take(MAX_MESSAGE_CHARS).collect();
                if excerpt.is_empty() {
                    status.canonical_reason().unwrap_or("no message").to_owned()
                } else {
                    excerpt
                }
            }
        };
        let token = self.config.token.expose();
        // A token of a few characters would mask ordinary words; real API tokens are long.
        // NOTE: a token shorter than 8 characters that a provider echoes is therefore shown.
        if token.len() < 8 {
            message
        } else {
            message.replace(token, "***")
        }
    }
}

fn url_path(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "HTTP",
    }
}

/// The innermost cause, such as `Connection refused (os error 111)`, which is the part a user
/// can act on; the outer layers only repeat that a request failed.
fn root_cause(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::djamo::{ApiToken, ClientConfig};

    fn client() -> Client {
        let config = ClientConfig::new("http://127.0.0.1:9/base", ApiToken::new("tok-secret"));
        Client::new(config).expect("client builds")
    }

    #[test]
    fn provider_message_masks_echoed_token() {
        let body = br#"{"message": "bad header: Bearer tok-secret"}"#;
        let message = client().provider_message(StatusCode::UNAUTHORIZED, body);
        assert_eq!(message, "bad header: Bearer ***");
    }

    #[test]
    fn provider_message_excerpts_non_json_body() {
        let body = format!("<html>{}</html>", "x".repeat(500));
        let message = client().provider_message(StatusCode::BAD_GATEWAY, body.as_bytes());
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS);
        assert!(message.starts_with("<html>xxx"));
        let empty = client().provider_message(StatusCode::BAD_GATEWAY, b"");
        assert_eq!(empty, "Bad Gateway");
    }

    #[test]
    fn url_keeps_base_path_and_encodes() {
        let url = client().url(&["v1", "transactions", "a/b"], &[("reference", "x&y z")]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/base/v1/transactions/a%2Fb?reference=x%26y+z"
        );
    }
}
