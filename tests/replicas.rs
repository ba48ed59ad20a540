//! Replicas on one PostgreSQL database (the tests' private server, see
//! `common::pg`): caches stay coherent across replicas and with writes made outside
//! the service (as Prosody's), within a measured bound; 4 writers spread over two
//! replicas lose no acknowledged write, even when one replica is killed with SIGKILL.

mod common;

use common::Exec;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{pg, Resp, Server};

/// The longest a replica may serve what another replica (or Prosody) changed: the
/// notification's trip plus the next request. Measured figures are printed.
const STALENESS_BOUND: Duration = Duration::from_millis(500);

/// Two replicas on a fresh database: A created it (and the admin token).
fn replicas() -> (Server, Server) {
    let url = pg::fresh_database();
    let a = Server::start_on(tempfile::tempdir().unwrap(), PathBuf::from(&url), &["--prosody-version", "13"]);
    let mut b = Server::start_on(tempfile::tempdir().unwrap(), PathBuf::from(&url), &[]);
    assert!(b.token.is_empty(), "the second replica found accounts: no bootstrap");
    b.token = a.token.clone();
    (a, b)
}

/// One request; None when the server is gone (connection refused or cut).
fn try_request(addr: SocketAddr, method: &str, path: &str, body: Option<&str>, token: &str) -> Option<Resp> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} /admin_api{path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    if out.is_empty() {
        return None;
    }
    Some(common::parse(&out))
}

fn group_ids(s: &Server) -> Vec<String> {
    let r = s.admin("GET", "/groups", None);
    assert_eq!(r.status, 200);
    r.json().as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap().to_string()).collect()
}

/// How long until `reader` lists group `id`, polling every 0.5 ms.
fn seen_after(reader: &Server, id: &str, since: Instant) -> Duration {
    loop {
        if group_ids(reader).iter().any(|g| g == id) {
            return since.elapsed();
        }
        assert!(since.elapsed() < Duration::from_secs(5), "group {id} never seen");
        std::thread::sleep(Duration::from_micros(500));
    }
}

fn summary(mut d: Vec<Duration>) -> (Duration, Duration, Duration) {
    d.sort();
    (d[d.len() / 2], d[d.len() * 99 / 100], d[d.len() - 1])
}

