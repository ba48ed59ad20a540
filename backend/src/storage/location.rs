//! Where the database is: a SQLite file (the embedded default) or a PostgreSQL
//! database (`postgresql://…`, libpq's URL form: TCP or, with `?host=/dir`, a unix
//! socket). Shown to people without its password.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::StoreError;

#[derive(Clone)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(Box<postgres::Config>),
}

impl Location {
    /// `postgresql://…` or `postgres://…` is PostgreSQL; anything else is a file path.
    pub fn parse(s: &str) -> Result<Location, StoreError> {
        if s.starts_with("postgresql://") || s.starts_with("postgres://") {
            let config = postgres::Config::from_str(s)
                // The parser's messages name the part they reject, never the password.
                .map_err(|e| StoreError(format!("invalid PostgreSQL URL: {}", super::rows::pg::with_causes(&e))))?;
            if config.get_hosts().is_empty() {
                return Err(StoreError("the PostgreSQL URL names no host (or ?host=/socket/dir)".into()));
            }
            if config.get_dbname().is_none() {
                return Err(StoreError("the PostgreSQL URL names no database".into()));
            }
            Ok(Location::Postgres(Box::new(config)))
        } else if s.is_empty() {
            Err(StoreError("the database location is empty".into()))
        } else {
            Ok(Location::Sqlite(PathBuf::from(s)))
        }
    }

    /// Sets the PostgreSQL password (from the config file or the environment, so that
    /// it need not be in the URL). No effect on SQLite.
    pub fn with_password(self, password: Option<&str>) -> Location {
        match (self, password) {
            (Location::Postgres(mut c), Some(p)) => {
                c.password(p);
                Location::Postgres(c)
            }
            (l, _) => l,
        }
    }

    /// The SQLite file, if it is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Location::Sqlite(p) => Some(p),
            Location::Postgres(_) => None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "{}", p.display()),
            Location::Postgres(c) => {
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
                    "PostgreSQL database {:?} on {} as {:?}",
                    c.get_dbname().unwrap_or_default(),
                    hosts.join(","),
                    c.get_user().unwrap_or_default()
                )
            }
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
