//! Group commit: the service's writes go through one writer thread, which runs the
//! writes waiting together in one transaction, each in a savepoint of its own, and
//! commits once. A write that fails rolls back to its savepoint (it changes nothing,
//! and the others are unaffected); every write is answered only after the commit that
//! holds it, so an acknowledged write is exactly as durable as with a commit of its own
//! (one WAL commit), and what rides with it (its request's audit record, a
//! [`Companion`]) is in that same commit.
//!
//! Nothing waits on purpose: a batch is what queued while the previous commit ran. A
//! lone write commits at once; under load one commit carries many (at most
//! [`MAX_BATCH`]), and the transaction's fixed costs (the write lock, the WAL frames of
//! the pages every write touches, the commit) are paid once for all of them.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;

use super::db::Scope;
use super::engine::WriteConn;
use super::{Db, StoreError};

/// Most writes one commit carries.
pub const MAX_BATCH: usize = 64;

/// One write, type-erased: run it, then tell its caller the outcome.
pub(super) trait Write: Send {
    /// Runs the write in the batch's transaction; whether it succeeded.
    fn run(&mut self, db: &Db<'_>) -> bool;
    /// Answers the caller: its own result, or `failed` in place of a success that did
    /// not become durable (the commit failed, its audit record could not be written,
    /// it never ran).
    fn tell(self: Box<Self>, failed: Option<StoreError>);
}

/// What a caller wants written in the same savepoint as its write, once the write
/// succeeded: the audit record of its request. The storage layer knows nothing of
/// requests; the backend passes this along with the write.
pub trait Companion: Send + Sync {
    /// Writes what it carries, if it still carries anything (a request's record is
    /// written by the first of its writes that commits). An error rolls the write back
    /// and fails it.
    fn write_in(&self, db: &Db<'_>) -> Result<(), StoreError>;
    /// The transaction it was written in ended (after a successful
    /// [`Companion::write_in`]): committed, or not (then it carries its rows again).
    fn settled(&self, committed: bool);
}

/// Work the writer does after each batch's writes, in the batch's transaction and a
/// savepoint of its own (a failure undoes it alone, is logged, and fails no write):
/// retention, in small steps, so that it never stalls writes. Set by the backend
/// ([`super::Store::set_maintenance`]).
pub trait Maintenance: Send + Sync {
    /// `writes`: how many writes of the batch succeeded.
    fn after_writes(&self, db: &Db<'_>, writes: usize) -> Result<(), StoreError>;
}

/// The most of the time the writer may hold the database while another process writes
/// to it, in millionths (see [`super::Store::set_write_share`]): after a batch that took
/// `d`, it rests `d × (1/share − 1)` before the next, so that Prosody, which writes the
/// same file (and waits for its lock by sleeping, SQLite's busy handler), gets its turns
/// under a flood.
pub(super) type WriteShare = Arc<std::sync::atomic::AtomicU32>;

/// A writer that never rests: 1.0.
pub(super) const FULL_SHARE: u32 = 1_000_000;

/// How long after another process's commit the writer keeps resting between batches.
const POLITE_FOR: std::time::Duration = std::time::Duration::from_secs(2);

/// Where the writer finds the maintenance of each host that set one (several hosts
/// may share one database, and so one writer).
pub(super) type MaintenanceSlot = Arc<std::sync::RwLock<Vec<(Arc<Scope>, Arc<dyn Maintenance>)>>>;

/// A write, the host it writes for, and what rides with it.
pub(super) struct Job {
    pub write: Box<dyn Write>,
    pub scope: Arc<Scope>,
    pub companion: Option<Arc<dyn Companion>>,
}

/// The caller's closure and where its answer goes.
pub(super) struct Call<T, E, F> {
    pub f: Option<F>,
    pub result: Option<Result<T, E>>,
    pub answer: tokio::sync::oneshot::Sender<Result<T, E>>,
}

impl<T, E, F> Write for Call<T, E, F>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: FnOnce(&Db<'_>) -> Result<T, E> + Send + 'static,
{
    fn run(&mut self, db: &Db<'_>) -> bool {
        let Some(f) = self.f.take() else { return false };
        let r = f(db);
        let ok = r.is_ok();
        self.result = Some(r);
        ok
    }

    fn tell(self: Box<Self>, failed: Option<StoreError>) {
        let out = match (self.result, failed) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), None) => Ok(v),
            (_, Some(e)) => Err(E::from(e)),
            (None, None) => Err(E::from(StoreError("the write did not run".into()))),
        };
        // The caller may be gone (its request dropped): nothing to tell then.
        let _ = self.answer.send(out);
    }
}

/// Starts the writer thread on `conn`; it ends when every sender is gone.
/// `after_commit` runs after each batch, with its number of writes (the caches'
/// generation moves; the counters count).
pub(super) fn start(
    mut conn: Box<dyn WriteConn>,
    maintenance: MaintenanceSlot,
    share: WriteShare,
    after_commit: impl Fn(usize) + Send + 'static,
) -> Result<Sender<Job>, StoreError> {
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("prosody-admin-writer".into())
        .spawn(move || run(&mut *conn, &maintenance, &share, &rx, &after_commit))
        .map_err(|e| StoreError(format!("cannot start the writer thread: {e}")))?;
    Ok(tx)
}

fn run(
    conn: &mut dyn WriteConn,
    maintenance: &MaintenanceSlot,
    share: &WriteShare,
    rx: &Receiver<Job>,
    after_commit: &dyn Fn(usize),
) {
    let mut polite_until: Option<std::time::Instant> = None;
    while let Ok(first) = rx.recv() {
        let started = std::time::Instant::now();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let writes = batch.len();
        let upkeep = maintenance.read().map(|m| m.clone()).unwrap_or_default();
        let answers = commit(conn, &upkeep, batch);
        // Before anyone hears of the commit: caches filled before it are stale, so a
        // client reads its own write.
        after_commit(writes);
        for (write, failed) in answers {
            write.tell(failed);
        }
        // The rest that bounds our share of the database (none at 1.0), while someone
        // else writes to it (Prosody: seen by SQLite's data_version; on flat files, by
        // the data directory's watch, a change this process did not make). Alone, the
        // writer runs flat out; an engine that cannot tell (PostgreSQL, an unwatched
        // directory) never rests. The answers are out: only the next batch waits, and
        // it grows meanwhile.
        let now = std::time::Instant::now();
        if conn.others_wrote() == Some(true) {
            polite_until = Some(now + POLITE_FOR);
        }
        let share = share.load(std::sync::atomic::Ordering::Relaxed).clamp(1, FULL_SHARE);
        if share < FULL_SHARE && polite_until.is_some_and(|u| now < u) {
            let held = started.elapsed();
            std::thread::sleep(held.mul_f64(f64::from(FULL_SHARE) / f64::from(share) - 1.0));
        }
    }
}

/// What to tell each write of a batch.
type Answers = Vec<(Box<dyn Write>, Option<StoreError>)>;

/// Runs a batch in one transaction; the answers to give once it is over.
fn commit(conn: &mut dyn WriteConn, maintenance: &[(Arc<Scope>, Arc<dyn Maintenance>)], batch: Vec<Job>) -> Answers {
    if let Err(e) = conn.begin() {
        return batch.into_iter().map(|j| (j.write, Some(e.clone()))).collect();
    }
    let conn = &*conn;
    let mut ran = Vec::with_capacity(batch.len());
    for job in batch {
        let scope = job.scope.clone();
        ran.push(one(conn, &Db::new(conn.rows(), &scope), job));
    }
    let writes = ran.iter().filter(|(_, failed, _)| failed.is_none()).count();
    for (scope, m) in maintenance {
        maintain(conn, &Db::new(conn.rows(), scope), m.as_ref(), writes);
    }
    match conn.end(true) {
        Ok(()) => ran
            .into_iter()
            .map(|(w, failed, carried)| {
                if let Some(c) = carried {
                    c.settled(true);
                }
                (w, failed)
            })
            .collect(),
        Err(e) => {
            let _ = conn.end(false);
            ran.into_iter()
                .map(|(w, _, carried)| {
                    // Not committed: what it carried is still the caller's to write.
                    if let Some(c) = carried {
                        c.settled(false);
                    }
                    (w, Some(e.clone()))
                })
                .collect()
        }
    }
}

/// A write that ran: the write, the failure to report in place of its success (if
/// any), and the companion written with it.
type Ran = (Box<dyn Write>, Option<StoreError>, Option<Arc<dyn Companion>>);

/// One write in its savepoint: kept when it and its companion succeeded, rolled back
/// otherwise.
fn one(conn: &dyn WriteConn, db: &Db<'_>, job: Job) -> Ran {
    let Job { mut write, companion, .. } = job;
    if let Err(e) = conn.savepoint() {
        return (write, Some(e), None);
    }
    let mut failed = None;
    let ok = match std::panic::catch_unwind(AssertUnwindSafe(|| write.run(db))) {
        Ok(ok) => ok,
        Err(_) => {
            log::error!("a write panicked: rolled back");
            failed = Some(StoreError("internal error".into()));
            false
        }
    };
    let mut carried = None;
    if ok {
        match write_companion(db, companion) {
            Ok(c) => carried = c,
            Err(e) => failed = Some(e),
        }
    }
    if let Err(e) = conn.release(ok && failed.is_none()) {
        // The savepoint is in an unknown state: fail this write; the commit decides
        // for the rest.
        failed.get_or_insert(e);
    }
    (write, failed, carried)
}

/// The maintenance step in its own savepoint: kept when it succeeded, undone (and
/// logged) when not; the batch's writes are not affected either way.
fn maintain(conn: &dyn WriteConn, db: &Db<'_>, m: &dyn Maintenance, writes: usize) {
    if let Err(e) = conn.savepoint() {
        log::warn!("maintenance skipped: {e}");
        return;
    }
    let ok = match std::panic::catch_unwind(AssertUnwindSafe(|| m.after_writes(db, writes))) {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            log::warn!("maintenance failed (undone): {e}");
            false
        }
        Err(_) => {
            log::error!("maintenance panicked (undone)");
            false
        }
    };
    if let Err(e) = conn.release(ok) {
        log::warn!("maintenance savepoint: {e}");
    }
}

/// Writes a succeeded write's companion in its transaction: the companion to settle at
/// the transaction's end, if it wrote.
pub(super) fn write_companion(
    db: &Db<'_>,
    companion: Option<Arc<dyn Companion>>,
) -> Result<Option<Arc<dyn Companion>>, StoreError> {
    match companion {
        Some(c) => c.write_in(db).map(|()| Some(c)),
        None => Ok(None),
    }
}
