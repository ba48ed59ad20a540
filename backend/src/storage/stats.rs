//! What the storage layer counts for the service's own metrics: waits for a pooled
//! connection, SQLite's busy retries (another connection, often Prosody, holds the write
//! lock), and what group commit does (commits, writes).

use std::sync::atomic::{AtomicU64, Ordering};

/// Busy retries of every connection of the process (SQLite's busy handler is a plain
/// function: it cannot reach a `Store`).
static BUSY_RETRIES: AtomicU64 = AtomicU64::new(0);

/// Counts one wait for a lock another connection holds (an engine's busy handler).
pub(super) fn count_lock_wait() {
    BUSY_RETRIES.fetch_add(1, Ordering::Relaxed);
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
