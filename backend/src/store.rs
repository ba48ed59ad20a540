//! The SQLite database, laid out exactly as Prosody 0.12's `mod_storage_sql` lays it out.
//!
//! This is the only module that speaks SQL. Every statement is a fixed string with `?`
//! parameters; nothing is formatted into SQL. The schema is Prosody's own (see
//! `../shared/reference/prosody-0.12-storage.md`), created if absent so that a fresh
//! file works and an existing Prosody database is used as is. Three indices of our own
//! (prefixed `prosody_admin_`) serve lookups across users: members of a group and the
//! groups of a user (host, store, key), listings in user order (host, store, user, key),
//! and every user's nick item (archive: host, store, key).
//!
//! Every call runs on tokio's blocking pool (`read`/`write`), never on the async
//! runtime, on a connection from a small r2d2 pool. Writes run in one `BEGIN IMMEDIATE`
//! transaction each, so a request that fails part-way leaves the database unchanged,
//! and transactions stay short because Prosody writes the same file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use r2d2_sqlite::rusqlite::{self, params, Connection, OptionalExtension, TransactionBehavior};
use r2d2_sqlite::SqliteConnectionManager;

use crate::values::Value;

/// Prosody's DDL, verbatim, plus `IF NOT EXISTS` (which SQLite does not keep in the
/// stored schema, so the file is indistinguishable from one Prosody created).
const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS "prosody" ("host" TEXT NOT NULL, "user" TEXT NOT NULL, "store" TEXT NOT NULL,
                        "key" TEXT NOT NULL, "type" TEXT NOT NULL, "value" TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS "prosody_index" ON "prosody" ("host", "user", "store", "key");
CREATE TABLE IF NOT EXISTS "prosodyarchive" ("sort_id" INTEGER PRIMARY KEY AUTOINCREMENT, "host" TEXT NOT NULL,
        "user" TEXT NOT NULL, "store" TEXT NOT NULL, "key" TEXT NOT NULL, "when" INTEGER NOT NULL,
        "with" TEXT NOT NULL, "type" TEXT NOT NULL, "value" TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS "prosodyarchive_index" ON "prosodyarchive" ("host","user","store","key");
CREATE INDEX IF NOT EXISTS "prosodyarchive_with_when" ON "prosodyarchive" ("host","user","store","with","when");
CREATE INDEX IF NOT EXISTS "prosodyarchive_when" ON "prosodyarchive" ("host","user","store","when");
CREATE INDEX IF NOT EXISTS "prosodyarchive_sort" ON "prosodyarchive" ("host","user","store","sort_id");
CREATE INDEX IF NOT EXISTS "prosody_admin_store_key_user" ON "prosody" ("host", "store", "key", "user");
CREATE INDEX IF NOT EXISTS "prosody_admin_store_user_key" ON "prosody" ("host", "store", "user", "key");
CREATE INDEX IF NOT EXISTS "prosody_admin_archive_store_key_user" ON "prosodyarchive" ("host", "store", "key", "user");
"#;

/// How long a statement waits for Prosody (or another connection) to release a lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections in the pool (the async runtime's blocking threads are sized from it).
pub const POOL_SIZE: u32 = 4;

#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "storage: {}", self.0)
    }
}
impl std::error::Error for StoreError {}
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

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: r2d2::Pool<SqliteConnectionManager>,
    path: PathBuf,
    /// Moves whenever the database may have changed (see [`crate::cache`]).
    generation: Arc<AtomicU64>,
}

