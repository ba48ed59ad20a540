//! [`Store`]: the database handle the service keeps, on either engine. Reads: a small
//! r2d2 pool of connections, every call on tokio's blocking pool, never on the async
//! runtime (on PostgreSQL each read is one REPEATABLE READ snapshot). Writes: the writer
//! thread's connection ([`super::writer`]), in transactions that carry the writes
//! waiting together, each in a savepoint, so a request that fails part-way leaves the
//! database unchanged; transactions stay short because Prosody writes the same tables.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use r2d2_sqlite::rusqlite::{Connection, TransactionBehavior};
use r2d2_sqlite::SqliteConnectionManager;

use std::sync::mpsc::Sender;

use super::rows::pg::PgConn;
use super::stats::{self, Snapshot, Stats};
use super::writer::{self, Call, Job, WriterConn};
use super::{schema, watch, Db, Location, ProsodyVersion, StoreError};

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

/// The pooled connections of either engine.
#[derive(Clone)]
enum Engine {
    Sqlite { pool: r2d2::Pool<SqliteConnectionManager>, path: PathBuf },
    Postgres { pool: r2d2::Pool<PgManager>, config: Arc<postgres::Config> },
}

/// r2d2's manager of PostgreSQL connections. A connection handed back inside a
/// transaction (its call panicked) or closed is dropped, never reused.
pub(super) struct PgManager {
    config: Arc<postgres::Config>,
    version: ProsodyVersion,
}

/// Opens a PostgreSQL connection (blocking; never on the async runtime).
pub(super) fn pg_connect(config: &postgres::Config) -> Result<PgConn, StoreError> {
    Ok(PgConn::new(config.connect(postgres::NoTls)?))
}

/// Opens a connection that writes as the layout `version` wants (see
/// [`PgConn::set_upsert`]).
pub(super) fn pg_connect_for(config: &postgres::Config, version: ProsodyVersion) -> Result<PgConn, StoreError> {
    let c = pg_connect(config)?;
    c.set_upsert(version == ProsodyVersion::V13);
    Ok(c)
}

