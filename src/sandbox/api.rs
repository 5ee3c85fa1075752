//! The `/v1` endpoints of the Djamo Transfer API.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use crate::djamo::wire::{Balance, Batch, CustomerCheck, Page, Transaction};
use crate::money::Amount;
use crate::msisdn::Msisdn;
use crate::sandbox::error::ApiFailure;
use crate::sandbox::ledger::{
    DEFAULT_LIMIT, LedgerEntry, MAX_LIMIT, PageCursor, format_ms, now_ms,
};
use crate::sandbox::server::AppState;
use crate::sandbox::validate;

/// The status of a batch when it is created; the API has no endpoint that reads it again.
pub const BATCH_STATUS: &str = "processing";

type Answer<T> = Result<(StatusCode, Json<T>), ApiFailure>;

/// `POST /v1/transactions`.
pub async fn create_one(State(state): State<AppState>, body: Bytes) -> Answer<Transaction> {
    let transfer = validate::single(&body)?;
    // Refunds that came due count towards the balance this request is checked against.
    state.settle_due().await?;
    let entries = state
        .ledger
        .create(&[transfer], None, now_ms(), state.settle_after)?;
    state.ledger.flush().await?;
    let entry = entries
        .first()
        .ok_or_else(|| ApiFailure::internal("a created transaction went missing"))?;
    Ok((StatusCode::CREATED, Json(entry.to_wire())))
}

/// `POST /v1/transactions/batch`: all transactions or none.
pub async fn create_batch(State(state): State<AppState>, body: Bytes) -> Answer<Batch> {
    let transfers = validate::batch(&body)?;
    state.settle_due().await?;
    let batch_id = format!("bat_{}", uuid::Uuid::new_v4());
    let now = now_ms();
    let entries = state
        .ledger
        .create(&transfers, Some(&batch_id), now, state.settle_after)?;
    state.ledger.flush().await?;
    let created_at = format_ms(now);
    let batch = Batch {
        id: batch_id,
        created_at: created_at.clone(),
        updated_at: created_at,
        total_amount: entries.iter().map(|e| e.total_amount).sum(),
        status: BATCH_STATUS.to_owned(),
        total_fee: entries.iter().map(|e| e.fee).sum::<Amount>(),
        transactions: entries.iter().map(LedgerEntry::to_wire).collect(),
    };
    Ok((StatusCode::CREATED, Json(batch)))
}

/// `GET /v1/transactions/<id>`.
pub async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> Answer<Transaction> {
    state.settle_due().await?;
    match state.ledger.get(&id)? {
        Some(entry) => Ok((StatusCode::OK, Json(entry.to_wire()))),
        None => Err(ApiFailure::not_found(format!(
            "transaction `{id}` not found"
        ))),
    }
}

/// `GET /v1/transactions[?reference=][&limit=][&cursor=]`, newest first.
pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer<Page<Transaction>> {
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<u64>() {
            Ok(0) | Err(_) => {
                return Err(ApiFailure::bad_request(format!(
                    "`limit` must be a whole number from 1 to {MAX_LIMIT}, got `{text}`"
                )));
            }
            Ok(n) => n.min(MAX_LIMIT),
        },
    };
    let cursor = match query.get("cursor").filter(|c| !c.is_empty()) {
        None => PageCursor::First,
        Some(text) => PageCursor::parse(text).ok_or_else(|| {
            ApiFailure::bad_request(format!(
                "`cursor` `{text}` is not a cursor this API gave out"
            ))
        })?,
    };
    state.settle_due().await?;
    let reference = query.get("reference").map(String::as_str);
    let page = state.ledger.page(reference, limit, cursor)?;
    Ok((StatusCode::OK, Json(page)))
}

/// `GET /v1/transactions/customers/check?msisdn=[&subCompanyId=]`. The sub-company is accepted
/// and ignored.
pub async fn check_customer(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer<CustomerCheck> {
    let raw = query
        .get("msisdn")
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| ApiFailure::bad_request("`msisdn` is required"))?;
    let msisdn = Msisdn::parse(raw)
        .map_err(|e| ApiFailure::bad_request(format!("`msisdn` is not a valid msisdn: {e}")))?;
    let customer = state.ledger.customer(msisdn.as_str())?;
    if !customer.exists {
        return Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            "CUSTOMER_NOT_FOUND",
            format!("no Djamo customer has the msisdn `{msisdn}`"),
        ));
    }
    Ok((
        StatusCode::OK,
        Json(CustomerCheck {
            msisdn: Some(msisdn.as_str().to_owned()),
            kyc_status: customer.kyc_status,
        }),
    ))
}

/// `GET /v1/balance`.
pub async fn balance(State(state): State<AppState>) -> Answer<Balance> {
    state.settle_due().await?;
    Ok((
        StatusCode::OK,
        Json(Balance {
            balance: state.ledger.balance()?,
            currency: "XOF".to_owned(),
        }),
    ))
}
