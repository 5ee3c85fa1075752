//! Occurrences: one fire of one job, identified by the job and the fire time in RFC 3339 UTC,
//! and the decision of what a run does with the latest one.
//!
//! Each occurrence that starts is claimed in state, then gets a run record whose id is
//! `schedule:<fire time>`. Its outcome separates a finished occurrence from one that must be
//! resumed. `completed` and `failed_payments` are finished, because a retry of failed payments
//! needs a person's decision. `running` (left by a crash), `stopped`, `unknown` and `error` are
//! resumed, and so is a claim with no record, left by a crash between the claim and the record. Resuming is safe because references are rendered from the
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::schedule::parse_schedule;
    use crate::manifest::types::Schedule;
    use crate::state::{SCHEMA_VERSION, SledStore};

    const JOB: &str = "bonus";

    fn monthly() -> ParsedSchedule {
        parse_schedule(&Schedule {
            cron: "0 9 25 * *".to_owned(),
            timezone: "Africa/Abidjan".to_owned(),
            period: Some("%Y-%m".to_owned()),
            catch_up: None,
        })
        .expect("valid schedule")
    }

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    fn record(fire: &str, period: &str, outcome: RunOutcome) -> RunRecord {
        RunRecord {
            schema_version: SCHEMA_VERSION,
            id: format!("{RUN_ID_PREFIX}{fire}"),
            job: JOB.to_owned(),
            period: period.to_owned(),
            started_at: fire.to_owned(),
            finished_at: None,
            outcome,
            plan_digest: None,
            submitted: 0,
            completed: 0,
            failed: 0,
            message: None,
        }
    }

    fn decide_at(store: &SledStore, now: &str) -> Decision {
        decide(store, JOB, &monthly(), at(now)).expect("decides")
    }

    #[test]
    fn unclaimed_recent_fire_runs() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let store = SledStore::open(dir.path()).expect("state opens");
        let Decision::Run { occurrence, resume } = decide_at(&store, "2026-12-25T20:00:00Z") else {
            panic!("a fire 11 hours old runs");
        };
        assert_eq!(occurrence.period, "2026-12");
        assert_eq!(occurrence.run_id(), "schedule:2026-12-25T09:00:00Z");
        assert_eq!(resume, None);
    }

    #[test]
    fn unclaimed_old_fire_is_missed() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let store = SledStore::open(dir.path()).expect("state opens");
        let decision = decide_at(&store, "2026-12-26T09:00:01Z");
        let Decision::Missed { late_by, .. } = decision else {
            panic!("a fire one day and one second old is missed: {decision:?}");
        };
        assert_eq!(late_by, SignedDuration::from_secs(24 * 3600 + 1));
    }

    #[test]
    fn claimed_fire_resumes_until_finished() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let store = SledStore::open(dir.path()).expect("state opens");
        let fire = "2026-12-25T09:00:00Z";
        assert!(store.claim_occurrence(JOB, fire).expect("claims"));

        // Claimed with no run record: a crash between the claim and the record.
        let decision = decide_at(&store, "2026-12-28T09:00:00Z");
        assert!(
            matches!(
                decision,
                Decision::Run {
                    resume: Some(RunOutcome::Running),
                    ..
                }
            ),
            "{decision:?}"
        );

        for outcome in [
            RunOutcome::Running,
            RunOutcome::Stopped,
            RunOutcome::Unknown,
            RunOutcome::Error,
        ] {
            store
                .put_run(&record(fire, "2026-12", outcome))
                .expect("records");
            let decision = decide_at(&store, "2026-12-28T09:00:00Z");
            assert!(
                matches!(decision, Decision::Run { resume: Some(found), .. } if found == outcome),
                "`{outcome:?}` resumes: {decision:?}"
            );
        }
        for outcome in [RunOutcome::Completed, RunOutcome::FailedPayments] {
            store
                .put_run(&record(fire, "2026-12", outcome))
                .expect("records");
            let decision = decide_at(&store, "2026-12-28T09:00:00Z");
            assert!(
                matches!(decision, Decision::Done(_)),
                "`{outcome:?}` is finished: {decision:?}"
            );
        }
    }

    #[test]
    fn missed_fires_since_last_run() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let store = SledStore::open(dir.path()).expect("state opens");
        let schedule = monthly();
        let latest = fires::latest_fire(&schedule, at("2027-02-25T09:00:00Z")).expect("fired");
        let never_ran = missed_before(&store, JOB, &schedule, &latest).expect("lists");
        assert!(never_ran.is_empty(), "a job that never ran missed nothing");

        store
            .put_run(&record(
                "2026-11-25T09:00:00Z",
                "2026-11",
                RunOutcome::Completed,
            ))
            .expect("records");
        let missed = missed_before(&store, JOB, &schedule, &latest).expect("lists");
        let shown: Vec<String> = missed
            .iter()
            .map(|fire| fire.timestamp().to_string())
            .collect();
        assert_eq!(shown, ["2026-12-25T09:00:00Z", "2027-01-25T09:00:00Z"]);
    }
}
