//! Checks a plan applies to the items it would send: KYC, limits and shared references.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tokio::task::JoinSet;

use crate::djamo::Client;
use crate::djamo::client::CustomerStatus;
use crate::manifest::{Job, OnKycFailure};
use crate::money::Amount;
use crate::plan::build::PlanError;
use crate::plan::{Action, PlanItem};

pub(super) fn progress_bar(shown: bool, stage: &str, length: usize) -> indicatif::ProgressBar {
    if !shown || length == 0 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(length as u64);
    let template = format!("{{spinner}} {stage:>9} [{{bar:30}}] {{pos}}/{{len}}");
    if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Blocks every item whose reference another item also has: a derived retry reference such as
/// `sal-2026-12-E1-r1` can equal the reference of a recipient whose id is `E1-r1`, and one
/// transaction must never count for two recipients.
pub(super) fn block_shared_references(items: &mut [PlanItem]) {
    let mut owners: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        owners
            .entry(item.reference.clone())
            .or_default()
            .push(index);
    }
    for indexes in owners.values().filter(|indexes| indexes.len() > 1) {
        let ids: Vec<String> = indexes
            .iter()
            .map(|&i| format!("`{}`", items[i].id))
            .collect();
        for &index in indexes {
            let item = &mut items[index];
            item.action = Action::Blocked;
            item.reason = format!(
                "reference `{}` belongs to recipients {} at once; give the recipients ids whose \
                 references cannot collide (a retry adds `-rN` to a reference)",
                item.reference,
                ids.join(" and ")
            );
        }
    }
}

/// Checks every MSISDN about to be paid once, and blocks or skips the items that fail.
pub(super) async fn check_kyc(
    client: &Client,
    job: &Job,
    items: &mut [PlanItem],
    warnings: &mut Vec<String>,
    progress: bool,
) -> Result<BTreeMap<String, String>, PlanError> {
    let to_check: BTreeSet<String> = items
        .iter()
        .filter(|item| item.action.sends())
        .map(|item| item.msisdn.clone())
        .collect();
    let bar = progress_bar(progress, "KYC", to_check.len());
    let mut tasks = JoinSet::new();
    for msisdn in to_check {
        let client = client.clone();
        let sub_company = job.sub_company_id.clone();
        tasks.spawn(async move {
            let parsed = crate::msisdn::Msisdn::parse(&msisdn);
            let status = match parsed {
                Ok(parsed) => client.check_customer(&parsed, sub_company.as_deref()).await,
                Err(_) => Ok(CustomerStatus::NotFound),
            };
            (msisdn, status)
        });
    }
    let mut results = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (msisdn, status) = joined.map_err(|e| PlanError::Task(e.to_string()))?;
        let status = match status? {
            CustomerStatus::Found(check) => check.kyc_status,
            CustomerStatus::NotFound => "not_found".to_owned(),
        };
        results.insert(msisdn, status);
        bar.inc(1);
    }
    bar.finish_and_clear();

    for item in items.iter_mut().filter(|item| item.action.sends()) {
        let status = results
            .get(&item.msisdn)
            .map(String::as_str)
            .unwrap_or("not_found");
        if status == "complete" {
            continue;
        }
        let reason = if status == "not_found" {
            format!(
                "`{}` is not a Djamo customer; correct the number or ask the recipient to open an account",
                item.msisdn
            )
        } else {
            format!(
                "KYC status of `{}` is `{status}`, not `complete`; the recipient must finish \
                 identification in the Djamo app",
                item.msisdn
            )
        };
        match job.on_kyc_failure {
            OnKycFailure::Block => {
                item.action = Action::Blocked;
                item.reason = reason;
            }
            OnKycFailure::Skip => {
                warnings.push(format!("skipped `{}`: {reason}", item.id));
                item.action = Action::Skip;
                item.reason = reason;
            }
        }
    }
    Ok(results)
}

pub(super) fn apply_limits(job: &Job, items: &mut [PlanItem], blockers: &mut Vec<String>) {
    if let Some(max) = job.limits.max_amount {
        for item in items.iter_mut().filter(|item| item.action.sends()) {
            if item.amount.0 > max {
                item.action = Action::Blocked;
                item.reason = format!(
                    "amount {} is over `limits.max_amount` {}; lower it or raise the limit",
                    item.amount,
                    Amount(max)
                );
            }
        }
    }
    if let Some(max) = job.limits.max_total {
        let total: Amount = job.payments.iter().map(|p| p.amount).sum();
        if total.0 > max {
            blockers.push(format!(
                "the run pays {total} in all, over `limits.max_total` {}; lower the amounts or \
                 raise the limit",
                Amount(max)
            ));
        }
    }
    if let Some(max) = job.limits.max_recipients {
        let count = job.payments.len() as u64;
        if count > max {
            blockers.push(format!(
                "the run has {count} payments, over `limits.max_recipients` {max}; remove some \
                 or raise the limit"
            ));
        }
    }
}
