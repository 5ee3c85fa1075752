//! Apply: pays a plan exactly once through chunked batch transfers.
//!
//! The algorithm never forgets an intent and never re-sends blind:
//! 1. leftovers of earlier runs (`submitting`, `unknown`) are looked up by reference first;
//! 2. each chunk is written to state as `submitting` and flushed before it is sent;
//! 3. a 2xx records the transaction ids, flushed;
//! 4. an unknown outcome (timeout, broken connection, 5xx, 422, 429) marks the chunk `unknown`,
//!    then each reference is looked up and only those the provider does not know are sent again,
//!    under the same reference;
//! 5. a 409 is resolved item by item the same way;
//! 6. a 402 or 400 stops the run: nothing of that chunk was created;
//! 7. pending payments are polled until they settle or the wait ends.

pub mod faultpoint;
mod poll;
pub mod record;
mod submit;
mod sync;

pub use sync::sync;

use std::time::Duration;

use crate::djamo::{ApiError, Client};
use crate::plan::{Action, Plan};
use crate::state::{
    PaymentRecord, PaymentStatus, RunOutcome, RunRecord, SCHEMA_VERSION, StateError, Store,
};

/// Batch size when neither the command line nor the manifest sets one.
pub const DEFAULT_CHUNK_SIZE: usize = 100;

/// Settings of one apply run.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    pub chunk_size: usize,
    /// Pause between two batch requests, for providers that rate-limit.
    pub batch_pause: Duration,
    /// Wait for pending payments to settle.
    pub wait: bool,
    /// How long to wait for them at most.
    pub wait_timeout: Duration,
    /// First pause between two polls; it grows up to five seconds.
    pub poll_interval: Duration,
    /// How many times a chunk whose outcome stays unknown is looked up and re-sent.
    pub max_resends: u32,
    /// Show progress bars on stderr.
    pub progress: bool,
    /// Digest of the saved plan being applied, for the run record.
    pub plan_digest: Option<String>,
    /// Set by a signal handler: apply finishes and records the batch in flight, sends no
    /// further batch and does not wait.
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl ApplyOptions {
    fn stop_requested(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|flag| flag.load(std::sync::atomic::Ordering::SeqCst))
    }
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            chunk_size: DEFAULT_CHUNK_SIZE,
            batch_pause: Duration::ZERO,
            wait: true,
            wait_timeout: Duration::from_secs(300),
            poll_interval: Duration::from_millis(500),
            max_resends: 5,
            progress: false,
            plan_digest: None,
            stop: None,
        }
    }
}

/// Errors that stop apply before the end.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(
        "the provider reported insufficient funds (HTTP 402) for a batch of {count} payment(s); \
         none of them was created"
    )]
    InsufficientFunds { count: usize },
    #[error("the provider rejected a batch (HTTP 400): {message}")]
    Rejected {
        message: String,
        references: Vec<String>,
    },
    #[error(
        "reference(s) {} already exist at the provider for another amount or number; they were \
         not sent",
        references.join(", ")
    )]
    Conflict { references: Vec<String> },
    #[error(
        "this saved plan is being or was applied by another process: reference(s) {} already \
         exist at the provider",
        references.join(", ")
    )]
    AppliedElsewhere { references: Vec<String> },
    #[error("invalid recipient number in the plan: {0}")]
    Msisdn(#[from] crate::msisdn::MsisdnError),
}

/// The outcome of a run, read back from state at its end.
#[derive(Clone, Debug, Default)]
pub struct ApplyReport {
    /// Payments this run's batch requests created.
    pub sent: u64,
    /// Payments of this run's chunks that already existed at the provider, found by reference
    /// after a 409 or an unknown outcome, and recorded without being sent again.
    pub found_existing: u64,
    /// Payments the provider rejected (HTTP 400, 401, 402, 403, or a reference it holds for
    /// another payment): nothing was created for them.
    pub not_created: u64,
    pub completed: u64,
    pub failed: u64,
    pub pending: u64,
    /// Payments whose outcome is still unknown; run apply again to reconcile them.
    pub unknown: u64,
    /// Sum of amounts and fees of the completed payments of the period.
    pub paid_amount: crate::money::Amount,
    pub paid_fees: crate::money::Amount,
    /// The failed payments: reference, recipient id and reason.
    pub failures: Vec<(String, String, String)>,
    /// Set when the run stopped early.
    pub stopped: Option<String>,
}

impl ApplyReport {
    /// Maps this outcome to the contract's exit code.
    pub fn exit_code(&self, waited: bool) -> u8 {
        use crate::exit;
        if self.stopped.is_some() {
            exit::ERROR
        } else if self.unknown > 0 || (waited && self.pending > 0) {
            exit::UNKNOWN_OUTCOME
        } else if self.failed > 0 {
            exit::FAILED_PAYMENTS
        } else {
            exit::OK
        }
    }
}

