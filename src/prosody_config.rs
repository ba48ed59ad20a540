//! Prosody's own config file (`prosody.cfg.lua`), read the way Prosody reads it.
//!
//! The file is a Lua program: it is run in an embedded Lua 5.4 (mlua, vendored) inside
//! the environment Prosody's config loader gives it (`prosody_config.lua`: sections by
//! `VirtualHost`/`Component`, `Include` with globs, `ENV_*`, 13's `Lua.*`,
//! `FileContents`/`FileLine`/`FileLines`/`Credential`). The sandbox has no way to run a
//! command, write a file or open a socket (no `os.execute`, `io.popen`, writable
//! `io.open`, `require`, `load`); a config that loops or grows without end is stopped.
//! What comes out is plain data: options per section, read with Prosody's lookup (the
//! host's own value, else the global one).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use backend::lua::Sandbox;
use mlua::{StdLib, Table, Value};
use serde_json::{Map, Value as Json};

/// The environment of Prosody's config loader, in Lua.
const PRELUDE: &str = include_str!("prosody_config.lua");
/// A config is data: this many Lua instructions is a loop, not a config.
const MAX_INSTRUCTIONS: u64 = 200_000_000;
const MEMORY_LIMIT: usize = 256 << 20;
/// Where Debian's packages keep Prosody's data (their launcher's CFG_DATADIR), used
/// when the config names no `data_path`.
pub const DEBIAN_DATA_PATH: &str = "/var/lib/prosody";

/// What a section declares itself as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Host,
    Component,
}

/// A config, evaluated.
#[derive(Debug, Clone)]
pub struct ProsodyConfig {
    pub path: PathBuf,
    /// Options per section: `"*"` is the global section.
    sections: HashMap<String, Map<String, Json>>,
    /// VirtualHosts and Components in the order the file declares them, and the file
    /// that first declares each.
    declared: Vec<(String, Kind, PathBuf)>,
}

/// Where a Prosody keeps the data of a host.
#[derive(Debug, Clone, PartialEq)]
pub enum Storage {
    /// `sql` with `driver = "SQLite3"`: the database file (resolved against data_path).
    Sqlite(PathBuf),
    /// `sql` with `driver = "PostgreSQL"`.
    Postgres {
        host: Option<String>,
        port: Option<u16>,
        database: String,
        username: Option<String>,
        password: Option<String>,
    },
    /// `internal` (flat files under data_path): Prosody's default.
    Internal(PathBuf),
}

impl ProsodyConfig {
    /// Evaluates the config at `path`. Errors name the file (and the line, where Lua
    /// says it).
    pub fn load(path: &Path) -> anyhow::Result<ProsodyConfig> {
        let shown = path.display().to_string();
        let path = std::path::absolute(path).map_err(|e| anyhow::anyhow!("Prosody config {shown}: {e}"))?;
        if !path.is_file() {
            return Err(anyhow::anyhow!("Prosody config {shown}: no such file"));
        }
        let (sections, declared) =
            evaluate(&path).map_err(|e| anyhow::anyhow!("Prosody config {shown}: {}", first_line(&e.to_string())))?;
        Ok(ProsodyConfig { path, sections, declared })
    }

    /// An option of the global section.
    pub fn global(&self, key: &str) -> Option<&Json> {
        self.sections.get("*").and_then(|s| s.get(key)).filter(|v| !v.is_null())
    }

    /// An option as a host sees it: its own value, else the global one (tables are not
    /// merged).
    pub fn get(&self, host: &str, key: &str) -> Option<&Json> {
        self.sections.get(host).and_then(|s| s.get(key)).filter(|v| !v.is_null()).or_else(|| self.global(key))
    }

