//! The `/v1` endpoints: shapes, status codes, validation, special numbers, admin calls.

use std::time::Duration;

use payroll::djamo::wire::{Balance, Batch, CustomerCheck, ErrorBody, Page, Transaction};
use payroll::money::Amount;
use payroll::sandbox::numbers;
use payroll::sandbox::testing::{TEST_BALANCE, TestSandbox};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{get, message, post, transfer};

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

/// Every invalid field is a 400 whose message names it; in a batch, with the item index.
#[tokio::test]
async fn invalid_fields_are_400_naming_the_field() {
    let sandbox = TestSandbox::start().await;
    let cases = [
        (
            json!({"msisdn": "2250747000000", "amount": 5000.5, "reference": "a"}),
            "`amount`",
        ),
        (
            json!({"msisdn": "2250747000000", "amount": 5000.0, "reference": "a"}),
            "`amount`",
        ),
        (
            json!({"msisdn": "2250747000000", "amount": "5000", "reference": "a"}),
            "`amount`",
        ),
        (
            json!({"msisdn": "2250747000000", "amount": 4999, "reference": "a"}),
            "`amount`",
        ),
        (
            json!({"msisdn": "2250747000000", "amount": 500001, "reference": "a"}),
            "`amount`",
        ),
        (
            json!({"msisdn": "2250747000000", "amount": -5000, "reference": "a"}),
            "`amount`",
        ),
        (
            json!({"msisdn": "2250747000000", "reference": "a"}),
            "`amount`",
        ),
        (
            json!({"msisdn": "0747000000", "amount": 5000, "reference": "a"}),
            "`msisdn`",
        ),
        (
            json!({"msisdn": "22507470000", "amount": 5000, "reference": "a"}),
            "`msisdn`",
        ),
        (
            json!({"msisdn": 2250747000000u64, "amount": 5000, "reference": "a"}),
            "`msisdn`",
        ),
        (json!({"amount": 5000, "reference": "a"}), "`msisdn`"),
        (
            json!({"msisdn": "2250747000000", "amount": 5000}),
            "`reference`",
        ),
        (
            json!({"msisdn": "2250747000000", "amount": 5000, "reference": ""}),
            "`reference`",
        ),
        (
            json!({"msisdn": "2250747000000", "amount": 5000, "reference": 7}),
            "`reference`",
        ),
        (
            json!({"msisdn": "2250747000000", "amount": 5000, "reference": "a", "type": "payout"}),
            "`type`",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = post(&sandbox, "/v1/transactions", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(message(&answer).contains(field), "{body} -> {answer}");
    }

    let (status, answer) = post(
        &sandbox,
        "/v1/transactions/batch",
        json!({"transactions": [
            transfer(numbers::COMPLETES, 5_000, "ok-0"),
            transfer(numbers::COMPLETES, 5_000, "ok-1"),
            {"msisdn": "2250747000000", "amount": 12.5, "reference": "bad"},
        ]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message(&answer).contains("`transactions[2].amount`"),
        "{answer}"
    );

    for body in [
        json!({}),
        json!({"transactions": []}),
        json!({"transactions": {}}),
    ] {
        let (status, answer) = post(&sandbox, "/v1/transactions/batch", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(message(&answer).contains("`transactions`"), "{answer}");
    }

    let response = sandbox
        .request(Method::POST, "/v1/transactions")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        sandbox.ledger().await.is_empty(),
        "no invalid request created anything"
    );
}

/// A reference that exists is a 409, for a single transfer, across batches and inside one batch.
#[tokio::test]
async fn duplicate_reference_is_409() {
    let sandbox = TestSandbox::start().await;
    let (status, _) = post(
        &sandbox,
        "/v1/transactions",
        transfer(numbers::COMPLETES, 5_000, "dup"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = post(
        &sandbox,
        "/v1/transactions",
        transfer(numbers::COMPLETES, 9_000, "dup"),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(message(&body).contains("`dup`"));

    let (status, body) = post(
        &sandbox,
        "/v1/transactions/batch",
        json!({"transactions": [transfer(numbers::COMPLETES, 5_000, "new"), transfer(numbers::COMPLETES, 5_000, "dup")]}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(message(&body).contains("`dup` (transactions[1])"), "{body}");

    let (status, body) = post(
        &sandbox,
        "/v1/transactions/batch",
        json!({"transactions": [transfer(numbers::COMPLETES, 5_000, "twice"), transfer(numbers::COMPLETES, 6_000, "twice")]}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        message(&body).contains("`transactions[1].reference`"),
        "{body}"
    );

    let ledger = sandbox.ledger().await;
    assert_eq!(
        ledger.len(),
        1,
        "a rejected batch creates nothing: {ledger:?}"
    );
    assert_eq!(sandbox.balance().await, Amount(TEST_BALANCE.0 - 5_050));
}

/// Not enough money is a 402, and a batch that does not fit creates nothing at all.
#[tokio::test]
async fn insufficient_funds_is_402_and_batch_is_all_or_nothing() {
    let sandbox = TestSandbox::builder().balance(Amount(20_000)).start().await;
    let (status, body) = post(
        &sandbox,
        "/v1/transactions",
        transfer(numbers::COMPLETES, 20_000, "too-much"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::PAYMENT_REQUIRED,
        "20 000 + 200 fee > 20 000"
    );
    assert!(!message(&body).is_empty());

    let (status, _) = post(
        &sandbox,
        "/v1/transactions/batch",
        json!({"transactions": [
            transfer(numbers::COMPLETES, 10_000, "b1"),
            transfer(numbers::COMPLETES, 9_000, "b2"),
            transfer(numbers::COMPLETES, 5_000, "b3"),
        ]}),
    )
    .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "24 240 > 20 000");
    assert!(sandbox.ledger().await.is_empty());
    assert_eq!(sandbox.balance().await, Amount(20_000));

    let (status, _) = post(
        &sandbox,
        "/v1/transactions/batch",
        json!({"transactions": [
            transfer(numbers::COMPLETES, 10_000, "b1"),
            transfer(numbers::COMPLETES, 9_800, "b2"),
        ]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "10 100 + 9 898 = 19 998 fits");
    assert_eq!(sandbox.balance().await, Amount(2));
}

/// With a company id, `/v1` requires the matching `X-Company-Id` (403 otherwise).
#[tokio::test]
async fn company_id_is_required_when_configured() {
    let sandbox = TestSandbox::builder().company_id("acme").start().await;
    let (status, _) = get(&sandbox, "/v1/balance").await;
    assert_eq!(status, StatusCode::OK, "the helper sends the company id");
    let url = format!("{}/v1/balance", sandbox.base_url());
    let http = reqwest::Client::new();
    let token = sandbox.token();
    let missing = http
        .get(&url)
        .bearer_auth(token.expose())
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let wrong = http
        .get(&url)
        .bearer_auth(token.expose())
        .header("X-Company-Id", "other")
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let body: ErrorBody = wrong.json().await.expect("error body");
    assert!(body.message.contains("X-Company-Id"));
}

/// Listing without a reference pages through everything, newest first, with working cursors.
#[tokio::test]
async fn listing_pages_newest_first_with_cursors() {
    let sandbox = TestSandbox::start().await;
    let items: Vec<Value> = (0..7)
        .map(|i| transfer(numbers::COMPLETES, 5_000, &format!("p-{i}")))
        .collect();
    let (status, _) = post(
        &sandbox,
        "/v1/transactions/batch",
        json!({"transactions": items}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    let (_, first) = get(&sandbox, "/v1/transactions").await;
    assert_eq!(first["limit"], 15);
    assert_eq!(first["count"], 7);

    let mut seen = Vec::new();
    let mut path = "/v1/transactions?limit=3".to_owned();
    let mut pages = Vec::new();
    loop {
        let (status, body) = get(&sandbox, &path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page: Page<Transaction> = serde_json::from_value(body).expect("page");
        assert_eq!(page.count, 7);
        seen.extend(page.data.iter().map(|t| t.reference.clone()));
        pages.push(page.clone());
        match page.cursor.next {
            Some(next) => path = format!("/v1/transactions?limit=3&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen, ["p-6", "p-5", "p-4", "p-3", "p-2", "p-1", "p-0"]);
    assert_eq!(pages.len(), 3);
    assert!(pages[0].cursor.prev.is_none());

    let prev = pages[2]
        .cursor
        .prev
        .clone()
        .expect("the last page has a prev cursor");
    let (_, body) = get(&sandbox, &format!("/v1/transactions?limit=3&cursor={prev}")).await;
    let back: Page<Transaction> = serde_json::from_value(body).expect("page");
    assert_eq!(back.data, pages[1].data, "prev of page 3 is page 2");
    assert_eq!(back.cursor.next, pages[1].cursor.next);

    let (_, body) = get(&sandbox, "/v1/transactions?limit=1000").await;
    assert_eq!(body["limit"], 100, "limit is clamped to 100");
    for bad in ["limit=0", "limit=x", "cursor=bogus"] {
        let (status, body) = get(&sandbox, &format!("/v1/transactions?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(!message(&body).is_empty());
    }
}

/// An unknown path is a 404 with an error body.
#[tokio::test]
async fn unknown_path_is_404() {
    let sandbox = TestSandbox::start().await;
    let (status, body) = get(&sandbox, "/v2/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(message(&body).contains("/v2/nothing"));
}

/// The configured latency delays every response.
#[tokio::test]
async fn latency_delays_every_response() {
    let sandbox = TestSandbox::builder()
        .latency(Duration::from_millis(150))
        .start()
        .await;
    let started = std::time::Instant::now();
    let (status, _) = get(&sandbox, "/v1/balance").await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));
}
