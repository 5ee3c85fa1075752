//! Integration tests: the sandbox over real HTTP.

use std::time::Duration;

use payroll::djamo::wire::{Balance, Batch, CustomerCheck, ErrorBody, Page, Transaction};
use payroll::money::Amount;
use payroll::sandbox::numbers;
use payroll::sandbox::testing::{TEST_BALANCE, TestSandbox};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn post(sandbox: &TestSandbox, path: &str, body: Value) -> (StatusCode, Value) {
    let response = sandbox
        .request(Method::POST, path)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(sandbox: &TestSandbox, path: &str) -> (StatusCode, Value) {
    let response = sandbox
        .request(Method::GET, path)
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn transfer(msisdn: &str, amount: u64, reference: &str) -> Value {
    json!({"msisdn": msisdn, "amount": amount, "reference": reference, "type": "transfer"})
}

fn message(body: &Value) -> String {
    let error: ErrorBody = serde_json::from_value(body.clone()).expect("error body");
    error.message
}

/// A single transfer is created pending with the 1 % fee, and its total is debited at once.
#[tokio::test]
async fn single_transfer_is_pending_and_debits_amount_plus_fee() {
    let sandbox = TestSandbox::builder()
        .settle_after(Duration::from_secs(60))
        .start()
        .await;
    let (status, body) = post(
        &sandbox,
        "/v1/transactions",
        transfer("+2250747000000", 500_000, "r-1"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let tx: Transaction = serde_json::from_value(body).expect("transaction");
    assert!(tx.id.starts_with("txn_"));
    assert_eq!(tx.amount, Amount(500_000));
    assert_eq!(tx.fee, Amount(5_000));
    assert_eq!(tx.total_amount, Amount(505_000));
    assert_eq!(tx.msisdn, "2250747000000");
    assert_eq!(tx.status.as_str(), "pending");
    assert_eq!(sandbox.balance().await, Amount(TEST_BALANCE.0 - 505_000));
}

/// Both published test numbers settle as documented; the failure is refunded.
#[tokio::test]
async fn published_test_numbers_settle_and_failures_are_refunded() {
    let sandbox = TestSandbox::start().await;
    let (status, body) = post(
        &sandbox,
        "/v1/transactions/batch",
        json!({"transactions": [
            transfer(numbers::COMPLETES, 10_000, "ok"),
            transfer(numbers::FAILS, 20_000, "ko"),
        ]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ledger = sandbox.wait_settled().await;
    let ok = ledger.iter().find(|e| e.reference == "ok").expect("ok");
    let ko = ledger.iter().find(|e| e.reference == "ko").expect("ko");
    assert_eq!(ok.status.as_str(), "completed");
    assert_eq!(ok.failure_reason, None);
    assert_eq!(ko.status.as_str(), "failed");
    assert_eq!(
        ko.failure_reason.as_deref(),
        Some(numbers::PUBLISHED_FAILURE_REASON)
    );
    assert_eq!(sandbox.balance().await, Amount(TEST_BALANCE.0 - 10_100));
}

/// Every request needs the bearer token.
#[tokio::test]
async fn missing_or_wrong_token_is_401() {
    let sandbox = TestSandbox::start().await;
    let http = reqwest::Client::new();
    for path in ["/v1/balance", "/v1/transactions", "/_sandbox/ledger"] {
        let url = format!("{}{path}", sandbox.base_url());
        let none = http.get(&url).send().await.expect("request");
        assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
        let wrong = http
            .get(&url)
            .bearer_auth("nope")
            .send()
            .await
            .expect("request");
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        let body: ErrorBody = wrong.json().await.expect("error body");
        assert!(!body.message.is_empty());
    }
}

/// The balance has the published shape.
#[tokio::test]
async fn balance_has_the_published_shape() {
    let sandbox = TestSandbox::builder().balance(Amount(1_000)).start().await;
    let (status, body) = get(&sandbox, "/v1/balance").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"balance": 1000, "currency": "XOF"}));
    let _: Balance = serde_json::from_value(body).expect("balance");
}

/// A transaction is found by id, and an unknown id is a 404 with a message.
#[tokio::test]
async fn get_by_id_and_unknown_id() {
    let sandbox = TestSandbox::start().await;
    let (_, body) = post(
        &sandbox,
        "/v1/transactions",
        transfer(numbers::COMPLETES, 5_000, "by-id"),
    )
    .await;
    let created: Transaction = serde_json::from_value(body).expect("transaction");
    let (status, body) = get(&sandbox, &format!("/v1/transactions/{}", created.id)).await;
    assert_eq!(status, StatusCode::OK);
    let found: Transaction = serde_json::from_value(body).expect("transaction");
    assert_eq!(found.reference, "by-id");
    let (status, body) = get(&sandbox, "/v1/transactions/txn_unknown").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(message(&body).contains("txn_unknown"));
}

/// The customer check answers the KYC status, 404 for a non-customer, 400 for a bad number.
#[tokio::test]
async fn customer_check() {
    let sandbox = TestSandbox::start().await;
    let (status, body) = get(
        &sandbox,
        "/v1/transactions/customers/check?msisdn=%2B2250747000001&subCompanyId=sub-1",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let check: CustomerCheck = serde_json::from_value(body).expect("check");
    assert_eq!(check.msisdn.as_deref(), Some("2250747000001"));
    assert!(check.is_complete());

    let (status, body) = get(
        &sandbox,
        &format!(
            "/v1/transactions/customers/check?msisdn={}",
            numbers::NOT_A_CUSTOMER
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!message(&body).is_empty());

    let (status, _) = get(&sandbox, "/v1/transactions/customers/check?msisdn=12ab").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = get(&sandbox, "/v1/transactions/customers/check").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// The page by reference has the documented shape.
#[tokio::test]
async fn lookup_by_reference_has_the_page_shape() {
    let sandbox = TestSandbox::start().await;
    post(
        &sandbox,
        "/v1/transactions",
        transfer(numbers::COMPLETES, 5_000, "ref/with space"),
    )
    .await;
    let (status, body) = get(&sandbox, "/v1/transactions?reference=ref%2Fwith%20space").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["count"], 1);
    assert_eq!(body["limit"], 15);
    assert_eq!(body["cursor"], json!({"prev": null, "next": null}));
    let page: Page<Transaction> = serde_json::from_value(body).expect("page");
    assert_eq!(page.data[0].reference, "ref/with space");

    let (status, body) = get(&sandbox, "/v1/transactions?reference=missing").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["count"], 0);
    assert_eq!(body["data"], json!([]));
}

/// The batch endpoint returns the documented batch object.
#[tokio::test]
async fn batch_returns_the_batch_object() {
    let sandbox = TestSandbox::start().await;
    let (status, body) = post(
        &sandbox,
        "/v1/transactions/batch",
        json!({"transactions": [
            transfer("2250747000001", 500_000, "b-1"),
            transfer("2250747000002", 430_000, "b-2"),
        ]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let batch: Batch = serde_json::from_value(body).expect("batch");
    assert!(batch.id.starts_with("bat_"));
    assert_eq!(batch.status, "processing");
    assert_eq!(batch.total_fee, Amount(9_300));
    assert_eq!(batch.total_amount, Amount(939_300));
    assert!(
        batch
            .transactions
            .iter()
            .all(|t| t.batch_id.as_deref() == Some(batch.id.as_str()))
    );
}