    fn string(&self, host: &str, key: &str) -> anyhow::Result<Option<String>> {
        match self.get(host, key) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(anyhow::anyhow!("{}: {key} must be a string, not {other}", self.path.display())),
        }
    }

    /// A list of strings (a single string is a list of one).
    fn strings(&self, v: Option<&Json>, key: &str) -> anyhow::Result<Vec<String>> {
        match v {
            None => Ok(Vec::new()),
            Some(Json::String(s)) => Ok(vec![s.clone()]),
            Some(Json::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Json::String(s) => Ok(s.clone()),
                    other => Err(anyhow::anyhow!("{}: {key} holds {other}, not a string", self.path.display())),
                })
                .collect(),
            Some(other) => {
                Err(anyhow::anyhow!("{}: {key} must be a list of strings, not {other}", self.path.display()))
            }
        }
    }

    /// The VirtualHosts Prosody activates, in order (`enabled = false`, the host's or
    /// the global one, disables).
    pub fn hosts(&self) -> Vec<&str> {
        self.declared
            .iter()
            .filter(|(_, k, _)| *k == Kind::Host)
            .map(|(h, _, _)| h.as_str())
            .filter(|h| self.get(h, "enabled") != Some(&Json::Bool(false)))
            .collect()
    }

    /// The file that declares `host` (the main file, or one it includes).
    pub fn declared_in(&self, host: &str) -> &Path {
        self.declared.iter().find(|(h, _, _)| h == host).map_or(self.path.as_path(), |(_, _, f)| f.as_path())
    }

    /// The host to administer: `wanted` if it is one of the config's enabled
    /// VirtualHosts, else the only one.
    pub fn host(&self, wanted: Option<&str>) -> anyhow::Result<String> {
        let hosts = self.hosts();
        let file = self.path.display();
        match wanted {
            Some(w) if hosts.contains(&w) => Ok(w.to_string()),
            Some(w) => Err(anyhow::anyhow!(
                "{file} has no enabled VirtualHost {w:?} (it has: {})",
                if hosts.is_empty() { "none".to_string() } else { hosts.join(", ") }
            )),
            None => match hosts[..] {
                [one] => Ok(one.to_string()),
                [] => Err(anyhow::anyhow!("{file} declares no enabled VirtualHost")),
                _ => Err(anyhow::anyhow!(
                    "{file} declares several VirtualHosts ({}): choose one with --host",
                    hosts.join(", ")
                )),
            },
        }
    }

    /// `data_path` (global only), absolute: a relative one against the working
    /// directory (as Prosody resolves it, against its own); without one, Debian's.
    pub fn data_path(&self) -> anyhow::Result<(PathBuf, &'static str)> {
        match self.global("data_path") {
            Some(Json::String(p)) => std::path::absolute(p)
                .map(|p| (p, "data_path in the Prosody config"))
                .map_err(|e| anyhow::anyhow!("data_path {p:?}: {e}")),
            Some(other) => Err(anyhow::anyhow!("{}: data_path must be a string, not {other}", self.path.display())),
            None => Ok((PathBuf::from(DEBIAN_DATA_PATH), "Debian's default data_path (the config sets none)")),
        }
    }

    /// Where `host`'s data is: the storage driver of its stores (`storage`, a name or a
    /// table by store; `default_storage`; else `internal`), and for `sql` the `sql`
    /// table. Every store the API touches must be on one driver.
    pub fn storage(&self, host: &str) -> anyhow::Result<Storage> {
        let file = self.path.display();
        let default = self.string(host, "default_storage")?.unwrap_or_else(|| "internal".to_string());
        let driver = match self.get(host, "storage") {
            None => default,
            Some(Json::String(s)) => s.clone(),
            Some(Json::Object(by_store)) => {
                let of = |store: &str| match by_store.get(store) {
                    Some(Json::String(s)) => s.clone(),
                    _ => default.clone(),
                };
                let driver = of("accounts");
                let split: Vec<&str> = API_STORES.iter().copied().filter(|s| of(s) != driver).collect();
                if !split.is_empty() {
                    return Err(anyhow::anyhow!(
                        "{file}: storage puts accounts on {driver:?} but {} elsewhere; prosody-admin needs the stores it \
                         administers on one driver",
                        split.join(", ")
                    ));
                }
                driver
            }
            Some(other) => Err(anyhow::anyhow!("{file}: storage must be a driver name or a table, not {other}"))?,
        };
        let (data_path, _) = self.data_path()?;
        match driver.as_str() {
            "internal" => Ok(Storage::Internal(data_path)),
            "sql" => self.sql(host, &data_path),
            other => Err(anyhow::anyhow!(
                "{file}: storage driver {other:?} is not one prosody-admin reads (it reads \"sql\" with SQLite3 or \
                 PostgreSQL, and \"internal\")"
            )),
        }
    }

    fn sql(&self, host: &str, data_path: &Path) -> anyhow::Result<Storage> {
        let file = self.path.display();
        let sql = match self.get(host, "sql") {
            None => Map::new(),
            Some(Json::Object(m)) => m.clone(),
            Some(other) => return Err(anyhow::anyhow!("{file}: sql must be a table, not {other}")),
        };
        let field = |k: &str| -> anyhow::Result<Option<String>> {
            match sql.get(k) {
                None | Some(Json::Null) => Ok(None),
                Some(Json::String(s)) => Ok(Some(s.clone())),
                Some(Json::Number(n)) => Ok(Some(n.to_string())),
                Some(other) => Err(anyhow::anyhow!("{file}: sql.{k} must be a string, not {other}")),
            }
        };
        match field("driver")?.as_deref().unwrap_or("SQLite3") {
            "SQLite3" => {
                let db = field("database")?.unwrap_or_else(|| "prosody.sqlite".to_string());
                if db == ":memory:" {
                    return Err(anyhow::anyhow!("{file}: sql.database is :memory:, which no other process can open"));
                }
                // mod_storage_sql: resolve_relative_path(data_path, database).
                Ok(Storage::Sqlite(data_path.join(db)))
            }
            "PostgreSQL" => Ok(Storage::Postgres {
                host: field("host")?,
                port: match field("port")? {
                    None => None,
                    Some(p) => Some(p.parse().map_err(|_| anyhow::anyhow!("{file}: sql.port {p:?} is not a port"))?),
                },
                database: field("database")?.ok_or_else(|| anyhow::anyhow!("{file}: sql.database is missing"))?,
                username: field("username")?,
                password: field("password")?,
            }),
            other => Err(anyhow::anyhow!(
                "{file}: sql.driver {other:?} is not one prosody-admin reads (SQLite3 or PostgreSQL)"
            )),
        }
    }

    /// The admins of `host`: its own `admins` and the global ones (Prosody's inherited
    /// set).
    pub fn admins(&self, host: &str) -> anyhow::Result<Vec<String>> {
        let mut all = self.strings(self.sections.get(host).and_then(|s| s.get("admins")), "admins")?;
        for a in self.strings(self.global("admins"), "admins")? {
            if !all.contains(&a) {
                all.push(a);
            }
        }
        Ok(all)
    }

    /// The names of 13's `custom_roles` (`{ { name = "x:y"; ... }, ... }`).
    pub fn custom_roles(&self, host: &str) -> anyhow::Result<Vec<String>> {
        match self.get(host, "custom_roles") {
            None => Ok(Vec::new()),
            Some(Json::Array(roles)) => roles
                .iter()
                .map(|r| match r.get("name") {
                    Some(Json::String(n)) if !n.is_empty() => Ok(n.clone()),
                    _ => Err(anyhow::anyhow!("{}: a custom_roles entry has no name: {r}", self.path.display())),
                })
                .collect(),
            Some(other) => {
                Err(anyhow::anyhow!("{}: custom_roles must be a list of tables, not {other}", self.path.display()))
            }
        }
    }

    /// The admin socket (global `admin_socket`, else `<data_path>/prosody.sock`).
    pub fn admin_socket(&self) -> anyhow::Result<PathBuf> {
        let (data, _) = self.data_path()?;
        Ok(match self.global("admin_socket") {
            Some(Json::String(p)) => data.join(p),
            _ => data.join("prosody.sock"),
        })
    }
}

