//! A sandbox per test: a fresh ledger in a temporary folder, port 0, a known token, fast
//! settlement and a generous balance.
//!
//! ```no_run
//! # async fn demo() {
//! use payroll::sandbox::testing::TestSandbox;
//! let sandbox = TestSandbox::start().await;
//! let client = payroll::djamo::Client::new(sandbox.client_config()).expect("client");
//! # }
//! ```
//!
//! The admin calls panic when the sandbox returns an error, because they are for tests.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::Method;

use crate::djamo::wire::{Balance, TransactionStatus};
use crate::djamo::{ApiToken, ClientConfig};
use crate::money::Amount;
use crate::sandbox::admin::{CustomerSpec, SetBalance};
use crate::sandbox::faults::Fault;
use crate::sandbox::ledger::LedgerEntry;
use crate::sandbox::numbers::Customer;
use crate::sandbox::server::COMPANY_HEADER;
use crate::sandbox::{SandboxConfig, SandboxHandle, start};

/// The token of a test sandbox.
pub const TEST_TOKEN: &str = "test-token";
/// The balance of a test sandbox: 1 000 000 000 XOF.
pub const TEST_BALANCE: Amount = Amount(1_000_000_000);
/// How long a test sandbox keeps transactions pending.
pub const TEST_SETTLE: Duration = Duration::from_millis(50);

/// A running sandbox for one test. Dropping it stops the server and deletes its temporary
/// ledger folder.
pub struct TestSandbox {
    handle: Option<SandboxHandle>,
    config: SandboxConfig,
    http: reqwest::Client,
    _dir: Option<TempDir>,
}

/// Options of a [`TestSandbox`].
#[derive(Clone, Debug)]
pub struct TestSandboxBuilder {
    settle_after: Duration,
    latency: Duration,
    balance: Amount,
    company_id: Option<String>,
    token: String,
    data_dir: Option<PathBuf>,
}

impl Default for TestSandboxBuilder {
    fn default() -> Self {
        TestSandboxBuilder {
            settle_after: TEST_SETTLE,
            latency: Duration::ZERO,
            balance: TEST_BALANCE,
            company_id: None,
            token: TEST_TOKEN.to_owned(),
            data_dir: None,
        }
    }
}

impl TestSandboxBuilder {
    pub fn settle_after(mut self, settle_after: Duration) -> Self {
        self.settle_after = settle_after;
        self
    }

    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Sets the balance of the new ledger.
    pub fn balance(mut self, balance: Amount) -> Self {
        self.balance = balance;
        self
    }

    /// Requires this `X-Company-Id` on `/v1`.
    pub fn company_id(mut self, company_id: impl Into<String>) -> Self {
        self.company_id = Some(company_id.into());
        self
    }

    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = token.into();
        self
    }

    /// Keeps the ledger in this folder, which the test owns, instead of a temporary one.
    pub fn data_dir(mut self, data_dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(data_dir.into());
        self
    }

    /// Starts the sandbox; panics when it cannot.
    pub async fn start(self) -> TestSandbox {
        let (dir, data_dir) = match self.data_dir {
            Some(path) => (None, path),
            None => {
                let dir = TempDir::new();
                let path = dir.0.clone();
                (Some(dir), path)
            }
        };
        let config = SandboxConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            token: ApiToken::new(self.token),
            company_id: self.company_id,
            initial_balance: self.balance,
            latency: self.latency,
            settle_after: self.settle_after,
        };
        let handle = match start(config.clone()).await {
            Ok(handle) => handle,
            Err(error) => panic!("test sandbox did not start: {error}"),
        };
        TestSandbox {
            handle: Some(handle),
            config,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }
}

impl TestSandbox {
    /// Starts a sandbox with the test defaults.
    pub async fn start() -> TestSandbox {
        TestSandboxBuilder::default().start().await
    }

    pub fn builder() -> TestSandboxBuilder {
        TestSandboxBuilder::default()
    }

