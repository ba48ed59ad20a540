//! `--prosody-config`: Prosody's own config as the one source of settings. Bad configs
//! are clear errors that change nothing; a Snikket-shaped config (written here from
//! snikket-server's documented `prosody.cfg.lua`: `ENV_SNIKKET_*`, `Lua.*`, a
//! process-type branch, `custom_roles`, `invites_page`, `Include` of a tweak directory)
//! drives custom roles and invite links. (Prosody's own packaged configs, and Prosody
//! itself reading what we write, are in tests/interop.)

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::Server;

/// Every file of a directory and its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            out.insert(p.clone(), std::fs::read(&p).unwrap());
        }
    }
    out
}

/// A database in Prosody 13's layout with one account, made by our CLI (as if
/// Prosody had created it).
fn database(data: &Path) -> PathBuf {
    std::fs::create_dir_all(data).unwrap();
    let db = data.join("prosody.sqlite");
    let o = common::cli(&db, &["--prosody-version", "13", "user", "add", "alice"], Some("pw\n"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    db
}

fn run(args: &[&str]) -> (bool, String) {
    let o = Command::new(common::BIN).args(args).env("RUST_LOG", "warn").output().unwrap();
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

#[test]
fn bad_configs_fail_clearly_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    database(&data);
    let marker = dir.path().join("marker");
    let head = format!("data_path = {:?}\nstorage = \"sql\"\nsql = {{ driver = \"SQLite3\" }}\n", data.display());
    let cases: Vec<(&str, String, &str)> = vec![
        ("syntax error", format!("{head}VirtualHost \"localhost\"\nadmins = {{ \"a@localhost\"\n"), "cfg.lua:6"),
        (
            "missing include",
            format!("{head}Include \"nowhere.cfg.lua\"\nVirtualHost \"localhost\"\n"),
            "nowhere.cfg.lua",
        ),
        ("unknown driver", "storage = \"memory\"\nVirtualHost \"localhost\"\n".to_string(), "\"memory\""),
        (
            "os.execute",
            format!("{head}VirtualHost \"localhost\"\nos.execute(\"touch {}\")\n", marker.display()),
            "os.execute",
        ),
        (
            "io.open",
            format!("{head}VirtualHost \"localhost\"\nio.open({:?}, \"w\")\n", marker.display()),
            "write files",
        ),
        ("require", format!("{head}local s = require \"socket\"\nVirtualHost \"localhost\"\n"), "require"),
        (
            "internal storage, no data",
            "data_path = \"/nonexistent/prosody\"\nVirtualHost \"localhost\"\n".to_string(),
            "internal",
        ),
    ];
    for (what, text, says) in cases {
        let cfg = dir.path().join("bad.cfg.lua");
        std::fs::write(&cfg, text).unwrap();
        let before = snapshot(&data);
        for args in [
            vec!["--prosody-config", cfg.to_str().unwrap(), "user", "list"],
            vec!["--prosody-config", cfg.to_str().unwrap(), "serve", "--listen", "127.0.0.1:0"],
        ] {
            let (ok, out) = run(&args);
            assert!(!ok, "{what}: exit 0: {out}");
            assert!(out.contains("bad.cfg.lua") && out.contains(says), "{what}: {out}");
        }
        assert_eq!(snapshot(&data), before, "{what}: the data directory changed");
        assert!(!marker.exists(), "{what}: the config had an effect");
    }
    let (ok, out) = run(&["--prosody-config", dir.path().join("none.cfg.lua").to_str().unwrap(), "user", "list"]);
    assert!(!ok && out.contains("none.cfg.lua") && out.contains("no such file"), "{out}");
    // Several hosts: a command of the command line needs one (`serve` takes them all:
    // tests/hosts.rs); a host picked among them: no error; one the config lacks: the error
    // lists them.
    let cfg = dir.path().join("two.cfg.lua");
    std::fs::write(&cfg, format!("{head}VirtualHost \"one.example\"\nVirtualHost \"two.example\"\n")).unwrap();
    let (ok, out) = run(&["--prosody-config", cfg.to_str().unwrap(), "user", "list"]);
    assert!(!ok && out.contains("one.example, two.example") && out.contains("--host"), "{out}");
    let (ok, out) = run(&["--prosody-config", cfg.to_str().unwrap(), "--host", "two.example", "config"]);
    assert!(ok && out.contains("host: two.example"), "{out}");
    let (ok, out) = run(&["--prosody-config", cfg.to_str().unwrap(), "--host", "three.example", "config"]);
    assert!(!ok && out.contains("one.example, two.example"), "{out}");
}

/// A config shaped as snikket-server's: what it reads from the environment, its
/// `Lua.` calls, a branch only the running server takes (which would `require`), the
/// custom role and the invite page; storage switched to SQLite by its tweak variable.
const SNIKKET: &str = r#"
local DOMAIN = Lua.assert(ENV_SNIKKET_DOMAIN, "Please set the SNIKKET_DOMAIN environment variable")
local RETENTION_DAYS = Lua.tonumber(ENV_SNIKKET_RETENTION_DAYS) or 7;

if Lua.prosody.process_type == "prosody" and not Lua.prosody.config_loaded then
	local lfs = Lua.require "lfs";
end

data_path = ENV_SNIKKET_TEST_DATA
archive_expires_after = ("%dd"):format(RETENTION_DAYS)
modules_enabled = { "roster"; "saslauth"; "invites" }
modules_enabled:append { "groups_internal" }

if ENV_SNIKKET_TWEAK_STORAGE == "sqlite" then
	storage = "sql"
	sql = { driver = "SQLite3", database = "prosody.sqlite" }
end

custom_roles = { { name = "prosody:restricted"; priority = 15 } }
invites_page = ENV_SNIKKET_INVITE_URL or ("https://"..DOMAIN.."/invite/{invite.token}/");
invites_page_supports = { "account", "contact", "account-and-contact", "password-reset" }
groups_muc_host = "groups."..DOMAIN

VirtualHost (DOMAIN)
authentication = "internal_hashed"

Component ("groups."..DOMAIN) "muc"
modules_enabled = { "muc_mam" }

Include (ENV_SNIKKET_TWEAK_EXTRA_CONFIG or "/snikket/prosody/*.cfg.lua")
"#;

#[test]
fn a_snikket_config_gives_custom_roles_and_invite_links() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The domain's database, as Prosody would have created it.
    let db = data.join("prosody.sqlite");
    std::fs::create_dir_all(&data).unwrap();
    let o = Command::new(common::BIN)
        .args(["--database", db.to_str().unwrap(), "--host", "chat.example", "--prosody-version", "13"])
        .args(["user", "add", "admin", "--admin"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let tweaks = dir.path().join("tweaks");
    std::fs::create_dir(&tweaks).unwrap();
    std::fs::write(tweaks.join("extra.cfg.lua"), "extra_from_include = true\n").unwrap();
    let cfg = dir.path().join("prosody.cfg.lua");
    std::fs::write(&cfg, SNIKKET).unwrap();
    for (k, v) in [
        ("SNIKKET_DOMAIN", "chat.example".to_string()),
        ("SNIKKET_TWEAK_STORAGE", "sqlite".to_string()),
        ("SNIKKET_TEST_DATA", data.display().to_string()),
        ("SNIKKET_TWEAK_EXTRA_CONFIG", format!("{}/*.cfg.lua", tweaks.display())),
    ] {
        std::env::set_var(k, v);
    }
    let cfg_s = cfg.to_str().unwrap();
    let (ok, out) = run(&["--prosody-config", cfg_s, "config"]);
    assert!(ok, "{out}");
    assert!(out.contains("host: chat.example") && out.contains("custom_roles: prosody:restricted"), "{out}");
    assert!(out.contains(&format!("database: {}", db.display())), "{out}");
    assert!(out.contains("groups_muc_host: groups.chat.example"), "{out}");
    let (ok, token) = run(&["--prosody-config", cfg_s, "token", "create", "--user", "admin"]);
    assert!(ok, "{token}");

    let mut s = Server::start_prosody_config(dir, db.clone(), &cfg, &[]);
    s.token = token.trim().to_string();
    let (ok, out) = run(&["--prosody-config", cfg_s, "user", "add", "bob"]);
    assert!(ok, "{out}");
    // The custom role: set as primary, read back as `role`, on an invite too.
    let r = s.admin("PUT", "/users/bob", Some(r#"{"role":"prosody:restricted"}"#));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["role"], "prosody:restricted");
    assert_eq!(s.admin("GET", "/users/bob", None).json()["role"], "prosody:restricted");
    let stored: String = s.sql().one(
        r#"SELECT "value" FROM "prosody" WHERE "host"='chat.example' AND "user"='bob' AND "store"='account_roles' AND "key"='_default'"#,
        &[],
    );
    assert_eq!(stored, "prosody:restricted");
    let inv = s.admin("POST", "/invites/account", Some(r#"{"roles":["prosody:restricted"]}"#));
    assert_eq!(inv.status, 200, "{}", inv.body);
    let inv = inv.json();
    assert_eq!(inv["roles"], serde_json::json!(["prosody:restricted"]));
    // The invite page, rendered for its token as mod_invites renders it.
    let token = inv["id"].as_str().unwrap();
    assert_eq!(inv["landing_page"], format!("https://chat.example/invite/{token}/"));
    let listed = s.admin("GET", "/invites", None).json();
    assert_eq!(listed[0]["landing_page"], format!("https://chat.example/invite/{token}/"));
    // A role the server does not know: 400, nothing written.
    let rows = |s: &Server| -> i64 { s.sql().one(r#"SELECT count(*) FROM "prosody""#, &[]) };
    let before = rows(&s);
    assert_eq!(s.admin("PUT", "/users/bob", Some(r#"{"role":"prosody:nonsense"}"#)).status, 400);
    assert_eq!(s.admin("POST", "/invites/account", Some(r#"{"roles":["prosody:nonsense"]}"#)).status, 400);
    assert_eq!(rows(&s), before);
    assert_eq!(s.admin("GET", "/users/bob", None).json()["role"], "prosody:restricted");
    s.terminate();
}
