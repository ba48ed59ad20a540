//! Safe to expose: what an attacker or a browser meets at the door. Timeouts and limits
//! (stalled bodies and heads, idle connections, the connection cap, head size), HEAD,
//! OPTIONS and CORS, 415, `Cache-Control: no-store`, throttling of failed
//! authentications, HTTPS with certificate reload, and the audit log.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{parse, Resp, Server};
use serde_json::{json, Value};

fn connect(addr: SocketAddr) -> TcpStream {
    let c = TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    c
}

/// Reads one response off a keep-alive connection (Content-Length bodies).
fn read_response(c: &mut impl Read) -> Resp {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = c.read(&mut byte).expect("read head");
        assert!(n > 0, "connection closed before a response: {:?}", String::from_utf8_lossy(&buf));
        buf.push(byte[0]);
    }
    let head = parse(&buf);
    let len: usize = head.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0u8; len];
    c.read_exact(&mut body).expect("read body");
    buf.extend_from_slice(&body);
    parse(&buf)
}

fn get(c: &mut (impl Read + Write), path: &str, token: &str) -> Resp {
    write!(c, "GET /admin_api{path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n").expect("write");
    read_response(c)
}

/// Reads until the server closes; how long that took.
fn until_closed(c: &mut TcpStream) -> (Vec<u8>, Duration) {
    let t = Instant::now();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    (out, t.elapsed())
}

#[test]
fn stalled_body_is_cut_within_the_body_timeout_and_nothing_is_written() {
    let s = Server::start_with(&["--body-timeout", "2"]);
    let mut c = connect(s.addr);
    // 10 of the 100 bytes announced, then nothing.
    write!(
        c,
        "POST /admin_api/groups HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\":\"x",
        s.token
    )
    .unwrap();
    let (out, took) = until_closed(&mut c);
    let r = parse(&out);
    common::check_invariants("POST", "/admin_api/groups", &r);
    assert_eq!(r.status, 408, "{}", r.body);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(took >= Duration::from_millis(1900) && took < Duration::from_secs(5), "cut after {took:?}");
    assert_eq!(s.admin("GET", "/groups", None).json(), json!([]), "a stalled request wrote nothing");
}

#[test]
fn stalled_heads_and_idle_connections_are_closed() {
    let s = Server::start_with(&["--header-timeout", "1", "--idle-timeout", "3"]);
    // Half a head, then nothing: closed after the header timeout, without an answer.
    let mut c = connect(s.addr);
    c.write_all(b"GET /admin_api/server/info HTTP/1.1\r\nHost: x\r\n").unwrap();
    let (out, took) = until_closed(&mut c);
    assert!(out.is_empty(), "{:?}", String::from_utf8_lossy(&out));
    assert!(took >= Duration::from_millis(900) && took < Duration::from_millis(2500), "head cut after {took:?}");
    // A connection that sends nothing at all is idle: the idle timeout applies.
    let mut c = connect(s.addr);
    let (_, took) = until_closed(&mut c);
    assert!(took >= Duration::from_millis(2900) && took < Duration::from_millis(4500), "silent cut after {took:?}");
    // After a request, the keep-alive connection stays usable, then idles out.
    let mut c = connect(s.addr);
    assert_eq!(get(&mut c, "/server/info", &s.token).status, 200);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(get(&mut c, "/server/info", &s.token).status, 200, "idle for less than the timeout: still open");
    let (out, took) = until_closed(&mut c);
    assert!(out.is_empty());
    assert!(took >= Duration::from_millis(2900) && took < Duration::from_millis(4500), "idle cut after {took:?}");
}

#[test]
fn connection_cap_refuses_the_excess_fast_and_keeps_serving() {
    let s = Server::start_with(&["--max-connections", "4"]);
    let mut held: Vec<TcpStream> = (0..4).map(|_| connect(s.addr)).collect();
    for c in held.iter_mut() {
        assert_eq!(get(c, "/server/info", &s.token).status, 200);
    }
    for _ in 0..3 {
        let mut extra = connect(s.addr);
        let (out, took) = until_closed(&mut extra);
        let r = parse(&out);
        assert_eq!((r.status, r.header("retry-after")), (503, Some("1")));
        assert_eq!(r.json()["error"]["code"], 503);
        assert!(took < Duration::from_millis(500), "refused after {took:?}");
    }
    // The connections within the cap are served as before: median under 50 ms (the
    // suite runs tests in parallel on small machines; one slow answer is noise).
    let mut times = Vec::new();
    for round in 0..5 {
        for c in held.iter_mut() {
            let t = Instant::now();
            assert_eq!(
                get(c, &format!("/users/admin{}", if round % 2 == 0 { "" } else { "/groups" }), &s.token).status,
                200
            );
            times.push(t.elapsed());
        }
    }
    times.sort();
    assert!(times[times.len() / 2] < Duration::from_millis(50), "{times:?}");
    assert!(times[times.len() - 1] < Duration::from_secs(1), "{times:?}");
    // A slot that frees up serves a new connection.
    drop(held.pop());
    let r = common::eventually(|| common::raw(s.addr, "GET", "/admin_api/openapi.json", None, None).status, 200);
    assert_eq!(r, 200);
}

