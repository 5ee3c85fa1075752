//! Bringing state up to date with the provider, without sending anything.

use std::collections::HashSet;

use tokio::task::JoinSet;

use crate::apply::{ApplyError, poll, record, submit};
use crate::djamo::Client;
use crate::plan::{Action, Plan};
use crate::state::{PaymentStatus, Store};

/// Records what the provider has for the plan's job and period: the outcome of sends left
/// `submitting` or `unknown`, payments found at the provider that state does not hold (a fresh
/// state folder), and the current status of pending ones.
pub async fn sync(plan: &Plan, store: &dyn Store, client: &Client) -> Result<(), ApplyError> {
    submit::reconcile_leftovers(plan, store, client).await?;
    record_found(plan, store, client).await?;

    let pending: Vec<_> = store
        .payments(&plan.job, &plan.period)?
        .into_iter()
        .filter(|record| record.status == PaymentStatus::Pending)
        .collect();
    if !pending.is_empty() {
        let settled = poll::poll_once(client, pending).await;
        store.put_payments(&settled)?;
    }
    Ok(())
}

/// Records the plan's settled or pending payments that the provider has and state lacks.
async fn record_found(plan: &Plan, store: &dyn Store, client: &Client) -> Result<(), ApplyError> {
    let known: HashSet<String> = store
        .payments(&plan.job, &plan.period)?
        .into_iter()
        .map(|record| record.reference)
        .collect();
    let mut tasks = JoinSet::new();
    for item in &plan.items {
        // A blocked item's provider record disagrees with the manifest; it stays out of state
        // until the conflict is resolved.
        if !matches!(item.action, Action::None | Action::Wait) || known.contains(&item.reference) {
            continue;
        }
        let Some(id) = item.transaction_id.clone() else {
            continue;
        };
        let client = client.clone();
        let item = item.clone();
        tasks.spawn(async move { (item, client.transaction(&id).await) });
    }
    let mut found = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let Ok((item, transaction)) = joined else {
            continue;
        };
        let tx = transaction?;
        let mut record = record::submitting(&plan.job, &plan.period, &item, None)?;
        record::observe(&mut record, &tx);
        found.push(record);
    }
    store.put_payments(&found)?;
    Ok(())
}