#[test]
fn a_write_through_one_replica_is_read_through_the_other_within_the_bound() {
    let (a, b) = replicas();
    let mut lags = Vec::new();
    for i in 0..60 {
        let (writer, reader) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        // The reader's listing is cached before the write...
        group_ids(reader);
        group_ids(reader);
        let r = writer.admin("POST", "/groups", Some(&format!(r#"{{"name":"g{i}"}}"#)));
        assert_eq!(r.status, 200, "{}", r.body);
        let acked = Instant::now();
        let id = r.json()["id"].as_str().unwrap().to_string();
        // ... and retired by the other replica's commit.
        lags.push(seen_after(reader, &id, acked));
    }
    let (p50, p99, max) = summary(lags);
    eprintln!(
        "replica staleness after a write through the other replica (60 writes): p50 {p50:?}, p99 {p99:?}, max {max:?}"
    );
    assert!(max < STALENESS_BOUND, "max {max:?}");

    // A change made outside the service (as Prosody's mod_groups would write it).
    let mut lags = Vec::new();
    let db = a.sql();
    for i in 0..20 {
        group_ids(&b);
        group_ids(&b);
        let id = format!("outside{i}");
        common::put_row(&db, "localhost", &id, "group_info", "name", "string", &format!("Outside {i}"));
        lags.push(seen_after(&b, &id, Instant::now()));
    }
    let (p50, _, max) = summary(lags);
    eprintln!("replica staleness after a commit outside the service (20 writes): p50 {p50:?}, max {max:?}");
    assert!(max < STALENESS_BOUND, "max {max:?}");

    // Lost notifications: the watchers' connections are cut (as by a failover); a
    // commit made meanwhile is seen all the same, because a reconnection retires
    // every cache.
    for i in 0..5 {
        group_ids(&b);
        let cut: i64 = db.one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN prosody_admin'",
            &[],
        );
        assert_eq!(cut, 2, "one watcher per replica");
        let id = format!("unnotified{i}");
        common::put_row(&db, "localhost", &id, "group_info", "name", "string", "Unnotified");
        let lag = seen_after(&b, &id, Instant::now());
        assert!(lag < Duration::from_secs(2), "{lag:?}");
        // Both replicas listen again.
        let deadline = Instant::now() + Duration::from_secs(5);
        while db.one::<i64>("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN prosody_admin'", &[]) < 2 {
            assert!(Instant::now() < deadline, "the watchers did not reconnect");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn four_writers_over_two_replicas_lose_nothing_when_one_is_killed() {
    const WRITERS: usize = 4;
    const RUN: Duration = Duration::from_secs(20);
    let (mut a, b) = replicas();
    let (addr_a, addr_b, token) = (a.addr, b.addr, a.token.clone());
    let groups: Arc<Mutex<Vec<String>>> = Arc::default();
    let invites: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let lost_connections = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (groups, invites, stop, token, lost) =
                (groups.clone(), invites.clone(), stop.clone(), token.clone(), lost_connections.clone());
            std::thread::spawn(move || {
                // Writers 0 and 1 on replica A, 2 and 3 on B; A's move to B when A dies.
                let mut addr = if w < 2 { addr_a } else { addr_b };
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let (path, body) = if i % 2 == 0 {
                        ("/groups", format!(r#"{{"name":"w{w} n{i}"}}"#))
                    } else {
                        ("/invites/account", "{}".to_string())
                    };
                    match try_request(addr, "POST", path, Some(&body), &token) {
                        Some(r) => {
                            assert!(r.status == 200, "w{w} {path}: {} {}", r.status, r.body);
                            let id = r.json()["id"].as_str().unwrap().to_string();
                            if i % 2 == 0 {
                                groups.lock().unwrap().push(id)
                            } else {
                                invites.lock().unwrap().push(id)
                            }
                        }
                        None => {
                            assert_eq!(addr, addr_a, "replica B must stay up");
                            lost.fetch_add(1, Ordering::Relaxed);
                            addr = addr_b;
                        }
                    }
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(RUN / 2);
    // SIGKILL mid-run (Server's Drop kills; here: now, without a shutdown).
    let killed_at = (groups.lock().unwrap().len(), invites.lock().unwrap().len());
    let _ = std::process::Command::new("kill").arg("-KILL").arg(a.pid().to_string()).status();
    let _ = a.wait();
    std::thread::sleep(RUN / 2);
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("a writer failed");
    }
    let (groups, invites) = (groups.lock().unwrap().clone(), invites.lock().unwrap().clone());
    eprintln!(
        "two replicas, {WRITERS} writers, {RUN:?}: {} groups and {} invites acknowledged ({} and {} before replica A was killed), {} requests cut by the kill",
        groups.len(),
        invites.len(),
        killed_at.0,
        killed_at.1,
        lost_connections.load(Ordering::Relaxed)
    );
    assert!(groups.len() > 100 && invites.len() > 100, "too few writes to mean anything");
    // Every acknowledged write, through the surviving replica and in the database.
    let listed = group_ids(&b);
    let listed: std::collections::HashSet<&String> = listed.iter().collect();
    for id in &groups {
        assert!(listed.contains(id), "acknowledged group {id} missing");
    }
    let r = b.admin("GET", "/invites", None);
    let listed: std::collections::HashSet<String> =
        r.json().as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();
    for id in &invites {
        assert!(listed.contains(id), "acknowledged invite {id} missing");
    }
    let db = b.sql();
    let stored: i64 =
        db.one(r#"SELECT count(DISTINCT "user") FROM "prosody" WHERE "store"='group_info' AND "key"='name'"#, &[]);
    assert!(stored as usize >= groups.len(), "{stored} stored < {} acknowledged", groups.len());
    // Each write's audit entry is in its transaction: as many entries as stored writes.
    let audited: i64 = db.one(r#"SELECT count(*) FROM "prosodyarchive" WHERE "store"='prosody_admin_audit'"#, &[]);
    let invites_stored: i64 = db.one(r#"SELECT count(*) FROM "prosody" WHERE "store"='invite_token'"#, &[]);
    assert_eq!(audited, stored + invites_stored, "audit entries = stored writes");
}

/// Every connection of both replicas cut at once (as by a database restart or a
/// failover): the next requests all succeed, reads and writes, on each replica.
#[test]
fn cut_database_connections_cost_no_request() {
    let (a, b) = replicas();
    for s in [&a, &b] {
        assert_eq!(s.admin("POST", "/groups", Some(r#"{"name":"before"}"#)).status, 200);
        group_ids(s);
    }
    let db = a.sql();
    for round in 0..3 {
        let cut: i64 = db.one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        );
        // Per replica: 4 pooled connections, the writer's, the watcher's.
        assert!(cut >= 12, "round {round}: only {cut} connections cut");
        for s in [&a, &b] {
            for i in 0..3 {
                // A write, then a read that the write made uncached: each goes to the
                // database on a connection the server closed.
                let r = s.admin("POST", "/groups", Some(&format!(r#"{{"name":"after {round} {i}"}}"#)));
                assert_eq!(r.status, 200, "{}", r.body);
                let id = r.json()["id"].as_str().unwrap().to_string();
                assert!(group_ids(s).contains(&id));
                assert_eq!(s.admin("GET", &format!("/groups/{id}"), None).status, 200);
            }
        }
    }
    // And each replica still sees the other's writes.
    let r = a.admin("POST", "/groups", Some(r#"{"name":"last"}"#));
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert!(seen_after(&b, &id, Instant::now()) < STALENESS_BOUND);
}

/// A password in the URL, or from the environment, reaches no log line and no error
/// message (the server's own at info level, the CLI's on a bad URL or a refused
/// connection).
#[test]
fn database_passwords_are_never_shown() {
    const SECRET: &str = "s3cretpassw0rd";
    let url = pg::fresh_database().replacen("postgres@", &format!("postgres:{SECRET}@"), 1);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    // (The private server trusts local connections: the password is sent and ignored.)
    let (mut child, text) = common::spawn_serve_logged(&url, dir.path(), "info");
    let _ = child.kill();
    let _ = child.wait();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("PostgreSQL database"), "{logged}");
    assert!(!logged.contains(SECRET) && !text.contains(SECRET), "{logged}{text}");

    for (database, env_password, says) in [
        // A bad URL, a refused connection (nothing listens on port 1), a password given
        // through the environment to a refused connection: a clear error, at once.
        (format!("postgresql://admin:{SECRET}@127.0.0.1:notaport/db"), None, "invalid value for option `port`"),
        (format!("postgresql://admin:{SECRET}@127.0.0.1:1/db"), None, "Connection refused"),
        ("postgresql://admin@127.0.0.1:1/db".to_string(), Some(SECRET), "Connection refused"),
    ] {
        let started = Instant::now();
        let mut cmd = std::process::Command::new(common::BIN);
        cmd.args(["--database", &database, "user", "list"]).env("RUST_LOG", "debug");
        if let Some(p) = env_password {
            cmd.env("PROSODY_ADMIN_DATABASE_PASSWORD", p);
        }
        let o = cmd.output().unwrap();
        assert!(!o.status.success());
        let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert!(all.contains("prosody-admin:") && all.contains(says), "an error message: {all}");
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        assert!(!all.contains(SECRET), "{all}");
    }
}

/// Prosody inserting the very key a write of ours sets, in a transaction that commits
/// while ours waits on it: on Prosody 13's layout the write is an upsert on the unique
/// index and succeeds (a delete-then-insert would fail on the unique index).
#[test]
fn a_concurrent_insert_of_the_same_key_does_not_fail_a_write() {
    let url = pg::fresh_database();
    let s = Server::start_on(tempfile::tempdir().unwrap(), PathBuf::from(&url), &["--prosody-version", "13"]);
    s.add_user("bob", "pw");
    let gid = s.admin("POST", "/groups", Some(r#"{"name":"Race"}"#)).json()["id"].as_str().unwrap().to_string();
    let other = s.sql();
    other.exec("BEGIN", &[]);
    common::put_row(&other, "localhost", &gid, "groups", "bob", "json", "{}");
    let (addr, token, path) = (s.addr, s.token.clone(), format!("/admin_api/groups/{gid}/members/bob"));
    let write =
        std::thread::spawn(move || common::raw(addr, "PUT", &path, None, Some(&format!("Bearer {token}"))).status);
    // The write now waits on the uncommitted row (its key is taken in the unique index).
    std::thread::sleep(Duration::from_millis(500));
    assert!(!write.is_finished(), "the write did not wait for the other transaction");
    other.exec("COMMIT", &[]);
    assert_eq!(write.join().unwrap(), 200);
    let rows: i64 = s.sql().one(
        r#"SELECT count(*) FROM "prosody" WHERE "host"='localhost' AND "user"=? AND "store"='groups' AND "key"='bob'"#,
        &[&gid],
    );
    assert_eq!(rows, 1);
    assert_eq!(s.admin("GET", &format!("/groups/{gid}"), None).json()["members"], serde_json::json!(["bob"]));
}

/// Audit retention on PostgreSQL: the newest entries stay, by count and by age.
#[test]
fn audit_retention_on_postgresql() {
    let url = pg::fresh_database();
    let s = Server::start_on(tempfile::tempdir().unwrap(), PathBuf::from(&url), &["--audit-max-entries", "50"]);
    for i in 0..200 {
        assert_eq!(s.admin("POST", "/groups", Some(&format!(r#"{{"name":"g{i}"}}"#))).status, 200);
    }
    let db = s.sql();
    let count = |db: &common::TestDb| -> i64 {
        db.one(r#"SELECT count(*) FROM "prosodyarchive" WHERE "store"='prosody_admin_audit'"#, &[])
    };
    assert_eq!(count(&db), 50);
    let newest: String = db.one(
        r#"SELECT "value" FROM "prosodyarchive" WHERE "store"='prosody_admin_audit' ORDER BY "sort_id" DESC LIMIT 1"#,
        &[],
    );
    assert!(newest.contains("createGroup"), "{newest}");
    let token = s.token.clone();
    drop(s);
    let mut s = Server::start_on(tempfile::tempdir().unwrap(), PathBuf::from(&url), &["--audit-max-age", "60s"]);
    s.token = token;
    db.exec(r#"UPDATE "prosodyarchive" SET "when" = "when" - 3600 WHERE "store"='prosody_admin_audit'"#, &[]);
    for i in 0..30 {
        assert_eq!(s.admin("POST", "/groups", Some(&format!(r#"{{"name":"h{i}"}}"#))).status, 200);
    }
    assert_eq!(count(&db), 30, "the hour-old entries went, the new ones stay");
}