impl Store {
    /// Opens (creating if needed) the database file and Prosody's tables.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError(format!("cannot create {}: {e}", dir.display())))?;
        }
        let manager = SqliteConnectionManager::file(path).with_init(|c| {
            c.busy_timeout(BUSY_TIMEOUT)?;
            c.execute_batch("PRAGMA synchronous=NORMAL;")?;
            c.set_prepared_statement_cache_capacity(64);
            Ok(())
        });
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .connection_timeout(Duration::from_secs(10))
            .build(manager)?;
        let conn = pool.get()?;
        // WAL lets readers (us, Prosody) proceed while one connection writes; the mode is
        // persistent in the file.
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            log::warn!("database journal mode is {mode}, not wal");
        }
        conn.execute_batch(SCHEMA)?;
        Ok(Store { pool, path: path.to_path_buf(), generation: Arc::new(AtomicU64::new(0)) })
    }

    /// The current generation: equal values mean no commit was seen in between.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Starts the thread that watches for commits by other processes (Prosody, the CLI)
    /// through `PRAGMA data_version`, every `interval`; it ends with the last `Store`.
    pub fn watch(&self, interval: Duration) -> Result<(), StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let generation: Weak<AtomicU64> = Arc::downgrade(&self.generation);
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

    /// Runs `f` on a pooled connection, off the async runtime.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.get().map_err(StoreError::from)?;
            f(&conn)
        })
        .await
        .map_err(|e| E::from(StoreError(format!("storage task failed: {e}"))))?
    }

    /// Runs `f` in one immediate transaction, off the async runtime: committed when `f`
    /// returns Ok, rolled back (nothing written) when it returns Err.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.write_blocking(f))
            .await
            .map_err(|e| E::from(StoreError(format!("storage task failed: {e}"))))?
    }

    /// The synchronous form of [`Store::write`], for the command-line tools.
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: FnOnce(&Connection) -> Result<T, E>,
    {
        let mut conn = self.pool.get().map_err(StoreError::from)?;
        let out = Self::write_on(&mut conn, f);
        // After the commit (or a rollback, harmlessly): caches filled before it are stale.
        self.bump();
        out
    }

    /// The synchronous form of [`Store::read`], for the command-line tools.
    pub fn read_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: FnOnce(&Connection) -> Result<T, E>,
    {
        let conn = self.pool.get().map_err(StoreError::from)?;
        f(&conn)
    }

    fn write_on<T, E, F>(conn: &mut Connection, f: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: FnOnce(&Connection) -> Result<T, E>,
    {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let out = f(&tx)?; // dropping `tx` on the error path rolls back
        tx.commit().map_err(StoreError::from)?;
        Ok(out)
    }

}

type R<T> = rusqlite::Result<T>;

// ---------------------------------------------------------------------------------
// keyval / map stores (table `prosody`)

/// One row of a keyval/map store.
pub fn kv_get(c: &Connection, host: &str, user: &str, store: &str, key: &str) -> R<Option<Value>> {
    c.prepare_cached(
        r#"SELECT "type", "value" FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=? AND "key"=? LIMIT 1"#,
    )?
    .query_row(params![host, user, store, key], |r| Ok(Value::decode(&r.get::<_, String>(0)?, r.get(1)?)))
    .optional()
}

/// Every (key, value) of one user's store, sorted by key.
pub fn kv_all(c: &Connection, host: &str, user: &str, store: &str) -> R<Vec<(String, Value)>> {
    let mut st = c.prepare_cached(
        r#"SELECT "key", "type", "value" FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=? ORDER BY "key""#,
    )?;
    let rows = st.query_map(params![host, user, store], |r| {
        Ok((r.get::<_, String>(0)?, Value::decode(&r.get::<_, String>(1)?, r.get(2)?)))
    })?;
    rows.collect()
}

/// Sets one key (a map store's `set(user, key, value)`): the index is not unique, so
/// delete then insert, as Prosody does.
pub fn kv_set(c: &Connection, host: &str, user: &str, store: &str, key: &str, v: &Value) -> R<()> {
    kv_delete(c, host, user, store, key)?;
    let (ty, val) = v.encode();
    c.prepare_cached(
        r#"INSERT INTO "prosody" ("host", "user", "store", "key", "type", "value") VALUES (?, ?, ?, ?, ?, ?)"#,
    )?
    .execute(params![host, user, store, key, ty, val])?;
    Ok(())
}

