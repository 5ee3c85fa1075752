//! The [`Store`] operations of [`SledStore`].

use std::collections::BTreeSet;

use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

use super::{ClaimValue, OCCURRENCES, PLANS, RUNS, SERIALS, SerialValue, SledStore};
use crate::state::codec::{decode, encode, key, prefix};
use crate::state::{PaymentRecord, RunRecord, SCHEMA_VERSION, StateError, Store};

impl Store for SledStore {
    fn payments(&self, job: &str, period: &str) -> Result<Vec<PaymentRecord>, StateError> {
        let prefix = prefix(&[job, period])?;
        let mut records = Vec::new();
        for entry in self.payments.scan_prefix(prefix) {
            let (key, bytes) = entry.map_err(|e| self.read_error(&e))?;
            records.push(self.decode_payment(&key, &bytes)?);
        }
        Ok(records)
    }

    fn payment(
        &self,
        job: &str,
        period: &str,
        reference: &str,
    ) -> Result<Option<PaymentRecord>, StateError> {
        let key = key(&[job, period, reference])?;
        match self.payments.get(&key).map_err(|e| self.read_error(&e))? {
            Some(bytes) => Ok(Some(self.decode_payment(&key, &bytes)?)),
            None => Ok(None),
        }
    }

    fn put_payments(&self, records: &[PaymentRecord]) -> Result<(), StateError> {
        if records.is_empty() {
            return Ok(());
        }

        let mut entries = Vec::with_capacity(records.len());
        let mut jobs = BTreeSet::new();
        for record in records {
            let key = key(&[&record.job, &record.period, &record.reference])?;
            // The store writes the layout of this build, whatever version the caller copied.
            let record = PaymentRecord {
                schema_version: SCHEMA_VERSION,
                ..record.clone()
            };
            entries.push((key, encode(&self.path, &record)?));
            jobs.insert(key_of_job(&record.job)?);
        }

        let generation = (&self.payments, &self.serials, &self.meta)
            .transaction(|(payments, serials, meta)| {
                for (key, bytes) in &entries {
                    payments.insert(key.as_slice(), bytes.as_slice())?;
                }
                for job in &jobs {
                    Self::bump_serial(&self.path, serials, job)?;
                }
                Self::bump_generation(&self.path, meta)
            })
            .map_err(|e| self.transaction_error(e))?;
        self.flush(Some(generation))
    }

    fn serial(&self, job: &str) -> Result<u64, StateError> {
        let key = key_of_job(job)?;
        match self.serials.get(&key).map_err(|e| self.read_error(&e))? {
            Some(bytes) => {
                let value: SerialValue = decode(&self.path, SERIALS, &key, &bytes)?;
                Ok(value.serial)
            }
            None => Ok(0),
        }
    }

    fn put_run(&self, run: &RunRecord) -> Result<(), StateError> {
        let key = key(&[&run.job, &run.id])?;
        let job = key_of_job(&run.job)?;
        let run = RunRecord {
            schema_version: SCHEMA_VERSION,
            ..run.clone()
        };
        let bytes = encode(&self.path, &run)?;

        let generation = (&self.runs, &self.serials, &self.meta)
            .transaction(|(runs, serials, meta)| {
                runs.insert(key.as_slice(), bytes.as_slice())?;
                Self::bump_serial(&self.path, serials, &job)?;
                Self::bump_generation(&self.path, meta)
            })
            .map_err(|e| self.transaction_error(e))?;
        self.flush(Some(generation))
    }

    fn runs(&self, job: &str) -> Result<Vec<RunRecord>, StateError> {
        let prefix = prefix(&[job])?;
        let mut runs = Vec::new();
        for entry in self.runs.scan_prefix(prefix) {
            let (key, bytes) = entry.map_err(|e| self.read_error(&e))?;
            let run: RunRecord = decode(&self.path, RUNS, &key, &bytes)?;
            runs.push(run);
        }
        // Keys are ordered by run id; the audit log reads in start order. A start time that is
        // not RFC 3339 sorts before every parsed one, by its text.
        runs.sort_by_cached_key(|run| {
            (
                run.started_at.parse::<jiff::Timestamp>().ok(),
                run.started_at.clone(),
                run.id.clone(),
            )
        });
        Ok(runs)
    }

    fn claim_plan(&self, digest: &str) -> Result<bool, StateError> {
        let key = key(&[digest])?;
        let bytes = encode(&self.path, &ClaimValue::now())?;
        // A transaction that reads the key before inserting it is a compare-and-swap: sled
        // serializes transactions, so of two callers only one sees the key missing.
        let claimed = (&self.plans, &self.meta)
            .transaction(|(plans, meta)| {
                if let Some(current) = plans.get(&key)? {
                    let _: ClaimValue = decode(&self.path, PLANS, &key, &current)
                        .map_err(ConflictableTransactionError::Abort)?;
                    return Ok(None);
                }
                plans.insert(key.as_slice(), bytes.as_slice())?;
                Self::bump_generation(&self.path, meta).map(Some)
            })
            .map_err(|e| self.transaction_error(e))?;
        match claimed {
            Some(generation) => {
                self.flush(Some(generation))?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn claim_occurrence(&self, job: &str, fire_time: &str) -> Result<bool, StateError> {
        let key = key(&[job, fire_time])?;
        let job_key = key_of_job(job)?;
        let bytes = encode(&self.path, &ClaimValue::now())?;

        let claimed = (&self.occurrences, &self.serials, &self.meta)
            .transaction(|(occurrences, serials, meta)| {
                if let Some(current) = occurrences.get(&key)? {
                    let _: ClaimValue = decode(&self.path, OCCURRENCES, &key, &current)
                        .map_err(ConflictableTransactionError::Abort)?;
                    return Ok(None);
                }
                occurrences.insert(key.as_slice(), bytes.as_slice())?;
                Self::bump_serial(&self.path, serials, &job_key)?;
                Self::bump_generation(&self.path, meta).map(Some)
            })
            .map_err(|e| self.transaction_error(e))?;
        match claimed {
            Some(generation) => {
                self.flush(Some(generation))?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn occurrence_claimed(&self, job: &str, fire_time: &str) -> Result<bool, StateError> {
        let key = key(&[job, fire_time])?;
        match self
            .occurrences
            .get(&key)
            .map_err(|e| self.read_error(&e))?
        {
            Some(bytes) => {
                let _: ClaimValue = decode(&self.path, OCCURRENCES, &key, &bytes)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// The key of a job in the `serials` tree.
fn key_of_job(job: &str) -> Result<Vec<u8>, StateError> {
    key(&[job])
}
