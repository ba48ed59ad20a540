//! prosody-admin's backend: the hand-written implementation of the `Api` trait that
//! openapi-generator derives from `api-spec/openapi.yaml`, on Prosody's own storage
//! (0.12's or 13's layout) on one of three engines: a SQLite file, PostgreSQL, or
//! Prosody's flat files; and the live path that tells the running Prosody through its
//! admin socket what was committed.
//!
//! Module map:
//! - [`api`]: the generated `Api` trait, implemented by [`Backend`]: maps each
//!   operation's outcome onto the response enum the spec declares.
//! - [`auth`]: bearer-token checks (401 vs 403), used by the HTTP layer before the
//!   generated router runs.
//! - [`users`], [`groups`], [`invites`], [`debug`], [`accounts`], [`tokens`]: one
//!   domain each; rules (validation, invite semantics, id generation) live here.
//! - [`audit`]: the audit log (a store of our own in the same database), recorded in
//!   the transaction of the write it describes ([`Backend::write`] hands the request's
//!   record to the storage layer with each write).
//! - [`landing`]: invite landing pages (ours, or Prosody's `invites_page` rendered as
//!   mod_invites renders it).
//! - [`paging`]: pages of the listings (limit, opaque cursor) and their JSON written
//!   straight from rows.
//! - [`cache`]: read caches invalidated by any commit, ours or Prosody's.
//! - [`storage`]: shaped like Prosody's store API: a [`Db`] context hands out one typed
//!   handle per Prosody store; layout profiles for Prosody 0.12 and 13; one engine per
//!   backend (SQLite, PostgreSQL, flat files: the only SQL, driver and file code); group
//!   commit; every call off the async runtime. It knows nothing of requests.
//! - [`lua`]: the one Lua sandbox and the one escaper; Lua data as Prosody's flat files
//!   hold it (util.serialization's output), for the `internal` engine.
//! - [`values`], [`xml`], [`scram`], [`token`], [`ids`], [`username`]: Prosody's
//!   encodings (typed values, XML payloads and stanzas through quick-xml, SCRAM-SHA-1,
//!   token strings, util.id, nodeprep).
//! - [`server`]: server metrics and announcements; [`openmetrics`] reads Prosody's
//!   metrics endpoint, [`component`] reaches Prosody as an XEP-0114 component, [`live`]
//!   through its admin socket (events after our changes, live sessions).
//! - [`metrics`]: the service's own metrics (OpenMetrics).
//! - [`docs`]: the documentation page (Swagger UI, vendored).
//! - [`console`]: the web console's files and its password sign-in.
//! - [`contract`]: the embedded spec, served as YAML and JSON.
//! - [`settings`], [`error`]: configuration and the error body.

pub mod accounts;
pub mod api;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod component;
pub mod console;
pub mod contract;
pub mod debug;
pub mod docs;
pub mod error;
pub mod groups;
pub mod ids;
pub mod invites;
pub mod landing;
pub mod live;
pub mod lua;
pub mod metrics;
pub mod openmetrics;
pub mod paging;
pub mod scram;
pub mod server;
pub mod settings;
pub mod storage;
pub mod token;
pub mod tokens;
pub mod username;
pub mod users;
pub mod values;
pub mod xml;

use std::sync::Arc;

pub use error::Failure;
pub use settings::Settings;
pub use storage::{Db, ProsodyVersion, Store};

/// The service's state: the database and the settings. Cheap to clone.
#[derive(Clone)]
pub struct Backend {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    settings: Settings,
    caches: Caches,
    /// The server's registry (shared by its hosts) and this host's table in it.
    metrics: Arc<metrics::Metrics>,
    requests: Arc<metrics::HostOps>,
    /// What it shares with the other hosts of its server.
    shared: Shared,
    /// The audit record of a command-line invocation: its writes are audited as the
    /// API's are (see [`Backend::for_cli`]).
    cli: Option<Arc<audit::Pending>>,
    /// Prosody's admin socket, when known (see [`live`]).
    live: Option<Arc<live::Live>>,
}

/// What the hosts of one server share: the metrics registry, and one live path per
/// admin socket (its status and counters are the socket's, whichever host calls).
#[derive(Clone, Default)]
pub struct Shared {
    pub metrics: Arc<metrics::Metrics>,
    lives: Arc<std::sync::Mutex<Vec<Arc<live::Live>>>>,
}

impl Shared {
    /// The live path through the admin socket at `path` (one per socket).
    fn live(&self, path: std::path::PathBuf) -> Arc<live::Live> {
        let Ok(mut lives) = self.lives.lock() else { return Arc::new(live::Live::new(path)) };
        if let Some(l) = lives.iter().find(|l| l.socket() == path) {
            return l.clone();
        }
        let l = Arc::new(live::Live::new(path));
        lives.push(l.clone());
        l
    }
}

/// What the hot read paths keep (see [`cache`]).
#[derive(Default)]
pub(crate) struct Caches {
    /// Bearer token string → caller and the token's expiry.
    pub auth: cache::GenCache<String, (auth::Caller, Option<i64>)>,
    /// Every stored invite, expired ones included (filtered on use), oldest first.
    pub invites: cache::GenCache<(), Arc<invites::AllInvites>>,
}

