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
    pub roles: &'a str,
    pub groups: &'a str,
    pub group_info: &'a str,
}

/// One account of a listing, as stored.
pub(super) struct ListedRows {
    pub name: String,
    pub nick: Option<Value>,
    /// The role rows that say something: `_default` and keys whose value is `true`.
    pub roles: Vec<(String, Value)>,
    /// Ids of existing groups with a membership row for the user, sorted.
    pub groups: Vec<String>,
}

/// Every account of a host, in username order, with its nick, roles and groups: four
/// index-ordered queries merged in one pass (no per-user queries, no hash maps), so
/// that 100 000 accounts list in one scan of each index.
pub(super) fn list_accounts(
    c: &Connection,
    host: &str,
    s: &ListingStores,
    mut visit: impl FnMut(ListedRows) -> R<()>,
) -> R<()> {
    let mut accounts =
        c.prepare_cached(r#"SELECT DISTINCT "user" FROM "prosody" WHERE "host"=? AND "store"=? ORDER BY "user""#)?;
    let mut nicks = c.prepare_cached(
        r#"SELECT "user", "type", "value" FROM "prosodyarchive" WHERE "host"=? AND "store"=? AND "key"='current' ORDER BY "user""#,
    )?;
    let mut roles = c.prepare_cached(
        r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=? AND "store"=?
           AND (("type"='boolean' AND "value"='true') OR "key"='_default') ORDER BY "user", "key""#,
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
            Some(row) => Some((row.get(0)?, decode(row.get(1)?, row.get(2)?))),
            None => None,
        })
    };
    let mut next_role = || -> R<Option<(String, (String, Value))>> {
        Ok(match r.next()? {
            Some(row) => Some((row.get(0)?, (row.get(1)?, decode(row.get(2)?, row.get(3)?)))),
            None => None,
        })
    };
    let mut next_member = || -> R<Option<(String, String)>> {
        Ok(match m.next()? {
            Some(row) => Some((row.get(0)?, row.get(1)?)),
            None => None,
        })
    };
    let (mut nick, mut role, mut member) = (next_nick()?, next_role()?, next_member()?);
    while let Some(row) = a.next()? {
        let name: String = row.get(0)?;
        let mut u = ListedRows { nick: None, roles: Vec::new(), groups: Vec::new(), name: String::new() };
        take_for(&mut nick, &name, &mut next_nick, |v| u.nick = Some(v))?;
        take_for(&mut role, &name, &mut next_role, |k| u.roles.push(k))?;
        take_for(&mut member, &name, &mut next_member, |g| u.groups.push(g))?;
        u.name = name;
        visit(u)?;
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
