//! One pass over the jobs folder: for each job, decide on its latest fire and hand a due
//! occurrence to `execute`, which plans and applies it with the same code as `payroll apply`.
//!
//! State is opened for each job and closed after it, so that another command can use the state
//! folder between two jobs and while the daemon sleeps.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};

use crate::apply::ApplyOptions;
use crate::djamo::Client;
use crate::schedule::execute::run_occurrence;
use crate::schedule::jobs::{JobsFolder, ScheduledJob};
use crate::schedule::occurrence::{self, Decision, Occurrence, is_finished, scheduled_fire};
use crate::schedule::stop::StopSignal;
use crate::state::{StateError, Store};

/// Opens the state store; called once per job so that the lock is held only while it runs.
pub type OpenState<'a> = dyn Fn() -> Result<Box<dyn Store>, StateError> + Send + Sync + 'a;

/// Pause between two attempts to open a locked state folder.
const LOCK_RETRY: Duration = Duration::from_millis(200);

/// The provider, state and settings of a pass.
pub struct RunContext<'a> {
    pub open_state: &'a OpenState<'a>,
    pub client: &'a Client,
    /// Apply settings; its chunk size is replaced by each job's `chunk_size` when set, and its
    /// stop flag by [`RunContext::stop`].
    pub apply: ApplyOptions,
    /// How long to wait for a state folder that another process holds.
    pub lock_wait: Duration,
    pub stop: StopSignal,
}

/// The end state of one job in a pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    /// The schedule has not fired in the year before now.
    NeverFired,
    /// The latest fire already ran.
    AlreadyRan,
    /// The latest fire is older than `catch_up` and never started: skipped.
    Missed,
    /// The occurrence ran and every payment completed (or there was nothing left to pay).
    Paid,
    /// The occurrence ran and some payments failed; the provider moved no money for them.
    FailedPayments,
    /// Some payments are still pending or unknown; the next run resumes the occurrence.
    UnknownOutcome,
    /// A stop request ended the occurrence after its batch in flight; the next run resumes it.
    Stopped,
    /// The job could not run: blocked plan, provider or state error.
    Error,
}

/// The result of one job in a pass.
#[derive(Clone, Debug)]
pub struct JobReport {
    pub path: PathBuf,
    pub job: String,
    pub occurrence: Option<Occurrence>,
    pub status: JobStatus,
    /// One line for the user.
    pub message: String,
}

/// The result of one pass.
#[derive(Debug, Default)]
pub struct PassReport {
    pub jobs: Vec<JobReport>,
    /// True when a stop request ended the pass before every job ran.
    pub stopped: bool,
}

/// Runs every job of `folder` whose latest fire at or before `now` is due.
pub async fn run_pass(folder: &JobsFolder, now: Timestamp, context: &RunContext<'_>) -> PassReport {
    let mut pass = PassReport::default();
    for job in &folder.jobs {
        if context.stop.is_requested() {
            pass.stopped = true;
            tracing::info!(job = %job.name(), "stop requested; job not started");
            break;
        }
        let report = run_job(job, now, context).await;
        log_report(&report);
        pass.jobs.push(report);
    }
    pass
}

async fn run_job(job: &ScheduledJob, now: Timestamp, context: &RunContext<'_>) -> JobReport {
    let mut report = JobReport {
        path: job.path.clone(),
        job: job.name().to_owned(),
        occurrence: None,
        status: JobStatus::Error,
        message: String::new(),
    };
    let store = match open_state(context).await {
        Ok(store) => store,
        Err(error) => {
            report.message = format!(
                "{error}; the job did not run, and the next run tries it again. help: {}",
                error.help()
            );
            return report;
        }
    };
    let decision = match occurrence::decide(store.as_ref(), job.name(), &job.schedule, now) {
        Ok(decision) => decision,
        Err(error) => {
            report.message = error.to_string();
            return report;
        }
    };
    match decision {
        Decision::NeverFired => {
            report.status = JobStatus::NeverFired;
            report.message = "no fire in the year before now".to_owned();
        }
        Decision::Done(occurrence) => {
            report.status = JobStatus::AlreadyRan;
            report.message = format!(
                "fire {} (period `{}`) already ran",
                occurrence.fire, occurrence.period
            );
            report.occurrence = Some(occurrence);
        }
        Decision::Missed {
            occurrence,
            late_by,
        } => {
            report.status = JobStatus::Missed;
            report.message = format!(
                "fire {} (period `{}`) was missed: it is {} old, more than `catch_up` {}, so it \
                 is skipped; to pay it, run `payroll apply --period {} {}`",
                occurrence.fire,
                occurrence.period,
                human(late_by),
                human(job.schedule.catch_up),
                occurrence.period,
                job.path.display()
            );
            report.occurrence = Some(occurrence);
        }
        Decision::Run { occurrence, resume } => {
            warn_older(store.as_ref(), job, &occurrence);
            let (status, message) =
                run_occurrence(store.as_ref(), job, &occurrence, resume, context).await;
            report.status = status;
            report.message = message;
            report.occurrence = Some(occurrence);
        }
    }
    report
}

