//! The storage contract with Prosody 13 (../shared/reference/prosody-13.md), and the
//! choice of layout: a new database gets 13's schema; an existing one keeps its own, and
//! a configured version that disagrees stops the start before anything is written.

mod common;

use backend::token::SecretToken;
use common::{cli, eventually, now, put_row, token_string, Server};
use serde_json::json;

fn schema(db: &std::path::Path) -> Vec<(String, String)> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut st = c.prepare("SELECT type, name FROM sqlite_master ORDER BY name").unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

fn rows(db: &std::path::Path) -> i64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row("SELECT count(*) FROM prosody", [], |r| r.get(0)).unwrap()
}

fn has_index(db: &std::path::Path, name: &str) -> bool {
    schema(db).iter().any(|(t, n)| t == "index" && n == name)
}

#[test]
fn new_database_gets_prosody_13s_layout() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    // No version option at all: 13.
    let s = Server::start_on(dir, db.clone(), &[]);
    assert!(has_index(&db, "prosody_unique_index") && !has_index(&db, "prosody_index"));
    assert!(s.token.starts_with("secret-token:"), "bootstrap token in 13's format");
    let c = s.sqlite();
    let acct: Vec<String> = c
        .prepare("SELECT key FROM prosody WHERE user='admin' AND store='accounts' ORDER BY key")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(acct, ["created", "iteration_count", "salt", "server_key", "stored_key", "updated"]);
    let primary: String = c
        .query_row(
            "SELECT value FROM prosody WHERE user='admin' AND store='account_roles' AND key='_default'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(primary, "prosody:admin");
    assert_eq!(s.admin("GET", "/users/admin", None).json()["roles"], json!(["prosody:admin"]));
}