/// Pays the plan's `pay` and `retry` items and waits for them and its `wait` items.
///
/// The caller holds the state lock and has checked that the plan is not blocked or stale.
pub async fn apply(
    plan: &Plan,
    store: &dyn Store,
    client: &Client,
    options: &ApplyOptions,
) -> Result<ApplyReport, ApplyError> {
    let mut run = RunRecord {
        schema_version: SCHEMA_VERSION,
        id: uuid::Uuid::new_v4().to_string(),
        job: plan.job.clone(),
        period: plan.period.clone(),
        started_at: record::now(),
        finished_at: None,
        outcome: RunOutcome::Running,
        plan_digest: options.plan_digest.clone(),
        submitted: 0,
        completed: 0,
        failed: 0,
        message: None,
    };
    store.put_run(&run)?;
    tracing::info!(job = %plan.job, period = %plan.period, run = %run.id, "apply started");

    let result = run_stages(plan, store, client, options).await;
    let mut report = match result {
        Ok(report) => report,
        Err(error) => {
            run.outcome = RunOutcome::Error;
            run.message = Some(error.to_string());
            run.finished_at = Some(record::now());
            let _ = store.put_run(&run);
            return Err(error);
        }
    };
    summarize(plan, store, &mut report)?;

    run.finished_at = Some(record::now());
    run.submitted = report.sent;
    run.completed = report.completed;
    run.failed = report.failed;
    run.message = report.stopped.clone();
    run.outcome = if report.stopped.is_some() {
        RunOutcome::Stopped
    } else if report.unknown > 0 {
        RunOutcome::Unknown
    } else if report.failed > 0 {
        RunOutcome::FailedPayments
    } else {
        RunOutcome::Completed
    };
    store.put_run(&run)?;
    tracing::info!(job = %plan.job, period = %plan.period, run = %run.id, outcome = ?run.outcome, "apply finished");
    Ok(report)
}

async fn run_stages(
    plan: &Plan,
    store: &dyn Store,
    client: &Client,
    options: &ApplyOptions,
) -> Result<ApplyReport, ApplyError> {
    let mut report = ApplyReport::default();
    sync::sync(plan, store, client).await?;

    let to_send: Vec<_> = plan
        .items
        .iter()
        .filter(|item| item.action.sends())
        .collect();
    match submit::send_all(plan, &to_send, store, client, options, &mut report).await {
        Ok(()) => {}
        Err(
            stop @ (ApplyError::InsufficientFunds { .. }
            | ApplyError::Rejected { .. }
            | ApplyError::Conflict { .. }
            | ApplyError::AppliedElsewhere { .. }),
        ) => {
            report.stopped = Some(stop.to_string());
        }
        Err(other) => return Err(other),
    }

    if options.stop_requested() && report.stopped.is_none() {
        report.stopped = Some("stopped by a signal; run again to finish".to_owned());
    }
    // A 402 or 400 stop still waits for the chunks already sent; a signal does not.
    if options.wait && !options.stop_requested() {
        poll::wait_for_pending(plan, store, client, options).await?;
    }
    Ok(report)
}

/// Fills the counts of `report` from what state records for the plan's references.
fn summarize(plan: &Plan, store: &dyn Store, report: &mut ApplyReport) -> Result<(), StateError> {
    let records = store.payments(&plan.job, &plan.period)?;
    let by_reference: std::collections::HashMap<&str, &PaymentRecord> =
        records.iter().map(|r| (r.reference.as_str(), r)).collect();
    for item in &plan.items {
        if matches!(item.action, Action::Blocked | Action::Skip) {
            continue;
        }
        let Some(record) = by_reference.get(item.reference.as_str()) else {
            continue;
        };
        match record.status {
            PaymentStatus::Completed => {
                report.completed += 1;
                report.paid_amount = report
                    .paid_amount
                    .checked_add(record.amount)
                    .unwrap_or(report.paid_amount);
                report.paid_fees = report
                    .paid_fees
                    .checked_add(record.fee)
                    .unwrap_or(report.paid_fees);
            }
            PaymentStatus::Failed => {
                report.failed += 1;
                report.failures.push((
                    record.reference.clone(),
                    record.recipient_id.clone(),
                    record
                        .failure_reason
                        .clone()
                        .unwrap_or_else(|| "no reason given".into()),
                ));
            }
            PaymentStatus::Pending => report.pending += 1,
            PaymentStatus::Submitting | PaymentStatus::Unknown => report.unknown += 1,
            PaymentStatus::NotCreated => report.not_created += 1,
        }
    }
    Ok(())
}