/// The stores the API reads and writes (one driver for all of them).
const API_STORES: &[&str] = &[
    "accounts",
    "roles",
    "account_roles",
    "auth_tokens",
    "invite_token",
    "groups",
    "group_info",
    "account_activity",
    "accounts_cleanup",
    "offline",
    "pep",
    "pep_data",
    "config",
];

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// Entries of one directory a config may list (an `Include` glob's).
const MAX_LISTED: usize = 10_000;
/// Bytes a config may read in all, every file it includes or reads counted.
const MAX_READ: u64 = 16 << 20;

/// A regular file's bytes, counted against the config's read budget `so_far`.
fn read_bounded(p: &str, so_far: &AtomicU64) -> mlua::Result<Vec<u8>> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |why: String| mlua::Error::runtime(format!("cannot read {p}: {why}"));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(p)
        .map_err(|e| fail(e.to_string()))?;
    let meta = f.metadata().map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() {
        return Err(fail("not a regular file".into()));
    }
    let left = MAX_READ.saturating_sub(so_far.load(Ordering::Relaxed));
    let mut bytes = Vec::new();
    f.take(left + 1).read_to_end(&mut bytes).map_err(|e| fail(e.to_string()))?;
    if so_far.fetch_add(bytes.len() as u64, Ordering::Relaxed) + bytes.len() as u64 > MAX_READ {
        return Err(fail(format!("the config reads more than {MAX_READ} bytes in all")));
    }
    Ok(bytes)
}

