//! The audit log: who changed what, kept in the administered database.
//!
//! The HTTP layer knows who calls (actor, token id, client address) and what (operation,
//! path) before a request runs; it puts a [`Pending`] record in a task-local scope
//! around the request. [`Backend::write`] hands it to the storage layer with each write
//! as its [`Companion`]: the first write transaction the request commits appends the
//! record in that same transaction, so the data and its audit entry are durable
//! together or not at all. A successful write that committed nothing
//! (an announcement through the live path) and refused admin actions are recorded by
//! the HTTP layer afterwards, in a transaction of their own ([`Backend::record_audit`]).

use std::future::Future;
use std::sync::{Arc, Mutex};

use prosody_admin_api::models;

pub use crate::storage::stores::audit::AuditRecord;
use crate::storage::{Companion, StoreError};
use crate::{Backend, Db, Failure};

/// Largest page of `GET /audit`.
pub const MAX_PAGE: u64 = 1000;
pub const DEFAULT_PAGE: u64 = 100;
/// The outcomes recorded.
pub const SUCCESS: &str = "success";
pub const REFUSED: &str = "refused";

tokio::task_local! {
    static PENDING: Arc<Pending>;
}

/// The record of a request in progress, until a commit carries it.
pub struct Pending {
    record: Mutex<Option<AuditRecord>>,
    /// The record while the transaction it was written in has not ended.
    in_flight: Mutex<Option<AuditRecord>>,
}

impl Pending {
    pub fn new(record: AuditRecord) -> Arc<Pending> {
        Arc::new(Pending { record: Mutex::new(Some(record)), in_flight: Mutex::new(None) })
    }

    /// Runs `fut` (the request) with this record pending.
    pub async fn scope<F: Future>(self: &Arc<Self>, fut: F) -> F::Output {
        PENDING.scope(self.clone(), fut).await
    }

    /// The record pending for the current task, if any.
    pub(crate) fn current() -> Option<Arc<Pending>> {
        PENDING.try_with(Arc::clone).ok()
    }

    /// The record, once: for the first transaction that commits.
    pub(crate) fn take(&self) -> Option<AuditRecord> {
        self.record.lock().ok()?.take()
    }

    /// Puts back a record whose transaction did not commit.
    pub(crate) fn restore(&self, r: AuditRecord) {
        if let Ok(mut g) = self.record.lock() {
            *g = Some(r);
        }
    }

    /// Names the actor once the request itself learns who it is (a password sign-in:
    /// the account, and the token minted).
    pub(crate) fn name_actor(&self, actor: String, token_id: Option<String>) {
        if let Ok(mut g) = self.record.lock() {
            if let Some(r) = g.as_mut() {
                r.actor = actor;
                r.token_id = token_id;
            }
        }
    }

    /// The record, if no commit carried it.
    pub fn uncommitted(&self) -> Option<AuditRecord> {
        self.take()
    }
}

/// An entry's time (Unix seconds) and id: time-ordered ([`crate::ids::ordered`]), so
/// that appending an entry touches the end of the archive's indices.
fn new_id() -> Result<(i64, String), Failure> {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| Failure::Internal(format!("the clock is before 1970: {e}")))?
        .as_micros();
    let micros = u64::try_from(micros).map_err(|_| Failure::Internal("the clock is beyond 2^64 µs".into()))?;
    Ok(((micros / 1_000_000) as i64, crate::ids::ordered(micros)?))
}

/// The record rides with the request's writes: the clock and the entry's id are the
/// backend's, taken when the write runs.
impl Companion for Pending {
    fn write_in(&self, db: &Db<'_>) -> Result<(), StoreError> {
        let Some(record) = self.take() else { return Ok(()) };
        let written = (|| {
            let (when, id) = new_id().map_err(|e| StoreError(e.to_string()))?;
            db.audit().append(&id, when, &record).map(|_| ())
        })();
        match written {
            Ok(()) => {
                if let Ok(mut g) = self.in_flight.lock() {
                    *g = Some(record);
                }
                Ok(())
            }
            Err(e) => {
                self.restore(record);
                Err(e)
            }
        }
    }

    fn settled(&self, committed: bool) {
        let record = self.in_flight.lock().ok().and_then(|mut g| g.take());
        if let (false, Some(r)) = (committed, record) {
            self.restore(r);
        }
    }
}

impl Backend {
    /// Runs `f` as a write (see [`crate::Store::write`]), with the audit record of the
    /// request in progress, if the HTTP layer set one, as its companion: task-locals do
    /// not cross into the writer thread, so it goes along by hand.
    pub(crate) async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Db<'_>) -> Result<T, E> + Send + 'static,
    {
        let companion = Pending::current().or_else(|| self.cli_record()).map(|p| p as Arc<dyn Companion>);
        self.store().write_with(companion, f).await
    }

