//! Building a plan: state first, then the provider by reference, then KYC, limits and balance.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::task::JoinSet;

use crate::djamo::wire::{Transaction, TransactionStatus};
use crate::djamo::{ApiError, Client};
use crate::manifest::{Job, Payment};
use crate::money::Amount;
use crate::plan::checks;
use crate::plan::{Action, Orphan, Plan, PlanItem, Summary};
use crate::state::{PaymentRecord, PaymentStatus, StateError, Store};

/// Choices that change what a plan does.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Send failed payments again under a derived reference.
    pub retry_failed: bool,
    /// Show progress bars of the provider lookups and KYC checks on stderr.
    pub progress: bool,
}

/// Errors that stop a plan from being made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("a provider lookup task failed: {0}")]
    Task(String),
}

/// Derives the reference of the `n`-th retry of a payment whose first reference is `base`.
///
/// It is derived from stable data only, so every re-run derives the same one.
pub fn retry_reference(base: &str, n: u32) -> String {
    if n == 0 {
        base.to_owned()
    } else {
        format!("{base}-r{n}")
    }
}

/// Returns the reference a derived retry reference replaces: `R` for `R-r1`, `R-r1` for
/// `R-r2`; `None` for a reference that is not a retry.
pub fn previous_reference(reference: &str) -> Option<String> {
    let (base, n) = reference.rsplit_once("-r")?;
    if n.is_empty() || n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = n.parse().ok()?;
    Some(retry_reference(base, n - 1))
}

/// The known facts about one reference, from state or from the provider.
#[derive(Clone, Debug)]
pub(crate) struct Observed {
    pub reference: String,
    pub status: PaymentStatus,
    pub amount: Amount,
    pub msisdn: String,
    pub transaction_id: Option<String>,
    pub failure_reason: Option<String>,
    /// True when the provider, not state, supplied this.
    pub from_provider: bool,
}

impl Observed {
    pub(crate) fn from_transaction(tx: &Transaction) -> Observed {
        Observed {
            reference: tx.reference.clone(),
            status: status_of(tx.status),
            amount: tx.amount,
            msisdn: tx.msisdn.clone(),
            transaction_id: Some(tx.id.clone()),
            failure_reason: tx.failure_reason.clone(),
            from_provider: true,
        }
    }

    fn from_record(record: &PaymentRecord) -> Observed {
        Observed {
            reference: record.reference.clone(),
            status: record.status,
            amount: record.amount,
            msisdn: record.msisdn.as_str().to_owned(),
            transaction_id: record.transaction_id.clone(),
            failure_reason: record.failure_reason.clone(),
            from_provider: false,
        }
    }
}

pub(crate) fn status_of(status: TransactionStatus) -> PaymentStatus {
    match status {
        TransactionStatus::Pending => PaymentStatus::Pending,
        TransactionStatus::Completed => PaymentStatus::Completed,
        TransactionStatus::Failed => PaymentStatus::Failed,
    }
}

/// The retry chain of one payment: every reference that exists, oldest first, and the next free
/// one.
#[derive(Clone, Debug)]
pub(crate) struct Chain {
    pub existing: Vec<Observed>,
    /// A reference recorded as `submitting` or `unknown` that the provider does not know.
    pub unsent: Option<String>,
    pub next_reference: String,
}

/// Picks the transaction a reference lookup stands for: a live one over a failed one if the
/// provider ever returns two for one reference.
pub(crate) fn pick(found: &[Transaction]) -> Option<&Transaction> {
    found
        .iter()
        .find(|tx| tx.status != TransactionStatus::Failed)
        .or_else(|| found.first())
}

/// Looks one reference up at the provider; `None` when it does not exist there.
pub(crate) async fn lookup(client: &Client, reference: &str) -> Result<Option<Observed>, ApiError> {
    let found = client.transactions_by_reference(reference).await?;
    Ok(pick(&found).map(Observed::from_transaction))
}

