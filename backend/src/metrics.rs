//! The service's own metrics, rendered in the OpenMetrics text format for
//! `GET /service/metrics`: requests by operation and status, latency histograms by
//! operation, response-cache hits and misses, throttled requests, and the storage
//! counters ([`crate::storage::stats`]). Labels are the VirtualHost asked, operation ids
//! and status codes only: no usernames, ids or tokens. One registry serves every host of
//! the server; each host records into its own table (no lock shared between hosts).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::storage::stats::Snapshot;

/// Upper bounds of the latency buckets, seconds.
const BUCKETS: [f64; 10] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5];
/// The operation label of requests no operation answered (unknown paths).
pub const NO_OPERATION: &str = "none";

#[derive(Default)]
struct OpStats {
    statuses: BTreeMap<u16, u64>,
    /// Requests at or under each bucket's bound (not cumulative; summed when rendered).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The registry; one per service, shared by its hosts.
#[derive(Default)]
pub struct Metrics {
    /// Each host's table, by name; a host removed by a reload keeps its series
    /// (counters never go back).
    hosts: RwLock<BTreeMap<String, Arc<HostOps>>>,
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    pub throttled: AtomicU64,
}

/// One host's requests: one lock per operation (fixed set, from the spec), so requests
/// of different operations never wait for each other here.
pub struct HostOps {
    ops: Vec<(&'static str, Mutex<OpStats>)>,
}

impl Default for HostOps {
    fn default() -> Self {
        let mut names = crate::contract::operation_ids();
        names.push(NO_OPERATION);
        names.sort_unstable();
        names.dedup();
        HostOps { ops: names.into_iter().map(|n| (n, Mutex::new(OpStats::default()))).collect() }
    }
}

impl HostOps {
    /// Counts one answered request.
    pub fn record(&self, operation: &str, status: u16, seconds: f64) {
        let Ok(i) = self.ops.binary_search_by(|(n, _)| (*n).cmp(operation)) else { return };
        let Ok(mut s) = self.ops[i].1.lock() else { return };
        *s.statuses.entry(status).or_insert(0) += 1;
        if let Some(b) = BUCKETS.iter().position(|b| seconds <= *b) {
            s.buckets[b] += 1;
        }
        s.count += 1;
        s.sum += seconds;
    }
}

/// What the build info carries.
pub struct Build<'a> {
    pub version: &'a str,
    pub spec_version: &'a str,
    pub prosody_layout: &'a str,
}

/// The live path's figures (see `live`), when one is configured.
pub struct LiveFigures {
    pub up: bool,
    pub calls: u64,
    pub failures: u64,
}

impl Metrics {
    /// The table `host` records into (made on first use, kept across reloads).
    pub fn host(&self, host: &str) -> Arc<HostOps> {
        if let Some(t) = self.hosts.read().ok().and_then(|h| h.get(host).cloned()) {
            return t;
        }
        match self.hosts.write() {
            Ok(mut h) => h.entry(host.to_string()).or_default().clone(),
            Err(_) => Arc::new(HostOps::default()),
        }
    }

