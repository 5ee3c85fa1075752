//! The applied-state store: what `payroll` sent, what the provider answered, and the audit log.
//!
//! State is a cache of the provider's truth plus an audit log. The store sits behind [`Store`] so
//! that a shared backend for several CI runners can be added without touching `plan` or `apply`.

mod codec;
pub mod lock;
pub mod record;
pub mod sled_store;

pub use record::{PaymentRecord, PaymentStatus, RunOutcome, RunRecord, SCHEMA_VERSION};
pub use sled_store::SledStore;

/// Errors of the state store. None of them is ever treated as an empty state.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state folder `{path}` is locked by pid {pid} since {since}")]
    Locked {
        path: String,
        pid: String,
        since: String,
    },
    /// The lock is held, but the holder has not written its pid yet or its lock file is gone.
    #[error("state folder `{path}` is locked by another process")]
    LockedUnknown { path: String },
    #[error("state folder `{path}` could not be opened: {cause}")]
    Open { path: String, cause: String },
    #[error("state folder `{path}` is corrupt: {cause}")]
    Corrupt { path: String, cause: String },
    #[error("state record `{key}` has schema version {found}, this build reads {expected}")]
    Version {
        key: String,
        found: u32,
        expected: u32,
    },
    #[error("state write to `{path}` failed: {cause}")]
    Write { path: String, cause: String },
    #[error("state key part `{value}` contains a NUL byte, which keys use as a separator")]
    InvalidKey { value: String },
}

impl StateError {
    /// A line that tells the user what to do next, for the command layer to show below the
    /// error.
    pub fn help(&self) -> String {
        match self {
            StateError::Locked { pid, .. } => format!(
                "wait for the run with pid {pid} to finish; if no payroll process is running, \
                 another program holds the lock file open: find it with `fuser` or `lsof` on the \
                 folder's `lock` file, or use another state folder with `--state`"
            ),
            StateError::LockedUnknown { .. } => "wait for the other run to finish; if no payroll \
                 process is running, another program holds the lock: find it with `fuser` or \
                 `lsof` on the folder's `lock` and `db/db` files"
                .to_owned(),
            StateError::Open { .. } => "point `--state` (or `PAYROLL_STATE`) at a folder that \
                 this user can read and write"
                .to_owned(),
            StateError::Version { found, .. } => format!(
                "nothing was planned or paid; this folder was written with state schema version \
                 {found}: use the payroll build that wrote it"
            ),
            StateError::Corrupt { .. } => {
                "nothing was planned or paid; restore the folder from a backup, or move it aside \
                 and run again on an empty state folder: `plan` then looks every reference up \
                 on the provider, so payments already made are still seen"
                    .to_owned()
            }
            StateError::Write { .. } => {
                "check free disk space and the folder's permissions, then run again".to_owned()
            }
            StateError::InvalidKey { .. } => {
                "remove the NUL byte from the job, period or reference".to_owned()
            }
        }
    }
}

/// The store's operations. Every write is durable (flushed) before the call returns, and bumps
/// the serial of each job it touches.
pub trait Store: Send + Sync {
    /// All payments of one job and period, in reference order.
    fn payments(&self, job: &str, period: &str) -> Result<Vec<PaymentRecord>, StateError>;

    /// One payment, if recorded.
    fn payment(
        &self,
        job: &str,
        period: &str,
        reference: &str,
    ) -> Result<Option<PaymentRecord>, StateError>;

    /// Inserts or replaces the records in one atomic, flushed write.
    fn put_payments(&self, records: &[PaymentRecord]) -> Result<(), StateError>;

    /// A number that changes on every write touching `job`; 0 for a job never written.
    fn serial(&self, job: &str) -> Result<u64, StateError>;

    /// Inserts or replaces a run record.
    fn put_run(&self, run: &RunRecord) -> Result<(), StateError>;

    /// Runs of a job, oldest first.
    fn runs(&self, job: &str) -> Result<Vec<RunRecord>, StateError>;

    /// Records that the saved plan with this digest was applied. Returns false when it already
    /// was, so that a plan is applied once.
    fn claim_plan(&self, digest: &str) -> Result<bool, StateError>;

    /// Records that the scheduled occurrence `(job, fire_time)` is taken. Returns false when it
    /// already was, so that two runners at the same instant run it once.
    fn claim_occurrence(&self, job: &str, fire_time: &str) -> Result<bool, StateError>;

    /// Whether the scheduled occurrence was already claimed.
    fn occurrence_claimed(&self, job: &str, fire_time: &str) -> Result<bool, StateError>;
}
