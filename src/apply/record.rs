//! Conversion of plan items and provider responses into state records.

use crate::djamo::wire::Transaction;
use crate::msisdn::Msisdn;
use crate::plan::PlanItem;
use crate::plan::build::status_of;
use crate::state::{PaymentRecord, PaymentStatus, SCHEMA_VERSION};

/// Returns the current time as RFC 3339, for record timestamps.
pub fn now() -> String {
    jiff::Timestamp::now().to_string()
}

/// Builds the write-ahead record of an item about to be sent.
pub fn submitting(
    job: &str,
    period: &str,
    item: &PlanItem,
    previous: Option<&PaymentRecord>,
) -> Result<PaymentRecord, crate::msisdn::MsisdnError> {
    let now = now();
    Ok(PaymentRecord {
        schema_version: SCHEMA_VERSION,
        job: job.to_owned(),
        period: period.to_owned(),
        reference: item.reference.clone(),
        recipient_id: item.id.clone(),
        msisdn: Msisdn::parse(&item.msisdn)?,
        amount: item.amount,
        fee: item.fee,
        description: item.description.clone(),
        status: PaymentStatus::Submitting,
        transaction_id: None,
        batch_id: None,
        failure_reason: None,
        retry_of: item.retry_of.clone(),
        created_at: previous
            .map(|p| p.created_at.clone())
            .unwrap_or_else(|| now.clone()),
        updated_at: now,
    })
}

/// Updates `record` from the provider's transaction, amount and number included, so that state
/// equals the provider for every transaction it records.
pub fn observe(record: &mut PaymentRecord, tx: &Transaction) {
    record.status = status_of(tx.status);
    record.amount = tx.amount;
    if let Ok(msisdn) = Msisdn::parse(&tx.msisdn) {
        record.msisdn = msisdn;
    }
    record.transaction_id = Some(tx.id.clone());
    if tx.batch_id.is_some() {
        record.batch_id = tx.batch_id.clone();
    }
    record.fee = tx.fee;
    record.failure_reason = tx.failure_reason.clone();
    record.updated_at = now();
}

/// Marks `record` as rejected by the provider, so not created, keeping why.
pub fn not_created(record: &mut PaymentRecord, why: &str) {
    record.status = PaymentStatus::NotCreated;
    record.failure_reason = Some(why.to_owned());
    record.updated_at = now();
}

/// Marks `record` as sent with an unknown outcome, keeping why.
pub fn unknown(record: &mut PaymentRecord, why: &str) {
    record.status = PaymentStatus::Unknown;
    record.failure_reason = Some(why.to_owned());
    record.updated_at = now();
}

/// True when `tx` is the payment `record` describes: same amount, same number.
pub fn same_payment(record: &PaymentRecord, tx: &Transaction) -> bool {
    record.amount == tx.amount && record.msisdn.same_as(&tx.msisdn)
}

/// Records `tx` as `record`'s transaction when it is the same payment. Otherwise the reference
/// belongs to another payment, so `record` is marked not created. Returns whether `tx` was taken.
pub fn reconcile(record: &mut PaymentRecord, tx: &Transaction) -> bool {
    if same_payment(record, tx) {
        observe(record, tx);
        return true;
    }
    let why = format!(
        "not created: the provider holds reference `{}` for {} to `{}`",
        tx.reference, tx.amount, tx.msisdn
    );
    not_created(record, &why);
    false
}
