//! The SQLite engine: a file in Prosody's `mod_storage_sql` layout (0.12 or 13), the
//! embedded default. Reads on a small r2d2 pool; writes on a connection of their own
//! (`BEGIN IMMEDIATE`: the file's write lock for the whole transaction, which Prosody
//! waits for or fails on: see `prosody/mod_sql_busy_timeout.lua`); WAL, so readers (us,
//! Prosody) proceed while one connection writes; other processes' commits noticed
//! through `PRAGMA data_version`, polled.
//!
//! Every statement is a fixed string with `?` parameters, prepared once per connection
//! (`prepare_cached`); nothing is formatted into SQL.

use std::borrow::Cow;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender};
use std::time::Duration;

use r2d2_sqlite::rusqlite::{self, ffi, params, CachedStatement, Connection, OpenFlags, OptionalExtension, Row};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::fallible_streaming_iterator::FallibleStreamingIterator;

use super::{
    choose, from_indices, merge_seeds, named, prosody_index, ArchiveRow, At, Cursor, Detected, Engine, Generation,
    ListedRows, ListingStores, Rows, Stream, Streams, WriteConn, POOL_SIZE, R,
};
use crate::storage::{stats, ProsodyVersion, StoreError};
use crate::values::Value;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}
impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError(format!("connection pool: {e}"))
    }
}

// ---------------------------------------------------------------------------------
// The layout: what each version's mod_storage_sql creates on SQLite (read off
// databases each version created: `sqlite3 .schema`), plus `IF NOT EXISTS`: a
// database we create is indistinguishable from one Prosody created, but for our own
// `prosody_admin_*` indices.

