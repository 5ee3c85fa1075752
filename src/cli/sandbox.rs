//! `payroll sandbox`: serves the simulator over HTTP until stopped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use miette::{IntoDiagnostic, WrapErr};

use crate::cli::{GlobalArgs, exit};
use crate::djamo::ApiToken;
use crate::money::Amount;
use crate::sandbox::{self, DEFAULT_BALANCE, DEV_TOKEN, SandboxConfig};

/// Serve the Djamo sandbox over HTTP until stopped (Ctrl-C or SIGTERM).
///
/// Example: `payroll sandbox --balance 5000000 --settle-ms 500`
///
/// The URL it serves on is printed on stderr. With `--company-id` (or `DJAMO_COMPANY_ID`) every
/// `/v1` request must also carry that `X-Company-Id`. Request log lines appear with `-v`.
#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = sandbox::DEFAULT_LISTEN)]
    pub listen: SocketAddr,

    /// Bearer token that every request must carry.
    #[arg(
        long,
        value_name = "T",
        env = "DJAMO_SANDBOX_TOKEN",
        default_value = DEV_TOKEN,
        hide_env_values = true,
        hide_default_value = false
    )]
    pub token: String,

    /// Folder of the ledger [default: <state>/sandbox].
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// Sets the business balance in XOF at start [default for a new ledger: 100000000].
    #[arg(long, value_name = "N")]
    pub balance: Option<u64>,

    /// Delay added to every response, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub latency_ms: u64,

    /// How long a transaction stays pending, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 2_000)]
    pub settle_ms: u64,
}

pub async fn run(args: SandboxArgs, global: &GlobalArgs) -> miette::Result<u8> {
    let data_dir = args
        .data
        .clone()
        .unwrap_or_else(|| global.state_dir.join(sandbox::STATE_SUBDIR));
    let token = ApiToken::new(args.token.trim());
    if token.expose().is_empty() {
        miette::bail!("the sandbox token is empty; pass `--token` or set `DJAMO_SANDBOX_TOKEN`");
    }
    let config = SandboxConfig {
        listen: args.listen,
        data_dir: data_dir.clone(),
        token: token.clone(),
        company_id: global.company_id.clone(),
        initial_balance: args.balance.map(Amount).unwrap_or(DEFAULT_BALANCE),
        latency: Duration::from_millis(args.latency_ms),
        settle_after: Duration::from_millis(args.settle_ms),
    };
    let handle = sandbox::start(config)
        .await
        .into_diagnostic()
        .wrap_err("could not start the sandbox")?;

    if let Some(balance) = args.balance {
        set_balance(&handle.base_url(), &token, balance).await?;
    }

    let signals = StopSignals::install()?;
    let shown_token = if token.expose() == DEV_TOKEN {
        format!("the dev token `{DEV_TOKEN}`")
    } else {
        "the one from `--token`".to_owned()
    };
    eprintln!(
        "sandbox serving on {} (ledger `{}`, token: {shown_token})",
        handle.base_url(),
        data_dir.display()
    );

    signals.wait().await;
    eprintln!("sandbox stopping");
    handle.stop().await;
    Ok(exit::OK)
}

/// Sets the balance through the admin endpoint, so that `--balance` also applies to a ledger
/// that already exists.
async fn set_balance(base_url: &str, token: &ApiToken, amount: u64) -> miette::Result<()> {
    let response = reqwest::Client::new()
        .post(format!("{base_url}/_sandbox/balance"))
        .bearer_auth(token.expose())
        .json(&sandbox::admin::SetBalance {
            amount: Amount(amount),
        })
        .send()
        .await
        .into_diagnostic()
        .wrap_err("could not set the sandbox balance")?;
    if !response.status().is_success() {
        miette::bail!(
            "could not set the sandbox balance: HTTP {}",
            response.status()
        );
    }
    Ok(())
}

/// Ctrl-C and SIGTERM, listened for from the moment this is made, so that a signal sent right
/// after the URL is printed stops the server cleanly.
#[cfg(unix)]
struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl StopSignals {
    fn install() -> miette::Result<StopSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        let listen = |kind: SignalKind, name: &str| {
            signal(kind)
                .into_diagnostic()
                .wrap_err(format!("could not listen for {name}"))
        };
        Ok(StopSignals {
            interrupt: listen(SignalKind::interrupt(), "Ctrl-C")?,
            terminate: listen(SignalKind::terminate(), "SIGTERM")?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

#[cfg(not(unix))]
struct StopSignals;

#[cfg(not(unix))]
impl StopSignals {
    fn install() -> miette::Result<StopSignals> {
        Ok(StopSignals)
    }

    async fn wait(self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}
