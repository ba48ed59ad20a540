//! The user listing: merged on one thread, or, for a large listing from the read pool,
//! on two connections in one WAL snapshot (`sqlite3_snapshot_get`/`open`): the second
//! thread reads the accounts and their own stores, this one the rest and the JSON.

use super::*;

// ---------------------------------------------------------------------------------
// The user listing

/// What the primitives run on: a connection, and, for a pooled reader, an idle second
/// connection a large listing may borrow.
pub(super) trait Sql {
    fn conn(&self) -> &Connection;
    /// Whether a listing may read on a second connection ([`Sql::helper`]).
    fn may_split(&self) -> bool {
        false
    }
    /// An idle connection of the pool, if one can be spared now (never waits for one).
    fn helper(&self) -> Option<Pooled> {
        None
    }
}

pub(super) type Pooled = r2d2::PooledConnection<SqliteConnectionManager>;

impl Sql for Connection {
    fn conn(&self) -> &Connection {
        self
    }
}

/// A connection of the read pool, which may lend a listing a second one.
pub(super) struct Reader<'p> {
    pub(super) conn: Pooled,
    pub(super) pool: &'p r2d2::Pool<SqliteConnectionManager>,
}

impl Sql for Reader<'_> {
    fn conn(&self) -> &Connection {
        &self.conn
    }
    fn may_split(&self) -> bool {
        true
    }
    fn helper(&self) -> Option<Pooled> {
        // Never the last idle one: a point read arriving meanwhile gets a connection
        // without waiting for the listing (a second large listing reads on one thread).
        if self.pool.state().idle_connections < 2 {
            return None;
        }
        self.pool.try_get()
    }
}

/// Accounts a pooled listing merges on one thread before it reads the rest on two: a
/// page or a small host never pays for a thread; 100 000 accounts take about half the
/// time on two (measured: BENCHMARKS.md).
pub(super) const SPLIT_AFTER: usize = 2_000;
/// Accounts per message from the second thread, and messages in flight at most.
pub(super) const CHUNK: usize = 2048;
pub(super) const CHUNKS_IN_FLIGHT: usize = 8;

// Every statement of a listing: each stream in user order from an index that holds
// what it reads.
/// Every account row: [`DistinctUsers`] makes the names (SQLite's DISTINCT over the
/// same index scan took 60 % longer: 36 against 22 ms for 400 000 rows).
pub(super) const ACCOUNT_ROWS: &str =
    r#"SELECT "user" FROM "prosody" WHERE "host"=? AND "store"=? AND "user">? ORDER BY "user""#;
pub(super) const CURRENT_ITEMS: &str = r#"SELECT "user", "key", "type", "value" FROM "prosodyarchive" WHERE "host"=? AND "store"=? AND "key"='current' AND "user">?
       AND "store" IN ('pep_http://jabber.org/protocol/nick', 'pep_urn:xmpp:avatar:metadata') ORDER BY "user""#;
pub(super) const ROLE_ROWS: &str = r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=? AND "store"=? AND "user">?
       AND "store" IN ('roles', 'account_roles')
       AND (("type"='boolean' AND "value"='true') OR "key"='_default') ORDER BY "user", "key""#;
pub(super) const MEMBER_ROWS: &str = r#"SELECT g."key", g."user", 'string', '' FROM "prosody" g WHERE g."host"=?1 AND g."store"=?2 AND g."key">?4
       AND EXISTS (SELECT 1 FROM "prosody" i WHERE i."host"=?1 AND i."user"=g."user" AND i."store"=?3)
       ORDER BY g."key", g."user""#;
pub(super) const ONE_KEY: &str = r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=? AND "store"=? AND "key"=? AND "user">? ORDER BY "user""#;
pub(super) const ALL_KEYS: &str = r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=? AND "store"=? AND "user">? ORDER BY "user", "key""#;

