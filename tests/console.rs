//! The web console's server side: its files with their policy, the password sign-in
//! (checked as Prosody checks passwords, throttled like a bad token, admins only, the
//! token minted in the database's own format), sign-out, the `console` switch and the
//! `X-Prosody-Host` header the console's host switcher sends. The page itself is driven
//! in Chromium by tests/docs/console.test.mjs.

mod common;

use common::{now, raw_bytes, Server};
use serde_json::{json, Value};

fn sign_in(s: &Server, user: &str, password: &str) -> common::Resp {
    let body = json!({"username": user, "password": password}).to_string();
    s.request("POST", "/admin_api/console/session", Some(&body), None)
}

/// A server of `version` with `boss` (admin, password `right horse`) and `pleb` (a
/// plain account with a password).
fn server(version: &str, extra: &[&str]) -> Server {
    let s = Server::start_version(version, extra);
    s.add_user("boss", "right horse");
    s.add_user("pleb", "pleb password");
    let role = match version {
        "0.12" => r#"{"roles":["prosody:admin"]}"#,
        _ => r#"{"role":"prosody:admin"}"#,
    };
    let r = s.admin("PUT", "/users/boss", Some(role));
    assert_eq!(r.status, 200, "{}", r.body);
    s
}

fn audit(s: &Server) -> Vec<Value> {
    let r = s.admin("GET", "/audit?operation=createConsoleSession", None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["entries"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_password_signs_an_admin_in_and_sign_out_revokes_the_token() {
    for version in ["13", "0.12"] {
        let s = server(version, &[]);
        let r = sign_in(&s, "boss", "right horse");
        assert_eq!(r.status, 201, "{version}: {}", r.body);
        let session = r.json();
        assert_eq!(session["jid"], "boss@localhost");
        let expires = session["expires"].as_i64().expect("expires");
        assert!((expires - now() - 3600).abs() < 30, "{version}: expires {expires}");
        let token = session["token"].as_str().expect("token").to_string();
        match version {
            "13" => {
                assert!(token.starts_with("secret-token:"), "{token}");
                assert_eq!(session["role"], "prosody:admin");
            }
            _ => assert_eq!(session["role"], "prosody:scope:admin"),
        }
        // The token is Prosody's own: stored where mod_tokenauth keeps tokens.
        let rows: i64 =
            s.sql().one("SELECT COUNT(*) FROM prosody WHERE store = 'auth_tokens' AND \"user\" = ?", &["boss"]);
        assert_eq!(rows, 1, "{version}");
        let users = s.request("GET", "/admin_api/users", None, Some(&token));
        assert_eq!(users.status, 200, "{version}: {}", users.body);
        // Audited as the account, with the token's id.
        let entries = audit(&s);
        assert_eq!(entries.len(), 1, "{version}: {entries:?}");
        assert_eq!(entries[0]["actor"], "boss@localhost");
        assert_eq!(entries[0]["outcome"], "success");
        assert!(entries[0]["token_id"].as_str().is_some_and(|t| !t.is_empty()), "{entries:?}");
        // Sign-out: 204, the token is gone (401), and Prosody's row with it.
        let out = s.request("DELETE", "/admin_api/console/session", None, Some(&token));
        assert_eq!(out.status, 204, "{version}: {}", out.body);
        assert_eq!(s.request("GET", "/admin_api/users", None, Some(&token)).status, 401, "{version}");
        // The bootstrap token still works: only the presented one went.
        assert_eq!(s.admin("GET", "/users", None).status, 200);
        let signed_out = s.admin("GET", "/audit?operation=endConsoleSession", None).json();
        assert_eq!(signed_out["entries"][0]["actor"], "boss@localhost", "{signed_out}");
    }
}

#[test]
fn wrong_passwords_are_401_and_throttled_like_bad_tokens() {
    let s = server("13", &["--auth-failure-limit", "3"]);
    let wrong = sign_in(&s, "boss", "wrong horse");
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert_eq!(wrong.json()["error"]["condition"], "not-authorized");
    // An unknown account gets the very same answer.
    let unknown = sign_in(&s, "nobody", "wrong horse");
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.json()["error"]["text"], wrong.json()["error"]["text"]);
    // A name no account can have: the same again (not a 400 that tells it apart).
    assert_eq!(sign_in(&s, "no body", "x").status, 401);
    // Three failures: held, even with the right password now.
    let held = sign_in(&s, "boss", "right horse");
    assert_eq!(held.status, 429, "{}", held.body);
    assert!(held.header("retry-after").is_some_and(|v| v.parse::<u64>().is_ok_and(|n| n >= 1)), "{:?}", held.headers);
    // Nothing was minted, nothing audited.
    let rows: i64 = s.sql().one("SELECT COUNT(*) FROM prosody WHERE store = 'auth_tokens' AND \"user\" = ?", &["boss"]);
    assert_eq!(rows, 0);
    assert!(audit(&s).is_empty());
}

#[test]
fn accounts_that_may_not_administer_are_refused() {
    let s = server("13", &[]);
    let r = sign_in(&s, "pleb", "pleb password");
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.json()["error"]["condition"], "forbidden");
    let rows: i64 = s.sql().one("SELECT COUNT(*) FROM prosody WHERE store = 'auth_tokens' AND \"user\" = ?", &["pleb"]);
    assert_eq!(rows, 0, "no token for a non-admin");
    let entries = audit(&s);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["actor"], "pleb@localhost");
    assert_eq!(entries[0]["outcome"], "refused");
    assert_eq!(entries[0]["status"], 403);
    // A disabled admin cannot sign in (as Prosody refuses its login).
    assert_eq!(s.admin("PATCH", "/users/boss", Some(r#"{"enabled":false}"#)).status, 200);
    assert_eq!(sign_in(&s, "boss", "right horse").status, 401);
    // Bad bodies are 400s.
    let r = s.request("POST", "/admin_api/console/session", Some(r#"{"username":"boss"}"#), None);
    assert_eq!(r.status, 400, "{}", r.body);
    let r = s.request("POST", "/admin_api/console/session", Some(r#"{"username":"boss","password":""}"#), None);
    assert_eq!(r.status, 400, "{}", r.body);
}

#[test]
fn the_page_is_served_with_a_strict_policy_and_can_be_switched_off() {
    let s = Server::start();
    let page = s.request("GET", "/admin_api/console/", None, None);
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").is_some_and(|t| t.starts_with("text/html")));
    let csp = page.header("content-security-policy").expect("policy");
    for part in ["script-src 'self';", "style-src 'self';", "connect-src 'self'", "frame-ancestors 'none'"] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("sha256-"), "{csp}");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(page.body.contains("data-host=\"localhost\""), "{}", page.body);
    // No inline script or style at all.
    assert!(!page.body.contains("<script>") && !page.body.contains("<style") && !page.body.contains(" style="));
    let js = s.request("GET", "/admin_api/console/app.js", None, None);
    assert_eq!(js.status, 200);
    assert!(js.header("content-type").is_some_and(|t| t.starts_with("application/javascript")));
    assert_eq!(s.request("GET", "/admin_api/console/app.css", None, None).status, 200);

    let off = Server::start_with(&["--console", "false"]);
    for path in ["/admin_api/console/", "/admin_api/console/app.js", "/admin_api/console/app.css"] {
        let r = off.request("GET", path, None, None);
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
    off.add_user("boss", "right horse");
    assert_eq!(off.admin("PUT", "/users/boss", Some(r#"{"role":"prosody:admin"}"#)).status, 200);
    assert_eq!(sign_in(&off, "boss", "right horse").status, 404);
}

#[test]
fn the_session_lifetime_is_a_setting() {
    let s = server("13", &["--console-session-ttl", "120"]);
    let r = sign_in(&s, "boss", "right horse");
    assert_eq!(r.status, 201, "{}", r.body);
    let expires = r.json()["expires"].as_i64().expect("expires");
    assert!((expires - now() - 120).abs() < 30, "{expires}");
}

#[test]
fn x_prosody_host_names_a_served_host_or_is_404() {
    let s = Server::start();
    let t = format!("Bearer {}", s.token);
    let r = raw_bytes(s.addr, "GET", "/admin_api/users", None, Some(&t), &[("X-Prosody-Host", "localhost")]);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = raw_bytes(s.addr, "GET", "/admin_api/users", None, Some(&t), &[("X-Prosody-Host", "other.example")]);
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.body.contains("localhost"), "{}", r.body);
    let r = raw_bytes(s.addr, "GET", "/admin_api/users", None, Some(&t), &[("X-Prosody-Host", "a b")]);
    assert_eq!(r.status, 400, "{}", r.body);
}
