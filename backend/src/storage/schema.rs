//! Prosody's schema, per version, and which version a database holds.
//!
//! The DDL is what each version's `mod_storage_sql` issues on SQLite and on PostgreSQL
//! (read off databases each version created: `sqlite3 .schema`, `pg_dump
//! --schema-only`), plus `IF NOT EXISTS`: a database we create is indistinguishable
//! from one Prosody created, but for our own `prosody_admin_*` objects.
//! We never migrate Prosody's schema: a 0.12 database is upgraded by
//! `prosodyctl mod_storage_sql upgrade`, not by us.

use r2d2_sqlite::rusqlite::{params, Connection, OptionalExtension};

use super::rows::pg::PgConn;
use super::{ProsodyVersion, StoreError};

const TABLES: &str = r#"
CREATE TABLE IF NOT EXISTS "prosody" ("host" TEXT NOT NULL, "user" TEXT NOT NULL, "store" TEXT NOT NULL, "key" TEXT NOT NULL, "type" TEXT NOT NULL, "value" TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS "prosodyarchive" ("sort_id" INTEGER PRIMARY KEY AUTOINCREMENT, "host" TEXT NOT NULL, "user" TEXT NOT NULL, "store" TEXT NOT NULL, "key" TEXT NOT NULL, "when" INTEGER NOT NULL, "with" TEXT NOT NULL, "type" TEXT NOT NULL, "value" TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS "prosodyarchive_index" ON "prosodyarchive" ("host", "user", "store", "key");
CREATE INDEX IF NOT EXISTS "prosodyarchive_with_when" ON "prosodyarchive" ("host", "user", "store", "with", "when");
CREATE INDEX IF NOT EXISTS "prosodyarchive_when" ON "prosodyarchive" ("host", "user", "store", "when");
CREATE INDEX IF NOT EXISTS "prosodyarchive_sort" ON "prosodyarchive" ("host", "user", "store", "sort_id");
"#;

/// Prosody 0.12: a non-unique index on `prosody` (keyval writes delete, then insert).
const INDEX_0_12: &str = r#"CREATE INDEX IF NOT EXISTS "prosody_index" ON "prosody" ("host", "user", "store", "key");"#;
/// Prosody 13: the same columns, unique (13 refuses to start while `prosody_index` exists).
const INDEX_13: &str =
    r#"CREATE UNIQUE INDEX IF NOT EXISTS "prosody_unique_index" ON "prosody" ("host", "user", "store", "key");"#;

/// The index on `prosody` that says which Prosody created the schema (the same DDL on
/// both engines).
fn prosody_index(version: ProsodyVersion) -> &'static str {
    match version {
        ProsodyVersion::V0_12 => INDEX_0_12,
        ProsodyVersion::V13 => INDEX_13,
    }
}

/// Indices of our own for lookups across users, which Prosody ignores: members of a
/// group and the groups of a user (host, store, key), listings in user order (host,
/// store, user, key), every user's nick item (archive: host, store, key).
const OUR_INDICES: &str = r#"
CREATE INDEX IF NOT EXISTS "prosody_admin_store_key_user" ON "prosody" ("host", "store", "key", "user");
CREATE INDEX IF NOT EXISTS "prosody_admin_store_user_key" ON "prosody" ("host", "store", "user", "key");
CREATE INDEX IF NOT EXISTS "prosody_admin_archive_store_key_user" ON "prosodyarchive" ("host", "store", "key", "user");
"#;

/// What a database's schema says about its Prosody version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    /// No `prosody` table: a new database.
    Empty,
    Version(ProsodyVersion),
}

