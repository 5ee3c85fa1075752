//! The single-process lock on a state folder and the file that names its holder.
//!
//! The lock is an advisory `flock` on `<folder>/lock`, taken before sled opens its own files.
//! sled takes a second `flock` on its data file, so two processes never share the records even
//! if the lock file is deleted while a run holds it. The kernel drops both locks when the
//! holding process exits, including after `kill -9`, so a lock seen here always belongs to a
//! live process.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::state::StateError;

/// Name of the lock file inside the state folder.
pub const LOCK_FILE: &str = "lock";

/// The holder record in the lock file: which process holds the lock and since when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub pid: u32,
    /// RFC 3339 time at which the holder opened the store.
    pub since: String,
    /// The database's write generation after the holder's latest flushed write. A database
    /// found at a lower generation has lost writes.
    #[serde(default)]
    pub generation: u64,
}

/// The held lock, released on drop.
///
/// The file itself stays. Deleting it would let a process that opened the old file and a process
/// that creates a new one both take a lock, each on its own file.
#[derive(Debug)]
pub struct StateLock {
    file: File,
    path: PathBuf,
    /// The holder that an earlier run left in the file, which proves that the folder was opened
    /// before.
    previous: Option<LockInfo>,
    /// The holder record this process last wrote into the file.
    current: Mutex<Option<LockInfo>>,
}

impl StateLock {
    /// Takes the lock on `dir`, or returns [`StateError::Locked`] naming the holder.
    ///
    /// The file still names the previous holder until [`StateLock::clear`]; the caller clears it
    /// as soon as it has read [`StateLock::previous`].
    pub fn acquire(dir: &Path) -> Result<StateLock, StateError> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| open_error(dir, &path, &e))?;

        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(locked_error(dir, &file)),
            Err(TryLockError::Error(e)) => return Err(open_error(dir, &path, &e)),
        }

        let previous = read_info(&file);
        Ok(StateLock {
            file,
            path,
            previous,
            current: Mutex::new(None),
        })
    }

    /// The holder that the previous run wrote, if any run opened this folder before.
    pub fn previous(&self) -> Option<&LockInfo> {
        self.previous.as_ref()
    }

    /// Empties the lock file, so a process that fails to lock before [`StateLock::write_info`]
    /// reads no stale holder from an earlier run.
    pub fn clear(&mut self) -> Result<(), StateError> {
        self.file
            .set_len(0)
            .map_err(|e| write_error(&self.path, &e))
    }

    /// Writes this process's pid, the current time and the database's generation into the lock
    /// file, and syncs it.
    pub fn write_info(&self, generation: u64) -> Result<(), StateError> {
        let info = LockInfo {
            pid: std::process::id(),
            since: jiff::Timestamp::now().to_string(),
            generation,
        };
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        self.rewrite(&info)?;
        self.file
            .sync_data()
            .map_err(|e| write_error(&self.path, &e))?;
        *current = Some(info);
        Ok(())
    }

    /// Records that the database reached `generation`, unless a later generation is recorded
    /// already. Not synced: it only has to outlive a crash of this process, as sled's flush does.
    pub fn record_generation(&self, generation: u64) -> Result<(), StateError> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let Some(info) = current.as_mut() else {
            return Ok(());
        };
        if generation <= info.generation {
            return Ok(());
        }
        info.generation = generation;
        self.rewrite(info)
    }

    fn rewrite(&self, info: &LockInfo) -> Result<(), StateError> {
        let body = serde_json::to_vec(info).map_err(|e| write_error(&self.path, &e))?;
        let mut file = &self.file;
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(&body))
            .and_then(|()| file.set_len(body.len() as u64))
            .map_err(|e| write_error(&self.path, &e))
    }
}

/// Reads the holder from a lock file that another process holds.
fn locked_error(dir: &Path, file: &File) -> StateError {
    let path = dir.display().to_string();
    match read_info(file) {
        Some(info) => StateError::Locked {
            path,
            pid: info.pid.to_string(),
            since: info.since,
        },
        None => StateError::LockedUnknown { path },
    }
}

/// Returns the holder named in `file`, or `None` while the holder has not written it yet.
fn read_info(mut file: &File) -> Option<LockInfo> {
    let mut body = Vec::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_end(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// Returns the holder that the lock file of `dir` names, for a lock that sled reported.
pub fn holder(dir: &Path) -> StateError {
    match File::open(dir.join(LOCK_FILE)) {
        Ok(file) => locked_error(dir, &file),
        Err(_) => StateError::LockedUnknown {
            path: dir.display().to_string(),
        },
    }
}

pub(crate) fn open_error(dir: &Path, path: &Path, error: &std::io::Error) -> StateError {
    let cause = match error.kind() {
        ErrorKind::NotADirectory => format!("`{}` is a file, not a folder", dir.display()),
        ErrorKind::PermissionDenied => format!("permission denied on `{}`", path.display()),
        _ => format!("`{}`: {error}", path.display()),
    };
    StateError::Open {
        path: dir.display().to_string(),
        cause,
    }
}

fn write_error(path: &Path, error: &dyn std::fmt::Display) -> StateError {
    StateError::Write {
        path: path.display().to_string(),
        cause: error.to_string(),
    }
}
