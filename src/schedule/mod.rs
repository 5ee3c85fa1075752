//! Scheduled runs of the manifests in a jobs folder: `payroll run`.
//!
//! [`jobs`] loads the folder and [`fires`] turns each cron into fire times. [`occurrence`]
//! decides what the latest fire of a job needs. [`runner`] makes one pass over the jobs, and
//! `execute` claims and pays each due occurrence through `plan` and `apply`. [`daemon`] repeats
//! the pass at each fire until a stop request.

pub mod daemon;
mod execute;
pub mod fires;
pub mod jobs;
pub mod occurrence;
pub mod runner;
pub mod stop;

pub use daemon::{Clock, run_daemon};
pub use jobs::{JobsFolder, ScheduledJob, load_folder};
pub use runner::{JobReport, JobStatus, OpenState, PassReport, RunContext, run_pass};
pub use stop::StopSignal;

/// Logs every invalid job file with its diagnostics, and every warning of the valid ones.
pub fn log_invalid(folder: &JobsFolder) {
    for invalid in &folder.invalid {
        tracing::error!(
            file = %invalid.path.display(),
            "job file skipped: {:?}",
            invalid.report
        );
    }
    for job in &folder.jobs {
        for warning in &job.warnings {
            tracing::warn!(job = %job.name(), file = %job.path.display(), "{warning}");
        }
    }
}
