//! Notices commits by other processes (Prosody, a CLI command) through SQLite's
//! `PRAGMA data_version`, and moves the store's generation so that caches retire.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use r2d2_sqlite::rusqlite::{self, Connection};

use super::pool::BUSY_TIMEOUT;
use super::{rows, StoreError};

/// Starts the watcher thread, polling every `interval`; it ends with the last handle on
/// `generation`.
pub(super) fn start(path: &Path, generation: &Arc<AtomicU64>, interval: Duration) -> Result<(), StoreError> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let generation: Weak<AtomicU64> = Arc::downgrade(generation);
    std::thread::Builder::new()
        .name("db-watch".into())
        .spawn(move || {
            let mut last = rows::data_version(&conn).ok();
            loop {
                std::thread::sleep(interval);
                let Some(g) = generation.upgrade() else { return };
                match rows::data_version(&conn) {
                    Ok(v) if Some(v) != last => {
                        last = Some(v);
                        g.fetch_add(1, Ordering::AcqRel);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        // Unknown state: drop the caches and say why.
                        log::warn!("watching the database: {e}");
                        g.fetch_add(1, Ordering::AcqRel);
                    }
                }
            }
        })
        .map_err(|e| StoreError(format!("cannot start the database watcher: {e}")))?;
    Ok(())
}
