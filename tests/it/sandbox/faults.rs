//! Fault injection: `status`, `delay` and `drop_after_commit`, by path, for the next N requests.

use std::time::{Duration, Instant};

use payroll::sandbox::numbers;
use payroll::sandbox::testing::TestSandbox;
use payroll::sandbox::{Fault, FaultKind};
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{get, message, post, transfer};

fn one_batch(reference: &str) -> serde_json::Value {
    json!({"transactions": [transfer(numbers::COMPLETES, 5_000, reference)]})
}

/// A `status` fault returns its status for the next `count` requests under its path, without
/// doing the work, and leaves other paths alone.
#[tokio::test]
async fn status_fault_skips_the_work() {
    let sandbox = TestSandbox::start().await;
    sandbox
        .add_fault(Fault::status("/v1/transactions/batch", 503, 2))
        .await;

    let (status, _) = get(&sandbox, "/v1/balance").await;
    assert_eq!(status, StatusCode::OK, "another path is not affected");
    for _ in 0..2 {
        let (status, body) = post(&sandbox, "/v1/transactions/batch", one_batch("f-1")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!message(&body).is_empty());
    }
    assert!(
        sandbox.ledger().await.is_empty(),
        "a status fault does no work"
    );
    let (status, _) = post(&sandbox, "/v1/transactions/batch", one_batch("f-1")).await;
    assert_eq!(status, StatusCode::CREATED, "the fault is used up");
}

/// A 429 carries `Retry-After`, 1 second unless the fault sets another value.
#[tokio::test]
async fn rate_limit_fault_sends_retry_after() {
    let sandbox = TestSandbox::start().await;
    sandbox
        .add_fault(Fault::status("/v1/balance", 429, 1))
        .await;
    sandbox
        .add_fault(Fault::status("/v1/balance", 429, 1).with_retry_after(7))
        .await;
    for expected in ["1", "7"] {
        let response = sandbox
            .request(Method::GET, "/v1/balance")
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after = response.headers().get("retry-after").expect("Retry-After");
        assert_eq!(retry_after, expected);
    }
    let (status, _) = get(&sandbox, "/v1/balance").await;
    assert_eq!(status, StatusCode::OK);
}

/// A `delay` fault delays the request, then does the work normally.
#[tokio::test]
async fn delay_fault_holds_then_answers() {
    let sandbox = TestSandbox::start().await;
    sandbox
        .add_fault(Fault::delay("/v1/transactions", 300, 1))
        .await;
    let started = Instant::now();
    let (status, _) = post(
        &sandbox,
        "/v1/transactions",
        transfer(numbers::COMPLETES, 5_000, "slow"),
    )
    .await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(sandbox.ledger().await.len(), 1);

    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .expect("client");
    sandbox.add_fault(Fault::delay("/v1/balance", 500, 1)).await;
    let url = format!("{}/v1/balance", sandbox.base_url());
    let timed_out = client
        .get(url)
        .bearer_auth(sandbox.token().expose())
        .send()
        .await;
    assert!(
        timed_out.is_err_and(|e| e.is_timeout()),
        "a client times out"
    );
}

/// `drop_after_commit` creates the transactions, then the client never gets a whole response;
/// sending again with the same references is a 409.
#[tokio::test]
async fn drop_after_commit_commits_then_breaks_the_connection() {
    let sandbox = TestSandbox::start().await;
    sandbox
        .add_fault(Fault::drop_after_commit("/v1/transactions/batch", 1))
        .await;
    let result = async {
        let response = sandbox
            .request(Method::POST, "/v1/transactions/batch")
            .json(&one_batch("dropped"))
            .send()
            .await?;
        response.json::<serde_json::Value>().await
    }
    .await;
    assert!(
        result.is_err(),
        "the client sees a broken answer: {result:?}"
    );

    let ledger = sandbox.ledger().await;
    assert_eq!(ledger.len(), 1, "the work was committed");
    assert_eq!(ledger[0].reference, "dropped");
    let (status, _) = post(&sandbox, "/v1/transactions/batch", one_batch("dropped")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = get(&sandbox, "/v1/transactions?reference=dropped").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["count"], 1,
        "the lost answer can be found by reference"
    );
}

/// `drop_after_commit` with a status returns that status after committing.
#[tokio::test]
async fn drop_after_commit_with_status() {
    let sandbox = TestSandbox::start().await;
    sandbox
        .add_fault(Fault::drop_after_commit("/v1/transactions", 1).with_status(502))
        .await;
    let (status, _) = post(
        &sandbox,
        "/v1/transactions",
        transfer(numbers::COMPLETES, 5_000, "committed"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(sandbox.ledger().await.len(), 1);
}

/// The contract's own fault body is accepted; clearing removes every armed fault; the admin
/// paths never misbehave.
#[tokio::test]
async fn faults_are_cleared_and_never_hit_admin_paths() {
    let sandbox = TestSandbox::start().await;
    let (status, body) = post(
        &sandbox,
        "/_sandbox/faults",
        json!({"path": "/", "kind": "status", "status": 500, "delay_ms": 0, "count": 100}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["kind"], "status");

    let (status, _) = get(&sandbox, "/v1/balance").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let (status, _) = get(&sandbox, "/_sandbox/ledger").await;
    assert_eq!(status, StatusCode::OK, "admin paths are never faulted");

    let (_, armed) = get(&sandbox, "/_sandbox/faults").await;
    let armed: Vec<Fault> = serde_json::from_value(armed).expect("faults");
    assert_eq!(armed.len(), 1);
    assert_eq!(armed[0].kind, FaultKind::Status);
    assert_eq!(armed[0].count, 99);

    sandbox.clear_faults().await;
    let (status, _) = get(&sandbox, "/v1/balance").await;
    assert_eq!(status, StatusCode::OK);
}

/// A fault body that cannot work is a 400.
#[tokio::test]
async fn invalid_fault_is_400() {
    let sandbox = TestSandbox::start().await;
    for body in [
        json!({"path": "/v1", "kind": "status"}),
        json!({"path": "/v1", "kind": "status", "status": 200}),
        json!({"path": "v1", "kind": "delay", "delay_ms": 5}),
        json!({"path": "/v1", "kind": "explode"}),
        json!({"path": "/v1", "kind": "delay", "count": 0}),
    ] {
        let (status, answer) = post(&sandbox, "/_sandbox/faults", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(!message(&answer).is_empty());
    }
}