/// The accounts after `after` (at most `limit`), every stream read and merged here.
pub(super) fn on_one_thread(
    c: &Connection,
    host: &str,
    s: &ListingStores,
    after: &str,
    limit: Option<usize>,
    visit: &mut dyn FnMut(ListedRows) -> R<()>,
) -> R<()> {
    let mut accounts = c.prepare_cached(ACCOUNT_ROWS)?;
    let names = DistinctUsers::new(accounts.query(params![host, s.accounts, after])?, limit);
    let mut statements = Statements::prepare(c)?;
    let streams = statements.open(host, s, after, Part::All)?;
    merge_seeds(named(names), streams, visit)
}

/// Which of a listing's streams a thread reads.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Part {
    /// Every stream (a listing on one thread).
    All,
    /// The accounts' own stores: roles, disabled, activity, cleanup (the second thread).
    Own,
    /// Nick, avatar and groups (the first thread, beside the second).
    Others,
}

/// The statements of a listing's streams on one connection.
pub(super) struct Statements<'c> {
    pub(super) items: CachedStatement<'c>,
    pub(super) avatars: CachedStatement<'c>,
    pub(super) roles: CachedStatement<'c>,
    pub(super) members: CachedStatement<'c>,
    pub(super) keyed: CachedStatement<'c>,
    pub(super) activity: CachedStatement<'c>,
    pub(super) cleanup: CachedStatement<'c>,
}

impl<'c> Statements<'c> {
    // Two streams read with one statement text (items and avatars, keyed and activity):
    // each gets its own prepared statement (the cache hands a statement to one user at
    // a time).
    pub(super) fn prepare(c: &'c Connection) -> R<Self> {
        Ok(Statements {
            items: c.prepare_cached(CURRENT_ITEMS)?,
            avatars: c.prepare_cached(CURRENT_ITEMS)?,
            roles: c.prepare_cached(ROLE_ROWS)?,
            members: c.prepare_cached(MEMBER_ROWS)?,
            keyed: c.prepare_cached(ONE_KEY)?,
            activity: c.prepare_cached(ONE_KEY)?,
            cleanup: c.prepare_cached(ALL_KEYS)?,
        })
    }

    /// The streams of `part` after `after`, each an open statement read as the merge
    /// advances (a page stops reading each index where the page ends); the others None.
    pub(super) fn open(
        &mut self,
        host: &str,
        s: &ListingStores,
        after: &str,
        part: Part,
    ) -> R<Streams<Option<SqlStream<'_>>>> {
        let (own, others) = (part != Part::Others, part != Part::Own);
        Ok(Streams {
            nick: stream(others, &mut self.items, params![host, s.nick_archive, after])?,
            avatar: stream(others, &mut self.avatars, params![host, s.avatar_archive, after])?,
            roles: stream(own, &mut self.roles, params![host, s.roles, after])?,
            members: stream(others, &mut self.members, params![host, s.groups, s.group_info, after])?,
            disabled: stream(own, &mut self.keyed, params![host, s.accounts, "disabled", after])?,
            activity: stream(own, &mut self.activity, params![host, s.activity, "timestamp", after])?,
            cleanup: stream(own, &mut self.cleanup, params![host, s.cleanup, after])?,
        })
    }
}

/// A statement's rows as a stream, when `open`.
pub(super) fn stream<'s>(
    open: bool,
    st: &'s mut CachedStatement<'_>,
    p: impl rusqlite::Params,
) -> R<Option<SqlStream<'s>>> {
    if !open {
        return Ok(None);
    }
    Ok(Some(SqlStream::new(st.query(p)?)?))
}

/// The accounts after `after` (at most `limit`), read on two connections in one
/// snapshot: a second thread reads the account names and the streams of the accounts'
/// own stores (roles, disabled, activity, cleanup) and merges them; this one adds
/// nick, avatar and groups to what it sends, then hands each account to `visit`, which
/// (turning it into JSON) is the other half of the work.
pub(super) fn on_two_threads(
    c: &Connection,
    helper: Helper,
    host: &str,
    s: &ListingStores,
    after: &str,
    limit: Option<usize>,
    visit: &mut dyn FnMut(ListedRows) -> R<()>,
) -> R<()> {
    let (out, seeds) = std::sync::mpsc::sync_channel(CHUNKS_IN_FLIGHT);
    std::thread::scope(|scope| {
        let side = std::thread::Builder::new()
            .name("db-listing".into())
            .spawn_scoped(scope, move || {
                if let Err(e) = account_side(&helper.0, host, s, after, limit, &out) {
                    // Nobody listens when this thread stopped because the other did.
                    let _ = out.send(Err(e));
                }
            })
            .map_err(|e| StoreError(format!("cannot start a listing thread: {e}")))?;
        let mut statements = Statements::prepare(c)?;
        let streams = statements.open(host, s, after, Part::Others)?;
        // The receiver goes with the merge: a stop here ends the other thread's sends.
        let merged = merge_seeds(Chunks::new(seeds), streams, visit);
        let joined = side.join().map_err(|_| StoreError("the listing's second thread panicked".into()));
        merged.and(joined)
    })
}

