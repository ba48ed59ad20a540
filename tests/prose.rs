//! Prose pods drive the API through their own client (prose-pod-server's `prosody-http`
//! crate, `mod_http_admin_api.rs`). This test plays that client: the same typed structs
//! with exactly its fields and rules (required `code`, `error.text` and `error.source`,
//! required `jid`, required `additional_data` — null allowed, missing not —, the
//! condition → kind map with `extra.condition` taken first, and an unknown condition a
//! bug, as its debug builds panic), driving list/get/unknown user, role change, invite
//! create/read/list/cancel with additional data, reset invite, user delete, a non-admin
//! token and a bad token: every answer decodes and maps as Prose expects. On SQLite and on
//! Prosody's flat files, Prosody 13's layout (what Prose pods run).
//!
//! Where Prose's client reads a success body into `()` (update, delete), neither the
//! later module (an empty body) nor we (the documented JSON) give one it decodes: there
//! the test checks the status and our documented body.

mod common;

use std::path::PathBuf;

use common::Server;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

// ---- Prose's shapes (prosody-http: lib.rs `error`, mod_http_admin_api.rs) ----

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct ProsodyHttpError {
    error: ProsodyHttpErrorDetails,
    code: u16,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct ProsodyHttpErrorDetails {
    source: Box<str>,
    text: Box<str>,
    condition: Box<str>,
    r#type: Box<str>,
    extra: Option<DefaultExtraInfo>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct DefaultExtraInfo {
    namespace: Box<str>,
    condition: Box<str>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct UserInfo {
    jid: Box<str>,
    username: Box<str>,
    display_name: Box<str>,
    role: Option<Box<str>>,
    secondary_roles: Box<[Box<str>]>,
    groups: Box<[Box<str>]>,
    #[serde(default)]
    last_active: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct InviteInfo {
    id: Box<str>,
    r#type: Box<str>,
    reusable: bool,
    #[serde(default)]
    inviter: Option<Box<str>>,
    jid: Box<str>,
    uri: Box<str>,
    #[serde(default)]
    landing_page: Option<Box<str>>,
    // Prose's `time` feature reads these as `OffsetDateTime` timestamps (i64).
    created_at: i64,
    expires: i64,
    #[serde(default)]
    groups: Box<[Box<str>]>,
    #[serde(default)]
    roles: Box<[Box<str>]>,
    #[serde(default)]
    source: Option<Box<str>>,
    reset: bool,
    #[serde(default)]
    note: Option<Box<str>>,
    additional_data: Value,
}

/// Prose's `ProsodyHttpAdminApiError` kinds.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    Internal,
}

/// Prose's `receive`: a success decodes as `T`; an error decodes as its error type and
/// maps by `extra.condition`, else `condition`; an unknown condition is a bug.
fn receive<T: DeserializeOwned>(r: &common::Resp) -> Result<T, Kind> {
    if (200..300).contains(&r.status) {
        return Ok(
            serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("success body does not decode: {e}: {}", r.body))
        );
    }
    let e: ProsodyHttpError =
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("error body does not decode: {e}: {}", r.body));
    assert_eq!(r.status, e.code);
    let condition = e.error.extra.as_ref().map_or(&e.error.condition, |x| &x.condition);
    Err(match &**condition {
        "bad-request" | "group-name-required" => Kind::BadRequest,
        "not-authorized" => Kind::Unauthorized,
        "forbidden" => Kind::Forbidden,
        "item-not-found" | "user-not-found" | "group-not-found" => Kind::NotFound,
        "conflict" => Kind::Conflict,
        "internal-server-error" | "feature-not-implemented" => Kind::Internal,
        other => panic!("Unknown error: {other:?} ({})", r.body),
    })
}

/// Prose's `accept_not_found`: not found is `None`.
fn optional<T>(r: Result<T, Kind>) -> Result<Option<T>, Kind> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(Kind::NotFound) => Ok(None),
        Err(k) => Err(k),
    }
}

fn call(s: &Server, method: &str, path: &str, body: Option<Value>, token: &str) -> common::Resp {
    let body = body.map(|b| b.to_string());
    s.request(method, &format!("/admin_api{path}"), body.as_deref(), Some(token))
}