/// Runs the config in the sandbox; its sections and declarations.
#[allow(clippy::type_complexity)]
fn evaluate(path: &Path) -> mlua::Result<(HashMap<String, Map<String, Json>>, Vec<(String, Kind, PathBuf)>)> {
    // The repo's one sandbox (backend::lua): what Prosody's config may use of the
    // standard libraries (`os` for os.getenv/os.date; the prelude takes away the rest).
    let sandbox = Sandbox::new(
        StdLib::STRING | StdLib::TABLE | StdLib::MATH | StdLib::UTF8 | StdLib::OS,
        MEMORY_LIMIT,
        MAX_INSTRUCTIONS,
        "the config did not finish (an endless loop?)",
    )?;
    let lua = sandbox.run();
    let r = lua.create_table()?;
    r.set("getenv", lua.create_function(|_, name: String| Ok(std::env::var(name).ok()))?)?;
    // Every byte the config reads (Include, FileContents, io.open, ...) counts against
    // one budget; only regular files are read, opened without blocking.
    let read_so_far = Arc::new(AtomicU64::new(0));
    r.set(
        "read",
        lua.create_function(move |lua, p: String| {
            let bytes = read_bounded(&p, &read_so_far)?;
            lua.create_string(bytes)
        })?,
    )?;
    r.set(
        "list",
        lua.create_function(|_, d: String| {
            let entries = std::fs::read_dir(&d).map_err(|e| mlua::Error::runtime(format!("cannot list {d}: {e}")))?;
            let mut names = Vec::new();
            for e in entries {
                let e = e.map_err(|e| mlua::Error::runtime(format!("cannot list {d}: {e}")))?;
                names.push(e.file_name().to_string_lossy().into_owned());
                if names.len() > MAX_LISTED {
                    return Err(mlua::Error::runtime(format!("cannot list {d}: more than {MAX_LISTED} entries")));
                }
            }
            Ok(names)
        })?,
    )?;
    r.set(
        "nameprep",
        lua.create_function(|_, name: String| {
            stringprep::nameprep(&name)
                .map(|n| n.into_owned())
                .map_err(|_| mlua::Error::runtime(format!("{name:?} is not a valid host name")))
        })?,
    )?;
    r.set(
        "log",
        lua.create_function(|_, args: mlua::Variadic<Value>| {
            let parts: Vec<String> = args.iter().map(|v| v.to_string().unwrap_or_default()).collect();
            log::info!("Prosody config prints: {}", parts.join("\t"));
            Ok(())
        })?,
    )?;
    let main = path.to_string_lossy().into_owned();
    let (sections, order): (Table, Table) = lua.load(PRELUDE).set_name("=prosody_config.lua").call((r, main))?;
    let mut out = HashMap::new();
    for pair in sections.pairs::<String, Table>() {
        let (name, options) = pair?;
        let mut map = Map::new();
        for kv in options.pairs::<Value, Value>() {
            let (k, v) = kv?;
            if let Value::String(k) = k {
                map.insert(k.to_string_lossy(), json(&v, 0));
            }
        }
        out.insert(name, map);
    }
    let mut declared = Vec::new();
    for d in order.sequence_values::<Table>() {
        let d = d?;
        let kind = if d.get::<String>("kind")? == "host" { Kind::Host } else { Kind::Component };
        let file = d.get::<Option<String>>("file")?.map_or_else(|| path.to_path_buf(), PathBuf::from);
        declared.push((d.get::<String>("name")?, kind, file));
    }
    Ok((out, declared))
}