/// The second thread of [`on_two_threads`]: account names merged with the accounts'
/// own stores, sent on in chunks.
pub(super) fn account_side(
    c: &Connection,
    host: &str,
    s: &ListingStores,
    after: &str,
    limit: Option<usize>,
    out: &SyncSender<R<Chunk>>,
) -> R<()> {
    let mut accounts = c.prepare_cached(ACCOUNT_ROWS)?;
    let mut names = DistinctUsers::new(accounts.query(params![host, s.accounts, after])?, limit);
    let mut statements = Statements::prepare(c)?;
    let own = statements.open(host, s, after, Part::Own)?;
    let (mut roles, mut disabled) = (Cursor(own.roles), Cursor(own.disabled));
    let (mut active, mut clean) = (Cursor(own.activity), Cursor(own.cleanup));
    let gone = || StoreError("the listing stopped".into());
    let mut chunk = Chunk::default();
    while let Some(name) = names.next_name()? {
        let mut a = PackedAccount { name: chunk.push_text(name), ..Default::default() };
        roles.take_for(name, |k, v| {
            let key = chunk.push_text(&k);
            chunk.roles.push((key, v));
            a.roles += 1;
        })?;
        disabled.take_for(name, |_, v| a.disabled = Some(v))?;
        active.take_for(name, |_, v| a.last_active = Some(v))?;
        clean.take_for(name, |k, v| a.cleanup.push((k.into_owned(), v)))?;
        chunk.accounts.push(a);
        if chunk.accounts.len() == CHUNK {
            out.send(Ok(std::mem::take(&mut chunk))).map_err(|_| gone())?;
        }
    }
    if !chunk.accounts.is_empty() {
        out.send(Ok(chunk)).map_err(|_| gone())?;
    }
    Ok(())
}

/// Accounts as [`account_side`] sends them: names and role keys in one text per chunk,
/// so that the receiving thread allocates what it keeps and frees one buffer per chunk.
/// (glibc's malloc does worst at memory one thread allocates and another frees: the
/// two threads then took turns on the allocating thread's arena lock, a futex wake per
/// turn; measured: a fifth of both threads' time.)
#[derive(Default)]
pub(super) struct Chunk {
    pub(super) text: String,
    pub(super) accounts: Vec<PackedAccount>,
    /// (key in `text`, value) of every account's role rows, in account order.
    pub(super) roles: Vec<(Range<usize>, Value)>,
}

impl Chunk {
    pub(super) fn push_text(&mut self, t: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(t);
        start..self.text.len()
    }
}

/// One account of a [`Chunk`]. Its values are rarely allocated (booleans, numbers).
#[derive(Default)]
pub(super) struct PackedAccount {
    pub(super) name: Range<usize>,
    /// How many of [`Chunk::roles`] are its own (they follow the previous account's).
    pub(super) roles: usize,
    pub(super) disabled: Option<Value>,
    pub(super) last_active: Option<Value>,
    pub(super) cleanup: Vec<(String, Value)>,
}

/// The accounts [`account_side`] sends, one at a time, allocated here.
pub(super) struct Chunks {
    pub(super) rx: Receiver<R<Chunk>>,
    pub(super) text: String,
    pub(super) accounts: std::vec::IntoIter<PackedAccount>,
    pub(super) roles: std::vec::IntoIter<(Range<usize>, Value)>,
}

impl Chunks {
    pub(super) fn new(rx: Receiver<R<Chunk>>) -> Self {
        Chunks { rx, text: String::new(), accounts: Vec::new().into_iter(), roles: Vec::new().into_iter() }
    }
}