/// A pooled PostgreSQL connection inside a read transaction. A connection the server
/// closed (a restart, a failover) fails its BEGIN, and nothing has run yet: it is
/// discarded (`has_broken`) and another taken, up to one per pooled slot, so a database
/// restart costs no request an error.
fn pg_reading(pool: &r2d2::Pool<PgManager>) -> Result<r2d2::PooledConnection<PgManager>, StoreError> {
    let mut attempts = 0;
    loop {
        let conn = pool.get()?;
        match conn.begin_read() {
            Ok(()) => return Ok(conn),
            Err(e) if conn.is_closed() && attempts < POOL_SIZE => {
                log::warn!("a pooled database connection was closed ({e}): taking another");
                attempts += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

impl r2d2::ManageConnection for PgManager {
    type Connection = PgConn;
    type Error = StoreError;

    fn connect(&self) -> Result<PgConn, StoreError> {
        pg_connect_for(&self.config, self.version)
    }

    fn is_valid(&self, c: &mut PgConn) -> Result<(), StoreError> {
        c.batch("")
    }

    fn has_broken(&self, c: &mut PgConn) -> bool {
        c.is_closed() || c.in_transaction()
    }
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    engine: Engine,
    scope: Arc<Scope>,
    /// Moves whenever the database may have changed (see [`crate::cache`]).
    generation: Arc<AtomicU64>,
    /// The writer thread's queue (group commit, see [`writer`]).
    writer: Sender<Job>,
    stats: Arc<Stats>,
}

/// Opens a connection as every connection of ours is set up.
fn init(c: &mut Connection) -> Result<(), r2d2_sqlite::rusqlite::Error> {
    // What busy_timeout(BUSY_TIMEOUT) does, counting the retries (see `stats`).
    c.busy_handler(Some(stats::on_busy))?;
    c.execute_batch("PRAGMA synchronous=NORMAL;")?;
    c.set_prepared_statement_cache_capacity(64);
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the SQLite database of `host` (see [`Store::open_at`]).
    pub fn open(path: &Path, host: &str, muc_host: &str, version: Option<ProsodyVersion>) -> Result<Store, StoreError> {
        Store::open_at(&Location::Sqlite(path.to_path_buf()), host, muc_host, version)
    }

    /// Opens (creating if needed) the database of `host`: detects its Prosody version
    /// (see [`schema::prepare`]; `version` is the configured one, if any) and creates
    /// the schema of a new database. A mismatch is an error before anything is written.
    /// Blocking: call it before the async runtime starts (or off it).
    pub fn open_at(
        location: &Location,
        host: &str,
        muc_host: &str,
        version: Option<ProsodyVersion>,
    ) -> Result<Store, StoreError> {
        let (engine, version, wconn) = match location {
            Location::Sqlite(path) => Self::open_sqlite(path, version)?,
            Location::Postgres(config) => {
                let config = Arc::new((**config).clone());
                // The writer's connection first: an unreachable server or a refused login
                // is one clear error now, not the pool's retries for 10 s.
                let first = pg_connect(&config)?;
                let version = schema::prepare_pg(&first, version)?;
                first.set_upsert(version == ProsodyVersion::V13);
                let pool = r2d2::Pool::builder()
                    .max_size(POOL_SIZE)
                    .connection_timeout(Duration::from_secs(10))
                    // `is_valid` would cost a round trip per read; `has_broken` drops
                    // closed connections when they come back, and a read whose BEGIN
                    // fails on a closed one takes another (`pg_reading`).
                    .test_on_check_out(false)
                    .build(PgManager { config: config.clone(), version })?;
                let wconn = WriterConn::Postgres { conn: Box::new(first), config: config.clone(), version };
                (Engine::Postgres { pool, config }, version, wconn)
            }
        };
        let scope = Arc::new(Scope { host: host.to_string(), muc_host: muc_host.to_string(), version });
        let generation = Arc::new(AtomicU64::new(0));
        let g = generation.clone();
        let stats = Arc::new(Stats::default());
        let st = stats.clone();
        let writer = writer::start(wconn, scope.clone(), move |writes| {
            st.commits.fetch_add(1, Ordering::Relaxed);
            st.writes.fetch_add(writes as u64, Ordering::Relaxed);
            g.fetch_add(1, Ordering::AcqRel);
        })?;
        Ok(Store { engine, scope, generation, writer, stats })
    }

    fn open_sqlite(
        path: &Path,
        version: Option<ProsodyVersion>,
    ) -> Result<(Engine, ProsodyVersion, WriterConn), StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError(format!("cannot create {}: {e}", dir.display())))?;
        }
        let manager = SqliteConnectionManager::file(path).with_init(init);
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
        let mut wconn = Connection::open(path)?;
        init(&mut wconn)?;
        Ok((Engine::Sqlite { pool, path: path.to_path_buf() }, version, WriterConn::Sqlite(wconn)))
    }

    /// The Prosody version whose layout this database has.
    pub fn version(&self) -> ProsodyVersion {
        self.scope.version
    }

    /// Whether the database can be opened and read at its path now, with a fresh
    /// connection (what a restart, or Prosody, would do): readiness. Off the runtime.
    pub async fn probe(&self) -> Result<(), StoreError> {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || match engine {
            Engine::Sqlite { path, .. } => {
                let c = Connection::open_with_flags(
                    &path,
                    r2d2_sqlite::rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                        | r2d2_sqlite::rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.busy_timeout(BUSY_TIMEOUT)?;
                schema::probe(&c)
            }
            Engine::Postgres { config, .. } => schema::probe_pg(&pg_connect(&config)?),
        })
        .await
        .map_err(|e| StoreError(format!("probe task failed: {e}")))?
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

    /// Starts the thread that watches for commits by other processes (Prosody, the CLI,
    /// other replicas): SQLite's `data_version` every `interval`; PostgreSQL's
    /// notifications as they come. It ends with the last `Store`.
    pub fn watch(&self, interval: Duration) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Sqlite { path, .. } => watch::start(path, &self.generation, interval),
            Engine::Postgres { config, .. } => watch::start_pg(config.clone(), &self.generation),
        }
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
        let (answer, rx) = tokio::sync::oneshot::channel();
        // The audit record of the request, if the HTTP layer set one (see crate::audit):
        // task-locals do not cross into the writer thread, so it goes along by hand.
        let job =
            Job { write: Box::new(Call { f: Some(f), result: None, answer }), audit: crate::audit::Pending::current() };
        self.writer.send(job).map_err(|_| E::from(StoreError("the writer thread is gone".into())))?;
        rx.await.map_err(|_| E::from(StoreError("the writer thread dropped a write".into())))?
    }

    /// The synchronous form of [`Store::write`], for the command-line tools.
    /// One write transaction of its own on a pooled connection (the CLI writes rarely
    /// and alone; no audit record: only API requests have one).
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: FnOnce(&Db<'_>) -> Result<T, E>,
    {
        let out = match &self.engine {
            Engine::Sqlite { pool, .. } => (|| {
                let mut conn = pool.get().map_err(StoreError::from)?;
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::from)?;
                let out = f(&Db::new(&*tx, &self.scope))?; // dropping `tx` on the error path rolls back
                tx.commit().map_err(StoreError::from)?;
                Ok(out)
            })(),
            Engine::Postgres { pool, .. } => (|| {
                let conn = pool.get().map_err(StoreError::from)?;
                conn.begin_write()?;
                let out = f(&Db::new(&*conn, &self.scope));
                conn.end(out.is_ok())?;
                out
            })(),
        };
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
        let t = std::time::Instant::now();
        let counted = |stats: &Stats| {
            let waited = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
            stats.pool_acquires.fetch_add(1, Ordering::Relaxed);
            stats.pool_wait_micros.fetch_add(waited, Ordering::Relaxed);
        };
        match &self.engine {
            Engine::Sqlite { pool, .. } => {
                let conn = pool.get().map_err(StoreError::from)?;
                counted(&self.stats);
                f(&Db::new(&*conn, &self.scope))
            }
            Engine::Postgres { pool, .. } => {
                let conn = pg_reading(pool)?;
                counted(&self.stats);
                let out = f(&Db::new(&*conn, &self.scope));
                // Read only: ending it cannot lose anything, but a connection that
                // cannot end it is not handed out again (see `PgManager::has_broken`).
                conn.end(out.is_ok())?;
                out
            }
        }
    }
}
