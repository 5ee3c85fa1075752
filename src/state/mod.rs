//! The applied-state store: what `payroll` sent, what the provider answered, and the audit log.
//!
//! State is a cache of the provider's truth plus an audit log. The store sits behind [`Store`] so
//! that a shared backend for several CI runners can be added without touching `plan` or `apply`.

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
