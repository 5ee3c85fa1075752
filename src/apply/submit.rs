//! Sending chunks: write-ahead, the batch request, and resolving every outcome by reference.

use std::collections::HashMap;
use std::time::Duration;

use indicatif::ProgressBar;
use tokio::task::JoinSet;

use crate::apply::faultpoint;
use crate::apply::record;
use crate::apply::{ApplyError, ApplyOptions, ApplyReport};
use crate::djamo::wire::{NewTransaction, TRANSFER, Transaction};
use crate::djamo::{ApiError, Client};
use crate::plan::{Plan, PlanItem};
use crate::state::{PaymentRecord, Store};

/// Looks up every `submitting` or `unknown` record of the plan's job and period, and records what
/// the provider has. Records the provider does not know stay as they are; the plan sends them
/// again under the same reference.
pub(super) async fn reconcile_leftovers(
    plan: &Plan,
    store: &dyn Store,
    client: &Client,
) -> Result<(), ApplyError> {
    let leftovers: Vec<PaymentRecord> = store
        .payments(&plan.job, &plan.period)?
        .into_iter()
        .filter(|record| record.status.needs_reconcile())
        .collect();
    if leftovers.is_empty() {
        return Ok(());
    }
    tracing::info!(
        count = leftovers.len(),
        "reconciling payments left by an earlier run"
    );
    let items: HashMap<&str, &PlanItem> = plan
        .items
        .iter()
        .map(|item| (item.reference.as_str(), item))
        .collect();
    let found = lookup_all(client, leftovers.iter().map(|r| r.reference.clone())).await?;
    let updated: Vec<PaymentRecord> = leftovers
        .into_iter()
        .filter_map(|mut record| {
            let tx = found.get(&record.reference)?.as_ref()?;
            // The manifest as planned now decides what this reference should pay. A record whose
            // reference the plan no longer lists is compared with what it wrote ahead.
            let same = match items.get(record.reference.as_str()) {
                Some(item) => same_payment(item, tx),
                None => record::same_payment(&record, tx),
            };
            if same {
                record::observe(&mut record, tx);
            } else if record.status == crate::state::PaymentStatus::NotCreated {
                // Already recorded as a reference held for another payment.
                return None;
            } else {
                record::reconcile(&mut record, tx);
            }
            Some(record)
        })
        .collect();
    store.put_payments(&updated)?;
    Ok(())
}

/// Looks each reference up concurrently; `None` for one the provider does not know.
async fn lookup_all(
    client: &Client,
    references: impl Iterator<Item = String>,
) -> Result<HashMap<String, Option<Transaction>>, ApiError> {
    let mut tasks = JoinSet::new();
    for reference in references {
        let client = client.clone();
        tasks.spawn(async move {
            let found = client.transactions_by_reference(&reference).await;
            (reference, found)
        });
    }
    let mut out = HashMap::new();
    while let Some(joined) = tasks.join_next().await {
        let Ok((reference, found)) = joined else {
            continue;
        };
        let found = found?;
        // The client returns exact matches of the reference only.
        let best = crate::plan::build::pick(&found).cloned();
        out.insert(reference, best);
    }
    Ok(out)
}

/// Sends the items in chunks, one batch in flight at a time.
pub(super) async fn send_all(
    plan: &Plan,
    items: &[&PlanItem],
    store: &dyn Store,
    client: &Client,
    options: &ApplyOptions,
    report: &mut ApplyReport,
) -> Result<(), ApplyError> {
    if items.is_empty() {
        return Ok(());
    }
    let bar = if options.progress {
        let bar = ProgressBar::new(items.len() as u64);
        bar.set_style(crate::apply::poll::bar_style("submitted"));
        bar
    } else {
        ProgressBar::hidden()
    };
    let chunk_size = options.chunk_size.max(1);
    let mut handled = 0u64;
    for (index, chunk) in items.chunks(chunk_size).enumerate() {
        if options.stop_requested() {
            tracing::warn!(
                handled,
                left = items.len() as u64 - handled,
                "stop requested; no further batch is sent"
            );
            break;
        }
        if index > 0 && !options.batch_pause.is_zero() {
            tokio::time::sleep(options.batch_pause).await;
        }
        let result = send_chunk(plan, chunk, store, client, options, report).await;
        handled += chunk.len() as u64;
        bar.inc(chunk.len() as u64);
        result?;
    }
    bar.finish_and_clear();
    Ok(())
}

