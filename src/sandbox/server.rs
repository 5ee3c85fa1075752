//! The router, the middleware (request log, latency, authentication, faults) and the serve loop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::djamo::ApiToken;
use crate::sandbox::error::{ApiFailure, ErrorCode};
use crate::sandbox::faults::{self, Faults};
use crate::sandbox::ledger::{Ledger, now_ms};
use crate::sandbox::{admin, api};

/// The header that carries the company id.
pub const COMPANY_HEADER: &str = "x-company-id";

/// The state every handler shares.
pub type AppState = Arc<Shared>;

pub struct Shared {
    pub ledger: Ledger,
    pub faults: Faults,
    pub token: ApiToken,
    pub company_id: Option<String>,
    pub latency: Duration,
    pub settle_after: Duration,
}

impl Shared {
    /// Settles whatever is due, so that a read never shows a transaction pending past its time.
    pub async fn settle_due(&self) -> Result<(), ApiFailure> {
        if self.ledger.settle_due(now_ms())? > 0 {
            self.ledger.flush().await?;
        }
        Ok(())
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/transactions", post(api::create_one).get(api::list))
        .route("/v1/transactions/batch", post(api::create_batch))
        .route("/v1/transactions/customers/check", get(api::check_customer))
        .route("/v1/transactions/{id}", get(api::get_one))
        .route("/v1/balance", get(api::balance))
        .route("/_sandbox/ledger", get(admin::ledger))
        .route("/_sandbox/balance", post(admin::set_balance))
        .route("/_sandbox/customers", post(admin::put_customer))
        .route(
            "/_sandbox/faults",
            post(admin::add_fault)
                .delete(admin::clear_faults)
                .get(admin::list_faults),
        )
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), faults::apply))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn_with_state(state.clone(), latency))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// Serves until `shutdown` fires, settling due transactions in the background.
pub async fn serve(listener: TcpListener, state: AppState, shutdown: oneshot::Receiver<()>) {
    let app = router(state.clone());
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = shutdown.await;
    });
    tokio::select! {
        result = server => {
            if let Err(error) = result {
                tracing::error!(target: "payroll::sandbox", "sandbox server failed: {error}");
            }
        }
        () = sweep(state.clone()) => {}
    }
    if let Err(error) = state.ledger.flush().await {
        tracing::error!(target: "payroll::sandbox", "sandbox ledger flush failed: {error}");
    }
}

/// Settles due transactions in the background, so that they settle without any read.
async fn sweep(state: AppState) {
    let interval =
        (state.settle_after / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
    loop {
        tokio::time::sleep(interval).await;
        if let Err(error) = state.settle_due().await {
            tracing::error!(target: "payroll::sandbox", "settlement failed: {}", error.message);
        }
    }
}

/// Logs one line per request.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let latency_ms = format_args!("{:.1}", elapsed.as_secs_f64() * 1000.0);
    match response.extensions().get::<ErrorCode>() {
        Some(ErrorCode(code)) => tracing::info!(
            target: "payroll::sandbox", %method, %path, status, latency_ms, code, "request"
        ),
        None => {
            tracing::info!(target: "payroll::sandbox", %method, %path, status, latency_ms, "request")
        }
    }
    response
}

async fn latency(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.latency.is_zero() {
        tokio::time::sleep(state.latency).await;
    }
    next.run(request).await
}

/// Requires the bearer token on every path, and the company id on `/v1` when one is set.
async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    if !token.is_some_and(|t| constant_time_eq(t.as_bytes(), state.token.expose().as_bytes())) {
        return ApiFailure::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "invalid or missing access token",
        )
        .into_response();
    }
    if let Some(expected) = &state.company_id
        && request.uri().path().starts_with("/v1/")
    {
        let sent = request
            .headers()
            .get(COMPANY_HEADER)
            .and_then(|v| v.to_str().ok());
        let failure = match sent {
            None => Some("the `X-Company-Id` header is missing"),
            Some(sent) if sent != expected => {
                Some("the `X-Company-Id` header does not name this business account")
            }
            Some(_) => None,
        };
        if let Some(message) = failure {
            return ApiFailure::new(StatusCode::FORBIDDEN, "FORBIDDEN", message).into_response();
        }
    }
    next.run(request).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn not_found(request: Request) -> ApiFailure {
    ApiFailure::not_found(format!(
        "no endpoint `{} {}`",
        request.method(),
        request.uri().path()
    ))
}
