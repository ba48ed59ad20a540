//! The SQLite engine: a file in Prosody's `mod_storage_sql` layout (0.12 or 13), the
//! embedded default. Reads on a small r2d2 pool; writes on a connection of their own
//! (`BEGIN IMMEDIATE`: the file's write lock for the whole transaction, which Prosody
//! waits for or fails on: see `prosody/mod_sql_busy_timeout.lua`); WAL, so readers (us,
//! Prosody) proceed while one connection writes; other processes' commits noticed
//! through `PRAGMA data_version`, polled.
//!
//! Every statement is a fixed string with `?` parameters, prepared once per connection
//! (`prepare_cached`); nothing is formatted into SQL.
//!
//! One file per job: [`rows`] (the `Rows` primitives), [`listing`] (the user listing,
//! on two connections in one snapshot when large); this file: the layout (DDL and
//! detection), the connections and pool, the engine (reads, writer, watch, probe).

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

mod listing;
mod rows;

use listing::*;
use rows::*;

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
        Ok(Box::new(Writer(c, None)))
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

    /// Prosody waits for the write lock by sleeping (the busy handler): at 0.25 its
    /// registrations lost 18-28 % beside our writes, at 0.1 within 15 % (BENCHMARKS.md,
    /// "Prosody's fair share").
    fn default_write_share(&self) -> f64 {
        0.1
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

/// The writer's connection, and the `data_version` it last saw (on this connection it
/// moves only for other connections' commits: Prosody's, the CLI's, another replica's).
struct Writer(Connection, Option<i64>);

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

    fn others_wrote(&mut self) -> Option<bool> {
        let now = data_version(&self.0).ok()?;
        let before = self.1.replace(now);
        Some(before.is_some_and(|b| b != now))
    }
}
