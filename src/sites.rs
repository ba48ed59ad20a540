//! The VirtualHosts one process serves, and which one a request is for.
//!
//! Prosody's HTTP server picks the host of a request by its `Host` header (the port
//! stripped; `net.http.server`): a host is reached under its own name, or under its
//! `http_host`; a `Host` naming no served host goes to `http_default_host` when that is
//! one, else gets 404. We do the same, with three differences a client would expect: the
//! name is case-folded (HTTP host names are case-insensitive; Prosody's are nameprepped,
//! so lower-case), a trusted proxy may name the host (`Forwarded: host=`,
//! `X-Forwarded-Host`), and a server of one host serves it whatever the `Host` (as
//! before there were several; a proxy or `curl http://127.0.0.1:5380` just works).
//!
//! Each host has its own [`Backend`] (settings, caches, token checks bound to it) on the
//! database its own config names; hosts naming one database share one engine and one
//! writer ([`Store::for_host`]). The set is swapped whole on reload ([`Server::reload`]):
//! a request runs on the set it started with.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use backend::storage::Location;
use backend::{Backend, ProsodyVersion, Shared, Store};
use hyper::header::{HeaderMap, HeaderValue, HOST};

use crate::config::Config;

/// Longest host name a request may carry (a DNS name is at most 253 characters).
pub const MAX_HOST: usize = 253;

/// The request header that names the VirtualHost where `Host` cannot (browsers).
pub const PROSODY_HOST: &str = "x-prosody-host";

/// One host served.
pub struct Site {
    pub backend: Backend,
    pub api: crate::http::Generated,
    /// `WWW-Authenticate` of its 401s.
    pub realm: HeaderValue,
}

impl Site {
    fn new(backend: Backend) -> Site {
        let realm = format!("Bearer realm=\"{}/admin_api\"", backend.settings().host);
        let realm = HeaderValue::from_str(&realm).unwrap_or(HeaderValue::from_static("Bearer"));
        let api = prosody_admin_api::server::Service::new(backend.clone(), false);
        Site { backend, api, realm }
    }

    pub fn host(&self) -> &str {
        &self.backend.settings().host
    }
}

/// The hosts served now.
pub struct Sites {
    /// By the name requests reach each under (its own, or its `http_host`).
    by_name: HashMap<String, Arc<Site>>,
    /// In the config's order.
    pub all: Vec<Arc<Site>>,
    /// Where a `Host` naming no served host goes (`http_default_host`, or the only host).
    default: Option<Arc<Site>>,
}

/// Why no host serves a request.
#[derive(Debug, PartialEq, Eq)]
pub enum NoSite {
    /// The `Host` cannot be a host name (400).
    Bad(String),
    /// It names no host served here (404).
    Unknown(String),
}

impl Sites {
    /// The host a request is for: the name a trusted proxy forwarded, else the `Host`.
    pub fn pick(&self, headers: &HeaderMap, forwarded: Option<&str>) -> Result<&Arc<Site>, NoSite> {
        // A browser cannot set `Host`: the console (and any client) names the VirtualHost
        // in `X-Prosody-Host` instead, one of those served (by its own name or the name it
        // is reached under). It selects no more than `Host` could: tokens are per host.
        let mut chosen = headers.get_all(PROSODY_HOST).iter();
        if let Some(v) = chosen.next() {
            if chosen.next().is_some() {
                return Err(NoSite::Bad(format!("more than one {PROSODY_HOST} header")));
            }
            let name = host_name(v.as_bytes())?;
            let site = self.by_name.get(&name).or_else(|| self.all.iter().find(|s| s.host() == name));
            return site.ok_or_else(|| {
                NoSite::Unknown(format!(
                    "no VirtualHost {name:?} is served here (this server serves: {})",
                    self.names().join(", ")
                ))
            });
        }
        let mut hosts = headers.get_all(HOST).iter();
        let host = hosts.next();
        if hosts.next().is_some() {
            return Err(NoSite::Bad("more than one Host header".into()));
        }
        let name = match forwarded {
            Some(f) => Some(host_name(f.as_bytes())?),
            None => host.map(|h| host_name(h.as_bytes())).transpose()?,
        };
        if let Some(site) = name.as_deref().and_then(|n| self.by_name.get(n)) {
            return Ok(site);
        }
        match (&self.default, name) {
            (Some(d), _) => Ok(d),
            (None, Some(n)) => Err(NoSite::Unknown(format!(
                "no VirtualHost {n:?} is served here (this server serves: {})",
                self.names().join(", ")
            ))),
            (None, None) => Err(NoSite::Bad("missing Host header".into())),
        }
    }

