//! The row primitives (`Rows`) on one PostgreSQL connection: fixed statements with `$n`
//! parameters, prepared once per connection; names compared `COLLATE "C"`.

use super::*;

// ---------------------------------------------------------------------------------
// The primitives

pub(super) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// One PostgreSQL connection with its prepared statements. Used by one thread at a
/// time (a pooled read, the writer thread, a CLI command), hence the `RefCell`s: the
/// handles share it by `&`, as they share a SQLite connection.
pub(super) struct PgConn {
    pub(super) client: RefCell<Client>,
    pub(super) statements: RefCell<HashMap<&'static str, Statement>>,
    /// A transaction is open (between [`PgConn::begin_read`]/`begin_write` and its end):
    /// a connection handed back to the pool in that state is dropped, not reused.
    pub(super) in_tx: Cell<bool>,
    /// The server ended the connection (a FATAL error came back: a restart, a
    /// terminated backend), though the client may not have seen the socket close yet.
    pub(super) ended: Cell<bool>,
    /// `prosody` has Prosody 13's unique index: a key is set with one upsert, which a
    /// concurrent insert of the same key by Prosody cannot make fail.
    pub(super) upsert: Cell<bool>,
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        // The server's message and SQLSTATE, never the connection string.
        match e.as_db_error() {
            Some(db) => StoreError(format!("postgresql: {} ({})", db.message(), db.code().code())),
            None => StoreError(format!("postgresql: {}", with_causes(&e))),
        }
    }
}

/// An error and its causes ("error connecting to server: Connection refused").
pub(super) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// The advisory lock every write transaction of ours takes first (transaction-scoped):
/// writes of all replicas on one database run one at a time, each seeing every commit
/// before it, as writes on one SQLite file do. Prosody never takes it. ("prosodya")
pub(super) const WRITE_LOCK: i64 = 0x7072_6f73_6f64_7961;

pub(super) fn when_i32(when: i64) -> R<i32> {
    // Prosody's column is an `integer`: times up to 2038.
    i32::try_from(when).map_err(|_| StoreError(format!("archive time {when} does not fit Prosody's integer column")))
}

impl PgConn {
    pub(super) fn new(client: Client) -> PgConn {
        PgConn {
            client: RefCell::new(client),
            statements: RefCell::new(HashMap::new()),
            in_tx: Cell::new(false),
            ended: Cell::new(false),
            upsert: Cell::new(false),
        }
    }

    /// Sets keys with an upsert (Prosody 13's layout, whose `prosody_unique_index` is
    /// the upsert's arbiter) rather than delete-then-insert (0.12's, which has none).
    pub(super) fn set_upsert(&self, upsert: bool) {
        self.upsert.set(upsert);
    }

    pub(super) fn is_closed(&self) -> bool {
        self.ended.get() || self.client.borrow().is_closed()
    }

    pub(super) fn in_transaction(&self) -> bool {
        self.in_tx.get()
    }

    /// Runs statements without parameters (transaction control, DDL).
    pub(super) fn batch(&self, sql: &str) -> R<()> {
        self.client.borrow_mut().batch_execute(sql).map_err(|e| {
            // A FATAL error is the server ending the connection: the socket may still
            // look open for a moment, but nothing more will run on it.
            if e.is_closed() || e.as_db_error().is_some_and(|d| matches!(d.severity(), "FATAL" | "PANIC")) {
                self.ended.set(true);
            }
            StoreError::from(e)
        })
    }

    /// A read: one snapshot for all its statements (a listing's streams, a user's
    /// stores), as a SQLite read sees one.
    pub(super) fn begin_read(&self) -> R<()> {
        self.in_tx.set(true);
        self.batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    }

