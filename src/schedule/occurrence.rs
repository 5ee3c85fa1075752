//! Occurrences: one fire of one job, identified by the job and the fire time in RFC 3339 UTC,
//! and the decision of what a run does with the latest one.
//!
//! Each occurrence that starts is claimed in state, then gets a run record whose id is
//! `schedule:<fire time>`. The record's outcome separates a finished occurrence (`completed`, or
//! `failed_payments`, which needs a person to decide on a retry) from one that must be resumed
//! (`running` after a crash, `stopped`, `unknown` or `error`, or no record at all after a crash
//! between the claim and the record). Resuming is safe because references are rendered from the
//! job, the period and the recipient, so a second run of one occurrence only pays what the first
//! did not.

use jiff::{SignedDuration, Timestamp, Zoned};

use crate::manifest::schedule::ParsedSchedule;
use crate::schedule::fires;
use crate::state::{RunOutcome, RunRecord, StateError, Store};

/// Prefix of the ids of the run records that scheduled occurrences write.
pub const RUN_ID_PREFIX: &str = "schedule:";

/// How many missed fires one report lists at most.
const MISSED_LIST_LIMIT: usize = 100;

/// One fire of one job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occurrence {
    pub job: String,
    /// The fire time in the job's time zone.
    pub fire: Zoned,
    /// The period this fire pays.
    pub period: String,
}

impl Occurrence {
    /// Returns the fire time as RFC 3339 UTC, the occurrence's key in state.
    pub fn fire_key(&self) -> String {
        self.fire.timestamp().to_string()
    }

    /// Returns the id of the run record of this occurrence.
    pub fn run_id(&self) -> String {
        format!("{RUN_ID_PREFIX}{}", self.fire_key())
    }
}

/// The action a run takes on a job's latest fire.
#[derive(Clone, Debug)]
pub enum Decision {
    /// The schedule has not fired in the year before now.
    NeverFired,
    /// The latest fire already ran to the end.
    Done(Occurrence),
    /// Run the occurrence: for the first time, or again after an interrupted run.
    Run {
        occurrence: Occurrence,
        /// The outcome of the interrupted run being resumed; `None` for a first run.
        resume: Option<RunOutcome>,
    },
    /// The latest fire never started and is older than `catch_up`, so it is skipped.
    Missed {
        occurrence: Occurrence,
        late_by: SignedDuration,
    },
}

/// Errors that prevent a decision.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("job `{job}`: {message}")]
    Period { job: String, message: String },
}

/// Returns whether a run of an occurrence with this outcome is over for good.
pub fn is_finished(outcome: RunOutcome) -> bool {
    matches!(outcome, RunOutcome::Completed | RunOutcome::FailedPayments)
}

/// Builds the occurrence of `job` that fires at `fire`.
pub fn occurrence_at(
    job: &str,
    schedule: &ParsedSchedule,
    fire: Zoned,
) -> Result<Occurrence, DecisionError> {
    let period = schedule
        .period_of(&fire)
        .map_err(|message| DecisionError::Period {
            job: job.to_owned(),
            message,
        })?;
    Ok(Occurrence {
        job: job.to_owned(),
        fire,
        period,
    })
}

/// Decides what a run at `now` does with `job`: only its latest fire at or before `now` is
/// considered.
pub fn decide(
    store: &dyn Store,
    job: &str,
    schedule: &ParsedSchedule,
    now: Timestamp,
) -> Result<Decision, DecisionError> {
    let Some(fire) = fires::latest_fire(schedule, now) else {
        return Ok(Decision::NeverFired);
    };
    let occurrence = occurrence_at(job, schedule, fire)?;
    let key = occurrence.fire_key();

    if store.occurrence_claimed(job, &key)? {
        let run_id = occurrence.run_id();
        let record = store.runs(job)?.into_iter().find(|run| run.id == run_id);
        return Ok(match record {
            Some(run) if is_finished(run.outcome) => Decision::Done(occurrence),
            Some(run) => Decision::Run {
                occurrence,
                resume: Some(run.outcome),
            },
            None => Decision::Run {
                occurrence,
                resume: Some(RunOutcome::Running),
            },
        });
    }

    let late_by = now.duration_since(occurrence.fire.timestamp());
    if late_by > schedule.catch_up {
        return Ok(Decision::Missed {
            occurrence,
            late_by,
        });
    }
    Ok(Decision::Run {
        occurrence,
        resume: None,
    })
}

/// Fires between the job's latest scheduled run and `fire` that never ran: the fires a
/// stopped daemon or a powered-off machine missed. Empty for a job that never ran on a
/// schedule. At most 100 are listed.
pub fn missed_before(
    store: &dyn Store,
    job: &str,
    schedule: &ParsedSchedule,
    fire: &Zoned,
) -> Result<Vec<Zoned>, StateError> {
    let last_run = store
        .runs(job)?
        .iter()
        .filter_map(scheduled_fire)
        .filter(|ran| *ran < fire.timestamp())
        .max();
    let Some(last_run) = last_run else {
        return Ok(Vec::new());
    };
    Ok(fires::fires_between(
        schedule,
        last_run,
        fire.timestamp(),
        MISSED_LIST_LIMIT,
    ))
}

/// Returns the fire time of a scheduled occurrence's run record, or `None` for another run.
pub fn scheduled_fire(run: &RunRecord) -> Option<Timestamp> {
    run.id.strip_prefix(RUN_ID_PREFIX)?.parse().ok()
}
