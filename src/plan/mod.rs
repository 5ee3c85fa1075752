//! Plans: what paying a job for one period would do to every recipient and every franc.
//!
//! A plan compares the manifest's rendered payments with state and with the provider, checks KYC,
//! limits and the balance, and can be saved to a file that `apply` later pays exactly as shown.

pub mod build;
mod checks;
pub mod file;
pub mod render;

use serde::{Deserialize, Serialize};

use crate::money::Amount;

pub use build::{PlanOptions, build};
pub use file::{PlanFile, PlanFileError};

/// The action apply takes for one payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Send it: no payment with this reference exists yet.
    Pay,
    /// Nothing: already paid, or failed and not retried.
    None,
    /// Created and not settled yet: apply waits for it.
    Wait,
    /// Send again under a new, derived reference, because the earlier one failed.
    Retry,
    /// Not sent, and the plan cannot be applied until the reason is fixed.
    Blocked,
    /// Left out of this run with a warning (`on_kyc_failure: skip`).
    Skip,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pay => "pay",
            Action::None => "none",
            Action::Wait => "wait",
            Action::Retry => "retry",
            Action::Blocked => "blocked",
            Action::Skip => "skip",
        }
    }

    /// True when apply sends a transaction for this item.
    pub fn sends(self) -> bool {
        matches!(self, Action::Pay | Action::Retry)
    }
}

/// One payment of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanItem {
    pub id: String,
    pub name: String,
    pub msisdn: String,
    pub amount: Amount,
    /// Fee of this payment when it is sent; 0 when it is not.
    pub fee: Amount,
    /// The reference apply sends, or the one already paid.
    pub reference: String,
    pub description: Option<String>,
    pub action: Action,
    pub reason: String,
    /// The payment's current status: `new`, or a state or provider status.
    pub status: String,
    /// For a retry: the failed reference it replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<String>,
    /// The provider's transaction id when one exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
}

/// A paid or pending reference of this job and period that the manifest no longer lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Orphan {
    pub reference: String,
    pub msisdn: String,
    pub amount: Amount,
    pub status: String,
}

/// Counts and totals of a plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub to_pay: u64,
    pub already_paid: u64,
    pub in_progress: u64,
    pub blocked: u64,
    pub skipped: u64,
    pub failed: u64,
    /// Sum of the amounts to send.
    pub amount: Amount,
    /// Sum of their fees.
    pub fees: Amount,
    /// `amount + fees`: what the business account is debited.
    pub total: Amount,
    /// The business balance seen when the plan was made.
    pub balance: Amount,
    /// `balance - total`, or 0 when the balance does not cover it.
    pub balance_after: Amount,
}

/// The plan of one job for one period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub job: String,
    pub period: String,
    pub summary: Summary,
    /// Reasons that stop the whole plan, beside blocked items.
    pub blockers: Vec<String>,
    pub warnings: Vec<String>,
    pub items: Vec<PlanItem>,
    pub orphans: Vec<Orphan>,
    /// Digest of the manifest the plan was made from.
    pub manifest_digest: String,
    /// The job's state serial when the plan was made.
    pub state_serial: u64,
    /// KYC status per MSISDN checked, `not_found` for a number that is not a customer.
    pub kyc: std::collections::BTreeMap<String, String>,
}

impl Plan {
    /// True when anything stops this plan from being applied.
    pub fn is_blocked(&self) -> bool {
        !self.blockers.is_empty() || self.summary.blocked > 0
    }

    /// True when applying it would send at least one payment.
    pub fn has_changes(&self) -> bool {
        self.items.iter().any(|item| item.action.sends())
    }

    /// True when applying it would send or wait for something.
    pub fn has_work(&self) -> bool {
        self.items
            .iter()
            .any(|item| item.action.sends() || item.action == Action::Wait)
    }
}