impl Iterator for Chunks {
    type Item = R<ListedRows>;

    fn next(&mut self) -> Option<R<ListedRows>> {
        loop {
            if let Some(a) = self.accounts.next() {
                let text = |r: Range<usize>| self.text.get(r).map(str::to_string);
                let roles = self.roles.by_ref().take(a.roles).map(|(k, v)| Some((text(k)?, v))).collect();
                let (Some(name), Some(roles)) = (text(a.name), roles) else {
                    return Some(Err(StoreError("a listing chunk out of its bounds".into())));
                };
                return Some(Ok(ListedRows {
                    name,
                    roles,
                    disabled: a.disabled,
                    last_active: a.last_active,
                    cleanup: a.cleanup,
                    ..ListedRows::default()
                }));
            }
            // A closed channel: the other thread finished (or failed, having said so).
            match self.rx.recv().ok()? {
                Ok(chunk) => {
                    self.text = chunk.text;
                    self.accounts = chunk.accounts.into_iter();
                    self.roles = chunk.roles.into_iter();
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// A pooled connection in a read transaction that shares a listing's snapshot; the
/// transaction ends when it is dropped, before the connection goes back to the pool.
pub(super) struct Helper(Pooled);

impl Drop for Helper {
    fn drop(&mut self) {
        if !self.0.is_autocommit() {
            if let Err(e) = self.0.execute_batch("ROLLBACK") {
                log::warn!("ending a listing's read: {e}");
            }
        }
    }
}

/// What a listing's second connection must read to see what the first one reads: the
/// first one's WAL snapshot, or the database file alone.
pub(super) enum Shared {
    Snapshot(Snapshot),
    /// No transaction was ever written to the WAL file (a database nobody has written to
    /// since its last connection closed): SQLite then has no snapshot to give (its
    /// documented `sqlite3_snapshot_get` precondition), and the first connection reads
    /// the database file alone, which no checkpoint can change while it reads.
    EmptyWal,
}

impl Shared {
    /// Begins the read transaction of `c` (inside `BEGIN`, before its first read, and
    /// [`ready_for_snapshots`] before the `BEGIN`) on the database's latest commit, in a
    /// way another connection can share: a read transaction begun by
    /// `sqlite3_snapshot_get` holds its snapshot against a WAL restart, one begun by a
    /// plain read of a fully checkpointed WAL would not (measured: other connections then
    /// failed to open it while Prosody committed).
    pub(super) fn take(c: &Connection) -> R<Shared> {
        match Snapshot::get(c)? {
            Some(snapshot) => Ok(Shared::Snapshot(snapshot)),
            None => Ok(Shared::EmptyWal),
        }
    }

    /// Begins `helper`'s read transaction on what the first connection reads.
    pub(super) fn open_on(&self, helper: Pooled) -> R<Helper> {
        if !ready_for_snapshots(&helper)? {
            return Err(not_wal());
        }
        // A transaction that has not read yet, which the snapshot calls begin.
        helper.execute_batch("BEGIN DEFERRED")?;
        let helper = Helper(helper);
        match self {
            Shared::Snapshot(snapshot) => {
                // SAFETY: an open connection used by this thread only during the call;
                // the snapshot is alive (owned by self).
                let code = unsafe { ffi::sqlite3_snapshot_open(helper.0.handle(), MAIN.as_ptr(), snapshot.0.as_ptr()) };
                if code != ffi::SQLITE_OK {
                    let why = ffi::code_to_str(code);
                    return Err(StoreError(format!("cannot open the listing's snapshot: {why}")));
                }
            }
            // Still no transaction in the WAL: this one reads the same file alone.
            // One came meanwhile: the two would not read the same commits.
            Shared::EmptyWal => {
                if Snapshot::get(&helper.0)?.is_some() {
                    return Err(StoreError("a commit came between the listing's two reads".into()));
                }
            }
        }
        Ok(helper)
    }
}

/// A WAL snapshot (SQLite's snapshot interface, which the build turns on:
/// `SQLITE_ENABLE_SNAPSHOT` in `.cargo/config.toml`; without it this does not link).
/// Freed when dropped.
pub(super) struct Snapshot(std::ptr::NonNull<ffi::sqlite3_snapshot>);

impl Snapshot {
    /// `sqlite3_snapshot_get`: begins `c`'s read transaction (`c` inside `BEGIN`, ready)
    /// if none is open, and returns its snapshot; None when the WAL file never held a
    /// transaction (SQLITE_ERROR, the one precondition left once `c` is ready and in a
    /// read transaction; the read transaction is open all the same).
    pub(super) fn get(c: &Connection) -> R<Option<Snapshot>> {
        let mut snapshot: *mut ffi::sqlite3_snapshot = std::ptr::null_mut();
        // SAFETY: an open connection, used by this thread only during the call; on
        // success `snapshot` is a new allocation the returned value owns and frees once.
        let code = unsafe { ffi::sqlite3_snapshot_get(c.handle(), MAIN.as_ptr(), &mut snapshot) };
        match (code, std::ptr::NonNull::new(snapshot)) {
            (ffi::SQLITE_OK, Some(snapshot)) => Ok(Some(Snapshot(snapshot))),
            (ffi::SQLITE_ERROR, None) if !c.is_autocommit() => Ok(None),
            _ => Err(StoreError(format!("cannot take the listing's snapshot: {}", ffi::code_to_str(code)))),
        }
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        // SAFETY: allocated by sqlite3_snapshot_get, freed here only.
        unsafe { ffi::sqlite3_snapshot_free(self.0.as_ptr()) }
    }
}

/// The schema a snapshot is of.
pub(super) const MAIN: &std::ffi::CStr = c"main";

/// Makes a connection ready for the snapshot calls, which fail (SQLITE_ERROR) on one
/// that has not learnt that the file is in WAL mode, i.e. has not read it yet: SQLite's
/// documentation suggests this pragma. Outside a transaction: it reads. Returns
/// whether the file is in WAL mode, which [`Shared::EmptyWal`]'s reasoning needs (a
/// rollback-journal database has no snapshots either; the listing then reads on one
/// connection).
pub(super) fn ready_for_snapshots(c: &Connection) -> R<bool> {
    c.query_row("PRAGMA application_id", [], |r| r.get::<_, i64>(0))?;
    let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    Ok(mode.eq_ignore_ascii_case("wal"))
}

pub(super) fn not_wal() -> StoreError {
    StoreError("the database is not in WAL mode: no snapshot to share".into())
}

/// The distinct users of rows sorted by user, at most `left` of them (None: all).
/// The rows of a name already seen are compared in place, as bytes, before any UTF-8
/// check; the name is kept in one buffer, reused.
pub(super) struct DistinctUsers<'s> {
    pub(super) rows: rusqlite::Rows<'s>,
    pub(super) last: Option<String>,
    pub(super) left: Option<usize>,
}

impl<'s> DistinctUsers<'s> {
    pub(super) fn new(rows: rusqlite::Rows<'s>, limit: Option<usize>) -> Self {
        DistinctUsers { rows, last: None, left: limit }
    }

    /// The next name, borrowed (allocates nothing but when a name outgrows the buffer).
    pub(super) fn next_name(&mut self) -> R<Option<&str>> {
        if self.left == Some(0) {
            return Ok(None);
        }
        while let Some(row) = self.rows.next()? {
            let bytes = row.get_ref(0)?.as_bytes().map_err(rusqlite::Error::from)?;
            if self.last.as_ref().is_some_and(|l| l.as_bytes() == bytes) {
                continue;
            }
            let name =
                std::str::from_utf8(bytes).map_err(|e| StoreError(format!("a username that is not UTF-8: {e}")))?;
            match &mut self.last {
                Some(last) => {
                    last.clear();
                    last.push_str(name);
                }
                None => self.last = Some(name.to_string()),
            }
            self.left = self.left.map(|n| n - 1);
            return Ok(self.last.as_deref());
        }
        Ok(None)
    }
}

impl Iterator for DistinctUsers<'_> {
    type Item = R<String>;

    fn next(&mut self) -> Option<R<String>> {
        self.next_name().map(|name| name.map(str::to_string)).transpose()
    }
}
