//! Customers and settlement: the published and sandbox-only numbers, KYC statuses, refunds and
//! the administration of balance and customers.

use payroll::money::Amount;
use payroll::sandbox::numbers;
use payroll::sandbox::testing::{TEST_BALANCE, TestSandbox};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{get, post, transfer};

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

/// The sandbox-only numbers settle with their documented failure reasons.
#[tokio::test]
async fn special_numbers_fail_with_their_reasons() {
    let sandbox = TestSandbox::start().await;
    let cases = [
        (
            numbers::FAILS_INTERNAL_ERROR,
            5_000,
            Some(numbers::INTERNAL_ERROR),
        ),
        (
            numbers::FAILS_UNKNOWN_ERROR,
            5_000,
            Some(numbers::UNKNOWN_ERROR),
        ),
        (numbers::LIMITED_CUSTOMER, 100_000, None),
        (
            numbers::LIMITED_CUSTOMER,
            100_001,
            Some(numbers::TRANSACTION_AMOUNT_OVER_ACCOUNT_LIMIT),
        ),
        (
            numbers::NOT_A_CUSTOMER,
            5_000,
            Some(numbers::DJAMO_ACCOUNT_NOT_FOUND),
        ),
        (numbers::KYC_REJECTED, 5_000, None),
        ("2250102030405", 5_000, None),
    ];
    let items: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, (msisdn, amount, _))| transfer(msisdn, *amount, &format!("s-{i}")))
        .collect();
    let (status, body) = post(
        &sandbox,
        "/v1/transactions/batch",
        json!({"transactions": items}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ledger = sandbox.wait_settled().await;
    let mut refunded = 0;
    for (i, (msisdn, amount, reason)) in cases.iter().enumerate() {
        let entry = ledger
            .iter()
            .find(|e| e.reference == format!("s-{i}"))
            .expect("created");
        assert_eq!(
            entry.failure_reason.as_deref(),
            *reason,
            "{msisdn} {amount}"
        );
        let expected = if reason.is_some() {
            "failed"
        } else {
            "completed"
        };
        assert_eq!(entry.status.as_str(), expected, "{msisdn}");
        if reason.is_some() {
            refunded += entry.total_amount.0;
        }
    }
    let spent: u64 = ledger.iter().map(|e| e.total_amount.0).sum();
    assert_eq!(
        sandbox.balance().await,
        Amount(TEST_BALANCE.0 - spent + refunded)
    );
}

/// Each KYC-status number returns its status on the customer check.
#[tokio::test]
async fn kyc_numbers_report_their_status() {
    let sandbox = TestSandbox::start().await;
    let cases = [
        (numbers::COMPLETES, "complete"),
        (numbers::FAILS, "complete"),
        (numbers::KYC_PENDING, "pending"),
        (numbers::KYC_INCOMPLETE, "incomplete"),
        (numbers::KYC_REJECTED, "rejected"),
        (numbers::KYC_EXPIRED, "expired"),
    ];
    for (msisdn, kyc) in cases {
        let (status, body) = get(
            &sandbox,
            &format!("/v1/transactions/customers/check?msisdn={msisdn}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{msisdn}");
        assert_eq!(body["kycStatus"], kyc, "{msisdn}");
        assert!(numbers::KYC_STATUSES.contains(&kyc));
    }
}

/// Admin endpoints change balance and customers.
#[tokio::test]
async fn admin_sets_balance_and_customers() {
    let sandbox = TestSandbox::start().await;
    sandbox.set_balance(Amount(123_456)).await;
    assert_eq!(sandbox.balance().await, Amount(123_456));

    let mut gone = payroll::sandbox::CustomerSpec::new("+2250747000009");
    gone.exists = false;
    let stored = sandbox.add_customer(gone).await;
    assert_eq!(stored.msisdn, "2250747000009");
    let (status, _) = get(
        &sandbox,
        "/v1/transactions/customers/check?msisdn=2250747000009",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let mut pending = payroll::sandbox::CustomerSpec::new("2250747000008");
    pending.kyc_status = Some("pending".to_owned());
    pending.limit = Some(Amount(10_000));
    sandbox.add_customer(pending).await;
    let (_, body) = get(
        &sandbox,
        "/v1/transactions/customers/check?msisdn=2250747000008",
    )
    .await;
    assert_eq!(body["kycStatus"], "pending");

    let items = json!({"transactions": [
        transfer("2250747000009", 5_000, "gone"),
        transfer("2250747000008", 10_001, "over"),
    ]});
    let (status, _) = post(&sandbox, "/v1/transactions/batch", items).await;
    assert_eq!(status, StatusCode::CREATED);
    let ledger = sandbox.wait_settled().await;
    assert_eq!(
        ledger[0].failure_reason.as_deref(),
        Some(numbers::DJAMO_ACCOUNT_NOT_FOUND)
    );
    assert_eq!(
        ledger[1].failure_reason.as_deref(),
        Some(numbers::TRANSACTION_AMOUNT_OVER_ACCOUNT_LIMIT)
    );
    assert_eq!(sandbox.balance().await, Amount(123_456), "both refunded");

    let response = sandbox
        .request(Method::POST, "/_sandbox/customers")
        .json(&json!({"msisdn": "12", "kycStatus": "complete", "exists": true}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}