/// A Lua value as JSON: a table whose keys are 1..n is an array, another an object;
/// what is not data (functions, userdata) is null.
fn json(v: &Value, depth: usize) -> Json {
    if depth > 32 {
        return Json::Null;
    }
    match v {
        Value::Boolean(b) => Json::Bool(*b),
        Value::Integer(i) => Json::from(*i),
        Value::Number(n) => serde_json::Number::from_f64(*n).map(Json::Number).unwrap_or(Json::Null),
        Value::String(s) => Json::String(s.to_string_lossy()),
        Value::Table(t) => {
            let n = t.raw_len();
            let mut keys = 0;
            let mut obj = Map::new();
            for kv in t.clone().pairs::<Value, Value>().flatten() {
                keys += 1;
                let key = match &kv.0 {
                    Value::String(s) => s.to_string_lossy(),
                    Value::Integer(i) => i.to_string(),
                    Value::Number(f) => f.to_string(),
                    _ => continue,
                };
                obj.insert(key, json(&kv.1, depth + 1));
            }
            if keys == n {
                Json::Array(
                    (1..=n).map(|i| t.raw_get::<Value>(i).map(|v| json(&v, depth + 1)).unwrap_or(Json::Null)).collect(),
                )
            } else {
                Json::Object(obj)
            }
        }
        _ => Json::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("prosody.cfg.lua");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn sections_includes_and_lookups() {
        let (dir, p) = config(
            r#"
admins = { "op@example.org" }
data_path = "/srv/prosody"
storage = "sql"
sql = { driver = "SQLite3", database = "prosody.sqlite" }
local base = "example"
VirtualHost (base .. ".org")
admins = { "boss@example.org" }
invites_page = "https://example.org/invite/{invite.token}/"
Include "conf.d/*.cfg.lua"
after_include = true
VirtualHost "Off.Example.Net"
enabled = false
Component "groups.example.org" "muc"
name = "Groups"
"#,
        );
        std::fs::create_dir(dir.path().join("conf.d")).unwrap();
        std::fs::write(
            dir.path().join("conf.d/a.cfg.lua"),
            "included_opt = 1\ncustom_roles = { { name = \"x:y\" } }\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("conf.d/.hidden.cfg.lua"), "error('dotfiles are skipped')").unwrap();
        let c = ProsodyConfig::load(&p).unwrap();
        assert_eq!(c.hosts(), ["example.org"], "the disabled host is not offered; nameprep lowercases");
        assert_eq!(c.host(None).unwrap(), "example.org");
        assert!(c.host(Some("off.example.net")).unwrap_err().to_string().contains("example.org"));
        assert_eq!(c.admins("example.org").unwrap(), ["boss@example.org", "op@example.org"]);
        assert_eq!(c.global("included_opt"), Some(&Json::from(1)), "an included file starts global");
        assert_eq!(c.get("example.org", "after_include"), Some(&Json::Bool(true)), "then the host goes on");
        assert_eq!(c.global("after_include"), None);
        assert_eq!(c.custom_roles("example.org").unwrap(), ["x:y"]);
        assert_eq!(c.storage("example.org").unwrap(), Storage::Sqlite(PathBuf::from("/srv/prosody/prosody.sqlite")));
        assert_eq!(c.get("groups.example.org", "component_module"), Some(&Json::from("muc")));
        assert_eq!(c.admin_socket().unwrap(), PathBuf::from("/srv/prosody/prosody.sock"));
    }

    #[test]
    fn prosody_13_helpers_and_environment() {
        let (dir, p) = config(
            r#"
local DOMAIN = Lua.assert(ENV_PA_TEST_DOMAIN, "set it")
modules_enabled = { "roster" }
modules_enabled:append { "pep" }
secret = FileLine "secret.txt"
lines = FileLines "secret.txt"
whole = FileContents "secret.txt"
count = Lua.tonumber("42")
VirtualHost (DOMAIN)
"#,
        );
        std::fs::write(dir.path().join("secret.txt"), "s3cret\nsecond\n").unwrap();
        std::env::set_var("PA_TEST_DOMAIN", "chat.example");
        let c = ProsodyConfig::load(&p).unwrap();
        assert_eq!(c.hosts(), ["chat.example"]);
        assert_eq!(c.global("modules_enabled"), Some(&serde_json::json!(["roster", "pep"])));
        assert_eq!(c.global("secret"), Some(&Json::from("s3cret")));
        assert_eq!(c.global("lines"), Some(&serde_json::json!(["s3cret", "second"])));
        assert_eq!(c.global("whole"), Some(&Json::from("s3cret\nsecond\n")), "the newline is kept");
        assert_eq!(c.global("count"), Some(&Json::from(42)));
        assert_eq!(c.storage("chat.example").unwrap(), Storage::Internal(PathBuf::from(DEBIAN_DATA_PATH)));
    }

    #[test]
    fn nothing_in_a_config_runs_writes_or_loads() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("marker");
        for (text, says) in [
            (format!("os.execute('touch {}')", marker.display()), "os.execute"),
            (format!("io.open('{}', 'w'):write('x')", marker.display()), "write files"),
            (format!("Lua.io.open('{}', 'a')", marker.display()), "write files"),
            ("require 'socket'".to_string(), "require"),
            (format!("io.popen('touch {}')", marker.display()), "io.popen"),
            ("load('return 1')()".to_string(), "load"),
            ("dofile('/etc/passwd')".to_string(), "dofile"),
            ("while true do end".to_string(), "did not finish"),
        ] {
            let p = dir.path().join("c.cfg.lua");
            std::fs::write(&p, format!("VirtualHost \"localhost\"\n{text}\n")).unwrap();
            let e = ProsodyConfig::load(&p).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains("c.cfg.lua"), "{text}: {e}");
            assert!(!marker.exists(), "{text} had an effect");
        }
    }

    #[test]
    fn bad_configs_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.cfg.lua");
        for (text, says) in [
            ("VirtualHost \"localhost\"\nadmins = { \"a@localhost\"\n", "bad.cfg.lua:3"),
            ("Include \"missing.cfg.lua\"\n", "missing.cfg.lua"),
            ("Include \"nodir/*.cfg.lua\"\n", "nodir"),
            ("x = nil .. 'y'\n", "bad.cfg.lua:1"),
        ] {
            std::fs::write(&p, text).unwrap();
            let e = ProsodyConfig::load(&p).unwrap_err().to_string();
            assert!(e.contains(says) && e.starts_with("Prosody config "), "{text}: {e}");
        }
        assert!(ProsodyConfig::load(&dir.path().join("none.cfg.lua"))
            .unwrap_err()
            .to_string()
            .contains("no such file"));
        std::fs::write(&p, "VirtualHost \"a.example\"\nVirtualHost \"b.example\"\nstorage = \"memory\"\n").unwrap();
        let c = ProsodyConfig::load(&p).unwrap();
        let e = c.host(None).unwrap_err().to_string();
        assert!(e.contains("a.example") && e.contains("b.example") && e.contains("--host"), "{e}");
        assert!(c.storage("b.example").unwrap_err().to_string().contains("\"memory\""));
        std::fs::write(&p, "VirtualHost \"x.example\"\nComponent \"x.example\" \"muc\"\n").unwrap();
        assert!(ProsodyConfig::load(&p).unwrap_err().to_string().contains("both"));
    }

    #[test]
    fn postgresql_and_split_storage() {
        let (_d, p) = config(
            "storage = \"sql\"\nsql = { driver = \"PostgreSQL\", database = \"prosody\", host = \"/run/pg\", port = 5433, \
             username = \"prosody\", password = \"pw\" }\nVirtualHost \"localhost\"\n",
        );
        let c = ProsodyConfig::load(&p).unwrap();
        assert_eq!(
            c.storage("localhost").unwrap(),
            Storage::Postgres {
                host: Some("/run/pg".into()),
                port: Some(5433),
                database: "prosody".into(),
                username: Some("prosody".into()),
                password: Some("pw".into())
            }
        );
        let (_d, p) =
            config("storage = { archive = \"sql\" }\nVirtualHost \"localhost\"\nstorage = { offline = \"sql\" }\n");
        let c = ProsodyConfig::load(&p).unwrap();
        let e = c.storage("localhost").unwrap_err().to_string();
        assert!(e.contains("offline"), "{e}");
    }
}