/// Sends one chunk and leaves every item of it recorded as created, or stops with the items
/// recorded as `unknown` (outcome not known) or `not_created` (rejected by the provider).
async fn send_chunk(
    plan: &Plan,
    chunk: &[&PlanItem],
    store: &dyn Store,
    client: &Client,
    options: &ApplyOptions,
    report: &mut ApplyReport,
) -> Result<(), ApplyError> {
    let existing: HashMap<String, PaymentRecord> = store
        .payments(&plan.job, &plan.period)?
        .into_iter()
        .map(|r| (r.reference.clone(), r))
        .collect();
    let mut records: HashMap<String, PaymentRecord> = HashMap::new();
    for item in chunk {
        let record =
            record::submitting(&plan.job, &plan.period, item, existing.get(&item.reference))?;
        records.insert(item.reference.clone(), record);
    }
    let write_ahead: Vec<PaymentRecord> = records.values().cloned().collect();
    store.put_payments(&write_ahead)?;
    faultpoint::reach("after-write-ahead");

    let mut pending: Vec<&PlanItem> = chunk.to_vec();
    let mut resends = 0u32;
    let mut saw_conflict = false;
    let mut last_unknown: Option<ApiError> = None;
    loop {
        let request: Vec<NewTransaction> =
            pending.iter().map(|item| new_transaction(item)).collect();
        let outcome = client.create_batch(&request).await;
        faultpoint::reach("after-post");
        match outcome {
            Ok(batch) => {
                let mut updated = Vec::new();
                for tx in &batch.transactions {
                    if let Some(record) = records.get_mut(&tx.reference) {
                        record::observe(record, tx);
                        if record.batch_id.is_none() {
                            record.batch_id = Some(batch.id.clone());
                        }
                        updated.push(record.clone());
                    }
                }
                store.put_payments(&updated)?;
                faultpoint::reach("after-record");
                report.sent += updated.len() as u64;
                // A reference missing from the response is resolved by lookup like an unknown outcome.
                pending.retain(|item| {
                    !batch
                        .transactions
                        .iter()
                        .any(|tx| tx.reference == item.reference)
                });
                if pending.is_empty() {
                    return Ok(());
                }
                tracing::warn!(
                    missing = pending.len(),
                    "the batch answer left out some references; looking them up"
                );
            }
            Err(error) if error.status() == Some(409) => {
                tracing::info!(%error, "some references already exist; resolving them one by one");
                saw_conflict = true;
            }
            Err(error) if error.status() == Some(402) => {
                let why = "not created: insufficient funds (HTTP 402)";
                mark(store, &mut records, &pending, record::not_created, why)?;
                return Err(ApplyError::InsufficientFunds {
                    count: pending.len(),
                });
            }
            Err(error) if matches!(error.status(), Some(400 | 401 | 403)) => {
                let why = format!("not created: {error}");
                mark(store, &mut records, &pending, record::not_created, &why)?;
                if error.status() != Some(400) {
                    return Err(ApplyError::Api(error));
                }
                let message = error
                    .provider_message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| error.to_string());
                return Err(ApplyError::Rejected {
                    message,
                    references: pending.iter().map(|item| item.reference.clone()).collect(),
                });
            }
            Err(error) if error.outcome_unknown() => {
                tracing::warn!(%error, count = pending.len(), "batch outcome unknown; looking its references up");
                let why = format!("outcome unknown: {error}");
                mark(store, &mut records, &pending, record::unknown, &why)?;
                last_unknown = Some(error);
                tokio::time::sleep(backoff(resends + 1)).await;
            }
            Err(error) => {
                let why = format!("outcome unknown: {error}");
                mark(store, &mut records, &pending, record::unknown, &why)?;
                return Err(ApplyError::Api(error));
            }
        }

        // Whatever happened, ask the provider which references exist before sending again. A
        // reference it holds for another amount or number is someone else's payment: it is
        // recorded as not created and reported, never taken as this one.
        let found = lookup_all(client, pending.iter().map(|item| item.reference.clone())).await?;
        let mut updated = Vec::new();
        let mut conflicts = Vec::new();
        let mut matched = Vec::new();
        pending.retain(|item| {
            let Some(tx) = found.get(&item.reference).and_then(Option::as_ref) else {
                return true;
            };
            let Some(record) = records.get_mut(&item.reference) else {
                return false;
            };
            if same_payment(item, tx) {
                record::observe(record, tx);
                matched.push(item.reference.clone());
            } else {
                let why = format!(
                    "not created: the provider holds reference `{}` for {} to `{}`",
                    tx.reference, tx.amount, tx.msisdn
                );
                record::not_created(record, &why);
                conflicts.push(item.reference.clone());
            }
            updated.push(record.clone());
            false
        });
        store.put_payments(&updated)?;
        report.found_existing += matched.len() as u64;
        if !conflicts.is_empty() {
            let why = "not sent: the batch stopped on a reference held for another payment";
            mark(store, &mut records, &pending, record::not_created, why)?;
            return Err(ApplyError::Conflict {
                references: conflicts,
            });
        }
        if saw_conflict && options.plan_digest.is_some() && !matched.is_empty() {
            // A saved plan was checked against the provider before this run began, so a
            // reference that appeared since then was sent by another process applying it.
            return Err(ApplyError::AppliedElsewhere {
                references: matched,
            });
        }
        if pending.is_empty() {
            return Ok(());
        }
        resends += 1;
        if resends > options.max_resends {
            // Still unknown after every look-up: the records stay `unknown` and the next run
            // looks them up again.
            if let Some(error) = last_unknown {
                return Err(ApplyError::Api(error));
            }
            return Err(ApplyError::Rejected {
                message: format!(
                    "{} reference(s) are still not created after {} attempts",
                    pending.len(),
                    options.max_resends
                ),
                references: pending.iter().map(|item| item.reference.clone()).collect(),
            });
        }
    }
}

