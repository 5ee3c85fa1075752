//! `payroll apply`: pays a manifest or a saved plan, exactly once.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use miette::miette;

use crate::apply::{ApplyError, ApplyOptions, ApplyReport, DEFAULT_CHUNK_SIZE};
use crate::cli::plan::{Prepared, prepare};
use crate::cli::provider;
use crate::cli::{GlobalArgs, exit};
use crate::plan::{Plan, PlanFile, render};

/// Pay a manifest, or a plan saved by `payroll plan --out`.
///
/// Example: `payroll apply --sandbox --auto-approve examples/monthly-salaries.yaml`
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// A manifest, or a plan file saved by `payroll plan --out`.
    pub target: PathBuf,

    /// Period to pay, such as `2026-12`; overrides the manifest's `period`. Not allowed with a
    /// plan file, which fixes its period.
    #[arg(long)]
    pub period: Option<String>,

    /// Pay without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,

    /// Transactions per batch request; default the manifest's `chunk_size`, else 100.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub chunk_size: Option<u32>,

    /// Return once every payment is sent, without waiting for them to settle.
    #[arg(long)]
    pub no_wait: bool,

    /// How long to wait for payments to settle, such as `5m` or `90s`.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub wait_timeout: std::time::Duration,

    /// Pause between two batch requests, such as `500ms`, for providers that rate-limit.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub batch_pause: std::time::Duration,

    /// Pay failed payments again, each under a new reference derived from its first one.
    #[arg(long)]
    pub retry_failed: bool,

    /// Refuse a plan file whose digest is not this one (the digest a reviewer approved).
    #[arg(long)]
    pub expect_digest: Option<String>,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let signed: jiff::SignedDuration = text
        .parse()
        .map_err(|e| format!("`{text}` is not a duration such as `90s`, `5m` or `1h`: {e}"))?;
    std::time::Duration::try_from(signed).map_err(|_| format!("`{text}` is negative"))
}

pub async fn run(args: ApplyArgs, global: &GlobalArgs) -> miette::Result<u8> {
    let from_file = PlanFile::looks_like_plan(&args.target);
    if !from_file && args.expect_digest.is_some() {
        return Err(miette!(
            help = "save a plan with `payroll plan --out FILE` and apply that file",
            "`--expect-digest` needs a plan file, and `{}` is a manifest",
            args.target.display()
        ));
    }
    let (prepared, plan_digest) = if from_file {
        let (prepared, digest) = crate::cli::saved_plan::prepare(&args, global).await?;
        (prepared, Some(digest))
    } else {
        let prepared = prepare(
            &args.target,
            args.period.as_deref(),
            args.retry_failed,
            global,
        )
        .await?;
        (prepared, None)
    };
    let Prepared {
        job,
        plan,
        store,
        provider,
    } = prepared;

    if plan.is_blocked() {
        print_stdout(&render::text_styled(
            &plan,
            plan_digest.as_deref(),
            global.stdout_color(),
        ));
        return Err(miette!(
            help = "fix what the plan lists as blocked, then run apply again; nothing was paid",
            "the plan for `{}` `{}` is blocked",
            plan.job,
            plan.period
        ));
    }
    if !plan.has_work() {
        crate::apply::sync(&plan, &store, &provider.client)
            .await
            .map_err(apply_report)?;
        drop(store);
        provider.close().await;
        print_stdout(&format!("{}\n", render::verdict(&plan)));
        return Ok(if plan.summary.failed > 0 {
            exit::FAILED_PAYMENTS
        } else {
            exit::OK
        });
    }

    if !args.auto_approve {
        print_stdout(&render::text_styled(
            &plan,
            plan_digest.as_deref(),
            global.stdout_color(),
        ));
        confirm(&plan)?;
    } else if !global.quiet {
        // Without a prompt, the plan still goes to stderr so that a CI log shows what was paid.
        eprint!(
            "{}",
            render::text_styled(&plan, plan_digest.as_deref(), global.stderr_color())
        );
    }

    let chunk_size = args
        .chunk_size
        .map(|n| n as usize)
        .or(job.chunk_size)
        .unwrap_or(DEFAULT_CHUNK_SIZE);
    let options = ApplyOptions {
        chunk_size,
        batch_pause: args.batch_pause,
        wait: !args.no_wait,
        wait_timeout: args.wait_timeout,
        progress: !global.quiet && std::io::stderr().is_terminal(),
        plan_digest,
        ..ApplyOptions::default()
    };
    let report = match crate::apply::apply(&plan, &store, &provider.client, &options).await {
        Ok(report) => report,
        Err(error) => {
            // Payments left `submitting` or `unknown` make this exit 4, not 1: the user's next
            // step is to run again, which reconciles them by reference.
            let unsettled = crate::state::Store::payments(&store, &plan.job, &plan.period)
                .map(|records| {
                    records
                        .iter()
                        .filter(|r| r.status.outcome_unknown())
                        .count()
                })
                .unwrap_or(0);
            if unsettled == 0 {
                return Err(apply_report(error));
            }
            eprintln!("{:?}", apply_report(error));
            eprintln!(
                "{unsettled} payment(s) have an unknown outcome: run the same command again to \
                 reconcile them; nothing will be paid twice"
            );
            return Ok(exit::UNKNOWN_OUTCOME);
        }
    };
    drop(store);
    provider.close().await;
    print_stdout(&summary(&plan, &report, options.wait));
    Ok(report.exit_code(options.wait))
}

