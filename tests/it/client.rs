//! Integration tests: the provider client against the sandbox over real HTTP, with the sandbox's
//! fault endpoint for rate limits, server errors, slow responses and dropped connections.

use std::time::{Duration, Instant};

use payroll::djamo::client::CustomerStatus;
use payroll::djamo::wire::{NewTransaction, TransactionStatus};
use payroll::djamo::{ApiError, ApiErrorKind, ApiToken, Client, ClientConfig};
use payroll::money::Amount;
use payroll::msisdn::Msisdn;
use payroll::sandbox::testing::TestSandbox;
use payroll::sandbox::{CustomerSpec, Fault};
use reqwest::Method;

const COMPLETES: &str = "2250747000000";

fn client(sandbox: &TestSandbox) -> Client {
    Client::new(sandbox.client_config()).expect("client builds")
}

fn client_with(sandbox: &TestSandbox, change: impl FnOnce(&mut ClientConfig)) -> Client {
    let mut config = sandbox.client_config();
    change(&mut config);
    Client::new(config).expect("client builds")
}

fn transfer(reference: &str, amount: u64) -> NewTransaction {
    NewTransaction {
        msisdn: COMPLETES.to_owned(),
        amount: Amount(amount),
        reference: reference.to_owned(),
        description: Some("Salaire".to_owned()),
        kind: Some("transfer".to_owned()),
    }
}

fn msisdn(text: &str) -> Msisdn {
    Msisdn::parse(text).expect("test msisdn is valid")
}

/// Faults still armed on the sandbox, to count how many requests a call consumed.
async fn armed_faults(sandbox: &TestSandbox) -> Vec<Fault> {
    sandbox
        .request(Method::GET, "/_sandbox/faults")
        .send()
        .await
        .expect("list faults")
        .json()
        .await
        .expect("faults body")
}

async fn remaining_uses(sandbox: &TestSandbox) -> u32 {
    armed_faults(sandbox).await.iter().map(|f| f.count).sum()
}

fn assert_status(error: &ApiError, status: u16, attempts: u32) {
    assert_eq!(error.status(), Some(status), "{error}");
    assert_eq!(error.attempts, attempts, "{error}");
}

#[tokio::test]
async fn create_transaction_returns_pending() {
    let sandbox = TestSandbox::start().await;
    let created = client(&sandbox)
        .create_transaction(&transfer("sal-2026-12-E001", 350_000))
        .await
        .expect("created");

    assert_eq!(created.reference, "sal-2026-12-E001");
    assert_eq!(created.amount, Amount(350_000));
    assert_eq!(created.fee, Amount(3_500));
    assert_eq!(created.status, TransactionStatus::Pending);
    let ledger = sandbox.ledger().await;
    assert_eq!(ledger.len(), 1);
}

#[tokio::test]
async fn create_batch_returns_every_transaction() {
    let sandbox = TestSandbox::start().await;
    let batch = client(&sandbox)
        .create_batch(&[transfer("a", 5_000), transfer("b", 500_000)])
        .await
        .expect("created");

    let references: Vec<&str> = batch
        .transactions
        .iter()
        .map(|t| t.reference.as_str())
        .collect();
    assert_eq!(references, ["a", "b"]);
    assert_eq!(batch.total_fee, Amount(50 + 5_000));
}

#[tokio::test]
async fn transaction_read_by_id() {
    let sandbox = TestSandbox::start().await;
    let client = client(&sandbox);
    let created = client
        .create_transaction(&transfer("r1", 5_000))
        .await
        .expect("created");

    let read = client.transaction(&created.id).await.expect("read");
    assert_eq!(read.id, created.id);
    assert_eq!(read.reference, "r1");
}

#[tokio::test]
async fn unknown_transaction_id_is_404() {
    let sandbox = TestSandbox::start().await;
    let error = client(&sandbox)
        .transaction("txn_missing/../../balance")
        .await
        .expect_err("no such transaction");

    assert_status(&error, 404, 1);
    assert_eq!(
        error.path, "/v1/transactions/txn_missing%2F..%2F..%2Fbalance",
        "the id stays one path segment"
    );
    assert!(
        error
            .provider_message()
            .is_some_and(|m| m.contains("not found")),
        "{error}"
    );
}

