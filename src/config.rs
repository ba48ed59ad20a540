//! Configuration: command-line flags, `PROSODY_ADMIN_*` environment variables, a TOML
//! file of our own and Prosody's own config file (`--prosody-config`), in that order of
//! precedence, one option at a time, over documented defaults. Where each setting came
//! from is logged at start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use backend::storage::Location;
use backend::{ProsodyVersion, Settings};

use crate::client_addr::TrustedProxies;
use crate::prosody_config::{ProsodyConfig, Storage};
use clap::Args;
use serde::Deserialize;

/// Where Prosody's own HTTP ports are not: 5280/5281 are Prosody's.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5380";
pub const DEFAULT_DATABASE: &str = "data/prosody-admin.sqlite";
pub const DEFAULT_HOST: &str = "localhost";
/// Large enough for every body the spec bounds (e.g. 64 roles of 1023 four-byte
/// characters), small enough to bound what one request can make the server hold.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;
/// Prosody's default component port, on loopback.
pub const DEFAULT_COMPONENT_ADDRESS: &str = "127.0.0.1:5347";
/// The account the first start creates on an empty database.
pub const BOOTSTRAP_ADMIN: &str = "admin";

/// Options every subcommand takes, so that all of them work on the same database.
#[derive(Debug, Clone, Default, Args)]
pub struct Common {
    /// TOML configuration file (keys as the long options, with `_`: `database`, `admins`, ...)
    #[arg(long, short = 'c', env = "PROSODY_ADMIN_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Prosody's own config file (prosody.cfg.lua), the source of every setting it has
    /// (storage, host, admins, custom roles, invite page, groups MUC host); flags, the
    /// environment and our TOML file still override it, one option at a time
    #[arg(long, env = "PROSODY_ADMIN_PROSODY_CONFIG", global = true)]
    pub prosody_config: Option<PathBuf>,
    /// Prosody's admin socket (mod_admin_socket), the live path [default: the Prosody
    /// config's admin_socket, else <data_path>/prosody.sock; none without a config]
    #[arg(long, env = "PROSODY_ADMIN_PROSODY_SOCKET", global = true)]
    pub prosody_socket: Option<PathBuf>,
    /// Roles beyond Prosody's built-in ones (as Prosody 13's `custom_roles`),
    /// comma-separated [default: the Prosody config's custom_roles]
    #[arg(long = "custom-role", env = "PROSODY_ADMIN_CUSTOM_ROLES", value_delimiter = ',', global = true)]
    pub custom_roles: Option<Vec<String>>,
    /// The database in Prosody's layout: a SQLite file, or a PostgreSQL URL
    /// (postgresql://user@host:port/db, or postgresql://user@/db?host=/socket/dir)
    /// [default: data/prosody-admin.sqlite]
    #[arg(long, env = "PROSODY_ADMIN_DATABASE", global = true)]
    pub database: Option<String>,
    /// PostgreSQL password, if the URL has none (better here, from the environment or
    /// the config file, than in the URL)
    #[arg(long, env = "PROSODY_ADMIN_DATABASE_PASSWORD", global = true, hide_env_values = true)]
    pub database_password: Option<String>,
    /// The VirtualHost administered [default: localhost]
    #[arg(long, env = "PROSODY_ADMIN_HOST", global = true)]
    pub host: Option<String>,
    /// Prosody version whose layout the database has: 0.12 or 13 [default: detected
    /// from the database; 13 for a new one]. A mismatch with the database is an error.
    #[arg(long, env = "PROSODY_ADMIN_PROSODY_VERSION", global = true)]
    pub prosody_version: Option<ProsodyVersion>,
    /// Log lines as plain text (`line`) or one JSON object each (`json`: time, level,
    /// target, message) for log collectors
    #[arg(long, env = "PROSODY_ADMIN_LOG_FORMAT", global = true, value_enum, default_value_t = LogFormat::Line)]
    pub log_format: LogFormat,
}

/// How log lines are written (stderr).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Line,
    Json,
}

