//! The engine conformance suite: the behaviour every engine must have, written once and
//! run against SQLite, Prosody's flat files and PostgreSQL, each on Prosody 13's and
//! 0.12's layout. An engine is done when this suite passes for it (ARCHITECTURE.md,
//! "How to add an engine"): add one arm to [`fresh`] and one line to the list at the end.
//!
//! What it checks:
//! - every [`Rows`] primitive (keyval, map, archive, purge) inside a write transaction
//!   and, after the commit, from a read snapshot;
//! - transactions and savepoints: a savepoint rolled back leaves nothing of its writes, a
//!   transaction ended without commit leaves nothing (on flat files: not a byte on disk),
//!   a transaction's own reads see its writes;
//! - the watch: commits by another engine instance on the same database (its own
//!   connections and caches, as another process has) move the generation;
//! - listings: pages chained through their cursors equal the whole listing, and the
//!   listings written straight from rows are byte for byte the models serialized (users,
//!   groups, invites) (replaces `backend/tests/listing.rs`).
//!
//! PostgreSQL runs on the tests' private server (`tests/pg/cluster.sh`, unix socket);
//! `make check` skips it by name (`--skip postgresql`).

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{At, Engine, Generation, Rows};
use crate::paging::Page;
use crate::storage::{Location, ProsodyVersion};
use crate::username::Username;
use crate::values::Value;
use crate::{Backend, Settings, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sqlite,
    Internal,
    Postgres,
}

/// A fresh, empty database of `kind` (its directory lives as long as the value).
struct Fresh {
    location: Location,
    dir: tempfile::TempDir,
}

fn fresh(kind: Kind) -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let location = match kind {
        Kind::Sqlite => Location::Sqlite(dir.path().join("db.sqlite")),
        Kind::Internal => {
            let data = dir.path().join("data");
            std::fs::create_dir(&data).unwrap();
            Location::Internal(data)
        }
        Kind::Postgres => {
            use std::sync::atomic::Ordering;
            static N: AtomicU64 = AtomicU64::new(0);
            let (sock, port) = cluster();
            let name = format!("c{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
            let admin = format!("host={sock} port={port} user=postgres dbname=postgres");
            let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
            c.batch_execute(&format!("CREATE DATABASE \"{name}\"")).unwrap(); // our own name, quoted
            Location::parse(&format!("postgresql://postgres@/{name}?host={sock}&port={port}&sslmode=disable")).unwrap()
        }
    };
    Fresh { location, dir }
}

