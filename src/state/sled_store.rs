//! The sled implementation of [`Store`].

use std::path::Path;

use crate::state::{PaymentRecord, RunRecord, StateError, Store};

/// State in one sled folder, opened by one process at a time.
pub struct SledStore {
    db: sled::Db,
}

impl SledStore {
    /// Opens or creates the store under `dir`.
    pub fn open(dir: &Path) -> Result<SledStore, StateError> {
        let db = sled::open(dir.join("db")).map_err(|e| StateError::Open {
            path: dir.display().to_string(),
            cause: e.to_string(),
        })?;
        Ok(SledStore { db })
    }
}

impl Store for SledStore {
    fn payments(&self, _job: &str, _period: &str) -> Result<Vec<PaymentRecord>, StateError> {
        let _ = &self.db;
        unimplemented!("state")
    }

    fn payment(
        &self,
        _job: &str,
        _period: &str,
        _reference: &str,
    ) -> Result<Option<PaymentRecord>, StateError> {
        unimplemented!("state")
    }

    fn put_payments(&self, _records: &[PaymentRecord]) -> Result<(), StateError> {
        unimplemented!("state")
    }

    fn serial(&self, _job: &str) -> Result<u64, StateError> {
        unimplemented!("state")
    }

    fn put_run(&self, _run: &RunRecord) -> Result<(), StateError> {
        unimplemented!("state")
    }

    fn runs(&self, _job: &str) -> Result<Vec<RunRecord>, StateError> {
        unimplemented!("state")
    }

    fn claim_plan(&self, _digest: &str) -> Result<bool, StateError> {
        unimplemented!("state")
    }

    fn claim_occurrence(&self, _job: &str, _fire_time: &str) -> Result<bool, StateError> {
        unimplemented!("state")
    }

    fn occurrence_claimed(&self, _job: &str, _fire_time: &str) -> Result<bool, StateError> {
        unimplemented!("state")
    }
}