    /// The names hosts are reached under.
    pub fn names(&self) -> Vec<String> {
        let mut n: Vec<String> = self.by_name.keys().cloned().collect();
        n.sort();
        n
    }

    /// The first host (the one that answers what no host is asked for).
    pub fn first(&self) -> Option<&Arc<Site>> {
        self.all.first()
    }
}

/// A request's host name as a lookup key: the port stripped (as Prosody does), then
/// case-folded; refused when it is not text a host name can be, or too long.
pub fn host_name(raw: &[u8]) -> Result<String, NoSite> {
    let bad = |why: &str| NoSite::Bad(format!("invalid Host: {why}"));
    let text = std::str::from_utf8(raw).map_err(|_| bad("not ASCII text"))?.trim();
    // `name:port`, `[v6]:port`, `[v6]`: the port goes.
    let name = match text.rsplit_once(':') {
        Some((n, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && !n.ends_with(':') => {
            if n.starts_with('[') || !n.contains(':') {
                n
            } else {
                text
            }
        }
        _ => text,
    };
    if name.is_empty() {
        return Err(bad("empty"));
    }
    if name.len() > MAX_HOST {
        return Err(bad(&format!("longer than {MAX_HOST} characters")));
    }
    let literal = name.starts_with('[') && name.ends_with(']');
    let ok = |c: u8| {
        c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_') || (literal && matches!(c, b'[' | b']' | b':'))
    };
    if !name.bytes().all(ok) {
        return Err(bad("only letters, digits, '.', '-' and '_' (or an address in brackets)"));
    }
    Ok(name.to_ascii_lowercase())
}

/// The databases open, one engine each: hosts whose config names one database get
/// handles on its one engine (and writer), as Prosody's hosts share its connection.
#[derive(Default)]
pub struct Databases {
    open: Vec<(Location, Store)>,
}

impl Databases {
    /// `host`'s handle on the database at `location` (opened now if no host had it:
    /// then `true`). Blocking.
    pub fn handle(
        &mut self,
        location: &Location,
        host: &str,
        muc_host: &str,
        version: Option<ProsodyVersion>,
    ) -> Result<(Store, bool)> {
        if let Some((_, s)) = self.open.iter().find(|(l, _)| l.same_database(location)) {
            return Ok((s.for_host(host, muc_host), false));
        }
        let store = Store::open_at(location, host, muc_host, version).with_context(|| format!("{host}: {location}"))?;
        self.open.push((location.clone(), store.clone()));
        Ok((store, true))
    }
}

/// The hosts of a running server and what they share; swapped whole on reload.
pub struct Server {
    sites: RwLock<Arc<Sites>>,
    shared: Shared,
    /// The databases open now (a reload reuses the ones its hosts still name).
    databases: Mutex<Databases>,
    version: Option<ProsodyVersion>,
    write_share: Option<f64>,
}

/// How often the service looks for commits by other processes (Prosody, the CLI): the
/// longest time its read caches can lag behind them.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(10);

impl Server {
    /// The hosts `config` names, each on its database (opened here; blocking). `first`
    /// is a backend already open for the first host (the one the bootstrap used).
    pub fn start(config: &Config, first: Backend) -> Result<Server> {
        let shared = first.shared();
        let server = Server {
            sites: RwLock::new(Arc::new(Sites { by_name: HashMap::new(), all: Vec::new(), default: None })),
            shared,
            databases: Mutex::new(Databases { open: vec![(config.database.clone(), first.store().clone())] }),
            version: config.prosody_version,
            write_share: config.write_share,
        };
        server.serve_database(first.store())?;
        let sites = server.build(config, Some(first))?;
        if let Ok(mut s) = server.sites.write() {
            *s = Arc::new(sites);
        }
        Ok(server)
    }

    /// The hosts served now.
    pub fn sites(&self) -> Arc<Sites> {
        match self.sites.read() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Serves the hosts of `config` from now on (new requests; those running finish on
    /// the set they started with). Blocking: it may open databases. On error nothing
    /// changes. Returns the set replaced (drop it off the async runtime).
    pub fn reload(&self, config: &Config) -> Result<Arc<Sites>> {
        let sites = Arc::new(self.build(config, None)?);
        let old = match self.sites.write() {
            Ok(mut s) => std::mem::replace(&mut *s, sites.clone()),
            Err(_) => anyhow::bail!("the hosts' lock is poisoned"),
        };
        // Databases no host names any more close with the last request using them.
        if let Ok(mut dbs) = self.databases.lock() {
            dbs.open.retain(|(_, s)| sites.all.iter().any(|site| site.backend.store().same_database(s)));
        }
        Ok(old)
    }

    fn build(&self, config: &Config, mut first: Option<Backend>) -> Result<Sites> {
        let mut all = Vec::new();
        let mut by_name = HashMap::new();
        for h in &config.hosts {
            let backend = match first.take() {
                Some(b) if b.settings().host == h.settings.host => b,
                _ => {
                    let s = &h.settings;
                    let store = self.store_for(&h.database, &s.host, &s.groups_muc_host)?;
                    Backend::in_server(store, s.clone(), &self.shared)
                }
            };
            let site = Arc::new(Site::new(backend));
            by_name.insert(h.http_name().to_string(), site.clone());
            all.push(site);
        }
        let default = match &config.default_host {
            Some(d) => Some(
                by_name
                    .get(d)
                    .or_else(|| all.iter().find(|s| s.host() == d))
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("http_default_host {d:?} is not a host served here"))?,
            ),
            None if all.len() == 1 => all.first().cloned(),
            None => None,
        };
        Ok(Sites { by_name, all, default })
    }

    /// `host`'s handle on the database at `location`: the engine already open there, or
    /// a new one (its watch started).
    fn store_for(&self, location: &Location, host: &str, muc_host: &str) -> Result<Store> {
        let mut dbs = self.databases.lock().map_err(|_| anyhow::anyhow!("the databases' lock is poisoned"))?;
        let (store, new) = dbs.handle(location, host, muc_host, self.version)?;
        if new {
            log::info!("{host}: {location}, Prosody {} layout", store.version());
            self.serve_database(&store)?;
        }
        Ok(store)
    }

    /// What a database the server opens gets: the watch for other processes' commits,
    /// and the writer's share of it.
    fn serve_database(&self, store: &Store) -> Result<()> {
        store.watch(WATCH_INTERVAL)?;
        store.set_write_share(self.write_share);
        Ok(())
    }

    /// The server's metrics registry (every host's, and the requests no host answered).
    pub fn metrics(&self) -> Arc<backend::metrics::Metrics> {
        self.shared.metrics.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_as_prosody_strips_them() {
        assert_eq!(host_name(b"Example.ORG:5280").unwrap(), "example.org");
        assert_eq!(host_name(b"localhost").unwrap(), "localhost");
        assert_eq!(host_name(b"[::1]:5380").unwrap(), "[::1]");
        assert_eq!(host_name(b"127.0.0.1:5380").unwrap(), "127.0.0.1");
        for bad in [&b""[..], b"a b", b"a\x00b", b"caf\xc3\xa9.example", b"a/b", b"a@b", b"x\xff"] {
            assert!(matches!(host_name(bad), Err(NoSite::Bad(_))), "{bad:?}");
        }
        assert!(host_name("x".repeat(MAX_HOST).as_bytes()).is_ok());
        assert!(matches!(host_name("x".repeat(MAX_HOST + 1).as_bytes()), Err(NoSite::Bad(_))));
    }
}
