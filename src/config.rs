//! The resolved configuration: the settings ([`crate::options`], each declared once and
//! layered flag > variable > TOML file > Prosody's config > default) turned into what the
//! service runs with, and the checks that span several settings (pairs that go together,
//! defaults derived from the host).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Result};
use backend::storage::Location;
use backend::{ProsodyVersion, Settings};

use crate::client_addr::TrustedProxies;
use crate::options::Options;

/// The account the first start creates on an empty database.
pub const BOOTSTRAP_ADMIN: &str = "admin";

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
    /// Prosody's HTTP server, where paths outside `/admin_api` go (see `forward`).
    pub prosody_http: Option<crate::forward::Forward>,
}

/// The certificate chain and key of the HTTPS listener.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// One VirtualHost served: what the backend runs it with, its database, and the name
/// HTTP requests reach it under.
#[derive(Debug, Clone)]
pub struct HostConfig {
    pub settings: Settings,
    pub database: Location,
    /// Prosody's `http_host`: the `Host` that reaches it (None: its own name).
    pub http_host: Option<String>,
}

impl HostConfig {
    /// The name a request's `Host` must carry to reach this host.
    pub fn http_name(&self) -> &str {
        self.http_host.as_deref().unwrap_or(&self.settings.host)
    }
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Prosody's config file, when the settings came (partly) from it.
    pub prosody_config: Option<PathBuf>,
    /// The first host's database and settings (the command line's tasks act on it).
    pub database: Location,
    /// None: detect from the database (13 for a new one).
    pub prosody_version: Option<ProsodyVersion>,
    pub listen: SocketAddr,
    pub metrics_listen: Option<SocketAddr>,
    pub http: HttpSettings,
    pub settings: Settings,
    /// Every host served, the first one first (the same as `settings`/`database`).
    pub hosts: Vec<HostConfig>,
    /// Where a request whose `Host` names no served host goes (`http_default_host`).
    pub default_host: Option<String>,
    /// The writer's share of each database's time (`write_share`); None: the engine's.
    pub write_share: Option<f64>,
}

impl Config {
    /// The configuration the options give.
    pub fn from_options(o: &Options, prosody_config: Option<PathBuf>) -> Result<Config> {
        Config::from_hosts(std::slice::from_ref(o), prosody_config)
    }

    /// The configuration of a server of several hosts, one [`Options`] each (the
    /// settings of the whole server are the same in each: the first one's are taken).
    pub fn from_hosts(all: &[Options], prosody_config: Option<PathBuf>) -> Result<Config> {
        let Some(o) = all.first() else { bail!("no host to serve") };
        let mut hosts = all.iter().map(host_config).collect::<Result<Vec<_>>>()?;
        let served: Vec<String> = hosts.iter().map(|h| h.settings.host.clone()).collect();
        for h in &mut hosts {
            h.settings.served_hosts = served.clone();
        }
        let mut names = std::collections::HashSet::new();
        for h in &hosts {
            if !names.insert(h.http_name().to_string()) {
                bail!("two hosts are reached under one HTTP name {:?} (http_host)", h.http_name());
            }
        }
        let default_host = o.http_default_host.as_ref().map(|h| h.0.clone());
        let tls = match (&o.tls_cert, &o.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert: cert.clone(), key: key.clone() }),
            (None, None) => None,
            _ => bail!("tls_cert and tls_key go together"),
        };
        // hyper's read buffer cannot be smaller than 8 KiB.
        if o.max_header_bytes.0 < 8192 {
            bail!("max_header_bytes must be at least 8192");
        }
        let http = HttpSettings {
            max_body_bytes: o.max_body_bytes.0,
            header_timeout: o.header_timeout.0,
            body_timeout: o.body_timeout.0,
            idle_timeout: o.idle_timeout.0,
            max_connections: o.max_connections.0,
            max_header_bytes: o.max_header_bytes.0,
            cors_origins: o.cors_origins.0.clone(),
            tls,
            auth_failure_limit: o.auth_failure_limit.0,
            auth_failure_window: o.auth_failure_window.0,
            trusted_proxies: o.trusted_proxies.clone(),
            prosody_http: o.prosody_http.as_ref().map(|u| crate::forward::Forward::parse(&u.0)).transpose()?,
        };
        Ok(Config {
            prosody_config,
            database: hosts[0].database.clone(),
            prosody_version: o.prosody_version,
            listen: o.listen,
            metrics_listen: o.metrics_listen,
            http,
            settings: hosts[0].settings.clone(),
            hosts,
            default_host,
            write_share: o.write_share.map(|s| s.0),
        })
    }

    /// Where the bootstrap token is written: beside a SQLite database; in the working
    /// directory for PostgreSQL.
    pub fn token_file(&self) -> PathBuf {
        let dir = self.database.sqlite_path().and_then(Path::parent).filter(|d| !d.as_os_str().is_empty());
        dir.unwrap_or(Path::new(".")).join("admin-token")
    }
}

