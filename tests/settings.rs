//! Settings, each declared once (src/options.rs): `prosody-admin config` lists every
//! option of the README's table with its value and where it came from; one option set
//! through each layer (flag, variable, our TOML file, Prosody's config, default) reads
//! its source back; one option set in every layer at once shows the precedence; a
//! secret never shows.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// `config --json` with `args` and the variables `env` (no other PROSODY_ADMIN_*).
fn config(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Value {
    let mut c = Command::new(common::BIN);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("PROSODY_ADMIN_")) {
        c.env_remove(k);
    }
    let o = c.current_dir(dir).args(["config", "--json"]).args(args).envs(env.iter().copied()).output().unwrap();
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The options the README's table names.
fn readme_options() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let table = &readme[readme.find("<!-- options:begin -->").unwrap()..readme.find("<!-- options:end -->").unwrap()];
    table.lines().filter_map(|l| l.strip_prefix("| `")).map(|l| l[..l.find('`').unwrap()].to_string()).collect()
}

/// A Prosody config on SQLite whose one VirtualHost sets `groups_muc_host` and `admins`.
fn prosody_config(dir: &Path) -> String {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("prosody.sqlite"), b"").unwrap();
    let pc = dir.join("prosody.cfg.lua");
    std::fs::write(
        &pc,
        format!(
            "data_path = {:?}\nstorage = \"sql\"\nsql = {{ driver = \"SQLite3\" }}\n\
             VirtualHost \"example.org\"\nadmins = {{ \"prosody@example.org\" }}\ngroups_muc_host = \"rooms.example.org\"\n",
            data.display()
        ),
    )
    .unwrap();
    pc.display().to_string()
}

#[test]
fn every_option_with_its_source_through_each_layer() {
    let dir = tempfile::tempdir().unwrap();
    let pc = prosody_config(dir.path());
    let toml = dir.path().join("c.toml");
    std::fs::write(&toml, "body_timeout = 7\n").unwrap();
    let toml = toml.to_str().unwrap();
    let c = config(
        dir.path(),
        &["--config", toml, "--prosody-config", &pc, "--listen", "127.0.0.1:6001"],
        &[("PROSODY_ADMIN_SITE_NAME", "From a variable")],
    );
    // Every option of the README's table is listed, and nothing the table lacks.
    let listed: Vec<&String> = c.as_object().unwrap().keys().collect();
    let mut names = readme_options();
    assert!(names.len() >= 35, "{names:?}");
    names.sort();
    assert_eq!(listed, names.iter().collect::<Vec<_>>());
    let got = |name: &str| (c[name]["value"].clone(), c[name]["source"].as_str().unwrap().to_string());
    assert_eq!(got("listen"), (Value::from("127.0.0.1:6001"), "flag".into()));
    assert_eq!(got("site_name"), (Value::from("From a variable"), "variable".into()));
    assert_eq!(got("body_timeout"), (Value::from(7), "toml".into()));
    assert_eq!(got("groups_muc_host"), (Value::from("rooms.example.org"), "prosody".into()));
    assert_eq!(got("max_connections"), (Value::from(512), "default".into()));
    assert!(c["groups_muc_host"]["from"].as_str().unwrap().contains("prosody.cfg.lua"));
    assert!(c["site_name"]["from"].as_str().unwrap().contains("PROSODY_ADMIN_SITE_NAME"));
    assert_eq!(c["groups_muc_host"]["scope"], "host");
    assert_eq!(c["listen"]["scope"], "server");
}

/// One option (`admins`) in every layer: each layer above wins, one at a time.
#[test]
fn precedence_flag_variable_toml_prosody_default() {
    let dir = tempfile::tempdir().unwrap();
    let pc = prosody_config(dir.path());
    let toml = dir.path().join("c.toml");
    std::fs::write(&toml, "admins = [\"toml@example.org\"]\n").unwrap();
    let toml = toml.to_str().unwrap();
    let var = [("PROSODY_ADMIN_ADMINS", "variable@example.org")];
    let admins = |args: &[&str], env: &[(&str, &str)]| {
        let c = config(dir.path(), args, env);
        (c["admins"]["value"][0].as_str().map(String::from), c["admins"]["source"].as_str().unwrap().to_string())
    };
    let all = ["--config", toml, "--prosody-config", &pc];
    let flag = [&all[..], &["--admins", "flag@example.org"]].concat();
    assert_eq!(admins(&flag, &var), (Some("flag@example.org".into()), "flag".into()));
    assert_eq!(admins(&all, &var), (Some("variable@example.org".into()), "variable".into()));
    assert_eq!(admins(&all, &[]), (Some("toml@example.org".into()), "toml".into()));
    assert_eq!(admins(&["--prosody-config", &pc], &[]), (Some("prosody@example.org".into()), "prosody".into()));
    assert_eq!(admins(&[], &[]), (None, "default".into()));
}

/// Secrets are masked in both outputs, whatever layer set them.
#[test]
fn secrets_never_show() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "s3cr3t-value-never-shown";
    let env = [("PROSODY_ADMIN_COMPONENT_SECRET", secret), ("PROSODY_ADMIN_COMPONENT_JID", "c.example")];
    let c = config(dir.path(), &["--database-password", secret], &env);
    assert_eq!(c["component_secret"]["value"], "(set, hidden)");
    assert_eq!(c["database_password"]["value"], "(set, hidden)");
    assert!(!c.to_string().contains(secret));
    let o = Command::new(common::BIN).args(["--database-password", secret, "config"]).envs(env).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && text.contains("component_secret: (set, hidden)") && !text.contains(secret), "{text}");
}

/// `--version` names the commit built, however it was built: here by `cargo test`,
/// without the Makefile's PROSODY_ADMIN_COMMIT (src/build.rs asks git).
#[test]
fn version_names_the_commit() {
    let head =
        Command::new("git").args(["rev-parse", "--short", "HEAD"]).current_dir(env!("CARGO_MANIFEST_DIR")).output();
    let o = Command::new(common::BIN).arg("--version").output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    match head {
        Ok(h) if h.status.success() && std::env::var_os("PROSODY_ADMIN_COMMIT").is_none() => {
            let head = String::from_utf8_lossy(&h.stdout).trim().to_string();
            assert!(out.contains(&format!("commit {head})")), "{out} (HEAD is {head})");
        }
        // Outside a checkout (or with the variable set): not "unknown" only in a checkout.
        _ => assert!(out.contains("commit "), "{out}"),
    }
}
