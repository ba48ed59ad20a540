//! The storage contract with Prosody 0.12 (../shared/reference/prosody-0.12-storage.md):
//! rows written the way Prosody writes them read back through the API, and the rows the
//! API writes are the ones Prosody would write, byte for byte where Prosody compares them.

mod common;

use common::{now, put_archive, put_row, seed_fields, Server};
use serde_json::{json, Value};

const NICK_NODE: &str = "http://jabber.org/protocol/nick";

fn rows(s: &Server, host: &str, user: &str, store: &str) -> Vec<(String, String, String)> {
    let c = s.sqlite();
    let mut st = c
        .prepare(
            r#"SELECT "key","type","value" FROM "prosody" WHERE "host"=? AND "user"=? AND "store"=? ORDER BY "key""#,
        )
        .unwrap();
    st.query_map([host, user, store], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
}

fn json_of(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

#[test]
fn reads_what_prosody_wrote() {
    let s = Server::start_version("0.12", &[]);
    let c = s.sqlite();
    let h = "localhost";
    // Verbatim rows from the reference.
    put_row(&c, h, "alice", "accounts", "iteration_count", "number", "10000");
    put_row(&c, h, "alice", "accounts", "salt", "string", "e92314ef-1b45-4857-92e1-e96382c5689c");
    put_row(&c, h, "alice", "accounts", "server_key", "string", "1fb07677e45b613ea3141848d561808e1b6f6784");
    put_row(&c, h, "alice", "accounts", "stored_key", "string", "afd5cef63e381ba9a1807beda8b393a954fb9837");
    put_row(&c, h, "bob", "accounts", "iteration_count", "number", "10000");
    put_row(&c, h, "alice", "roles", "custom:role", "boolean", "true");
    put_row(&c, h, "alice", "roles", "prosody:admin", "boolean", "true");
    put_row(
        &c,
        h,
        "alice",
        "pep",
        NICK_NODE,
        "json",
        r#"{"config":{"_defaults_only":true,"access_model":"open"},"name":"http://jabber.org/protocol/nick","affiliations":{},"subscribers":{}}"#,
    );
    put_archive(
        &c,
        h,
        "alice",
        "pep_http://jabber.org/protocol/nick",
        "current",
        1795687791,
        "",
        "xml",
        "<nick xmlns='http://jabber.org/protocol/nick'>Alice Liddell</nick>",
    );
    put_row(&c, h, "DAMedeC5NArp", "group_info", "name", "string", "Team A");
    put_row(&c, h, "xg-rZPdwC5_7", "group_info", "muc_jid", "string", "7phsobppujq5@groups.localhost");
    put_row(&c, h, "xg-rZPdwC5_7", "group_info", "name", "string", "Team MUC");
    put_row(&c, h, "N8mbr7r_0001", "group_info", "name", "number", "42");
    put_row(&c, h, "DAMedeC5NArp", "groups", "alice", "json", "{}");
    put_row(&c, h, "DAMedeC5NArp", "groups", "bob", "json", "{}");
    let exp = now() + 3600;
    put_row(
        &c,
        h,
        "",
        "invite_token",
        "qe9A98YmhqKuPzBF7ojL77YM",
        "json",
        &format!(
            r#"{{"expires":{exp},"allow_registration":true,"type":"register","token":"qe9A98YmhqKuPzBF7ojL77YM","created_at":1795687791,"additional_data":{{"groups":["DAMedeC5NArp"],"source":"admin@localhost/admin_api"}},"jid":"newbie@localhost","uri":"xmpp:newbie@localhost?register;preauth=qe9A98YmhqKuPzBF7ojL77YM"}}"#
        ),
    );
    put_row(
        &c,
        h,
        "",
        "invite_token",
        "L31ZEL2RIq4U2D8dlkzb_wSH",
        "json",
        &format!(
            r#"{{"allow_registration":true,"type":"register","uri":"xmpp:localhost?register;preauth=L31ZEL2RIq4U2D8dlkzb_wSH","expires":{exp},"created_at":1795687792,"token":"L31ZEL2RIq4U2D8dlkzb_wSH","additional_data":{{"groups":["DAMedeC5NArp"],"source":"admin@localhost/admin_api"}},"jid":"localhost","reusable":true}}"#
        ),
    );
    put_row(
        &c,
        h,
        "",
        "invite_token",
        "wB47i2-h0aDeuorYoTZDFsPZ",
        "json",
        &format!(
            r#"{{"expires":{exp},"allow_registration":true,"type":"register","token":"wB47i2-h0aDeuorYoTZDFsPZ","created_at":1795687793,"additional_data":{{"allow_reset":"carol"}},"jid":"carol@localhost","uri":"xmpp:carol@localhost?register;preauth=wB47i2-h0aDeuorYoTZDFsPZ"}}"#
        ),
    );
    // Push and OMEMO rows of the debug-info fixture.
    put_row(
        &c,
        h,
        "alice",
        "cloud_notify",
        "push.example.com<abc",
        "json",
        r#"{"resource":"fixture","language":"en","node":"abc","timestamp":1795688298,"jid":"push.example.com"}"#,
    );
    put_row(
        &c,
        h,
        "alice",
        "pep",
        "eu.siacs.conversations.axolotl.bundles:1001",
        "json",
        r#"{"name":"eu.siacs.conversations.axolotl.bundles:1001","affiliations":{},"subscribers":{},"config":{"persist_items":true,"access_model":"open","max_items":1}}"#,
    );
    put_row(
        &c,
        h,
        "alice",
        "pep",
        "eu.siacs.conversations.axolotl.devicelist",
        "json",
        r#"{"name":"eu.siacs.conversations.axolotl.devicelist","affiliations":{},"subscribers":{},"config":{"persist_items":true,"access_model":"open","max_items":1}}"#,
    );
    put_archive(
        &c,
        h,
        "alice",
        "pep_eu.siacs.conversations.axolotl.devicelist",
        "current",
        1795688298,
        "alice@localhost",
        "xml",
        "<list xmlns='eu.siacs.conversations.axolotl'><device id='1001'/><device id='2002'/></list>",
    );
    put_archive(&c, h, "alice", "pep_eu.siacs.conversations.axolotl.bundles:1001", "current", 1795688298, "alice@localhost", "xml", "<bundle xmlns='eu.siacs.conversations.axolotl'><signedPreKeyPublic signedPreKeyId='1'>BbyIW3HCvwWbaz1t6KSlvPvqzjSMLKSsjh2FYMko8zUa</signedPreKeyPublic><identityKey>Bf0pW0pM5DGGzHDi/k3kGAe7zRpT5tzGiblPKik7dOAt</identityKey></bundle>");

    let users = s.admin("GET", "/users", None).json();
    let names: Vec<&str> = users.as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "alice", "bob"]);
    let alice = s.admin("GET", "/users/alice", None).json();
    assert_eq!(
        seed_fields(&alice),
        json!({"username": "alice", "display_name": "Alice Liddell", "roles": ["custom:role", "prosody:admin"], "groups": ["DAMedeC5NArp"]}),
    );
    // 0.12: no primary role, nothing disabled, no activity recorded.
    assert_eq!(
        (alice["role"].clone(), alice["enabled"].clone(), alice["last_active"].clone()),
        (Value::Null, json!(true), Value::Null)
    );
    assert_eq!(users[1], alice, "list and get agree");
    assert_eq!(s.admin("GET", "/users/bob/groups", None).json(), json!(["DAMedeC5NArp"]));

    let groups = s.admin("GET", "/groups", None).json();
    assert_eq!(
        groups,
        json!([
            {"id": "DAMedeC5NArp", "name": "Team A", "muc_jid": null, "members": ["alice", "bob"], "chats": []},
            {"id": "N8mbr7r_0001", "name": "42", "muc_jid": null, "members": [], "chats": []},
            // The fixture has no room rows for its chat: listed, and marked deleted.
            {"id": "xg-rZPdwC5_7", "name": "Team MUC", "muc_jid": "7phsobppujq5@groups.localhost", "members": [],
             "chats": [{"id": "7phsobppujq5", "jid": "7phsobppujq5@groups.localhost", "name": "Team MUC", "deleted": true}]},
        ])
    );

    let invites = s.admin("GET", "/invites", None).json();
    let ids: Vec<&str> = invites.as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["qe9A98YmhqKuPzBF7ojL77YM", "L31ZEL2RIq4U2D8dlkzb_wSH", "wB47i2-h0aDeuorYoTZDFsPZ"]);
    assert_eq!(invites[0]["jid"], "newbie@localhost");
    assert_eq!(invites[0]["groups"], json!(["DAMedeC5NArp"]));
    assert_eq!(invites[0]["reusable"], false);
    assert_eq!(invites[1]["reusable"], true);
    assert_eq!(invites[2]["reset"], true);
    assert_eq!(invites[2]["source"], Value::Null);
    assert_eq!(s.admin("GET", "/invites/wB47i2-h0aDeuorYoTZDFsPZ", None).json(), invites[2]);

    // Debug info, as the reference module reported it for these rows (sessions aside).
    let d = s.admin("GET", "/users/alice/debug", None).json();
    assert_eq!(
        d["push_registrations"],
        json!({"push.example.com<abc": {"node": "abc", "since": 1795688298, "service": "push.example.com", "error_count": 0.0}})
    );
    let cfg = json!({"access_model": "open", "max_items": 1, "persist_items": true, "publish_model": "publishers", "send_last_published_item": "on_sub_and_presence"});
    assert_eq!(
        d["omemo"],
        json!({
            "devices": [
                {"bundle_config": cfg, "have_bundle": true, "id": 1001, "valid": true},
                {"id": 2002, "valid": false},
            ],
            "status": {"config": cfg, "config_valid": true, "valid": false},
        })
    );
    assert_eq!(d["sessions"], json!([]));
}

