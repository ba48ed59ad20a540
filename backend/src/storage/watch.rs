//! Notices commits by other processes (Prosody, a CLI command, other replicas) and
//! moves the store's generation so that caches retire: on SQLite through
//! `PRAGMA data_version`, polled; on PostgreSQL through the notifications that our
//! trigger `prosody_admin_notify` sends on every change to Prosody's two tables
//! (delivered at commit, to every replica).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use r2d2_sqlite::rusqlite::{self, Connection};

use super::pool::pg_connect;
use super::pool::BUSY_TIMEOUT;
use super::rows::sqlite::data_version;
use super::StoreError;

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
            let mut last = data_version(&conn).ok();
            loop {
                std::thread::sleep(interval);
                let Some(g) = generation.upgrade() else { return };
                match data_version(&conn) {
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

/// How long the PostgreSQL watcher waits for a notification before it looks whether
/// its `Store` is gone; notifications themselves wake it at once.
const PG_TICK: Duration = Duration::from_millis(250);

/// Starts the PostgreSQL watcher: a connection of its own that LISTENs. Notifications
/// can be lost only with the connection; so a lost connection retires every cache, and
/// so does the reconnection (whatever committed in between).
pub(super) fn start_pg(config: Arc<postgres::Config>, generation: &Arc<AtomicU64>) -> Result<(), StoreError> {
    // The first connection before the service starts: a database that cannot be
    // watched is an error now, not a cache that never retires.
    let first = listen(&config)?;
    let generation: Weak<AtomicU64> = Arc::downgrade(generation);
    std::thread::Builder::new()
        .name("db-watch".into())
        .spawn(move || {
            let mut conn = Some(first);
            let mut backoff = Duration::from_millis(50);
            loop {
                let Some(g) = generation.upgrade() else { return };
                let Some(c) = &conn else {
                    std::thread::sleep(backoff);
                    match listen(&config) {
                        Ok(c) => {
                            log::info!("watching the database again");
                            conn = Some(c);
                            backoff = Duration::from_millis(50);
                        }
                        Err(e) => {
                            log::warn!("watching the database: {e}");
                            backoff = (backoff * 2).min(Duration::from_secs(5));
                        }
                    }
                    // Connected or not: nothing cached may outlive the gap.
                    g.fetch_add(1, Ordering::AcqRel);
                    continue;
                };
                drop(g);
                match c.notifications(PG_TICK) {
                    Ok(0) => {}
                    Ok(_) => {
                        if let Some(g) = generation.upgrade() {
                            g.fetch_add(1, Ordering::AcqRel);
                        }
                    }
                    Err(e) => {
                        log::warn!("watching the database: {e}; reconnecting");
                        conn = None;
                        if let Some(g) = generation.upgrade() {
                            g.fetch_add(1, Ordering::AcqRel);
                        }
                    }
                }
            }
        })
        .map_err(|e| StoreError(format!("cannot start the database watcher: {e}")))?;
    Ok(())
}

fn listen(config: &postgres::Config) -> Result<super::rows::pg::PgConn, StoreError> {
    let c = pg_connect(config)?;
    // A fixed statement: the channel name is ours, not input.
    c.batch("LISTEN prosody_admin")?; // the channel of our trigger (see super::schema)
    Ok(c)
}