    fn handle(&self) -> &SandboxHandle {
        match &self.handle {
            Some(handle) => handle,
            None => panic!("the test sandbox is stopped"),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.handle().base_url()
    }

    pub fn addr(&self) -> SocketAddr {
        self.handle().addr
    }

    pub fn token(&self) -> ApiToken {
        self.config.token.clone()
    }

    pub fn company_id(&self) -> Option<&str> {
        self.config.company_id.as_deref()
    }

    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// Builds a client configuration for this sandbox, with the company id and no retry backoff.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new(self.base_url(), self.token());
        config.company_id = self.config.company_id.clone();
        config.retry_base_delay = Duration::ZERO;
        config.request_timeout = Duration::from_secs(10);
        config
    }

    /// Starts a raw request to `path` with the token and company id set.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url()))
            .bearer_auth(self.config.token.expose());
        if let Some(company) = &self.config.company_id {
            request = request.header(COMPANY_HEADER, company);
        }
        request
    }

    /// `GET /v1/balance`.
    pub async fn balance(&self) -> Amount {
        let balance: Balance = self.call(self.request(Method::GET, "/v1/balance")).await;
        balance.balance
    }

    /// `POST /_sandbox/balance`.
    pub async fn set_balance(&self, amount: Amount) {
        let _: Balance = self
            .call(
                self.request(Method::POST, "/_sandbox/balance")
                    .json(&SetBalance { amount }),
            )
            .await;
    }

    /// `POST /_sandbox/customers`.
    pub async fn add_customer(&self, spec: CustomerSpec) -> Customer {
        self.call(
            self.request(Method::POST, "/_sandbox/customers")
                .json(&spec),
        )
        .await
    }

    /// `POST /_sandbox/faults`.
    pub async fn add_fault(&self, fault: Fault) {
        let _: Fault = self
            .call(self.request(Method::POST, "/_sandbox/faults").json(&fault))
            .await;
    }

    /// `DELETE /_sandbox/faults`.
    pub async fn clear_faults(&self) {
        let response = self
            .request(Method::DELETE, "/_sandbox/faults")
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => panic!("DELETE /_sandbox/faults returned {}", r.status()),
            Err(e) => panic!("DELETE /_sandbox/faults failed: {e}"),
        }
    }

    /// `GET /_sandbox/ledger`: every transaction, oldest first.
    pub async fn ledger(&self) -> Vec<LedgerEntry> {
        self.call(self.request(Method::GET, "/_sandbox/ledger"))
            .await
    }

    /// Waits until no transaction is pending; panics after ten seconds.
    pub async fn wait_settled(&self) -> Vec<LedgerEntry> {
        let deadline = Instant::now() + Duration::from_secs(10) + self.config.settle_after;
        loop {
            let ledger = self.ledger().await;
            if ledger
                .iter()
                .all(|e| e.status != TransactionStatus::Pending)
            {
                return ledger;
            }
            if Instant::now() > deadline {
                panic!("transactions still pending after the settle delay");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the server and starts it again on the same ledger, on the same port when it is
    /// still free.
    pub async fn restart(&mut self) {
        let previous = self.handle.take().map(|h| {
            let addr = h.addr;
            (h, addr)
        });
        let mut config = self.config.clone();
        if let Some((handle, addr)) = previous {
            handle.stop().await;
            config.listen = addr;
        }
        let handle = match start(config.clone()).await {
            Ok(handle) => handle,
            Err(_) => {
                config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
                match start(config).await {
                    Ok(handle) => handle,
                    Err(error) => panic!("test sandbox did not restart: {error}"),
                }
            }
        };
        self.handle = Some(handle);
    }

    /// Stops the server and waits until its ledger is closed.
    pub async fn stop(mut self) {
        if let Some(handle) = self.handle.take() {
            handle.stop().await;
        }
    }

    async fn call<T: serde::de::DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> T {
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => panic!("sandbox request failed: {error}"),
        };
        let status = response.status();
        let url = response.url().path().to_owned();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            panic!("{url} returned {status}: {text}");
        }
        match serde_json::from_str(&text) {
            Ok(value) => value,
            Err(error) => panic!("{url} returned an unexpected body ({error}): {text}"),
        }
    }
}

/// A temporary folder, deleted on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let path =
            std::env::temp_dir().join(format!("payroll-sandbox-{}", uuid::Uuid::new_v4().simple()));
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
