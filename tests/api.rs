//! Black-box tests of every operation against the spawned binary: success paths and
//! every declared error, malformed input, limits, routing. (Auth: tests/auth.rs;
//! Prosody's row layout: tests/prosody_layout.rs.)

mod common;

use common::Exec;

use common::{default_roles, eventually, is_13, now, seed_fields, token_string, Server};
use serde_json::{json, Value};

fn count_rows(s: &Server) -> (i64, i64) {
    let c = s.sql();
    (c.one("SELECT count(*) FROM prosody", &[]), c.one("SELECT count(*) FROM prosodyarchive", &[]))
}

#[test]
fn first_start_creates_admin_and_private_token_file() {
    let s = Server::start();
    assert!(!s.token.is_empty());
    assert!(s.stdout.iter().any(|l| l.contains(&s.token)), "token printed: {:?}", s.stdout);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(s.dir.path().join("admin-token")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let r = s.admin("GET", "/server/info", None);
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["site_name"], "localhost");
    assert!(v["version"].as_str().unwrap().contains(env!("CARGO_PKG_VERSION")));
    let users = s.admin("GET", "/users", None).json();
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert_eq!(
        seed_fields(&users[0]),
        json!({"username": "admin", "display_name": null, "roles": ["prosody:admin"], "groups": []})
    );
}

#[test]
fn site_name_from_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "site_name = \"Example Chat\"\n").unwrap();
    let s = Server::start_with(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(s.admin("GET", "/server/info", None).json()["site_name"], "Example Chat");
}

