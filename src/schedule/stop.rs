//! The stop request that SIGINT and SIGTERM raise: apply finishes and records the batch in
//! flight, the daemon wakes from its sleep, and no further job starts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// A shared stop flag with a wake-up for a sleeping daemon.
#[derive(Clone, Debug, Default)]
pub struct StopSignal {
    flag: Arc<AtomicBool>,
    wake: Arc<Notify>,
}

impl StopSignal {
    pub fn new() -> StopSignal {
        StopSignal::default()
    }

    /// Raises the stop request and wakes a sleeping daemon.
    pub fn request(&self) {
        self.flag.store(true, Ordering::SeqCst);
        // `notify_one` keeps a permit when no task waits yet, so a request that arrives just
        // before the daemon starts sleeping still wakes it.
        self.wake.notify_one();
    }

    pub fn is_requested(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Returns the flag that [`crate::apply::ApplyOptions::stop`] reads between batches.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.flag)
    }

    /// Sleeps for `duration`, or less when a stop is requested.
    pub async fn sleep(&self, duration: std::time::Duration) {
        if self.is_requested() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(duration) => {}
            () = self.wake.notified() => {}
        }
    }
}