/// One host's settings and database, from its options.
fn host_config(o: &Options) -> Result<HostConfig> {
    let host = o.host.0.clone();
    if host.is_empty() || host.contains(['@', '/', ' ']) {
        bail!("invalid host {host:?}");
    }
    let mut settings = Settings::for_host(&host);
    settings.admins = o.admins.clone();
    settings.custom_roles = o.custom_roles.clone();
    for r in &settings.custom_roles {
        if r.len() > 1023 || r.chars().any(|c| c.is_control()) {
            bail!("custom role {r:?}: 1 to 1023 characters, no control characters");
        }
    }
    settings.invites_page = o.invites_page.clone();
    settings.invites_page_supports = o.invites_page_supports.clone();
    settings.admin_socket = o.prosody_socket.clone();
    if let Some(s) = &o.site_name {
        settings.site_name = s.clone();
    }
    settings.account_invite_ttl = o.account_invite_ttl.0;
    settings.reset_invite_ttl = o.reset_invite_ttl.0;
    settings.console = o.console.0;
    settings.console_session_ttl = o.console_session_ttl.0;
    settings.landing_page = o.landing_page.clone();
    if let Some(m) = &o.groups_muc_host {
        settings.groups_muc_host = m.clone();
    }
    settings.metrics_url = o.prosody_metrics_url.as_ref().map(|u| u.0.clone());
    settings.audit_max_age = o.audit_max_age.map(|a| a.0);
    settings.audit_max_entries = o.audit_max_entries.map(|n| n.0);
    settings.component = match (&o.component_jid, &o.component_secret) {
        (Some(jid), Some(secret)) if !jid.is_empty() && !secret.0.is_empty() => Some(backend::settings::Component {
            jid: jid.clone(),
            secret: secret.0.clone(),
            address: o.component_address.clone(),
        }),
        (None, None) => None,
        _ => bail!("component_jid and component_secret go together (both set and non-empty)"),
    };
    let database = o.database.clone().with_password(o.database_password.as_ref().map(|p| p.0.as_str()));
    Ok(HostConfig { settings, database, http_host: o.http_host.as_ref().map(|h| h.0.clone()) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::resolve;

    fn config(args: &[&str]) -> anyhow::Result<Config> {
        resolve([&["prosody-admin"], args].concat()).map(|(_, c)| c)
    }

    #[test]
    fn flags_beat_file_beat_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        let fs = f.to_str().unwrap();
        std::fs::write(&f, "host = \"example.org\"\nsite_name = \"From file\"\nadmins = [\"boss@example.org\"]\n")
            .unwrap();
        let c = config(&["--config", fs, "serve", "--site-name", "From flag"]).unwrap();
        assert_eq!(c.settings.host, "example.org");
        assert_eq!(c.settings.site_name, "From flag");
        assert!(c.settings.is_config_admin("boss"));
        assert_eq!(c.settings.groups_muc_host, "groups.example.org");
        assert_eq!(c.listen.to_string(), "127.0.0.1:5380");
        assert_eq!(c.token_file(), PathBuf::from("data/admin-token"));
        assert_eq!(c.prosody_version, None);
        std::fs::write(&f, "prosody_version = \"0.12\"\n").unwrap();
        assert_eq!(config(&["--config", fs, "serve"]).unwrap().prosody_version, Some(ProsodyVersion::V0_12));
        let flag = config(&["--config", fs, "--prosody-version", "13", "serve"]).unwrap();
        assert_eq!(flag.prosody_version, Some(ProsodyVersion::V13));
        std::fs::write(&f, "prosody_version = \"12.5\"\n").unwrap();
        assert!(config(&["--config", fs, "serve"]).unwrap_err().to_string().contains("prosody_version"));
        // The exposure defaults: bounded, loopback, nothing cross-origin.
        let d = config(&["serve"]).unwrap();
        assert!(d.listen.ip().is_loopback());
        assert_eq!(d.http.body_timeout, Duration::from_secs(30));
        assert_eq!(d.http.header_timeout, Duration::from_secs(10));
        assert!(d.http.cors_origins.is_empty() && d.http.tls.is_none());
        std::fs::write(&f, "cors_origins = [\"https://admin.example/\", \"*\"]\nbody_timeout = 5\n").unwrap();
        let c = config(&["--config", fs, "serve"]).unwrap();
        assert_eq!(c.http.cors_origins, ["https://admin.example", "*"]);
        assert_eq!(c.http.body_timeout, Duration::from_secs(5));
        for bad in
            ["cors_origins = [\"admin.example\"]", "body_timeout = 0", "tls_cert = \"c.pem\"", "max_header_bytes = 100"]
        {
            std::fs::write(&f, bad).unwrap();
            assert!(config(&["--config", fs, "serve"]).is_err(), "{bad}");
        }
        std::fs::write(&f, "unknown_key = 1\n").unwrap();
        assert!(config(&["--config", fs, "serve"]).unwrap_err().to_string().contains("unknown"));
    }

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
        let ts = toml.to_str().unwrap();
        let (o, c) = resolve(["prosody-admin", "--config", ts, "serve"]).unwrap();
        assert_eq!(c.settings.host, "example.org");
        assert_eq!(c.database.sqlite_path(), Some(data.join("prosody.sqlite").as_path()));
        assert_eq!(c.settings.admins, ["boss@example.org", "op@example.org"]);
        assert_eq!(c.settings.groups_muc_host, "chats.example.org", "our file wins");
        assert!(o.sources["admins"].to_string().contains("prosody.cfg.lua"));
        assert_eq!(o.sources["groups_muc_host"], crate::options::Source::Toml(toml.clone()));
        let c = config(&["--config", ts, "serve", "--admins", "flag@example.org"]).unwrap();
        assert_eq!(c.settings.admins, ["flag@example.org"], "a flag wins");
        let other = dir.path().join("other.sqlite");
        let c = config(&["--config", ts, "--database", other.to_str().unwrap(), "serve"]).unwrap();
        assert_eq!(c.database.sqlite_path(), Some(other.as_path()));
        // A database the config names but that is not there: an error, nothing created.
        std::fs::remove_file(data.join("prosody.sqlite")).unwrap();
        let e = config(&["--config", ts, "serve"]).unwrap_err().to_string();
        assert!(e.contains("does not exist"), "{e}");
        assert!(!data.join("prosody.sqlite").exists());
    }
}