fn confirm(plan: &Plan) -> miette::Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(miette!(
            help = "review the plan, then pass `--auto-approve` to pay without a prompt",
            "no terminal to confirm the payment; nothing was paid"
        ));
    }
    eprint!(
        "Pay {} payment(s), {} in all? Only `yes` is accepted: ",
        plan.summary.to_pay, plan.summary.total
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| miette!("could not read the answer: {e}"))?;
    if answer.trim() != "yes" {
        return Err(miette!("apply cancelled; nothing was paid"));
    }
    Ok(())
}

fn apply_report(error: ApplyError) -> miette::Report {
    match error {
        ApplyError::State(error) => provider::state_report(error),
        ApplyError::Api(error) => miette!(
            help = "run the same command again: it looks every unsettled reference up before \
                    sending anything, so nothing is paid twice",
            "{error}"
        ),
        other => miette!(
            help = "fix the cause, then run the same command again",
            "{other}"
        ),
    }
}

fn summary(plan: &Plan, report: &ApplyReport, waited: bool) -> String {
    let mut out = String::new();
    let sends = plan.items.iter().any(|item| item.action.sends());
    if report.sent > 0 || sends {
        out.push_str(&format!(
            "Sent {} payment(s) for `{}` `{}`.\n",
            report.sent, plan.job, plan.period
        ));
    } else {
        out.push_str("Nothing new to pay: waited for the payments in progress.\n");
    }
    if report.found_existing > 0 {
        out.push_str(&format!(
            "{} payment(s) already existed at the provider: recorded, not sent again.\n",
            report.found_existing
        ));
    }
    out.push_str(&format!(
        "completed {}, failed {}, pending {}, unknown {}",
        report.completed, report.failed, report.pending, report.unknown
    ));
    if report.not_created > 0 {
        out.push_str(&format!(", not created {}", report.not_created));
    }
    out.push_str(&format!(
        "; paid {} + fees {}\n",
        report.paid_amount, report.paid_fees
    ));
    for (reference, id, reason) in &report.failures {
        out.push_str(&format!("  failed: `{id}` (`{reference}`): {reason}\n"));
    }
    if report.failed > 0 {
        out.push_str("Failed payments moved no money. Fix the cause, then run apply with `--retry-failed` to pay them under new references.\n");
    }
    if report.unknown > 0 {
        out.push_str("Some payments have an unknown outcome: run the same command again to reconcile them; nothing will be paid twice.\n");
    }
    if waited && report.pending > 0 {
        out.push_str("Some payments are still pending: run `payroll status --refresh` or apply again later.\n");
    }
    if let Some(stopped) = &report.stopped {
        out.push_str(&format!("Stopped: {stopped}\n"));
    }
    out
}

fn print_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}