/// Opens state, waiting up to `lock_wait` while another process has it locked.
async fn open_state(context: &RunContext<'_>) -> Result<Box<dyn Store>, StateError> {
    let started = Instant::now();
    loop {
        match (context.open_state)() {
            Err(error) if is_locked(&error) && started.elapsed() < context.lock_wait => {
                tracing::debug!(%error, "state folder is locked; waiting");
                context.stop.sleep(LOCK_RETRY).await;
                if context.stop.is_requested() {
                    return Err(error);
                }
            }
            other => return other,
        }
    }
}

/// Formats a state error with what to do next.
pub(crate) fn state_message(error: &StateError) -> String {
    format!("{error}; nothing was paid. help: {}", error.help())
}

fn is_locked(error: &StateError) -> bool {
    matches!(
        error,
        StateError::Locked { .. } | StateError::LockedUnknown { .. }
    )
}

/// Logs the fires that never ran between the job's last scheduled run and `occurrence`, and
/// older occurrences that were interrupted and are not resumed because a newer fire replaced
/// them.
fn warn_older(store: &dyn Store, job: &ScheduledJob, occurrence: &Occurrence) {
    let name = job.name();
    match occurrence::missed_before(store, name, &job.schedule, &occurrence.fire) {
        Ok(missed) if !missed.is_empty() => {
            let periods: Vec<String> = missed
                .iter()
                .filter_map(|fire| job.schedule.period_of(fire).ok())
                .collect();
            tracing::warn!(
                job = %name,
                count = missed.len(),
                first = %missed[0],
                periods = %periods.join(", "),
                "skipped missed fires: only the latest fire runs"
            );
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(job = %name, %error, "could not list missed fires"),
    }
    let runs = match store.runs(name) {
        Ok(runs) => runs,
        Err(error) => {
            tracing::warn!(job = %name, %error, "could not read run records");
            return;
        }
    };
    let latest = occurrence.fire.timestamp();
    for run in runs {
        let older = scheduled_fire(&run).is_some_and(|fire| fire < latest);
        if older && !is_finished(run.outcome) {
            tracing::warn!(
                job = %name,
                period = %run.period,
                run = %run.id,
                outcome = ?run.outcome,
                "an older occurrence did not finish and a newer fire replaced it; finish it \
                 with `payroll apply --period {} {}`",
                run.period,
                job.path.display()
            );
        }
    }
}

fn log_report(report: &JobReport) {
    let period = report
        .occurrence
        .as_ref()
        .map(|occurrence| occurrence.period.as_str())
        .unwrap_or("-");
    let job = report.job.as_str();
    let message = report.message.as_str();
    let status = report.status;
    match status {
        JobStatus::NeverFired | JobStatus::AlreadyRan => {
            tracing::debug!(job = %job, period = %period, ?status, "{message}");
        }
        JobStatus::Paid => tracing::info!(job = %job, period = %period, "run finished: {message}"),
        JobStatus::Missed => tracing::warn!(job = %job, period = %period, "{message}"),
        JobStatus::FailedPayments | JobStatus::UnknownOutcome | JobStatus::Stopped => {
            tracing::warn!(job = %job, period = %period, ?status, "run finished: {message}");
        }
        JobStatus::Error => tracing::error!(job = %job, period = %period, "run failed: {message}"),
    }
}

/// Formats a duration as whole days, hours and minutes, such as `2d 3h` or `45m`.
pub fn human(duration: SignedDuration) -> String {
    let minutes = duration.as_secs().max(0) / 60;
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days}d"));
    }
    if hours > 0 {
        parts.push(format!("{hours}h"));
    }
    if minutes > 0 || parts.is_empty() {
        parts.push(format!("{minutes}m"));
    }
    parts.join(" ")
}