#[test]
fn writes_what_prosody_reads() {
    let s = Server::start_version("0.12", &[]);
    s.add_user("alice", "pass");
    s.add_user("carol", "pw");

    // accounts: 4 rows, Prosody's types; keys verify against the password.
    let acc = rows(&s, "localhost", "alice", "accounts");
    let keys: Vec<(&str, &str)> = acc.iter().map(|(k, t, _)| (k.as_str(), t.as_str())).collect();
    assert_eq!(
        keys,
        [("iteration_count", "number"), ("salt", "string"), ("server_key", "string"), ("stored_key", "string")]
    );
    assert_eq!(acc[0].2, "10000");
    let salt = &acc[1].2;
    assert_eq!(salt.len(), 36);
    assert_eq!(salt.matches('-').count(), 4);
    let expect = backend::scram::Credentials::with_salt("pass", salt, 10000).unwrap();
    assert_eq!((acc[2].2.as_str(), acc[3].2.as_str()), (expect.server_key.as_str(), expect.stored_key.as_str()));

    // Nick: the pep node row and the archive item, exactly as through Prosody.
    let r = s.admin(
        "PUT",
        "/users/alice",
        Some(r#"{"display_name":"Alice Liddell","roles":["custom:role","prosody:admin"]}"#),
    );
    assert_eq!(r.status, 200);
    let pep = rows(&s, "localhost", "alice", "pep");
    assert_eq!(pep.len(), 1);
    assert_eq!((pep[0].0.as_str(), pep[0].1.as_str()), (NICK_NODE, "json"));
    assert_eq!(
        json_of(&pep[0].2),
        json_of(
            r#"{"config":{"_defaults_only":true,"access_model":"open"},"name":"http://jabber.org/protocol/nick","affiliations":{},"subscribers":{}}"#
        )
    );
    let (key, with, ty, value): (String, String, String, String) = s
        .sqlite()
        .query_row(
            r#"SELECT "key","with","type","value" FROM prosodyarchive WHERE host='localhost' AND user='alice' AND store='pep_http://jabber.org/protocol/nick'"#,
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!((key.as_str(), with.as_str(), ty.as_str()), ("current", "", "xml"));
    assert_eq!(value, "<nick xmlns='http://jabber.org/protocol/nick'>Alice Liddell</nick>");
    assert_eq!(
        rows(&s, "localhost", "alice", "roles"),
        [
            ("custom:role".into(), "boolean".into(), "true".into()),
            ("prosody:admin".into(), "boolean".into(), "true".into())
        ]
    );

    // Groups: group_info name (string), membership rows json {}.
    let g = s.admin("POST", "/groups", Some(r#"{"name":"Team A"}"#)).json();
    let gid = g["id"].as_str().unwrap();
    assert_eq!(s.admin("PUT", &format!("/groups/{gid}/members/alice"), None).status, 200);
    assert_eq!(rows(&s, "localhost", gid, "group_info"), [("name".into(), "string".into(), "Team A".into())]);
    assert_eq!(rows(&s, "localhost", gid, "groups"), [("alice".into(), "json".into(), "{}".into())]);

    // Group chat: the room rows on the groups host.
    let m = s.admin("POST", "/groups", Some(r#"{"name":"Team MUC","create_muc":true}"#)).json();
    let mid = m["id"].as_str().unwrap();
    let muc = m["muc_jid"].as_str().unwrap();
    let room = muc.split('@').next().unwrap();
    assert_eq!(room.len(), 12);
    assert_eq!(s.admin("PUT", &format!("/groups/{mid}/members/carol"), None).status, 200);
    let cfg = rows(&s, "groups.localhost", room, "config");
    let map: std::collections::HashMap<&str, (&str, &str)> =
        cfg.iter().map(|(k, t, v)| (k.as_str(), (t.as_str(), v.as_str()))).collect();
    assert_eq!(map.len(), 4, "{cfg:?}");
    assert_eq!(map["_data"].0, "json");
    assert_eq!(
        json_of(map["_data"].1),
        json!({"name": "Team MUC", "persistent": true, "members_only": true, "whois": "anyone", "hidden": true})
    );
    assert_eq!(map["_affiliation_data"], ("json", "{}"));
    assert_eq!(map["_jid"], ("string", muc));
    assert_eq!(map["carol@localhost"], ("string", "member"));
    assert_eq!(rows(&s, "groups.localhost", "", "persistent"), [(muc.to_string(), "boolean".into(), "true".into())]);
    assert_eq!(rows(&s, "localhost", mid, "group_info")[0], ("muc_jid".into(), "string".into(), muc.to_string()));

    // Invites: mod_invites' JSON, host-level rows.
    let a = s.admin("POST", "/invites/account", Some(&format!(r#"{{"username":"newbie","groups":["{gid}"]}}"#))).json();
    let r = s.admin("POST", "/invites/reset", Some(r#"{"username":"carol"}"#)).json();
    let gi = s.admin("POST", "/invites/group", Some(&format!(r#"{{"groups":["{gid}"],"ttl":600}}"#))).json();
    let inv = rows(&s, "localhost", "", "invite_token");
    assert_eq!(inv.len(), 3);
    let by_key =
        |k: &Value| json_of(&inv.iter().find(|(key, t, _)| key == k.as_str().unwrap() && t == "json").unwrap().2);
    let va = by_key(&a["id"]);
    let mut fields: Vec<&String> = va.as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(
        fields,
        ["additional_data", "allow_registration", "created_at", "expires", "jid", "token", "type", "uri"]
    );
    assert_eq!(va["allow_registration"], true);
    assert_eq!(va["type"], "register");
    assert_eq!(va["jid"], "newbie@localhost");
    assert_eq!(va["uri"], format!("xmpp:newbie@localhost?register;preauth={}", a["id"].as_str().unwrap()));
    assert!(va["expires"].is_i64() && va["created_at"].is_i64());
    assert_eq!(va["additional_data"], json!({"groups": [gid], "source": "admin@localhost/admin_api"}));
    let vr = by_key(&r["id"]);
    assert_eq!(vr["jid"], "carol@localhost");
    assert_eq!(vr["additional_data"]["allow_reset"], "carol");
    assert!(vr.get("reusable").is_none());
    let vg = by_key(&gi["id"]);
    assert_eq!(vg["reusable"], true);
    assert_eq!(vg["jid"], "localhost");

    // Tokens: mod_tokenauth's row.
    let out = s.cli(&["token", "create", "--user", "alice", "--ttl", "60", "--allow-non-admin"], None);
    assert!(out.status.success());
    let t = rows(&s, "localhost", "alice", "auth_tokens");
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].0.len(), 36);
    assert_eq!(t[0].1, "json");
    let v = json_of(&t[0].2);
    assert_eq!(v["session"], json!({"username": "alice", "host": "localhost", "auth_scope": "prosody:scope:admin"}));
    assert_eq!((v["jid"].as_str(), v["owner"].as_str()), (Some("alice@localhost"), Some("alice@localhost")));
    assert_eq!(v["expires"].as_i64().unwrap() - v["created"].as_i64().unwrap(), 60);
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(token, common::token_string("alice@localhost", &t[0].0));
}
