//! `payroll status`: what state records for one job and period.

use std::io::Write;
use std::path::PathBuf;

use miette::miette;
use serde::Serialize;

use crate::cli::provider;
use crate::cli::{GlobalArgs, exit};
use crate::state::{PaymentRecord, PaymentStatus, Store};

/// Show what state records for a manifest's job and period.
///
/// Example: `payroll status examples/monthly-salaries.yaml --refresh --sandbox`
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The manifest whose job to show.
    pub manifest: PathBuf,

    /// Period to show; overrides the manifest's `period`.
    #[arg(long)]
    pub period: Option<String>,

    /// Ask the provider about every unsettled payment first, and record its responses.
    #[arg(long)]
    pub refresh: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = StatusFormat::Text)]
    pub format: StatusFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFormat {
    Text,
    Json,
}

#[derive(Serialize)]
struct StatusDocument<'a> {
    job: &'a str,
    period: &'a str,
    counts: std::collections::BTreeMap<&'static str, u64>,
    payments: &'a [PaymentRecord],
}

pub async fn run(args: StatusArgs, global: &GlobalArgs) -> miette::Result<u8> {
    crate::cli::plan::check_period_flag(args.period.as_deref())?;
    let loaded = crate::manifest::load(&args.manifest).map_err(miette::Report::new)?;
    let job = loaded
        .render(args.period.as_deref())
        .map_err(miette::Report::new)?;
    if !global.state_dir.exists() {
        // Reading state must not create it: a mistyped `--state` would look like a fresh start.
        return Err(miette!(
            help = "check `--state` or `PAYROLL_STATE`; a folder is created by the first `plan` \
                    or `apply`",
            "state folder `{}` does not exist",
            global.state_dir.display()
        ));
    }
    let store = provider::open_state(global)?;

    if args.refresh {
        let provider = provider::connect(global).await?;
        refresh(&store, &provider.client, &job.name, &job.period).await?;
        provider.close().await;
    }

    let mut records = store
        .payments(&job.name, &job.period)
        .map_err(provider::state_report)?;
    let order: std::collections::HashMap<&str, usize> = job
        .payments
        .iter()
        .enumerate()
        .map(|(index, payment)| (payment.recipient_id.as_str(), index))
        .collect();
    records.sort_by_key(|r| {
        (
            order
                .get(r.recipient_id.as_str())
                .copied()
                .unwrap_or(usize::MAX),
            r.created_at.clone(),
        )
    });

    let mut counts = std::collections::BTreeMap::new();
    for record in &records {
        *counts.entry(record.status.as_str()).or_insert(0) += 1;
    }
    let body = match args.format {
        StatusFormat::Json => {
            let document = StatusDocument {
                job: &job.name,
                period: &job.period,
                counts,
                payments: &records,
            };
            let mut body = serde_json::to_string_pretty(&document).map_err(|e| miette!("{e}"))?;
            body.push('\n');
            body
        }
        StatusFormat::Text => text(&job.name, &job.period, &records, &counts),
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(body.as_bytes());
    let _ = stdout.flush();
    Ok(exit::OK)
}

fn text(
    job: &str,
    period: &str,
    records: &[PaymentRecord],
    counts: &std::collections::BTreeMap<&'static str, u64>,
) -> String {
    let mut out = format!(
        "Job `{job}`, period `{period}`: {} payment(s) recorded\n",
        records.len()
    );
    for (status, count) in counts {
        out.push_str(&format!("  {status:<11} {count}\n"));
    }
    if records.is_empty() {
        out.push_str("Nothing recorded yet: run `payroll plan` to see what would be paid.\n");
        return out;
    }
    out.push('\n');
    for record in records {
        out.push_str(&format!(
            "  {:<10} {:<12} {:<14} {:>11}  {}{}\n",
            record.status.as_str(),
            record.recipient_id,
            record.msisdn,
            record.amount.grouped(),
            record.reference,
            record
                .failure_reason
                .as_deref()
                .map(|reason| format!("  ({reason})"))
                .unwrap_or_default()
        ));
    }
    out
}

/// Looks every unsettled payment up at the provider and records its responses.
async fn refresh(
    store: &dyn Store,
    client: &crate::djamo::Client,
    job: &str,
    period: &str,
) -> miette::Result<()> {
    let records = store
        .payments(job, period)
        .map_err(provider::state_report)?;
    let mut updated = Vec::new();
    for mut record in records {
        if !matches!(
            record.status,
            PaymentStatus::Pending
                | PaymentStatus::Submitting
                | PaymentStatus::Unknown
                | PaymentStatus::NotCreated
        ) {
            continue;
        }
        let found = crate::plan::build::lookup(client, &record.reference)
            .await
            .map_err(|e| miette!(help = "check the provider and run the command again", "{e}"))?;
        let Some(found) = found else {
            continue;
        };
        let tx = match &found.transaction_id {
            Some(id) => client.transaction(id).await.map_err(|e| miette!("{e}"))?,
            None => continue,
        };
        // A reference held for another amount or number stays as recorded: it is not ours.
        if !crate::apply::record::same_payment(&record, &tx) {
            continue;
        }
        crate::apply::record::observe(&mut record, &tx);
        updated.push(record);
    }
    store
        .put_payments(&updated)
        .map_err(provider::state_report)?;
    Ok(())
}