/// Walks the retry chain of `base` through state, asking the provider for what state does not
/// settle: references it never saw, sends whose outcome is unknown, and pending transactions.
pub(crate) async fn resolve_chain(
    client: &Client,
    records: &HashMap<String, PaymentRecord>,
    base: &str,
) -> Result<Chain, ApiError> {
    let mut existing = Vec::new();
    let mut unsent = None;
    let mut index = 0u32;
    loop {
        let reference = retry_reference(base, index);
        let observed = match records.get(&reference) {
            Some(record) if record.status.needs_reconcile() => lookup(client, &reference).await?,
            Some(record) if record.status == PaymentStatus::Pending => {
                match &record.transaction_id {
                    Some(id) => Some(Observed::from_transaction(&client.transaction(id).await?)),
                    None => lookup(client, &reference).await?,
                }
            }
            Some(record) => Some(Observed::from_record(record)),
            None => lookup(client, &reference).await?,
        };
        match observed {
            Some(seen) if seen.status == PaymentStatus::Failed => {
                existing.push(seen);
                index += 1;
            }
            Some(seen) => {
                existing.push(seen);
                return Ok(Chain {
                    existing,
                    unsent,
                    next_reference: reference,
                });
            }
            None => {
                if records.contains_key(&reference) {
                    unsent = Some(reference.clone());
                }
                return Ok(Chain {
                    existing,
                    unsent,
                    next_reference: reference,
                });
            }
        }
    }
}

/// Makes the plan of `job` against `store` and the provider.
pub async fn build(
    job: &Job,
    store: &dyn Store,
    client: &Client,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    let state_serial = store.serial(&job.name)?;
    let recorded = store.payments(&job.name, &job.period)?;
    let records: Arc<HashMap<String, PaymentRecord>> = Arc::new(
        recorded
            .iter()
            .map(|record| (record.reference.clone(), record.clone()))
            .collect(),
    );

    let chains = resolve_all(client, &records, &job.payments, options.progress).await?;
    let mut items: Vec<PlanItem> = job
        .payments
        .iter()
        .zip(&chains)
        .map(|(payment, chain)| item_for(payment, chain, options))
        .collect();

    checks::block_shared_references(&mut items);

    let mut warnings = Vec::new();
    let kyc = checks::check_kyc(client, job, &mut items, &mut warnings, options.progress).await?;

    let mut blockers = Vec::new();
    checks::apply_limits(job, &mut items, &mut blockers);

    for item in &mut items {
        if item.action.sends() {
            item.fee = job.fee_rate.fee(item.amount);
        }
    }
    let balance = client.balance().await?.balance;
    let summary = summarize(&items, balance);
    if summary.total > balance {
        blockers.push(format!(
            "balance {balance} does not cover the total {}: short by {}; top up the business \
             account and plan again",
            summary.total,
            summary.total.saturating_sub(balance)
        ));
    }

    let known: HashSet<&str> = chains
        .iter()
        .flat_map(|chain| chain.existing.iter().map(|seen| seen.reference.as_str()))
        .chain(items.iter().map(|item| item.reference.as_str()))
        .collect();
    let orphans = recorded
        .iter()
        .filter(|record| !known.contains(record.reference.as_str()))
        .map(|record| Orphan {
            reference: record.reference.clone(),
            msisdn: record.msisdn.as_str().to_owned(),
            amount: record.amount,
            status: record.status.as_str().to_owned(),
        })
        .collect();

    Ok(Plan {
        job: job.name.clone(),
        period: job.period.clone(),
        summary,
        blockers,
        warnings,
        items,
        orphans,
        manifest_digest: job.manifest_digest.clone(),
        state_serial,
        kyc,
    })
}