    /// A write: READ COMMITTED (every statement sees what committed before it), after
    /// taking [`WRITE_LOCK`], so a write's checks and changes are not interleaved with
    /// another replica's.
    pub(super) fn begin_write(&self) -> R<()> {
        self.in_tx.set(true);
        self.batch("BEGIN ISOLATION LEVEL READ COMMITTED")?;
        self.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK]).map(|_| ())
    }

    /// Ends the transaction: COMMIT, or ROLLBACK when `commit` is false.
    pub(super) fn end(&self, commit: bool) -> R<()> {
        let r = self.batch(if commit { "COMMIT" } else { "ROLLBACK" });
        if r.is_ok() {
            self.in_tx.set(false);
        }
        r
    }

    pub(super) fn statement(&self, sql: &'static str) -> R<Statement> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.borrow_mut().prepare(sql)?;
        self.statements.borrow_mut().insert(sql, s.clone());
        Ok(s)
    }

    pub(super) fn query(&self, sql: &'static str, p: Params) -> R<Vec<Row>> {
        let st = self.statement(sql)?;
        Ok(self.client.borrow_mut().query(&st, p)?)
    }

    pub(super) fn query_opt(&self, sql: &'static str, p: Params) -> R<Option<Row>> {
        let st = self.statement(sql)?;
        Ok(self.client.borrow_mut().query_opt(&st, p)?)
    }

    pub(super) fn execute(&self, sql: &'static str, p: Params) -> R<u64> {
        let st = self.statement(sql)?;
        Ok(self.client.borrow_mut().execute(&st, p)?)
    }

    /// Whether a statement returns a row (not kept prepared: schema checks, probes).
    pub(super) fn exists(&self, sql: &'static str, p: Params) -> R<bool> {
        Ok(self.client.borrow_mut().query_opt(sql, p)?.is_some())
    }

    /// Waits up to `timeout` for notifications; how many arrived (0: none).
    pub(super) fn notifications(&self, timeout: std::time::Duration) -> R<usize> {
        let mut c = self.client.borrow_mut();
        let mut n = c.notifications();
        let mut count = 0;
        if n.timeout_iter(timeout).next()?.is_some() {
            count += 1;
            // And whatever else is already here.
            while n.iter().next()?.is_some() {
                count += 1;
            }
        }
        Ok(count)
    }
}

pub(super) fn value(row: &Row, ty: usize) -> R<Value> {
    Ok(Value::decode(&row.try_get::<_, String>(ty)?, row.try_get(ty + 1)?))
}

pub(super) fn strings(rows: Vec<Row>) -> R<Vec<String>> {
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// A listing stream's rows: (user, key, value).
pub(super) fn stream(rows: Vec<Row>) -> impl Iterator<Item = R<(String, String, Value)>> {
    rows.into_iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, value(&r, 2)?)))
}

impl Rows for PgConn {
    fn kv_get(&self, at: At, user: &str, key: &str) -> R<Option<Value>> {
        self.query_opt(
            r#"SELECT "type", "value" FROM "prosody" WHERE "host"=$1 AND "user"=$2 AND "store"=$3 AND "key"=$4 LIMIT 1"#,
            &[&at.host, &user, &at.store, &key],
        )?
        .map(|r| value(&r, 0))
        .transpose()
    }