const TABLES: &str = r#"
CREATE TABLE IF NOT EXISTS "prosody" ("host" TEXT NOT NULL, "user" TEXT NOT NULL, "store" TEXT NOT NULL, "key" TEXT NOT NULL, "type" TEXT NOT NULL, "value" TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS "prosodyarchive" ("sort_id" INTEGER PRIMARY KEY AUTOINCREMENT, "host" TEXT NOT NULL, "user" TEXT NOT NULL, "store" TEXT NOT NULL, "key" TEXT NOT NULL, "when" INTEGER NOT NULL, "with" TEXT NOT NULL, "type" TEXT NOT NULL, "value" TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS "prosodyarchive_index" ON "prosodyarchive" ("host", "user", "store", "key");
CREATE INDEX IF NOT EXISTS "prosodyarchive_with_when" ON "prosodyarchive" ("host", "user", "store", "with", "when");
CREATE INDEX IF NOT EXISTS "prosodyarchive_when" ON "prosodyarchive" ("host", "user", "store", "when");
CREATE INDEX IF NOT EXISTS "prosodyarchive_sort" ON "prosodyarchive" ("host", "user", "store", "sort_id");
"#;

/// Indices of our own for lookups across users, which Prosody ignores: members of a
/// group and the groups of a user (host, store, key), listings in user order (host,
/// store, user, key), every user's nick item (archive: host, store, key).
const OUR_INDICES: &str = r#"
CREATE INDEX IF NOT EXISTS "prosody_admin_store_key_user" ON "prosody" ("host", "store", "key", "user");
CREATE INDEX IF NOT EXISTS "prosody_admin_store_user_key" ON "prosody" ("host", "store", "user", "key");
CREATE INDEX IF NOT EXISTS "prosody_admin_archive_store_key_user" ON "prosodyarchive" ("host", "store", "key", "user");
CREATE INDEX IF NOT EXISTS "prosody_admin_listing_items" ON "prosodyarchive" ("host", "store", "key", "user", "type", "value") WHERE "store" IN ('pep_http://jabber.org/protocol/nick', 'pep_urn:xmpp:avatar:metadata');
CREATE INDEX IF NOT EXISTS "prosody_admin_listing_roles" ON "prosody" ("host", "store", "user", "key", "type", "value") WHERE "store" IN ('roles', 'account_roles');
"#;

/// The stores the two partial covering indices above hold (`prosody_admin_listing_*`):
/// the listing reads every account's nick, avatar and roles from them without a table
/// lookup per row (measured: the 100 000-account listing spent a fifth of its time in
/// those lookups). Their statements repeat the index's `IN` term, which is what lets
/// SQLite use a partial index with a bound store name; a listing asked for other stores
/// is refused rather than answered from the wrong index.
const LISTED_ITEM_STORES: [&str; 2] = ["pep_http://jabber.org/protocol/nick", "pep_urn:xmpp:avatar:metadata"];
const LISTED_ROLE_STORES: [&str; 2] = ["roles", "account_roles"];

fn has(c: &Connection, kind: &str, name: &str) -> R<bool> {
    Ok(c.query_row(r#"SELECT 1 FROM "sqlite_master" WHERE "type"=? AND "name"=?"#, params![kind, name], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Reads (never writes) the version a database's schema belongs to.
fn detect(c: &Connection) -> R<Detected> {
    if !has(c, "table", "prosody")? {
        return Ok(Detected::Empty);
    }
    from_indices(has(c, "index", "prosody_index")?, has(c, "index", "prosody_unique_index")?)
}

/// Chooses the layout (see [`choose`]) and makes sure it is there: an empty database
/// gets the tables and index of its version, in one transaction; then our own indices
/// (idempotent).
fn prepare(c: &Connection, configured: Option<ProsodyVersion>) -> R<ProsodyVersion> {
    let (version, create) = choose(detect(c)?, configured)?;
    if create {
        // Both or neither: a half-created schema would be detected as "neither".
        let tx = c.unchecked_transaction()?;
        tx.execute_batch(TABLES)?;
        tx.execute_batch(prosody_index(version))?;
        tx.commit()?;
    }
    c.execute_batch(OUR_INDICES)?;
    Ok(version)
}

// ---------------------------------------------------------------------------------
// Connections

/// How long a statement waits for Prosody (or another connection) to release a lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// SQLite calls the busy handler again and again while a lock is held; this many
/// calls with the waits below add up to about [`BUSY_TIMEOUT`].
const BUSY_MAX_CALLS: i32 = 1008;

/// The busy handler of our connections: waits 1 ms ten times, then 5 ms at a time, for
/// about 5 s in all, counting each retry (see [`stats`]).
fn on_busy(calls: i32) -> bool {
    if calls >= BUSY_MAX_CALLS {
        return false;
    }
    stats::count_lock_wait();
    std::thread::sleep(Duration::from_millis(if calls < 10 { 1 } else { 5 }));
    true
}

/// Sets up a connection as every connection of ours is set up.
fn init(c: &mut Connection) -> rusqlite::Result<()> {
    // What busy_timeout(BUSY_TIMEOUT) does, counting the retries.
    c.busy_handler(Some(on_busy))?;
    c.execute_batch("PRAGMA synchronous=NORMAL;")?;
    c.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// A read-only connection of its own (the watch, the probe).
fn read_only(path: &Path) -> R<Connection> {
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    c.busy_timeout(BUSY_TIMEOUT)?;
    Ok(c)
}

/// An open SQLite database.
pub(in crate::storage) struct Sqlite {
    pool: r2d2::Pool<SqliteConnectionManager>,
    path: PathBuf,
    version: ProsodyVersion,
}

/// Opens (creating if needed, with its directory) the database at `path`: detects its
/// layout, creates a new database's, switches the file to WAL. Blocking.
pub(in crate::storage) fn open(path: &Path, configured: Option<ProsodyVersion>) -> R<Sqlite> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| StoreError(format!("cannot create {}: {e}", dir.display())))?;
    }
    let manager = SqliteConnectionManager::file(path).with_init(init);
    let pool = r2d2::Pool::builder().max_size(POOL_SIZE).connection_timeout(Duration::from_secs(10)).build(manager)?;
    let conn = pool.get()?;
    // Before anything is written: which Prosody's layout, and does it fit.
    let version = prepare(&conn, configured)?;
    // WAL lets readers (us, Prosody) proceed while one connection writes; the mode is
    // persistent in the file.
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        log::warn!("database journal mode is {mode}, not wal");
    }
    Ok(Sqlite { pool, path: path.to_path_buf(), version })
}

impl Engine for Sqlite {
    fn version(&self) -> ProsodyVersion {
        self.version
    }

    fn read(&self, f: &mut dyn FnMut(&dyn Rows) -> bool) -> R<()> {
        // No transaction: each statement reads the WAL snapshot of its start (one
        // read is one statement but for listings, whose streams open together).
        let conn = self.pool.get()?;
        f(&Reader { conn, pool: &self.pool });
        Ok(())
    }

    fn writer(&self) -> R<Box<dyn WriteConn>> {
        let mut c = Connection::open(&self.path)?;
        init(&mut c)?;
        // Measured with `make bench`'s audited invite POSTs (BENCHMARKS.md): a batch's
        // savepoints journal every page each write first touches; in memory, not spilled
        // to a temporary file past 64 KiB (a tenth of the writer's time). And the
        // automatic checkpoint, which runs inside the commit that crosses its threshold
        // (a fifth of the writer's time at 1 000 pages), at 10 000 pages (40 MB of WAL):
        // hot pages are copied once per checkpoint, not once per 1 000 frames. Prosody's
        // own connections keep SQLite's default and checkpoint when they commit past it.
        // Durability is that of synchronous=NORMAL in WAL mode: a commit is in the WAL
        // (the operating system's) before it is acknowledged, so a killed process loses
        // nothing; the WAL is fsynced at checkpoints.
        c.execute_batch("PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=10000;")?;
        Ok(Box::new(Writer(c)))
    }

    fn watch(&self, generation: Generation, interval: Duration) -> R<()> {
        let conn = read_only(&self.path)?;
        std::thread::Builder::new()
            .name("db-watch".into())
            .spawn(move || {
                let mut last = data_version(&conn).ok();
                loop {
                    std::thread::sleep(interval);
                    if !generation.alive() {
                        return;
                    }
                    match data_version(&conn) {
                        Ok(v) if Some(v) != last => {
                            last = Some(v);
                            generation.bump();
                        }
                        Ok(_) => {}
                        Err(e) => {
                            // Unknown state: drop the caches and say why.
                            log::warn!("watching the database: {e}");
                            generation.bump();
                        }
                    }
                }
            })
            .map_err(|e| StoreError(format!("cannot start the database watcher: {e}")))?;
        Ok(())
    }

    fn probe(&self) -> R<()> {
        // One row of Prosody's main table: the file is there, is a database, and has
        // the layout (an empty table is fine).
        read_only(&self.path)?
            .query_row(r#"SELECT count(*) FROM (SELECT 1 FROM "prosody" LIMIT 1)"#, [], |r| r.get::<_, i64>(0))?;
        Ok(())
    }
}

/// Whether the database changed since this connection last looked: SQLite's
/// `data_version` changes when another connection (or process) commits.
fn data_version(c: &Connection) -> R<i64> {
    Ok(c.prepare_cached("PRAGMA data_version")?.query_row([], |r| r.get(0))?)
}

/// The writer's connection.
struct Writer(Connection);

impl WriteConn for Writer {
    fn begin(&mut self) -> R<()> {
        Ok(self.0.execute_batch("BEGIN IMMEDIATE")?)
    }

    fn savepoint(&self) -> R<()> {
        Ok(self.0.execute_batch("SAVEPOINT prosody_admin_write")?)
    }

    fn release(&self, keep: bool) -> R<()> {
        Ok(self.0.execute_batch(if keep {
            "RELEASE prosody_admin_write"
        } else {
            "ROLLBACK TO prosody_admin_write; RELEASE prosody_admin_write"
        })?)
    }

    fn end(&self, commit: bool) -> R<()> {
        Ok(self.0.execute_batch(if commit { "COMMIT" } else { "ROLLBACK" })?)
    }

    fn rows(&self) -> &dyn Rows {
        &self.0
    }
}

// ---------------------------------------------------------------------------------
// The primitives

fn decode(ty: String, v: String) -> Value {
    Value::decode(&ty, v)
}

/// An open statement's (user, key, type, value) rows as a listing [`Stream`], read in
/// place: a row's user is compared where SQLite holds it, and only what the merge keeps
/// is allocated (measured: 400 000 allocations fewer for 100 000 accounts).
struct SqlStream<'s>(rusqlite::Rows<'s>);

impl<'s> SqlStream<'s> {
    fn new(rows: rusqlite::Rows<'s>) -> R<Self> {
        let mut s = SqlStream(rows);
        s.advance()?;
        Ok(s)
    }
}

/// A text column, borrowed.
fn text<'r>(row: &'r Row, i: usize) -> R<&'r str> {
    Ok(row.get_ref(i)?.as_str().map_err(rusqlite::Error::from)?)
}

