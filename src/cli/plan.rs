//! `payroll plan`: what applying a manifest would pay, checked against state and the provider.

use std::io::Write;
use std::path::{Path, PathBuf};

use miette::miette;

use crate::cli::provider::{self, Provider};
use crate::cli::{GlobalArgs, exit};
use crate::manifest::Job;
use crate::plan::{Plan, PlanFile, PlanOptions, render};
use crate::state::SledStore;

/// Show what `apply` would pay, without paying anything.
///
/// Example: `payroll plan --sandbox examples/monthly-salaries.yaml --out plan.json`
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The manifest to plan.
    pub manifest: PathBuf,

    /// Period to pay, such as `2026-12`; overrides the manifest's `period`.
    #[arg(long)]
    pub period: Option<String>,

    /// Save the plan to this file, for `payroll apply FILE` after review.
    #[arg(long)]
    pub out: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Exit 2 when there is something to pay, 0 when there is nothing, 1 on error or block.
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Pay failed payments again, each under a new reference derived from its first one.
    #[arg(long)]
    pub retry_failed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

/// Everything a plan was made from, kept open for `apply`.
pub struct Prepared {
    pub job: Job,
    pub plan: Plan,
    pub store: SledStore,
    pub provider: Provider,
}

/// Loads and renders the manifest, opens state, connects, and builds the plan.
pub async fn prepare(
    manifest: &Path,
    period: Option<&str>,
    retry_failed: bool,
    global: &GlobalArgs,
) -> miette::Result<Prepared> {
    check_period_flag(period)?;
    let loaded = crate::manifest::load(manifest).map_err(miette::Report::new)?;
    if !global.quiet {
        for warning in &loaded.warnings {
            eprintln!("{:?}", miette::Report::new(warning.clone()));
        }
    }
    let job = loaded.render(period).map_err(miette::Report::new)?;
    let store = provider::open_state(global)?;
    let provider = provider::connect(global).await?;
    let options = PlanOptions {
        retry_failed,
        progress: !global.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let plan = crate::plan::build(&job, &store, &provider.client, &options)
        .await
        .map_err(plan_report)?;
    Ok(Prepared {
        job,
        plan,
        store,
        provider,
    })
}

/// Rejects an invalid `--period` value as a flag error, before the manifest is read.
pub fn check_period_flag(period: Option<&str>) -> miette::Result<()> {
    match period.map(crate::manifest::check_period) {
        Some(Err(reason)) => Err(miette!(
            help = "write a period of letters, digits, `-`, `_` and `.`, such as `2026-12`",
            "`--period` `{}` {reason}",
            period.unwrap_or_default()
        )),
        _ => Ok(()),
    }
}

pub fn plan_report(error: crate::plan::build::PlanError) -> miette::Report {
    use crate::plan::build::PlanError;
    match error {
        PlanError::State(error) => provider::state_report(error),
        PlanError::Api(error) => {
            let help = match error.status() {
                Some(401) => {
                    "check the API token in `DJAMO_API_TOKEN` or the file given to \
                     `--api-token-file`; nothing was paid"
                }
                Some(403) => {
                    "check the company id in `--company-id` or `DJAMO_COMPANY_ID`, and that the \
                     token belongs to that company; nothing was paid"
                }
                _ => {
                    "check the provider URL, the token and the network, then run the command \
                     again; nothing was paid"
                }
            };
            miette!(help = help, "{error}")
        }
        PlanError::Task(cause) => miette!("{cause}"),
    }
}

pub async fn run(args: PlanArgs, global: &GlobalArgs) -> miette::Result<u8> {
    let prepared = prepare(
        &args.manifest,
        args.period.as_deref(),
        args.retry_failed,
        global,
    )
    .await?;
    let Prepared {
        plan,
        store,
        provider,
        ..
    } = prepared;
    drop(store);
    provider.close().await;

    let digest = match &args.out {
        Some(out) => {
            let file = PlanFile::new(
                plan.clone(),
                args.manifest.display().to_string(),
                crate::apply::record::now(),
            );
            file.write(out)
                .map_err(|e| miette!(help = "check the path given to `--out`", "{e}"))?;
            Some(file.digest)
        }
        None => None,
    };
    print(&plan, digest.as_deref(), args.format, global.stdout_color())?;
    if let (Some(out), Some(digest)) = (&args.out, &digest) {
        eprintln!("saved the plan to `{}` (digest {digest})", out.display());
    }

    Ok(if plan.is_blocked() {
        exit::ERROR
    } else if args.detailed_exitcode && plan.has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    })
}

/// Prints the plan on stdout in `format`; `color` colours the text format's action column.
pub fn print(plan: &Plan, digest: Option<&str>, format: Format, color: bool) -> miette::Result<()> {
    let body = match format {
        Format::Text => render::text_styled(plan, digest, color),
        Format::Markdown => render::markdown(plan, digest),
        Format::Json => {
            let value = render::json(plan, digest);
            let mut body = serde_json::to_string_pretty(&value).map_err(|e| miette!("{e}"))?;
            body.push('\n');
            body
        }
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(body.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| miette!("could not write the plan to stdout: {e}"))
}