#[test]
fn oversized_heads_are_refused() {
    let s = Server::start_with(&["--max-header-bytes", "8192"]);
    let big = "a".repeat(10_000);
    let r = common::raw_bytes(s.addr, "GET", "/admin_api/server/info", None, None, &[("X-Padding", &big)]);
    // hyper answers this itself, before any service code runs: no JSON body is possible.
    assert_eq!(r.status, 431);
    let ok = "a".repeat(4_000);
    let t = format!("Bearer {}", s.token);
    let r = common::raw_bytes(s.addr, "GET", "/admin_api/server/info", None, Some(&t), &[("X-Padding", &ok)]);
    assert_eq!(r.status, 200);
}

#[test]
fn head_options_cors_and_no_store() {
    let origin = "https://admin.example";
    let s = Server::start_with(&["--cors-origins", origin]);
    let get = s.admin("GET", "/users", None);
    let head = s.admin("HEAD", "/users", None);
    assert_eq!(head.status, 200);
    assert_eq!(head.body, "", "HEAD has no body");
    assert_eq!(head.header("content-length"), Some(get.body.len().to_string().as_str()));
    assert_eq!(head.header("content-type"), get.header("content-type"));
    let t = format!("Bearer {}", s.token);
    let r = common::raw(s.addr, "HEAD", "/admin_api/users/nobody", None, Some(&t));
    assert_eq!((r.status, r.body.as_str()), (404, ""));
    let r = common::raw(s.addr, "HEAD", "/admin_api/invites/account", None, Some(&t));
    assert_eq!((r.status, r.header("allow"), r.body.as_str()), (405, Some("POST, OPTIONS"), ""));

    let opts = |path: &str, extra: &[(&str, &str)]| {
        common::raw_bytes(s.addr, "OPTIONS", &format!("/admin_api{path}"), None, None, extra)
    };
    let r = opts("/users", &[]);
    assert_eq!((r.status, r.header("allow")), (204, Some("GET, HEAD, OPTIONS")));
    assert_eq!(r.header("access-control-allow-origin"), None, "not a preflight");
    let preflight = [
        ("Origin", origin),
        ("Access-Control-Request-Method", "PATCH"),
        ("Access-Control-Request-Headers", "authorization, content-type"),
    ];
    let r = opts("/users/bob", &preflight);
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some(origin));
    assert_eq!(r.header("access-control-allow-methods"), Some("DELETE, GET, PATCH, PUT, HEAD, OPTIONS"));
    assert_eq!(r.header("access-control-allow-headers"), Some("Authorization, Content-Type, X-Prosody-Host"));
    assert_eq!(r.header("access-control-max-age"), Some("600"));
    let r = opts("/users/bob", &[("Origin", "https://evil.example"), ("Access-Control-Request-Method", "PATCH")]);
    common::check_invariants("OPTIONS", "/users/bob", &r);
    assert_eq!((r.status, r.header("access-control-allow-origin")), (403, None));
    assert_eq!(opts("/nothing", &preflight).status, 404);

    let from = |o: &str| common::raw_bytes(s.addr, "GET", "/admin_api/users", None, Some(&t), &[("Origin", o)]);
    let r = from(origin);
    assert_eq!((r.status, r.header("access-control-allow-origin")), (200, Some(origin)));
    assert_eq!(r.header("vary"), Some("Origin"));
    assert!(r.header("access-control-expose-headers").is_some_and(|h| h.contains("WWW-Authenticate")));
    assert_eq!(from("https://evil.example").header("access-control-allow-origin"), None);
    // An error to an allowed origin is readable by the page too.
    let r = common::raw_bytes(s.addr, "GET", "/admin_api/users", None, None, &[("Origin", origin)]);
    assert_eq!((r.status, r.header("access-control-allow-origin")), (401, Some(origin)));

    // no-store on every kind of answer.
    for r in [get, head, s.admin("GET", "/users/nobody", None), s.request("GET", "/admin_api/users", None, None)] {
        assert_eq!(r.header("cache-control"), Some("no-store"), "{} {:?}", r.status, r.headers);
    }
    assert_eq!(opts("/users", &[]).header("cache-control"), Some("no-store"));
    assert_eq!(s.admin("GET", "/openapi.yaml", None).header("cache-control"), Some("no-store"));

    // Without configured origins, no page of another origin gets in.
    let plain = Server::start();
    let r = common::raw_bytes(plain.addr, "OPTIONS", "/admin_api/users", None, None, &preflight);
    assert_eq!((r.status, r.header("access-control-allow-origin")), (403, None));
    let t = format!("Bearer {}", plain.token);
    let r = common::raw_bytes(plain.addr, "GET", "/admin_api/users", None, Some(&t), &[("Origin", origin)]);
    assert_eq!((r.status, r.header("access-control-allow-origin")), (200, None));
}

