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

// ---------------------------------------------------------------------------------
// Where: a `postgresql://` URL

/// libpq's `sslmode`, with its meanings: `disable` (plain), `prefer` (TLS when the
/// server offers it; the default, as libpq's), `require` (TLS, the certificate not
/// checked unless `sslrootcert` is given, as libpq), `verify-ca` (a certificate from a
/// trusted CA), `verify-full` (that, and issued for the host connected to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> R<SslMode> {
        Ok(match s {
            "disable" => SslMode::Disable,
            // libpq's `allow` (plain first, TLS if refused) is not offered by the driver;
            // `prefer` is the closer of the two.
            "prefer" | "allow" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(StoreError(format!(
                    "invalid sslmode {other:?} (disable, prefer, require, verify-ca or verify-full)"
                )))
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// A PostgreSQL database (libpq's URL form: TCP or, with `?host=/dir`, a unix socket),
/// with its password if one was given, and how to speak TLS to it (rustls). Shown
/// without the password.
#[derive(Clone)]
pub struct PgUrl {
    config: Box<postgres::Config>,
    mode: SslMode,
    /// `sslrootcert`: a PEM file of trusted CAs (`system`, or none: the system's).
    root: Option<std::path::PathBuf>,
    /// The TLS connector, built once (its roots read at start); None for `disable`.
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
}

impl PgUrl {
    pub(in crate::storage) fn parse(s: &str) -> R<PgUrl> {
        // The TLS options are ours (the driver knows only disable/prefer/require and no
        // certificate files): taken out of the query before the driver parses the rest.
        let (base, query) = s.split_once('?').unwrap_or((s, ""));
        let mut kept = Vec::new();
        let (mut mode, mut root) = (SslMode::Prefer, None);
        for part in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let value = || -> R<String> {
                super::percent_decode(v).ok_or_else(|| StoreError(format!("invalid PostgreSQL URL: bad escape in {k}")))
            };
            match k {
                "sslmode" => mode = SslMode::parse(&value()?)?,
                "sslrootcert" => root = Some(value()?),
                "sslcert" | "sslkey" | "sslpassword" => {
                    return Err(StoreError(format!(
                        "invalid PostgreSQL URL: {k}: client certificates are not supported; use a password"
                    )))
                }
                _ => kept.push(part),
            }
        }
        let rest = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
        let config = postgres::Config::from_str(&rest)
            // The parser's messages name the part they reject, never the password.
            .map_err(|e| StoreError(format!("invalid PostgreSQL URL: {}", with_causes(&e))))?;
        if config.get_hosts().is_empty() {
            return Err(StoreError("the PostgreSQL URL names no host (or ?host=/socket/dir)".into()));
        }
        if config.get_dbname().is_none() {
            return Err(StoreError("the PostgreSQL URL names no database".into()));
        }
        let root = root.filter(|r| r != "system").map(std::path::PathBuf::from);
        PgUrl::with_tls(config, mode, root)
    }

    fn with_tls(mut config: postgres::Config, mode: SslMode, root: Option<std::path::PathBuf>) -> R<PgUrl> {
        config.ssl_mode(match mode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            _ => postgres::config::SslMode::Require,
        });
        let tls = match mode {
            SslMode::Disable => None,
            _ => Some(tls::connector(mode, root.as_deref())?),
        };
        Ok(PgUrl { config: Box::new(config), mode, root, tls })
    }

    /// A database named by parts, as Prosody's `sql` table (LuaDBI, libpq) names it:
    /// `host` a name or a socket directory (libpq's default: Debian's socket
    /// directory), `port` 5432, `user` the user running this process; TLS as libpq's
    /// default (`prefer`; never on a unix socket).
    pub(in crate::storage) fn from_parts(
        host: Option<&str>,
        port: Option<u16>,
        dbname: &str,
        user: Option<&str>,
        password: Option<&str>,
    ) -> R<PgUrl> {
        let mut c = postgres::Config::new();
        c.host(host.unwrap_or("/var/run/postgresql"));
        c.port(port.unwrap_or(5432));
        c.dbname(dbname);
        let user = match user {
            Some(u) => u.to_string(),
            None => std::env::var("USER")
                .map_err(|_| StoreError("the PostgreSQL user is not given and $USER is not set".into()))?,
        };
        c.user(&user);
        if let Some(p) = password {
            c.password(p);
        }
        PgUrl::with_tls(c, SslMode::Prefer, None)
    }

    pub(in crate::storage) fn set_password(&mut self, password: &str) {
        self.config.password(password);
    }
}