#[test]
fn users_get_update_delete() {
    let s = Server::start();
    s.add_user("bob", "pw1");
    s.add_user("Carol", "pw2"); // nodeprep: stored as carol
    let list = s.admin("GET", "/users", None).json();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "bob", "carol"]);

    let bob = s.admin("GET", "/users/bob", None);
    assert_eq!(bob.status, 200);
    assert_eq!(
        seed_fields(&bob.json()),
        json!({"username": "bob", "display_name": null, "roles": default_roles(), "groups": []})
    );
    assert_eq!(s.admin("GET", "/users/CAROL", None).json()["username"], "carol");
    assert_eq!(s.admin("GET", "/users/nobody", None).status, 404);
    assert_eq!(s.admin("GET", "/users/a%40b", None).status, 400);
    assert_eq!(s.admin("GET", "/users/a%20b", None).status, 400);

    // PUT: display name and roles; the response is the updated user.
    let r = s.admin("PUT", "/users/bob", Some(r#"{"display_name":"Bob B.","roles":["custom:role","prosody:admin"]}"#));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["display_name"], "Bob B.");
    let bob = s.admin("GET", "/users/bob", None).json();
    assert_eq!(bob["display_name"], "Bob B.");
    assert_eq!(bob["roles"], json!(["custom:role", "prosody:admin"]));
    // Only the fields given change.
    let r = s.admin("PUT", "/users/bob", Some(r#"{"roles":[]}"#));
    assert_eq!(r.json()["display_name"], "Bob B.");
    assert_eq!(r.json()["roles"], default_roles());
    // null removes the nickname.
    assert_eq!(s.admin("PUT", "/users/bob", Some(r#"{"display_name":null}"#)).json()["display_name"], Value::Null);
    // Body username must match the path.
    assert_eq!(s.admin("PUT", "/users/bob", Some(r#"{"username":"carol","display_name":"x"}"#)).status, 400);
    assert_eq!(s.admin("PUT", "/users/bob", Some(r#"{"username":"bob","display_name":"ok"}"#)).status, 200);

    // Unknown user: 404 and nothing written.
    let before = count_rows(&s);
    assert_eq!(s.admin("PUT", "/users/nosuchuser", Some(r#"{"display_name":"Ghost","roles":["r"]}"#)).status, 404);
    assert_eq!(count_rows(&s), before);

    // The caller cannot take their own admin role (the token would stop working)...
    assert_eq!(s.admin("PUT", "/users/admin", Some(r#"{"roles":["custom:role"]}"#)).status, 409);
    assert_eq!(s.admin("PUT", "/users/admin", Some(r#"{"roles":["prosody:admin","x"]}"#)).status, 200);
    // ... nor delete their own account (its token would go with it).
    assert_eq!(s.admin("DELETE", "/users/admin", None).status, 409);
    assert_eq!(s.admin("GET", "/users/admin", None).status, 200);

    // Delete: 200, then gone; again 404.
    assert_eq!(s.admin("DELETE", "/users/bob", None).status, 200);
    assert_eq!(s.admin("GET", "/users/bob", None).status, 404);
    assert_eq!(s.admin("DELETE", "/users/bob", None).status, 404);
    assert_eq!(s.admin("DELETE", "/users/a%40b", None).status, 400);
    let n: i64 = s.sql().one("SELECT count(*) FROM prosody WHERE \"user\"='bob'", &[]);
    let m: i64 = s.sql().one("SELECT count(*) FROM prosodyarchive WHERE \"user\"='bob'", &[]);
    assert_eq!((n, m), (0, 0));
}

#[test]
fn groups_and_memberships() {
    let s = Server::start();
    s.add_user("alice", "pw");
    s.add_user("bob", "pw");
    let g = s.admin("POST", "/groups", Some(r#"{"name":"Team A"}"#));
    assert_eq!(g.status, 200, "{}", g.body);
    let g = g.json();
    let id = g["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 12);
    assert_eq!(g["muc_jid"], Value::Null);
    assert_eq!(g["members"], json!([]));
    let m = s.admin("POST", "/groups", Some(r#"{"name":"Team MUC","create_muc":true}"#)).json();
    let mid = m["id"].as_str().unwrap().to_string();
    let muc = m["muc_jid"].as_str().unwrap().to_string();
    assert!(muc.ends_with("@groups.localhost") && muc == muc.to_lowercase(), "{muc}");

    let list = s.admin("GET", "/groups", None).json();
    let mut ids: Vec<&str> = list.as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap()).collect();
    let listed = ids.clone();
    ids.sort();
    assert_eq!(listed, ids, "sorted by id");
    assert_eq!(listed.len(), 2);

    for (u, gid) in [("bob", &id), ("alice", &id), ("alice", &id), ("alice", &mid)] {
        let r = s.admin("PUT", &format!("/groups/{gid}/members/{u}"), None);
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(s.admin("GET", &format!("/groups/{id}"), None).json()["members"], json!(["alice", "bob"]));
    let mut expect = vec![id.clone(), mid.clone()];
    expect.sort();
    assert_eq!(s.admin("GET", "/users/alice/groups", None).json(), json!(expect));
    assert_eq!(s.admin("GET", "/users/alice", None).json()["groups"], json!(expect));
    assert_eq!(s.admin("GET", "/users/admin/groups", None).json(), json!([]));
    assert_eq!(s.admin("GET", "/users/nobody/groups", None).status, 404);
    // The group chat knows its member.
    let aff: String = s.sql().one(
        "SELECT value FROM prosody WHERE host='groups.localhost' AND store='config' AND key='alice@localhost'",
        &[],
    );
    assert_eq!(aff, "member");

    assert_eq!(s.admin("PUT", &format!("/groups/{id}/members/nobody"), None).status, 404);
    assert_eq!(s.admin("PUT", "/groups/nosuchgroup/members/alice", None).status, 404);
    assert_eq!(s.admin("PUT", &format!("/groups/{id}/members/a%40b"), None).status, 400);
    assert_eq!(s.admin("DELETE", &format!("/groups/{id}/members/bob"), None).status, 200);
    assert_eq!(s.admin("DELETE", &format!("/groups/{id}/members/bob"), None).status, 200, "idempotent");
    assert_eq!(s.admin("DELETE", "/groups/nosuchgroup/members/bob", None).status, 404);
    assert_eq!(s.admin("DELETE", &format!("/groups/{id}/members/nobody"), None).status, 404);
    assert_eq!(s.admin("GET", &format!("/groups/{id}"), None).json()["members"], json!(["alice"]));

    // Deleting a user removes their memberships and affiliations.
    assert_eq!(s.admin("DELETE", "/users/alice", None).status, 200);
    assert_eq!(s.admin("GET", &format!("/groups/{id}"), None).json()["members"], json!([]));
    let n: i64 = s.sql().one("SELECT count(*) FROM prosody WHERE key='alice@localhost' OR key='alice'", &[]);
    assert_eq!(n, 0);

    // Delete groups: 204, then 404; the room rows go too.
    assert_eq!(s.admin("DELETE", &format!("/groups/{mid}"), None).status, 204);
    assert_eq!(s.admin("GET", &format!("/groups/{mid}"), None).status, 404);
    assert_eq!(s.admin("DELETE", &format!("/groups/{mid}"), None).status, 404);
    let n: i64 = s.sql().one("SELECT count(*) FROM prosody WHERE host='groups.localhost'", &[]);
    assert_eq!(n, 0);
    assert_eq!(s.admin("GET", "/groups/nosuchgroup", None).status, 404);

    for bad in [r#"{"name":""}"#, r#"{"name":"   "}"#, r#"{}"#, r#"{"name":5}"#, r#"{"name":"x","create_muc":"yes"}"#] {
        assert_eq!(s.admin("POST", "/groups", Some(bad)).status, 400, "{bad}");
    }
}

#[test]
fn invites_of_every_kind() {
    let s = Server::start();
    s.add_user("carol", "pw");
    let gid = s.admin("POST", "/groups", Some(r#"{"name":"G"}"#)).json()["id"].as_str().unwrap().to_string();
    let t0 = now();

    // Account invite, all defaults (body absent).
    let a = s.admin("POST", "/invites/account", None);
    assert_eq!(a.status, 200, "{}", a.body);
    let a = a.json();
    let tok = a["id"].as_str().unwrap();
    assert_eq!(tok.len(), 24);
    assert_eq!(a["token"], a["id"]);
    assert_eq!(a["jid"], "localhost");
    assert_eq!(a["uri"], format!("xmpp:localhost?register;preauth={tok}"));
    assert_eq!(a["type"], "register");
    assert_eq!(a["reusable"], false);
    assert_eq!(a["reset"], false);
    assert_eq!(a["source"], "admin@localhost/admin_api");
    assert_eq!(a["landing_page"], Value::Null);
    let exp = a["expires"].as_i64().unwrap() - a["created_at"].as_i64().unwrap();
    assert_eq!(exp, 7 * 86400);
    assert!(a["created_at"].as_i64().unwrap() >= t0);

    // With username, ttl, groups.
    let b = s
        .admin("POST", "/invites/account", Some(&format!(r#"{{"username":"Newbie","ttl":600,"groups":["{gid}"]}}"#)))
        .json();
    assert_eq!(b["jid"], "newbie@localhost");
    assert_eq!(b["groups"], json!([gid]));
    assert_eq!(b["expires"].as_i64().unwrap() - b["created_at"].as_i64().unwrap(), 600);
    assert_eq!(s.admin("POST", "/invites/account", Some(r#"{"groups":["nosuch"]}"#)).status, 404);
    assert_eq!(s.admin("POST", "/invites/account", Some(r#"{"username":"carol"}"#)).status, 409, "already registered");
    for bad in [
        r#"{"username":"a@b"}"#,
        r#"{"ttl":"abc"}"#,
        r#"{"ttl":-5}"#,
        r#"{"ttl":0}"#,
        r#"{"ttl":1e300}"#,
        r#"{"groups":"x"}"#,
        "null",
        "[]",
        "{",
    ] {
        assert_eq!(s.admin("POST", "/invites/account", Some(bad)).status, 400, "{bad}");
    }

    // Group invite to an existing group: reusable, until revoked without ttl.
    let g = s.admin("POST", "/invites/group", Some(&format!(r#"{{"groups":["{gid}"]}}"#))).json();
    assert_eq!(g["reusable"], true);
    assert_eq!(g["expires"], 32503680000i64);
    assert_eq!(g["groups"], json!([gid]));
    let g2 = s.admin("POST", "/invites/group", Some(&format!(r#"{{"groups":["{gid}"],"ttl":60}}"#))).json();
    assert_eq!(g2["expires"].as_i64().unwrap() - g2["created_at"].as_i64().unwrap(), 60);
    // Without groups: a new group from group_options.
    let n = s.admin("POST", "/invites/group", Some(r#"{"group_options":{"name":"Fresh","create_muc":true}}"#));
    assert_eq!(n.status, 200, "{}", n.body);
    let new_gid = n.json()["groups"][0].as_str().unwrap().to_string();
    let ng = s.admin("GET", &format!("/groups/{new_gid}"), None).json();
    assert_eq!(ng["name"], "Fresh");
    assert!(ng["muc_jid"].is_string());
    assert_eq!(s.admin("POST", "/invites/group", Some(r#"{"groups":["nosuch"]}"#)).status, 404);
    // Neither groups nor options: a new group with the default name (the seed's words).
    let d = s.admin("POST", "/invites/group", None).json();
    let dg = s.admin("GET", &format!("/groups/{}", d["groups"][0].as_str().unwrap()), None).json();
    assert_eq!(dg["name"], "Invited group");
    assert_eq!(s.admin("POST", "/invites/group", Some(r#"{"group_options":{}}"#)).status, 400);
    assert_eq!(s.admin("POST", "/invites/group", Some(r#"{"ttl":"x"}"#)).status, 400);

    // Reset invite.
    let r = s.admin("POST", "/invites/reset", Some(r#"{"username":"carol"}"#)).json();
    assert_eq!(r["reset"], true);
    assert_eq!(r["jid"], "carol@localhost");
    assert_eq!(r["expires"].as_i64().unwrap() - r["created_at"].as_i64().unwrap(), 86400);
    assert_eq!(s.admin("POST", "/invites/reset", Some(r#"{"username":"nobody"}"#)).status, 404);
    for bad in [
        r#"{}"#,
        r#"{"username":"a@b"}"#,
        r#"{"username":"carol","ttl":"1.5"}"#,
        r#"{"username":"carol","ttl":"0"}"#,
        "null",
    ] {
        assert_eq!(s.admin("POST", "/invites/reset", Some(bad)).status, 400, "{bad}");
    }
    assert_eq!(s.admin("POST", "/invites/reset", None).status, 400);

    // Read back, list (oldest first), delete.
    let got = s.admin("GET", &format!("/invites/{tok}"), None);
    assert_eq!(got.status, 200);
    assert_eq!(got.json(), a);
    let list = s.admin("GET", "/invites", None).json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 7);
    assert!(list.windows(2).all(|w| w[0]["created_at"].as_i64() <= w[1]["created_at"].as_i64()));
    assert_eq!(s.admin("DELETE", &format!("/invites/{tok}"), None).status, 200);
    assert_eq!(s.admin("GET", &format!("/invites/{tok}"), None).status, 404);
    assert_eq!(s.admin("DELETE", &format!("/invites/{tok}"), None).status, 404);
    assert_eq!(s.admin("GET", "/invites", None).json().as_array().unwrap().len(), 6);

    // An expired invite (as Prosody leaves them) is neither listed nor found.
    let c = s.sql();
    let old = json!({"expires": now() - 10, "allow_registration": true, "type": "register", "token": "expiredexpiredexpired123",
        "created_at": now() - 100, "additional_data": {}, "jid": "localhost", "uri": "xmpp:localhost?register;preauth=expiredexpiredexpired123"});
    common::put_row(&c, "localhost", "", "invite_token", "expiredexpiredexpired123", "json", &old.to_string());
    assert_eq!(s.admin("GET", "/invites/expiredexpiredexpired123", None).status, 404);
    assert_eq!(s.admin("GET", "/invites", None).json().as_array().unwrap().len(), 6);
}

#[test]
fn landing_page_from_template() {
    let s = Server::start_with(&["--landing-page", "https://chat.example/invite/{token}"]);
    let a = s.admin("POST", "/invites/account", Some("{}")).json();
    assert_eq!(a["landing_page"], format!("https://chat.example/invite/{}", a["id"].as_str().unwrap()));
}

#[test]
fn debug_info_of_a_user_without_data() {
    let s = Server::start();
    s.add_user("bob", "pw");
    let d = s.admin("GET", "/users/bob/debug", None);
    assert_eq!(d.status, 200);
    let d = d.json();
    assert!(d["time"].as_i64().unwrap() >= now() - 5);
    assert_eq!(d["sessions"], json!([]));
    assert_eq!(d["push_registrations"], json!({}));
    assert_eq!(d["omemo"], json!({"status": {"valid": false}}));
    assert_eq!(s.admin("GET", "/users/nobody/debug", None).status, 404);
    assert_eq!(s.admin("GET", "/users/a%40b/debug", None).status, 400);
}

#[test]
fn malformed_bodies_are_400_and_write_nothing() {
    let s = Server::start();
    s.add_user("bob", "pw");
    let before = count_rows(&s);
    let cases: &[(&str, &str, &str)] = &[
        ("POST", "/groups", "null"),
        ("POST", "/groups", "[]"),
        ("POST", "/groups", "{"),
        ("POST", "/groups", r#"{"name":5}"#),
        ("POST", "/groups", "\"text\""),
        ("POST", "/groups", r#"{"name":"x","create_muc":null}"#),
        ("PUT", "/users/bob", r#"{"roles":null}"#),
        ("PUT", "/users/bob", "null"),
        ("PUT", "/users/bob", "[1]"),
        ("PUT", "/users/bob", r#"{"display_name":5}"#),
        ("PUT", "/users/bob", r#"{"roles":"admin"}"#),
        ("PUT", "/users/bob", r#"{"roles":[""]}"#),
        ("PUT", "/users/bob", r#"{"display_name":"a\u0000b"}"#),
        ("POST", "/invites/account", r#"{"ttl":"abc"}"#),
        ("POST", "/invites/group", r#"{"groups":[1]}"#),
        ("POST", "/invites/reset", r#"{"username":5}"#),
    ];
    for (m, p, b) in cases {
        let r = s.admin(m, p, Some(b));
        assert_eq!(r.status, 400, "{m} {p} {b}: {}", r.body);
    }
    assert_eq!(count_rows(&s), before);
}

#[test]
fn oversized_bodies_are_413() {
    let s = Server::start_with(&["--max-body-bytes", "1024"]);
    let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(2000));
    for (m, p) in [
        ("POST", "/groups"),
        ("PUT", "/users/admin"),
        ("POST", "/invites/account"),
        ("POST", "/invites/group"),
        ("POST", "/invites/reset"),
    ] {
        assert_eq!(s.admin(m, p, Some(&big)).status, 413, "{m} {p}");
    }
    // Without a Content-Length (chunked), the limit holds too.
    let mut chunked = format!("{:x}\r\n", big.len()).into_bytes();
    chunked.extend_from_slice(big.as_bytes());
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    let r = common::raw_bytes(
        s.addr,
        "POST",
        "/admin_api/groups",
        Some(&chunked),
        Some(&format!("Bearer {}", s.token)),
        &[("Transfer-Encoding", "chunked"), ("Content-Type", "application/json")],
    );
    common::check_invariants("POST", "/admin_api/groups (chunked)", &r);
    assert_eq!(r.status, 413);
    assert_eq!(s.admin("GET", "/groups", None).json(), json!([]));
}

#[test]
fn routing_errors_are_json() {
    let s = Server::start();
    assert_eq!(s.admin("GET", "/nothing/here", None).status, 404);
    assert_eq!(s.request("GET", "/", None, None).status, 404);
    assert_eq!(s.request("GET", "/other", None, Some(&s.token.clone())).status, 404);
    let r = s.admin("PATCH", "/users", None);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
    assert_eq!(s.admin("TRACE", "/users/bob/groups", None).header("allow"), Some("GET, HEAD, OPTIONS"));
    assert_eq!(s.admin("POST", "/users/admin", Some("{}")).status, 405);
    // A concrete path wins over a template, as OpenAPI says.
    let r = s.admin("GET", "/invites/account", None);
    assert_eq!((r.status, r.header("allow")), (405, Some("POST, OPTIONS")));
    assert_eq!(s.admin("DELETE", "/server/info", None).status, 405);
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let mut s = Server::start();
    assert_eq!(s.admin("GET", "/server/info", None).status, 200);
    let status = s.terminate();
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn cli_tokens() {
    let s = Server::start();
    s.add_user("bob", "pw");
    // A token for a non-admin: valid, but forbidden.
    let o = s.cli(&["token", "create", "--user", "bob", "--allow-non-admin"], None);
    assert!(o.status.success());
    let bob = String::from_utf8(o.stdout).unwrap().trim().to_string();
    assert_eq!(s.request("GET", "/admin_api/users", None, Some(&bob)).status, 403);
    // After `user add --admin`, a token of that user works; revoking it stops it.
    let o = s.cli(&["user", "add", "root2", "--admin"], Some("secret\n"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t = String::from_utf8(s.cli(&["token", "create", "--user", "root2", "--ttl", "3600"], None).stdout)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(s.request("GET", "/admin_api/users", None, Some(&t)).status, 200);
    let list = String::from_utf8(s.cli(&["token", "list"], None).stdout).unwrap();
    assert!(list.contains("root2@localhost") && !list.contains(&t), "{list}");
    assert!(s.cli(&["token", "revoke", &t], None).status.success());
    // Another process's commit reaches the service's caches within its watch interval.
    assert_eq!(common::eventually(|| s.request("GET", "/admin_api/users", None, Some(&t)).status, 401), 401);
    assert!(!s.cli(&["token", "revoke", &t], None).status.success());
    assert!(!s.cli(&["token", "create", "--user", "nobody"], None).status.success());
    // Subcommands have --help.
    for sub in [
        &["serve", "--help"][..],
        &["token", "create", "--help"],
        &["user", "add", "--help"],
        &["user", "passwd", "--help"],
    ] {
        assert!(s.cli(sub, None).status.success(), "{sub:?}");
    }
}

#[test]
fn serves_its_own_contract_without_auth() {
    let s = Server::start();
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/api-spec/openapi.yaml")).unwrap();
    let y = s.request("GET", "/admin_api/openapi.yaml", None, None);
    assert_eq!(y.status, 200);
    assert_eq!(y.header("content-type"), Some("application/yaml"));
    assert_eq!(y.body, spec, "served YAML is the spec, byte for byte");
    let j = s.request("GET", "/admin_api/openapi.json", None, None);
    assert_eq!(j.status, 200);
    let doc = j.json();
    assert_eq!(doc["info"]["title"], "Prosody administration API");

    // The auth layer agrees with the spec: operations with `security: []` are public,
    // every other one refuses an anonymous request with 401.
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let concrete = path.replace("{username}", "nobody").replace("{id}", "someid");
            let r = s.request(&method.to_uppercase(), &format!("/admin_api{concrete}"), None, None);
            let public = op.get("security") == Some(&json!([]));
            assert_eq!(r.status == 401, !public, "{method} {path}: {}", r.status);
            checked += 1;
        }
    }
    assert_eq!(checked, 40);
}

#[test]
fn sigterm_lets_in_flight_requests_finish() {
    use std::io::{Read, Write};
    let mut s = Server::start();
    let body = r#"{"name":"late"}"#;
    let mut c = std::net::TcpStream::connect(s.addr).unwrap();
    let head = format!(
        "POST /admin_api/groups HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        s.token,
        body.len()
    );
    // Half the body: the request is in flight when the signal arrives.
    c.write_all(head.as_bytes()).unwrap();
    c.write_all(&body.as_bytes()[..5]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let pid = s.pid();
    assert!(std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().unwrap().success());
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists(), "exited with a request in flight");
    c.write_all(&body.as_bytes()[5..]).unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains(r#""name":"late""#), "{out}");
    let status = s.wait();
    assert!(status.success(), "exit status {status:?}");
}

/// The later module's user fields and writes, on the test version's layout.
#[test]
fn users_later_fields_and_enable() {
    let s = Server::start();
    s.add_user("dave", "pw");
    let h = "localhost";
    let c = s.sql();
    common::put_archive(&c, h, "dave", "pep_urn:xmpp:avatar:metadata", "current", now(), "", "xml",
        "<metadata xmlns='urn:xmpp:avatar:metadata'><info bytes='2048' height='32' id='0123abcd' type='image/png' width='32'/></metadata>");
    common::put_row(&c, h, "dave", "account_activity", "timestamp", "number", "1795000000");
    let dave = eventually(
        || s.admin("GET", "/users/dave", None).json()["avatar_info"].clone(),
        json!([{"bytes": 2048, "hash": "0123abcd", "type": "image/png", "width": 32, "height": 32}]),
    );
    assert_eq!(dave, json!([{"bytes": 2048, "hash": "0123abcd", "type": "image/png", "width": 32, "height": 32}]));
    let dave = s.admin("GET", "/users/dave", None).json();
    assert_eq!(dave["enabled"], true);
    assert_eq!(dave["last_active"], json!(1795000000));
    assert_eq!(dave.get("deletion_request"), None, "absent unless pending");
    let admin = s.admin("GET", "/users/admin", None).json();
    assert_eq!((admin.get("avatar_info"), admin.get("last_active")), (None, None), "absent when unknown");
    let listed = s.admin("GET", "/users", None).json();
    assert_eq!(listed[1], dave, "list and get agree");
    if is_13() {
        assert_eq!((dave["role"].clone(), dave["secondary_roles"].clone()), (json!("prosody:registered"), json!([])));
        assert_eq!(s.admin("GET", "/users/admin", None).json()["role"], "prosody:admin");
        // PUT role: primary; unknown roles refused.
        let r = s.admin("PUT", "/users/dave", Some(r#"{"role":"prosody:member"}"#));
        assert_eq!((r.status, r.json()["role"].clone()), (200, json!("prosody:member")));
        assert_eq!(s.admin("PUT", "/users/dave", Some(r#"{"role":"custom:thing"}"#)).status, 400);
        // PATCH disables: Prosody's flag; a pending deletion shows while disabled.
        let r = s.admin("PATCH", "/users/dave", Some(r#"{"enabled":false}"#));
        assert_eq!((r.status, r.json()["enabled"].clone()), (200, json!(false)));
        let disabled: String =
            s.sql().one("SELECT value FROM prosody WHERE \"user\"='dave' AND store='accounts' AND key='disabled'", &[]);
        assert_eq!(disabled, "true");
        common::put_row(&s.sql(), h, "dave", "accounts_cleanup", "deleted_at", "number", "1795000100");
        common::put_row(&s.sql(), h, "dave", "accounts_cleanup", "pending_until", "number", "1795604900");
        let want = json!({"deleted_at": 1795000100i64, "pending_until": 1795604900i64});
        assert_eq!(
            eventually(|| s.admin("GET", "/users/dave", None).json()["deletion_request"].clone(), want.clone()),
            want
        );
        assert_eq!(s.admin("GET", "/users", None).json()[1]["deletion_request"], want);
        let r = s.admin("PUT", "/users/dave", Some(r#"{"enabled":true}"#));
        assert_eq!(
            (r.status, r.json()["enabled"].clone(), r.json()["deletion_request"].clone()),
            (200, json!(true), Value::Null)
        );
        // The caller cannot disable themselves.
        assert_eq!(s.admin("PATCH", "/users/admin", Some(r#"{"enabled":false}"#)).status, 409);
        assert_eq!(s.admin("PUT", "/users/admin", Some(r#"{"role":"prosody:member"}"#)).status, 409);
    } else {
        assert_eq!((dave["role"].clone(), dave.get("secondary_roles")), (Value::Null, None));
        // 0.12 cannot disable accounts, nor set a primary role: clear 400s, nothing written.
        let before = count_rows(&s);
        for (m, body) in
            [("PATCH", r#"{"enabled":false}"#), ("PUT", r#"{"enabled":false}"#), ("PUT", r#"{"role":"prosody:admin"}"#)]
        {
            let r = s.admin(m, "/users/dave", Some(body));
            assert_eq!(r.status, 400, "{m} {body}");
            assert!(r.json()["error"]["text"].as_str().unwrap().contains("0.12"), "{}", r.body);
        }
        assert_eq!(count_rows(&s), before);
        // Enabling an enabled account is no change.
        assert_eq!(s.admin("PATCH", "/users/dave", Some(r#"{"enabled":true}"#)).status, 200);
    }
    assert_eq!(s.admin("PATCH", "/users/nobody", Some(r#"{"enabled":true}"#)).status, 404);
    assert_eq!(s.admin("PATCH", "/users/dave", Some(r#"{}"#)).status, 400);
    assert_eq!(s.admin("PATCH", "/users/dave", Some(r#"{"enabled":"yes"}"#)).status, 400);
}

/// The last enabled admin stays one, whoever asks (here a configured admin without an
/// account, whose 0.12 token needs none).
#[test]
fn last_admin_stays_admin() {
    let s = Server::start_version("0.12", &["--admins", "ghost@localhost"]);
    let session = json!({"username": "ghost", "host": "localhost", "auth_scope": "prosody:scope:admin"});
    let row = json!({"owner": "ghost@localhost", "jid": "ghost@localhost", "created": now(), "session": session});
    common::put_row(&s.sql(), "localhost", "ghost", "auth_tokens", "ghosttokenid", "json", &row.to_string());
    let ghost = token_string("ghost@localhost", "ghosttokenid");
    let put = |body: &str| s.request("PUT", "/admin_api/users/admin", Some(body), Some(&ghost));
    let r = eventually(|| put(r#"{"roles":[]}"#).status, 409);
    assert_eq!(r, 409);
    assert!(put(r#"{"roles":[]}"#).json()["error"]["text"].as_str().unwrap().contains("last enabled admin"));
    s.add_user("eve", "pw");
    assert_eq!(s.admin("PUT", "/users/eve", Some(r#"{"roles":["prosody:admin"]}"#)).status, 200);
    assert_eq!(put(r#"{"roles":[]}"#).status, 200, "not the last one any more");
}

/// Invites as the later module makes them: roles and note; ttl as a string of digits.
#[test]
fn invites_with_roles_note_and_string_ttl() {
    let s = Server::start();
    let r = s.admin(
        "POST",
        "/invites/account",
        Some(r#"{"ttl":"604800","roles":["prosody:member","prosody:admin"],"note":"for Ann"}"#),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let inv = r.json();
    assert_eq!(inv["expires"].as_i64().unwrap() - inv["created_at"].as_i64().unwrap(), 604800);
    // 13 keeps the order (the first is primary); 0.12's roles are a set, listed sorted.
    let want =
        if is_13() { json!(["prosody:member", "prosody:admin"]) } else { json!(["prosody:admin", "prosody:member"]) };
    assert_eq!(inv["roles"], want);
    assert_eq!(inv["note"], "for Ann");
    assert_eq!(s.admin("GET", &format!("/invites/{}", inv["id"].as_str().unwrap()), None).json(), inv);
    // As each version's mod_invites_register reads them.
    let stored: String =
        s.sql().one("SELECT value FROM prosody WHERE store='invite_token' AND key=?", &[inv["id"].as_str().unwrap()]);
    let stored: Value = serde_json::from_str(&stored).unwrap();
    if is_13() {
        assert_eq!(stored["additional_data"]["roles"], json!(["prosody:member", "prosody:admin"]));
    } else {
        assert_eq!(stored["additional_data"]["roles"], json!({"prosody:member": true, "prosody:admin": true}));
    }
    assert_eq!(stored["additional_data"]["note"], "for Ann");
    let g = s.admin(
        "POST",
        "/invites/group",
        Some(r#"{"ttl":"60","roles":["prosody:member"],"group_options":{"name":"G"}}"#),
    );
    assert_eq!(g.status, 200, "{}", g.body);
    assert_eq!((g.json()["roles"].clone(), g.json()["note"].clone()), (json!(["prosody:member"]), Value::Null));
    let plain = s.admin("POST", "/invites/account", Some("{}")).json();
    assert_eq!((plain["roles"].clone(), plain["note"].clone()), (json!([]), Value::Null));
    // Bad ttl strings, bad roles, long notes: 400, nothing written.
    let before = count_rows(&s);
    let long_note = format!(r#"{{"note":"{}"}}"#, "n".repeat(1024));
    for bad in [
        r#"{"ttl":"abc"}"#,
        r#"{"ttl":"0"}"#,
        r#"{"ttl":"9999999999"}"#,
        r#"{"ttl":" 60"}"#,
        r#"{"roles":[""]}"#,
        r#"{"roles":"prosody:admin"}"#,
        &long_note,
    ] {
        assert_eq!(s.admin("POST", "/invites/account", Some(bad)).status, 400, "{bad}");
    }
    // Built-in roles only (13 fails registrations on roles it does not know).
    assert_eq!(s.admin("POST", "/invites/account", Some(r#"{"roles":["custom:role"]}"#)).status, 400);
    assert_eq!(count_rows(&s), before);
}

/// Group rename and group chats, stored as mod_groups_internal and mod_muc store them.
#[test]
fn group_rename_and_chats() {
    let s = Server::start();
    s.add_user("gina", "pw");
    let g = s.admin("POST", "/groups", Some(r#"{"name":"Team","create_muc":true}"#)).json();
    let gid = g["id"].as_str().unwrap().to_string();
    let first = g["muc_jid"].as_str().unwrap().to_string();
    assert_eq!(
        g["chats"],
        json!([{"id": first.split('@').next().unwrap(), "jid": first, "name": "Team", "deleted": false}])
    );
    assert_eq!(s.admin("PUT", &format!("/groups/{gid}/members/gina"), None).status, 200);

    // Rename: the group and its original chat.
    assert_eq!(s.admin("PUT", &format!("/groups/{gid}"), Some(r#"{"name":"Team B"}"#)).status, 204);
    let g = s.admin("GET", &format!("/groups/{gid}"), None).json();
    assert_eq!((g["name"].clone(), g["chats"][0]["name"].clone()), (json!("Team B"), json!("Team B")));
    for bad in [r#"{"name":""}"#, r#"{"name":"  "}"#, r#"{}"#, r#"{"name":5}"#] {
        assert_eq!(s.admin("PUT", &format!("/groups/{gid}"), Some(bad)).status, 400, "{bad}");
    }
    assert_eq!(s.admin("PUT", "/groups/nosuchgroup", Some(r#"{"name":"x"}"#)).status, 404);

    // A second chat: the members are its members; the original moves into `mucs`.
    let r = s.admin("POST", &format!("/groups/{gid}/chats"), Some(r#"{"name":"Random"}"#));
    assert_eq!(r.status, 200, "{}", r.body);
    let chat = r.json();
    let (cid, cjid) = (chat["id"].as_str().unwrap().to_string(), chat["jid"].as_str().unwrap().to_string());
    assert_eq!(cjid, format!("{cid}@groups.localhost"));
    assert_eq!((chat["name"].clone(), chat["deleted"].clone()), (json!("Random"), json!(false)));
    let aff: String = s.sql().one("SELECT value FROM prosody WHERE host='groups.localhost' AND \"user\"=? AND store='config' AND key='gina@localhost'", &[&cid]);
    assert_eq!(aff, "member");
    // ... and gets the room's mediated invitation at next login (offline store).
    let invite: String = s.sql().one("SELECT value FROM prosodyarchive WHERE \"user\"='gina' AND store='offline'", &[]);
    assert_eq!(
        invite,
        format!("<message to='gina@localhost' from='{cjid}'><x xmlns='jabber:x:conference' jid='{cjid}'/></message>")
    );
    let mucs: String =
        s.sql().one("SELECT value FROM prosody WHERE \"user\"=? AND store='group_info' AND key='mucs'", &[&gid]);
    assert_eq!(serde_json::from_str::<Value>(&mucs).unwrap(), json!([cjid, first]));
    let g = s.admin("GET", &format!("/groups/{gid}"), None).json();
    assert_eq!(g["muc_jid"], Value::Null);
    let ids: Vec<&str> = g["chats"].as_array().unwrap().iter().map(|c| c["jid"].as_str().unwrap()).collect();
    assert_eq!(ids, [cjid.as_str(), first.as_str()]);
    assert_eq!(s.admin("GET", "/groups", None).json()[0]["chats"], g["chats"]);
    // New members join every chat; leaving members leave every chat.
    s.add_user("hank", "pw");
    assert_eq!(s.admin("PUT", &format!("/groups/{gid}/members/hank"), None).status, 200);
    let n: i64 =
        s.sql().one("SELECT count(*) FROM prosody WHERE host='groups.localhost' AND key='hank@localhost'", &[]);
    assert_eq!(n, 2);
    assert_eq!(s.admin("DELETE", &format!("/groups/{gid}/members/hank"), None).status, 200);
    let n: i64 =
        s.sql().one("SELECT count(*) FROM prosody WHERE host='groups.localhost' AND key='hank@localhost'", &[]);
    assert_eq!(n, 0);
    assert_eq!(s.admin("POST", &format!("/groups/{gid}/chats"), Some(r#"{"name":""}"#)).status, 400);
    assert_eq!(s.admin("POST", "/groups/nosuchgroup/chats", Some(r#"{"name":"x"}"#)).status, 404);

    // Removing a chat destroys its room.
    assert_eq!(s.admin("DELETE", &format!("/groups/{gid}/chats/{cid}"), None).status, 204);
    assert_eq!(s.admin("DELETE", &format!("/groups/{gid}/chats/{cid}"), None).status, 404);
    assert_eq!(s.admin("DELETE", &format!("/groups/nosuchgroup/chats/{cid}"), None).status, 404);
    let n: i64 = s
        .sql()
        .one("SELECT count(*) FROM prosody WHERE host='groups.localhost' AND (\"user\"=? OR key=?)", &[&cid, &cjid]);
    assert_eq!(n, 0);
    let g = s.admin("GET", &format!("/groups/{gid}"), None).json();
    assert_eq!(g["chats"].as_array().unwrap().len(), 1);
    // Deleting the group destroys the rest.
    assert_eq!(s.admin("DELETE", &format!("/groups/{gid}"), None).status, 204);
    let n: i64 = s.sql().one("SELECT count(*) FROM prosody WHERE host='groups.localhost'", &[]);
    assert_eq!(n, 0);
}

/// Errors carry the later module's application conditions in util.error's `extra`.
#[test]
fn errors_carry_application_conditions() {
    let s = Server::start();
    let extra = |r: common::Resp| r.json()["error"]["extra"].clone();
    let ns = "https://prosody.im/protocol/errors";
    let r = s.admin("GET", "/users/nobody", None);
    assert_eq!(r.json()["error"]["condition"], "item-not-found");
    assert_eq!(extra(r), json!({"namespace": ns, "condition": "user-not-found"}));
    assert_eq!(
        extra(s.admin("GET", "/groups/nogroup", None)),
        json!({"namespace": ns, "condition": "group-not-found"})
    );
    let r = s.admin("POST", "/groups", Some(r#"{"name":"   "}"#));
    assert_eq!(r.status, 400);
    // A blank name is refused by the schema's pattern before it reaches the domain, or
    // by the domain with the condition; either way 400. Through a rename the domain sees it.
    let g = s.admin("POST", "/groups", Some(r#"{"name":"G"}"#)).json();
    let r = s.admin("POST", &format!("/groups/{}/chats", g["id"].as_str().unwrap()), Some(r#"{"name":"\u2003"}"#));
    assert_eq!(r.status, 400);
    // Generic errors have no `extra`.
    assert_eq!(extra(s.admin("GET", "/invites/nope", None)), Value::Null);
}

/// GET /server/metrics: active users from storage; process figures from Prosody's
/// OpenMetrics endpoint when configured (here a stand-in serving Prosody 13's names).
#[test]
fn server_metrics() {
    // A stand-in for mod_http_openmetrics: one fixed exposition, for any request.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut c in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = c.read(&mut buf);
            let body = "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 52428800\n\
                        process_cpu_seconds_total 12.5\nprocess_cpu_seconds_created 1795000000.5\n\
                        prosody_mod_c2s__connections{host=\"localhost\",type=\"c2s\",ip_family=\"ipv4\"} 3\n\
                        prosody_mod_c2s__connections{host=\"localhost\",type=\"c2s\",ip_family=\"ipv6\"} 1\n\
                        prosody_mod_http_file_share__total_storage_bytes{host=\"localhost\"} 4096\n";
            let _ = write!(
                c,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let s = Server::start_with(&["--prosody-metrics-url", &url]);
    let c = s.sql();
    for (u, ago) in [("a1", 100), ("a7", 3 * 86400), ("a30", 20 * 86400), ("old", 40 * 86400)] {
        s.add_user(u, "pw");
        common::put_row(&c, "localhost", u, "account_activity", "timestamp", "number", &(now() - ago).to_string());
    }
    let m = s.admin("GET", "/server/metrics", None).json();
    if is_13() {
        assert_eq!(m["users"], json!({"active_1d": 1, "active_7d": 2, "active_30d": 3}));
    } else {
        assert_eq!(m["users"], json!({}), "0.12 records no activity");
    }
    assert_eq!(m["memory"], json!(52428800));
    assert_eq!(m["cpu"], json!({"since": 1795000000.5, "value": 12.5}));
    assert_eq!((m["c2s"].clone(), m["uploads"].clone()), (json!(4), json!(4096)));
    // Not configured (or unreachable): the process figures are absent.
    let plain = Server::start_with(&["--prosody-metrics-url", "http://127.0.0.1:9/metrics"]);
    let m = plain.admin("GET", "/server/metrics", None).json();
    assert!(m.get("memory").is_none() && m.get("c2s").is_none() && m.get("cpu").is_none(), "{m}");
}

/// POST /server/announcement without a live path: offline messages in Prosody's store.
#[test]
fn announcements_without_live_path() {
    let s = Server::start();
    s.add_user("ann", "pw");
    s.add_user("bea", "pw");
    let offline = |s: &Server| -> Vec<(String, String)> {
        s.sql().pairs(r#"SELECT "user", value FROM prosodyarchive WHERE store='offline' ORDER BY "user", sort_id"#)
    };
    let r =
        s.admin("POST", "/server/announcement", Some(r#"{"body":"Maintenance <tonight> & co","recipients":"all"}"#));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json(), json!({"sent_live": 0, "stored_offline": 3}));
    let rows = offline(&s);
    let users: Vec<&str> = rows.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(users, ["admin", "ann", "bea"]);
    assert_eq!(
        rows[1].1,
        "<message to='ann@localhost' from='localhost'><body>Maintenance &lt;tonight&gt; &amp; co</body></message>"
    );
    let r = s.admin("POST", "/server/announcement", Some(r#"{"body":"Hi Bea","recipients":["bea@localhost"]}"#));
    assert_eq!(r.json(), json!({"sent_live": 0, "stored_offline": 1}));
    assert_eq!(offline(&s).len(), 4);
    // Online users cannot be reached without a live path; nor other servers; nothing written.
    let before = count_rows(&s);
    for (body, status) in [
        (r#"{"body":"x","recipients":"online"}"#, 409),
        (r#"{"body":"x","recipients":["someone@elsewhere.example"]}"#, 409),
        (r#"{"body":"x","recipients":["nobody@localhost"]}"#, 404),
        (r#"{"body":"x","recipients":["bea@localhost","not a jid"]}"#, 400),
        (r#"{"body":"x","recipients":[]}"#, 400),
        (r#"{"body":"","recipients":"all"}"#, 400),
        (r#"{"body":"x","recipients":"everyone"}"#, 400),
        (r#"{"body":"x"}"#, 400),
    ] {
        let r = s.admin("POST", "/server/announcement", Some(body));
        assert_eq!(r.status, status, "{body}: {}", r.body);
    }
    assert_eq!(count_rows(&s), before);
}

/// Names nodeprep refuses beyond what the spec's pattern states cannot exist: lookups
/// are 404 and an account invite for one is 409; what the pattern refuses stays 400.
#[test]
fn names_that_cannot_exist() {
    let s = Server::start();
    let g = s.admin("POST", "/groups", Some(r#"{"name":"G"}"#)).json();
    let gid = g["id"].as_str().unwrap();
    // U+0378 is unassigned; U+E000 is private use: nodeprep refuses both.
    for name in ["%CD%B8", "a%EE%80%80"] {
        for (m, p) in [
            ("GET", format!("/users/{name}")),
            ("DELETE", format!("/users/{name}")),
            ("GET", format!("/users/{name}/groups")),
            ("GET", format!("/users/{name}/debug")),
            ("PUT", format!("/groups/{gid}/members/{name}")),
        ] {
            let r = s.admin(m, &p, None);
            assert_eq!(r.status, 404, "{m} {p}: {}", r.body);
            assert_eq!(r.json()["error"]["extra"]["condition"], "user-not-found");
        }
        assert_eq!(s.admin("PATCH", &format!("/users/{name}"), Some(r#"{"enabled":true}"#)).status, 404);
    }
    assert_eq!(s.admin("POST", "/invites/account", Some(r#"{"username":"\u0378"}"#)).status, 409);
    assert_eq!(s.admin("POST", "/invites/reset", Some(r#"{"username":"\ue000"}"#)).status, 404);
    assert_eq!(s.admin("GET", "/users/a%40b", None).status, 400, "the pattern's part stays 400");
    assert_eq!(s.admin("POST", "/invites/account", Some(r#"{"username":"a b"}"#)).status, 400);
}

/// The spec's list bounds hold as sent (duplicates count).
#[test]
fn list_bounds_count_duplicates() {
    let s = Server::start();
    let roles = format!(r#"{{"roles":[{}]}}"#, vec![r#""prosody:member""#; 17].join(","));
    assert_eq!(s.admin("POST", "/invites/account", Some(&roles)).status, 400);
    let g = s.admin("POST", "/groups", Some(r#"{"name":"G"}"#)).json();
    let gid = g["id"].as_str().unwrap();
    let groups = format!(r#"{{"groups":[{}]}}"#, vec![format!("{gid:?}"); 65].join(","));
    assert_eq!(s.admin("POST", "/invites/account", Some(&groups)).status, 400);
    let to = format!(r#"{{"body":"x","recipients":[{}]}}"#, vec![r#""admin@localhost""#; 51].join(","));
    assert_eq!(s.admin("POST", "/server/announcement", Some(&to)).status, 400);
    let long = format!(r#"{{"body":"{}","recipients":"all"}}"#, "x".repeat(16385));
    assert_eq!(s.admin("POST", "/server/announcement", Some(&long)).status, 400);
}

/// Liveness and readiness, without a token: readiness fails while the database cannot
/// be read (SQLite: the file moved away; PostgreSQL: Prosody's table renamed away) and
/// recovers when it can.
#[test]
fn health_and_readiness() {
    let s = Server::start();
    for path in ["/admin_api/healthz", "/admin_api/readyz"] {
        let r = s.request("GET", path, None, None);
        assert_eq!((r.status, r.json()), (200, json!({"status": "ok"})), "{path}");
    }
    let moved = s.db.with_extension("moved");
    if common::is_postgres() {
        s.sql().exec(r#"ALTER TABLE "prosody" RENAME TO "prosody_moved""#, &[]);
    } else {
        std::fs::rename(&s.db, &moved).unwrap();
    }
    let r = common::raw(s.addr, "GET", "/admin_api/readyz", None, None);
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], 503);
    assert_eq!(common::raw(s.addr, "GET", "/admin_api/healthz", None, None).status, 200, "alive all the same");
    if common::is_postgres() {
        s.sql().exec(r#"ALTER TABLE "prosody_moved" RENAME TO "prosody""#, &[]);
    } else {
        std::fs::rename(&moved, &s.db).unwrap();
    }
    let r = s.request("GET", "/admin_api/readyz", None, None);
    assert_eq!(r.status, 200, "recovered: {}", r.body);
}
