//! Values kept in the state store.

use serde::{Deserialize, Serialize};

use crate::money::Amount;
use crate::msisdn::Msisdn;

/// Version of the record layout, stored in every value so that a later layout can read or refuse
/// an older one.
pub const SCHEMA_VERSION: u32 = 1;

/// The status of a payment as recorded in this store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Written before the request that creates it was sent; the outcome is not known yet.
    Submitting,
    /// The send failed in a way that may or may not have created it; look it up by reference.
    Unknown,
    /// The provider rejected the request that would have created it (HTTP 400, 401, 402 or 403,
    /// or a reference it holds for another payment), so nothing was created. It is still looked up
    /// by reference before it is sent again.
    NotCreated,
    /// Created at the provider and not settled.
    Pending,
    Completed,
    Failed,
}

impl PaymentStatus {
    /// True when the provider must be asked before this payment is sent again.
    pub fn needs_reconcile(self) -> bool {
        matches!(
            self,
            PaymentStatus::Submitting | PaymentStatus::Unknown | PaymentStatus::NotCreated
        )
    }

    /// True when a send may or may not have created the payment.
    pub fn outcome_unknown(self) -> bool {
        matches!(self, PaymentStatus::Submitting | PaymentStatus::Unknown)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Submitting => "submitting",
            PaymentStatus::Unknown => "unknown",
            PaymentStatus::NotCreated => "not_created",
            PaymentStatus::Pending => "pending",
            PaymentStatus::Completed => "completed",
            PaymentStatus::Failed => "failed",
        }
    }
}

/// One payment, identified by `(job, period, reference)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    pub schema_version: u32,
    pub job: String,
    pub period: String,
    pub reference: String,
    pub recipient_id: String,
    pub msisdn: Msisdn,
    pub amount: Amount,
    pub fee: Amount,
    pub description: Option<String>,
    pub status: PaymentStatus,
    pub transaction_id: Option<String>,
    pub batch_id: Option<String>,
    pub failure_reason: Option<String>,
    /// For a retry of a failed payment: the reference of the payment it replaces.
    pub retry_of: Option<String>,
    /// RFC 3339 times of the first write and the latest change.
    pub created_at: String,
    pub updated_at: String,
}

/// The outcome of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    Running,
    Completed,
    FailedPayments,
    Unknown,
    Stopped,
    Error,
}

/// The audit record of one `apply` or scheduled run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub schema_version: u32,
    pub id: String,
    pub job: String,
    pub period: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub outcome: RunOutcome,
    /// Digest of the saved plan the run applied, if any.
    pub plan_digest: Option<String>,
    pub submitted: u64,
    pub completed: u64,
    pub failed: u64,
    pub message: Option<String>,
}
