//! The command layer: clap arguments, resolved settings, output and exit codes.

pub mod apply;
pub mod plan;
pub mod provider;
pub mod run;
pub mod sandbox;
pub mod schema;
pub mod status;
pub mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Payroll-as-code for Djamo Business transfers: validate, plan and pay YAML manifests, exactly
/// once.
#[derive(Debug, Parser)]
#[command(name = "payroll", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Folder of the applied state (sled).
    #[arg(
        long = "state",
        env = "PAYROLL_STATE",
        default_value = ".payroll",
        global = true
    )]
    pub state_dir: PathBuf,

    /// Use the embedded sandbox, its ledger kept under the state folder.
    #[arg(long, global = true, conflicts_with = "api_url")]
    pub sandbox: bool,

    /// Base URL of the Djamo API.
    #[arg(long, env = "DJAMO_API_URL", global = true)]
    pub api_url: Option<String>,

    /// File whose first line is the API token; `DJAMO_API_TOKEN` is read when this is not set.
    #[arg(long, global = true)]
    pub api_token_file: Option<PathBuf>,

    /// Company id, sent as the `X-Company-Id` header.
    #[arg(long, env = "DJAMO_COMPANY_ID", global = true)]
    pub company_id: Option<String>,

    /// More log output on stderr: `-v` debug, `-vv` trace. `RUST_LOG` overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Print only results and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Validate(validate::ValidateArgs),
    Schema(schema::SchemaArgs),
    Plan(plan::PlanArgs),
    Apply(apply::ApplyArgs),
    Status(status::StatusArgs),
    Sandbox(sandbox::SandboxArgs),
    Run(run::RunArgs),
}

/// Exit codes of the contract.
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const CHANGES: u8 = 2;
    pub const FAILED_PAYMENTS: u8 = 3;
    pub const UNKNOWN_OUTCOME: u8 = 4;
}

/// Parses the command line, runs the command and maps the result to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(&cli.global);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime: {error}");
            return ExitCode::from(exit::ERROR);
        }
    };
    let result = runtime.block_on(dispatch(cli));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(exit::ERROR)
        }
    }
}

async fn dispatch(cli: Cli) -> miette::Result<u8> {
    let global = cli.global;
    match cli.command {
        Command::Validate(args) => validate::run(args, &global).await,
        Command::Schema(args) => schema::run(args, &global).await,
        Command::Plan(args) => plan::run(args, &global).await,
        Command::Apply(args) => apply::run(args, &global).await,
        Command::Status(args) => status::run(args, &global).await,
        Command::Sandbox(args) => sandbox::run(args, &global).await,
        Command::Run(args) => run::run(args, &global).await,
    }
}

fn init_tracing(global: &GlobalArgs) {
    let default = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "payroll=debug,info",
        (false, _) => "payroll=trace,debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
