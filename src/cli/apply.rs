//! `payroll apply`: pays a manifest or a saved plan, exactly once.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use miette::miette;

use crate::apply::{ApplyError, ApplyOptions, ApplyReport, DEFAULT_CHUNK_SIZE};
use crate::cli::plan::{Prepared, plan_report, prepare};
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
        let (prepared, digest) = prepare_saved(&args, global).await?;
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

/// Reads a saved plan and checks that it still holds: not altered, not applied before, and the
/// manifest, the state serial and the balance as they were.
async fn prepare_saved(
    args: &ApplyArgs,
    global: &GlobalArgs,
) -> miette::Result<(Prepared, String)> {
    let stale_help = "make a new plan with `payroll plan --out FILE`, review it, and apply that";
    if args.period.is_some() {
        return Err(miette!(
            help = "a plan file fixes its period; leave `--period` out",
            "`--period` cannot be used with a plan file"
        ));
    }
    let file = PlanFile::read(&args.target).map_err(|e| miette!(help = stale_help, "{e}"))?;
    if let Some(expected) = &args.expect_digest
        && expected.trim() != file.digest
    {
        return Err(miette!(
            help = "apply the plan that was reviewed; nothing was paid",
            "plan file `{}` has digest `{}`, not the approved `{}`",
            args.target.display(),
            file.digest,
            expected.trim()
        ));
    }
    let manifest_path = PathBuf::from(&file.manifest_path);
    if !manifest_path.exists() {
        return Err(miette!(
            help = "a plan file names its manifest relative to the folder where `payroll plan` \
                    ran: run apply from that folder",
            "manifest `{}` named by plan file `{}` was not found",
            file.manifest_path,
            args.target.display()
        ));
    }
    let loaded = crate::manifest::load(&manifest_path).map_err(miette::Report::new)?;
    if loaded.digest != file.plan.manifest_digest {
        return Err(miette!(
            help = stale_help,
            "plan file `{}` is stale: manifest `{}` changed since the plan was made",
            args.target.display(),
            file.manifest_path
        ));
    }
    let job = loaded
        .render(Some(&file.plan.period))
        .map_err(miette::Report::new)?;
    file.check_against(&job).map_err(|reason| {
        miette!(
            help = "apply only plan files made by `payroll plan --out` from this manifest; \
                    nothing was paid",
            "plan file `{}` does not match its manifest: {reason}",
            args.target.display()
        )
    })?;
    let store = provider::open_state(global)?;
    let serial = crate::state::Store::serial(&store, &job.name).map_err(provider::state_report)?;
    if serial != file.plan.state_serial {
        return Err(miette!(
            help = stale_help,
            "plan file `{}` is stale: state of job `{}` changed since the plan was made (serial {} then, {} now)",
            args.target.display(),
            job.name,
            file.plan.state_serial,
            serial
        ));
    }
    let provider = provider::connect(global).await?;
    let balance = provider
        .client
        .balance()
        .await
        .map_err(|e| plan_report(e.into()))?;
    if balance.balance < file.plan.summary.total {
        return Err(miette!(
            help = "top up the business account, then make a new plan",
            "plan file `{}` is stale: the balance {} no longer covers its total {}",
            args.target.display(),
            balance.balance,
            file.plan.summary.total
        ));
    }
    for item in file.plan.items.iter().filter(|item| item.action.sends()) {
        let found = crate::plan::build::lookup(&provider.client, &item.reference)
            .await
            .map_err(|e| plan_report(e.into()))?;
        if found.is_some() {
            return Err(miette!(
                help = stale_help,
                "plan file `{}` is stale: reference `{}` already exists at the provider, so this \
                 plan was applied before",
                args.target.display(),
                item.reference
            ));
        }
    }
    // KYC can change between review and merge, and a hand-edited plan could turn a blocked
    // item into a payment: every number about to be paid is checked again.
    let numbers: std::collections::BTreeSet<&str> = file
        .plan
        .items
        .iter()
        .filter(|item| item.action.sends())
        .map(|item| item.msisdn.as_str())
        .collect();
    for number in numbers {
        let parsed = crate::msisdn::Msisdn::parse(number).map_err(|e| {
            miette!(
                help = stale_help,
                "plan file `{}`: {e}",
                args.target.display()
            )
        })?;
        let status = provider
            .client
            .check_customer(&parsed, job.sub_company_id.as_deref())
            .await
            .map_err(|e| plan_report(e.into()))?;
        let kyc = match status {
            crate::djamo::CustomerStatus::Found(check) if check.is_complete() => continue,
            crate::djamo::CustomerStatus::Found(check) => check.kyc_status,
            crate::djamo::CustomerStatus::NotFound => "not_found".to_owned(),
        };
        return Err(miette!(
            help = stale_help,
            "plan file `{}` is stale: the KYC status of `{number}` is now `{kyc}`",
            args.target.display()
        ));
    }
    // A retry is only allowed where the reference it replaces failed.
    for (item, payment) in file.plan.items.iter().zip(&job.payments) {
        if !item.action.sends() || item.reference == payment.reference {
            continue;
        }
        let Some(previous) = crate::plan::build::previous_reference(&item.reference) else {
            continue;
        };
        let seen = crate::plan::build::lookup(&provider.client, &previous)
            .await
            .map_err(|e| plan_report(e.into()))?;
        let failed = seen
            .as_ref()
            .is_some_and(|seen| seen.status == crate::state::PaymentStatus::Failed);
        if !failed || item.retry_of.as_deref() != Some(previous.as_str()) {
            return Err(miette!(
                help = stale_help,
                "plan file `{}` retries `{previous}` as `{}`, but `{previous}` did not fail",
                args.target.display(),
                item.reference
            ));
        }
    }
    let claimed =
        crate::state::Store::claim_plan(&store, &file.digest).map_err(provider::state_report)?;
    if !claimed {
        return Err(miette!(
            help = "run `payroll apply MANIFEST` to finish what it started",
            "plan file `{}` was already applied",
            args.target.display()
        ));
    }
    let digest = file.digest.clone();
    Ok((
        Prepared {
            job,
            plan: file.plan,
            store,
            provider,
        },
        digest,
    ))
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
