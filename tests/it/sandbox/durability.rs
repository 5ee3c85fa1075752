//! The ledger: persistence across restarts, settlement by the sweeper, and concurrent requests.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use payroll::djamo::wire::TransactionStatus;
use payroll::money::Amount;
use payroll::sandbox::ledger::Ledger;
use payroll::sandbox::numbers;
use payroll::sandbox::testing::{TEST_BALANCE, TestSandbox};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::sync::Barrier;

use super::{get, post, transfer};

/// Transactions, references, customers and the balance survive a restart; a transaction that
/// came due while the sandbox was down settles after it, and its refund happens exactly once.
#[tokio::test]
async fn ledger_survives_restart_and_refunds_once() {
    // Load the phone-number tables first: their first use is slow in a debug build.
    payroll::msisdn::Msisdn::parse("2250747000077").expect("valid");
    let dir = tempfile::tempdir().expect("tempdir");
    let builder = TestSandbox::builder()
        .settle_after(Duration::from_millis(1_000))
        .data_dir(dir.path());
    let sandbox = builder.clone().start().await;
    let (status, _) = post(
        &sandbox,
        "/v1/transactions/batch",
        json!({"transactions": [
            transfer(numbers::COMPLETES, 100_000, "keep-ok"),
            transfer(numbers::FAILS, 200_000, "keep-ko"),
        ]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut customer = payroll::sandbox::CustomerSpec::new("2250747000077");
    customer.kyc_status = Some("rejected".to_owned());
    sandbox.add_customer(customer).await;
    let debited = Amount(TEST_BALANCE.0 - 101_000 - 202_000);
    assert_eq!(sandbox.balance().await, debited);

    // Down before the settle time, up after it.
    sandbox.stop().await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let mut sandbox = builder.start().await;
    assert_eq!(sandbox.data_dir(), dir.path());

    let ledger = sandbox.ledger().await;
    assert_eq!(ledger.len(), 2);
    assert_eq!(ledger[0].status, TransactionStatus::Completed);
    assert_eq!(ledger[1].status, TransactionStatus::Failed);
    let refunded = Amount(debited.0 + 202_000);
    assert_eq!(sandbox.balance().await, refunded);

    sandbox.restart().await;
    assert_eq!(sandbox.balance().await, refunded, "refunded once only");
    let (status, _) = post(
        &sandbox,
        "/v1/transactions",
        transfer(numbers::COMPLETES, 5_000, "keep-ok"),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "references survive");
    let (_, check) = get(
        &sandbox,
        "/v1/transactions/customers/check?msisdn=2250747000077",
    )
    .await;
    assert_eq!(check["kycStatus"], "rejected", "customers survive");
}

/// The background sweeper settles transactions nobody reads.
#[tokio::test]
async fn sweeper_settles_without_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sandbox = TestSandbox::builder()
        .settle_after(Duration::from_millis(30))
        .data_dir(dir.path())
        .start()
        .await;
    let (status, _) = post(
        &sandbox,
        "/v1/transactions",
        transfer(numbers::FAILS, 5_000, "swept"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    tokio::time::sleep(Duration::from_millis(300)).await;
    sandbox.stop().await;

    // Read the ledger directly: `by_reference` does not settle anything itself.
    let ledger = Ledger::open(dir.path(), Amount(0)).await.expect("ledger");
    let entry = ledger
        .by_reference("swept")
        .expect("read")
        .expect("created");
    assert_eq!(entry.status, TransactionStatus::Failed);
    assert_eq!(ledger.balance().expect("balance"), TEST_BALANCE);
}

/// 32 concurrent batches that share references and together overdraw the balance: no
/// reference is created twice, the balance never goes below zero, and the ledger is exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_overlapping_batches_keep_the_ledger_exact() {
    const BATCHES: usize = 32;
    const ITEMS: usize = 10;
    const AMOUNT: u64 = 100_000;
    const START: u64 = 10_000_000;
    let sandbox = Arc::new(
        TestSandbox::builder()
            .balance(Amount(START))
            .settle_after(Duration::from_secs(600))
            .start()
            .await,
    );
    let barrier = Arc::new(Barrier::new(BATCHES));
    let mut tasks = Vec::new();
    for batch in 0..BATCHES {
        let sandbox = Arc::clone(&sandbox);
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            let references: Vec<String> = (0..ITEMS)
                .map(|j| format!("c-{}", (batch * 3 + j) % 64))
                .collect();
            let items: Vec<_> = references
                .iter()
                .map(|r| transfer("2250747000001", AMOUNT, r))
                .collect();
            barrier.wait().await;
            let response = sandbox
                .request(Method::POST, "/v1/transactions/batch")
                .json(&json!({ "transactions": items }))
                .send()
                .await
                .expect("request");
            let status = response.status();
            let body: serde_json::Value = response.json().await.expect("body");
            (status, body, references)
        }));
    }
    let mut created = Vec::new();
    for task in tasks {
        let (status, body, references) = task.await.expect("task");
        match status {
            StatusCode::CREATED => {
                created.push((body["id"].as_str().expect("id").to_owned(), references))
            }
            StatusCode::CONFLICT | StatusCode::PAYMENT_REQUIRED => {}
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(!created.is_empty(), "some batch got through");

    let ledger = sandbox.ledger().await;
    let unique: HashSet<&str> = ledger.iter().map(|e| e.reference.as_str()).collect();
    assert_eq!(unique.len(), ledger.len(), "no reference twice");
    assert_eq!(ledger.len(), created.len() * ITEMS, "only whole batches");
    for (batch_id, references) in &created {
        for reference in references {
            let entry = ledger
                .iter()
                .find(|e| &e.reference == reference)
                .expect("created reference is in the ledger");
            assert_eq!(entry.batch_id.as_deref(), Some(batch_id.as_str()));
        }
    }
    let spent: u64 = ledger.iter().map(|e| e.total_amount.0).sum();
    assert!(spent <= START, "never below zero");
    assert_eq!(sandbox.balance().await, Amount(START - spent));
}

/// 32 concurrent single transfers with one reference create exactly one transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_singles_with_one_reference_create_one() {
    let sandbox = Arc::new(TestSandbox::start().await);
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let sandbox = Arc::clone(&sandbox);
        tasks.push(tokio::spawn(async move {
            post(
                &sandbox,
                "/v1/transactions",
                transfer(numbers::COMPLETES, 5_000, "same"),
            )
            .await
            .0
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT)
    );
    assert_eq!(sandbox.ledger().await.len(), 1);
    assert_eq!(sandbox.balance().await, Amount(TEST_BALANCE.0 - 5_050));
}

/// The `--sandbox` starter serves on 127.0.0.1 with its ledger under the state folder and the
/// default balance; dropping the handle stops it.
#[tokio::test]
async fn embedded_starter_uses_the_state_folder_and_stops_on_drop() {
    let state = tempfile::tempdir().expect("tempdir");
    let (handle, token) = payroll::sandbox::start_embedded(state.path())
        .await
        .expect("start");
    assert!(handle.addr.ip().is_loopback());
    assert_eq!(handle.data_dir(), state.path().join("sandbox"));
    assert!(state.path().join("sandbox").is_dir());
    let url = format!("{}/v1/balance", handle.base_url());
    let http = reqwest::Client::new();
    let body: serde_json::Value = http
        .get(&url)
        .bearer_auth(token.expose())
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(body["balance"], payroll::sandbox::DEFAULT_BALANCE.0);

    drop(handle);
    let mut stopped = false;
    for _ in 0..100 {
        if reqwest::Client::new().get(&url).send().await.is_err() {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(stopped, "the server stops when its handle is dropped");
}

/// A ledger folder that another sandbox holds open is refused with a message that says so.
#[tokio::test]
async fn second_sandbox_on_one_ledger_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _first = TestSandbox::builder().data_dir(dir.path()).start().await;
    let config = payroll::sandbox::SandboxConfig::new(dir.path());
    let error = match payroll::sandbox::start(config).await {
        Ok(_) => panic!("a second sandbox opened the same ledger"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("another process has it open"), "{error}");
    assert!(error.contains(&dir.path().display().to_string()), "{error}");
}

/// Many concurrent creations each flush the ledger; none of them hangs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_singles_all_complete() {
    let sandbox = Arc::new(TestSandbox::start().await);
    let mut tasks = Vec::new();
    for i in 0..64 {
        let sandbox = Arc::clone(&sandbox);
        tasks.push(tokio::spawn(async move {
            post(
                &sandbox,
                "/v1/transactions",
                transfer(numbers::COMPLETES, 5_000, &format!("many-{i}")),
            )
            .await
            .0
        }));
    }
    let all = async {
        for task in tasks {
            assert_eq!(task.await.expect("task"), StatusCode::CREATED);
        }
    };
    tokio::time::timeout(Duration::from_secs(30), all)
        .await
        .expect("every request answered");
    assert_eq!(sandbox.ledger().await.len(), 64);
}
