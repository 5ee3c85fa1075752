//! Request and response bodies of the Djamo Transfer API, shared by the client and the sandbox.
//!
//! Field names follow the published JSON (camelCase). Unknown fields are accepted in both
//! directions because the published examples send fields, such as `description`, that the
//! parameter tables leave out.

use serde::{Deserialize, Serialize};

use crate::money::Amount;

/// The only transaction type the API accepts.
pub const TRANSFER: &str = "transfer";

/// Status of a transaction. Only `pending` ever changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransactionStatus {
    Pending,
    Completed,
    Failed,
}

impl TransactionStatus {
    pub fn is_final(self) -> bool {
        !matches!(self, TransactionStatus::Pending)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TransactionStatus::Pending => "pending",
            TransactionStatus::Completed => "completed",
            TransactionStatus::Failed => "failed",
        }
    }
}

/// A transaction as the provider returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    pub id: String,
    pub created_at: String,
    pub updated_at: String,
    pub amount: Amount,
    pub fee: Amount,
    pub total_amount: Amount,
    pub status: TransactionStatus,
    pub msisdn: String,
    pub reference: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<String>,
    #[serde(default)]
    pub failure_reason: Option<String>,
}

/// The body of `POST /v1/transactions` and one item of a batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewTransaction {
    pub msisdn: String,
    pub amount: Amount,
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// The body of `POST /v1/transactions/batch`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRequest {
    pub transactions: Vec<NewTransaction>,
}

/// The batch object returned by `POST /v1/transactions/batch`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Batch {
    pub id: String,
    pub created_at: String,
    pub updated_at: String,
    pub total_amount: Amount,
    pub status: String,
    pub total_fee: Amount,
    pub transactions: Vec<Transaction>,
}

/// Cursors of a page; `null` when there is no page in that direction.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub prev: Option<String>,
    pub next: Option<String>,
}

/// One page of `GET /v1/transactions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub count: u64,
    pub limit: u64,
    pub cursor: Cursor,
    pub data: Vec<T>,
}

/// The body of `GET /v1/balance`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub balance: Amount,
    pub currency: String,
}

/// The body of `GET /v1/transactions/customers/check`.
///
/// The published documentation names only the KYC status; the sandbox also echoes the MSISDN.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerCheck {
    #[serde(default)]
    pub msisdn: Option<String>,
    pub kyc_status: String,
}

impl CustomerCheck {
    /// `complete` is the only status that means the customer passed identification.
    pub fn is_complete(&self) -> bool {
        self.kyc_status == "complete"
    }
}

/// The body of every error response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub message: String,
    /// A machine-readable code; the sandbox sets it, the published API does not promise it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}