impl Stream for SqlStream<'_> {
    fn user(&self) -> R<Option<&str>> {
        self.0.get().map(|row| text(row, 0)).transpose()
    }

    fn key_value(&mut self) -> R<(Cow<'_, str>, Value)> {
        let row = self.0.get().ok_or_else(|| StoreError("a listing stream read past its end".into()))?;
        Ok((Cow::Borrowed(text(row, 1)?), Value::decode_str(text(row, 2)?, text(row, 3)?)))
    }

    fn advance(&mut self) -> R<()> {
        Ok(self.0.advance()?)
    }
}

impl<S: Sql> Rows for S {
    fn kv_get(&self, at: At, user: &str, key: &str) -> R<Option<Value>> {
        self.conn().prepare_cached(
            r#"SELECT "type", "value" FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=? AND "key"=? LIMIT 1"#,
        )?
        .query_row(params![at.host, user, at.store, key], |r| Ok(decode(r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(Into::into)
    }

    fn kv_all(&self, at: At, user: &str) -> R<Vec<(String, Value)>> {
        let mut st = self.conn().prepare_cached(
            r#"SELECT "key", "type", "value" FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=? ORDER BY "key""#,
        )?;
        let rows = st.query_map(params![at.host, user, at.store], |r| Ok((r.get(0)?, decode(r.get(1)?, r.get(2)?))))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn kv_set(&self, at: At, user: &str, key: &str, v: &Value) -> R<()> {
        self.kv_delete(at, user, key)?;
        let (ty, val) = v.encode();
        self.conn()
            .prepare_cached(
                r#"INSERT INTO "prosody" ("host", "user", "store", "key", "type", "value") VALUES (?, ?, ?, ?, ?, ?)"#,
            )?
            .execute(params![at.host, user, at.store, key, ty, val])?;
        Ok(())
    }

    fn kv_delete(&self, at: At, user: &str, key: &str) -> R<bool> {
        let n = self
            .conn()
            .prepare_cached(r#"DELETE FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=? AND "key"=?"#)?
            .execute(params![at.host, user, at.store, key])?;
        Ok(n > 0)
    }

    fn kv_clear(&self, at: At, user: &str) -> R<usize> {
        self.conn()
            .prepare_cached(r#"DELETE FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=?"#)?
            .execute(params![at.host, user, at.store])
            .map_err(Into::into)
    }

    fn kv_exists(&self, at: At, user: &str) -> R<bool> {
        self.conn()
            .prepare_cached(r#"SELECT 1 FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=? LIMIT 1"#)?
            .query_row(params![at.host, user, at.store], |_| Ok(()))
            .optional()
            .map(|o| o.is_some())
            .map_err(Into::into)
    }

    fn store_any(&self, at: At) -> R<bool> {
        self.conn()
            .prepare_cached(r#"SELECT 1 FROM "prosody" WHERE "host"=? AND "store"=? LIMIT 1"#)?
            .query_row(params![at.host, at.store], |_| Ok(()))
            .optional()
            .map(|o| o.is_some())
            .map_err(Into::into)
    }

    fn store_users(&self, at: At) -> R<Vec<String>> {
        let mut st = self
            .conn()
            .prepare_cached(r#"SELECT DISTINCT "user" FROM "prosody" WHERE "host"=? AND "store"=? ORDER BY "user""#)?;
        let rows = st.query_map(params![at.host, at.store], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn count_at_least(&self, at: At, key: &str, min: i64) -> R<i64> {
        self.conn()
            .prepare_cached(
                r#"SELECT count(DISTINCT "user") FROM "prosody" WHERE "host"=? AND "store"=? AND "key"=?
               AND "type"='number' AND CAST("value" AS REAL) >= ?"#,
            )?
            .query_row(params![at.host, at.store, key, min], |r| r.get(0))
            .map_err(Into::into)
    }

    fn store_rows(&self, at: At) -> R<Vec<(String, String, Value)>> {
        let mut st = self.conn().prepare_cached(
            r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=? AND "store"=? ORDER BY "user", "key""#,
        )?;
        let rows =
            st.query_map(params![at.host, at.store], |r| Ok((r.get(0)?, r.get(1)?, decode(r.get(2)?, r.get(3)?))))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn users_with_key(&self, at: At, key: &str) -> R<Vec<String>> {
        let mut st = self.conn().prepare_cached(
            r#"SELECT DISTINCT "user" FROM "prosody" WHERE "host"=? AND "store"=? AND "key"=? ORDER BY "user""#,
        )?;
        let rows = st.query_map(params![at.host, at.store, key], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn purge_user(&self, host: &str, user: &str) -> R<()> {
        self.conn()
            .prepare_cached(r#"DELETE FROM "prosody" WHERE "host"=? AND "user"=?"#)?
            .execute(params![host, user])?;
        self.conn()
            .prepare_cached(r#"DELETE FROM "prosodyarchive" WHERE "host"=? AND "user"=?"#)?
            .execute(params![host, user])?;
        Ok(())
    }

    fn archive_get(&self, at: At, user: &str, key: &str) -> R<Option<(i64, String, Value)>> {
        self.conn().prepare_cached(
            r#"SELECT "when", "with", "type", "value" FROM "prosodyarchive" WHERE "host"=? AND "user"=? AND "store"=? AND "key"=?"#,
        )?
        .query_row(params![at.host, user, at.store, key], |r| Ok((r.get(0)?, r.get(1)?, decode(r.get(2)?, r.get(3)?))))
        .optional()
        .map_err(Into::into)
    }

    fn archive_put(&self, at: At, user: &str, key: &str, when: i64, with: &str, v: &Value) -> R<()> {
        self.archive_delete(at, user, key)?;
        let (ty, val) = v.encode();
        self.conn().prepare_cached(
            r#"INSERT INTO "prosodyarchive" ("host", "user", "store", "key", "when", "with", "type", "value") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"#,
        )?
        .execute(params![at.host, user, at.store, key, when, with, ty, val])?;
        Ok(())
    }

    fn archive_append(&self, at: At, user: &str, key: &str, when: i64, with: &str, v: &Value) -> R<i64> {
        let (ty, val) = v.encode();
        self.conn().prepare_cached(
            r#"INSERT INTO "prosodyarchive" ("host", "user", "store", "key", "when", "with", "type", "value") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"#,
        )?
        .execute(params![at.host, user, at.store, key, when, with, ty, val])?;
        Ok(self.conn().last_insert_rowid())
    }

    fn archive_page(&self, at: At, user: &str, before: Option<i64>, limit: i64) -> R<Vec<ArchiveRow>> {
        let mut st = self.conn().prepare_cached(
            r#"SELECT "sort_id", "key", "when", "with", "type", "value" FROM "prosodyarchive" WHERE "host"=? AND "user"=? AND "store"=? AND "sort_id"<? ORDER BY "sort_id" DESC LIMIT ?"#,
        )?;
        let rows = st.query_map(params![at.host, user, at.store, before.unwrap_or(i64::MAX), limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, decode(r.get(4)?, r.get(5)?)))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn archive_prune(&self, at: At, user: &str, keep: Option<i64>, before: Option<i64>, limit: i64) -> R<usize> {
        let mut gone = 0;
        if let Some(before) = before {
            gone += self
                .conn()
                .prepare_cached(
                    r#"DELETE FROM "prosodyarchive" WHERE "sort_id" IN (SELECT "sort_id" FROM "prosodyarchive"
                       WHERE "host"=? AND "user"=? AND "store"=? AND "when"<? ORDER BY "sort_id" LIMIT ?)"#,
                )?
                .execute(params![at.host, user, at.store, before, limit])?;
        }
        if let Some(keep) = keep.filter(|_| (gone as i64) < limit) {
            // The oldest item kept: everything before it goes.
            let oldest_kept: Option<i64> = self
                .conn()
                .prepare_cached(
                    r#"SELECT "sort_id" FROM "prosodyarchive" WHERE "host"=? AND "user"=? AND "store"=?
                       ORDER BY "sort_id" DESC LIMIT 1 OFFSET ?"#,
                )?
                .query_row(params![at.host, user, at.store, keep.max(1) - 1], |r| r.get(0))
                .optional()?;
            if let Some(t) = oldest_kept {
                gone += self
                    .conn()
                    .prepare_cached(
                        r#"DELETE FROM "prosodyarchive" WHERE "sort_id" IN (SELECT "sort_id" FROM "prosodyarchive"
                           WHERE "host"=? AND "user"=? AND "store"=? AND "sort_id"<? ORDER BY "sort_id" LIMIT ?)"#,
                    )?
                    .execute(params![at.host, user, at.store, t, limit - gone as i64])?;
            }
        }
        Ok(gone)
    }

    fn archive_delete(&self, at: At, user: &str, key: &str) -> R<bool> {
        let n = self
            .conn()
            .prepare_cached(r#"DELETE FROM "prosodyarchive" WHERE "host"=? AND "user"=? AND "store"=? AND "key"=?"#)?
            .execute(params![at.host, user, at.store, key])?;
        Ok(n > 0)
    }

    fn list_accounts(
        &self,
        host: &str,
        s: &ListingStores,
        after: &str,
        limit: Option<usize>,
        visit: &mut dyn FnMut(ListedRows) -> R<()>,
    ) -> R<()> {
        for (store, indexed) in [
            (s.nick_archive, &LISTED_ITEM_STORES[..]),
            (s.avatar_archive, &LISTED_ITEM_STORES[..]),
            (s.roles, &LISTED_ROLE_STORES[..]),
        ] {
            if !indexed.contains(&store) {
                return Err(StoreError(format!("the listing's indices do not hold store {store:?}")));
            }
        }
        let c = self.conn();
        // The writer's connection (inside its transaction) and the plain ones: one thread.
        if !self.may_split() || !c.is_autocommit() {
            return on_one_thread(c, host, s, after, limit, visit);
        }
        // Pooled readers: one read transaction for every stream, begun by taking its
        // snapshot, which a second connection can then share. The first accounts on this
        // thread; past SPLIT_AFTER, the rest on two (see `on_two_threads`).
        let wal = ready_for_snapshots(c)?;
        let tx = c.unchecked_transaction()?;
        let shared = if wal { Shared::take(c) } else { Err(not_wal()) };
        let first = limit.map_or(SPLIT_AFTER, |l| l.min(SPLIT_AFTER));
        let (mut seen, mut last) = (0, String::new());
        on_one_thread(c, host, s, after, Some(first), &mut |u| {
            seen += 1;
            last.clone_from(&u.name);
            visit(u)
        })?;
        if seen == first && limit != Some(first) {
            let rest = limit.map(|l| l - first);
            // No connection to spare (a busy pool): on one thread, as any listing may be.
            match self.helper().map(|h| shared.and_then(|shared| shared.open_on(h))) {
                Some(Ok(helper)) => {
                    stats::count_split_listing(true);
                    on_two_threads(c, helper, host, s, &last, rest, visit)?;
                }
                Some(Err(e)) => {
                    // Slower, still right: counted (prosody_admin_unsplit_listings) and said.
                    stats::count_split_listing(false);
                    log::warn!("a large listing read on one connection: {e}");
                    on_one_thread(c, host, s, &last, rest, visit)?;
                }
                None => on_one_thread(c, host, s, &last, rest, visit)?,
            }
        }
        // Ends the read (nothing was written).
        tx.commit()?;
        Ok(())
    }
}

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

type Pooled = r2d2::PooledConnection<SqliteConnectionManager>;

impl Sql for Connection {
    fn conn(&self) -> &Connection {
        self
    }
}

/// A connection of the read pool, which may lend a listing a second one.
struct Reader<'p> {
    conn: Pooled,
    pool: &'p r2d2::Pool<SqliteConnectionManager>,
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
const SPLIT_AFTER: usize = 2_000;
/// Accounts per message from the second thread, and messages in flight at most.
const CHUNK: usize = 2048;
const CHUNKS_IN_FLIGHT: usize = 8;

// Every statement of a listing: each stream in user order from an index that holds
// what it reads.
/// Every account row: [`DistinctUsers`] makes the names (SQLite's DISTINCT over the
/// same index scan took 60 % longer: 36 against 22 ms for 400 000 rows).
const ACCOUNT_ROWS: &str = r#"SELECT "user" FROM "prosody" WHERE "host"=? AND "store"=? AND "user">? ORDER BY "user""#;
const CURRENT_ITEMS: &str = r#"SELECT "user", "key", "type", "value" FROM "prosodyarchive" WHERE "host"=? AND "store"=? AND "key"='current' AND "user">?
       AND "store" IN ('pep_http://jabber.org/protocol/nick', 'pep_urn:xmpp:avatar:metadata') ORDER BY "user""#;
const ROLE_ROWS: &str = r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=? AND "store"=? AND "user">?
       AND "store" IN ('roles', 'account_roles')
       AND (("type"='boolean' AND "value"='true') OR "key"='_default') ORDER BY "user", "key""#;
const MEMBER_ROWS: &str = r#"SELECT g."key", g."user", 'string', '' FROM "prosody" g WHERE g."host"=?1 AND g."store"=?2 AND g."key">?4
       AND EXISTS (SELECT 1 FROM "prosody" i WHERE i."host"=?1 AND i."user"=g."user" AND i."store"=?3)
       ORDER BY g."key", g."user""#;
const ONE_KEY: &str = r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=? AND "store"=? AND "key"=? AND "user">? ORDER BY "user""#;
const ALL_KEYS: &str = r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=? AND "store"=? AND "user">? ORDER BY "user", "key""#;

/// The accounts after `after` (at most `limit`), every stream read and merged here.
fn on_one_thread(
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
enum Part {
    /// Every stream (a listing on one thread).
    All,
    /// The accounts' own stores: roles, disabled, activity, cleanup (the second thread).
    Own,
    /// Nick, avatar and groups (the first thread, beside the second).
    Others,
}

/// The statements of a listing's streams on one connection.
struct Statements<'c> {
    items: CachedStatement<'c>,
    avatars: CachedStatement<'c>,
    roles: CachedStatement<'c>,
    members: CachedStatement<'c>,
    keyed: CachedStatement<'c>,
    activity: CachedStatement<'c>,
    cleanup: CachedStatement<'c>,
}

impl<'c> Statements<'c> {
    // Two streams read with one statement text (items and avatars, keyed and activity):
    // each gets its own prepared statement (the cache hands a statement to one user at
    // a time).
    fn prepare(c: &'c Connection) -> R<Self> {
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
    fn open(&mut self, host: &str, s: &ListingStores, after: &str, part: Part) -> R<Streams<Option<SqlStream<'_>>>> {
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
fn stream<'s>(open: bool, st: &'s mut CachedStatement<'_>, p: impl rusqlite::Params) -> R<Option<SqlStream<'s>>> {
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
fn on_two_threads(
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
fn account_side(
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
struct Chunk {
    text: String,
    accounts: Vec<PackedAccount>,
    /// (key in `text`, value) of every account's role rows, in account order.
    roles: Vec<(Range<usize>, Value)>,
}

impl Chunk {
    fn push_text(&mut self, t: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(t);
        start..self.text.len()
    }
}

/// One account of a [`Chunk`]. Its values are rarely allocated (booleans, numbers).
#[derive(Default)]
struct PackedAccount {
    name: Range<usize>,
    /// How many of [`Chunk::roles`] are its own (they follow the previous account's).
    roles: usize,
    disabled: Option<Value>,
    last_active: Option<Value>,
    cleanup: Vec<(String, Value)>,
}

/// The accounts [`account_side`] sends, one at a time, allocated here.
struct Chunks {
    rx: Receiver<R<Chunk>>,
    text: String,
    accounts: std::vec::IntoIter<PackedAccount>,
    roles: std::vec::IntoIter<(Range<usize>, Value)>,
}

impl Chunks {
    fn new(rx: Receiver<R<Chunk>>) -> Self {
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
struct Helper(Pooled);

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
enum Shared {
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
    fn take(c: &Connection) -> R<Shared> {
        match Snapshot::get(c)? {
            Some(snapshot) => Ok(Shared::Snapshot(snapshot)),
            None => Ok(Shared::EmptyWal),
        }
    }

    /// Begins `helper`'s read transaction on what the first connection reads.
    fn open_on(&self, helper: Pooled) -> R<Helper> {
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
struct Snapshot(std::ptr::NonNull<ffi::sqlite3_snapshot>);

impl Snapshot {
    /// `sqlite3_snapshot_get`: begins `c`'s read transaction (`c` inside `BEGIN`, ready)
    /// if none is open, and returns its snapshot; None when the WAL file never held a
    /// transaction (SQLITE_ERROR, the one precondition left once `c` is ready and in a
    /// read transaction; the read transaction is open all the same).
    fn get(c: &Connection) -> R<Option<Snapshot>> {
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
const MAIN: &std::ffi::CStr = c"main";

/// Makes a connection ready for the snapshot calls, which fail (SQLITE_ERROR) on one
/// that has not learnt that the file is in WAL mode, i.e. has not read it yet: SQLite's
/// documentation suggests this pragma. Outside a transaction: it reads. Returns
/// whether the file is in WAL mode, which [`Shared::EmptyWal`]'s reasoning needs (a
/// rollback-journal database has no snapshots either; the listing then reads on one
/// connection).
fn ready_for_snapshots(c: &Connection) -> R<bool> {
    c.query_row("PRAGMA application_id", [], |r| r.get::<_, i64>(0))?;
    let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    Ok(mode.eq_ignore_ascii_case("wal"))
}

fn not_wal() -> StoreError {
    StoreError("the database is not in WAL mode: no snapshot to share".into())
}

/// The distinct users of rows sorted by user, at most `left` of them (None: all).
/// The rows of a name already seen are compared in place, as bytes, before any UTF-8
/// check; the name is kept in one buffer, reused.
struct DistinctUsers<'s> {
    rows: rusqlite::Rows<'s>,
    last: Option<String>,
    left: Option<usize>,
}

impl<'s> DistinctUsers<'s> {
    fn new(rows: rusqlite::Rows<'s>, limit: Option<usize>) -> Self {
        DistinctUsers { rows, last: None, left: limit }
    }

    /// The next name, borrowed (allocates nothing but when a name outgrows the buffer).
    fn next_name(&mut self) -> R<Option<&str>> {
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
