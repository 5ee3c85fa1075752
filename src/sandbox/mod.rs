//! An embedded simulator of the Djamo Transfer API (axum), persistent, with fault injection.
//!
//! It backs `--sandbox`, `payroll sandbox` and every integration test. Files follow the request:
//! [`server`] (router and middleware), [`validate`], [`api`] and [`admin`] (handlers), [`ledger`]
//! (sled), [`numbers`] (the special phone numbers) and [`faults`]. [`testing`] starts one per test.

pub mod admin;
pub mod api;
pub mod error;
pub mod faults;
pub mod ledger;
pub mod numbers;
pub mod server;
pub mod testing;
pub mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::djamo::ApiToken;
use crate::money::Amount;

pub use admin::CustomerSpec;
pub use faults::{Fault, FaultKind};
pub use ledger::LedgerEntry;

/// The default address of `payroll sandbox`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The default token of `payroll sandbox`. It is public and guards play money only.
pub const DEV_TOKEN: &str = "sandbox-dev-token";
/// The token of the sandbox that `--sandbox` starts in process.
pub const EMBEDDED_TOKEN: &str = "payroll-embedded-sandbox";
/// The balance of a new ledger: 100 000 000 XOF.
pub const DEFAULT_BALANCE: Amount = Amount(100_000_000);
/// How long a transaction stays `pending` in `payroll sandbox` and `--sandbox`.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(2);
/// The folder of the embedded sandbox's ledger, under the state folder.
pub const STATE_SUBDIR: &str = "sandbox";

/// How to start a sandbox.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Folder of the ledger (sled); created when missing.
    pub data_dir: PathBuf,
    /// The bearer token every request must carry.
    pub token: ApiToken,
    /// When set, every request must carry this `X-Company-Id`.
    pub company_id: Option<String>,
    /// Balance of a new ledger; an existing ledger keeps its own.
    pub initial_balance: Amount,
    /// Added to every response, to model a real network.
    pub latency: Duration,
    /// How long a transaction stays `pending`.
    pub settle_after: Duration,
}

impl SandboxConfig {
    /// Builds the defaults of `payroll sandbox`, with the ledger in `data_dir`, on 127.0.0.1:0.
    pub fn new(data_dir: impl Into<PathBuf>) -> SandboxConfig {
        SandboxConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.into(),
            token: ApiToken::new(DEV_TOKEN),
            company_id: None,
            initial_balance: DEFAULT_BALANCE,
            latency: Duration::ZERO,
            settle_after: DEFAULT_SETTLE,
        }
    }
}

/// A running sandbox. Dropping it stops the server; [`SandboxHandle::stop`] also waits until
/// the ledger is closed, so that it can be opened again.
pub struct SandboxHandle {
    pub addr: SocketAddr,
    data_dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SandboxHandle {
    /// Returns the base URL to give a client, such as `http://127.0.0.1:43121`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Returns the folder of the ledger.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stops the server, waits for requests in flight, flushes and closes the ledger.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    /// Waits until the server stops (it never does on its own unless it fails).
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Errors starting the sandbox.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("sandbox could not listen on `{addr}`: {cause}")]
    Listen { addr: SocketAddr, cause: String },
    #[error("sandbox ledger `{path}` could not be opened: {cause}")]
    Ledger { path: String, cause: String },
}

/// Starts a sandbox on the current tokio runtime and returns once it accepts connections.
pub async fn start(config: SandboxConfig) -> Result<SandboxHandle, SandboxError> {
    let ledger = ledger::Ledger::open(&config.data_dir, config.initial_balance).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| SandboxError::Listen {
            addr: config.listen,
            cause: e.to_string(),
        })?;
    let addr = listener.local_addr().map_err(|e| SandboxError::Listen {
        addr: config.listen,
        cause: e.to_string(),
    })?;
    let state = Arc::new(server::Shared {
        ledger,
        faults: faults::Faults::default(),
        token: config.token,
        company_id: config.company_id,
        latency: config.latency,
        settle_after: config.settle_after,
    });
    let (shutdown, shutdown_rx) = oneshot::channel();
    let task = tokio::spawn(server::serve(listener, state, shutdown_rx));
    tracing::debug!(target: "payroll::sandbox", %addr, data = %config.data_dir.display(), "sandbox started");
    Ok(SandboxHandle {
        addr,
        data_dir: config.data_dir,
        shutdown: Some(shutdown),
        task: Some(task),
    })
}

/// Starts the sandbox behind `--sandbox`: 127.0.0.1 on a free port, the ledger under
/// `<state_dir>/sandbox`, the token [`EMBEDDED_TOKEN`], [`DEFAULT_BALANCE`] for a new ledger and
/// transactions that settle after [`DEFAULT_SETTLE`]. Returns the token to give the client.
pub async fn start_embedded(state_dir: &Path) -> Result<(SandboxHandle, ApiToken), SandboxError> {
    let token = ApiToken::new(EMBEDDED_TOKEN);
    let mut config = SandboxConfig::new(state_dir.join(STATE_SUBDIR));
    config.token = token.clone();
    let handle = start(config).await?;
    Ok((handle, token))
}
