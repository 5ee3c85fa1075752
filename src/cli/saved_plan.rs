//! Checks that a plan saved by `payroll plan --out` may still be paid, before `apply` pays it.

use std::path::PathBuf;

use miette::miette;

use crate::cli::GlobalArgs;
use crate::cli::apply::ApplyArgs;
use crate::cli::plan::{Prepared, plan_report};
use crate::cli::provider;
use crate::plan::PlanFile;

const STALE_HELP: &str =
    "make a new plan with `payroll plan --out FILE`, review it, and apply that";

/// Reads a saved plan and checks that it still holds: not altered, not applied before, and the
/// manifest, the state serial and the balance as they were.
pub async fn prepare(args: &ApplyArgs, global: &GlobalArgs) -> miette::Result<(Prepared, String)> {
    let stale_help = STALE_HELP;
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
    check_provider(&file, &job, &provider.client, &args.target).await?;

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

/// Checks a saved plan against the provider: the balance still covers it, none of its references
/// exists yet, every number it pays passes KYC, and each retry replaces a failed reference.
async fn check_provider(
    file: &PlanFile,
    job: &crate::manifest::Job,
    client: &crate::djamo::Client,
    target: &std::path::Path,
) -> miette::Result<()> {
    let stale_help = STALE_HELP;
    let balance = client.balance().await.map_err(|e| plan_report(e.into()))?;
    if balance.balance < file.plan.summary.total {
        return Err(miette!(
            help = "top up the business account, then make a new plan",
            "plan file `{}` is stale: the balance {} no longer covers its total {}",
            target.display(),
            balance.balance,
            file.plan.summary.total
        ));
    }
    for item in file.plan.items.iter().filter(|item| item.action.sends()) {
        let found = crate::plan::build::lookup(client, &item.reference)
            .await
            .map_err(|e| plan_report(e.into()))?;
        if found.is_some() {
            return Err(miette!(
                help = stale_help,
                "plan file `{}` is stale: reference `{}` already exists at the provider, so this \
                 plan was applied before",
                target.display(),
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
        let parsed = crate::msisdn::Msisdn::parse(number)
            .map_err(|e| miette!(help = stale_help, "plan file `{}`: {e}", target.display()))?;
        let status = client
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
            target.display()
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
        let seen = crate::plan::build::lookup(client, &previous)
            .await
            .map_err(|e| plan_report(e.into()))?;
        let failed = seen
            .as_ref()
            .is_some_and(|seen| seen.status == crate::state::PaymentStatus::Failed);
        if !failed || item.retry_of.as_deref() != Some(previous.as_str()) {
            return Err(miette!(
                help = stale_help,
                "plan file `{}` retries `{previous}` as `{}`, but `{previous}` did not fail",
                target.display(),
                item.reference
            ));
        }
    }
    Ok(())
}
