//! Named points where a test can abort the process, so that crash tests are exact, not timed.
//!
//! Test-only: `PAYROLL_FAULT_ABORT=<point>[:<n>]` aborts the process (as `kill -9` would, with no
//! destructor run and no buffer flushed) the `n`-th time execution reaches `<point>` (default the
//! first). The points are listed in [`POINTS`].

use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that arms a fault point.
pub const ENV: &str = "PAYROLL_FAULT_ABORT";

/// Every fault point, in the order a payment passes them.
pub const POINTS: [&str; 4] = [
    "after-write-ahead",
    "after-post",
    "after-record",
    "after-poll",
];

static HITS: [AtomicU64; 4] = [
    AtomicU64::new(0),
    AtomicU64::new(0),
    AtomicU64::new(0),
    AtomicU64::new(0),
];

/// Aborts the process if `point` is armed and this is the armed hit.
pub fn reach(point: &str) {
    let Ok(armed) = std::env::var(ENV) else {
        return;
    };
    let (name, nth) = match armed.split_once(':') {
        Some((name, nth)) => (name, nth.parse::<u64>().unwrap_or(1)),
        None => (armed.as_str(), 1),
    };
    if name != point {
        return;
    }
    let Some(index) = POINTS.iter().position(|p| *p == point) else {
        return;
    };
    let hit = HITS[index].fetch_add(1, Ordering::SeqCst) + 1;
    if hit == nth {
        eprintln!("payroll: aborting at fault point `{point}` (hit {hit}) because {ENV} is set");
        std::process::abort();
    }
}