#[tokio::test]
async fn reference_lookup_encodes_query_value() {
    let sandbox = TestSandbox::start().await;
    let client = client(&sandbox);
    let reference = "sal 2026/12 & co #1+x=é?";
    client
        .create_transaction(&transfer(reference, 5_000))
        .await
        .expect("created");
    client
        .create_transaction(&transfer("sal 2026/12", 5_000))
        .await
        .expect("created");

    let found = client
        .transactions_by_reference(reference)
        .await
        .expect("lookup");
    assert_eq!(found.len(), 1);
    assert_eq!(found.first().map(|t| t.reference.as_str()), Some(reference));
}

#[tokio::test]
async fn reference_lookup_unknown_is_empty() {
    let sandbox = TestSandbox::start().await;
    let client = client(&sandbox);
    client
        .create_transaction(&transfer("sal-2026-12-E001", 5_000))
        .await
        .expect("created");

    let prefix = client
        .transactions_by_reference("sal-2026-12")
        .await
        .expect("lookup");
    assert!(prefix.is_empty(), "{prefix:?}");
}

#[tokio::test]
async fn listing_follows_cursor_to_end() {
    let sandbox = TestSandbox::start().await;
    let client = client(&sandbox);
    let transfers: Vec<NewTransaction> = (0..40)
        .map(|i| transfer(&format!("ref-{i:02}"), 5_000))
        .collect();
    client.create_batch(&transfers).await.expect("created");

    let all = client.transactions().await.expect("listing");
    let mut references: Vec<String> = all.into_iter().map(|t| t.reference).collect();
    references.sort();
    let expected: Vec<String> = (0..40).map(|i| format!("ref-{i:02}")).collect();
    assert_eq!(references, expected, "40 transactions over pages of 15");
}

#[tokio::test]
async fn balance_reads_account_balance() {
    let sandbox = TestSandbox::start().await;
    sandbox.set_balance(Amount(1_250_000)).await;

    let balance = client(&sandbox).balance().await.expect("balance");
    assert_eq!(balance.balance, Amount(1_250_000));
    assert_eq!(balance.currency, "XOF");
}

#[tokio::test]
async fn customer_check_reports_kyc_status() {
    let sandbox = TestSandbox::start().await;
    let mut pending = CustomerSpec::new("2250701020304");
    pending.kyc_status = Some("pending".to_owned());
    sandbox.add_customer(pending).await;
    let client = client(&sandbox);

    let complete = client
        .check_customer(&msisdn(COMPLETES), Some("sub-1"))
        .await
        .expect("check");
    assert!(
        matches!(&complete, CustomerStatus::Found(c) if c.is_complete()),
        "{complete:?}"
    );

    let pending = client
        .check_customer(&msisdn("2250701020304"), None)
        .await
        .expect("check");
    assert!(
        matches!(&pending, CustomerStatus::Found(c) if c.kyc_status == "pending"),
        "{pending:?}"
    );
}

#[tokio::test]
async fn unknown_customer_is_not_found() {
    let sandbox = TestSandbox::start().await;
    let mut unknown = CustomerSpec::new("2250701020305");
    unknown.exists = false;
    sandbox.add_customer(unknown).await;

    let status = client(&sandbox)
        .check_customer(&msisdn("2250701020305"), None)
        .await
        .expect("check");
    assert_eq!(status, CustomerStatus::NotFound);
}

#[tokio::test]
async fn company_id_is_sent() {
    let sandbox = TestSandbox::builder().company_id("acme-ci").start().await;
    let balance = client(&sandbox).balance().await;
    assert!(balance.is_ok(), "{:?}", balance.err());

    let without = client_with(&sandbox, |c| c.company_id = None)
        .balance()
        .await
        .expect_err("the sandbox requires the company id");
    assert_status(&without, 403, 1);
}

#[tokio::test]
async fn get_retries_server_errors() {
    let sandbox = TestSandbox::start().await;
    sandbox
        .add_fault(Fault::status("/v1/balance", 503, 2))
        .await;

    let balance = client(&sandbox).balance().await;
    assert!(balance.is_ok(), "{:?}", balance.err());
    assert_eq!(remaining_uses(&sandbox).await, 0);
}

