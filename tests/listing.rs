//! Pages of the listings through the running service: `limit`, the opaque `after`
//! cursor, `Link: rel="next"`; every item that exists for the whole walk is seen exactly
//! once while other clients add and remove items; cached pages of invites never outlive
//! an invite in them.

mod common;

use common::Exec;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Resp, Server};
use serde_json::{json, Value};

/// The path of the next page, from a `Link` header.
fn next_of(r: &Resp) -> Option<String> {
    let link = r.header("link")?;
    assert!(link.ends_with(r#">; rel="next""#), "{link}");
    let url = link.trim_start_matches('<').split('>').next()?;
    Some(url.trim_start_matches("/admin_api").to_string())
}

/// Walks a listing page by page; the key of each item, in order, and the number of pages.
fn walk(s: &Server, first: &str, key: &str) -> (Vec<String>, usize) {
    let (mut keys, mut pages, mut path) = (Vec::new(), 0, Some(first.to_string()));
    while let Some(p) = path {
        let r = s.admin("GET", &p, None);
        assert_eq!(r.status, 200, "{p}: {}", r.body);
        keys.extend(r.json().as_array().unwrap().iter().map(|i| i[key].as_str().unwrap().to_string()));
        pages += 1;
        path = next_of(&r);
    }
    (keys, pages)
}

fn add_accounts(s: &Server, names: &[String]) {
    let c = s.sql();
    c.exec("BEGIN", &[]);
    for n in names {
        // An account as Prosody stores one (a row of store `accounts`).
        common::put_row(&c, "localhost", n, "accounts", "iteration_count", "number", "4096");
    }
    c.exec("COMMIT", &[]);
}

#[test]
fn pages_link_to_each_other_and_bad_parameters_are_400() {
    let s = Server::start();
    let names: Vec<String> = (0..25).map(|i| format!("u{i:02}")).collect();
    add_accounts(&s, &names);
    let whole = s.admin("GET", "/users", None);
    assert_eq!(whole.header("link"), None, "no parameters: the whole list, no Link");
    let all: Vec<Value> = whole.json().as_array().unwrap().clone();
    assert_eq!(all.len(), 26);

    let r = s.admin("GET", "/users?limit=10", None);
    assert_eq!(r.json().as_array().unwrap()[..], all[..10]);
    let next = next_of(&r).expect("a next page");
    assert!(next.starts_with("/users?limit=10&after="), "{next}");
    let (keys, pages) = walk(&s, "/users?limit=10", "username");
    assert_eq!(pages, 3);
    let expected: Vec<String> = all.iter().map(|u| u["username"].as_str().unwrap().to_string()).collect();
    assert_eq!(keys, expected);
    // A page that ends exactly at the end names no next page.
    let r = s.admin("GET", "/users?limit=26", None);
    assert_eq!((r.json().as_array().unwrap().len(), r.header("link")), (26, None));
    // `after` alone: the rest of the list.
    let cursor = next.split("after=").nth(1).unwrap();
    let rest = s.admin("GET", &format!("/users?after={cursor}"), None).json();
    assert_eq!(rest.as_array().unwrap()[..], all[10..]);
    // HEAD of a page: same length, no body.
    let t = format!("Bearer {}", s.token);
    let h = common::raw(s.addr, "HEAD", "/admin_api/users?limit=10", None, Some(&t));
    let g = s.admin("GET", "/users?limit=10", None);
    assert_eq!(
        (h.status, h.header("content-length"), h.body.as_str()),
        (200, Some(g.body.len().to_string().as_str()), "")
    );
    assert_eq!(h.header("link"), g.header("link"));

    for bad in ["limit=0", "limit=10001", "limit=abc", "limit=-1", "after=", "after=!!", "after=%C3%BF", "after=0"] {
        for list in ["/users", "/groups", "/invites"] {
            let r = s.admin("GET", &format!("{list}?{bad}"), None);
            assert_eq!(r.status, 400, "{list}?{bad}: {}", r.body);
        }
    }
    // Groups and invites page the same way.
    for i in 0..12 {
        assert_eq!(s.admin("POST", "/groups", Some(&format!(r#"{{"name":"G{i}"}}"#))).status, 200);
        assert_eq!(s.admin("POST", "/invites/account", Some("{}")).status, 200);
    }
    let (g, pages) = walk(&s, "/groups?limit=5", "id");
    assert_eq!((g.len(), pages), (12, 3));
    let ids: Vec<String> = s
        .admin("GET", "/groups", None)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().into())
        .collect();
    assert_eq!(g, ids);
    let (inv, pages) = walk(&s, "/invites?limit=5", "id");
    assert_eq!((inv.len(), pages), (12, 3));
    let ids: Vec<String> = s
        .admin("GET", "/invites", None)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().into())
        .collect();
    assert_eq!(inv, ids);
}

/// Walks `list` page by page, many times over, while another client keeps adding and
/// removing items: every item present throughout appears exactly once per walk, no item
/// twice, in order.
fn walk_while_churning(
    s: &Server,
    list: &str,
    key: &str,
    stable: &HashSet<String>,
    churn: impl Fn(usize) + Send + Sync,
) {
    let stop = Arc::new(AtomicBool::new(false));
    std::thread::scope(|scope| {
        let stop2 = stop.clone();
        let churn = &churn;
        scope.spawn(move || {
            let mut i = 0;
            while !stop2.load(Ordering::Relaxed) {
                churn(i);
                i += 1;
            }
        });
        for limit in [1, 3, 7, 50] {
            let (keys, _) = walk(s, &format!("{list}?limit={limit}"), key);
            let mut seen = HashMap::new();
            for k in &keys {
                *seen.entry(k.clone()).or_insert(0) += 1;
            }
            assert!(seen.values().all(|n| *n == 1), "{list} limit {limit}: an item twice");
            for k in stable {
                assert_eq!(seen.get(k), Some(&1), "{list} limit {limit}: {k} missed");
            }
            if list != "/invites" {
                assert!(keys.windows(2).all(|w| w[0] < w[1]), "{list}: out of order");
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
}

#[test]
fn every_item_once_under_concurrent_inserts_and_deletes() {
    let s = Server::start();
    // Users: a stable set, and others that come and go between them.
    let stable: Vec<String> = (0..60).map(|i| format!("s{i:03}")).collect();
    add_accounts(&s, &stable);
    let mut stable_set: HashSet<String> = stable.iter().cloned().collect();
    stable_set.insert("admin".into());
    walk_while_churning(&s, "/users", "username", &stable_set, |i| {
        let name = format!("s{:03}x{}", (i * 7) % 60, i % 3);
        s.add_user(&name, "pw");
        let r = s.admin("DELETE", &format!("/users/{name}"), None);
        assert_eq!(r.status, 200);
    });

    // Groups and invites: created and deleted through the API meanwhile.
    let mut stable_groups = HashSet::new();
    let mut stable_invites = HashSet::new();
    for i in 0..40 {
        let g = s.admin("POST", "/groups", Some(&format!(r#"{{"name":"Stable {i}"}}"#))).json();
        stable_groups.insert(g["id"].as_str().unwrap().to_string());
        let inv = s.admin("POST", "/invites/account", Some("{}")).json();
        stable_invites.insert(inv["id"].as_str().unwrap().to_string());
    }
    walk_while_churning(&s, "/groups", "id", &stable_groups, |i| {
        let g = s.admin("POST", "/groups", Some(&format!(r#"{{"name":"Churn {i}"}}"#))).json();
        let id = g["id"].as_str().unwrap();
        assert_eq!(s.admin("DELETE", &format!("/groups/{id}"), None).status, 204);
    });
    walk_while_churning(&s, "/invites", "id", &stable_invites, |_| {
        let inv = s.admin("POST", "/invites/account", Some("{}")).json();
        let id = inv["id"].as_str().unwrap();
        assert_eq!(s.admin("DELETE", &format!("/invites/{id}"), None).status, 200);
    });
}

#[test]
fn cached_invites_never_outlive_their_expiry() {
    let s = Server::start();
    let keep = s.admin("POST", "/invites/account", Some(r#"{"ttl":3600}"#)).json();
    let short = s.admin("POST", "/invites/account", Some(r#"{"ttl":1}"#)).json();
    let (id, expires) = (short["id"].as_str().unwrap().to_string(), short["expires"].as_i64().unwrap());
    let deadline = Instant::now() + Duration::from_millis(3500);
    let (mut listed, mut gone) = (0, 0);
    while Instant::now() < deadline {
        // No invite may be served once its expiry second is over.
        let before = common::now();
        for path in ["/invites", "/invites?limit=10"] {
            let list = s.admin("GET", path, None).json();
            for i in list.as_array().unwrap() {
                assert!(i["expires"].as_i64().unwrap() >= before, "{path} served an expired invite at {before}: {i}");
            }
            if list.as_array().unwrap().iter().any(|i| i["id"] == json!(id)) {
                listed += 1;
            } else {
                gone += 1;
            }
        }
        let r = s.admin("GET", &format!("/invites/{id}"), None);
        if r.status == 200 {
            assert!(before <= expires, "GET /invites/{id} served it at {before}, expired at {expires}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(listed > 0 && gone > 0, "listed {listed} times, then gone {gone} times");
    assert_eq!(s.admin("GET", &format!("/invites/{id}"), None).status, 404);
    let list = s.admin("GET", "/invites", None).json();
    assert_eq!(list.as_array().unwrap().iter().map(|i| i["id"].clone()).collect::<Vec<_>>(), vec![keep["id"].clone()]);
}

/// A listing large enough to be read on two connections (the SQLite engine reads past
/// its first 2 000 accounts on two threads: names and `disabled` on one, nicks on the
/// other) is one snapshot while Prosody commits: each commit gives every account the
/// nick `g<K>` and disables them all on odd K, enables them on even; every listing then
/// shows one K throughout. Each limit is a cache key of its own: every read is fresh.
#[test]
fn a_large_listing_is_one_snapshot_while_prosody_commits() {
    const N: usize = 5_000;
    const NICK: &str = "pep_http://jabber.org/protocol/nick";
    let nick = |k: usize| format!("<nick xmlns='http://jabber.org/protocol/nick'>g{k}</nick>");
    let s = Server::start();
    {
        let c = s.sql();
        c.exec("BEGIN", &[]);
        for i in 0..N {
            let n = format!("big{i:05}");
            common::put_row(&c, "localhost", &n, "accounts", "iteration_count", "number", "4096");
            common::put_row(&c, "localhost", &n, "accounts", "disabled", "boolean", "false");
            common::put_archive(&c, "localhost", &n, NICK, "current", 1, "", "xml", &nick(0));
        }
        c.exec("COMMIT", &[]);
    }
    let stop = AtomicBool::new(false);
    let commits = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let c = s.sql();
            let mut k = 0;
            while !stop.load(Ordering::Relaxed) {
                k += 1;
                c.exec("BEGIN", &[]);
                c.exec(
                    r#"UPDATE "prosodyarchive" SET "value"=? WHERE "host"='localhost' AND "store"=? AND "key"='current'"#,
                    &[&nick(k), NICK],
                );
                c.exec(
                    r#"UPDATE "prosody" SET "value"=? WHERE "host"='localhost' AND "store"='accounts' AND "key"='disabled'"#,
                    &[if k % 2 == 1 { "true" } else { "false" }],
                );
                c.exec("COMMIT", &[]);
            }
            k
        });
        // The writer stops when this ends, failed or not.
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let stopping = Stop(&stop);
        let mut seen = HashSet::new();
        for i in 0..40 {
            let r = s.admin("GET", &format!("/users?limit={}", N + 2 + i), None);
            assert_eq!(r.status, 200, "{}", r.body);
            let states: HashSet<(String, bool)> = r
                .json()
                .as_array()
                .unwrap()
                .iter()
                .filter(|u| u["username"].as_str().unwrap().starts_with("big"))
                .map(|u| (u["display_name"].as_str().unwrap().to_string(), u["enabled"].as_bool().unwrap()))
                .collect();
            assert_eq!(states.len(), 1, "listing {i} mixes commits: {states:?}");
            let (name, enabled) = states.into_iter().next().unwrap();
            let k: usize = name[1..].parse().unwrap();
            assert_eq!(enabled, k % 2 == 0, "listing {i}: nick {name} from one commit, enabled from another");
            seen.insert(k);
        }
        drop(stopping);
        assert!(seen.len() > 5, "the listings saw too few commits to tell: {seen:?}");
        if !common::is_postgres() {
            // Every one of them was read on two connections, none fell back to one.
            let m = s.admin("GET", "/service/metrics", None).body;
            assert!(m.contains("prosody_admin_split_listings_total 40\n"), "{m}");
            assert!(m.contains("prosody_admin_unsplit_listings_total 0\n"), "{m}");
        }
        writer.join().unwrap()
    });
    assert!(commits > 5, "{commits} commits");
}

/// The same large listing read on two threads (whole: past the first 2 000 accounts)
/// and on one (pages of 1 000) is the same, with every stream a listing merges present
/// on some accounts: nick and avatar (archive), roles, groups, disabled, last activity,
/// deletion request. Names sort in byte order across both halves (digits, dots, UTF-8).
#[test]
fn a_large_listing_on_two_threads_equals_its_pages_on_one() {
    const N: usize = 4_500;
    let s = Server::start();
    let version13 = !s.admin("GET", "/server/info", None).body.contains("\"0.12");
    {
        let c = s.sql();
        c.exec("BEGIN", &[]);
        for g in 0..30 {
            common::put_row(&c, "localhost", &format!("g{g}"), "group_info", "name", "string", &format!("G {g}"));
        }
        for i in 0..N {
            let n = match i % 3 {
                0 => format!("a.{i}"),
                1 => format!("zoë{i}"),
                _ => format!("{i}x"),
            };
            common::put_row(&c, "localhost", &n, "accounts", "iteration_count", "number", "4096");
            if i % 2 == 0 {
                let nick = format!("<nick xmlns='http://jabber.org/protocol/nick'>N {i}</nick>");
                common::put_archive(
                    &c,
                    "localhost",
                    &n,
                    "pep_http://jabber.org/protocol/nick",
                    "current",
                    1,
                    "",
                    "xml",
                    &nick,
                );
            }
            if i % 13 == 0 {
                let meta = format!(
                    "<metadata xmlns='urn:xmpp:avatar:metadata'><info bytes='{i}' id='{i:040}' type='image/png' height='64' width='64'/></metadata>"
                );
                common::put_archive(
                    &c,
                    "localhost",
                    &n,
                    "pep_urn:xmpp:avatar:metadata",
                    "current",
                    1,
                    "",
                    "xml",
                    &meta,
                );
            }
            if i % 7 == 0 {
                if version13 {
                    common::put_row(&c, "localhost", &n, "account_roles", "_default", "string", "prosody:admin");
                } else {
                    common::put_row(&c, "localhost", &n, "roles", "prosody:admin", "boolean", "true");
                }
            }
            if i % 5 == 0 {
                common::put_row(&c, "localhost", &format!("g{}", i % 30), "groups", &n, "json", "{}");
            }
            if i % 11 == 0 {
                common::put_row(&c, "localhost", &n, "accounts", "disabled", "boolean", "true");
            }
            if i % 3 == 0 {
                common::put_row(
                    &c,
                    "localhost",
                    &n,
                    "account_activity",
                    "timestamp",
                    "number",
                    &(1_700_000_000 + i).to_string(),
                );
            }
            if i % 17 == 0 {
                common::put_row(&c, "localhost", &n, "accounts_cleanup", "deleted_at", "number", "1700000000");
                common::put_row(&c, "localhost", &n, "accounts_cleanup", "pending_until", "number", "1800000000");
            }
        }
        c.exec("COMMIT", &[]);
    }
    let whole = s.admin("GET", "/users", None);
    assert_eq!(whole.status, 200, "{}", whole.body);
    let whole: Vec<Value> = whole.json().as_array().unwrap().clone();
    assert_eq!(whole.len(), N + 1, "every account and the admin");
    if !common::is_postgres() {
        // The SQLite engine did read it on two connections (nothing else is idle now).
        let m = s.admin("GET", "/service/metrics", None).body;
        assert!(m.contains("prosody_admin_split_listings_total 1\n"), "{m}");
        assert!(m.contains("prosody_admin_unsplit_listings_total 0\n"), "{m}");
    }
    let (mut paged, mut path) = (Vec::new(), Some("/users?limit=1000".to_string()));
    while let Some(p) = path {
        let r = s.admin("GET", &p, None);
        assert_eq!(r.status, 200, "{p}: {}", r.body);
        paged.extend(r.json().as_array().unwrap().iter().cloned());
        path = next_of(&r);
    }
    assert_eq!(paged.len(), whole.len());
    for (a, b) in whole.iter().zip(&paged) {
        assert_eq!(a, b);
    }
    let names: Vec<&str> = whole.iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert!(names.windows(2).all(|w| w[0].as_bytes() < w[1].as_bytes()), "byte order");
    // Every stream shows somewhere past the first 2 000 (the part read on two threads).
    let tail = &whole[2_100..];
    let some = |f: &dyn Fn(&Value) -> bool| tail.iter().any(f);
    assert!(some(&|u| u["display_name"].is_string()));
    assert!(some(&|u| u["avatar_info"].as_array().is_some_and(|a| !a.is_empty())));
    assert!(some(&|u| u["roles"].as_array().is_some_and(|r| r.iter().any(|r| r == "prosody:admin"))));
    assert!(some(&|u| u["groups"].as_array().is_some_and(|g| !g.is_empty())));
    assert!(some(&|u| u["enabled"] == json!(false)));
    assert!(some(&|u| u["last_active"].is_i64()));
    assert!(some(&|u| u["deletion_request"].is_object()));
}

/// A database nobody has written to since its last connection closed: its WAL never held
/// a transaction, so SQLite has no snapshot to share; a large listing still reads on two
/// connections (both read the file alone) and equals its pages.
#[test]
fn a_large_listing_of_a_database_never_written_since_opened_reads_on_two_threads() {
    if common::is_postgres() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    // Prosody 13's schema, then accounts written as Prosody writes them; the last
    // connection's close checkpoints the WAL and removes it.
    assert!(common::cli(&db, &["--prosody-version", "13", "user", "add", "admin"], Some("pw\n")).status.success());
    let token = common::cli(&db, &["--admins", "admin@localhost", "token", "create", "--user", "admin"], None);
    assert!(token.status.success(), "{}", String::from_utf8_lossy(&token.stderr));
    std::fs::write(dir.path().join("admin-token"), &token.stdout).unwrap();
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.exec("BEGIN", &[]);
        for i in 0..3_000 {
            common::put_row(&c, "localhost", &format!("q{i:04}"), "accounts", "iteration_count", "number", "4096");
        }
        c.exec("COMMIT", &[]);
    }
    assert!(!dir.path().join("db.sqlite-wal").exists(), "the WAL went with the last connection");
    let s = Server::start_on(dir, db, &["--prosody-version", "13", "--admins", "admin@localhost"]);
    let whole = s.admin("GET", "/users", None);
    assert_eq!(whole.status, 200, "{}", whole.body);
    let whole = whole.json();
    let m = s.admin("GET", "/service/metrics", None).body;
    assert!(m.contains("prosody_admin_split_listings_total 1\n"), "{m}");
    assert!(m.contains("prosody_admin_unsplit_listings_total 0\n"), "{m}");
    let (paged, _) = walk(&s, "/users?limit=1000", "username");
    let names: Vec<&str> = whole.as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 3_001);
    assert_eq!(names, paged);
}