/// Options of `serve`.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:5380]
    #[arg(long, env = "PROSODY_ADMIN_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// A second, plain-HTTP listener for monitoring only: /metrics (the service's
    /// OpenMetrics), /healthz, /readyz [default: none; the API serves them too]
    #[arg(long, env = "PROSODY_ADMIN_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Admin JIDs, comma-separated (as Prosody's `admins`)
    #[arg(long, env = "PROSODY_ADMIN_ADMINS", value_delimiter = ',')]
    pub admins: Option<Vec<String>>,
    /// Name shown by GET /server/info [default: the host]
    #[arg(long, env = "PROSODY_ADMIN_SITE_NAME")]
    pub site_name: Option<String>,
    /// Default lifetime of account invites, seconds [default: 604800]
    #[arg(long, env = "PROSODY_ADMIN_ACCOUNT_INVITE_TTL")]
    pub account_invite_ttl: Option<i64>,
    /// Default lifetime of reset invites, seconds [default: 86400]
    #[arg(long, env = "PROSODY_ADMIN_RESET_INVITE_TTL")]
    pub reset_invite_ttl: Option<i64>,
    /// Invite landing page template; {token}, {host}, {uri} are replaced
    #[arg(long, env = "PROSODY_ADMIN_LANDING_PAGE")]
    pub landing_page: Option<String>,
    /// MUC component hosting group chats [default: groups.<host>]
    #[arg(long, env = "PROSODY_ADMIN_GROUPS_MUC_HOST")]
    pub groups_muc_host: Option<String>,
    /// Largest request body accepted, bytes [default: 1048576]
    #[arg(long, env = "PROSODY_ADMIN_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Prosody's OpenMetrics endpoint (mod_http_openmetrics), for GET /server/metrics
    #[arg(long, env = "PROSODY_ADMIN_PROSODY_METRICS_URL")]
    pub prosody_metrics_url: Option<String>,
    /// JID of an external component (XEP-0114) Prosody accepts: the live path for announcements
    #[arg(long, env = "PROSODY_ADMIN_COMPONENT_JID")]
    pub component_jid: Option<String>,
    /// The component's secret (prefer the variable or the file: flags show in `ps`)
    #[arg(long, env = "PROSODY_ADMIN_COMPONENT_SECRET", hide_env_values = true)]
    pub component_secret: Option<String>,
    /// Prosody's component port [default: 127.0.0.1:5347]
    #[arg(long, env = "PROSODY_ADMIN_COMPONENT_ADDRESS")]
    pub component_address: Option<String>,
    /// Seconds a client has to send a request's headers (and the TLS handshake) [default: 10]
    #[arg(long, env = "PROSODY_ADMIN_HEADER_TIMEOUT")]
    pub header_timeout: Option<u64>,
    /// Seconds a client has to send a request's whole body [default: 30]
    #[arg(long, env = "PROSODY_ADMIN_BODY_TIMEOUT")]
    pub body_timeout: Option<u64>,
    /// Seconds an idle keep-alive connection stays open [default: 60]
    #[arg(long, env = "PROSODY_ADMIN_IDLE_TIMEOUT")]
    pub idle_timeout: Option<u64>,
    /// Connections served at once; more are refused with a 503 [default: 512]
    #[arg(long, env = "PROSODY_ADMIN_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Largest request head (request line and headers), bytes [default: 65536]
    #[arg(long, env = "PROSODY_ADMIN_MAX_HEADER_BYTES")]
    pub max_header_bytes: Option<usize>,
    /// Origins (scheme://host[:port]) whose browser pages may call the API (CORS),
    /// comma-separated; `*` for any [default: none]
    #[arg(long, env = "PROSODY_ADMIN_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Option<Vec<String>>,
    /// PEM certificate chain: serve HTTPS (reloaded with the key on SIGHUP)
    #[arg(long, env = "PROSODY_ADMIN_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of the certificate
    #[arg(long, env = "PROSODY_ADMIN_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Failed authentications from one client address before it gets 429 [default: 10]
    #[arg(long, env = "PROSODY_ADMIN_AUTH_FAILURE_LIMIT")]
    pub auth_failure_limit: Option<u32>,
    /// Seconds over which failed authentications are counted (and the longest wait) [default: 60]
    #[arg(long, env = "PROSODY_ADMIN_AUTH_FAILURE_WINDOW")]
    pub auth_failure_window: Option<u64>,
    /// Audit retention: entries older than this go (`90d`, `12h`, `30m`, `3600s` or
    /// seconds) [default: kept]
    #[arg(long, env = "PROSODY_ADMIN_AUDIT_MAX_AGE")]
    pub audit_max_age: Option<String>,
    /// Audit retention: only this many newest entries stay [default: all]
    #[arg(long, env = "PROSODY_ADMIN_AUDIT_MAX_ENTRIES")]
    pub audit_max_entries: Option<u64>,
    /// Reverse proxies whose Forwarded / X-Forwarded-For headers name the client:
    /// addresses or CIDRs, comma-separated [default: none]
    #[arg(long, env = "PROSODY_ADMIN_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Option<Vec<String>>,
}