/// rustls for the PostgreSQL connections: the verifier each sslmode asks for.
mod tls {
    use std::path::Path;
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::client::WebPkiServerVerifier;
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

    use super::{SslMode, R};
    use crate::storage::StoreError;

    pub(super) fn connector(mode: SslMode, root: Option<&Path>) -> R<tokio_postgres_rustls::MakeRustlsConnect> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError(format!("TLS: {e}")))?;
        // libpq: prefer/require check the certificate only when a root file is given
        // (then as verify-ca).
        let verifier: Arc<dyn ServerCertVerifier> = match (mode, root) {
            (SslMode::Prefer | SslMode::Require, None) => Arc::new(AnyCertificate(provider)),
            (SslMode::VerifyFull, root) => webpki(roots(root)?, &provider)?,
            (_, root) => Arc::new(ChainOnly(webpki(roots(root)?, &provider)?)),
        };
        let config = builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth();
        Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
    }

    fn webpki(roots: RootCertStore, provider: &Arc<CryptoProvider>) -> R<Arc<WebPkiServerVerifier>> {
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| StoreError(format!("TLS: {e}")))
    }

    /// The CAs of `sslrootcert`, or the system's.
    fn roots(file: Option<&Path>) -> R<RootCertStore> {
        let mut store = RootCertStore::empty();
        match file {
            Some(f) => {
                let certs = CertificateDer::pem_file_iter(f)
                    .map_err(|e| StoreError(format!("sslrootcert {}: {e}", f.display())))?;
                for c in certs {
                    let c = c.map_err(|e| StoreError(format!("sslrootcert {}: {e}", f.display())))?;
                    store.add(c).map_err(|e| StoreError(format!("sslrootcert {}: {e}", f.display())))?;
                }
                if store.is_empty() {
                    return Err(StoreError(format!("sslrootcert {}: no certificate in it", f.display())));
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                for c in found.certs {
                    // A system certificate rustls cannot use is skipped, as libpq would.
                    let _ = store.add(c);
                }
                if store.is_empty() {
                    return Err(StoreError("no system CA certificates found: give sslrootcert=FILE".into()));
                }
            }
        }
        Ok(store)
    }

    /// `require` without roots: encrypted, the certificate not checked (libpq's meaning;
    /// the handshake's signatures still are).
    #[derive(Debug)]
    struct AnyCertificate(Arc<CryptoProvider>);

    impl ServerCertVerifier for AnyCertificate {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    /// `verify-ca`: the chain to a trusted CA, not the host name (webpki checks the chain
    /// first, so a name mismatch means the chain was good).
    #[derive(Debug)]
    struct ChainOnly(Arc<WebPkiServerVerifier>);

    impl ServerCertVerifier for ChainOnly {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
                Err(Error::InvalidCertificate(
                    CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
                )) => Ok(ServerCertVerified::assertion()),
                other => other,
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            self.0.verify_tls12_signature(message, cert, dss)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            self.0.verify_tls13_signature(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.supported_verify_schemes()
        }
    }
}

impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        let hosts: Vec<String> = c
            .get_hosts()
            .iter()
            .map(|h| match h {
                postgres::config::Host::Tcp(h) => h.clone(),
                postgres::config::Host::Unix(p) => p.display().to_string(),
            })
            .collect();
        write!(
            f,
            "PostgreSQL database {:?} on {} as {:?} (sslmode {}{})",
            c.get_dbname().unwrap_or_default(),
            hosts.join(","),
            c.get_user().unwrap_or_default(),
            self.mode.name(),
            self.root.as_ref().map(|r| format!(", sslrootcert {}", r.display())).unwrap_or_default()
        )
    }
}

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

