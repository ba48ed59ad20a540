//! The only SQL of the service: Prosody's keyval/map rows (table `prosody`) and archive
//! items (table `prosodyarchive`), addressed by (host, user, store, key). Every statement
//! is a fixed string with `?` parameters; nothing is formatted into SQL. Handles in
//! [`super::kinds`] are the only callers; the domain never sees these.

use r2d2_sqlite::rusqlite::{self, params, Connection, OptionalExtension};

use crate::values::Value;

pub(super) type R<T> = rusqlite::Result<T>;

/// Where a row lives.
#[derive(Clone, Copy)]
pub(super) struct At<'a> {
    pub host: &'a str,
    pub store: &'a str,
}

fn decode(ty: String, v: String) -> Value {
    Value::decode(&ty, v)
}

// ---------------------------------------------------------------------------------
// keyval / map stores (table `prosody`)

pub(super) fn kv_get(c: &Connection, at: At, user: &str, key: &str) -> R<Option<Value>> {
    c.prepare_cached(
        r#"SELECT "type", "value" FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=? AND "key"=? LIMIT 1"#,
    )?
    .query_row(params![at.host, user, at.store, key], |r| Ok(decode(r.get(0)?, r.get(1)?)))
    .optional()
}

/// Every (key, value) of one user's store, sorted by key.
pub(super) fn kv_all(c: &Connection, at: At, user: &str) -> R<Vec<(String, Value)>> {
    let mut st = c.prepare_cached(
        r#"SELECT "key", "type", "value" FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=? ORDER BY "key""#,
    )?;
    let rows = st.query_map(params![at.host, user, at.store], |r| Ok((r.get(0)?, decode(r.get(1)?, r.get(2)?))))?;
    rows.collect()
}

/// Sets one key. Delete, then insert: right under 0.12's non-unique index (as Prosody
/// 0.12 does it) and 13's unique one alike.
pub(super) fn kv_set(c: &Connection, at: At, user: &str, key: &str, v: &Value) -> R<()> {
    kv_delete(c, at, user, key)?;
    let (ty, val) = v.encode();
    c.prepare_cached(
        r#"INSERT INTO "prosody" ("host", "user", "store", "key", "type", "value") VALUES (?, ?, ?, ?, ?, ?)"#,
    )?
    .execute(params![at.host, user, at.store, key, ty, val])?;
    Ok(())
}

