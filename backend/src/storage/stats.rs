//! What the storage layer counts for the service's own metrics: waits for a pooled
//! connection, SQLite's busy retries (another connection, often Prosody, holds the write
//! lock), what group commit does (commits, writes), and large listings read on two
//! connections.

use std::sync::atomic::{AtomicU64, Ordering};

/// Busy retries of every connection of the process (SQLite's busy handler is a plain
/// function: it cannot reach a `Store`).
static BUSY_RETRIES: AtomicU64 = AtomicU64::new(0);

/// Counts one wait for a lock another connection holds (an engine's busy handler).
pub(super) fn count_lock_wait() {
    BUSY_RETRIES.fetch_add(1, Ordering::Relaxed);
}

/// Large listings read on two connections in one snapshot, and those that could not
/// share the snapshot and were read on one (the SQLite engine's; see its `list_accounts`).
static SPLIT_LISTINGS: AtomicU64 = AtomicU64::new(0);
static UNSPLIT_LISTINGS: AtomicU64 = AtomicU64::new(0);

/// Counts a listing read on two connections (`true`) or one that could not be.
pub(super) fn count_split_listing(split: bool) {
    (if split { &SPLIT_LISTINGS } else { &UNSPLIT_LISTINGS }).fetch_add(1, Ordering::Relaxed);
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
    pub split_listings: u64,
    pub unsplit_listings: u64,
}

impl Stats {
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            pool_acquires: self.pool_acquires.load(Ordering::Relaxed),
            pool_wait_seconds: self.pool_wait_micros.load(Ordering::Relaxed) as f64 / 1e6,
            busy_retries: BUSY_RETRIES.load(Ordering::Relaxed),
            commits: self.commits.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            split_listings: SPLIT_LISTINGS.load(Ordering::Relaxed),
            unsplit_listings: UNSPLIT_LISTINGS.load(Ordering::Relaxed),
        }
    }
}
