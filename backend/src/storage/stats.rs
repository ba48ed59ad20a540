//! What the storage layer counts for the service's own metrics: waits for a pooled
//! connection, SQLite's busy retries (another connection, often Prosody, holds the write
//! lock), and what group commit does (commits, writes).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// SQLite calls the busy handler again and again while a lock is held; this many
/// calls with the waits below add up to about [`super::pool::BUSY_TIMEOUT`].
const BUSY_MAX_CALLS: i32 = 1008;

/// Busy retries of every connection of the process (a busy handler is a plain function:
/// it cannot reach a `Store`).
static BUSY_RETRIES: AtomicU64 = AtomicU64::new(0);

/// The busy handler of our connections: waits 1 ms ten times, then 5 ms at a time, for
/// about 5 s in all, counting each retry.
pub(super) fn on_busy(calls: i32) -> bool {
    if calls >= BUSY_MAX_CALLS {
        return false;
    }
    BUSY_RETRIES.fetch_add(1, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(if calls < 10 { 1 } else { 5 }));
    true
}

/// Counters of one `Store`.
#[derive(Default)]
pub struct Stats {
    pub pool_acquires: AtomicU64,
    pub pool_wait_micros: AtomicU64,
    pub commits: AtomicU64,
    pub writes: AtomicU64,
}

/// A reading of the counters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    pub pool_acquires: u64,
    pub pool_wait_seconds: f64,
    pub busy_retries: u64,
    pub commits: u64,
    pub writes: u64,
}

impl Stats {
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            pool_acquires: self.pool_acquires.load(Ordering::Relaxed),
            pool_wait_seconds: self.pool_wait_micros.load(Ordering::Relaxed) as f64 / 1e6,
            busy_retries: BUSY_RETRIES.load(Ordering::Relaxed),
            commits: self.commits.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
        }
    }
}
