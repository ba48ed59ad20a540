//! The live path's bounds, without Prosody (tests/interop has the real one): a socket
//! that accepts and never answers, and one that does not exist. Writes answer at once
//! and succeed; reads that ask Prosody wait at most the stated bound (2 s); the status
//! says why the path is down.

mod common;

use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use common::Server;

/// The bound `live::TIMEOUT` states, with room for a loaded machine.
const BOUND: Duration = Duration::from_millis(2000 + 1500);

#[test]
fn a_stuck_socket_never_holds_a_request_beyond_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prosody.sock");
    // Accepts every connection and keeps it, reading nothing, answering nothing.
    let listener = UnixListener::bind(&path).unwrap();
    let accepted = std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming().take(8) {
            held.push(c.unwrap());
        }
        std::thread::sleep(Duration::from_secs(30));
        drop(held);
    });
    let s = Server::start_with(&["--prosody-socket", path.to_str().unwrap()]);
    s.add_user("stuck", "pw");

    // A write that is told to Prosody afterwards: answered at once, committed.
    let t = Instant::now();
    assert_eq!(s.admin("DELETE", "/users/stuck", None).status, 200);
    assert!(t.elapsed() < Duration::from_millis(1000), "a delete waited {:?} for Prosody", t.elapsed());
    assert_eq!(s.admin("GET", "/users/stuck", None).status, 404);

    // Reads that ask Prosody: bounded, and answered without it.
    s.add_user("reader", "pw");
    let t = Instant::now();
    let r = s.admin("GET", "/users/reader/debug", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["sessions"], serde_json::json!([]));
    assert!(t.elapsed() < BOUND, "debug took {:?}", t.elapsed());
    let t = Instant::now();
    let r = s.admin("POST", "/server/announcement", Some(r#"{"body": "x", "recipients": "online"}"#));
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.json()["error"]["text"].as_str().unwrap().contains("admin socket"), "{}", r.body);
    assert!(t.elapsed() < BOUND, "announcement took {:?}", t.elapsed());

    let live = s.admin("GET", "/server/info", None).json()["live_path"].clone();
    assert_eq!(live["configured"], true);
    assert_eq!(live["up"], false);
    assert!(live["error"].as_str().unwrap().contains("no answer"), "{live}");
    assert!(live["checked_at"].as_i64().unwrap() > 0);
    let metrics = s.admin("GET", "/service/metrics", None).body;
    assert!(metrics.contains("prosody_admin_live_up 0"), "{metrics}");
    let failures = metrics
        .lines()
        .find_map(|l| l.strip_prefix("prosody_admin_live_failures_total "))
        .map(|v| v.parse::<u64>().unwrap());
    assert!(failures >= Some(2), "{metrics}");
    drop(accepted);
}

#[test]
fn no_socket_and_no_live_path_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such.sock");
    let s = Server::start_with(&["--prosody-socket", missing.to_str().unwrap()]);
    let live = s.admin("GET", "/server/info", None).json()["live_path"].clone();
    assert_eq!((live["configured"].clone(), live["up"].clone()), (true.into(), false.into()));
    assert!(live["error"].as_str().unwrap().contains("no-such.sock"), "{live}");
    // Groups are told to Prosody too: every change still succeeds without it.
    let g = s.admin("POST", "/groups", Some(r#"{"name": "G", "create_muc": true}"#)).json();
    let gid = g["id"].as_str().unwrap();
    s.add_user("m", "pw");
    assert_eq!(s.admin("PUT", &format!("/groups/{gid}/members/m"), None).status, 200);
    assert_eq!(s.admin("PUT", &format!("/groups/{gid}"), Some(r#"{"name": "H"}"#)).status, 204);
    assert_eq!(s.admin("DELETE", &format!("/groups/{gid}"), None).status, 204);

    let plain = Server::start();
    let live = plain.admin("GET", "/server/info", None).json()["live_path"].clone();
    assert_eq!(live, serde_json::json!({"configured": false, "up": false}));
    assert!(!plain.admin("GET", "/service/metrics", None).body.contains("prosody_admin_live"));
}

/// Ending sessions needs the live path: 503 with the reason when it is missing or down,
/// 404 for an account that does not exist, 400 for an empty or over-long resource; nothing
/// is audited for a request that ended nothing.
#[test]
fn ending_sessions_without_a_live_path_is_503() {
    let plain = Server::start();
    plain.add_user("kicked", "pw");
    // 503 is what is meant here: `raw`, not the harness that refuses every 5xx.
    let end = |s: &Server, path: &str| {
        common::raw(s.addr, "DELETE", &format!("/admin_api{path}"), None, Some(&format!("Bearer {}", s.token)))
    };
    let r = end(&plain, "/users/kicked/sessions");
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.json()["error"]["text"].as_str().unwrap().contains("not configured"), "{}", r.body);
    assert_eq!(plain.admin("DELETE", "/users/nobody/sessions", None).status, 404);
    assert_eq!(plain.admin("DELETE", "/users/kicked/sessions?resource=", None).status, 400);
    let long = "x".repeat(1024);
    assert_eq!(plain.admin("DELETE", &format!("/users/kicked/sessions?resource={long}"), None).status, 400);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such.sock");
    let s = Server::start_with(&["--prosody-socket", missing.to_str().unwrap()]);
    s.add_user("kicked", "pw");
    let r = end(&s, "/users/kicked/sessions?resource=phone");
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.json()["error"]["text"].as_str().unwrap().contains("no-such.sock"), "{}", r.body);
    let audit = s.admin("GET", "/audit", None).json();
    assert!(!audit.to_string().contains("endUserSessions"), "{audit}");
}