impl Backend {
    /// The service's backend of one host. With audit retention configured, the writer
    /// prunes the log after each batch (see [`audit::Retention`]).
    pub fn new(store: Store, settings: Settings) -> Backend {
        Self::with_cli(store, settings, None, Shared::default())
    }

    /// The backend of one host of a server that serves several: the metrics registry
    /// and the live paths are the server's (see [`Shared`]).
    pub fn in_server(store: Store, settings: Settings, shared: &Shared) -> Backend {
        Self::with_cli(store, settings, None, shared.clone())
    }

    /// The backend of one command-line invocation: its writes carry `record` into the
    /// audit log (the first write that commits, as a request's).
    pub fn for_cli(store: Store, settings: Settings, record: audit::AuditRecord) -> Backend {
        Self::with_cli(store, settings, Some(audit::Pending::new(record)), Shared::default())
    }

    fn with_cli(store: Store, settings: Settings, cli: Option<Arc<audit::Pending>>, shared: Shared) -> Backend {
        if settings.audit_max_age.is_some() || settings.audit_max_entries.is_some() {
            let r = audit::Retention { max_age: settings.audit_max_age, max_entries: settings.audit_max_entries };
            if let Err(e) = store.set_maintenance(Arc::new(r)) {
                log::warn!("audit retention: {e}");
            }
        }
        let live = settings.admin_socket.clone().map(|p| shared.live(p));
        let requests = shared.metrics.host(&settings.host);
        let metrics = shared.metrics.clone();
        Backend {
            inner: Arc::new(Inner { store, settings, caches: Caches::default(), metrics, requests, shared, cli, live }),
        }
    }

    /// What this backend shares with the other hosts of its server (for the next host's
    /// [`Backend::in_server`]).
    pub fn shared(&self) -> Shared {
        self.inner.shared.clone()
    }

    /// Counts one answered request of this host.
    pub fn record(&self, operation: &str, status: u16, seconds: f64) {
        self.inner.requests.record(operation, status, seconds);
    }

    /// The live path to Prosody (its admin socket), if one is configured.
    pub fn live(&self) -> Option<&Arc<live::Live>> {
        self.inner.live.as_ref()
    }

    /// Tells a running Prosody of a committed change, as its own path would have told
    /// itself (mod_c2s ends the sessions it ends for its own; loaded rooms and online
    /// rosters follow group changes; see [`live::Step`]). In the background, bounded by
    /// [`live::TIMEOUT`]: the change is committed whatever comes of it; the outcome is
    /// logged and counted. A command-line invocation waits for it.
    pub(crate) async fn tell_prosody(&self, step: live::Step) {
        let Some(live) = self.live().cloned() else { return };
        let (host, muc_host) = (self.settings().host.clone(), self.settings().groups_muc_host.clone());
        let run = async move {
            let out = match &step {
                live::Step::User(event, username) => {
                    live.user_event(*event, username, &host).await.map(|()| String::new())
                }
                live::Step::Group(change) => live.group_change(change, &host, &muc_host).await,
            };
            match out {
                Ok(done) => log::debug!("live: {step:?} told to Prosody {done}"),
                Err(e) => log::info!("live: {step:?} not told to Prosody: {e}"),
            }
        };
        // The command line waits for it (its runtime ends with the command); the
        // service does not.
        match tokio::runtime::Handle::try_current() {
            Ok(h) if self.inner.cli.is_none() => {
                h.spawn(run);
            }
            _ => run.await,
        }
    }

    /// The audit record of this command-line invocation, if it is one.
    pub(crate) fn cli_record(&self) -> Option<Arc<audit::Pending>> {
        self.inner.cli.clone()
    }

    pub(crate) fn caches(&self) -> &Caches {
        &self.inner.caches
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The service's own metrics (the HTTP layer records into them).
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    /// `GET /service/metrics`, rendered.
    pub fn render_metrics(&self) -> String {
        let layout = self.store().version().to_string();
        self.metrics().render(
            self.store().stats(),
            metrics::Build {
                version: env!("CARGO_PKG_VERSION"),
                spec_version: contract::spec_version(),
                prosody_layout: &layout,
            },
            self.live().map(|l| metrics::LiveFigures {
                up: l.is_up(),
                calls: l.calls.load(std::sync::atomic::Ordering::Relaxed),
                failures: l.failures.load(std::sync::atomic::Ordering::Relaxed),
            }),
        )
    }
}

/// Seconds a read that shows who is online (see [`users::Presence`]) may be served
/// from the response cache.
pub const PRESENCE_TTL: i64 = 1;

/// Seconds since the Unix epoch. A clock before 1970 is an error, not time zero (which
/// would make every token and invite look expired, or unexpired, at random).
pub fn now() -> Result<i64, Failure> {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| Failure::Internal(format!("system clock is before 1970: {e}")))?;
    i64::try_from(d.as_secs()).map_err(|e| Failure::Internal(format!("system clock out of range: {e}")))
}
