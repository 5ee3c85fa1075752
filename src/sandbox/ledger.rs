//! The sandbox's ledger: transactions, references, balance, customers and the settlement queue,
//! all in one sled tree.
//!
//! Every mutation runs under one writer mutex and lands as one atomic `sled::Batch`, so that
//! concurrent requests can never create a reference twice nor drive the balance below zero, and a
//! failed transaction is refunded exactly once. Reads go to sled without the mutex.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::djamo::wire::{TRANSFER, Transaction, TransactionStatus};
use crate::money::{Amount, FeeRate};
use crate::sandbox::SandboxError;
use crate::sandbox::error::ApiFailure;
use crate::sandbox::numbers::Customer;
use crate::sandbox::validate::Transfer;

const BALANCE: &[u8] = b"meta:balance";
const SEQ: &[u8] = b"meta:seq";
const TX: &str = "tx:";
const REF: &str = "ref:";
const ORD: &[u8] = b"ord:";
const DUE: &[u8] = b"due:";
const CUSTOMER: &str = "cust:";

/// Version of the stored [`LedgerEntry`] layout.
mod page;

pub use page::PageCursor;

const SCHEMA_VERSION: u32 = 1;

/// The default page size of `GET /v1/transactions`.
pub const DEFAULT_LIMIT: u64 = 15;
/// The largest page size; larger values are clamped to it.
pub const MAX_LIMIT: u64 = 100;

/// One transaction as the ledger stores it and `GET /_sandbox/ledger` returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    pub id: String,
    pub reference: String,
    pub msisdn: String,
    pub amount: Amount,
    pub fee: Amount,
    pub total_amount: Amount,
    pub status: TransactionStatus,
    pub failure_reason: Option<String>,
    pub batch_id: Option<String>,
    pub description: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Creation order, from 0.
    pub seq: u64,
    /// When the transaction settles, in milliseconds since the Unix epoch.
    pub settle_at_ms: u64,
    #[serde(default)]
    pub schema: u32,
}

impl LedgerEntry {
    /// The transaction as the API returns it.
    pub fn to_wire(&self) -> Transaction {
        Transaction {
            id: self.id.clone(),
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
            amount: self.amount,
            fee: self.fee,
            total_amount: self.total_amount,
            status: self.status,
            msisdn: self.msisdn.clone(),
            reference: self.reference.clone(),
            description: self.description.clone(),
            kind: TRANSFER.to_owned(),
            batch_id: self.batch_id.clone(),
            failure_reason: self.failure_reason.clone(),
        }
    }
}

/// The persistent ledger.
pub struct Ledger {
    db: sled::Db,
    tree: sled::Tree,
    writer: Mutex<()>,
    fee: FeeRate,
}