#[test]
fn bodies_must_be_json() {
    let s = Server::start();
    let t = format!("Bearer {}", s.token);
    let body = br#"{"name":"Team"}"#;
    let post = |ct: Option<&str>| {
        let mut req = format!("POST /admin_api/groups HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: {t}\r\nContent-Length: {}\r\n", body.len());
        if let Some(ct) = ct {
            req.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        let mut c = connect(s.addr);
        c.write_all(format!("{req}\r\n").as_bytes()).unwrap();
        c.write_all(body).unwrap();
        let r = parse(&until_closed(&mut c).0);
        common::check_invariants("POST", "/admin_api/groups", &r);
        r.status
    };
    assert_eq!(post(Some("text/plain")), 415);
    assert_eq!(post(None), 415);
    assert_eq!(post(Some("application/x-www-form-urlencoded")), 415);
    assert_eq!(post(Some("application/jsonp")), 415);
    assert_eq!(s.admin("GET", "/groups", None).json(), json!([]), "refused bodies wrote nothing");
    assert_eq!(post(Some("application/json; charset=utf-8")), 200);
    assert_eq!(post(Some("Application/JSON")), 200);
    // No body needs no media type.
    let gid = s.admin("GET", "/groups", None).json()[0]["id"].as_str().unwrap().to_string();
    s.add_user("bob", "pw");
    let r = common::raw(s.addr, "PUT", &format!("/admin_api/groups/{gid}/members/bob"), None, Some(&t));
    assert!(r.status < 300, "{}: {}", r.status, r.body);
}

#[test]
fn failed_authentications_are_throttled_while_valid_tokens_go_on() {
    let s = Server::start_with(&["--auth-failure-limit", "5", "--auth-failure-window", "30"]);
    let bad = "secret-token:bm90IGEgdG9rZW4";
    assert_eq!(s.admin("GET", "/users", None).status, 200);
    for _ in 0..5 {
        assert_eq!(s.request("GET", "/admin_api/users", None, Some(bad)).status, 401);
    }
    for _ in 0..20 {
        let r = s.request("GET", "/admin_api/users", None, Some(bad));
        assert_eq!(r.status, 429, "{}", r.body);
        let wait: u64 = r.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After");
        assert!((1..=30).contains(&wait), "{wait}");
        // ... while the admin's token keeps working, at full speed.
        let t = Instant::now();
        assert_eq!(s.admin("GET", "/users", None).status, 200);
        assert!(t.elapsed() < Duration::from_millis(500));
    }
    // Bad credentials of any form are held off without being checked.
    assert_eq!(s.request("GET", "/admin_api/users", None, Some("garbage")).status, 429);
    // A request without a credential guesses nothing: a plain 401.
    assert_eq!(s.request("GET", "/admin_api/users", None, None).status, 401);
    // A token first seen while the address is on hold waits too (it could be a guess).
    let o = s.cli(&["token", "create", "--user", "admin"], None);
    let fresh = String::from_utf8(o.stdout).unwrap().trim().to_string();
    assert_eq!(s.request("GET", "/admin_api/users", None, Some(&fresh)).status, 429);

    // A valid token that may not administer: each 403 is audited, so they count too and
    // a flood of them cannot fill the database.
    let s = Server::start_with(&["--auth-failure-limit", "3"]);
    s.add_user("carol", "pw");
    let o = s.cli(&["token", "create", "--user", "carol", "--allow-non-admin"], None);
    let carol = String::from_utf8(o.stdout).unwrap().trim().to_string();
    assert_eq!(s.admin("GET", "/audit", None).status, 200, "the admin's token is in use before the flood");
    for _ in 0..3 {
        assert_eq!(s.request("DELETE", "/admin_api/users/admin", None, Some(&carol)).status, 403);
    }
    for _ in 0..10 {
        assert_eq!(s.request("DELETE", "/admin_api/users/admin", None, Some(&carol)).status, 429);
    }
    let entries: Vec<Value> = audit_all(&s).into_iter().filter(|e| e["client"] != "cli").collect();
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().all(|e| e["outcome"] == "refused" && e["actor"] == "carol@localhost"));
}