/// The TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    prosody_config: Option<PathBuf>,
    prosody_socket: Option<PathBuf>,
    custom_roles: Option<Vec<String>>,
    database: Option<String>,
    database_password: Option<String>,
    prosody_version: Option<String>,
    host: Option<String>,
    listen: Option<SocketAddr>,
    metrics_listen: Option<SocketAddr>,
    admins: Option<Vec<String>>,
    site_name: Option<String>,
    account_invite_ttl: Option<i64>,
    reset_invite_ttl: Option<i64>,
    landing_page: Option<String>,
    groups_muc_host: Option<String>,
    max_body_bytes: Option<usize>,
    prosody_metrics_url: Option<String>,
    component_jid: Option<String>,
    component_secret: Option<String>,
    component_address: Option<String>,
    header_timeout: Option<u64>,
    body_timeout: Option<u64>,
    idle_timeout: Option<u64>,
    max_connections: Option<usize>,
    max_header_bytes: Option<usize>,
    cors_origins: Option<Vec<String>>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    auth_failure_limit: Option<u32>,
    auth_failure_window: Option<u64>,
    trusted_proxies: Option<Vec<String>>,
    audit_max_age: Option<String>,
    audit_max_entries: Option<u64>,
}

/// What the HTTP layer enforces (see `http` and `conn`).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub max_body_bytes: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_header_bytes: usize,
    /// Allowed CORS origins (`*`: any); empty: no cross-origin access.
    pub cors_origins: Vec<String>,
    pub tls: Option<TlsFiles>,
    pub auth_failure_limit: u32,
    pub auth_failure_window: Duration,
    /// Proxies whose forwarding headers name the client (see `client_addr`).
    pub trusted_proxies: TrustedProxies,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            max_body_bytes: DEFAULT_MAX_BODY,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 512,
            // Every URL the spec allows fits (e.g. a 1400-character cursor of 4-byte
            // characters, percent-encoded: about 17 KB), with room for headers.
            max_header_bytes: 64 * 1024,
            cors_origins: Vec::new(),
            tls: None,
            auth_failure_limit: 10,
            auth_failure_window: Duration::from_secs(60),
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// The certificate chain and key of the HTTPS listener.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Prosody's config file, when the settings came (partly) from it.
    pub prosody_config: Option<PathBuf>,
    /// Where each setting taken from a source other than a default came from, for the
    /// log: (setting, source).
    pub sources: Vec<(&'static str, String)>,
    pub database: Location,
    /// None: detect from the database (13 for a new one).
    pub prosody_version: Option<ProsodyVersion>,
    pub listen: SocketAddr,
    pub metrics_listen: Option<SocketAddr>,
    pub http: HttpSettings,
    pub settings: Settings,
}