/// The tests' private PostgreSQL server for this process: (socket dir, port).
fn cluster() -> &'static (String, u16) {
    static CLUSTER: std::sync::OnceLock<(String, u16)> = std::sync::OnceLock::new();
    CLUSTER.get_or_init(|| {
        let dir = format!("/tmp/pa-pg-c{}", std::process::id());
        std::fs::create_dir_all(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = std::process::Command::new("bash")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/pg/cluster.sh"))
            .args([&dir, &port.to_string(), &std::process::id().to_string()])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the private PostgreSQL server did not start");
        std::mem::forget(child); // it stops the server when this process exits
        (dir, port)
    })
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

fn read<T>(e: &dyn Engine, f: impl Fn(&dyn Rows) -> T) -> T {
    let mut out = None;
    e.read(&mut |r| {
        out = Some(f(r));
        true
    })
    .unwrap();
    out.unwrap()
}

/// Runs `f` in one committed write transaction.
fn write(e: &dyn Engine, f: impl FnOnce(&dyn Rows)) {
    let mut w = e.writer().unwrap();
    w.begin().unwrap();
    w.savepoint().unwrap();
    f(w.rows());
    w.release(true).unwrap();
    w.end(true).unwrap();
}

const H: &str = "localhost";

fn keyval_and_map(e: &dyn Engine, version: ProsodyVersion, what: &str) {
    let acc = At { host: H, store: "accounts" };
    let act = At { host: H, store: "account_activity" };
    let groups = At { host: H, store: "groups" };
    write(e, |r| {
        r.kv_set(acc, "bob", "salt", &s("b")).unwrap();
        // Prosody 13's accounts carry their creation time (what tells flat files' layouts apart).
        if version == ProsodyVersion::V13 {
            r.kv_set(acc, "bob", "created", &Value::Number(1.0)).unwrap();
        }
        r.kv_set(acc, "alice", "salt", &s("a")).unwrap();
        r.kv_set(acc, "alice", "iteration_count", &Value::Number(4096.0)).unwrap();
        r.kv_set(acc, "alice", "disabled", &Value::Boolean(true)).unwrap();
        r.kv_set(acc, "alice", "salt", &s("a2")).unwrap(); // replaces
        r.kv_set(act, "alice", "timestamp", &Value::Number(100.0)).unwrap();
        r.kv_set(act, "bob", "timestamp", &Value::Number(200.0)).unwrap();
        r.kv_set(groups, "alice", "g1", &Value::Boolean(true)).unwrap();
        r.kv_set(groups, "carol", "g1", &Value::Boolean(true)).unwrap();
        r.kv_set(groups, "carol", "g2", &Value::Boolean(true)).unwrap();
        r.kv_set(acc, "", "host-level", &Value::Json(serde_json::json!({"a": [1, "x"]}))).unwrap();
        // The transaction's own reads see its writes.
        assert_eq!(r.kv_get(acc, "alice", "salt").unwrap(), Some(s("a2")), "{what}");
    });
    read(e, |r| {
        assert_eq!(r.kv_get(acc, "alice", "salt").unwrap(), Some(s("a2")), "{what}");
        assert_eq!(r.kv_get(acc, "alice", "nothing").unwrap(), None, "{what}");
        assert_eq!(r.kv_get(acc, "nobody", "salt").unwrap(), None, "{what}");
        assert_eq!(
            r.kv_all(acc, "alice").unwrap(),
            [
                ("disabled".to_string(), Value::Boolean(true)),
                ("iteration_count".to_string(), Value::Number(4096.0)),
                ("salt".to_string(), s("a2")),
            ],
            "{what}: sorted by key"
        );
        assert!(r.kv_exists(acc, "bob").unwrap() && !r.kv_exists(acc, "carol").unwrap(), "{what}");
        assert!(r.store_any(acc).unwrap() && !r.store_any(At { host: H, store: "empty" }).unwrap(), "{what}");
        assert_eq!(r.store_users(groups).unwrap(), ["alice", "carol"], "{what}");
        assert_eq!(r.count_at_least(act, "timestamp", 150).unwrap(), 1, "{what}");
        assert_eq!(r.count_at_least(act, "timestamp", 100).unwrap(), 2, "{what}");
        assert_eq!(
            r.store_rows(groups).unwrap(),
            [
                ("alice".to_string(), "g1".to_string(), Value::Boolean(true)),
                ("carol".to_string(), "g1".to_string(), Value::Boolean(true)),
                ("carol".to_string(), "g2".to_string(), Value::Boolean(true)),
            ],
            "{what}"
        );
        assert_eq!(r.users_with_key(groups, "g1").unwrap(), ["alice", "carol"], "{what}");
        assert_eq!(r.users_with_key(groups, "g2").unwrap(), ["carol"], "{what}");
        assert_eq!(
            r.kv_get(acc, "", "host-level").unwrap(),
            Some(Value::Json(serde_json::json!({"a": [1, "x"]}))),
            "{what}"
        );
    });
    write(e, |r| {
        assert!(r.kv_delete(acc, "alice", "disabled").unwrap(), "{what}");
        assert!(!r.kv_delete(acc, "alice", "disabled").unwrap(), "{what}: gone already");
        assert_eq!(r.kv_clear(groups, "carol").unwrap(), 2, "{what}");
        assert_eq!(r.kv_clear(groups, "carol").unwrap(), 0, "{what}");
    });
    read(e, |r| {
        assert_eq!(r.kv_get(acc, "alice", "disabled").unwrap(), None, "{what}");
        assert_eq!(r.store_users(groups).unwrap(), ["alice"], "{what}");
    });
}

fn archives(e: &dyn Engine, what: &str) {
    let at = At { host: H, store: "prosody_admin_audit" };
    let mut ids = Vec::new();
    write(e, |r| {
        for i in 1..=5 {
            ids.push(r.archive_append(at, "", &format!("k{i}"), 1000 + i, "with", &s(&format!("v{i}"))).unwrap());
        }
    });
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{what}: positions grow: {ids:?}");
    let keys = |rows: Vec<super::ArchiveRow>| rows.into_iter().map(|(_, k, _, _, _)| k).collect::<Vec<_>>();
    read(e, |r| {
        assert_eq!(r.archive_get(at, "", "k2").unwrap(), Some((1002, "with".to_string(), s("v2"))), "{what}");
        assert_eq!(r.archive_get(at, "", "k9").unwrap(), None, "{what}");
        assert_eq!(keys(r.archive_page(at, "", None, 2).unwrap()), ["k5", "k4"], "{what}: newest first");
        assert_eq!(keys(r.archive_page(at, "", Some(ids[3]), 10).unwrap()), ["k3", "k2", "k1"], "{what}: before");
    });
    write(e, |r| {
        // The same id again: replaced, and now the newest.
        r.archive_put(at, "", "k2", 2000, "other", &s("v2b")).unwrap();
        assert!(r.archive_delete(at, "", "k4").unwrap(), "{what}");
        assert!(!r.archive_delete(at, "", "k4").unwrap(), "{what}");
    });
    read(e, |r| {
        assert_eq!(keys(r.archive_page(at, "", None, 10).unwrap()), ["k2", "k5", "k3", "k1"], "{what}");
        assert_eq!(r.archive_get(at, "", "k2").unwrap(), Some((2000, "other".to_string(), s("v2b"))), "{what}");
    });
    // Retention: beyond the 3 newest, at most 1 per step; then everything older than 1004.
    write(e, |r| assert_eq!(r.archive_prune(at, "", Some(3), None, 1).unwrap(), 1, "{what}"));
    read(e, |r| assert_eq!(keys(r.archive_page(at, "", None, 10).unwrap()), ["k2", "k5", "k3"], "{what}"));
    write(e, |r| assert_eq!(r.archive_prune(at, "", None, Some(1004), 10).unwrap(), 1, "{what}"));
    read(e, |r| assert_eq!(keys(r.archive_page(at, "", None, 10).unwrap()), ["k2", "k5"], "{what}"));
}

fn purge(e: &dyn Engine, what: &str) {
    let acc = At { host: H, store: "accounts" };
    let pep = At { host: H, store: "pep_urn:xmpp:avatar:metadata" };
    write(e, |r| {
        r.kv_set(acc, "dave", "salt", &s("d")).unwrap();
        r.kv_set(At { host: H, store: "roster" }, "dave", "x", &s("y")).unwrap();
        r.archive_append(pep, "dave", "current", 1, "", &s("item")).unwrap();
        r.kv_set(acc, "erin", "salt", &s("e")).unwrap();
        r.purge_user(H, "dave").unwrap();
    });
    read(e, |r| {
        assert!(!r.kv_exists(acc, "dave").unwrap(), "{what}");
        assert!(!r.kv_exists(At { host: H, store: "roster" }, "dave").unwrap(), "{what}");
        assert_eq!(r.archive_get(pep, "dave", "current").unwrap(), None, "{what}");
        assert!(r.kv_exists(acc, "erin").unwrap(), "{what}: only dave");
    });
}

/// Every file under `dir` and its bytes (flat files: a rolled-back write wrote none).
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

fn transactions(e: &dyn Engine, f: &Fresh, kind: Kind, what: &str) {
    let at = At { host: H, store: "accounts" };
    let before = (kind == Kind::Internal).then(|| files(f.dir.path()));
    // A transaction that does not commit leaves nothing, whatever its savepoints did.
    let mut w = e.writer().unwrap();
    w.begin().unwrap();
    w.savepoint().unwrap();
    w.rows().kv_set(at, "frank", "salt", &s("f")).unwrap();
    w.rows().archive_append(At { host: H, store: "offline" }, "frank", "m1", 1, "", &s("x")).unwrap();
    w.release(true).unwrap();
    w.end(false).unwrap();
    read(e, |r| assert!(!r.kv_exists(at, "frank").unwrap(), "{what}: rolled back"));
    if let Some(before) = before {
        assert_eq!(files(f.dir.path()), before, "{what}: a rolled-back transaction wrote a file");
    }
    // A savepoint rolled back: its writes go, the rest of the transaction stays.
    w.begin().unwrap();
    w.savepoint().unwrap();
    w.rows().kv_set(at, "gina", "salt", &s("g")).unwrap();
    w.release(true).unwrap();
    w.savepoint().unwrap();
    w.rows().kv_set(at, "hank", "salt", &s("h")).unwrap();
    w.rows().kv_set(at, "gina", "salt", &s("changed")).unwrap();
    assert_eq!(w.rows().kv_get(at, "hank", "salt").unwrap(), Some(s("h")), "{what}: own reads");
    w.release(false).unwrap();
    assert_eq!(w.rows().kv_get(at, "hank", "salt").unwrap(), None, "{what}: savepoint rolled back");
    w.end(true).unwrap();
    read(e, |r| {
        assert_eq!(r.kv_get(at, "gina", "salt").unwrap(), Some(s("g")), "{what}");
        assert!(!r.kv_exists(at, "hank").unwrap(), "{what}");
    });
}

fn watch(e: &dyn Engine, f: &Fresh, version: ProsodyVersion, what: &str) {
    let generation = Arc::new(AtomicU64::new(0));
    e.watch(Generation(Arc::downgrade(&generation)), Duration::from_millis(10)).unwrap();
    // Let a watch that starts in the background settle, then take its generation.
    std::thread::sleep(Duration::from_millis(200));
    let seen = generation.load(std::sync::atomic::Ordering::Acquire);
    let other = f.location.open(Some(version)).unwrap();
    write(other.as_ref(), |r| r.kv_set(At { host: H, store: "accounts" }, "ivan", "salt", &s("i")).unwrap());
    let start = Instant::now();
    while generation.load(std::sync::atomic::Ordering::Acquire) == seen {
        assert!(start.elapsed() < Duration::from_secs(5), "{what}: another instance's commit not seen in 5 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    read(e, |r| assert!(r.kv_exists(At { host: H, store: "accounts" }, "ivan").unwrap(), "{what}"));
}

fn seed_accounts(b: &Backend) {
    for i in 0..37 {
        // Names that sort in interesting ways: digits, dots, non-ASCII.
        let name = match i % 4 {
            0 => format!("user{i:02}"),
            1 => format!("a.{i}"),
            2 => format!("zoë{i}"),
            _ => format!("{i}x"),
        };
        let u = Username::parse(&name).unwrap();
        b.add_user(&u, "pw").unwrap();
        if i % 5 == 0 {
            b.grant_admin(&u).unwrap();
        }
    }
}

async fn seed(b: &Backend) {
    for i in 0..23 {
        let g = b.create_group(format!("Group {i}"), i % 3 == 0).await.unwrap();
        if i % 2 == 0 {
            b.add_group_member(g.id, Username::parse("user00").unwrap()).await.unwrap();
        }
    }
    for _ in 0..29 {
        b.create_invite(crate::invites::NewInvite::account(None).unwrap(), "admin").await.unwrap();
    }
}

/// Pages chain to the whole listing, and the streamed JSON is the models serialized.
async fn listings(b: &Backend, what: &str) {
    for limit in [None, Some(1), Some(5), Some(10_000)] {
        let mut after: Option<String> = None;
        let (mut users, mut pages) = (Vec::new(), 0);
        loop {
            let page = Page { limit, after: after.clone() };
            let (models, next) = b.list_users(page.clone()).await.unwrap();
            let streamed = b.list_users_json(page.clone()).await.unwrap();
            assert_eq!(streamed.body, serde_json::to_vec(&models).unwrap(), "{what} {limit:?} {after:?}");
            assert_eq!(streamed.next, next);
            users.extend(models.into_iter().map(|u| u.username.unwrap()));
            pages += 1;
            match next {
                Some(c) => after = Page::parse(None, Some(&c)).unwrap().after,
                None => break,
            }
        }
        assert_eq!(users.len(), 37, "{what} {limit:?}");
        assert!(users.windows(2).all(|w| w[0] < w[1]), "{what}: sorted, no repeats");
        if limit == Some(5) {
            assert_eq!(pages, 8);
        }

        let (mut groups, mut after) = (0, None::<String>);
        loop {
            let page = Page { limit, after: after.clone() };
            let (models, next) = b.list_groups(page.clone()).await.unwrap();
            let streamed = b.list_groups_json(page).await.unwrap();
            assert_eq!(streamed.body, serde_json::to_vec(&models).unwrap(), "{what}");
            groups += models.len();
            match next {
                Some(c) => after = Page::parse(None, Some(&c)).unwrap().after,
                None => break,
            }
        }
        assert_eq!(groups, 23, "{what}");

        let (mut invites, mut after) = (0, None::<String>);
        loop {
            let page = Page { limit, after: after.clone() };
            let (models, next) = b.list_invites(page.clone()).await.unwrap();
            let streamed = b.list_invites_json(page).await.unwrap();
            assert_eq!(streamed.body, serde_json::to_vec(&models).unwrap(), "{what}");
            assert_eq!(streamed.valid_until, models.iter().map(|i| i.expires).min());
            invites += models.len();
            match next {
                Some(c) => after = Page::parse(None, Some(&c)).unwrap().after,
                None => break,
            }
        }
        assert_eq!(invites, 29, "{what}");
    }
}

/// The whole suite on one engine and layout.
fn conformance(kind: Kind, version: ProsodyVersion) {
    let what = format!("{kind:?} {version}");
    {
        let f = fresh(kind);
        let e = f.location.open(Some(version)).unwrap();
        assert_eq!(e.version(), version, "{what}");
        e.probe().unwrap();
        keyval_and_map(e.as_ref(), version, &what);
        archives(e.as_ref(), &what);
        purge(e.as_ref(), &what);
        transactions(e.as_ref(), &f, kind, &what);
        watch(e.as_ref(), &f, version, &what);
        // Reopened: the layout it was created with is detected.
        drop(e);
        assert_eq!(f.location.open(None).unwrap().version(), version, "{what}: detected on reopening");
    }
    let f = fresh(kind);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let store = Store::open_at(&f.location, H, "groups.localhost", Some(version)).unwrap();
    let b = Backend::new(store, Settings::for_host(H));
    seed_accounts(&b);
    rt.block_on(async {
        seed(&b).await;
        listings(&b, &what).await;
    });
    // The last handle (a PostgreSQL connection closes with a blocking call) off the runtime.
    drop(b);
    drop(rt);
}

macro_rules! engines {
    ($($name:ident: $kind:ident $version:ident;)*) => {$(
        #[test]
        fn $name() {
            conformance(Kind::$kind, ProsodyVersion::$version)
        }
    )*};
}

// `make check` runs SQLite and flat files (it skips `postgresql` by name); `make test` all.
engines! {
    sqlite_13: Sqlite V13;
    sqlite_0_12: Sqlite V0_12;
    internal_13: Internal V13;
    internal_0_12: Internal V0_12;
    postgresql_13: Postgres V13;
    postgresql_0_12: Postgres V0_12;
}