impl Ledger {
    /// Opens or creates the ledger under `dir`. A new ledger starts with `initial_balance`.
    ///
    /// A sandbox that was just stopped in this process may still hold the folder's lock for a
    /// moment, so opening retries for up to two seconds.
    pub async fn open(dir: &Path, initial_balance: Amount) -> Result<Ledger, SandboxError> {
        let error = |cause: String| SandboxError::Ledger {
            path: dir.display().to_string(),
            cause,
        };
        std::fs::create_dir_all(dir).map_err(|e| error(e.to_string()))?;
        let config = sled::Config::new()
            .path(dir.join("ledger"))
            .cache_capacity(64 * 1024 * 1024);
        let mut attempts = 0;
        let db = loop {
            match config.open() {
                Ok(db) => break db,
                Err(e) if is_locked(&e) && attempts < 40 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) if is_locked(&e) => {
                    return Err(error(
                        "another process has it open; stop the other sandbox or pass another \
                         `--data` folder"
                            .to_owned(),
                    ));
                }
                Err(e) => return Err(error(e.to_string())),
            }
        };
        let tree = db.open_tree("ledger").map_err(|e| error(e.to_string()))?;
        let ledger = Ledger {
            db,
            tree,
            writer: Mutex::new(()),
            fee: FeeRate::DEFAULT,
        };
        // Each counter is set only when missing, so a crash between the two writes of a new
        // ledger leaves nothing half-made behind.
        for (key, value) in [(BALANCE, initial_balance.0), (SEQ, 0)] {
            let _ = ledger
                .tree
                .compare_and_swap(key, None as Option<&[u8]>, Some(&value.to_be_bytes()[..]))
                .map_err(|e| error(e.to_string()))?;
        }
        ledger.flush().await.map_err(|e| error(e.to_string()))?;
        Ok(ledger)
    }

    /// Makes every write so far durable against a process crash.
    ///
    /// NOTE: sled 0.34's `flush_async` can hang when several calls overlap (spacejam/sled#1241),
    /// so the blocking `flush` runs on tokio's blocking pool instead.
    pub async fn flush(&self) -> Result<(), sled::Error> {
        let db = self.db.clone();
        match tokio::task::spawn_blocking(move || db.flush()).await {
            Ok(result) => result.map(|_| ()),
            Err(join) => Err(sled::Error::ReportableBug(format!(
                "flush task failed: {join}"
            ))),
        }
    }

    /// Computes the fee on one transfer.
    pub fn fee(&self, amount: Amount) -> Amount {
        self.fee.fee(amount)
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        // A panic while holding the lock leaves sled consistent (batches are atomic), so the
        // poison flag carries no information.
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Creates the transactions of one request, all or none, and debits their total.
    ///
    /// `batch_id` is set for a batch, whose 409 message then names each item as `transactions[i]`.
    pub fn create(
        &self,
        transfers: &[Transfer],
        batch_id: Option<&str>,
        now_ms: u64,
        settle_after: Duration,
    ) -> Result<Vec<LedgerEntry>, ApiFailure> {
        let is_batch = batch_id.is_some();
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(transfers.len());
        for (index, transfer) in transfers.iter().enumerate() {
            if let Some(first) = seen.insert(transfer.reference.as_str(), index) {
                return Err(ApiFailure::new(
                    StatusCode::CONFLICT,
                    "DUPLICATE_REFERENCE",
                    format!(
                        "`transactions[{index}].reference` `{}` is also used by \
                         `transactions[{first}]`",
                        transfer.reference
                    ),
                ));
            }
        }
        let mut total = Amount(0);
        let mut fees = Vec::with_capacity(transfers.len());
        for transfer in transfers {
            let fee = self.fee(transfer.amount);
            fees.push(fee);
            total = total
                .checked_add(transfer.amount)
                .and_then(|t| t.checked_add(fee))
                .ok_or_else(|| ApiFailure::bad_request("the total amount overflows"))?;
        }

        let _guard = self.lock();

        let mut existing = Vec::new();
        for (index, transfer) in transfers.iter().enumerate() {
            if self.tree.contains_key(ref_key(&transfer.reference))? {
                existing.push((index, transfer.reference.as_str()));
            }
        }
        if !existing.is_empty() {
            let message = if is_batch {
                let listed: Vec<String> = existing
                    .iter()
                    .map(|(i, r)| format!("`{r}` (transactions[{i}])"))
                    .collect();
                format!(
                    "transactions with these references already exist: {}",
                    listed.join(", ")
                )
            } else {
                format!(
                    "a transaction with reference `{}` already exists",
                    existing[0].1
                )
            };
            return Err(ApiFailure::new(
                StatusCode::CONFLICT,
                "DUPLICATE_REFERENCE",
                message,
            ));
        }

        let balance = self.read_u64(BALANCE)?;
        if balance < total.0 {
            return Err(ApiFailure::new(
                StatusCode::PAYMENT_REQUIRED,
                "INSUFFICIENT_FUNDS",
                format!(
                    "insufficient funds: the balance is {} XOF and this request needs {} XOF",
                    balance, total.0
                ),
            ));
        }

        let mut seq = self.read_u64(SEQ)?;
        let now = format_ms(now_ms);
        let settle_at_ms = now_ms.saturating_add(duration_ms(settle_after));
        let mut batch = sled::Batch::default();
        let mut entries = Vec::with_capacity(transfers.len());
        for (transfer, fee) in transfers.iter().zip(fees) {
            let entry = LedgerEntry {
                id: format!("txn_{}", uuid::Uuid::new_v4()),
                reference: transfer.reference.clone(),
                msisdn: transfer.msisdn.as_str().to_owned(),
                amount: transfer.amount,
                fee,
                total_amount: Amount(transfer.amount.0 + fee.0),
                status: TransactionStatus::Pending,
                failure_reason: None,
                batch_id: batch_id.map(str::to_owned),
                description: transfer.description.clone(),
                created_at: now.clone(),
                updated_at: now.clone(),
                seq,
                settle_at_ms,
                schema: SCHEMA_VERSION,
            };
            batch.insert(tx_key(&entry.id), encode(&entry)?);
            batch.insert(ref_key(&entry.reference), entry.id.as_bytes());
            batch.insert(ord_key(seq), entry.id.as_bytes());
            batch.insert(due_key(settle_at_ms, seq), entry.id.as_bytes());
            entries.push(entry);
            seq += 1;
        }
        batch.insert(BALANCE, &(balance - total.0).to_be_bytes());
        batch.insert(SEQ, &seq.to_be_bytes());
        self.tree.apply_batch(batch)?;
        Ok(entries)
    }

    /// Settles every pending transaction whose time has come: completes it, or fails it and
    /// refunds its total. Returns how many settled; the caller flushes when that is not zero.
    pub fn settle_due(&self, now_ms: u64) -> Result<usize, ApiFailure> {
        let end = due_key(now_ms.saturating_add(1), 0);
        if self.tree.range(DUE.to_vec()..end.clone()).next().is_none() {
            return Ok(0);
        }

        let _guard = self.lock();
        let mut balance = self.read_u64(BALANCE)?;
        let mut batch = sled::Batch::default();
        let mut settled = 0;
        let now = format_ms(now_ms);
        for item in self.tree.range(DUE.to_vec()..end) {
            let (key, id) = item?;
            batch.remove(key);
            let Some(mut entry) = self.entry_by_id_bytes(&id)? else {
                continue;
            };
            if entry.status != TransactionStatus::Pending {
                continue;
            }
            let customer = self.customer(&entry.msisdn)?;
            match customer.outcome(entry.amount) {
                None => entry.status = TransactionStatus::Completed,
                Some(reason) => {
                    entry.status = TransactionStatus::Failed;
                    entry.failure_reason = Some(reason.to_owned());
                    balance = balance.saturating_add(entry.total_amount.0);
                }
            }
            entry.updated_at = now.clone();
            batch.insert(tx_key(&entry.id), encode(&entry)?);
            settled += 1;
        }
        batch.insert(BALANCE, &balance.to_be_bytes());
        self.tree.apply_batch(batch)?;
        Ok(settled)
    }

    /// Returns the business balance.
    pub fn balance(&self) -> Result<Amount, ApiFailure> {
        Ok(Amount(self.read_u64(BALANCE)?))
    }

    /// Sets the business balance.
    pub fn set_balance(&self, amount: Amount) -> Result<(), ApiFailure> {
        let _guard = self.lock();
        self.tree.insert(BALANCE, &amount.0.to_be_bytes())?;
        Ok(())
    }

    /// Finds one transaction by id.
    pub fn get(&self, id: &str) -> Result<Option<LedgerEntry>, ApiFailure> {
        self.entry_by_id_bytes(id.as_bytes())
    }

    /// Finds the transaction with this reference, which is unique.
    pub fn by_reference(&self, reference: &str) -> Result<Option<LedgerEntry>, ApiFailure> {
        match self.tree.get(ref_key(reference))? {
            Some(id) => self.entry_by_id_bytes(&id),
            None => Ok(None),
        }
    }

    /// Lists every transaction ever created, oldest first.
    pub fn entries(&self) -> Result<Vec<LedgerEntry>, ApiFailure> {
        let mut entries = Vec::new();
        for item in self.tree.scan_prefix(ORD) {
            let (_, id) = item?;
            if let Some(entry) = self.entry_by_id_bytes(&id)? {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// Returns the customer record of a canonical MSISDN: its override, or the built-in rules.
    pub fn customer(&self, msisdn: &str) -> Result<Customer, ApiFailure> {
        match self.tree.get(customer_key(msisdn))? {
            Some(bytes) => decode(&bytes),
            None => Ok(Customer::builtin(msisdn)),
        }
    }

    /// Adds or replaces a customer override.
    pub fn put_customer(&self, customer: &Customer) -> Result<(), ApiFailure> {
        self.tree
            .insert(customer_key(&customer.msisdn), encode(customer)?)?;
        Ok(())
    }

    fn entry_by_id_bytes(&self, id: &[u8]) -> Result<Option<LedgerEntry>, ApiFailure> {
        let mut key = TX.as_bytes().to_vec();
        key.extend_from_slice(id);
        match self.tree.get(key)? {
            Some(bytes) => decode(&bytes).map(Some),
            None => Ok(None),
        }
    }

    fn read_u64(&self, key: &[u8]) -> Result<u64, ApiFailure> {
        let bytes = self.tree.get(key)?.ok_or_else(|| {
            ApiFailure::internal(format!(
                "ledger key `{}` is missing",
                String::from_utf8_lossy(key)
            ))
        })?;
        let array: [u8; 8] = bytes
            .as_ref()
            .try_into()
            .map_err(|_| ApiFailure::internal("ledger counter is not 8 bytes"))?;
        Ok(u64::from_be_bytes(array))
    }
}

/// sled reports a folder opened by another process as an `Other` I/O error with this text.
fn is_locked(error: &sled::Error) -> bool {
    matches!(error, sled::Error::Io(e) if e.kind() == std::io::ErrorKind::WouldBlock
        || e.to_string().contains("could not acquire lock"))
}

fn tx_key(id: &str) -> Vec<u8> {
    format!("{TX}{id}").into_bytes()
}

fn ref_key(reference: &str) -> Vec<u8> {
    format!("{REF}{reference}").into_bytes()
}

fn customer_key(msisdn: &str) -> Vec<u8> {
    format!("{CUSTOMER}{msisdn}").into_bytes()
}

fn ord_key(seq: u64) -> Vec<u8> {
    let mut key = ORD.to_vec();
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn seq_of_ord(key: &[u8]) -> u64 {
    let mut array = [0u8; 8];
    if let Some(tail) = key.get(ORD.len()..ORD.len() + 8) {
        array.copy_from_slice(tail);
    }
    u64::from_be_bytes(array)
}

fn due_key(settle_at_ms: u64, seq: u64) -> Vec<u8> {
    let mut key = DUE.to_vec();
    key.extend_from_slice(&settle_at_ms.to_be_bytes());
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiFailure> {
    serde_json::to_vec(value).map_err(ApiFailure::internal)
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, ApiFailure> {
    serde_json::from_slice(bytes).map_err(ApiFailure::internal)
}

fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    u64::try_from(jiff::Timestamp::now().as_millisecond()).unwrap_or(0)
}

/// Formats milliseconds since the Unix epoch as RFC 3339 with milliseconds, as the provider does:
/// `2023-05-25T17:43:15.970Z`.
pub fn format_ms(ms: u64) -> String {
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => String::from("1970-01-01T00:00:00.000Z"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_milliseconds() {
        assert_eq!(format_ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
