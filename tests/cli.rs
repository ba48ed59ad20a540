//! The command line's everyday tasks on a database the service also serves: what they
//! print (text and `--json`), what they change (seen through the API), bad input
//! (non-zero exit, a clear message, nothing written), and the invite's QR code decoded
//! back to its URI.

mod common;

use common::Server;
use serde_json::Value;

fn run(s: &Server, args: &[&str]) -> (bool, String, String) {
    let o = s.cli(args, None);
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn ok(s: &Server, args: &[&str]) -> String {
    let (success, out, err) = run(s, args);
    assert!(success, "{args:?}: {err}");
    out
}

fn fails(s: &Server, args: &[&str], says: &str) {
    let (success, _, err) = run(s, args);
    assert!(!success, "{args:?} succeeded");
    assert!(err.contains(says), "{args:?}: {err:?} does not say {says:?}");
}

/// Decodes a QR code printed with two modules per character (`▀`, `▄`, `█`, ` `).
fn decode_qr(text: &str) -> String {
    let lines: Vec<Vec<char>> =
        text.lines().filter(|l| l.chars().any(|c| "▀▄█".contains(c))).map(|l| l.chars().collect()).collect();
    // Keep the quiet zone: the blank lines above and below are light modules.
    let width = lines.iter().map(Vec::len).max().unwrap_or(0) + 8;
    let height = lines.len() * 2 + 8;
    let dark = |x: usize, y: usize| -> bool {
        let (cx, cy) = (x as isize - 4, y as isize - 4);
        if cx < 0 || cy < 0 {
            return false;
        }
        let Some(line) = lines.get(cy as usize / 2) else { return false };
        let c = line.get(cx as usize).copied().unwrap_or(' ');
        matches!((c, cy % 2), ('█', _) | ('▀', 0) | ('▄', 1))
    };
    const SCALE: usize = 4;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(width * SCALE, height * SCALE, |x, y| {
        if dark(x / SCALE, y / SCALE) {
            0
        } else {
            255
        }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("decodes").1
}

#[test]
fn users_list_role_delete() {
    let s = Server::start();
    s.add_user("bob", "pw");
    let text = ok(&s, &["user", "list"]);
    assert!(text.lines().any(|l| l.starts_with("bob\troles=prosody:registered")), "{text}");
    let json: Value = serde_json::from_str(&ok(&s, &["user", "list", "--json"])).unwrap();
    assert_eq!(json, s.admin("GET", "/users", None).json(), "--json is the API's answer");

    ok(&s, &["user", "role", "bob", "prosody:member"]);
    // The service sees another process's commit within its watch interval.
    let role = || s.admin("GET", "/users/bob", None).json()["role"].clone();
    assert_eq!(common::eventually(role, "prosody:member".into()), "prosody:member");
    fails(&s, &["user", "role", "bob", "not-a-role"], "role");
    fails(&s, &["user", "role", "nobody", "prosody:member"], "nobody");
    assert_eq!(
        s.admin("GET", "/users/bob", None).json()["role"],
        "prosody:member",
        "a failed role change wrote nothing"
    );

    ok(&s, &["user", "delete", "bob"]);
    assert_eq!(common::eventually(|| s.admin("GET", "/users/bob", None).status, 404), 404);
    fails(&s, &["user", "delete", "bob"], "bob");
    fails(&s, &["user", "delete", "bad name"], "bad name");
}

#[test]
fn invites_create_list_revoke_with_a_qr_code() {
    let s = Server::start();
    let out = ok(&s, &["invite", "create"]);
    let uri = out.lines().next().unwrap().to_string();
    assert!(uri.starts_with("xmpp:localhost?register;preauth="), "{out}");
    assert_eq!(decode_qr(&out), uri, "the QR code is the URI");
    let id = out.lines().last().unwrap().split(' ').nth(1).unwrap().to_string();
    let api = s.admin("GET", &format!("/invites/{id}"), None).json();
    assert_eq!(api["uri"], Value::String(uri.clone()));
    assert!(!api["reusable"].as_bool().unwrap());

    let gid = ok(&s, &["group", "create", "Friends"]).trim().to_string();
    let inv: Value =
        serde_json::from_str(&ok(&s, &["invite", "create", "--reusable", "--group", &gid, "--ttl", "600", "--json"]))
            .unwrap();
    assert_eq!((inv["reusable"].as_bool(), inv["groups"][0].as_str()), (Some(true), Some(gid.as_str())));
    assert!((inv["expires"].as_i64().unwrap() - inv["created_at"].as_i64().unwrap() - 600).abs() <= 1);
    let list = ok(&s, &["invite", "list"]);
    assert_eq!(list.lines().count(), 2, "{list}");
    let json: Value = serde_json::from_str(&ok(&s, &["invite", "list", "--json"])).unwrap();
    assert_eq!(json, s.admin("GET", "/invites", None).json());

    let before = s.admin("GET", "/invites", None).json();
    fails(&s, &["invite", "create", "--reusable"], "--group");
    fails(&s, &["invite", "create", "--group", "nosuchgroup"], "nosuchgroup");
    fails(&s, &["invite", "create", "--ttl", "0"], "ttl");
    fails(&s, &["invite", "create", "--ttl", "abc"], "abc");
    assert_eq!(s.admin("GET", "/invites", None).json(), before, "refused invites wrote nothing");

    ok(&s, &["invite", "revoke", &id]);
    assert_eq!(common::eventually(|| s.admin("GET", &format!("/invites/{id}"), None).status, 404), 404);
    fails(&s, &["invite", "revoke", &id], &id);
}

#[test]
fn groups_create_list_add_remove() {
    let s = Server::start();
    s.add_user("carol", "pw");
    let gid = ok(&s, &["group", "create", "Team"]).trim().to_string();
    let g: Value = serde_json::from_str(&ok(&s, &["group", "create", "Chatty", "--chat", "--json"])).unwrap();
    assert_eq!(g["chats"].as_array().map(Vec::len), Some(1));
    ok(&s, &["group", "add", &gid, "carol"]);
    let members = || s.admin("GET", &format!("/groups/{gid}"), None).json()["members"].clone();
    assert_eq!(common::eventually(members, serde_json::json!(["carol"])), serde_json::json!(["carol"]));
    let list = ok(&s, &["group", "list"]);
    assert!(list.contains(&format!("{gid}\tTeam\tmembers=carol")), "{list}");
    let json: Value = serde_json::from_str(&ok(&s, &["group", "list", "--json"])).unwrap();
    assert_eq!(json, s.admin("GET", "/groups", None).json());
    ok(&s, &["group", "remove", &gid, "carol"]);
    assert_eq!(common::eventually(members, serde_json::json!([])), serde_json::json!([]));
    fails(&s, &["group", "add", "nosuchgroup", "carol"], "nosuchgroup");
    fails(&s, &["group", "add", &gid, "nobody"], "nobody");
    fails(&s, &["group", "create", "  "], "blank");
    // Ids are base64url: one in eight generated starts with `-`, which is no option.
    assert_eq!(s.admin("POST", "/groups", Some(r#"{"id":"-dash","name":"Dash"}"#)).status, 200);
    ok(&s, &["group", "add", "-dash", "carol"]);
    ok(&s, &["group", "remove", "-dash", "carol"]);
    fails(&s, &["invite", "revoke", "-nosuchinvite"], "nosuchinvite");
}

#[test]
fn every_command_has_help() {
    let s = Server::start();
    for cmd in [
        vec!["--help"],
        vec!["user", "--help"],
        vec!["user", "list", "--help"],
        vec!["user", "delete", "--help"],
        vec!["user", "role", "--help"],
        vec!["invite", "--help"],
        vec!["invite", "create", "--help"],
        vec!["invite", "list", "--help"],
        vec!["invite", "revoke", "--help"],
        vec!["group", "--help"],
        vec!["group", "list", "--help"],
        vec!["group", "create", "--help"],
        vec!["group", "add", "--help"],
        vec!["group", "remove", "--help"],
        vec!["audit", "--help"],
    ] {
        let out = ok(&s, &cmd);
        assert!(out.contains("Usage:"), "{cmd:?}: {out}");
    }
    fails(&s, &["invite", "frobnicate"], "unrecognized subcommand");
}