fn has(c: &Connection, kind: &str, name: &str) -> Result<bool, StoreError> {
    Ok(c.query_row(r#"SELECT 1 FROM "sqlite_master" WHERE "type"=? AND "name"=?"#, params![kind, name], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Reads (never writes) the version a database's schema belongs to.
pub fn detect(c: &Connection) -> Result<Detected, StoreError> {
    if !has(c, "table", "prosody")? {
        return Ok(Detected::Empty);
    }
    from_indices(has(c, "index", "prosody_index")?, has(c, "index", "prosody_unique_index")?)
}

/// The version Prosody's index on `prosody` says.
fn from_indices(old: bool, unique: bool) -> Result<Detected, StoreError> {
    match (old, unique) {
        (true, false) => Ok(Detected::Version(ProsodyVersion::V0_12)),
        (false, true) => Ok(Detected::Version(ProsodyVersion::V13)),
        (true, true) => Err(StoreError(
            "the table \"prosody\" has both prosody_index (Prosody 0.12) and prosody_unique_index (Prosody 13); \
             finish the upgrade with `prosodyctl mod_storage_sql upgrade`"
                .into(),
        )),
        (false, false) => Err(StoreError(
            "the table \"prosody\" has neither prosody_index (Prosody 0.12) nor prosody_unique_index (Prosody 13): \
             not a database Prosody's mod_storage_sql created"
                .into(),
        )),
    }
}

/// The version to use, from what the database has and what is configured: None when
/// the database is empty and gets `configured` (or the default) created.
fn choose(detected: Detected, configured: Option<ProsodyVersion>) -> Result<(ProsodyVersion, bool), StoreError> {
    match (detected, configured) {
        (Detected::Empty, v) => Ok((v.unwrap_or(ProsodyVersion::DEFAULT), true)),
        (Detected::Version(found), Some(wanted)) if found != wanted => {
            let hint = match (found, wanted) {
                (ProsodyVersion::V0_12, ProsodyVersion::V13) => {
                    "upgrade it with Prosody 13's `prosodyctl mod_storage_sql upgrade` first"
                }
                _ => "a Prosody 13 database cannot be used as 0.12; set prosody_version = \"13\" (or leave it unset)",
            };
            Err(StoreError(format!(
                "the database has Prosody {found}'s layout, but prosody_version is {wanted}: {hint}"
            )))
        }
        (Detected::Version(found), _) => Ok((found, false)),
    }
}

/// Chooses the profile of a database and makes sure its schema is there:
/// - an empty database gets `configured` (or [`ProsodyVersion::DEFAULT`]) and the
///   schema that version's Prosody creates;
/// - an existing one keeps the version its schema says; if `configured` disagrees,
///   a clear error, and nothing is written.
///
/// Then our own indices are added (idempotent).
pub fn prepare(c: &Connection, configured: Option<ProsodyVersion>) -> Result<ProsodyVersion, StoreError> {
    let (version, create) = choose(detect(c)?, configured)?;
    if create {
        let index = prosody_index(version);
        // Both or neither: a half-created schema would be detected as "neither".
        let tx = c.unchecked_transaction()?;
        tx.execute_batch(TABLES)?;
        tx.execute_batch(index)?;
        tx.commit()?;
    }
    c.execute_batch(OUR_INDICES)?;
    Ok(version)
}

/// Reads one row of Prosody's main table: the file is there, is a database, and has
/// the layout (an empty table is fine).
pub(super) fn probe(c: &Connection) -> Result<(), StoreError> {
    c.query_row(r#"SELECT count(*) FROM (SELECT 1 FROM "prosody" LIMIT 1)"#, [], |r| r.get::<_, i64>(0))?;
    Ok(())
}

// ---------------------------------------------------------------------------------
// PostgreSQL

const PG_TABLES: &str = r#"
CREATE TABLE IF NOT EXISTS "prosody" ("host" TEXT NOT NULL, "user" TEXT NOT NULL, "store" TEXT NOT NULL, "key" TEXT NOT NULL, "type" TEXT NOT NULL, "value" TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS "prosodyarchive" ("sort_id" BIGSERIAL PRIMARY KEY, "host" TEXT NOT NULL, "user" TEXT NOT NULL, "store" TEXT NOT NULL, "key" TEXT NOT NULL, "when" INTEGER NOT NULL, "with" TEXT NOT NULL, "type" TEXT NOT NULL, "value" TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS "prosodyarchive_index" ON "prosodyarchive" ("host", "user", "store", "key");
CREATE INDEX IF NOT EXISTS "prosodyarchive_with_when" ON "prosodyarchive" ("host", "user", "store", "with", "when");
CREATE INDEX IF NOT EXISTS "prosodyarchive_when" ON "prosodyarchive" ("host", "user", "store", "when");
CREATE INDEX IF NOT EXISTS "prosodyarchive_sort" ON "prosodyarchive" ("host", "user", "store", "sort_id");
"#;

/// Our indices, as on SQLite, with usernames and keys in byte order (`COLLATE "C"`,
/// the order our statements ask for); and the trigger that tells every replica of a
/// change to Prosody's tables (statement-level: one notification per statement,
/// folded into one per transaction by PostgreSQL, sent at commit).
const PG_OURS: &str = r#"
CREATE INDEX IF NOT EXISTS "prosody_admin_store_key_user" ON "prosody" ("host", "store", "key" COLLATE "C", "user" COLLATE "C");
CREATE INDEX IF NOT EXISTS "prosody_admin_store_user_key" ON "prosody" ("host", "store", "user" COLLATE "C", "key" COLLATE "C");
CREATE INDEX IF NOT EXISTS "prosody_admin_archive_store_key_user" ON "prosodyarchive" ("host", "store", "key", "user" COLLATE "C");
CREATE OR REPLACE FUNCTION "prosody_admin_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('prosody_admin', '');
  RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER "prosody_admin_notify" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "prosody"
  FOR EACH STATEMENT EXECUTE FUNCTION "prosody_admin_notify"();
CREATE OR REPLACE TRIGGER "prosody_admin_notify" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "prosodyarchive"
  FOR EACH STATEMENT EXECUTE FUNCTION "prosody_admin_notify"();
"#;

/// [`prepare`] on PostgreSQL: in one transaction, under the replicas' write lock, so
/// that replicas starting together do not race on the DDL.
pub(super) fn prepare_pg(c: &PgConn, configured: Option<ProsodyVersion>) -> Result<ProsodyVersion, StoreError> {
    c.begin_write()?;
    let out = (|| {
        let has = |name: &'static str| c.exists("SELECT 1 WHERE to_regclass($1) IS NOT NULL", &[&name]);
        let detected = if has("\"prosody\"")? {
            from_indices(has("\"prosody_index\"")?, has("\"prosody_unique_index\"")?)?
        } else {
            Detected::Empty
        };
        let (version, create) = choose(detected, configured)?;
        if create {
            c.batch(PG_TABLES)?;
            c.batch(prosody_index(version))?;
        }
        c.batch(PG_OURS).map_err(|e| {
            StoreError(format!(
                "{e}: our indices and change trigger (prosody_admin_*) could not be created; \
                 the database user needs to own Prosody's tables"
            ))
        })?;
        Ok(version)
    })();
    c.end(out.is_ok())?;
    out
}

/// [`probe`] on PostgreSQL.
pub(super) fn probe_pg(c: &PgConn) -> Result<(), StoreError> {
    c.exists(r#"SELECT 1 FROM (SELECT 1 FROM "prosody" LIMIT 1) t"#, &[]).map(|_| ())
}
