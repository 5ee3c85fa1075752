//! The sled implementation of [`Store`].
//!
//! Layout of a state folder:
//!
//! - `lock`: the lock file, naming the pid and start time of the process that holds it and the
//!   write generation of its last flushed write;
//! - `db/`: the sled database, with one tree per kind of record (`payments`, `serials`, `runs`,
//!   `plans`, `occurrences`) and a `meta` tree whose `format` record marks the folder as ours.
//!
//! Every write runs in one sled transaction together with the serial bump of each job it
//! touches and the bump of the database's generation, and is flushed before the call returns.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sled::transaction::{
    ConflictableTransactionError, ConflictableTransactionResult, TransactionError,
    TransactionalTree,
};

use crate::state::codec::{decode, display_key, encode};
use crate::state::lock::{self, LockInfo, StateLock};
use crate::state::{PaymentRecord, SCHEMA_VERSION, StateError};

mod store;

/// Name of the sled folder inside the state folder.
pub const DB_DIR: &str = "db";

const PAYMENTS: &str = "payments";
const SERIALS: &str = "serials";
const RUNS: &str = "runs";
const PLANS: &str = "plans";
const OCCURRENCES: &str = "occurrences";
const META: &str = "meta";
const FORMAT_KEY: &[u8] = b"format";
const GENERATION_KEY: &[u8] = b"generation";

/// The value of a job's serial.
#[derive(Serialize, Deserialize)]
struct SerialValue {
    schema_version: u32,
    serial: u64,
}

/// The value of a claimed plan or scheduled occurrence.
#[derive(Serialize, Deserialize)]
struct ClaimValue {
    schema_version: u32,
    pid: u32,
    claimed_at: String,
}

impl ClaimValue {
    fn now() -> ClaimValue {
        ClaimValue {
            schema_version: SCHEMA_VERSION,
            pid: std::process::id(),
            claimed_at: jiff::Timestamp::now().to_string(),
        }
    }
}

/// The `generation` record of the `meta` tree: how many write transactions the database has
/// committed.
#[derive(Serialize, Deserialize)]
struct GenerationValue {
    schema_version: u32,
    generation: u64,
}

/// The `format` record of the `meta` tree.
#[derive(Serialize, Deserialize)]
struct FormatValue {
    schema_version: u32,
    created_at: String,
}