    fn kv_all(&self, at: At, user: &str) -> R<Vec<(String, Value)>> {
        self.query(
            r#"SELECT "key", "type", "value" FROM "prosody" WHERE "host"=$1 AND "user"=$2 AND "store"=$3 ORDER BY "key" COLLATE "C""#,
            &[&at.host, &user, &at.store],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, value(r, 1)?)))
        .collect()
    }

    fn kv_set(&self, at: At, user: &str, key: &str, v: &Value) -> R<()> {
        let (ty, val) = v.encode();
        if self.upsert.get() {
            self.execute(
                r#"INSERT INTO "prosody" ("host", "user", "store", "key", "type", "value") VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT ("host", "user", "store", "key") DO UPDATE SET "type"=excluded."type", "value"=excluded."value""#,
                &[&at.host, &user, &at.store, &key, &ty, &val],
            )?;
            return Ok(());
        }
        self.kv_delete(at, user, key)?;
        self.execute(
            r#"INSERT INTO "prosody" ("host", "user", "store", "key", "type", "value") VALUES ($1, $2, $3, $4, $5, $6)"#,
            &[&at.host, &user, &at.store, &key, &ty, &val],
        )?;
        Ok(())
    }

    fn kv_delete(&self, at: At, user: &str, key: &str) -> R<bool> {
        let n = self.execute(
            r#"DELETE FROM "prosody" WHERE "host"=$1 AND "user"=$2 AND "store"=$3 AND "key"=$4"#,
            &[&at.host, &user, &at.store, &key],
        )?;
        Ok(n > 0)
    }

    fn kv_clear(&self, at: At, user: &str) -> R<usize> {
        let n = self.execute(
            r#"DELETE FROM "prosody" WHERE "host"=$1 AND "user"=$2 AND "store"=$3"#,
            &[&at.host, &user, &at.store],
        )?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn kv_exists(&self, at: At, user: &str) -> R<bool> {
        Ok(self
            .query_opt(
                r#"SELECT 1 FROM "prosody" WHERE "host"=$1 AND "user"=$2 AND "store"=$3 LIMIT 1"#,
                &[&at.host, &user, &at.store],
            )?
            .is_some())
    }

    fn store_any(&self, at: At) -> R<bool> {
        Ok(self
            .query_opt(r#"SELECT 1 FROM "prosody" WHERE "host"=$1 AND "store"=$2 LIMIT 1"#, &[&at.host, &at.store])?
            .is_some())
    }

    fn store_users(&self, at: At) -> R<Vec<String>> {
        strings(self.query(
            r#"SELECT "user" FROM "prosody" WHERE "host"=$1 AND "store"=$2 GROUP BY "user" ORDER BY "user" COLLATE "C""#,
            &[&at.host, &at.store],
        )?)
    }

    fn count_at_least(&self, at: At, key: &str, min: i64) -> R<i64> {
        // The CASE keeps the cast off values that are not numbers (SQLite's CAST
        // gives 0 for those; PostgreSQL's fails).
        let min = min as f64;
        let row = self.query_opt(
            r#"SELECT count(DISTINCT "user") FROM "prosody" WHERE "host"=$1 AND "store"=$2 AND "key"=$3
               AND (CASE WHEN "type"='number' THEN CAST("value" AS DOUBLE PRECISION) END) >= $4"#,
            &[&at.host, &at.store, &key, &min],
        )?;
        match row {
            Some(r) => Ok(r.try_get(0)?),
            None => Ok(0),
        }
    }

    fn store_rows(&self, at: At) -> R<Vec<(String, String, Value)>> {
        stream(self.query(
            r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=$1 AND "store"=$2
               ORDER BY "user" COLLATE "C", "key" COLLATE "C""#,
            &[&at.host, &at.store],
        )?)
        .collect()
    }

    fn users_with_key(&self, at: At, key: &str) -> R<Vec<String>> {
        strings(self.query(
            r#"SELECT "user" FROM "prosody" WHERE "host"=$1 AND "store"=$2 AND "key"=$3 GROUP BY "user" ORDER BY "user" COLLATE "C""#,
            &[&at.host, &at.store, &key],
        )?)
    }

    fn purge_user(&self, host: &str, user: &str) -> R<()> {
        self.execute(r#"DELETE FROM "prosody" WHERE "host"=$1 AND "user"=$2"#, &[&host, &user])?;
        self.execute(r#"DELETE FROM "prosodyarchive" WHERE "host"=$1 AND "user"=$2"#, &[&host, &user])?;
        Ok(())
    }

    fn archive_get(&self, at: At, user: &str, key: &str) -> R<Option<(i64, String, Value)>> {
        self.query_opt(
            r#"SELECT "when", "with", "type", "value" FROM "prosodyarchive" WHERE "host"=$1 AND "user"=$2 AND "store"=$3 AND "key"=$4"#,
            &[&at.host, &user, &at.store, &key],
        )?
        .map(|r| Ok((i64::from(r.try_get::<_, i32>(0)?), r.try_get(1)?, value(&r, 2)?)))
        .transpose()
    }

    fn archive_put(&self, at: At, user: &str, key: &str, when: i64, with: &str, v: &Value) -> R<()> {
        self.archive_delete(at, user, key)?;
        self.archive_append(at, user, key, when, with, v).map(|_| ())
    }

    fn archive_append(&self, at: At, user: &str, key: &str, when: i64, with: &str, v: &Value) -> R<i64> {
        let (ty, val) = v.encode();
        let when = when_i32(when)?;
        let row = self.query_opt(
            r#"INSERT INTO "prosodyarchive" ("host", "user", "store", "key", "when", "with", "type", "value")
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING "sort_id""#,
            &[&at.host, &user, &at.store, &key, &when, &with, &ty, &val],
        )?;
        match row {
            Some(r) => Ok(r.try_get(0)?),
            None => Err(StoreError("an insert returned no sort_id".into())),
        }
    }

    fn archive_page(&self, at: At, user: &str, before: Option<i64>, limit: i64) -> R<Vec<ArchiveRow>> {
        let before = before.unwrap_or(i64::MAX);
        self.query(
            r#"SELECT "sort_id", "key", "when", "with", "type", "value" FROM "prosodyarchive"
               WHERE "host"=$1 AND "user"=$2 AND "store"=$3 AND "sort_id"<$4 ORDER BY "sort_id" DESC LIMIT $5"#,
            &[&at.host, &user, &at.store, &before, &limit],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, i64::from(r.try_get::<_, i32>(2)?), r.try_get(3)?, value(r, 4)?)))
        .collect()
    }

    fn archive_prune(&self, at: At, user: &str, keep: Option<i64>, before: Option<i64>, limit: i64) -> R<usize> {
        let mut gone: u64 = 0;
        if let Some(before) = before {
            let before = when_i32(before)?;
            gone += self.execute(
                r#"DELETE FROM "prosodyarchive" WHERE "sort_id" IN (SELECT "sort_id" FROM "prosodyarchive"
                   WHERE "host"=$1 AND "user"=$2 AND "store"=$3 AND "when"<$4 ORDER BY "sort_id" LIMIT $5)"#,
                &[&at.host, &user, &at.store, &before, &limit],
            )?;
        }
        let left = limit - i64::try_from(gone).unwrap_or(limit);
        if let Some(keep) = keep.filter(|_| left > 0) {
            let offset = keep.max(1) - 1;
            let oldest_kept = self.query_opt(
                r#"SELECT "sort_id" FROM "prosodyarchive" WHERE "host"=$1 AND "user"=$2 AND "store"=$3
                   ORDER BY "sort_id" DESC LIMIT 1 OFFSET $4"#,
                &[&at.host, &user, &at.store, &offset],
            )?;
            if let Some(row) = oldest_kept {
                let t: i64 = row.try_get(0)?;
                gone += self.execute(
                    r#"DELETE FROM "prosodyarchive" WHERE "sort_id" IN (SELECT "sort_id" FROM "prosodyarchive"
                       WHERE "host"=$1 AND "user"=$2 AND "store"=$3 AND "sort_id"<$4 ORDER BY "sort_id" LIMIT $5)"#,
                    &[&at.host, &user, &at.store, &t, &left],
                )?;
            }
        }
        Ok(usize::try_from(gone).unwrap_or(usize::MAX))
    }

    fn archive_delete(&self, at: At, user: &str, key: &str) -> R<bool> {
        let n = self.execute(
            r#"DELETE FROM "prosodyarchive" WHERE "host"=$1 AND "user"=$2 AND "store"=$3 AND "key"=$4"#,
            &[&at.host, &user, &at.store, &key],
        )?;
        Ok(n > 0)
    }

    /// As on SQLite, but one statement at a time (a connection runs one query at once):
    /// the page's account names first, then each stream bounded to those names
    /// (`after < user <= last`), so a page reads only its own rows.
    fn list_accounts(
        &self,
        host: &str,
        s: &ListingStores,
        after: &str,
        limit: Option<usize>,
        visit: &mut dyn FnMut(ListedRows) -> R<()>,
    ) -> R<()> {
        let limit = limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        let names = strings(self.query(
            r#"SELECT "user" FROM "prosody" WHERE "host"=$1 AND "store"=$2 AND "user" COLLATE "C" > $3
               GROUP BY "user" ORDER BY "user" COLLATE "C" LIMIT $4"#,
            &[&host, &s.accounts, &after, &limit],
        )?)?;
        let Some(last) = names.last().cloned() else { return Ok(()) };
        let items = |store: &str| {
            self.query(
                r#"SELECT "user", "key", "type", "value" FROM "prosodyarchive" WHERE "host"=$1 AND "store"=$2 AND "key"='current'
                   AND "user" COLLATE "C" > $3 AND "user" COLLATE "C" <= $4 ORDER BY "user" COLLATE "C""#,
                &[&host, &store, &after, &last],
            )
        };
        let keyed = |store: &str, key: &str| {
            self.query(
                r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=$1 AND "store"=$2 AND "key"=$3
                   AND "user" COLLATE "C" > $4 AND "user" COLLATE "C" <= $5 ORDER BY "user" COLLATE "C""#,
                &[&host, &store, &key, &after, &last],
            )
        };
        let streams = Streams {
            nick: stream(items(s.nick_archive)?),
            avatar: stream(items(s.avatar_archive)?),
            roles: stream(self.query(
                r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=$1 AND "store"=$2
                   AND "user" COLLATE "C" > $3 AND "user" COLLATE "C" <= $4
                   AND (("type"='boolean' AND "value"='true') OR "key"='_default')
                   ORDER BY "user" COLLATE "C", "key" COLLATE "C""#,
                &[&host, &s.roles, &after, &last],
            )?),
            members: stream(self.query(
                r#"SELECT g."key", g."user", 'string', '' FROM "prosody" g WHERE g."host"=$1 AND g."store"=$2
                   AND g."key" COLLATE "C" > $4 AND g."key" COLLATE "C" <= $5
                   AND EXISTS (SELECT 1 FROM "prosody" i WHERE i."host"=$1 AND i."user"=g."user" AND i."store"=$3)
                   ORDER BY g."key" COLLATE "C", g."user" COLLATE "C""#,
                &[&host, &s.groups, &s.group_info, &after, &last],
            )?),
            disabled: stream(keyed(s.accounts, "disabled")?),
            activity: stream(keyed(s.activity, "timestamp")?),
            cleanup: stream(self.query(
                r#"SELECT "user", "key", "type", "value" FROM "prosody" WHERE "host"=$1 AND "store"=$2
                   AND "user" COLLATE "C" > $3 AND "user" COLLATE "C" <= $4
                   ORDER BY "user" COLLATE "C", "key" COLLATE "C""#,
                &[&host, &s.cleanup, &after, &last],
            )?),
        };
        merge(names.into_iter().map(Ok), streams, visit)
    }
}
