//! Running one occurrence: claim it (unless resuming), record it, plan and apply it with the
//! same code as `payroll apply`, and record how it ended.

use jiff::Timestamp;

use crate::apply;
use crate::plan::{self, Action, Plan, PlanOptions};
use crate::schedule::jobs::ScheduledJob;
use crate::schedule::occurrence::Occurrence;
use crate::schedule::runner::{JobStatus, RunContext, state_message};
use crate::state::{RunOutcome, RunRecord, SCHEMA_VERSION, Store};

/// Claims (unless resuming), records, plans and applies one occurrence, and records how it
/// ended.
pub(crate) async fn run_occurrence(
    store: &dyn Store,
    job: &ScheduledJob,
    occurrence: &Occurrence,
    resume: Option<RunOutcome>,
    context: &RunContext<'_>,
) -> (JobStatus, String) {
    let name = job.name();
    let fire_key = occurrence.fire_key();
    if resume.is_none() {
        match store.claim_occurrence(name, &fire_key) {
            Ok(true) => {}
            Ok(false) => {
                return (
                    JobStatus::AlreadyRan,
                    format!("fire {} was claimed by another runner", occurrence.fire),
                );
            }
            Err(error) => return (JobStatus::Error, state_message(&error)),
        }
    }
    tracing::info!(
        job = %name,
        period = %occurrence.period,
        fire = %occurrence.fire,
        resume = ?resume,
        "run started"
    );

    let mut record = RunRecord {
        schema_version: SCHEMA_VERSION,
        id: occurrence.run_id(),
        job: name.to_owned(),
        period: occurrence.period.clone(),
        started_at: Timestamp::now().to_string(),
        finished_at: None,
        outcome: RunOutcome::Running,
        plan_digest: None,
        submitted: 0,
        completed: 0,
        failed: 0,
        message: Some(match resume {
            Some(outcome) => format!("scheduled fire {fire_key}, resumed after `{outcome:?}`"),
            None => format!("scheduled fire {fire_key}"),
        }),
    };
    if let Err(error) = store.put_run(&record) {
        return (JobStatus::Error, state_message(&error));
    }

    let result = execute(store, job, occurrence, context).await;
    record.finished_at = Some(Timestamp::now().to_string());
    record.outcome = match result.status {
        JobStatus::Paid | JobStatus::AlreadyRan => RunOutcome::Completed,
        JobStatus::FailedPayments => RunOutcome::FailedPayments,
        JobStatus::UnknownOutcome => RunOutcome::Unknown,
        JobStatus::Stopped => RunOutcome::Stopped,
        _ => RunOutcome::Error,
    };
    record.submitted = result.submitted;
    record.completed = result.completed;
    record.failed = result.failed;
    record.message = Some(result.message.clone());
    if let Err(error) = store.put_run(&record) {
        return (
            JobStatus::Error,
            format!(
                "{}; then recording the run failed: {error}; the next run resumes it",
                result.message
            ),
        );
    }
    (result.status, result.message)
}

/// The result of planning and applying one occurrence.
struct Executed {
    status: JobStatus,
    message: String,
    submitted: u64,
    completed: u64,
    failed: u64,
}

impl Executed {
    fn status(status: JobStatus, message: String) -> Executed {
        Executed {
            status,
            message,
            submitted: 0,
            completed: 0,
            failed: 0,
        }
    }
}

async fn execute(
    store: &dyn Store,
    job: &ScheduledJob,
    occurrence: &Occurrence,
    context: &RunContext<'_>,
) -> Executed {
    let rendered = match job.manifest.render(Some(&occurrence.period)) {
        Ok(rendered) => rendered,
        Err(error) => {
            return Executed::status(
                JobStatus::Error,
                format!("{:?}", miette::Report::new(error)),
            );
        }
    };
    let plan = match plan::build(&rendered, store, context.client, &PlanOptions::default()).await {
        Ok(plan) => plan,
        Err(error) => {
            return Executed::status(
                JobStatus::Error,
                format!("planning failed, nothing was paid: {error}"),
            );
        }
    };
    if plan.is_blocked() {
        return Executed::status(JobStatus::Error, blocked_message(&plan));
    }
    if !plan.has_work() {
        // The plan read the provider's answers for sends an interrupted run left behind; they
        // are recorded here because no apply runs to record them.
        if let Err(error) = apply::sync(&plan, store, context.client).await {
            return Executed::status(
                JobStatus::Error,
                format!("recording the provider's answers failed: {error}; the next run retries"),
            );
        }
        let status = if plan.summary.failed > 0 {
            JobStatus::FailedPayments
        } else {
            JobStatus::Paid
        };
        return Executed {
            status,
            message: crate::plan::render::verdict(&plan),
            submitted: 0,
            completed: plan.summary.already_paid,
            failed: plan.summary.failed,
        };
    }

    let mut options = context.apply.clone();
    if let Some(chunk_size) = rendered.chunk_size {
        options.chunk_size = chunk_size;
    }
    options.stop = Some(context.stop.flag());
    let report = match apply::apply(&plan, store, context.client, &options).await {
        Ok(report) => report,
        Err(error) => {
            return Executed::status(
                JobStatus::Error,
                format!(
                    "apply failed: {error}; the next run looks every reference up before sending anything"
                ),
            );
        }
    };
    let status = if report.stopped.is_some() && context.stop.is_requested() {
        JobStatus::Stopped
    } else if report.stopped.is_some() {
        JobStatus::Error
    } else if report.unknown > 0 || (options.wait && report.pending > 0) {
        JobStatus::UnknownOutcome
    } else if report.failed > 0 {
        JobStatus::FailedPayments
    } else {
        JobStatus::Paid
    };
    let mut message = format!(
        "sent {}; completed {}, failed {}, pending {}, unknown {}; paid {} + fees {}",
        report.sent,
        report.completed,
        report.failed,
        report.pending,
        report.unknown,
        report.paid_amount,
        report.paid_fees
    );
    if let Some(stopped) = &report.stopped {
        message.push_str(&format!("; stopped: {stopped}"));
    }
    for (reference, id, reason) in report.failures.iter().take(5) {
        message.push_str(&format!("; `{id}` (`{reference}`) failed: {reason}"));
    }
    Executed {
        status,
        message,
        submitted: report.sent,
        completed: report.completed,
        failed: report.failed,
    }
}

/// Lists why a plan is blocked: its blockers, then up to five blocked payments.
fn blocked_message(plan: &Plan) -> String {
    let mut reasons: Vec<String> = plan.blockers.clone();
    let blocked = plan
        .items
        .iter()
        .filter(|item| item.action == Action::Blocked);
    for item in blocked.clone().take(5) {
        reasons.push(format!("`{}`: {}", item.id, item.reason));
    }
    let more = blocked.count().saturating_sub(5);
    if more > 0 {
        reasons.push(format!("{more} more blocked payment(s)"));
    }
    format!(
        "the plan is blocked, nothing was paid: {}",
        reasons.join("; ")
    )
}