/// State in one sled folder, opened by one process at a time.
pub struct SledStore {
    path: String,
    db: sled::Db,
    payments: sled::Tree,
    serials: sled::Tree,
    runs: sled::Tree,
    plans: sled::Tree,
    occurrences: sled::Tree,
    meta: sled::Tree,
    /// Declared last so that sled's files are closed before the lock is released.
    lock: StateLock,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SledStore {
    /// Opens or creates the store under `dir` and takes its lock.
    ///
    /// Fails with [`StateError::Locked`] when another process holds the folder, and with
    /// [`StateError::Corrupt`] or [`StateError::Version`] when the folder holds something this
    /// build cannot read; it never falls back to an empty state.
    pub fn open(dir: &Path) -> Result<SledStore, StateError> {
        let path = dir.display().to_string();
        create_folder(dir)?;

        let mut state_lock = StateLock::acquire(dir)?;
        let db_dir = dir.join(DB_DIR);
        if let Some(previous) = state_lock.previous()
            && !db_dir.exists()
        {
            return Err(StateError::Corrupt {
                path,
                cause: format!(
                    "its records folder `{DB_DIR}` is missing, but pid {} opened this folder at {}",
                    previous.pid, previous.since
                ),
            });
        }
        let previous = state_lock.previous().cloned();
        state_lock.clear()?;

        let db = open_db(dir, &db_dir)?;
        let tree = |name: &str| {
            db.open_tree(name).map_err(|e| StateError::Corrupt {
                path: path.clone(),
                cause: format!("tree `{name}` could not be opened: {e}"),
            })
        };
        let store = SledStore {
            payments: tree(PAYMENTS)?,
            serials: tree(SERIALS)?,
            runs: tree(RUNS)?,
            plans: tree(PLANS)?,
            occurrences: tree(OCCURRENCES)?,
            meta: tree(META)?,
            db: db.clone(),
            path: path.clone(),
            lock: state_lock,
        };
        store.check_format(previous.as_ref())?;
        let generation = store.check_generation(previous.as_ref())?;
        store.lock.write_info(generation)?;
        Ok(store)
    }

    /// The state folder, as given to [`SledStore::open`].
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Checks the `format` record, or writes it into a new, empty database.
    ///
    /// A database without the record is new only if no process opened the folder before: the
    /// lock file names a previous holder only after that holder flushed the record. sled reads
    /// a data file that is garbage from its first byte as an empty database (sled 0.34.7), so
    /// this check is what tells such a file from a new folder.
    fn check_format(&self, previous: Option<&LockInfo>) -> Result<(), StateError> {
        match self.meta.get(FORMAT_KEY).map_err(|e| self.read_error(&e))? {
            Some(bytes) => {
                let _: FormatValue = decode(&self.path, META, FORMAT_KEY, &bytes)?;
                Ok(())
            }
            None => {
                if let Some(previous) = previous {
                    return Err(StateError::Corrupt {
                        path: self.path.clone(),
                        cause: format!(
                            "its records are gone, but pid {} opened this folder at {}",
                            previous.pid, previous.since
                        ),
                    });
                }
                let data_trees = [
                    &self.payments,
                    &self.serials,
                    &self.runs,
                    &self.plans,
                    &self.occurrences,
                ];
                if data_trees.iter().any(|tree| !tree.is_empty()) {
                    return Err(StateError::Corrupt {
                        path: self.path.clone(),
                        cause: "it holds records but no `format` record".to_owned(),
                    });
                }
                let format = FormatValue {
                    schema_version: SCHEMA_VERSION,
                    created_at: jiff::Timestamp::now().to_string(),
                };
                self.meta
                    .insert(FORMAT_KEY, encode(&self.path, &format)?)
                    .map_err(|e| self.write_error(&e))?;
                self.flush(None)
            }
        }
    }

    /// Returns the database's write generation, after checking that it is not lower than the
    /// one the previous holder recorded in the lock file after its last flushed write.
    fn check_generation(&self, previous: Option<&LockInfo>) -> Result<u64, StateError> {
        let generation = match self
            .meta
            .get(GENERATION_KEY)
            .map_err(|e| self.read_error(&e))?
        {
            Some(bytes) => {
                let value: GenerationValue = decode(&self.path, META, GENERATION_KEY, &bytes)?;
                value.generation
            }
            None => 0,
        };
        if let Some(previous) = previous
            && previous.generation > generation
        {
            return Err(StateError::Corrupt {
                path: self.path.clone(),
                cause: format!(
                    "its records stop at write {generation}, but pid {} recorded write {} \
                     (it opened the folder at {}); the last writes are lost",
                    previous.pid, previous.generation, previous.since
                ),
            });
        }
        Ok(generation)
    }

    /// Flushes sled, then records `generation` in the lock file. Pass the generation that the
    /// write's transaction returned, or `None` for a write outside a transaction.
    fn flush(&self, generation: Option<u64>) -> Result<(), StateError> {
        self.db.flush().map_err(|e| self.write_error(&e))?;
        if let Some(generation) = generation {
            self.lock.record_generation(generation)?;
        }
        Ok(())
    }

    /// Increments the database's write generation inside a transaction and returns the new one.
    fn bump_generation(
        path: &str,
        meta: &TransactionalTree,
    ) -> ConflictableTransactionResult<u64, StateError> {
        let current = match meta.get(GENERATION_KEY)? {
            Some(bytes) => {
                let value: GenerationValue = decode(path, META, GENERATION_KEY, &bytes)
                    .map_err(ConflictableTransactionError::Abort)?;
                value.generation
            }
            None => 0,
        };
        let next = GenerationValue {
            schema_version: SCHEMA_VERSION,
            generation: current.saturating_add(1),
        };
        let bytes = encode(path, &next).map_err(ConflictableTransactionError::Abort)?;
        meta.insert(GENERATION_KEY, bytes)?;
        Ok(next.generation)
    }

    fn read_error(&self, error: &sled::Error) -> StateError {
        StateError::Corrupt {
            path: self.path.clone(),
            cause: error.to_string(),
        }
    }

    fn write_error(&self, error: &dyn std::fmt::Display) -> StateError {
        StateError::Write {
            path: self.path.clone(),
            cause: error.to_string(),
        }
    }

    fn transaction_error(&self, error: TransactionError<StateError>) -> StateError {
        match error {
            TransactionError::Abort(error) => error,
            TransactionError::Storage(error) => self.write_error(&error),
        }
    }

    /// Decodes a payment and checks that it is stored under its own key.
    fn decode_payment(&self, key: &[u8], bytes: &[u8]) -> Result<PaymentRecord, StateError> {
        let record: PaymentRecord = decode(&self.path, PAYMENTS, key, bytes)?;
        let expected = crate::state::codec::key(&[&record.job, &record.period, &record.reference])?;
        if expected != key {
            return Err(StateError::Corrupt {
                path: self.path.clone(),
                cause: format!(
                    "record `{}` names another payment: `{}`",
                    display_key(PAYMENTS, key),
                    display_key(PAYMENTS, &expected)
                ),
            });
        }
        Ok(record)
    }

    /// Reads the serial of `job` inside a transaction and stores it plus one.
    fn bump_serial(
        path: &str,
        serials: &TransactionalTree,
        job_key: &[u8],
    ) -> ConflictableTransactionResult<(), StateError> {
        let current = match serials.get(job_key)? {
            Some(bytes) => {
                let value: SerialValue = decode(path, SERIALS, job_key, &bytes)
                    .map_err(ConflictableTransactionError::Abort)?;
                value.serial
            }
            None => 0,
        };
        let next = SerialValue {
            schema_version: SCHEMA_VERSION,
            serial: current.saturating_add(1),
        };
        let bytes = encode(path, &next).map_err(ConflictableTransactionError::Abort)?;
        serials.insert(job_key, bytes)?;
        Ok(())
    }
}

/// Creates the state folder, or checks that the existing path is a folder.
fn create_folder(dir: &Path) -> Result<(), StateError> {
    match std::fs::metadata(dir) {
        Ok(metadata) if metadata.is_dir() => Ok(()),
        Ok(_) => Err(StateError::Open {
            path: dir.display().to_string(),
            cause: format!("`{}` is a file, not a folder", dir.display()),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(|e| lock::open_error(dir, dir, &e))
        }
        Err(e) => Err(lock::open_error(dir, dir, &e)),
    }
}

/// Opens sled, turning its errors into ours. sled reports a held lock as an I/O error whose
/// message contains "could not acquire lock" (sled 0.34.7, `Config::try_lock`).
fn open_db(dir: &Path, db_dir: &PathBuf) -> Result<sled::Db, StateError> {
    let path = dir.display().to_string();
    if db_dir.exists() && !db_dir.is_dir() {
        return Err(StateError::Open {
            path,
            cause: format!("`{}` is a file, not a sled folder", db_dir.display()),
        });
    }
    sled::Config::new()
        .path(db_dir)
        .open()
        .map_err(|error| match error {
            sled::Error::Io(e) if e.to_string().contains("could not acquire lock") => {
                lock::holder(dir)
            }
            sled::Error::Io(e) => lock::open_error(dir, db_dir, &e),
            other => StateError::Corrupt {
                path,
                cause: format!(
                    "`{}` is not a readable sled database: {other}",
                    db_dir.display()
                ),
            },
        })
}