    pub fn render(&self, storage: Snapshot, build: Build<'_>, live: Option<LiveFigures>) -> String {
        let mut out = String::with_capacity(8192);
        let counter = |out: &mut String, name: &str, help: &str, v: String| {
            let _ = write!(out, "# TYPE {name} counter\n# HELP {name} {help}\n{name}_total {v}\n");
        };
        let _ = write!(
            out,
            "# TYPE prosody_admin_requests counter\n# HELP prosody_admin_requests Requests answered, by operation and status.\n"
        );
        let hosts: Vec<(String, Arc<HostOps>)> = match self.hosts.read() {
            Ok(h) => h.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Err(_) => Vec::new(),
        };
        for (host, table) in &hosts {
            let host = label(host);
            for (op, s) in &table.ops {
                let Ok(s) = s.lock() else { continue };
                for (status, n) in &s.statuses {
                    let _ = writeln!(
                        out,
                        "prosody_admin_requests_total{{host=\"{host}\",operation=\"{op}\",status=\"{status}\"}} {n}"
                    );
                }
            }
        }
        let _ = write!(
            out,
            "# TYPE prosody_admin_request_duration_seconds histogram\n# HELP prosody_admin_request_duration_seconds Time to answer, by operation.\n# UNIT prosody_admin_request_duration_seconds seconds\n"
        );
        for (host, table) in &hosts {
            let host = label(host);
            for (op, s) in &table.ops {
                let Ok(s) = s.lock() else { continue };
                if s.count == 0 {
                    continue;
                }
                let mut cumulative = 0;
                for (bound, n) in BUCKETS.iter().zip(s.buckets.iter()) {
                    cumulative += n;
                    let _ = writeln!(
                    out,
                    "prosody_admin_request_duration_seconds_bucket{{host=\"{host}\",operation=\"{op}\",le=\"{bound}\"}} {cumulative}"
                );
                }
                let _ = writeln!(
                out,
                "prosody_admin_request_duration_seconds_bucket{{host=\"{host}\",operation=\"{op}\",le=\"+Inf\"}} {}\n\
                 prosody_admin_request_duration_seconds_sum{{host=\"{host}\",operation=\"{op}\"}} {}\n\
                 prosody_admin_request_duration_seconds_count{{host=\"{host}\",operation=\"{op}\"}} {}",
                s.count, s.sum, s.count
            );
            }
        }
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
        counter(
            &mut out,
            "prosody_admin_response_cache_hits",
            "Answers served from the response cache.",
            load(&self.cache_hits),
        );
        counter(
            &mut out,
            "prosody_admin_response_cache_misses",
            "Cacheable requests built afresh.",
            load(&self.cache_misses),
        );
        counter(
            &mut out,
            "prosody_admin_throttled_requests",
            "Requests answered 429 (failed authentications).",
            load(&self.throttled),
        );
        counter(
            &mut out,
            "prosody_admin_pool_acquires",
            "Database connections taken from the pool.",
            storage.pool_acquires.to_string(),
        );
        let _ = write!(
            out,
            "# TYPE prosody_admin_pool_wait_seconds counter\n# HELP prosody_admin_pool_wait_seconds Time spent waiting for a pooled connection.\n# UNIT prosody_admin_pool_wait_seconds seconds\nprosody_admin_pool_wait_seconds_total {}\n",
            storage.pool_wait_seconds
        );
        counter(
            &mut out,
            "prosody_admin_database_busy_retries",
            "SQLite busy retries (another connection held the lock).",
            storage.busy_retries.to_string(),
        );
        counter(
            &mut out,
            "prosody_admin_commits",
            "Write transactions committed (group commit).",
            storage.commits.to_string(),
        );
        counter(&mut out, "prosody_admin_writes", "Writes run in them.", storage.writes.to_string());
        counter(
            &mut out,
            "prosody_admin_split_listings",
            "Large user listings read on two database connections in one snapshot.",
            storage.split_listings.to_string(),
        );
        counter(
            &mut out,
            "prosody_admin_unsplit_listings",
            "Large user listings read on one connection: the snapshot could not be shared.",
            storage.unsplit_listings.to_string(),
        );
        if let Some(l) = live {
            counter(
                &mut out,
                "prosody_admin_live_calls",
                "Calls to Prosody's admin socket (the live path).",
                l.calls.to_string(),
            );
            counter(
                &mut out,
                "prosody_admin_live_failures",
                "Calls to Prosody's admin socket that failed.",
                l.failures.to_string(),
            );
            let _ = write!(
                out,
                "# TYPE prosody_admin_live_up gauge\n# HELP prosody_admin_live_up Whether the last call to Prosody's admin socket succeeded.\nprosody_admin_live_up {}\n",
                u8::from(l.up)
            );
        }
        let _ = write!(
            out,
            "# TYPE prosody_admin_build info\n# HELP prosody_admin_build The running build.\nprosody_admin_build_info{{version=\"{}\",spec_version=\"{}\",prosody_layout=\"{}\"}} 1\n# EOF\n",
            build.version, build.spec_version, build.prosody_layout
        );
        out
    }
}

/// A label value as the text format escapes it (a host name is the operator's text).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