#[tokio::test]
async fn get_gives_up_after_max_retries() {
    let sandbox = TestSandbox::start().await;
    sandbox
        .add_fault(Fault::status("/v1/balance", 500, 10))
        .await;

    let error = client_with(&sandbox, |c| c.max_retries = 2)
        .balance()
        .await
        .expect_err("every attempt fails");
    assert_status(&error, 500, 3);
    assert_eq!(
        remaining_uses(&sandbox).await,
        7,
        "three requests were sent"
    );
    assert!(error.to_string().ends_with("(after 3 attempts)"), "{error}");
}

#[tokio::test]
async fn get_honours_retry_after() {
    let sandbox = TestSandbox::start().await;
    sandbox
        .add_fault(Fault::status("/v1/transactions", 429, 1).with_retry_after(1))
        .await;

    let started = Instant::now();
    let found = client(&sandbox).transactions_by_reference("r").await;
    assert!(found.is_ok(), "{:?}", found.err());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retry_after_is_capped() {
    let sandbox = TestSandbox::start().await;
    sandbox
        .add_fault(Fault::status("/v1/balance", 429, 1).with_retry_after(3_600))
        .await;

    let started = Instant::now();
    let client = client_with(&sandbox, |c| c.max_retry_after = Duration::from_millis(50));
    let balance = client.balance().await;
    assert!(balance.is_ok(), "{:?}", balance.err());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waited {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn get_retries_after_timeout() {
    let sandbox = TestSandbox::start().await;
    sandbox
        .add_fault(Fault::delay("/v1/transactions/customers/check", 3_000, 1))
        .await;
    let client = client_with(&sandbox, |c| c.request_timeout = Duration::from_millis(300));

    let started = Instant::now();
    let status = client.check_customer(&msisdn(COMPLETES), None).await;
    assert!(matches!(status, Ok(CustomerStatus::Found(_))), "{status:?}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn timeout_error_after_retries() {
    let sandbox = TestSandbox::start().await;
    sandbox
        .add_fault(Fault::delay("/v1/balance", 3_000, 5))
        .await;
    let client = client_with(&sandbox, |c| {
        c.request_timeout = Duration::from_millis(200);
        c.max_retries = 1;
    });

    let error = client.balance().await.expect_err("too slow");
    assert_eq!(error.kind, ApiErrorKind::Timeout);
    assert_eq!(error.attempts, 2);
    assert_eq!(
        error.to_string(),
        "GET /v1/balance timed out (after 2 attempts)"
    );
}

#[tokio::test]
async fn post_is_sent_once_on_500() {
    let sandbox = TestSandbox::start().await;
    sandbox
        .add_fault(Fault::status("/v1/transactions", 500, 1))
        .await;

    let error = client(&sandbox)
        .create_transaction(&transfer("r1", 5_000))
        .await
        .expect_err("the one attempt failed");
    assert_status(&error, 500, 1);
    assert!(error.outcome_unknown());
    assert!(sandbox.ledger().await.is_empty());
}

#[tokio::test]
async fn post_is_sent_once_on_429() {
    let sandbox = TestSandbox::start().await;
    sandbox
        .add_fault(Fault::status("/v1/transactions/batch", 429, 1).with_retry_after(0))
        .await;

    let error = client(&sandbox)
        .create_batch(&[transfer("r1", 5_000)])
        .await
        .expect_err("rate limited");
    assert_status(&error, 429, 1);
    assert!(sandbox.ledger().await.is_empty());
}

#[tokio::test]
async fn dropped_batch_is_unknown_and_found() {
    let sandbox = TestSandbox::start().await;
    sandbox
        .add_fault(Fault::drop_after_commit("/v1/transactions/batch", 1))
        .await;
    let client = client(&sandbox);

    let error = client
        .create_batch(&[transfer("r1", 5_000), transfer("r2", 6_000)])
        .await
        .expect_err("the answer was cut");
    assert!(matches!(error.kind, ApiErrorKind::Connection(_)), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("POST /v1/transactions/batch failed: the connection broke: "),
        "{error}"
    );
    assert_eq!(error.attempts, 1);
    assert!(error.outcome_unknown());

    let ledger = sandbox.ledger().await;
    assert_eq!(ledger.len(), 2, "the batch was created exactly once");
    let found = client
        .transactions_by_reference("r2")
        .await
        .expect("lookup");
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn post_timeout_is_not_resent() {
    let sandbox = TestSandbox::start().await;
    sandbox
        .add_fault(Fault::delay("/v1/transactions", 500, 5))
        .await;
    let client = client_with(&sandbox, |c| c.request_timeout = Duration::from_millis(100));

    let error = client
        .create_transaction(&transfer("r1", 5_000))
        .await
        .expect_err("too slow");
    assert_eq!(error.kind, ApiErrorKind::Timeout);
    assert_eq!(error.attempts, 1);
    assert!(error.outcome_unknown());
    assert_eq!(remaining_uses(&sandbox).await, 4, "one request was sent");
}

#[tokio::test]
async fn unreachable_provider_names_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let mut config = ClientConfig::new(format!("http://{addr}"), ApiToken::new("t"));
    config.retry_base_delay = Duration::ZERO;
    config.max_retries = 2;

    let error = Client::new(config)
        .expect("client builds")
        .balance()
        .await
        .expect_err("nothing listens");
    assert_eq!(error.attempts, 3);
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "GET /v1/balance failed to connect to `http://{addr}`: "
        )),
        "{text}"
    );
    assert!(text.to_lowercase().contains("refused"), "{text}");
}

/// Sends 16 balance calls at once through a client limited to `limit` and returns how long all
/// of them took.
async fn sixteen_calls(sandbox: &TestSandbox, limit: usize) -> Duration {
    let client = client_with(sandbox, |c| c.max_concurrency = limit);
    let started = Instant::now();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.balance().await })
        })
        .collect();
    for task in tasks {
        let result = task.await.expect("task");
        assert!(result.is_ok(), "{:?}", result.err());
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_limit_caps_requests() {
    let latency = Duration::from_millis(200);
    let sandbox = TestSandbox::builder().latency(latency).start().await;

    let limited = sixteen_calls(&sandbox, 4).await;
    assert!(limited >= latency * 4, "16 calls, 4 at a time: {limited:?}");
    let unlimited = sixteen_calls(&sandbox, 16).await;
    assert!(unlimited < latency * 4, "16 calls at once: {unlimited:?}");
}

#[tokio::test]
async fn token_absent_from_errors_and_debug() {
    let secret = "tok-SECRET-7f3a9c";
    let sandbox = TestSandbox::builder().token(secret).start().await;
    sandbox
        .add_fault(Fault::status("/v1/balance", 500, 1))
        .await;
    let client = client_with(&sandbox, |c| c.max_retries = 0);

    let server_error = client.balance().await.expect_err("500");
    let wrong_token = client_with(&sandbox, |c| c.token = ApiToken::new("tok-WRONG-0000"))
        .balance()
        .await
        .expect_err("401");
    assert_status(&wrong_token, 401, 1);

    let texts = [
        format!("{client:?}"),
        format!("{:?}", client.config()),
        format!("{server_error}"),
        format!("{server_error:?}"),
        format!("{wrong_token}"),
        format!("{wrong_token:?}"),
    ];
    for text in &texts {
        assert!(!text.contains(secret), "token leaked: {text}");
        assert!(!text.contains("tok-WRONG"), "token leaked: {text}");
    }
    assert!(texts[0].contains("***"), "{}", texts[0]);
}

#[tokio::test]
async fn base_url_with_trailing_slash_works() {
    let sandbox = TestSandbox::start().await;
    let balance = client_with(&sandbox, |c| {
        c.base_url = format!("{}/", sandbox.base_url())
    })
    .balance()
    .await;
    assert!(balance.is_ok(), "{:?}", balance.err());
}

#[test]
fn invalid_base_url_is_rejected() {
    for url in ["not a url", "ftp://127.0.0.1/", ""] {
        let error =
            Client::new(ClientConfig::new(url, ApiToken::new("t"))).expect_err("invalid base URL");
        assert!(
            matches!(error.kind, ApiErrorKind::InvalidConfig(_)),
            "{url}: {error}"
        );
        assert!(error.to_string().contains(&format!("`{url}`")), "{error}");
    }
}