/// Deletes one key; returns whether a row existed.
pub fn kv_delete(c: &Connection, host: &str, user: &str, store: &str, key: &str) -> R<bool> {
    let n = c
        .prepare_cached(r#"DELETE FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=? AND "key"=?"#)?
        .execute(params![host, user, store, key])?;
    Ok(n > 0)
}

/// Deletes one user's whole store (keyval `set(user, nil)`).
pub fn kv_clear(c: &Connection, host: &str, user: &str, store: &str) -> R<usize> {
    c.prepare_cached(r#"DELETE FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=?"#)?
        .execute(params![host, user, store])
}

/// Whether one user has any row in a store (e.g. `user_exists` on `accounts`).
pub fn kv_exists(c: &Connection, host: &str, user: &str, store: &str) -> R<bool> {
    c.prepare_cached(r#"SELECT 1 FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=? LIMIT 1"#)?
        .query_row(params![host, user, store], |_| Ok(()))
        .optional()
        .map(|o| o.is_some())
}

/// `SELECT DISTINCT user` of a store, sorted (byte order, as Prosody's list).
pub fn store_users(c: &Connection, host: &str, store: &str) -> R<Vec<String>> {
    let mut st = c.prepare_cached(
        r#"SELECT DISTINCT "user" FROM "prosody" WHERE "host"=? AND "store"=? ORDER BY "user""#,
    )?;
    let rows = st.query_map(params![host, store], |r| r.get(0))?;
    rows.collect()
}

/// Every (user, key, value) row of a store on a host (a map store's `get_all` without
/// the key filter), sorted by user then key.
pub fn store_rows(c: &Connection, host: &str, store: &str) -> R<Vec<(String, String, Value)>> {
    let mut st = c.prepare_cached(
        r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=? AND "store"=? ORDER BY "user", "key""#,
    )?;
    let rows = st.query_map(params![host, store], |r| {
        Ok((r.get(0)?, r.get(1)?, Value::decode(&r.get::<_, String>(2)?, r.get(3)?)))
    })?;
    rows.collect()
}

/// The users that have `key` in a map store (`get_all(key)`), sorted.
pub fn users_with_key(c: &Connection, host: &str, store: &str, key: &str) -> R<Vec<String>> {
    let mut st = c.prepare_cached(
        r#"SELECT DISTINCT "user" FROM "prosody" WHERE "host"=? AND "store"=? AND "key"=? ORDER BY "user""#,
    )?;
    let rows = st.query_map(params![host, store, key], |r| r.get(0))?;
    rows.collect()
}

/// Prosody's user purge: every row of (host, user) in both tables.
pub fn purge_user(c: &Connection, host: &str, user: &str) -> R<()> {
    c.prepare_cached(r#"DELETE FROM "prosody" WHERE "host"=? AND "user"=?"#)?
        .execute(params![host, user])?;
    c.prepare_cached(r#"DELETE FROM "prosodyarchive" WHERE "host"=? AND "user"=?"#)?
        .execute(params![host, user])?;
    Ok(())
}

/// The stores a user listing reads.
pub struct ListingStores<'a> {
    pub accounts: &'a str,
    /// Archive store whose item `current` is the nick.
    pub nick_archive: &'a str,
    pub roles: &'a str,
    pub groups: &'a str,
    pub group_info: &'a str,
}

/// One account of a listing.
pub struct ListedUser {
    pub name: String,
    pub nick: Option<Value>,
    /// Keys of `roles` rows whose value is boolean true, sorted.
    pub roles: Vec<String>,
    /// Ids of existing groups with a membership row for the user, sorted.
    pub groups: Vec<String>,
}

/// Every account of a host, in username order, with its nick, roles and groups: four
/// index-ordered queries merged in one pass (no per-user queries, no hash maps), so
/// that 100 000 accounts list in one scan of each index.
pub fn list_accounts(c: &Connection, host: &str, s: &ListingStores, mut visit: impl FnMut(ListedUser)) -> R<()> {
    let mut accounts = c.prepare_cached(
        r#"SELECT DISTINCT "user" FROM "prosody" WHERE "host"=? AND "store"=? ORDER BY "user""#,
    )?;
    let mut nicks = c.prepare_cached(
        r#"SELECT "user", "type", "value" FROM "prosodyarchive" WHERE "host"=? AND "store"=? AND "key"='current' ORDER BY "user""#,
    )?;
    let mut roles = c.prepare_cached(
        r#"SELECT "user", "key" FROM "prosody" WHERE "host"=? AND "store"=? AND "type"='boolean' AND "value"='true' ORDER BY "user", "key""#,
    )?;
    let mut members = c.prepare_cached(
        r#"SELECT g."key", g."user" FROM "prosody" g WHERE g."host"=?1 AND g."store"=?2 AND g."key"<>''
           AND EXISTS (SELECT 1 FROM "prosody" i WHERE i."host"=?1 AND i."user"=g."user" AND i."store"=?3)
           ORDER BY g."key", g."user""#,
    )?;
    let mut a = accounts.query(params![host, s.accounts])?;
    let mut n = nicks.query(params![host, s.nick_archive])?;
    let mut r = roles.query(params![host, s.roles])?;
    let mut m = members.query(params![host, s.groups, s.group_info])?;
    let mut next_nick = || -> R<Option<(String, Value)>> {
        Ok(match n.next()? {
            Some(row) => Some((row.get(0)?, Value::decode(&row.get::<_, String>(1)?, row.get(2)?))),
            None => None,
        })
    };
    let next_pair = |rows: &mut rusqlite::Rows<'_>| -> R<Option<(String, String)>> {
        Ok(match rows.next()? {
            Some(row) => Some((row.get(0)?, row.get(1)?)),
            None => None,
        })
    };
    let (mut nick, mut role, mut member) = (next_nick()?, next_pair(&mut r)?, next_pair(&mut m)?);
    while let Some(row) = a.next()? {
        let name: String = row.get(0)?;
        let mut u = ListedUser { nick: None, roles: Vec::new(), groups: Vec::new(), name: String::new() };
        take_for(&mut nick, &name, &mut next_nick, |v| u.nick = Some(v))?;
        take_for(&mut role, &name, || next_pair(&mut r), |k| u.roles.push(k))?;
        take_for(&mut member, &name, || next_pair(&mut m), |g| u.groups.push(g))?;
        u.name = name;
        visit(u);
    }
    Ok(())
}

/// Advances a user-ordered stream past `name`, handing `take` the items of `name`.
fn take_for<T>(
    cur: &mut Option<(String, T)>,
    name: &str,
    mut next: impl FnMut() -> R<Option<(String, T)>>,
    mut take: impl FnMut(T),
) -> R<()> {
    while let Some((user, v)) = cur.take() {
        if user.as_str() > name {
            *cur = Some((user, v));
            break;
        }
        if user == name {
            take(v);
        }
        *cur = next()?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// archive stores (table `prosodyarchive`)

/// One archive item: (when, with, value).
pub fn archive_get(c: &Connection, host: &str, user: &str, store: &str, key: &str) -> R<Option<(i64, String, Value)>> {
    c.prepare_cached(
        r#"SELECT "when", "with", "type", "value" FROM "prosodyarchive" WHERE "host"=? AND "user"=? AND "store"=? AND "key"=?"#,
    )?
    .query_row(params![host, user, store, key], |r| {
        Ok((r.get(0)?, r.get(1)?, Value::decode(&r.get::<_, String>(2)?, r.get(3)?)))
    })
    .optional()
}

/// Stores an item, replacing one with the same id (which then gets a new sort_id, as
/// when Prosody publishes the same item id again).
pub fn archive_put(c: &Connection, host: &str, user: &str, store: &str, key: &str, when: i64, with: &str, v: &Value) -> R<()> {
    archive_delete(c, host, user, store, key)?;
    let (ty, val) = v.encode();
    c.prepare_cached(
        r#"INSERT INTO "prosodyarchive" ("host", "user", "store", "key", "when", "with", "type", "value") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"#,
    )?
    .execute(params![host, user, store, key, when, with, ty, val])?;
    Ok(())
}

pub fn archive_delete(c: &Connection, host: &str, user: &str, store: &str, key: &str) -> R<bool> {
    let n = c
        .prepare_cached(r#"DELETE FROM "prosodyarchive" WHERE "host"=? AND "user"=? AND "store"=? AND "key"=?"#)?
        .execute(params![host, user, store, key])?;
    Ok(n > 0)
}

/// Whether the database changed since this connection last looked: SQLite's
/// `data_version` changes when another connection (or process) commits.
pub fn data_version(c: &Connection) -> R<i64> {
    c.prepare_cached("PRAGMA data_version")?.query_row([], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn schema_is_prosodys_and_reopening_keeps_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let store = Store::open(&path).unwrap();
        store
            .write(|c| -> Result<(), StoreError> {
                kv_set(c, "localhost", "alice", "roles", "prosody:admin", &Value::Boolean(true))?;
                kv_set(c, "localhost", "alice", "roles", "prosody:admin", &Value::Boolean(true))?;
                Ok(())
            })
            .await
            .unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        let rows = store
            .read(|c| -> Result<_, StoreError> { Ok(kv_all(c, "localhost", "alice", "roles")?) })
            .await
            .unwrap();
        assert_eq!(rows, vec![("prosody:admin".to_string(), Value::Boolean(true))]);
        let sql: String = store
            .read_blocking(|c| -> Result<_, StoreError> {
                Ok(c.query_row("SELECT sql FROM sqlite_master WHERE name='prosody'", [], |r| r.get(0))?)
            })
            .unwrap();
        assert!(sql.starts_with(r#"CREATE TABLE "prosody" ("host" TEXT NOT NULL"#), "{sql}");
    }

    #[tokio::test]
    async fn failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        let r: Result<(), StoreError> = store
            .write(|c| {
                kv_set(c, "h", "u", "s", "k", &Value::String("v".into()))?;
                Err(StoreError("boom".into()))
            })
            .await;
        assert!(r.is_err());
        let n: i64 = store
            .read_blocking(|c| -> Result<_, StoreError> {
                Ok(c.query_row("SELECT count(*) FROM prosody", [], |r| r.get(0))?)
            })
            .unwrap();
        assert_eq!(n, 0);
    }
}
