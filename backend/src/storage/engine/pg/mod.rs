//! The PostgreSQL engine: a database in Prosody's `mod_storage_sql` layout (0.12 or 13)
//! on a PostgreSQL server, shared with Prosody and with other replicas of ours. The
//! `postgres` crate (blocking, always called off the async runtime); the tables as
//! `mod_storage_sql` creates them there (`"when"` is an `integer`, `sort_id` a
//! `bigserial`). Usernames and keys are compared and ordered `COLLATE "C"` (byte order,
//! whatever the database's locale), the order our merge and pages rely on.
//!
//! Reads: REPEATABLE READ snapshots on an r2d2 pool. Writes: READ COMMITTED under an
//! advisory lock all replicas take ([`WRITE_LOCK`]). Other processes' commits: our
//! trigger `prosody_admin_notify` on Prosody's two tables, LISTENed to by a connection
//! of the watch (delivered at commit, to every replica).
//!
//! Every statement is a fixed string with `$n` parameters; nothing is formatted into
//! SQL.
//!
//! One file per job: [`url`] (the URL and its sslmode), [`tls`] (rustls verifiers),
//! [`rows`] (the connection and its `Rows` primitives); this file: the layout (DDL and
//! detection), the pool, the engine (reads, writer, LISTEN watch, probe).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, Row, Statement};

use super::{
    choose, from_indices, merge, prosody_index, ArchiveRow, At, Detected, Engine, Generation, ListedRows,
    ListingStores, Rows, Streams, WriteConn, POOL_SIZE, R,
};
use crate::storage::{ProsodyVersion, StoreError};
use crate::values::Value;

mod rows;
mod tls;
mod url;

use rows::*;
pub use url::PgUrl;
use url::SslMode;

// ---------------------------------------------------------------------------------
// The layout: what each version's mod_storage_sql creates on PostgreSQL (read off
// databases Prosody 0.12.3 and 13.0.1 created: `pg_dump --schema-only`), plus
// `IF NOT EXISTS`, and our own objects.

const TABLES: &str = r#"
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
const OURS: &str = r#"
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