impl Config {
    pub fn resolve(common: &Common, serve: &ServeArgs) -> Result<Config, String> {
        let file = match &common.config {
            Some(p) => read_file(p)?,
            None => File::default(),
        };
        let mut sources = Vec::new();
        let ours = |flag: bool| {
            if flag {
                "a flag or PROSODY_ADMIN_* variable".to_string()
            } else {
                "the TOML config".to_string()
            }
        };
        let pc_path = common.prosody_config.clone().or(file.prosody_config.clone());
        let pc = pc_path.as_deref().map(ProsodyConfig::load).transpose()?;
        let from_pc = || format!("the Prosody config {}", pc_path.as_deref().unwrap_or(Path::new("")).display());
        let wanted = common.host.clone().or(file.host.clone());
        let host = match (&pc, wanted) {
            (Some(pc), wanted) => {
                let h = pc.host(wanted.as_deref())?;
                sources.push(("host", from_pc()));
                h
            }
            (None, Some(h)) => {
                sources.push(("host", ours(common.host.is_some())));
                h
            }
            (None, None) => DEFAULT_HOST.to_string(),
        };
        if host.is_empty() || host.contains(['@', '/', ' ']) {
            return Err(format!("invalid host {host:?}"));
        }
        let mut settings = Settings::for_host(&host);
        if let Some(a) = serve.admins.clone().or(file.admins.clone()) {
            sources.push(("admins", ours(serve.admins.is_some())));
            settings.admins = a.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        } else if let Some(pc) = &pc {
            settings.admins = pc.admins(&host)?;
            sources.push(("admins", from_pc()));
        }
        if let Some(r) = common.custom_roles.clone().or(file.custom_roles.clone()) {
            sources.push(("custom_roles", ours(common.custom_roles.is_some())));
            settings.custom_roles = r.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        } else if let Some(pc) = &pc {
            settings.custom_roles = pc.custom_roles(&host)?;
            sources.push(("custom_roles", from_pc()));
        }
        for r in &settings.custom_roles {
            if r.len() > 1023 || r.chars().any(|c| c.is_control()) {
                return Err(format!("custom role {r:?}: 1 to 1023 characters, no control characters"));
            }
        }
        if let Some(pc) = &pc {
            settings.invites_page = pc.invites_page(&host)?;
            if let Some(s) = pc.invites_page_supports(&host)? {
                settings.invites_page_supports = s;
            }
            if settings.invites_page.is_some() {
                sources.push(("invites_page", from_pc()));
            }
            settings.admin_socket = Some(pc.admin_socket()?);
            sources.push(("prosody_socket", from_pc()));
        }
        if let Some(s) = common.prosody_socket.clone().or(file.prosody_socket.clone()) {
            sources.retain(|(n, _)| *n != "prosody_socket");
            sources.push(("prosody_socket", ours(common.prosody_socket.is_some())));
            settings.admin_socket = Some(s);
        }
        if let Some(s) = serve.site_name.clone().or(file.site_name) {
            settings.site_name = s;
        }
        if let Some(t) = serve.account_invite_ttl.or(file.account_invite_ttl) {
            settings.account_invite_ttl = positive("account_invite_ttl", t)?;
        }
        if let Some(t) = serve.reset_invite_ttl.or(file.reset_invite_ttl) {
            settings.reset_invite_ttl = positive("reset_invite_ttl", t)?;
        }
        settings.landing_page = serve.landing_page.clone().or(file.landing_page);
        if let Some(m) = serve.groups_muc_host.clone().or(file.groups_muc_host.clone()) {
            sources.push(("groups_muc_host", ours(serve.groups_muc_host.is_some())));
            settings.groups_muc_host = m;
        } else if let Some(m) = pc.as_ref().map(|pc| pc.groups_muc_host(&host)).transpose()?.flatten() {
            sources.push(("groups_muc_host", from_pc()));
            settings.groups_muc_host = m;
        }
        if let Some(u) = serve.prosody_metrics_url.clone().or(file.prosody_metrics_url) {
            if !u.starts_with("http://") {
                return Err(format!("prosody_metrics_url must be an http:// URL, not {u:?}"));
            }
            settings.metrics_url = Some(u);
        }
        if let Some(a) = serve.audit_max_age.clone().or(file.audit_max_age.clone()) {
            settings.audit_max_age = Some(duration("audit_max_age", &a)?);
        }
        if let Some(n) = serve.audit_max_entries.or(file.audit_max_entries) {
            if n == 0 {
                return Err("audit_max_entries must be positive".into());
            }
            settings.audit_max_entries = Some(n);
        }
        let jid = serve.component_jid.clone().or(file.component_jid);
        let secret = serve.component_secret.clone().or(file.component_secret);
        settings.component = match (jid, secret) {
            (Some(jid), Some(secret)) if !jid.is_empty() && !secret.is_empty() => Some(backend::settings::Component {
                jid,
                secret,
                address: serve
                    .component_address
                    .clone()
                    .or(file.component_address)
                    .unwrap_or_else(|| DEFAULT_COMPONENT_ADDRESS.to_string()),
            }),
            (None, None) => None,
            _ => return Err("component_jid and component_secret go together (both set and non-empty)".into()),
        };
        let d = HttpSettings::default();
        let secs = |name: &str, v: Option<u64>, default: Duration| match v {
            Some(0) => Err(format!("{name} must be positive")),
            Some(s) => Ok(Duration::from_secs(s)),
            None => Ok(default),
        };
        let tls = match (serve.tls_cert.clone().or(file.tls_cert), serve.tls_key.clone().or(file.tls_key)) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => return Err("tls_cert and tls_key go together".into()),
        };
        let cors_origins: Vec<String> = serve
            .cors_origins
            .clone()
            .or(file.cors_origins)
            .unwrap_or_default()
            .into_iter()
            .map(|o| o.trim().trim_end_matches('/').to_string())
            .filter(|o| !o.is_empty())
            .collect();
        for o in &cors_origins {
            if o != "*" && !(o.starts_with("https://") || o.starts_with("http://")) {
                return Err(format!("cors_origins: {o:?} is not an origin (scheme://host[:port]) or *"));
            }
        }
        let http = HttpSettings {
            max_body_bytes: serve.max_body_bytes.or(file.max_body_bytes).unwrap_or(d.max_body_bytes),
            header_timeout: secs("header_timeout", serve.header_timeout.or(file.header_timeout), d.header_timeout)?,
            body_timeout: secs("body_timeout", serve.body_timeout.or(file.body_timeout), d.body_timeout)?,
            idle_timeout: secs("idle_timeout", serve.idle_timeout.or(file.idle_timeout), d.idle_timeout)?,
            max_connections: serve.max_connections.or(file.max_connections).unwrap_or(d.max_connections),
            max_header_bytes: serve.max_header_bytes.or(file.max_header_bytes).unwrap_or(d.max_header_bytes),
            cors_origins,
            tls,
            auth_failure_limit: serve.auth_failure_limit.or(file.auth_failure_limit).unwrap_or(d.auth_failure_limit),
            auth_failure_window: secs(
                "auth_failure_window",
                serve.auth_failure_window.or(file.auth_failure_window),
                d.auth_failure_window,
            )?,
            trusted_proxies: TrustedProxies::parse(
                &serve.trusted_proxies.clone().or(file.trusted_proxies.clone()).unwrap_or_default(),
            )?,
        };
        if http.max_body_bytes == 0 {
            return Err("max_body_bytes must be positive".into());
        }
        if http.max_connections == 0 || http.auth_failure_limit == 0 {
            return Err("max_connections and auth_failure_limit must be positive".into());
        }
        // hyper's read buffer cannot be smaller than 8 KiB.
        if http.max_header_bytes < 8192 {
            return Err("max_header_bytes must be at least 8192".into());
        }
        let listen = match serve.listen.or(file.listen) {
            Some(l) => l,
            None => DEFAULT_LISTEN.parse().map_err(|e| format!("{e}"))?,
        };
        let prosody_version = match (common.prosody_version, file.prosody_version) {
            (Some(v), _) => Some(v),
            (None, Some(v)) => Some(v.parse::<ProsodyVersion>().map_err(|e| format!("prosody_version: {e}"))?),
            (None, None) => None,
        };
        let password = common.database_password.as_deref().or(file.database_password.as_deref());
        let database = match (common.database.clone().or(file.database.clone()), &pc) {
            (Some(d), _) => {
                sources.push(("database", ours(common.database.is_some())));
                Location::parse(&d).map_err(|e| format!("database: {e}"))?.with_password(password)
            }
            (None, Some(pc)) => {
                let location = match pc.storage(&host)? {
                    // Prosody creates its database when it first starts; a file that is
                    // not there is a wrong path, not a database to create.
                    Storage::Sqlite(p) if !p.is_file() => {
                        return Err(format!(
                            "{}: {host}'s SQLite database {} does not exist (has Prosody started with this config?)",
                            pc.path.display(),
                            p.display()
                        ))
                    }
                    Storage::Sqlite(p) => Location::Sqlite(p),
                    Storage::Postgres { host: h, port, database, username, password: pw } => Location::postgres(
                        h.as_deref(),
                        port,
                        &database,
                        username.as_deref(),
                        password.or(pw.as_deref()),
                    )
                    .map_err(|e| format!("database: {e}"))?,
                    Storage::Internal(data) if !data.is_dir() => {
                        return Err(format!(
                            "{}: {host}'s data is in Prosody's flat files (storage = \"internal\"), but {} is not \
                             a directory (has Prosody started with this config?)",
                            pc.path.display(),
                            data.display()
                        ))
                    }
                    Storage::Internal(data) => Location::Internal(data),
                };
                sources.push(("database", from_pc()));
                location
            }
            (None, None) => {
                Location::parse(DEFAULT_DATABASE).map_err(|e| format!("database: {e}"))?.with_password(password)
            }
        };
        Ok(Config {
            prosody_config: pc.as_ref().map(|p| p.path.clone()),
            sources,
            database,
            prosody_version,
            listen,
            metrics_listen: serve.metrics_listen.or(file.metrics_listen),
            http,
            settings,
        })
    }

    /// Where the bootstrap token is written: beside a SQLite database; in the working
    /// directory for PostgreSQL.
    pub fn token_file(&self) -> PathBuf {
        let dir = self.database.sqlite_path().and_then(Path::parent).filter(|d| !d.as_os_str().is_empty());
        dir.unwrap_or(Path::new(".")).join("admin-token")
    }
}