// --- behind a reverse proxy ------------------------------------------------------------

/// A request as a proxy in front of the service would send it (extra headers).
fn via(
    s: &Server,
    method: &str,
    path: &str,
    body: Option<&str>,
    token: &str,
    headers: &[(&str, &str)],
) -> common::Resp {
    let auth = format!("Bearer {token}");
    let r = common::raw_bytes(s.addr, method, path, body.map(str::as_bytes), Some(&auth), headers);
    common::check_invariants(method, path, &r);
    r
}

#[test]
fn forwarded_addresses_count_only_from_trusted_proxies() {
    let bad = "secret-token:bm90IGEgdG9rZW4";
    // The tests connect from 127.0.0.1: here it is not a trusted proxy, so a forged
    // X-Forwarded-For changes nothing: the audit row and the throttle see 127.0.0.1.
    let s = Server::start_with(&["--trusted-proxies", "10.0.0.1", "--auth-failure-limit", "3"]);
    let forged = [("X-Forwarded-For", "203.0.113.7"), ("Forwarded", "for=198.51.100.1")];
    let r = via(&s, "POST", "/admin_api/groups", Some(r#"{"name":"g"}"#), &s.token, &forged);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(audit_all(&s)[0]["client"], "127.0.0.1");
    for i in 0..3 {
        let spoof = format!("203.0.113.{i}");
        assert_eq!(via(&s, "GET", "/admin_api/users", None, bad, &[("X-Forwarded-For", &spoof)]).status, 401);
    }
    // Rotating the forged address does not escape the hold on the real one.
    assert_eq!(via(&s, "GET", "/admin_api/users", None, bad, &[("X-Forwarded-For", "203.0.113.99")]).status, 429);

    // From a trusted proxy: the client is the right-most address not itself trusted.
    let s = Server::start_with(&["--trusted-proxies", "127.0.0.1,10.0.0.0/8", "--auth-failure-limit", "3"]);
    let r = via(
        &s,
        "POST",
        "/admin_api/groups",
        Some(r#"{"name":"g"}"#),
        &s.token,
        &[("X-Forwarded-For", "198.51.100.66, 203.0.113.7, 10.1.1.1")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(audit_all(&s)[0]["client"], "203.0.113.7", "the forged left part is not taken");
    let r = via(
        &s,
        "POST",
        "/admin_api/groups",
        Some(r#"{"name":"h"}"#),
        &s.token,
        &[("Forwarded", "for=\"[2001:db8::5]:4711\";proto=https")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(audit_all(&s)[0]["client"], "2001:db8::5");
    // Two clients behind the one proxy: one floods bad tokens and is held off; the
    // other is not, and neither is an admin behind the same proxy.
    let attacker = [("X-Forwarded-For", "203.0.113.66")];
    let other = [("X-Forwarded-For", "198.51.100.20")];
    for _ in 0..3 {
        assert_eq!(via(&s, "GET", "/admin_api/users", None, bad, &attacker).status, 401);
    }
    for _ in 0..5 {
        assert_eq!(via(&s, "GET", "/admin_api/users", None, bad, &attacker).status, 429);
    }
    assert_eq!(via(&s, "GET", "/admin_api/users", None, bad, &other).status, 401, "another client is not held");
    assert_eq!(via(&s, "GET", "/admin_api/users", None, &s.token, &other).status, 200);
    assert_eq!(via(&s, "GET", "/admin_api/users", None, &s.token, &[]).status, 200, "nor the proxy itself");
}

#[test]
fn trusted_proxies_must_be_addresses() {
    let o = std::process::Command::new(common::BIN)
        .args(["--database", "/nonexistent/x.sqlite", "serve", "--trusted-proxies", "proxy.example"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("trusted_proxies") && err.contains("proxy.example"), "{err}");
}

// --- HTTPS ---------------------------------------------------------------------------

struct Cert {
    pem: String,
    key: String,
    der: rustls::pki_types::CertificateDer<'static>,
}

fn cert() -> Cert {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    Cert { pem: c.cert.pem(), key: c.key_pair.serialize_pem(), der: c.cert.der().clone() }
}

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// An HTTPS connection that trusts only `trusted`.
fn tls_connect(addr: SocketAddr, trusted: &Cert) -> std::io::Result<Tls> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted.der.clone()).expect("root");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(Arc::new(config), name).expect("client");
    let mut s = rustls::StreamOwned::new(conn, connect(addr));
    // Complete the handshake now, so that a certificate error shows here.
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock)?;
    }
    Ok(s)
}

#[test]
fn https_serves_and_reloads_its_certificate_on_sighup_without_dropping_connections() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let a = cert();
    std::fs::write(&cert_file, &a.pem).unwrap();
    std::fs::write(&key_file, &a.key).unwrap();
    let s = Server::start_with(&["--tls-cert", cert_file.to_str().unwrap(), "--tls-key", key_file.to_str().unwrap()]);
    assert!(s.stdout.iter().any(|l| l.starts_with("prosody-admin listening on https://")), "{:?}", s.stdout);
    let mut old = tls_connect(s.addr, &a).expect("handshake with certificate A");
    let r = get(&mut old, "/users/admin", &s.token);
    assert_eq!((r.status, r.json()["username"].clone()), (200, json!("admin")));
    // Plain HTTP on the HTTPS port gets nothing.
    let mut plain = connect(s.addr);
    plain.write_all(b"GET /admin_api/server/info HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let (out, _) = until_closed(&mut plain);
    assert!(!String::from_utf8_lossy(&out).contains("200 OK"));

    // New certificate, SIGHUP: new handshakes get it...
    let b = cert();
    std::fs::write(&cert_file, &b.pem).unwrap();
    std::fs::write(&key_file, &b.key).unwrap();
    assert!(std::process::Command::new("kill").args(["-HUP", &s.pid().to_string()]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(5);
    while tls_connect(s.addr, &b).is_err() {
        assert!(Instant::now() < deadline, "certificate B never served");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(tls_connect(s.addr, &a).is_err(), "certificate A is gone for new connections");
    let mut new = tls_connect(s.addr, &b).unwrap();
    assert_eq!(get(&mut new, "/server/info", &s.token).status, 200);
    // ... and the connection made before the reload still works.
    assert_eq!(get(&mut old, "/server/info", &s.token).status, 200);

    // A broken reload keeps the certificate in use.
    std::fs::write(&key_file, "not a key").unwrap();
    assert!(std::process::Command::new("kill").args(["-HUP", &s.pid().to_string()]).status().unwrap().success());
    std::thread::sleep(Duration::from_millis(300));
    let mut again = tls_connect(s.addr, &b).expect("still certificate B");
    assert_eq!(get(&mut again, "/server/info", &s.token).status, 200);
}

#[test]
fn tls_settings_are_checked_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.pem");
    let o = std::process::Command::new(common::BIN)
        .arg("--database")
        .arg(dir.path().join("db.sqlite"))
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&missing)
        .arg("--tls-key")
        .arg(&missing)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("none.pem"), "{}", String::from_utf8_lossy(&o.stderr));
    let o = std::process::Command::new(common::BIN)
        .arg("--database")
        .arg(dir.path().join("db.sqlite"))
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&missing)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("tls_cert and tls_key go together"));
}

// --- audit log -------------------------------------------------------------------------

fn audit_all(s: &Server) -> Vec<Value> {
    let page = s.admin("GET", "/audit?limit=1000", None).json();
    assert!(page.get("next").is_none());
    page["entries"].as_array().unwrap().clone()
}

#[test]
fn audit_log_records_every_write_and_no_read() {
    let s = Server::start_logged(&[]);
    s.add_user("bob", "pw");
    let mut expected = Vec::new();
    let mut write = |method: &str, path: &str, body: Option<&str>, op: &str| -> Value {
        let r = s.admin(method, path, body);
        assert!(r.status < 300, "{method} {path}: {} {}", r.status, r.body);
        expected.push((op.to_string(), method.to_string(), format!("/admin_api{path}")));
        serde_json::from_str(&r.body).unwrap_or(Value::Null)
    };
    write("PUT", "/users/bob", Some(r#"{"display_name":"Bob"}"#), "updateUser");
    write("PATCH", "/users/bob", Some(r#"{"enabled":false}"#), "patchUser");
    let inv = write("POST", "/invites/account", Some("{}"), "createInviteForAccount");
    let id = inv["id"].as_str().unwrap();
    write("DELETE", &format!("/invites/{id}"), None, "deleteInvite");
    write("POST", "/invites/group", Some(r#"{"group_options":{"name":"Friends"}}"#), "createInviteForGroup");
    write("POST", "/invites/reset", Some(r#"{"username":"bob"}"#), "createInviteForAccountReset");
    let g = write("POST", "/groups", Some(r#"{"name":"Team"}"#), "createGroup");
    let gid = g["id"].as_str().unwrap();
    write("PUT", &format!("/groups/{gid}"), Some(r#"{"name":"Team 2"}"#), "updateGroup");
    write("PUT", &format!("/groups/{gid}/members/bob"), None, "addGroupMember");
    let chat = write("POST", &format!("/groups/{gid}/chats"), Some(r#"{"name":"Chat"}"#), "createGroupChat");
    let cid = chat["id"].as_str().unwrap();
    write("DELETE", &format!("/groups/{gid}/chats/{cid}"), None, "deleteGroupChat");
    write("DELETE", &format!("/groups/{gid}/members/bob"), None, "deleteGroupMember");
    write("DELETE", &format!("/groups/{gid}"), None, "deleteGroup");
    write("POST", "/server/announcement", Some(r#"{"body":"hi","recipients":"all"}"#), "postServerAnnouncement");
    write("DELETE", "/users/bob", None, "deleteUser");
    let writes = expected.len();

    // Reads and failed writes leave nothing.
    for p in ["/users", "/users/admin", "/groups", "/invites", "/server/info", "/server/metrics", "/audit"] {
        assert_eq!(s.admin("GET", p, None).status, 200);
    }
    assert_eq!(s.admin("HEAD", "/users", None).status, 200);
    assert_eq!(s.admin("POST", "/groups", Some(r#"{"name":""}"#)).status, 400);
    assert_eq!(s.admin("PUT", "/groups/nosuchgroup/members/admin", None).status, 404);
    assert_eq!(s.admin("DELETE", "/users/admin", None).status, 409);

    // The CLI's write (the `user add` above) is in the log too, as the local user's.
    let (cli, entries): (Vec<Value>, Vec<Value>) = audit_all(&s).into_iter().partition(|e| e["client"] == "cli");
    assert_eq!(cli.len(), 1, "{cli:#?}");
    assert_eq!(
        (
            cli[0]["operation"].as_str(),
            cli[0]["method"].as_str(),
            cli[0]["target"].as_str(),
            cli[0]["outcome"].as_str()
        ),
        (Some("user add"), Some("CLI"), Some("bob"), Some("success"))
    );
    let me = std::env::var("USER").unwrap_or_default();
    assert!(me.is_empty() || cli[0]["actor"] == me.as_str(), "{:?}", cli[0]);
    assert!(cli[0].get("token_id").is_none());
    assert_eq!(entries.len(), writes, "{entries:#?}");
    let token_id = entries[0]["token_id"].as_str().unwrap().to_string();
    assert!(token_id.starts_with("grant:"), "{token_id}");
    // Newest first.
    for (e, (op, method, target)) in entries.iter().zip(expected.iter().rev()) {
        assert_eq!(
            (e["operation"].as_str(), e["method"].as_str(), e["target"].as_str()),
            (Some(op.as_str()), Some(method.as_str()), Some(target.as_str()))
        );
        assert_eq!(e["actor"], "admin@localhost");
        assert_eq!(e["client"], "127.0.0.1");
        assert_eq!(e["outcome"], "success");
        assert_eq!(e["token_id"].as_str(), Some(token_id.as_str()));
        assert!(e.get("status").is_none());
        assert!((e["time"].as_i64().unwrap() - common::now()).abs() < 60);
    }

    // A refused admin action is recorded, with the token's owner.
    s.add_user("carol", "pw");
    let o = s.cli(&["token", "create", "--user", "carol", "--allow-non-admin"], None);
    let carol = String::from_utf8(o.stdout).unwrap().trim().to_string();
    assert_eq!(s.request("DELETE", "/admin_api/users/admin", None, Some(&carol)).status, 403);
    let e = &audit_all(&s)[0];
    let ops: Vec<String> = audit_all(&s)
        .iter()
        .filter(|e| e["client"] == "cli")
        .map(|e| e["operation"].as_str().unwrap().into())
        .collect();
    assert_eq!(ops, ["token create", "user add", "user add"], "newest first");
    assert_eq!(
        (e["actor"].as_str(), e["outcome"].as_str(), e["status"].as_i64(), e["operation"].as_str()),
        (Some("carol@localhost"), Some("refused"), Some(403), Some("deleteUser"))
    );

    // Pages: every entry exactly once, in order.
    let all: Vec<String> = audit_all(&s).iter().map(|e| e["id"].as_str().unwrap().to_string()).collect();
    let mut paged = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let q = match &next {
            Some(n) => format!("/audit?limit=4&before={n}"),
            None => "/audit?limit=4".to_string(),
        };
        let page = s.admin("GET", &q, None).json();
        let entries = page["entries"].as_array().unwrap();
        assert!(entries.len() <= 4);
        paged.extend(entries.iter().map(|e| e["id"].as_str().unwrap().to_string()));
        match page.get("next").and_then(Value::as_str) {
            Some(n) => next = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(paged, all);
    for bad in ["/audit?limit=0", "/audit?limit=1001", "/audit?before=abc", "/audit?before=-1"] {
        assert_eq!(s.admin("GET", bad, None).status, 400, "{bad}");
    }
    assert_eq!(s.admin("GET", "/audit?before=0", None).json(), json!({"entries": []}), "nothing before the first");

    // The command line shows the same log.
    let o = s.cli(&["audit", "--json", "--limit", "1000"], None);
    assert!(o.status.success());
    let cli: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(cli["entries"].as_array().unwrap().len(), all.len());
    assert_eq!(cli["entries"][0], audit_all(&s)[0]);
    let o = s.cli(&["audit", "--limit", "2"], None);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("carol@localhost") && text.contains("refused 403") && text.contains("more: --before "));
    assert!(!s.cli(&["audit", "--limit", "0"], None).status.success());

    // No token secret anywhere: not in the log's entries, rows or the server's log.
    let secret_part = |t: &str| t.trim_start_matches("secret-token:").to_string();
    let rows: Vec<String> = {
        let c = s.sqlite();
        let mut st = c.prepare("SELECT value FROM prosodyarchive WHERE store='prosody_admin_audit'").unwrap();
        st.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(rows.len(), all.len());
    let log = std::fs::read_to_string(s.log_file()).unwrap();
    assert!(log.lines().filter(|l| l.contains(" /admin_api/")).count() > writes, "a line per request");
    let api = s.admin("GET", "/audit?limit=1000", None).body;
    for t in [&s.token, &carol] {
        for hay in [&api, &log, &rows.join("\n"), &text] {
            assert!(!hay.contains(&secret_part(t)), "token secret leaked");
        }
    }
}

#[test]
fn audit_entries_of_012_tokens_name_them_without_the_secret() {
    let s = Server::start_version("0.12", &[]);
    assert_eq!(s.admin("POST", "/groups", Some(r#"{"name":"Team"}"#)).status, 200);
    let e = &audit_all(&s)[0];
    let id = e["token_id"].as_str().unwrap();
    assert!(id.starts_with("sha256:") && id.len() == 7 + 16, "{id}");
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD.decode(&s.token).unwrap();
    let token_id = String::from_utf8(raw).unwrap().rsplit(';').next().unwrap().to_string();
    assert!(!serde_json::to_string(e).unwrap().contains(&token_id));
    assert!(!serde_json::to_string(e).unwrap().contains(&s.token));
}

#[test]
fn json_log_lines_for_collectors() {
    let s = Server::start_logged(&["--log-format", "json"]);
    assert_eq!(s.admin("GET", "/users", None).status, 200);
    assert_eq!(s.request("GET", "/admin_api/users", None, Some("bad")).status, 401);
    let log = std::fs::read_to_string(s.log_file()).unwrap();
    let lines: Vec<Value> =
        log.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    let requests: Vec<&Value> =
        lines.iter().filter(|l| l["message"].as_str().is_some_and(|m| m.starts_with("GET /admin_api/users"))).collect();
    assert_eq!(requests.len(), 2, "{log}");
    for l in &lines {
        assert!(l["time"].is_string() && l["level"].is_string() && l["target"].is_string(), "{l}");
    }
    assert!(requests[1]["message"].as_str().unwrap().contains(" 401 "));
    assert!(!log.contains(&s.token));
}

#[test]
fn monitoring_listener_serves_metrics_and_health_only() {
    let s = Server::start_with(&["--metrics-listen", "127.0.0.1:0"]);
    let line = s.stdout.iter().find_map(|l| l.strip_prefix("prosody-admin metrics on http://")).expect("metrics line");
    let addr: SocketAddr = line.trim_end_matches("/metrics").parse().unwrap();
    assert_eq!(s.admin("GET", "/users", None).status, 200);
    let m = common::raw(addr, "GET", "/metrics", None, None);
    assert_eq!(m.status, 200);
    assert_eq!(m.header("content-type"), Some("application/openmetrics-text; version=1.0.0; charset=utf-8"));
    assert!(
        m.body.contains("prosody_admin_requests_total{host=\"localhost\",operation=\"listUsers\",status=\"200\"} 1"),
        "{}",
        m.body
    );
    assert!(m.body.ends_with("# EOF\n"));
    assert_eq!(common::raw(addr, "GET", "/readyz", None, None).status, 200);
    assert_eq!(common::raw(addr, "GET", "/healthz", None, None).status, 200);
    // Nothing of the API there, with or without a token.
    let t = format!("Bearer {}", s.token);
    assert_eq!(common::raw(addr, "GET", "/admin_api/users", None, Some(&t)).status, 404);
    assert_eq!(common::raw(addr, "POST", "/metrics", Some("{}"), None).status, 405);
}

// --- audit retention and filters ---------------------------------------------------

#[test]
fn audit_retention_keeps_the_newest_entries() {
    let s = Server::start_with(&["--audit-max-entries", "1000"]);
    // 5 000 writes from 8 clients at once (batches of several writes per commit).
    let (addr, token) = (s.addr, s.token.clone());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let token = token.clone();
            std::thread::spawn(move || {
                for _ in 0..625 {
                    let r = common::raw(
                        addr,
                        "POST",
                        "/admin_api/invites/account",
                        Some("{}"),
                        Some(&format!("Bearer {token}")),
                    );
                    assert_eq!(r.status, 200, "{}", r.body);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let c = s.sql();
    let audited: i64 = c.one(r#"SELECT count(*) FROM "prosodyarchive" WHERE "store"='prosody_admin_audit'"#, &[]);
    assert_eq!(audited, 1000, "the newest 1 000 entries stay");
    let invites: i64 = c.one(r#"SELECT count(*) FROM "prosody" WHERE "store"='invite_token'"#, &[]);
    assert_eq!(invites, 5000, "every write is there");
    // The ones kept are the newest: the positions stay contiguous at the top.
    let (lo, hi): (i64, i64) = (
        c.one(r#"SELECT min("sort_id") FROM "prosodyarchive" WHERE "store"='prosody_admin_audit'"#, &[]),
        c.one(r#"SELECT max("sort_id") FROM "prosodyarchive" WHERE "store"='prosody_admin_audit'"#, &[]),
    );
    assert_eq!(hi - lo, 999, "{lo}..{hi}");
    let page = s.admin("GET", "/audit?limit=1000", None).json();
    assert_eq!(page["entries"].as_array().unwrap().len(), 1000);
    assert!(page.get("next").is_none());

    // By age: entries older than the limit go with the next writes.
    let s = Server::start_with(&["--audit-max-age", "1h"]);
    let old = common::now() - 7200;
    for i in 0..10 {
        common::put_archive(
            &s.sql(),
            "localhost",
            "",
            "prosody_admin_audit",
            &format!("old{i}"),
            old,
            "admin@localhost",
            "json",
            r#"{"actor":"admin@localhost","client":"127.0.0.1","operation":"createGroup","method":"POST","target":"/admin_api/groups","outcome":"success"}"#,
        );
    }
    assert_eq!(s.admin("POST", "/groups", Some(r#"{"name":"g"}"#)).status, 200);
    let times: Vec<i64> = s.admin("GET", "/audit", None).json()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["time"].as_i64().unwrap())
        .collect();
    assert_eq!(times.len(), 1, "{times:?}");
    assert!(times[0] > old);
    for bad in [&["--audit-max-entries", "0"][..], &["--audit-max-age", "ten days"][..]] {
        let mut args = vec!["--database", "/nonexistent/x.sqlite", "serve"];
        args.extend_from_slice(bad);
        let o = std::process::Command::new(common::BIN).args(&args).output().unwrap();
        assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("audit_max"), "{bad:?}");
    }
}

#[test]
fn audit_filters() {
    let s = Server::start();
    s.add_user("bob", "pw");
    let t0 = common::now();
    assert_eq!(s.admin("POST", "/groups", Some(r#"{"name":"g"}"#)).status, 200);
    assert_eq!(s.admin("PUT", "/users/bob", Some(r#"{"display_name":"Bob"}"#)).status, 200);
    let ops = |q: &str| -> Vec<String> {
        let r = s.admin("GET", &format!("/audit{q}"), None);
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        r.json()["entries"].as_array().unwrap().iter().map(|e| e["operation"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(ops(""), ["updateUser", "createGroup", "user add"]);
    assert_eq!(ops("?operation=createGroup"), ["createGroup"]);
    assert_eq!(ops("?operation=user%20add"), ["user add"]);
    assert_eq!(ops("?actor=admin%40localhost"), ["updateUser", "createGroup"]);
    assert_eq!(ops(&format!("?since={}", t0 + 3600)), Vec::<String>::new());
    assert_eq!(ops(&format!("?until={}", t0 - 3600)), Vec::<String>::new());
    assert_eq!(ops(&format!("?since={}&until={}&actor=admin%40localhost&limit=1", t0 - 5, t0 + 60)), ["updateUser"]);
    assert_eq!(ops(&format!("?since={}&until={}", t0 + 10, t0)), Vec::<String>::new(), "an empty range");
    assert_eq!(s.admin("GET", &format!("/audit?operation={}", "x".repeat(201)), None).status, 400);
    assert_eq!(s.admin("GET", "/audit?since=-1", None).status, 400);
    assert_eq!(s.admin("GET", "/audit?until=9223372036854775808", None).status, 400, "beyond int64");
    let o = s.cli(&["audit", "--operation", "user add", "--json"], None);
    assert!(o.status.success());
    let page: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(page["entries"].as_array().unwrap().len(), 1);
    assert_eq!(page["entries"][0]["client"], "cli");
}