/// Chooses the layout (see [`choose`]) and makes sure it is there, with our indices
/// and trigger: in one transaction, under the replicas' write lock, so that replicas
/// starting together do not race on the DDL.
fn prepare(c: &PgConn, configured: Option<ProsodyVersion>) -> R<ProsodyVersion> {
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
            c.batch(TABLES)?;
            c.batch(prosody_index(version))?;
        }
        c.batch(OURS).map_err(|e| {
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

// ---------------------------------------------------------------------------------
// Connections

/// Opens a connection that writes as the layout `version` wants (see
/// [`PgConn::set_upsert`]). Blocking.
fn connect(url: &PgUrl, version: Option<ProsodyVersion>) -> R<PgConn> {
    let client = match &url.tls {
        None => url.config.connect(postgres::NoTls)?,
        Some(tls) => url.config.connect(tls.clone())?,
    };
    let c = PgConn::new(client);
    c.set_upsert(version == Some(ProsodyVersion::V13));
    Ok(c)
}

/// r2d2's manager of PostgreSQL connections. A connection handed back inside a
/// transaction (its call panicked) or closed is dropped, never reused.
struct PgManager {
    url: Arc<PgUrl>,
    version: ProsodyVersion,
}

impl r2d2::ManageConnection for PgManager {
    type Connection = PgConn;
    type Error = StoreError;

    fn connect(&self) -> R<PgConn> {
        connect(&self.url, Some(self.version))
    }

    fn is_valid(&self, c: &mut PgConn) -> R<()> {
        c.batch("")
    }

    fn has_broken(&self, c: &mut PgConn) -> bool {
        c.is_closed() || c.in_transaction()
    }
}

/// An open PostgreSQL database.
pub(in crate::storage) struct Pg {
    pool: r2d2::Pool<PgManager>,
    url: Arc<PgUrl>,
    version: ProsodyVersion,
}

/// Connects, detects the layout (creating a new database's) and our objects, and
/// opens the pool. Blocking.
pub(in crate::storage) fn open(url: &PgUrl, configured: Option<ProsodyVersion>) -> R<Pg> {
    let config = Arc::new(url.clone());
    // One connection first: an unreachable server or a refused login is one clear
    // error now, not the pool's retries for 10 s.
    let first = connect(&config, None)?;
    let version = prepare(&first, configured)?;
    drop(first);
    let pool = r2d2::Pool::builder()
        .max_size(POOL_SIZE)
        .connection_timeout(Duration::from_secs(10))
        // `is_valid` would cost a round trip per read; `has_broken` drops closed
        // connections when they come back, and a read whose BEGIN fails on a closed one
        // takes another (`Pg::reading`).
        .test_on_check_out(false)
        .build(PgManager { url: config.clone(), version })?;
    Ok(Pg { pool, url: config, version })
}

impl Pg {
    /// A pooled connection inside a read transaction. A connection the server closed
    /// (a restart, a failover) fails its BEGIN, and nothing has run yet: it is
    /// discarded (`has_broken`) and another taken, up to one per pooled slot, so a
    /// database restart costs no request an error.
    fn reading(&self) -> R<r2d2::PooledConnection<PgManager>> {
        let mut attempts = 0;
        loop {
            let conn = self.pool.get()?;
            match conn.begin_read() {
                Ok(()) => return Ok(conn),
                Err(e) if conn.is_closed() && attempts < POOL_SIZE => {
                    log::warn!("a pooled database connection was closed ({e}): taking another");
                    attempts += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// How long the watch waits for a notification before it looks whether its store is
/// gone; notifications themselves wake it at once.
const WATCH_TICK: Duration = Duration::from_millis(250);

/// A connection that LISTENs to our trigger's channel.
fn listen(config: &PgUrl) -> R<PgConn> {
    let c = connect(config, None)?;
    // A fixed statement: the channel name is ours, not input.
    c.batch("LISTEN prosody_admin")?;
    Ok(c)
}

impl Engine for Pg {
    fn version(&self) -> ProsodyVersion {
        self.version
    }

    fn read(&self, f: &mut dyn FnMut(&dyn Rows) -> bool) -> R<()> {
        let conn = self.reading()?;
        let ok = f(&*conn);
        // Read only: ending it cannot lose anything, but a connection that cannot end
        // it is not handed out again (see `PgManager::has_broken`).
        conn.end(ok)
    }

    fn writer(&self) -> R<Box<dyn WriteConn>> {
        let conn = connect(&self.url, Some(self.version))?;
        Ok(Box::new(Writer { conn, url: self.url.clone(), version: self.version }))
    }

    /// Notifications can be lost only with the connection; so a lost connection retires
    /// every cache, and so does the reconnection (whatever committed in between).
    fn watch(&self, generation: Generation, _interval: Duration) -> R<()> {
        // The first connection before the service starts: a database that cannot be
        // watched is an error now, not a cache that never retires.
        let first = listen(&self.url)?;
        let config = self.url.clone();
        std::thread::Builder::new()
            .name("db-watch".into())
            .spawn(move || {
                let mut conn = Some(first);
                let mut backoff = Duration::from_millis(50);
                while generation.alive() {
                    let Some(c) = &conn else {
                        std::thread::sleep(backoff);
                        match listen(&config) {
                            Ok(c) => {
                                log::info!("watching the database again");
                                conn = Some(c);
                                backoff = Duration::from_millis(50);
                            }
                            Err(e) => {
                                log::warn!("watching the database: {e}");
                                backoff = (backoff * 2).min(Duration::from_secs(5));
                            }
                        }
                        // Connected or not: nothing cached may outlive the gap.
                        generation.bump();
                        continue;
                    };
                    match c.notifications(WATCH_TICK) {
                        Ok(0) => {}
                        Ok(_) => {
                            generation.bump();
                        }
                        Err(e) => {
                            log::warn!("watching the database: {e}; reconnecting");
                            conn = None;
                            generation.bump();
                        }
                    }
                }
            })
            .map_err(|e| StoreError(format!("cannot start the database watcher: {e}")))?;
        Ok(())
    }

    fn probe(&self) -> R<()> {
        connect(&self.url, None)?.exists(r#"SELECT 1 FROM (SELECT 1 FROM "prosody" LIMIT 1) t"#, &[]).map(|_| ())
    }
}

/// The writer's connection: the write lock of all replicas ([`WRITE_LOCK`]);
/// reconnects when the server closed the connection (a restart, a failover).
struct Writer {
    conn: PgConn,
    url: Arc<PgUrl>,
    version: ProsodyVersion,
}

impl WriteConn for Writer {
    fn begin(&mut self) -> R<()> {
        // A connection the server closed (a restart, a failover) is known only when
        // used: its BEGIN fails before any write ran, so reconnecting and beginning
        // again is safe.
        if let Err(e) = self.conn.begin_write() {
            if !self.conn.is_closed() {
                let _ = self.conn.end(false);
                return Err(e);
            }
            log::warn!("the writer's database connection was closed ({e}): reconnecting");
            self.conn = connect(&self.url, Some(self.version))?;
            self.conn.begin_write()?;
        }
        Ok(())
    }

    fn savepoint(&self) -> R<()> {
        self.conn.batch("SAVEPOINT prosody_admin_write")
    }

    fn release(&self, keep: bool) -> R<()> {
        self.conn.batch(if keep {
            "RELEASE prosody_admin_write"
        } else {
            "ROLLBACK TO prosody_admin_write; RELEASE prosody_admin_write"
        })
    }

    fn end(&self, commit: bool) -> R<()> {
        self.conn.end(commit)
    }

    fn rows(&self) -> &dyn Rows {
        &self.conn
    }
}
