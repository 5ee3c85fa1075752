//! The daemon: sleeps until the next fire of any job, re-reads the folder when its files
//! change, and runs each pass with [`run_pass`].

use std::path::Path;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};

use crate::schedule::jobs::{self, Fingerprint, JobsFolder};
use crate::schedule::runner::{JobStatus, RunContext, run_pass};
use crate::schedule::{fires, log_invalid};

/// The first wait before a job that ended in an error or with unsettled payments is tried again.
/// The wait doubles up to [`MAX_RETRY`] while such results go on.
const FIRST_RETRY: Duration = Duration::from_secs(60);
const MAX_RETRY: Duration = Duration::from_secs(30 * 60);

/// The daemon's time: the system clock, or a test clock that starts at a given instant and
/// advances in real time.
#[derive(Clone, Debug)]
pub struct Clock {
    start: Option<(Timestamp, Instant)>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock { start: None }
    }

    /// Starts a clock that reads `start` now and advances with real time from here.
    pub fn starting_at(start: Timestamp) -> Clock {
        Clock {
            start: Some((start, Instant::now())),
        }
    }

    pub fn now(&self) -> Timestamp {
        match self.start {
            None => Timestamp::now(),
            Some((start, since)) => {
                let elapsed =
                    SignedDuration::try_from(since.elapsed()).unwrap_or(SignedDuration::MAX);
                start.saturating_add(elapsed).unwrap_or(start)
            }
        }
    }
}

/// Runs passes over `dir` until a stop request, then returns after the batch in flight is
/// recorded. It sleeps at most `rescan` between two looks at the folder.
///
/// A folder that cannot be read is logged and read again at the next look; the jobs loaded
/// before keep their schedule meanwhile.
pub async fn run_daemon(dir: &Path, clock: &Clock, rescan: Duration, context: &RunContext<'_>) {
    tracing::info!(folder = %dir.display(), now = %clock.now(), "daemon started");
    let mut fingerprint: Option<Fingerprint> = None;
    let mut folder = JobsFolder::default();
    // The instant up to which every fire has been handled by a pass.
    let mut handled = clock.now();
    let mut retry: Option<(Timestamp, Duration)> = None;

    while !context.stop.is_requested() {
        let now = clock.now();
        let current = Fingerprint::of(dir);
        let changed = fingerprint.as_ref() != Some(&current);
        if changed {
            match reload(dir, fingerprint.is_some()) {
                Ok(loaded) => {
                    folder = loaded;
                    fingerprint = Some(current);
                }
                Err(error) => {
                    tracing::error!(%error, "jobs folder not read; trying again at the next look");
                }
            }
        }
        let next_due = next_fire(&folder, handled);
        let due = next_due.is_some_and(|fire| fire <= now);
        let retry_due = retry.is_some_and(|(at, _)| at <= now);

        if changed || due || retry_due {
            let pass = run_pass(&folder, now, context).await;
            handled = now;
            let failed = pass
                .jobs
                .iter()
                .any(|job| matches!(job.status, JobStatus::Error | JobStatus::UnknownOutcome));
            retry = match (failed, retry) {
                (false, _) => None,
                (true, previous) => {
                    let wait = previous
                        .map(|(_, wait)| (wait * 2).min(MAX_RETRY))
                        .unwrap_or(FIRST_RETRY);
                    tracing::info!(retry_in = ?wait, "a job failed or is unsettled; the daemon tries it again");
                    Some((add(clock.now(), wait), wait))
                }
            };
            if pass.stopped {
                break;
            }
            continue;
        }

        let mut wake = add(now, rescan);
        if let Some(fire) = next_due {
            wake = wake.min(fire);
        }
        if let Some((at, _)) = retry {
            wake = wake.min(at);
        }
        let sleep = Duration::try_from(wake.duration_since(now)).unwrap_or(Duration::ZERO);
        tracing::debug!(until = %wake, next_fire = ?next_due.map(|t| t.to_string()), "sleeping");
        context
            .stop
            .sleep(sleep.max(Duration::from_millis(10)))
            .await;
    }
    tracing::info!("daemon stopped");
}

fn reload(dir: &Path, again: bool) -> Result<JobsFolder, jobs::FolderError> {
    let folder = jobs::load_folder(dir)?;
    log_invalid(&folder);
    let names: Vec<&str> = folder.jobs.iter().map(|job| job.name()).collect();
    tracing::info!(
        folder = %dir.display(),
        jobs = %names.join(", "),
        invalid = folder.invalid.len(),
        "{}",
        if again { "jobs folder changed; reloaded" } else { "jobs folder loaded" }
    );
    Ok(folder)
}

/// Returns the earliest fire of any job strictly after `after`.
pub fn next_fire(folder: &JobsFolder, after: Timestamp) -> Option<Timestamp> {
    folder
        .jobs
        .iter()
        .filter_map(|job| fires::fires_after(&job.schedule, after, 1).pop())
        .map(|fire| fire.timestamp())
        .min()
}

fn add(time: Timestamp, duration: Duration) -> Timestamp {
    let signed = SignedDuration::try_from(duration).unwrap_or(SignedDuration::MAX);
    time.saturating_add(signed).unwrap_or(time)
}