    /// The blocking form of [`Backend::write`] (command-line tools): audited as the
    /// invocation when it is one.
    pub(crate) fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: FnOnce(&Db<'_>) -> Result<T, E>,
    {
        let companion = self.cli_record().map(|p| p as Arc<dyn Companion>);
        self.store().write_blocking_with(companion, f)
    }
}

/// Retention of the audit log: run by the writer after each batch (see
/// [`crate::storage::Maintenance`]), deleting in small steps (at most twice the batch's
/// writes, and some) so that it never stalls writes and still keeps up with them.
pub struct Retention {
    /// Seconds an entry is kept.
    pub max_age: Option<i64>,
    /// Newest entries kept.
    pub max_entries: Option<u64>,
}

impl crate::storage::Maintenance for Retention {
    fn after_writes(&self, db: &Db<'_>, writes: usize) -> Result<(), StoreError> {
        let before = match self.max_age {
            Some(age) => Some(crate::now().map_err(|e| StoreError(e.to_string()))? - age),
            None => None,
        };
        let keep = self.max_entries.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let limit = i64::try_from(writes.saturating_mul(2).saturating_add(16)).unwrap_or(i64::MAX);
        db.audit().prune(keep, before, limit)?;
        Ok(())
    }
}

impl Backend {
    /// Records an action in a transaction of its own.
    pub async fn record_audit(&self, r: AuditRecord) -> Result<(), Failure> {
        let (now, id) = new_id()?;
        self.store()
            .write(move |db| {
                db.audit().append(&id, now, &r)?;
                Ok::<_, Failure>(())
            })
            .await
    }

    /// A page of the log, newest first, of the entries `filter` keeps.
    pub async fn audit_page(
        &self,
        limit: Option<u64>,
        before: Option<String>,
        filter: Filter,
    ) -> Result<models::AuditPage, Failure> {
        let (limit, before) = page_args(limit, before)?;
        filter.check()?;
        self.store().read(move |db| page(db, limit, before, &filter)).await
    }

    /// [`Backend::audit_page`] for the command line.
    pub fn audit_page_blocking(
        &self,
        limit: Option<u64>,
        before: Option<String>,
        filter: Filter,
    ) -> Result<models::AuditPage, Failure> {
        let (limit, before) = page_args(limit, before)?;
        filter.check()?;
        self.store().read_blocking(|db| page(db, limit, before, &filter))
    }
}

fn page_args(limit: Option<u64>, before: Option<String>) -> Result<(u64, Option<i64>), Failure> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Failure::BadRequest(format!("limit must be 1 to {MAX_PAGE}")));
    }
    let before = match before {
        None => None,
        Some(b) => Some(
            b.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| Failure::BadRequest(format!("before: not a cursor of this log: {b:?}")))?,
        ),
    };
    Ok((limit, before))
}

/// Which entries a page shows (all that match every filter given).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub operation: Option<String>,
    /// Unix seconds, inclusive.
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl Filter {
    fn check(&self) -> Result<(), Failure> {
        // The spec's bounds.
        for (name, v, max) in [("actor", &self.actor, 3071), ("operation", &self.operation, 200)] {
            if v.as_ref().is_some_and(|v| v.is_empty() || v.chars().count() > max) {
                return Err(Failure::BadRequest(format!("{name}: 1 to {max} characters")));
            }
        }
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.actor.is_none() && self.operation.is_none() && self.since.is_none() && self.until.is_none()
    }

    fn keeps(&self, time: i64, r: &AuditRecord) -> bool {
        self.actor.as_ref().is_none_or(|a| *a == r.actor)
            && self.operation.as_ref().is_none_or(|o| *o == r.operation)
            && self.since.is_none_or(|s| time >= s)
            && self.until.is_none_or(|u| time <= u)
    }
}

/// Entries read per step of a filtered search, and at most per page: a filter that
/// matches rarely answers a short page with a `next`, instead of reading the whole log.
const SCAN_STEP: i64 = 500;
const SCAN_BUDGET: usize = 20_000;

fn page(db: &Db<'_>, limit: u64, before: Option<i64>, filter: &Filter) -> Result<models::AuditPage, Failure> {
    // An empty time range: nothing can match.
    if let (Some(s), Some(u)) = (filter.since, filter.until) {
        if s > u {
            return Ok(models::AuditPage { entries: Vec::new(), next: None });
        }
    }
    // One more than asked: whether there is a next page.
    let want = limit as usize + 1;
    let (mut rows, mut cursor, mut scanned, mut exhausted) = (Vec::new(), before, 0usize, false);
    while rows.len() < want && scanned < SCAN_BUDGET {
        let step = if filter.is_empty() { want as i64 } else { SCAN_STEP };
        let chunk = db.audit().newest(cursor, step)?;
        exhausted = (chunk.len() as i64) < step;
        scanned += chunk.len();
        for row in chunk {
            cursor = Some(row.0);
            if rows.len() < want && filter.keeps(row.2, &row.3) {
                rows.push(row);
            }
        }
        if exhausted {
            break;
        }
    }
    let next = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|(pos, ..)| pos.to_string())
    } else if !exhausted {
        // The search stopped at its budget: go on from where it stopped.
        cursor.map(|c| c.to_string())
    } else {
        None
    };
    let entries = rows
        .into_iter()
        .map(|(_, id, time, r)| {
            let outcome = match r.outcome.as_str() {
                SUCCESS => models::AuditEntryOutcome::Success,
                REFUSED => models::AuditEntryOutcome::Refused,
                other => return Err(Failure::Internal(format!("audit entry {id}: unknown outcome {other:?}"))),
            };
            Ok(models::AuditEntry {
                id,
                time,
                actor: r.actor,
                token_id: r.token_id,
                client: r.client,
                operation: r.operation,
                method: r.method,
                target: r.target,
                outcome,
                status: r.status.map(i64::from),
            })
        })
        .collect::<Result<_, Failure>>()?;
    Ok(models::AuditPage { entries, next })
}
