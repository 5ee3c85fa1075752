//! Waiting for pending payments to settle.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::task::JoinSet;

use crate::apply::faultpoint;
use crate::apply::record;
use crate::apply::{ApplyError, ApplyOptions};
use crate::djamo::Client;
use crate::plan::Plan;
use crate::state::{PaymentRecord, PaymentStatus, Store};

/// The longest pause between two polls.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(5);

pub(super) fn bar_style(stage: &str) -> ProgressStyle {
    ProgressStyle::with_template(&format!(
        "{{spinner}} {stage:>9} [{{bar:30}}] {{pos}}/{{len}} {{msg}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

/// Polls every pending payment of the plan's period until none is pending or the wait ends.
/// Payments still pending at the end stay `pending` in state; the next run resumes them.
pub(super) async fn wait_for_pending(
    plan: &Plan,
    store: &dyn Store,
    client: &Client,
    options: &ApplyOptions,
) -> Result<(), ApplyError> {
    let deadline = Instant::now() + options.wait_timeout;
    let mut interval = options.poll_interval;
    let total = pending_records(plan, store)?.len() as u64;
    if total == 0 {
        return Ok(());
    }
    let bar = if options.progress {
        let bar = ProgressBar::new(total);
        bar.set_style(bar_style("settled"));
        bar
    } else {
        ProgressBar::hidden()
    };
    loop {
        let pending = pending_records(plan, store)?;
        bar.set_position(total.saturating_sub(pending.len() as u64));
        if pending.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            tracing::warn!(
                count = pending.len(),
                "payments still pending when the wait ended"
            );
            break;
        }
        tokio::time::sleep(interval.min(deadline.saturating_duration_since(Instant::now()))).await;
        interval = (interval.mul_f32(1.5)).min(MAX_POLL_INTERVAL);

        let settled = poll_once(client, pending).await;
        store.put_payments(&settled)?;
        faultpoint::reach("after-poll");
    }
    bar.finish_and_clear();
    Ok(())
}

fn pending_records(plan: &Plan, store: &dyn Store) -> Result<Vec<PaymentRecord>, ApplyError> {
    Ok(store
        .payments(&plan.job, &plan.period)?
        .into_iter()
        .filter(|record| record.status == PaymentStatus::Pending)
        .collect())
}

/// Asks the provider for each pending payment and returns the records that changed. A failed
/// poll is logged and retried next round: it never changes a record.
pub(super) async fn poll_once(client: &Client, pending: Vec<PaymentRecord>) -> Vec<PaymentRecord> {
    let mut tasks = JoinSet::new();
    for mut record in pending {
        let client = client.clone();
        tasks.spawn(async move {
            let found = match &record.transaction_id {
                Some(id) => client.transaction(id).await.map(Some),
                None => client
                    .transactions_by_reference(&record.reference)
                    .await
                    .map(|found| found.into_iter().find(|tx| tx.reference == record.reference)),
            };
            match found {
                Ok(Some(tx)) if tx.status.is_final() => {
                    record::observe(&mut record, &tx);
                    Some(record)
                }
                Ok(_) => None,
                Err(error) => {
                    tracing::warn!(reference = %record.reference, %error, "poll failed; retrying next round");
                    None
                }
            }
        });
    }
    let mut settled = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Ok(Some(record)) = joined {
            settled.push(record);
        }
    }
    settled
}
