//! [`Store`]: the database handle the service keeps, on whichever engine its
//! [`Location`] names. Reads: the engine's pool, every call on tokio's blocking pool,
//! never on the async runtime. Writes: the writer thread ([`super::writer`]), in
//! transactions that carry the writes waiting together, each in a savepoint, so a
//! request that fails part-way leaves the database unchanged; transactions stay short
//! because Prosody writes the same data.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::db::Scope;
use super::engine::{Engine, Generation, Rows};
use super::stats::{Snapshot, Stats};
use super::writer::{self, Call, Companion, Job, Maintenance, MaintenanceSlot};
use super::{Db, Location, ProsodyVersion, StoreError};

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    engine: Arc<dyn Engine>,
    scope: Arc<Scope>,
    /// Moves whenever the database may have changed (see `crate::cache`).
    generation: Arc<AtomicU64>,
    /// The writer thread's queue (group commit, see [`writer`]).
    writer: Sender<Job>,
    /// What the writer runs after each batch (retention), once the backend sets it.
    maintenance: MaintenanceSlot,
    /// The writer's share of the database's time (see [`Store::set_write_share`]).
    share: writer::WriteShare,
    stats: Arc<Stats>,
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` (see [`Store::open_at`]).
    pub fn open(
        path: &std::path::Path,
        host: &str,
        muc_host: &str,
        version: Option<ProsodyVersion>,
    ) -> Result<Store, StoreError> {
        Store::open_at(&Location::Sqlite(path.to_path_buf()), host, muc_host, version)
    }

    /// Opens (creating if needed) the database at `location`, for the VirtualHost `host`
    /// and its group chats' component `muc_host`: detects its Prosody layout (`version`
    /// is the configured one, if any) and creates a new database's. A mismatch is an
    /// error before anything is written. Blocking: call it before the async runtime
    /// starts (or off it).
    pub fn open_at(
        location: &Location,
        host: &str,
        muc_host: &str,
        version: Option<ProsodyVersion>,
    ) -> Result<Store, StoreError> {
        let engine = location.open(version)?;
        let scope =
            Arc::new(Scope { host: host.to_string(), muc_host: muc_host.to_string(), version: engine.version() });
        let generation = Arc::new(AtomicU64::new(0));
        let g = generation.clone();
        let stats = Arc::new(Stats::default());
        let st = stats.clone();
        let maintenance = MaintenanceSlot::default();
        let share = Arc::new(std::sync::atomic::AtomicU32::new(writer::FULL_SHARE));
        let writer = writer::start(engine.writer()?, maintenance.clone(), share.clone(), move |writes| {
            st.commits.fetch_add(1, Ordering::Relaxed);
            st.writes.fetch_add(writes as u64, Ordering::Relaxed);
            g.fetch_add(1, Ordering::AcqRel);
        })?;
        Ok(Store { engine, scope, generation, writer, maintenance, share, stats })
    }

    /// The same database (engine, writer, generation, counters) for another VirtualHost
    /// and its group chats' component: hosts whose Prosody config names one database
    /// share one engine and one writer, as Prosody's hosts share its connection.
    pub fn for_host(&self, host: &str, muc_host: &str) -> Store {
        let scope = Arc::new(Scope { host: host.to_string(), muc_host: muc_host.to_string(), version: self.version() });
        Store { scope, ..self.clone() }
    }

    /// The VirtualHost this handle reads and writes.
    pub fn host(&self) -> &str {
        &self.scope.host
    }

    /// Sets what the writer runs after each batch for this handle's host (see
    /// [`Maintenance`]), in place of what was set for it before (a reload).
    pub fn set_maintenance(&self, m: Arc<dyn Maintenance>) -> Result<(), StoreError> {
        let mut slot =
            self.maintenance.write().map_err(|_| StoreError("the writer's maintenance is poisoned".into()))?;
        slot.retain(|(s, _)| s.host != self.scope.host);
        slot.push((self.scope.clone(), m));
        Ok(())
    }

    /// Bounds the time the writer holds the database to `share` of the whole (0 < share
    /// ≤ 1) while another process writes to it (SQLite: Prosody's commits seen in the last
    /// 2 s): after each batch it rests in proportion to the batch's time, so that Prosody's
    /// own writes keep their turns under a flood of ours. Alone it never rests; a lone
    /// write is never delayed (its answer goes before the rest).
    pub fn set_write_share(&self, share: Option<f64>) {
        let share = share.unwrap_or_else(|| self.engine.default_write_share());
        let millionths = (share.clamp(0.01, 1.0) * f64::from(writer::FULL_SHARE)).round() as u32;
        self.share.store(millionths, Ordering::Relaxed);
    }

    /// Whether two handles share one database (and its writer).
    pub fn same_database(&self, other: &Store) -> bool {
        Arc::ptr_eq(&self.engine, &other.engine)
    }

    /// The Prosody version whose layout this database has.
    pub fn version(&self) -> ProsodyVersion {
        self.scope.version
    }

    /// Whether the database can be opened and read now, with a fresh connection (what a
    /// restart, or Prosody, would do): readiness. Off the runtime.
    pub async fn probe(&self) -> Result<(), StoreError> {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || engine.probe())
            .await
            .map_err(|e| StoreError(format!("probe task failed: {e}")))?
    }

    /// Reads every stored item as the engine reads it: (how many, those it cannot read).
    /// Blocking.
    pub fn check(&self) -> Result<(usize, Vec<String>), StoreError> {
        self.engine.check()
    }

    /// The storage counters (for the service's metrics).
    pub fn stats(&self) -> Snapshot {
        self.stats.snapshot()
    }

    /// The current generation: equal values mean no commit was seen in between.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Starts the engine's watch for commits by other processes (Prosody, the CLI,
    /// other replicas); a polling engine looks every `interval`. It ends with the last
    /// `Store`.
    pub fn watch(&self, interval: Duration) -> Result<(), StoreError> {
        self.engine.watch(Generation(Arc::downgrade(&self.generation)), interval)
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

    /// Runs `f` in a write transaction, off the async runtime: its changes are committed
    /// when `f` returns Ok, rolled back (nothing written) when it returns Err. The writer
    /// thread runs waiting writes together, each in its own savepoint, and commits them
    /// at once (see [`writer`]); the answer comes after that commit.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Db<'_>) -> Result<T, E> + Send + 'static,
    {
        self.write_with(None, f).await
    }

    /// [`Store::write`], with a `companion` written in the same savepoint once `f`
    /// succeeded (the audit record of the request: see [`Companion`]); a companion that
    /// fails to write fails the write.
    pub async fn write_with<T, E, F>(&self, companion: Option<Arc<dyn Companion>>, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Db<'_>) -> Result<T, E> + Send + 'static,
    {
        let (answer, rx) = tokio::sync::oneshot::channel();
        let job =
            Job { write: Box::new(Call { f: Some(f), result: None, answer }), scope: self.scope.clone(), companion };
        self.writer.send(job).map_err(|_| E::from(StoreError("the writer thread is gone".into())))?;
        rx.await.map_err(|_| E::from(StoreError("the writer thread dropped a write".into())))?
    }

    /// The synchronous form of [`Store::write`], for the command-line tools: one write
    /// transaction on a connection of its own (the CLI writes rarely and alone).
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: FnOnce(&Db<'_>) -> Result<T, E>,
    {
        self.write_blocking_with(None, f)
    }

    /// [`Store::write_blocking`] with a companion written in the same transaction once
    /// `f` succeeded (the audit record of a CLI command).
    pub fn write_blocking_with<T, E, F>(&self, companion: Option<Arc<dyn Companion>>, f: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: FnOnce(&Db<'_>) -> Result<T, E>,
    {
        let out = (|| {
            let mut conn = self.engine.writer()?;
            conn.begin()?;
            let db = Db::new(conn.rows(), &self.scope);
            let mut out = f(&db);
            let mut carried = None;
            if out.is_ok() {
                match writer::write_companion(&db, companion) {
                    Ok(c) => carried = c,
                    Err(e) => out = Err(E::from(e)),
                }
            }
            let ended = conn.end(out.is_ok());
            if let Some(c) = carried {
                c.settled(out.is_ok() && ended.is_ok());
            }
            ended?;
            out
        })();
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
        let asked = Instant::now();
        let mut f = Some(f);
        let mut out = None;
        self.engine.read(&mut |rows: &dyn Rows| {
            // The time until a connection was ours: the pool's wait.
            let waited = u64::try_from(asked.elapsed().as_micros()).unwrap_or(u64::MAX);
            self.stats.pool_acquires.fetch_add(1, Ordering::Relaxed);
            self.stats.pool_wait_micros.fetch_add(waited, Ordering::Relaxed);
            let Some(f) = f.take() else { return false };
            let r = f(&Db::new(rows, &self.scope));
            let ok = r.is_ok();
            out = Some(r);
            ok
        })?;
        out.unwrap_or_else(|| Err(E::from(StoreError("the read did not run".into()))))
    }
}