async fn resolve_all(
    client: &Client,
    records: &Arc<HashMap<String, PaymentRecord>>,
    payments: &[Payment],
    progress: bool,
) -> Result<Vec<Chain>, PlanError> {
    let bar = checks::progress_bar(progress, "looked up", payments.len());
    let mut tasks = JoinSet::new();
    for (index, payment) in payments.iter().enumerate() {
        let client = client.clone();
        let records = Arc::clone(records);
        let base = payment.reference.clone();
        tasks.spawn(async move { (index, resolve_chain(&client, &records, &base).await) });
    }
    let mut chains: Vec<Option<Chain>> = vec![None; payments.len()];
    while let Some(joined) = tasks.join_next().await {
        let (index, chain) = joined.map_err(|e| PlanError::Task(e.to_string()))?;
        chains[index] = Some(chain?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    chains
        .into_iter()
        .map(|chain| chain.ok_or_else(|| PlanError::Task("a lookup result is missing".into())))
        .collect()
}

/// Decides the action of one payment from its chain.
fn item_for(payment: &Payment, chain: &Chain, options: &PlanOptions) -> PlanItem {
    let mut item = PlanItem {
        id: payment.recipient_id.clone(),
        name: payment.name.clone(),
        msisdn: payment.msisdn.as_str().to_owned(),
        amount: payment.amount,
        fee: Amount(0),
        reference: chain.next_reference.clone(),
        description: payment.description.clone(),
        action: Action::Pay,
        reason: String::new(),
        status: "new".to_owned(),
        retry_of: None,
        transaction_id: None,
    };
    let Some(last) = chain.existing.last() else {
        item.reason = match &chain.unsent {
            Some(_) => "an earlier send never reached the provider; sending it again under the \
                        same reference"
                .to_owned(),
            None => "not paid yet".to_owned(),
        };
        return item;
    };

    item.status = last.status.as_str().to_owned();
    item.transaction_id = last.transaction_id.clone();
    if last.status == PaymentStatus::Failed {
        let reason = last.failure_reason.as_deref().unwrap_or("no reason given");
        if chain.unsent.is_some() || options.retry_failed {
            item.action = Action::Retry;
            item.retry_of = Some(last.reference.clone());
            item.reason = format!("`{}` failed ({reason}); paying again", last.reference);
        } else {
            item.action = Action::None;
            item.reference = last.reference.clone();
            item.reason = format!(
                "failed ({reason}); plan with `--retry-failed` to pay again as `{}`",
                chain.next_reference
            );
        }
        return item;
    }

    item.reference = last.reference.clone();
    let conflict = conflict(payment, last);
    if let Some(conflict) = conflict {
        item.action = Action::Blocked;
        item.reason = conflict;
        return item;
    }
    let source = if last.from_provider {
        "found at the provider"
    } else {
        "recorded in state"
    };
    if last.status == PaymentStatus::Completed {
        item.action = Action::None;
        item.reason = format!("already paid ({source})");
    } else {
        item.action = Action::Wait;
        item.reason = format!("sent and not settled yet ({source})");
    }
    item
}

fn conflict(payment: &Payment, seen: &Observed) -> Option<String> {
    let msisdn_matches = payment.msisdn.same_as(&seen.msisdn);
    if seen.amount != payment.amount {
        return Some(format!(
            "conflict: `{}` was already sent for {}, the manifest now says {}; restore the \
             amount, or pay the difference under a new reference",
            seen.reference, seen.amount, payment.amount
        ));
    }
    if !msisdn_matches {
        return Some(format!(
            "conflict: `{}` was already sent to `{}`, the manifest now says `{}`; restore the \
             number, or pay the new one under a new reference",
            seen.reference, seen.msisdn, payment.msisdn
        ));
    }
    None
}

fn summarize(items: &[PlanItem], balance: Amount) -> Summary {
    let mut summary = Summary {
        balance,
        ..Summary::default()
    };
    for item in items {
        match item.action {
            Action::Pay | Action::Retry => {
                summary.to_pay += 1;
                summary.amount = Amount(summary.amount.0.saturating_add(item.amount.0));
                summary.fees = Amount(summary.fees.0.saturating_add(item.fee.0));
            }
            Action::None if item.status == "failed" => summary.failed += 1,
            Action::None => summary.already_paid += 1,
            Action::Wait => summary.in_progress += 1,
            Action::Blocked => summary.blocked += 1,
            Action::Skip => summary.skipped += 1,
        }
    }
    summary.total = Amount(summary.amount.0.saturating_add(summary.fees.0));
    summary.balance_after = balance.saturating_sub(summary.total);
    summary
}
