//! The command layer: clap arguments, resolved settings, output and exit codes.

pub mod apply;
pub mod color;
pub mod completions;
pub mod init;
pub mod plan;
pub mod provider;
pub mod run;
pub mod sandbox;
pub mod saved_plan;
pub mod schema;
pub mod show;
pub mod status;
pub mod validate;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::cli::color::{ColorChoice, Stream};

/// Text shown after the options of `payroll --help` and in the man page.
const AFTER_HELP: &str = "Environment:
  DJAMO_API_TOKEN   API token, read when `--api-token-file` is not given; never a flag
  DJAMO_API_URL     base URL of the Djamo API, as `--api-url`
  DJAMO_COMPANY_ID  company id, as `--company-id`
  PAYROLL_STATE     state folder, as `--state`
  RUST_LOG          log filter on stderr, such as `payroll=debug`; overrides `-v`
  NO_COLOR          any non-empty value turns colours off under `--color auto`

Exit codes:
  0  success; with `plan --detailed-exitcode`, nothing to pay
  1  error, invalid manifest or blocked plan
  2  `plan --detailed-exitcode` found something to pay
  3  `apply` finished with failed payments
  4  `apply` stopped with payments whose outcome is still unknown: run it again

Results go to stdout; logs, progress and errors go to stderr.";

/// Payroll-as-code for Djamo Business transfers: validate, plan and pay YAML manifests, exactly
/// once.
///
/// Example: `payroll init && payroll plan --sandbox salaries.yaml`
#[derive(Debug, Parser)]
#[command(
    name = "payroll",
    version,
    propagate_version = true,
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Folder of the applied state (sled).
    #[arg(
        long = "state",
        env = "PAYROLL_STATE",
        default_value = ".payroll",
        hide_env_values = true,
        global = true
    )]
    pub state_dir: PathBuf,

    /// Use the embedded sandbox, its ledger kept under the state folder.
    #[arg(long, global = true)]
    pub sandbox: bool,

    /// Base URL of the Djamo API.
    #[arg(long, env = "DJAMO_API_URL", hide_env_values = true, global = true)]
    pub api_url: Option<String>,

    /// File whose first line is the API token; `DJAMO_API_TOKEN` is read when this is not set.
    #[arg(long, global = true)]
    pub api_token_file: Option<PathBuf>,

    /// Company id, sent as the `X-Company-Id` header.
    #[arg(long, env = "DJAMO_COMPANY_ID", hide_env_values = true, global = true)]
    pub company_id: Option<String>,

    /// More log output on stderr: `-v` debug, `-vv` trace. `RUST_LOG` overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Print only results and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Colour the text plan and error reports: `auto` colours a terminal unless `NO_COLOR` is
    /// set.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
}

impl GlobalArgs {
    /// True when results written to stdout should carry colours.
    pub fn stdout_color(&self) -> bool {
        self.color.enabled(Stream::Stdout)
    }

    /// True when logs and error reports written to stderr should carry colours.
    pub fn stderr_color(&self) -> bool {
        self.color.enabled(Stream::Stderr)
    }
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
    Show(show::ShowArgs),
    Init(init::InitArgs),
    Completions(completions::CompletionsArgs),
    Man(completions::ManArgs),
}

pub use crate::exit;

/// Parses the command line, runs the command and maps the result to an exit code.
pub fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match parse(&args) {
        Ok(cli) => cli,
        Err(code) => return ExitCode::from(code),
    };
    init_tracing(&cli.global, &cli.command);
    init_reports(&cli.global);

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

/// Parses `args`, printing help, version or a usage error.
///
/// clap exits 2 on a usage error, but `plan --detailed-exitcode` uses 2 for "something to pay".
/// A mistyped flag in a CI script must not read as that, so usage errors exit 1 here.
fn parse(args: &[OsString]) -> Result<Cli, u8> {
    let mut command = Cli::command();
    if let Some(choice) = ColorChoice::scan(args) {
        command = command.color(choice.into());
    }
    let parsed = command
        .try_get_matches_from(args)
        .and_then(|matches| Cli::from_arg_matches(&matches));
    parsed.map_err(|error| {
        let _ = error.print();
        if error.use_stderr() {
            exit::ERROR
        } else {
            exit::OK
        }
    })
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
        Command::Show(args) => show::run(args, &global),
        Command::Init(args) => init::run(args, &global),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => completions::run_man(args),
    }
}

/// Makes miette's error reports follow `--color` and `NO_COLOR`.
fn init_reports(global: &GlobalArgs) {
    let color = global.stderr_color();
    let force_graphical = global.color == ColorChoice::Always;
    // Wrapped lines break `grep` in CI logs and scripts, so only a terminal gets them.
    let wrap = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = miette::set_hook(Box::new(move |_| {
        let mut options = miette::MietteHandlerOpts::new()
            .color(color)
            .wrap_lines(wrap);
        if force_graphical {
            options = options.force_graphical(true);
        }
        Box::new(options.build())
    }));
}

/// Long-running commands log their starts, stops and runs by default; the others only warnings.
fn init_tracing(global: &GlobalArgs, command: &Command) {
    let quiet_default = match command {
        Command::Sandbox(_) => "warn,payroll=info",
        Command::Run(_) => "warn,payroll=info,payroll::sandbox=warn",
        _ => "warn",
    };
    let default = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => quiet_default,
        (false, 1) => "payroll=debug,info",
        (false, _) => "payroll=trace,debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(global.stderr_color())
        .try_init();
}
