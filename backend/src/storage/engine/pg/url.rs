//! Where: a `postgresql://` URL (libpq's forms and `sslmode` meanings), shown without its
//! password, and the TLS connector each sslmode asks for (see [`super::tls`]).

use super::*;

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
    pub(super) fn parse(s: &str) -> R<SslMode> {
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

    pub(super) fn name(self) -> &'static str {
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
    pub(super) config: Box<postgres::Config>,
    pub(super) mode: SslMode,
    /// `sslrootcert`: a PEM file of trusted CAs (`system`, or none: the system's).
    pub(super) root: Option<std::path::PathBuf>,
    /// The TLS connector, built once (its roots read at start); None for `disable`.
    pub(super) tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
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
                super::super::percent_decode(v)
                    .ok_or_else(|| StoreError(format!("invalid PostgreSQL URL: bad escape in {k}")))
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

    pub(super) fn with_tls(mut config: postgres::Config, mode: SslMode, root: Option<std::path::PathBuf>) -> R<PgUrl> {
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