/// A duration: `90d`, `12h`, `30m`, `3600s` or plain seconds; positive.
fn duration(name: &str, s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: i64 = digits.parse().map_err(|_| format!("{name}: {s:?} is not a duration (e.g. 90d, 12h, 3600)"))?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("{name}: {s:?} is not a duration (e.g. 90d, 12h, 3600)")),
    };
    n.checked_mul(unit).filter(|v| *v > 0).ok_or_else(|| format!("{name} must be positive"))
}

fn positive(name: &str, v: i64) -> Result<i64, String> {
    if v > 0 {
        Ok(v)
    } else {
        Err(format!("{name} must be positive"))
    }
}

fn read_file(p: &Path) -> Result<File, String> {
    let text = std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_file_beat_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "host = \"example.org\"\nsite_name = \"From file\"\nadmins = [\"boss@example.org\"]\n")
            .unwrap();
        let common = Common { config: Some(f.clone()), ..Default::default() };
        let serve = ServeArgs { site_name: Some("From flag".into()), ..Default::default() };
        let c = Config::resolve(&common, &serve).unwrap();
        assert_eq!(c.settings.host, "example.org");
        assert_eq!(c.settings.site_name, "From flag");
        assert!(c.settings.is_config_admin("boss"));
        assert_eq!(c.settings.groups_muc_host, "groups.example.org");
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.token_file(), PathBuf::from("data/admin-token"));
        assert_eq!(c.prosody_version, None);
        std::fs::write(&f, "prosody_version = \"0.12\"\n").unwrap();
        assert_eq!(
            Config::resolve(&common, &ServeArgs::default()).unwrap().prosody_version,
            Some(ProsodyVersion::V0_12)
        );
        let flag = Common { prosody_version: Some(ProsodyVersion::V13), ..common.clone() };
        assert_eq!(Config::resolve(&flag, &ServeArgs::default()).unwrap().prosody_version, Some(ProsodyVersion::V13));
        std::fs::write(&f, "prosody_version = \"12.5\"\n").unwrap();
        assert!(Config::resolve(&common, &ServeArgs::default()).unwrap_err().contains("prosody_version"));
        // The exposure defaults: bounded, loopback, nothing cross-origin.
        let d = Config::resolve(&Common::default(), &ServeArgs::default()).unwrap();
        assert!(d.listen.ip().is_loopback());
        assert_eq!(d.http.body_timeout, Duration::from_secs(30));
        assert_eq!(d.http.header_timeout, Duration::from_secs(10));
        assert!(d.http.cors_origins.is_empty() && d.http.tls.is_none());
        std::fs::write(&f, "cors_origins = [\"https://admin.example/\", \"*\"]\nbody_timeout = 5\n").unwrap();
        let c = Config::resolve(&common, &ServeArgs::default()).unwrap();
        assert_eq!(c.http.cors_origins, ["https://admin.example", "*"]);
        assert_eq!(c.http.body_timeout, Duration::from_secs(5));
        for bad in
            ["cors_origins = [\"admin.example\"]", "body_timeout = 0", "tls_cert = \"c.pem\"", "max_header_bytes = 100"]
        {
            std::fs::write(&f, bad).unwrap();
            assert!(Config::resolve(&common, &ServeArgs::default()).is_err(), "{bad}");
        }
        std::fs::write(&f, "unknown_key = 1\n").unwrap();
        assert!(Config::resolve(&common, &ServeArgs::default()).unwrap_err().contains("unknown"));
    }
}