/// True when the provider's transaction is the payment `item` describes.
fn same_payment(item: &PlanItem, tx: &Transaction) -> bool {
    let number_matches = match crate::msisdn::Msisdn::parse(&item.msisdn) {
        Ok(ours) => ours.same_as(&tx.msisdn),
        Err(_) => item.msisdn == tx.msisdn,
    };
    item.amount == tx.amount && number_matches
}

/// Applies `set` with `why` to the records of `items` and writes them in one flushed write.
fn mark(
    store: &dyn Store,
    records: &mut HashMap<String, PaymentRecord>,
    items: &[&PlanItem],
    set: fn(&mut PaymentRecord, &str),
    why: &str,
) -> Result<(), ApplyError> {
    let mut updated = Vec::new();
    for item in items {
        if let Some(record) = records.get_mut(&item.reference) {
            set(record, why);
            updated.push(record.clone());
        }
    }
    store.put_payments(&updated)?;
    Ok(())
}

fn new_transaction(item: &PlanItem) -> NewTransaction {
    NewTransaction {
        msisdn: item.msisdn.clone(),
        amount: item.amount,
        reference: item.reference.clone(),
        description: item.description.clone(),
        kind: Some(TRANSFER.to_owned()),
    }
}

/// Pause before the `attempt`-th look-up after an unknown outcome: 0.5 s, 1 s, 2 s, up to 8 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << attempt.saturating_sub(1).min(4)))
}
