//! Where the database is: a SQLite file (the embedded default) or a PostgreSQL
//! database (`postgresql://…`, libpq's URL form: TCP or, with `?host=/dir`, a unix
//! socket). Shown to people without its password. Opening a location is the one place
//! that picks an engine.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::engine::{self, pg::PgUrl, Engine};
use super::{ProsodyVersion, StoreError};

#[derive(Clone)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(PgUrl),
    /// Prosody's flat files (`storage = "internal"`): its `data_path`.
    Internal(PathBuf),
}

impl Location {
    /// `postgresql://…` or `postgres://…` is PostgreSQL; anything else is a file path.
    pub fn parse(s: &str) -> Result<Location, StoreError> {
        if s.starts_with("postgresql://") || s.starts_with("postgres://") {
            Ok(Location::Postgres(PgUrl::parse(s)?))
        } else if let Some(data) = s.strip_prefix("internal:") {
            if data.is_empty() {
                return Err(StoreError("internal: needs Prosody's data_path (internal:/var/lib/prosody)".into()));
            }
            Ok(Location::Internal(PathBuf::from(data)))
        } else if s.is_empty() {
            Err(StoreError("the database location is empty".into()))
        } else {
            Ok(Location::Sqlite(PathBuf::from(s)))
        }
    }

    /// A PostgreSQL database named by parts (Prosody's `sql` table; see `PgUrl`).
    pub fn postgres(
        host: Option<&str>,
        port: Option<u16>,
        dbname: &str,
        user: Option<&str>,
        password: Option<&str>,
    ) -> Result<Location, StoreError> {
        Ok(Location::Postgres(PgUrl::from_parts(host, port, dbname, user, password)?))
    }

    /// Sets the PostgreSQL password (from the config file or the environment, so that
    /// it need not be in the URL). No effect on SQLite.
    pub fn with_password(self, password: Option<&str>) -> Location {
        match (self, password) {
            (Location::Postgres(mut c), Some(p)) => {
                c.set_password(p);
                Location::Postgres(c)
            }
            (l, _) => l,
        }
    }

    /// Whether two locations name one database (then one engine serves both): the same
    /// file or data directory, or the same PostgreSQL server, database and user.
    pub fn same_database(&self, other: &Location) -> bool {
        let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        match (self, other) {
            (Location::Sqlite(a), Location::Sqlite(b)) | (Location::Internal(a), Location::Internal(b)) => {
                abs(a) == abs(b)
            }
            // Shown without the password: the same server, database and user.
            (Location::Postgres(a), Location::Postgres(b)) => a.to_string() == b.to_string(),
            _ => false,
        }
    }

    /// The SQLite file, if it is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Location::Sqlite(p) => Some(p),
            Location::Postgres(_) | Location::Internal(_) => None,
        }
    }

    /// Opens the engine of this location (creating a new database's layout:
    /// `configured`, or the default). Blocking.
    pub(super) fn open(&self, configured: Option<ProsodyVersion>) -> Result<Arc<dyn Engine>, StoreError> {
        Ok(match self {
            Location::Sqlite(path) => Arc::new(engine::sqlite::open(path, configured)?),
            Location::Postgres(url) => Arc::new(engine::pg::open(url, configured)?),
            Location::Internal(data) => Arc::new(engine::internal::open(data, configured)?),
        })
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "{}", p.display()),
            Location::Postgres(url) => url.fmt(f),
            Location::Internal(data) => write!(f, "Prosody's flat files in {}", data.display()),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