#[cfg(test)]
mod prosody_config_tests {
    use super::*;

    /// Prosody's config fills what flags, variables and our file leave unset, one
    /// option at a time, and each setting says where it came from.
    #[test]
    fn prosody_config_under_flags_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::write(data.join("prosody.sqlite"), b"").unwrap();
        let pc = dir.path().join("prosody.cfg.lua");
        std::fs::write(
            &pc,
            format!(
                "data_path = {:?}\nstorage = \"sql\"\nsql = {{ driver = \"SQLite3\" }}\nadmins = {{ \"op@example.org\" }}\n\
                 VirtualHost \"example.org\"\nadmins = {{ \"boss@example.org\" }}\ngroups_muc_host = \"rooms.example.org\"\n",
                data.display()
            ),
        )
        .unwrap();
        let toml = dir.path().join("c.toml");
        std::fs::write(
            &toml,
            format!("prosody_config = {:?}\ngroups_muc_host = \"chats.example.org\"\n", pc.display()),
        )
        .unwrap();
        let common = Common { config: Some(toml), ..Default::default() };
        let c = Config::resolve(&common, &ServeArgs::default()).unwrap();
        assert_eq!(c.settings.host, "example.org");
        assert_eq!(c.database.sqlite_path(), Some(data.join("prosody.sqlite").as_path()));
        assert_eq!(c.settings.admins, ["boss@example.org", "op@example.org"]);
        assert_eq!(c.settings.groups_muc_host, "chats.example.org", "our file wins");
        let source = |n: &str| c.sources.iter().find(|(k, _)| *k == n).map(|(_, s)| s.clone()).unwrap();
        assert!(source("admins").contains("prosody.cfg.lua"));
        assert_eq!(source("groups_muc_host"), "the TOML config");
        let serve = ServeArgs { admins: Some(vec!["flag@example.org".into()]), ..Default::default() };
        let c = Config::resolve(&common, &serve).unwrap();
        assert_eq!(c.settings.admins, ["flag@example.org"], "a flag wins");
        let flag = Common { database: Some(dir.path().join("other.sqlite").display().to_string()), ..common.clone() };
        let c = Config::resolve(&flag, &ServeArgs::default()).unwrap();
        assert_eq!(c.database.sqlite_path(), Some(dir.path().join("other.sqlite").as_path()));
        // A database the config names but that is not there: an error, nothing created.
        std::fs::remove_file(data.join("prosody.sqlite")).unwrap();
        let e = Config::resolve(&common, &ServeArgs::default()).unwrap_err();
        assert!(e.contains("does not exist"), "{e}");
        assert!(!data.join("prosody.sqlite").exists());
    }
}