fn drive(s: &Server) {
    let admin = s.token.clone();
    s.add_user("alice", "pw");
    // Prose sets every member's nickname (its `display_name` is required).
    for (who, nick) in [("admin", "Admin"), ("alice", "Alice")] {
        let r = call(s, "PUT", &format!("/users/{who}"), Some(json!({"display_name": nick})), &admin);
        assert_eq!(r.status, 200, "{}", r.body);
    }

    // Users: list, get, unknown.
    let users: Box<[UserInfo]> = receive(&call(s, "GET", "/users", None, &admin)).unwrap();
    let alice = users.iter().find(|u| &*u.username == "alice").expect("alice listed");
    assert_eq!(&*alice.jid, "alice@localhost");
    assert_eq!(alice.role.as_deref(), Some("prosody:registered"));
    let got: Option<UserInfo> = optional(receive(&call(s, "GET", "/users/alice", None, &admin))).unwrap();
    assert_eq!(&*got.unwrap().jid, "alice@localhost");
    let none: Option<UserInfo> = optional(receive(&call(s, "GET", "/users/nobody", None, &admin))).unwrap();
    assert!(none.is_none());

    // Role change (Prose's UpdateUserInfoRequest), read back.
    let r = call(s, "PUT", "/users/alice", Some(json!({"role": "prosody:member"})), &admin);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["role"], "prosody:member");
    let got: Option<UserInfo> = optional(receive(&call(s, "GET", "/users/alice", None, &admin))).unwrap();
    assert_eq!(got.unwrap().role.as_deref(), Some("prosody:member"));
    // A role the server does not know: Prose's BadRequest.
    let r = call(s, "PUT", "/users/alice", Some(json!({"role": "prosody:nonsense"})), &admin);
    assert_eq!(receive::<Value>(&r).unwrap_err(), Kind::BadRequest);

    // Invites with additional data (Prose's CreateAccountInvitationRequest).
    let email = json!({"email": "carol@example.org"});
    let req = json!({"username": "carol", "ttl": 3600, "groups": null, "roles": ["prosody:member"],
                     "note": null, "additional_data": email});
    let inv: InviteInfo = receive(&call(s, "POST", "/invites/account", Some(req), &admin)).unwrap();
    assert_eq!(inv.additional_data, email);
    assert_eq!(&*inv.jid, "carol@localhost");
    assert!(!inv.reset && inv.expires > inv.created_at);
    assert_eq!(&*inv.roles, [Box::from("prosody:member")]);
    let id = inv.id.to_string();
    let read: Option<InviteInfo> = optional(receive(&call(s, "GET", &format!("/invites/{id}"), None, &admin))).unwrap();
    assert_eq!(read.unwrap().additional_data, email);
    let all: Box<[InviteInfo]> = receive(&call(s, "GET", "/invites", None, &admin)).unwrap();
    assert_eq!(all.iter().find(|i| *i.id == *id).expect("listed").additional_data, email);
    // An invite without additional data: the field is there, null.
    let plain: InviteInfo =
        receive(&call(s, "POST", "/invites/account", Some(json!({"additional_data": null})), &admin)).unwrap();
    assert_eq!(plain.additional_data, Value::Null);
    // A reserved key in additional_data: Prose's BadRequest, nothing written.
    let before: Box<[InviteInfo]> = receive(&call(s, "GET", "/invites", None, &admin)).unwrap();
    let r = call(s, "POST", "/invites/account", Some(json!({"additional_data": {"roles": ["prosody:admin"]}})), &admin);
    assert_eq!(receive::<InviteInfo>(&r).unwrap_err(), Kind::BadRequest);
    let after: Box<[InviteInfo]> = receive(&call(s, "GET", "/invites", None, &admin)).unwrap();
    assert_eq!(before.len(), after.len());
    // Cancel, then it is gone (Prose: None).
    let r = call(s, "DELETE", &format!("/invites/{id}"), None, &admin);
    assert_eq!(r.status, 200, "{}", r.body);
    let gone: Option<InviteInfo> = optional(receive(&call(s, "GET", &format!("/invites/{id}"), None, &admin))).unwrap();
    assert!(gone.is_none());
    let r = call(s, "DELETE", &format!("/invites/{id}"), None, &admin);
    assert!(optional(receive::<Value>(&r)).unwrap().is_none(), "a second cancel is Prose's not-found");

    // Reset invite (Prose's CreateAccountResetInvitationRequest).
    let req = json!({"username": "alice", "ttl": 600, "additional_data": {"requested_by": "admin"}});
    let reset: InviteInfo = receive(&call(s, "POST", "/invites/reset", Some(req), &admin)).unwrap();
    assert!(reset.reset);
    assert_eq!(reset.additional_data, json!({"requested_by": "admin"}));
    let r = call(s, "POST", "/invites/reset", Some(json!({"username": "nobody", "additional_data": null})), &admin);
    assert_eq!(receive::<InviteInfo>(&r).unwrap_err(), Kind::NotFound);

    // A group with a chosen id, as Prose creates its team group; the id again: Conflict.
    let r = call(s, "POST", "/groups", Some(json!({"name": "Team", "id": "team"})), &admin);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["id"], "team");
    let r = call(s, "PUT", "/groups/team/members/alice", None, &admin);
    assert!((200..300).contains(&r.status), "{}", r.body);
    let r = call(s, "POST", "/groups", Some(json!({"name": "Again", "id": "team"})), &admin);
    assert_eq!(receive::<Value>(&r).unwrap_err(), Kind::Conflict);
    let r = call(s, "POST", "/groups", Some(json!({"name": "Bad", "id": "no spaces"})), &admin);
    assert_eq!(receive::<Value>(&r).unwrap_err(), Kind::BadRequest);
    let got: Option<UserInfo> = optional(receive(&call(s, "GET", "/users/alice", None, &admin))).unwrap();
    assert_eq!(&*got.unwrap().groups, [Box::from("team")]);

    // A non-admin token: Forbidden; a bad one: Unauthorized.
    let o = s.cli(&["token", "create", "--user", "alice", "--allow-non-admin"], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let member = String::from_utf8(o.stdout).unwrap().trim().to_string();
    assert_eq!(receive::<Value>(&call(s, "GET", "/users", None, &member)).unwrap_err(), Kind::Forbidden);
    assert_eq!(receive::<Value>(&call(s, "GET", "/users", None, "secret-token:nope")).unwrap_err(), Kind::Unauthorized);

    // Delete the user; then Prose reads None.
    let r = call(s, "DELETE", "/users/alice", None, &admin);
    assert_eq!(r.status, 200, "{}", r.body);
    let none: Option<UserInfo> = optional(receive(&call(s, "GET", "/users/alice", None, &admin))).unwrap();
    assert!(none.is_none());
    let r = call(s, "DELETE", "/users/alice", None, &admin);
    assert!(optional(receive::<Value>(&r)).unwrap().is_none(), "deleting again is Prose's not-found");
}

#[test]
fn prose_client_on_sqlite() {
    let s = Server::start_version("13", &[]);
    drive(&s);
}

#[test]
fn prose_client_on_flat_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let db = PathBuf::from(format!("internal:{}", data.display()));
    let s = Server::start_on(dir, db, &["--prosody-version", "13"]);
    drive(&s);
}