// ---------------------------------------------------------------------------------
// The primitives

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// One PostgreSQL connection with its prepared statements. Used by one thread at a
/// time (a pooled read, the writer thread, a CLI command), hence the `RefCell`s: the
/// handles share it by `&`, as they share a SQLite connection.
struct PgConn {
    client: RefCell<Client>,
    statements: RefCell<HashMap<&'static str, Statement>>,
    /// A transaction is open (between [`PgConn::begin_read`]/`begin_write` and its end):
    /// a connection handed back to the pool in that state is dropped, not reused.
    in_tx: Cell<bool>,
    /// The server ended the connection (a FATAL error came back: a restart, a
    /// terminated backend), though the client may not have seen the socket close yet.
    ended: Cell<bool>,
    /// `prosody` has Prosody 13's unique index: a key is set with one upsert, which a
    /// concurrent insert of the same key by Prosody cannot make fail.
    upsert: Cell<bool>,
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
fn with_causes(e: &dyn std::error::Error) -> String {
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
const WRITE_LOCK: i64 = 0x7072_6f73_6f64_7961;

fn when_i32(when: i64) -> R<i32> {
    // Prosody's column is an `integer`: times up to 2038.
    i32::try_from(when).map_err(|_| StoreError(format!("archive time {when} does not fit Prosody's integer column")))
}

impl PgConn {
    fn new(client: Client) -> PgConn {
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
    fn set_upsert(&self, upsert: bool) {
        self.upsert.set(upsert);
    }

    fn is_closed(&self) -> bool {
        self.ended.get() || self.client.borrow().is_closed()
    }

    fn in_transaction(&self) -> bool {
        self.in_tx.get()
    }

    /// Runs statements without parameters (transaction control, DDL).
    fn batch(&self, sql: &str) -> R<()> {
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
    fn begin_read(&self) -> R<()> {
        self.in_tx.set(true);
        self.batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    }

    /// A write: READ COMMITTED (every statement sees what committed before it), after
    /// taking [`WRITE_LOCK`], so a write's checks and changes are not interleaved with
    /// another replica's.
    fn begin_write(&self) -> R<()> {
        self.in_tx.set(true);
        self.batch("BEGIN ISOLATION LEVEL READ COMMITTED")?;
        self.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK]).map(|_| ())
    }

    /// Ends the transaction: COMMIT, or ROLLBACK when `commit` is false.
    fn end(&self, commit: bool) -> R<()> {
        let r = self.batch(if commit { "COMMIT" } else { "ROLLBACK" });
        if r.is_ok() {
            self.in_tx.set(false);
        }
        r
    }

    fn statement(&self, sql: &'static str) -> R<Statement> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.borrow_mut().prepare(sql)?;
        self.statements.borrow_mut().insert(sql, s.clone());
        Ok(s)
    }

    fn query(&self, sql: &'static str, p: Params) -> R<Vec<Row>> {
        let st = self.statement(sql)?;
        Ok(self.client.borrow_mut().query(&st, p)?)
    }

    fn query_opt(&self, sql: &'static str, p: Params) -> R<Option<Row>> {
        let st = self.statement(sql)?;
        Ok(self.client.borrow_mut().query_opt(&st, p)?)
    }

    fn execute(&self, sql: &'static str, p: Params) -> R<u64> {
        let st = self.statement(sql)?;
        Ok(self.client.borrow_mut().execute(&st, p)?)
    }

    /// Whether a statement returns a row (not kept prepared: schema checks, probes).
    fn exists(&self, sql: &'static str, p: Params) -> R<bool> {
        Ok(self.client.borrow_mut().query_opt(sql, p)?.is_some())
    }

    /// Waits up to `timeout` for notifications; how many arrived (0: none).
    fn notifications(&self, timeout: std::time::Duration) -> R<usize> {
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

fn value(row: &Row, ty: usize) -> R<Value> {
    Ok(Value::decode(&row.try_get::<_, String>(ty)?, row.try_get(ty + 1)?))
}

fn strings(rows: Vec<Row>) -> R<Vec<String>> {
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// A listing stream's rows: (user, key, value).
fn stream(rows: Vec<Row>) -> impl Iterator<Item = R<(String, String, Value)>> {
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