/// Deletes one key; returns whether a row existed.
pub(super) fn kv_delete(c: &Connection, at: At, user: &str, key: &str) -> R<bool> {
    let n = c
        .prepare_cached(r#"DELETE FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=? AND "key"=?"#)?
        .execute(params![at.host, user, at.store, key])?;
    Ok(n > 0)
}

/// Deletes one user's whole store (keyval `set(user, nil)`).
pub(super) fn kv_clear(c: &Connection, at: At, user: &str) -> R<usize> {
    c.prepare_cached(r#"DELETE FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=?"#)?
        .execute(params![at.host, user, at.store])
}

/// Whether one user has any row in a store (e.g. `user_exists` on `accounts`).
pub(super) fn kv_exists(c: &Connection, at: At, user: &str) -> R<bool> {
    c.prepare_cached(r#"SELECT 1 FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=? LIMIT 1"#)?
        .query_row(params![at.host, user, at.store], |_| Ok(()))
        .optional()
        .map(|o| o.is_some())
}

/// Whether any user has a row in a store.
pub(super) fn store_any(c: &Connection, at: At) -> R<bool> {
    c.prepare_cached(r#"SELECT 1 FROM "prosody" WHERE "host"=? AND "store"=? LIMIT 1"#)?
        .query_row(params![at.host, at.store], |_| Ok(()))
        .optional()
        .map(|o| o.is_some())
}

/// The users of a store on a host, sorted (`users()` of a keyval store).
pub(super) fn store_users(c: &Connection, at: At) -> R<Vec<String>> {
    let mut st =
        c.prepare_cached(r#"SELECT DISTINCT "user" FROM "prosody" WHERE "host"=? AND "store"=? ORDER BY "user""#)?;
    let rows = st.query_map(params![at.host, at.store], |r| r.get(0))?;
    rows.collect()
}

/// How many users have a numeric `key` of at least `min` (e.g. activity since a time).
pub(super) fn count_at_least(c: &Connection, at: At, key: &str, min: i64) -> R<i64> {
    c.prepare_cached(
        r#"SELECT count(DISTINCT "user") FROM "prosody" WHERE "host"=? AND "store"=? AND "key"=?
           AND "type"='number' AND CAST("value" AS REAL) >= ?"#,
    )?
    .query_row(params![at.host, at.store, key, min], |r| r.get(0))
}

/// Every (user, key, value) row of a store on a host (a map store's `get_all` without
/// the key filter), sorted by user then key.
pub(super) fn store_rows(c: &Connection, at: At) -> R<Vec<(String, String, Value)>> {
    let mut st = c.prepare_cached(
        r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=? AND "store"=? ORDER BY "user", "key""#,
    )?;
    let rows =
        st.query_map(params![at.host, at.store], |r| Ok((r.get(0)?, r.get(1)?, decode(r.get(2)?, r.get(3)?))))?;
    rows.collect()
}

/// The users that have `key` in a map store (`get_all(key)`), sorted.
pub(super) fn users_with_key(c: &Connection, at: At, key: &str) -> R<Vec<String>> {
    let mut st = c.prepare_cached(
        r#"SELECT DISTINCT "user" FROM "prosody" WHERE "host"=? AND "store"=? AND "key"=? ORDER BY "user""#,
    )?;
    let rows = st.query_map(params![at.host, at.store, key], |r| r.get(0))?;
    rows.collect()
}

/// Prosody's user purge: every row of (host, user) in both tables.
pub(super) fn purge_user(c: &Connection, host: &str, user: &str) -> R<()> {
    c.prepare_cached(r#"DELETE FROM "prosody" WHERE "host"=? AND "user"=?"#)?.execute(params![host, user])?;
    c.prepare_cached(r#"DELETE FROM "prosodyarchive" WHERE "host"=? AND "user"=?"#)?.execute(params![host, user])?;
    Ok(())
}

// ---------------------------------------------------------------------------------
// archive stores (table `prosodyarchive`)

/// One archive item: (when, with, value).
pub(super) fn archive_get(c: &Connection, at: At, user: &str, key: &str) -> R<Option<(i64, String, Value)>> {
    c.prepare_cached(
        r#"SELECT "when", "with", "type", "value" FROM "prosodyarchive" WHERE "host"=? AND "user"=? AND "store"=? AND "key"=?"#,
    )?
    .query_row(params![at.host, user, at.store, key], |r| Ok((r.get(0)?, r.get(1)?, decode(r.get(2)?, r.get(3)?))))
    .optional()
}

/// Stores an item, replacing one with the same id (which then gets a new sort_id, as
/// when Prosody publishes the same item id again).
pub(super) fn archive_put(c: &Connection, at: At, user: &str, key: &str, when: i64, with: &str, v: &Value) -> R<()> {
    archive_delete(c, at, user, key)?;
    let (ty, val) = v.encode();
    c.prepare_cached(
        r#"INSERT INTO "prosodyarchive" ("host", "user", "store", "key", "when", "with", "type", "value") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"#,
    )?
    .execute(params![at.host, user, at.store, key, when, with, ty, val])?;
    Ok(())
}

/// Appends an item (no replacement: ids are fresh); returns its `sort_id`.
pub(super) fn archive_append(
    c: &Connection,
    at: At,
    user: &str,
    key: &str,
    when: i64,
    with: &str,
    v: &Value,
) -> R<i64> {
    let (ty, val) = v.encode();
    c.prepare_cached(
        r#"INSERT INTO "prosodyarchive" ("host", "user", "store", "key", "when", "with", "type", "value") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"#,
    )?
    .execute(params![at.host, user, at.store, key, when, with, ty, val])?;
    Ok(c.last_insert_rowid())
}

/// An archive row with its position: (sort_id, key, when, with, value).
pub(super) type ArchiveRow = (i64, String, i64, String, Value);

/// Up to `limit` items newest first (by `sort_id`), those before `before` if given:
/// (sort_id, key, when, with, value).
pub(super) fn archive_page(c: &Connection, at: At, user: &str, before: Option<i64>, limit: i64) -> R<Vec<ArchiveRow>> {
    let mut st = c.prepare_cached(
        r#"SELECT "sort_id", "key", "when", "with", "type", "value" FROM "prosodyarchive" WHERE "host"=? AND "user"=? AND "store"=? AND "sort_id"<? ORDER BY "sort_id" DESC LIMIT ?"#,
    )?;
    let rows = st.query_map(params![at.host, user, at.store, before.unwrap_or(i64::MAX), limit], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, decode(r.get(4)?, r.get(5)?)))
    })?;
    rows.collect()
}

pub(super) fn archive_delete(c: &Connection, at: At, user: &str, key: &str) -> R<bool> {
    let n = c
        .prepare_cached(r#"DELETE FROM "prosodyarchive" WHERE "host"=? AND "user"=? AND "store"=? AND "key"=?"#)?
        .execute(params![at.host, user, at.store, key])?;
    Ok(n > 0)
}

/// Whether the database changed since this connection last looked: SQLite's
/// `data_version` changes when another connection (or process) commits.
pub(super) fn data_version(c: &Connection) -> R<i64> {
    c.prepare_cached("PRAGMA data_version")?.query_row([], |r| r.get(0))
}

// ---------------------------------------------------------------------------------
// the user listing

/// The stores a user listing reads.
pub(super) struct ListingStores<'a> {
    pub accounts: &'a str,
    /// Archive store whose item `current` is the nick.
    pub nick_archive: &'a str,
    /// Archive store whose item `current` is the avatar metadata.
    pub avatar_archive: &'a str,
    pub roles: &'a str,
    pub groups: &'a str,
    pub group_info: &'a str,
    pub activity: &'a str,
    pub cleanup: &'a str,
}

/// One account of a listing, as stored.
#[derive(Default)]
pub(super) struct ListedRows {
    pub name: String,
    pub nick: Option<Value>,
    pub avatar: Option<Value>,
    /// The role rows that say something: `_default` and keys whose value is `true`.
    pub roles: Vec<(String, Value)>,
    /// Ids of existing groups with a membership row for the user, sorted.
    pub groups: Vec<String>,
    /// The `accounts` row `disabled`, if any.
    pub disabled: Option<Value>,
    /// The `account_activity` row `timestamp`, if any.
    pub last_active: Option<Value>,
    /// The `accounts_cleanup` rows (`deleted_at`, `pending_until`, ...).
    pub cleanup: Vec<(String, Value)>,
}

/// A user-ordered stream of (user, key, value) rows.
struct Cursor<'s> {
    rows: rusqlite::Rows<'s>,
    cur: Option<(String, String, Value)>,
}

impl<'s> Cursor<'s> {
    fn new(rows: rusqlite::Rows<'s>) -> R<Self> {
        let mut c = Cursor { rows, cur: None };
        c.advance()?;
        Ok(c)
    }

    fn advance(&mut self) -> R<()> {
        self.cur = match self.rows.next()? {
            Some(row) => Some((row.get(0)?, row.get(1)?, decode(row.get(2)?, row.get(3)?))),
            None => None,
        };
        Ok(())
    }

    /// Hands `take` the rows of `name`, skipping rows of users before it (rows of names
    /// that are not accounts).
    fn take_for(&mut self, name: &str, mut take: impl FnMut(String, Value)) -> R<()> {
        while let Some((user, _, _)) = &self.cur {
            if user.as_str() > name {
                break;
            }
            if let Some((user, key, v)) = self.cur.take() {
                if user == name {
                    take(key, v);
                }
            }
            self.advance()?;
        }
        Ok(())
    }
}

/// The accounts of a host, in username order, with what a user listing shows: one
/// index-ordered query per store, merged in one pass (no per-user queries, no hash
/// maps), so that 100 000 accounts list in one scan of each index.
/// A page: only users after `after` (`""`: from the first), at most `limit` of them.
pub(super) fn list_accounts(
    c: &Connection,
    host: &str,
    s: &ListingStores,
    after: &str,
    limit: Option<usize>,
    mut visit: impl FnMut(ListedRows) -> R<()>,
) -> R<()> {
    let mut accounts = c.prepare_cached(
        r#"SELECT DISTINCT "user" FROM "prosody" WHERE "host"=? AND "store"=? AND "user">? ORDER BY "user" LIMIT ?"#,
    )?;
    let mut items = c.prepare_cached(
        r#"SELECT "user", "key", "type", "value" FROM "prosodyarchive" WHERE "host"=? AND "store"=? AND "key"='current' AND "user">? ORDER BY "user""#,
    )?;
    let mut avatars = c.prepare_cached(
        r#"SELECT "user", "key", "type", "value" FROM "prosodyarchive" WHERE "host"=? AND "store"=? AND "key"='current' AND "user">? ORDER BY "user""#,
    )?;
    let mut roles = c.prepare_cached(
        r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=? AND "store"=? AND "user">?
           AND (("type"='boolean' AND "value"='true') OR "key"='_default') ORDER BY "user", "key""#,
    )?;
    let mut members = c.prepare_cached(
        r#"SELECT g."key", g."user", 'string', '' FROM "prosody" g WHERE g."host"=?1 AND g."store"=?2 AND g."key">?4
           AND EXISTS (SELECT 1 FROM "prosody" i WHERE i."host"=?1 AND i."user"=g."user" AND i."store"=?3)
           ORDER BY g."key", g."user""#,
    )?;
    let mut keyed = c.prepare_cached(
        r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=? AND "store"=? AND "key"=? AND "user">? ORDER BY "user""#,
    )?;
    let mut activity = c.prepare_cached(
        r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=? AND "store"=? AND "key"=? AND "user">? ORDER BY "user""#,
    )?;
    let mut cleanup = c.prepare_cached(
        r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=? AND "store"=? AND "user">? ORDER BY "user", "key""#,
    )?;
    // SQLite: a negative LIMIT is no limit.
    let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    let mut a = accounts.query(params![host, s.accounts, after, limit])?;
    let mut nick = Cursor::new(items.query(params![host, s.nick_archive, after])?)?;
    let mut avatar = Cursor::new(avatars.query(params![host, s.avatar_archive, after])?)?;
    let mut role = Cursor::new(roles.query(params![host, s.roles, after])?)?;
    let mut member = Cursor::new(members.query(params![host, s.groups, s.group_info, after])?)?;
    let mut disabled = Cursor::new(keyed.query(params![host, s.accounts, "disabled", after])?)?;
    let mut active = Cursor::new(activity.query(params![host, s.activity, "timestamp", after])?)?;
    let mut clean = Cursor::new(cleanup.query(params![host, s.cleanup, after])?)?;
    while let Some(row) = a.next()? {
        let name: String = row.get(0)?;
        let mut u = ListedRows::default();
        nick.take_for(&name, |_, v| u.nick = Some(v))?;
        avatar.take_for(&name, |_, v| u.avatar = Some(v))?;
        role.take_for(&name, |k, v| u.roles.push((k, v)))?;
        member.take_for(&name, |g, _| u.groups.push(g))?;
        disabled.take_for(&name, |_, v| u.disabled = Some(v))?;
        active.take_for(&name, |_, v| u.last_active = Some(v))?;
        clean.take_for(&name, |k, v| u.cleanup.push((k, v)))?;
        u.name = name;
        visit(u)?;
    }
    Ok(())
}
