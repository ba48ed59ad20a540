//! [`Store`]: the database handle the service keeps. A small r2d2 pool of SQLite
//! connections; every call runs on tokio's blocking pool, never on the async runtime;
//! writes run in one `BEGIN IMMEDIATE` transaction each, so a request that fails
//! part-way leaves the database unchanged, and transactions stay short because Prosody
//! writes the same file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use r2d2_sqlite::rusqlite::{Connection, TransactionBehavior};
use r2d2_sqlite::SqliteConnectionManager;

use super::{schema, watch, Db, ProsodyVersion, StoreError};

/// How long a statement waits for Prosody (or another connection) to release a lock.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections in the pool (the async runtime's blocking threads are sized from it).
pub const POOL_SIZE: u32 = 4;

/// Where the data of the administered server lives in the tables.
#[derive(Debug, Clone)]
pub(super) struct Scope {
    /// The VirtualHost (`host` column of its users' rows).
    pub host: String,
    /// The MUC component of group chats (`host` column of room rows).
    pub muc_host: String,
    pub version: ProsodyVersion,
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: r2d2::Pool<SqliteConnectionManager>,
    path: PathBuf,
    scope: Arc<Scope>,
    /// Moves whenever the database may have changed (see [`crate::cache`]).
    generation: Arc<AtomicU64>,
}

impl Store {
    /// Opens (creating if needed) the database of `host`: detects its Prosody version
    /// (see [`schema::prepare`]; `version` is the configured one, if any) and creates
    /// the schema of a new database. A mismatch is an error before anything is written.
    pub fn open(path: &Path, host: &str, muc_host: &str, version: Option<ProsodyVersion>) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError(format!("cannot create {}: {e}", dir.display())))?;
        }
        let manager = SqliteConnectionManager::file(path).with_init(|c| {
            c.busy_timeout(BUSY_TIMEOUT)?;
            c.execute_batch("PRAGMA synchronous=NORMAL;")?;
            c.set_prepared_statement_cache_capacity(64);
            Ok(())
        });
        let pool =
            r2d2::Pool::builder().max_size(POOL_SIZE).connection_timeout(Duration::from_secs(10)).build(manager)?;
        let conn = pool.get()?;
        // Before anything is written: which Prosody's layout, and does it fit.
        let version = schema::prepare(&conn, version)?;
        // WAL lets readers (us, Prosody) proceed while one connection writes; the mode is
        // persistent in the file.
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            log::warn!("database journal mode is {mode}, not wal");
        }
        let scope = Scope { host: host.to_string(), muc_host: muc_host.to_string(), version };
        Ok(Store { pool, path: path.to_path_buf(), scope: Arc::new(scope), generation: Arc::new(AtomicU64::new(0)) })
    }

    /// The Prosody version whose layout this database has.
    pub fn version(&self) -> ProsodyVersion {
        self.scope.version
    }

    /// The current generation: equal values mean no commit was seen in between.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Starts the thread that watches for commits by other processes (Prosody, the CLI)
    /// every `interval`; it ends with the last `Store`.
    pub fn watch(&self, interval: Duration) -> Result<(), StoreError> {
        watch::start(&self.path, &self.generation, interval)
    }

    fn db<'c>(&'c self, conn: &'c Connection) -> Db<'c> {
        Db::new(conn, &self.scope)
    }

    /// Runs `f` on a pooled connection, off the async runtime.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Db<'_>) -> Result<T, E> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read_blocking(f))
            .await
            .map_err(|e| E::from(StoreError(format!("storage task failed: {e}"))))?
    }

    /// Runs `f` in one immediate transaction, off the async runtime: committed when `f`
    /// returns Ok, rolled back (nothing written) when it returns Err.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Db<'_>) -> Result<T, E> + Send + 'static,
    {
        let store = self.clone();
        // The audit record of the request, if the HTTP layer set one (see crate::audit):
        // task-locals do not cross into the blocking pool, so it goes along by hand.
        let audit = crate::audit::Pending::current();
        tokio::task::spawn_blocking(move || store.write_in(f, audit.as_deref()))
            .await
            .map_err(|e| E::from(StoreError(format!("storage task failed: {e}"))))?
    }

    /// The synchronous form of [`Store::write`], for the command-line tools.
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: FnOnce(&Db<'_>) -> Result<T, E>,
    {
        self.write_in(f, None)
    }

    /// A write transaction; the first one of a request that commits also appends the
    /// request's pending audit record (so both are durable, or neither).
    fn write_in<T, E, F>(&self, f: F, audit: Option<&crate::audit::Pending>) -> Result<T, E>
    where
        E: From<StoreError>,
        F: FnOnce(&Db<'_>) -> Result<T, E>,
    {
        let mut conn = self.pool.get().map_err(StoreError::from)?;
        let mut carried = None;
        let out = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::from)?;
            let out = f(&self.db(&tx))?; // dropping `tx` on the error path rolls back
            if let Some(record) = audit.and_then(|p| p.take()) {
                let when = crate::now().map_err(|e| StoreError(e.to_string()))?;
                let id = crate::ids::medium().map_err(|e| StoreError(e.to_string()))?;
                let appended = self.db(&tx).audit().append(&id, when, &record);
                carried = Some(record);
                appended?;
            }
            tx.commit().map_err(StoreError::from)?;
            carried = None;
            Ok(out)
        })();
        // A record whose transaction did not commit is still pending.
        if let (Some(p), Some(r)) = (audit, carried) {
            p.restore(r);
        }
        // After the commit (or a rollback, harmlessly): caches filled before it are stale.
        self.bump();
        out
    }

    /// The synchronous form of [`Store::read`], for the command-line tools.
    pub fn read_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: FnOnce(&Db<'_>) -> Result<T, E>,
    {
        let conn = self.pool.get().map_err(StoreError::from)?;
        f(&self.db(&conn))
    }
}