#[test]
fn mismatched_version_stops_the_start_and_writes_nothing() {
    for (created, wanted, hint) in [("0.12", "13", "mod_storage_sql upgrade"), ("13", "0.12", "Prosody 13")] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db.sqlite");
        let o = cli(&db, &["--prosody-version", created, "user", "add", "someone"], Some("pw\n"));
        assert!(o.status.success());
        let (before_schema, before_rows) = (schema(&db), rows(&db));
        let bytes = std::fs::read(&db).unwrap();
        let o = cli(&db, &["--prosody-version", wanted, "serve", "--listen", "127.0.0.1:0"], None);
        assert!(!o.status.success(), "{created} database served as {wanted}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(hint) && err.contains(&format!("Prosody {created}")), "{err}");
        assert_eq!((schema(&db), rows(&db)), (before_schema, before_rows));
        assert_eq!(std::fs::read(&db).unwrap(), bytes, "the file is byte for byte unchanged");
        // Without the option, the database's own version is used.
        let o = cli(&db, &["token", "list"], None);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

/// A grant with one token, as Prosody 13's mod_tokenauth writes it.
fn grant(s: &Server, user: &str, role: Option<&str>, created: i64, token_expires: Option<i64>) -> String {
    let gid = format!("g{}", rand_suffix());
    let t = SecretToken::new(&gid, user, "localhost", *b"0123456789abcdefgh");
    let mut tok = json!({"created": created});
    if let Some(r) = role {
        tok["role"] = json!(r);
    }
    if let Some(e) = token_expires {
        tok["expires"] = json!(e);
    }
    let jid = format!("{user}@localhost");
    let g = json!({"id": gid, "owner": jid, "created": created, "accessed": created, "jid": jid,
                   "tokens": {t.hash_key(): tok}});
    put_row(&s.sqlite(), "localhost", user, "auth_tokens", &gid, "json", &g.to_string());
    t.encode()
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

fn status(s: &Server, token: &str) -> u16 {
    s.request("GET", "/admin_api/users", None, Some(token)).status
}

#[test]
fn prosody_13_tokens() {
    let s = Server::start_version("13", &[]);
    s.add_user("bob", "pw");
    // Grants from before an account's last password change are void: these are newer.
    let t0 = now();
    // Valid: the admin's own role.
    let good = grant(&s, "admin", Some("prosody:admin"), t0, Some(now() + 3600));
    assert_eq!(status(&s, &good), 200);
    // The same grant, another secret: 401.
    let mut raw = good.clone();
    raw.replace_range(raw.len() - 30..raw.len() - 26, "AAAA");
    assert_eq!(status(&s, &raw), 401);
    // Expired token; token without a role; a role the admin cannot assume; 0.12 form.
    assert_eq!(status(&s, &grant(&s, "admin", Some("prosody:admin"), t0, Some(now() - 1))), 401);
    assert_eq!(status(&s, &grant(&s, "admin", None, t0, None)), 403);
    assert_eq!(status(&s, &grant(&s, "admin", Some("prosody:operator"), t0, None)), 403);
    assert_eq!(status(&s, &token_string("admin@localhost", "whatever")), 401);
    // A non-admin: with the admin role (cannot assume it) or with its own role.
    assert_eq!(status(&s, &grant(&s, "bob", Some("prosody:admin"), t0, None)), 403);
    assert_eq!(status(&s, &grant(&s, "bob", Some("prosody:registered"), t0, None)), 403);
    // Once bob holds prosody:admin as a secondary role, his admin-role token works...
    let bob = grant(&s, "bob", Some("prosody:admin"), t0, None);
    put_row(&s.sqlite(), "localhost", "bob", "account_roles", "prosody:admin", "boolean", "true");
    assert_eq!(status(&s, &bob), 200);
    // ... until the account is disabled (Prosody 13's flag) ...
    // (Writes by another process reach the auth cache within its watch interval.)
    put_row(&s.sqlite(), "localhost", "bob", "accounts", "disabled", "boolean", "true");
    assert_eq!(eventually(|| status(&s, &bob), 401), 401);
    s.sqlite().execute("DELETE FROM prosody WHERE user='bob' AND key='disabled'", []).unwrap();
    assert_eq!(eventually(|| status(&s, &bob), 200), 200);
    // ... or its password changes after the grant (`updated`; whole seconds).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let o = s.cli(&["user", "passwd", "bob"], Some("new-pw\n"));
    assert!(o.status.success());
    assert_eq!(eventually(|| status(&s, &bob), 401), 401);

    // The CLI mints, lists and revokes 13 tokens.
    let out = s.cli(&["token", "create", "--user", "admin", "--ttl", "600"], None);
    let minted = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(minted.starts_with("secret-token:"));
    assert_eq!(status(&s, &minted), 200);
    let list = String::from_utf8(s.cli(&["token", "list"], None).stdout).unwrap();
    assert!(list.contains("admin@localhost\tscope=prosody:admin"), "{list}");
    assert!(!list.contains(&minted[14..]), "no secret in the listing");
    assert!(s.cli(&["token", "revoke", &minted], None).status.success());
    assert_eq!(eventually(|| status(&s, &minted), 401), 401);
    assert!(!s.cli(&["token", "revoke", &minted], None).status.success(), "second revoke: no such token");
}

#[test]
fn prosody_13_roles() {
    let s = Server::start_version("13", &[]);
    s.add_user("carol", "pw");
    let c = s.sqlite();
    put_row(&c, "localhost", "carol", "account_roles", "_default", "string", "prosody:member");
    put_row(&c, "localhost", "carol", "account_roles", "custom:role", "boolean", "true");
    // 0.12's store means nothing to 13.
    put_row(&c, "localhost", "carol", "roles", "prosody:admin", "boolean", "true");
    assert_eq!(s.admin("GET", "/users/carol", None).json()["roles"], json!(["custom:role", "prosody:member"]));
    assert_eq!(s.admin("GET", "/users", None).json()[1]["roles"], json!(["custom:role", "prosody:member"]));

    let r = s.admin("PUT", "/users/carol", Some(r#"{"roles":["x:y","prosody:admin","prosody:member"]}"#));
    assert_eq!(r.status, 200, "{}", r.body);
    let stored = |s: &Server| -> Vec<(String, String)> {
        let c = s.sqlite();
        let mut st = c
            .prepare("SELECT key, value FROM prosody WHERE user='carol' AND store='account_roles' ORDER BY key")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    };
    // The most powerful built-in role is primary; the others secondary.
    let want: Vec<(String, String)> = [("_default", "prosody:admin"), ("prosody:member", "true"), ("x:y", "true")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(stored(&s), want);
    // The default role is not stored, as Prosody's set_user_role.
    let r = s.admin("PUT", "/users/carol", Some(r#"{"roles":["prosody:registered"]}"#));
    assert_eq!(r.json()["roles"], json!(["prosody:registered"]));
    assert!(stored(&s).is_empty());
    // `_default` is not a role name.
    assert_eq!(s.admin("PUT", "/users/carol", Some(r#"{"roles":["_default"]}"#)).status, 400);
    // With its own token the admin becomes neither a member nor an operator: its token's
    // role (prosody:admin) would no longer be one it may assume, and the token would die
    // at once (issue 32: self-demotion is refused, as the docs say).
    assert_eq!(s.admin("PUT", "/users/admin", Some(r#"{"roles":["prosody:member"]}"#)).status, 409);
    assert_eq!(s.admin("PUT", "/users/admin", Some(r#"{"roles":["prosody:operator"]}"#)).status, 409);
    assert_eq!(s.admin("GET", "/users/admin", None).json()["role"], "prosody:admin");
}
