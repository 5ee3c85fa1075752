//! The `/_sandbox` administration endpoints, and their request bodies.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::djamo::wire::Balance;
use crate::money::Amount;
use crate::msisdn::Msisdn;
use crate::sandbox::error::ApiFailure;
use crate::sandbox::faults::Fault;
use crate::sandbox::ledger::LedgerEntry;
use crate::sandbox::numbers::{Customer, KYC_COMPLETE};
use crate::sandbox::server::AppState;

/// The body of `POST /_sandbox/balance`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetBalance {
    pub amount: Amount,
}

/// The body of `POST /_sandbox/customers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerSpec {
    pub msisdn: String,
    /// `complete` when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kyc_status: Option<String>,
    /// True when not set; false makes the number unknown to Djamo.
    #[serde(default = "yes")]
    pub exists: bool,
    /// The largest amount one transfer may bring; a larger one fails with
    /// `TRANSACTION_AMOUNT_OVER_ACCOUNT_LIMIT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Amount>,
    /// Every transfer to this number fails with this reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fails_with: Option<String>,
}

fn yes() -> bool {
    true
}

impl CustomerSpec {
    /// Builds the spec of a customer with complete KYC.
    pub fn new(msisdn: impl Into<String>) -> CustomerSpec {
        CustomerSpec {
            msisdn: msisdn.into(),
            kyc_status: None,
            exists: true,
            limit: None,
            fails_with: None,
        }
    }
}

type Answer<T> = Result<(StatusCode, Json<T>), ApiFailure>;

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiFailure> {
    serde_json::from_slice(body).map_err(|e| ApiFailure::bad_request(format!("invalid body: {e}")))
}

/// `GET /_sandbox/ledger`: every transaction ever created, oldest first.
pub async fn ledger(State(state): State<AppState>) -> Answer<Vec<LedgerEntry>> {
    state.settle_due().await?;
    Ok((StatusCode::OK, Json(state.ledger.entries()?)))
}

/// `POST /_sandbox/balance`.
pub async fn set_balance(State(state): State<AppState>, body: Bytes) -> Answer<Balance> {
    let request: SetBalance = parse(&body)?;
    state.ledger.set_balance(request.amount)?;
    state.ledger.flush().await?;
    Ok((
        StatusCode::OK,
        Json(Balance {
            balance: request.amount,
            currency: "XOF".to_owned(),
        }),
    ))
}

/// `POST /_sandbox/customers`: adds or changes a customer.
pub async fn put_customer(State(state): State<AppState>, body: Bytes) -> Answer<Customer> {
    let spec: CustomerSpec = parse(&body)?;
    let msisdn = Msisdn::parse(&spec.msisdn)
        .map_err(|e| ApiFailure::bad_request(format!("`msisdn` is not a valid msisdn: {e}")))?;
    if spec
        .kyc_status
        .as_deref()
        .is_some_and(|k| k.trim().is_empty())
    {
        return Err(ApiFailure::bad_request(
            "`kycStatus` must not be empty; use `complete` for a validated customer",
        ));
    }
    let customer = Customer {
        msisdn: msisdn.as_str().to_owned(),
        exists: spec.exists,
        kyc_status: spec.kyc_status.unwrap_or_else(|| KYC_COMPLETE.to_owned()),
        limit: spec.limit,
        fails_with: spec.fails_with,
    };
    state.ledger.put_customer(&customer)?;
    state.ledger.flush().await?;
    Ok((StatusCode::OK, Json(customer)))
}

/// `POST /_sandbox/faults`: arms a fault.
pub async fn add_fault(State(state): State<AppState>, body: Bytes) -> Answer<Fault> {
    let fault: Fault = parse(&body)?;
    fault.validate()?;
    state.faults.add(fault.clone());
    Ok((StatusCode::CREATED, Json(fault)))
}

/// `GET /_sandbox/faults`: the faults still armed.
pub async fn list_faults(State(state): State<AppState>) -> Answer<Vec<Fault>> {
    Ok((StatusCode::OK, Json(state.faults.list())))
}

/// `DELETE /_sandbox/faults`.
pub async fn clear_faults(State(state): State<AppState>) -> StatusCode {
    state.faults.clear();
    StatusCode::NO_CONTENT
}
