//! The auth matrix: every operation × every kind of bad credential → 401 (with a
//! `WWW-Authenticate: Bearer` challenge) or 403, a JSON error body, and no effect.

mod common;

use common::{now, token_string, Server};
use serde_json::json;

/// Every operation of the spec that needs a token, with a body where one is expected.
const OPERATIONS: &[(&str, &str, Option<&str>)] = &[
    ("GET", "/users", None),
    ("GET", "/users/bob", None),
    ("PUT", "/users/bob", Some(r#"{"display_name":"x"}"#)),
    ("PATCH", "/users/bob", Some(r#"{"enabled":true}"#)),
    ("DELETE", "/users/bob", None),
    ("GET", "/users/bob/groups", None),
    ("GET", "/users/bob/debug", None),
    ("GET", "/invites", None),
    ("POST", "/invites/account", Some("{}")),
    ("POST", "/invites/group", Some(r#"{"group_options":{"name":"g"}}"#)),
    ("POST", "/invites/reset", Some(r#"{"username":"bob"}"#)),
    ("GET", "/invites/sometoken", None),
    ("DELETE", "/invites/sometoken", None),
    ("GET", "/groups", None),
    ("POST", "/groups", Some(r#"{"name":"g"}"#)),
    ("GET", "/groups/someid", None),
    ("DELETE", "/groups/someid", None),
    ("PUT", "/groups/someid", Some(r#"{"name":"g"}"#)),
    ("POST", "/groups/someid/chats", Some(r#"{"name":"c"}"#)),
    ("DELETE", "/groups/someid/chats/somechat", None),
    ("PUT", "/groups/someid/members/bob", None),
    ("DELETE", "/groups/someid/members/bob", None),
    ("GET", "/server/info", None),
    ("GET", "/server/metrics", None),
    ("POST", "/server/announcement", Some(r#"{"body":"hi","recipients":"all"}"#)),
    ("GET", "/audit", None),
];

#[test]
fn every_operation_refuses_bad_credentials() {
    // Hundreds of bad tokens from one address: throttling (tested on its own) would
    // answer 429 long before the matrix is through.
    let s = Server::start_version("0.12", &["--auth-failure-limit", "100000"]);
    s.add_user("bob", "pw");
    let c = s.sql();
    // Tokens as Prosody's mod_tokenauth stores them.
    let row = |id: &str, v: serde_json::Value| {
        common::put_row(&c, "localhost", "admin", "auth_tokens", id, "json", &v.to_string())
    };
    let session = json!({"username": "admin", "host": "localhost", "auth_scope": "prosody:scope:admin"});
    row(
        "expiredtokenid",
        json!({"owner": "admin@localhost", "jid": "admin@localhost", "created": now() - 100, "expires": now() - 10, "session": session}),
    );
    row(
        "noscopetokenid",
        json!({"owner": "admin@localhost", "jid": "admin@localhost", "created": now(), "session": {"username": "admin", "host": "localhost"}}),
    );
    row(
        "userscopetokenid",
        json!({"owner": "admin@localhost", "jid": "admin@localhost", "created": now(), "session": {"username": "admin", "host": "localhost", "auth_scope": "prosody:scope:default"}}),
    );
    let expired = token_string("admin@localhost", "expiredtokenid");
    let no_scope = token_string("admin@localhost", "noscopetokenid");
    let user_scope = token_string("admin@localhost", "userscopetokenid");
    let out = s.cli(&["token", "create", "--user", "admin"], None);
    let revoked = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(s.cli(&["token", "revoke", &revoked], None).status.success());
    let non_admin = String::from_utf8(s.cli(&["token", "create", "--user", "bob", "--allow-non-admin"], None).stdout)
        .unwrap()
        .trim()
        .to_string();
    let other_host = token_string("admin@example.org", "whatever");

    let cases: Vec<(&str, Option<String>, u16)> = vec![
        ("no header", None, 401),
        ("garbage", Some("Bearer garbage!!".into()), 401),
        ("not bearer", Some(format!("Basic {}", s.token)), 401),
        ("unknown id", Some(format!("Bearer {}", token_string("admin@localhost", "nosuchid"))), 401),
        ("other host", Some(format!("Bearer {other_host}")), 401),
        ("expired", Some(format!("Bearer {expired}")), 401),
        ("revoked", Some(format!("Bearer {revoked}")), 401),
        ("no scope", Some(format!("Bearer {no_scope}")), 403),
        ("non-admin scope", Some(format!("Bearer {user_scope}")), 403),
        ("admin scope, non-admin user", Some(format!("Bearer {non_admin}")), 403),
    ];
    let before: i64 = c.one("SELECT count(*) FROM prosody", &[]);
    for (method, path, body) in OPERATIONS {
        let path = format!("/admin_api{path}");
        for (name, header, want) in &cases {
            let r = common::raw(s.addr, method, &path, *body, header.as_deref());
            common::check_invariants(method, &path, &r);
            assert_eq!(r.status, *want, "{method} {path} with {name}: {}", r.body);
            if *want == 401 {
                assert_eq!(
                    r.header("www-authenticate"),
                    Some("Bearer realm=\"localhost/admin_api\""),
                    "{method} {path} {name}"
                );
            }
        }
    }
    let after: i64 = c.one("SELECT count(*) FROM prosody", &[]);
    assert_eq!(before, after, "a refused request wrote to the database");
    // What a refused request leaves is its audit entry: one per 403 (a token whose
    // owner may not do this), none for a 401 (no identity to record).
    let audited: i64 = c.one(
        "SELECT count(*) FROM prosodyarchive WHERE store='prosody_admin_audit' AND value LIKE '%\"refused\"%' AND value LIKE '%\"status\":403%'",
        &[],
    );
    let forbidden = cases.iter().filter(|c| c.2 == 403).count() * OPERATIONS.len();
    assert_eq!(audited as usize, forbidden);
    // And the admin token still works on all of them (no 401/403).
    for (method, path, body) in OPERATIONS {
        let r = s.admin(method, path, *body);
        assert!(r.status != 401 && r.status != 403, "{method} {path}: {}", r.status);
    }
}

#[test]
fn configured_admins_need_no_role_and_prosody_minted_tokens_work() {
    let s = Server::start_version("0.12", &["--admins", "boss@localhost"]);
    s.add_user("boss", "pw");
    // A token exactly as Prosody 0.12 mints it (storage reference, "Auth tokens").
    let c = s.sql();
    let v = json!({"session": {"username": "boss", "auth_scope": "prosody:scope:admin", "host": "localhost"},
        "created": 1795687791, "jid": "boss@localhost", "owner": "boss@localhost"});
    common::put_row(
        &c,
        "localhost",
        "boss",
        "auth_tokens",
        "BVnTTK3rTfOcD1ehlWXNfJiVmx_1BY2BK5_I",
        "json",
        &v.to_string(),
    );
    let t = token_string("boss@localhost", "BVnTTK3rTfOcD1ehlWXNfJiVmx_1BY2BK5_I");
    let r = s.request("GET", "/admin_api/users/boss", None, Some(&t));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["roles"], json!(["prosody:admin"]));
}
