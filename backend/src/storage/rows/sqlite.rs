//! [`Rows`] on SQLite (rusqlite): Prosody's statements with `?` parameters, prepared
//! once per connection (`prepare_cached`).

use r2d2_sqlite::rusqlite::{self, params, Connection, OptionalExtension, Row};

use super::{merge, ArchiveRow, At, ListedRows, ListingStores, Rows, Streams, R};
use crate::values::Value;

fn decode(ty: String, v: String) -> Value {
    Value::decode(&ty, v)
}

/// A (user, key, value) row of a listing stream.
fn stream_row(row: &Row) -> rusqlite::Result<(String, String, Value)> {
    Ok((row.get(0)?, row.get(1)?, decode(row.get(2)?, row.get(3)?)))
}

fn ours<T>(r: rusqlite::Result<T>) -> R<T> {
    Ok(r?)
}

impl Rows for Connection {
    fn kv_get(&self, at: At, user: &str, key: &str) -> R<Option<Value>> {
        self.prepare_cached(
            r#"SELECT "type", "value" FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=? AND "key"=? LIMIT 1"#,
        )?
        .query_row(params![at.host, user, at.store, key], |r| Ok(decode(r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(Into::into)
    }

    fn kv_all(&self, at: At, user: &str) -> R<Vec<(String, Value)>> {
        let mut st = self.prepare_cached(
            r#"SELECT "key", "type", "value" FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=? ORDER BY "key""#,
        )?;
        let rows = st.query_map(params![at.host, user, at.store], |r| Ok((r.get(0)?, decode(r.get(1)?, r.get(2)?))))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn kv_set(&self, at: At, user: &str, key: &str, v: &Value) -> R<()> {
        self.kv_delete(at, user, key)?;
        let (ty, val) = v.encode();
        self.prepare_cached(
            r#"INSERT INTO "prosody" ("host", "user", "store", "key", "type", "value") VALUES (?, ?, ?, ?, ?, ?)"#,
        )?
        .execute(params![at.host, user, at.store, key, ty, val])?;
        Ok(())
    }

    fn kv_delete(&self, at: At, user: &str, key: &str) -> R<bool> {
        let n = self
            .prepare_cached(r#"DELETE FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=? AND "key"=?"#)?
            .execute(params![at.host, user, at.store, key])?;
        Ok(n > 0)
    }

    fn kv_clear(&self, at: At, user: &str) -> R<usize> {
        self.prepare_cached(r#"DELETE FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=?"#)?
            .execute(params![at.host, user, at.store])
            .map_err(Into::into)
    }

    fn kv_exists(&self, at: At, user: &str) -> R<bool> {
        self.prepare_cached(r#"SELECT 1 FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=? LIMIT 1"#)?
            .query_row(params![at.host, user, at.store], |_| Ok(()))
            .optional()
            .map(|o| o.is_some())
            .map_err(Into::into)
    }

    fn store_any(&self, at: At) -> R<bool> {
        self.prepare_cached(r#"SELECT 1 FROM "prosody" WHERE "host"=? AND "store"=? LIMIT 1"#)?
            .query_row(params![at.host, at.store], |_| Ok(()))
            .optional()
            .map(|o| o.is_some())
            .map_err(Into::into)
    }

    fn store_users(&self, at: At) -> R<Vec<String>> {
        let mut st = self
            .prepare_cached(r#"SELECT DISTINCT "user" FROM "prosody" WHERE "host"=? AND "store"=? ORDER BY "user""#)?;
        let rows = st.query_map(params![at.host, at.store], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn count_at_least(&self, at: At, key: &str, min: i64) -> R<i64> {
        self.prepare_cached(
            r#"SELECT count(DISTINCT "user") FROM "prosody" WHERE "host"=? AND "store"=? AND "key"=?
               AND "type"='number' AND CAST("value" AS REAL) >= ?"#,
        )?
        .query_row(params![at.host, at.store, key, min], |r| r.get(0))
        .map_err(Into::into)
    }

    fn store_rows(&self, at: At) -> R<Vec<(String, String, Value)>> {
        let mut st = self.prepare_cached(
            r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=? AND "store"=? ORDER BY "user", "key""#,
        )?;
        let rows =
            st.query_map(params![at.host, at.store], |r| Ok((r.get(0)?, r.get(1)?, decode(r.get(2)?, r.get(3)?))))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn users_with_key(&self, at: At, key: &str) -> R<Vec<String>> {
        let mut st = self.prepare_cached(
            r#"SELECT DISTINCT "user" FROM "prosody" WHERE "host"=? AND "store"=? AND "key"=? ORDER BY "user""#,
        )?;
        let rows = st.query_map(params![at.host, at.store, key], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn purge_user(&self, host: &str, user: &str) -> R<()> {
        self.prepare_cached(r#"DELETE FROM "prosody" WHERE "host"=? AND "user"=?"#)?.execute(params![host, user])?;
        self.prepare_cached(r#"DELETE FROM "prosodyarchive" WHERE "host"=? AND "user"=?"#)?
            .execute(params![host, user])?;
        Ok(())
    }

    fn archive_get(&self, at: At, user: &str, key: &str) -> R<Option<(i64, String, Value)>> {
        self.prepare_cached(
            r#"SELECT "when", "with", "type", "value" FROM "prosodyarchive" WHERE "host"=? AND "user"=? AND "store"=? AND "key"=?"#,
        )?
        .query_row(params![at.host, user, at.store, key], |r| Ok((r.get(0)?, r.get(1)?, decode(r.get(2)?, r.get(3)?))))
        .optional()
        .map_err(Into::into)
    }

    fn archive_put(&self, at: At, user: &str, key: &str, when: i64, with: &str, v: &Value) -> R<()> {
        self.archive_delete(at, user, key)?;
        let (ty, val) = v.encode();
        self.prepare_cached(
            r#"INSERT INTO "prosodyarchive" ("host", "user", "store", "key", "when", "with", "type", "value") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"#,
        )?
        .execute(params![at.host, user, at.store, key, when, with, ty, val])?;
        Ok(())
    }

    fn archive_append(&self, at: At, user: &str, key: &str, when: i64, with: &str, v: &Value) -> R<i64> {
        let (ty, val) = v.encode();
        self.prepare_cached(
            r#"INSERT INTO "prosodyarchive" ("host", "user", "store", "key", "when", "with", "type", "value") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"#,
        )?
        .execute(params![at.host, user, at.store, key, when, with, ty, val])?;
        Ok(self.last_insert_rowid())
    }

    fn archive_page(&self, at: At, user: &str, before: Option<i64>, limit: i64) -> R<Vec<ArchiveRow>> {
        let mut st = self.prepare_cached(
            r#"SELECT "sort_id", "key", "when", "with", "type", "value" FROM "prosodyarchive" WHERE "host"=? AND "user"=? AND "store"=? AND "sort_id"<? ORDER BY "sort_id" DESC LIMIT ?"#,
        )?;
        let rows = st.query_map(params![at.host, user, at.store, before.unwrap_or(i64::MAX), limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, decode(r.get(4)?, r.get(5)?)))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn archive_delete(&self, at: At, user: &str, key: &str) -> R<bool> {
        let n = self
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
        let mut accounts = self.prepare_cached(
            r#"SELECT DISTINCT "user" FROM "prosody" WHERE "host"=? AND "store"=? AND "user">? ORDER BY "user" LIMIT ?"#,
        )?;
        // Two streams may read with one statement text at once: each gets its own
        // prepared statement (the cache hands a statement to one user at a time).
        const CURRENT_ITEMS: &str = r#"SELECT "user", "key", "type", "value" FROM "prosodyarchive" WHERE "host"=? AND "store"=? AND "key"='current' AND "user">? ORDER BY "user""#;
        const ONE_KEY: &str = r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=? AND "store"=? AND "key"=? AND "user">? ORDER BY "user""#;
        let mut items = self.prepare_cached(CURRENT_ITEMS)?;
        let mut avatars = self.prepare_cached(CURRENT_ITEMS)?;
        let mut roles = self.prepare_cached(
            r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=? AND "store"=? AND "user">?
               AND (("type"='boolean' AND "value"='true') OR "key"='_default') ORDER BY "user", "key""#,
        )?;
        let mut members = self.prepare_cached(
            r#"SELECT g."key", g."user", 'string', '' FROM "prosody" g WHERE g."host"=?1 AND g."store"=?2 AND g."key">?4
               AND EXISTS (SELECT 1 FROM "prosody" i WHERE i."host"=?1 AND i."user"=g."user" AND i."store"=?3)
               ORDER BY g."key", g."user""#,
        )?;
        let mut keyed = self.prepare_cached(ONE_KEY)?;
        let mut activity = self.prepare_cached(ONE_KEY)?;
        let mut cleanup = self.prepare_cached(
            r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=? AND "store"=? AND "user">? ORDER BY "user", "key""#,
        )?;
        // SQLite: a negative LIMIT is no limit.
        let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        // Every stream stays an open statement, read as the merge advances: a page
        // stops reading each index where the page ends.
        let names = accounts.query_map(params![host, s.accounts, after, limit], |r| r.get::<_, String>(0))?;
        let streams = Streams {
            nick: items.query_map(params![host, s.nick_archive, after], stream_row)?.map(ours),
            avatar: avatars.query_map(params![host, s.avatar_archive, after], stream_row)?.map(ours),
            roles: roles.query_map(params![host, s.roles, after], stream_row)?.map(ours),
            members: members.query_map(params![host, s.groups, s.group_info, after], stream_row)?.map(ours),
            disabled: keyed.query_map(params![host, s.accounts, "disabled", after], stream_row)?.map(ours),
            activity: activity.query_map(params![host, s.activity, "timestamp", after], stream_row)?.map(ours),
            cleanup: cleanup.query_map(params![host, s.cleanup, after], stream_row)?.map(ours),
        };
        merge(names.map(ours), streams, visit)
    }
}

/// Whether the database changed since this connection last looked: SQLite's
/// `data_version` changes when another connection (or process) commits.
pub(in crate::storage) fn data_version(c: &Connection) -> R<i64> {
    Ok(c.prepare_cached("PRAGMA data_version")?.query_row([], |r| r.get(0))?)
}
