//! Several VirtualHosts from one process, chosen by the request's `Host`: a Prosody
//! config of Debian's shape (`VirtualHost "localhost"` in the main file, `Include
//! "conf.d/*.cfg.lua"` with more hosts, one on flat files, one disabled), given with
//! `--prosody-config` only. Each host lists its own accounts, takes only its own tokens,
//! its own admins, invite page and site name; bad `Host` headers are 400 and write
//! nothing; SIGHUP reloads the config as `prosodyctl reload` does. (Prosody itself
//! beside this: tests/interop, `test_13_several_virtualhosts`.)

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{check_invariants, raw_bytes, Resp, BIN};

/// Our CLI on Prosody's config, for one host.
fn cli(config: &Path, host: &str, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write as _;
    let mut child = Command::new(BIN)
        .arg("--prosody-config")
        .arg(config)
        .args(["--host", host])
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("PROSODY_ADMIN_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let (Some(mut si), Some(s)) = (child.stdin.take(), stdin) {
        si.write_all(s.as_bytes()).unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{args:?} on {host}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

struct Served {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// `serve` with `args` before and `serve_args` after the subcommand.
    fn start(dir: &Path, args: &[&str], serve_args: &[&str]) -> Served {
        let log = dir.join("server.log");
        let mut child = Command::new(BIN)
            .args(args)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(serve_args)
            .current_dir(dir)
            .env("RUST_LOG", "info")
            .env_remove("PROSODY_ADMIN_CONFIG")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line =
                lines.next().unwrap_or_else(|| panic!("exited: {}", std::fs::read_to_string(&log).unwrap())).unwrap();
            if let Some(rest) = line.strip_prefix("prosody-admin listening on http://") {
                break rest.trim_end_matches("/admin_api").parse().unwrap();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Served { child, addr, log }
    }

    /// A request for `host` (its `Host` header), with a token.
    fn at(&self, host: &str, method: &str, path: &str, body: Option<&str>, token: Option<&str>) -> Resp {
        let auth = token.map(|t| format!("Bearer {t}"));
        let r = raw_bytes(self.addr, method, path, body.map(str::as_bytes), auth.as_deref(), &[("Host", host)]);
        check_invariants(method, path, &r);
        r
    }

    fn hup(&self) {
        assert!(Command::new("kill").args(["-HUP", &self.child.id().to_string()]).status().unwrap().success());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }
}

fn names(r: &Resp) -> Vec<String> {
    let mut n: Vec<String> =
        r.json().as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_string()).collect();
    n.sort();
    n
}

/// Waits up to `limit` for `f` to hold.
fn within(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// Debian's shape: the main file with `localhost`, conf.d with a SQL host, a flat-file
/// host and a disabled one.
fn debian(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(dir.join("conf.d")).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let main = dir.join("prosody.cfg.lua");
    std::fs::write(
        &main,
        format!(
            "-- Debian's prosody.cfg.lua, shortened\nadmins = {{ }}\ndata_path = {:?}\nstorage = \"sql\"\n\
             sql = {{ driver = \"SQLite3\", database = \"prosody.sqlite\" }}\n\
             VirtualHost \"localhost\"\nInclude \"conf.d/*.cfg.lua\"\n",
            data.display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("conf.d/a.example.cfg.lua"),
        "VirtualHost \"A.Example\"\nadmins = { \"boss@a.example\" }\n\
         invites_page = \"https://a.example/invite/{invite.token}/\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("conf.d/b.example.cfg.lua"),
        "VirtualHost \"b.example\"\nstorage = \"internal\"\nadmins = { \"boss@b.example\" }\n",
    )
    .unwrap();
    std::fs::write(dir.join("conf.d/off.example.cfg.lua"), "VirtualHost \"off.example\"\nenabled = false\n").unwrap();
    main
}

fn add_user(db: &str, host: &str, name: &str) {
    use std::io::Write as _;
    let mut child = Command::new(BIN)
        .args(["--database", db, "--prosody-version", "13", "--host", host, "user", "add", name])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"pw\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{name}@{host}: {}", String::from_utf8_lossy(&o.stderr));
}

/// The accounts, as Prosody would hold them (made by our CLI, which creates the SQLite
/// file as Prosody's first start would): SQL for localhost and a.example, flat files
/// for b.example.
fn accounts(dir: &Path) {
    let data = dir.join("data");
    let sqlite = data.join("prosody.sqlite").display().to_string();
    let flat = format!("internal:{}", data.display());
    for (db, host, user) in [
        (&sqlite, "localhost", "only-localhost"),
        (&sqlite, "a.example", "boss"),
        (&sqlite, "a.example", "only-a"),
        (&sqlite, "a.example", "carol"),
        (&flat, "b.example", "boss"),
        (&flat, "b.example", "only-b"),
        (&flat, "b.example", "carol"),
    ] {
        add_user(db, host, user);
    }
}

#[test]
fn every_virtualhost_from_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data");
    std::fs::create_dir_all(&data).unwrap();
    accounts(d);
    let main = debian(d);
    let cfg = main.to_str().unwrap();
    let toml = d.join("prosody-admin.toml");
    std::fs::write(&toml, "[hosts.\"b.example\"]\nsite_name = \"Bee\"\n").unwrap();
    let a = cli(&main, "a.example", &["token", "create", "--user", "boss"], None);
    let b = cli(&main, "b.example", &["token", "create", "--user", "boss"], None);
    let s = Served::start(
        d,
        &["--prosody-config", cfg, "--config", toml.to_str().unwrap()],
        &["--trusted-proxies", "127.0.0.1"],
    );
    // Include's glob lists conf.d in directory order, as Prosody's does.
    let log = s.log();
    let serving =
        log.lines().find(|l| l.contains("serving 3 VirtualHosts: localhost, ")).unwrap_or_else(|| panic!("{log}"));
    assert!(serving.contains("a.example") && serving.contains("b.example") && !serving.contains("off"), "{serving}");

    // Each host lists only its own accounts; the port and case of `Host` do not matter.
    let r = s.at("A.EXAMPLE:5280", "GET", "/admin_api/users", None, Some(&a));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(names(&r), ["boss", "carol", "only-a"]);
    let r = s.at("b.example", "GET", "/admin_api/users", None, Some(&b));
    assert_eq!((r.status, names(&r)), (200, vec!["boss".into(), "carol".into(), "only-b".into()]), "{}", r.body);
    // A token works only on its host; the realm names the host asked.
    let r = s.at("b.example", "GET", "/admin_api/users", None, Some(&a));
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"b.example/admin_api\""));
    assert_eq!(s.at("localhost", "GET", "/admin_api/users", None, Some(&b)).status, 401);
    // Per-host settings: site name from our file's [hosts."b.example"], invite page of a.
    let info = s.at("b.example", "GET", "/admin_api/server/info", None, Some(&b)).json();
    assert_eq!(info["site_name"], "Bee");
    let info = s.at("a.example", "GET", "/admin_api/server/info", None, Some(&a)).json();
    assert_eq!(info["site_name"], "a.example");
    let inv = s.at("a.example", "POST", "/admin_api/invites/account", Some("{}"), Some(&a));
    assert_eq!(inv.status, 200, "{}", inv.body);
    let inv = inv.json();
    assert!(inv["jid"].as_str().unwrap().ends_with("a.example"), "{inv}");
    assert!(inv["landing_page"].as_str().unwrap().starts_with("https://a.example/invite/"), "{inv}");
    // A write on the flat-file host lands in its own directory, a role change on one
    // host leaves the same-named account of another alone.
    let r = s.at("b.example", "PUT", "/admin_api/users/carol", Some("{\"role\":\"prosody:admin\"}"), Some(&b));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(data.join("b%2eexample").is_dir(), "b.example's flat files");
    let r = s.at("b.example", "GET", "/admin_api/users/carol", None, Some(&b)).json();
    assert_eq!((r["role"].as_str(), r["jid"].as_str()), (Some("prosody:admin"), Some("carol@b.example")), "{r}");
    let r = s.at("a.example", "GET", "/admin_api/users/carol", None, Some(&a)).json();
    assert_eq!(r["role"], "prosody:registered", "carol@a.example is another account: {r}");
    // Behind a trusted proxy (127.0.0.1 here), X-Forwarded-Host names the host.
    let auth = format!("Bearer {b}");
    let r = raw_bytes(
        s.addr,
        "GET",
        "/admin_api/users",
        None,
        Some(&auth),
        &[("Host", "127.0.0.1"), ("X-Forwarded-Host", "b.example")],
    );
    assert_eq!((r.status, names(&r).len()), (200, 3), "{}", r.body);

    // A Host naming no served host (the disabled one included): 404, as from Prosody
    // without http_default_host; health and the contract answer whatever the host.
    for host in ["127.0.0.1", "off.example", "c.example"] {
        let r = s.at(host, "GET", "/admin_api/users", None, Some(&a));
        assert_eq!(r.status, 404, "{host}: {}", r.body);
        assert!(r.body.contains("a.example"), "the error names the hosts served: {}", r.body);
    }
    assert_eq!(s.at("127.0.0.1", "GET", "/admin_api/healthz", None, None).status, 200);
    assert_eq!(s.at("127.0.0.1", "GET", "/admin_api/openapi.json", None, None).status, 200);
    // The docs page says which host it is and names the others.
    let docs = s.at("b.example", "GET", "/admin_api/docs", None, None).body;
    assert!(docs.contains("<strong>b.example</strong>, one of the 3") && docs.contains("a.example"), "{docs}");

    // Bad Host headers: 400, nothing written.
    let body = "{\"role\":\"prosody:operator\"}";
    let path = "/admin_api/users/only-a";
    let long = format!("{}.example", "x".repeat(300));
    for extra in [
        vec![("Host", "a.example\u{1}")],
        vec![("Host", "caf\u{e9}.example")],
        vec![("Host", long.as_str())],
        vec![("Host", "a.example"), ("Host", "b.example")],
        vec![("Host", "a b")],
    ] {
        let auth = format!("Bearer {a}");
        let r = raw_bytes(s.addr, "PUT", path, Some(body.as_bytes()), Some(&auth), &extra);
        assert_eq!(r.status, 400, "{extra:?}: {}", r.body);
        // A control character is refused by hyper's parser, before any code of ours
        // runs (no JSON body is possible there, as for 431); the rest by us.
        if !extra[0].1.contains('\u{1}') {
            check_invariants("PUT", path, &r);
        }
    }
    let r = s.at("a.example", "GET", path, None, Some(&a)).json();
    assert_eq!(r["role"], "prosody:registered", "no bad Host wrote: {r}");

    // Metrics label requests by host; audit entries are their host's.
    let m = s.at("a.example", "GET", "/admin_api/service/metrics", None, Some(&a)).body;
    assert!(
        m.contains("prosody_admin_requests_total{host=\"b.example\",operation=\"listUsers\",status=\"200\"}"),
        "{m}"
    );
    // Each host's audit log is its own (in its own database): b's API write is in b's
    // log, by b's admin, and not in a's.
    let entries = |host: &str, token: &str| {
        let v = s.at(host, "GET", "/admin_api/audit", None, Some(token)).json();
        v["entries"].as_array().unwrap().iter().filter(|e| e["method"] != "CLI").cloned().collect::<Vec<_>>()
    };
    let in_b = entries("b.example", &b);
    assert!(!in_b.is_empty() && in_b.iter().all(|e| e["actor"] == "boss@b.example"), "{in_b:?}");
    let in_a = entries("a.example", &a);
    assert!(in_a.iter().all(|e| e["actor"] == "boss@a.example" && e["target"] != "/admin_api/users/carol"), "{in_a:?}");

    // Reload: a host linked into conf.d, served within 1 s of SIGHUP; its admin's
    // token works there.
    std::fs::write(
        d.join("conf.d/c.example.cfg.lua"),
        "VirtualHost \"c.example\"\nadmins = { \"boss@c.example\" }\nhttp_host = \"web.c.example\"\n",
    )
    .unwrap();
    add_user(&data.join("prosody.sqlite").display().to_string(), "c.example", "boss");
    let c = cli(&main, "c.example", &["token", "create", "--user", "boss"], None);
    s.hup();
    assert!(
        within(Duration::from_secs(1), || s.at("web.c.example", "GET", "/admin_api/users", None, Some(&c)).status
            == 200),
        "c.example not served 1 s after SIGHUP: {}",
        s.log()
    );
    // With http_host, Prosody serves the host under that name only.
    assert_eq!(s.at("c.example", "GET", "/admin_api/users", None, Some(&c)).status, 404);
    // An admin added to a host, and a SIGHUP: accepted.
    add_user(&data.join("prosody.sqlite").display().to_string(), "a.example", "newboss");
    let n = cli(&main, "a.example", &["token", "create", "--user", "newboss", "--allow-non-admin"], None);
    assert_eq!(s.at("a.example", "GET", "/admin_api/users", None, Some(&n)).status, 403);
    std::fs::write(
        d.join("conf.d/a.example.cfg.lua"),
        "VirtualHost \"a.example\"\nadmins = { \"boss@a.example\", \"newboss@a.example\" }\n",
    )
    .unwrap();
    s.hup();
    assert!(
        within(Duration::from_secs(2), || s.at("a.example", "GET", "/admin_api/users", None, Some(&n)).status == 200)
    );
    // http_default_host: a Host naming no host goes there.
    let text = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, text.replace("admins = { }", "admins = { }\nhttp_default_host = \"a.example\"")).unwrap();
    s.hup();
    assert!(
        within(Duration::from_secs(2), || s.at("127.0.0.1", "GET", "/admin_api/users", None, Some(&a)).status == 200)
    );
    // A syntax error and a SIGHUP: the hosts keep working; the log names file and line.
    std::fs::write(
        d.join("conf.d/c.example.cfg.lua"),
        "VirtualHost \"c.example\"\nhttp_host = \"web.c.example\"\nadmins = { \"x\"\n",
    )
    .unwrap();
    s.hup();
    assert!(within(Duration::from_secs(2), || s.log().contains("not reloaded")), "{}", s.log());
    let log = s.log();
    let line = log.lines().find(|l| l.contains("not reloaded")).unwrap();
    assert!(line.contains("c.example.cfg.lua:4") || line.contains("c.example.cfg.lua:3"), "{line}");
    assert_eq!(s.at("web.c.example", "GET", "/admin_api/users", None, Some(&c)).status, 200);
    assert_eq!(s.at("a.example", "GET", "/admin_api/users", None, Some(&a)).status, 200);
}

/// The command line with several hosts: a write needs `--host`, and the error names the
/// hosts; `config` shows each host's settings.
#[test]
fn the_command_line_names_the_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("data")).unwrap();
    accounts(d);
    let main = debian(d);
    let o = Command::new(BIN)
        .args(["--prosody-config", main.to_str().unwrap(), "user", "add", "x"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("a.example") && err.contains("--host"), "{err}");
    let o = Command::new(BIN).args(["--prosody-config", main.to_str().unwrap(), "config", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["hosts"]["b.example"]["database"]["value"].as_str().unwrap().contains("flat files"), "{v}");
    assert_eq!(v["hosts"]["a.example"]["admins"]["value"], serde_json::json!(["boss@a.example"]));
    // Every host's accounts at once.
    let o = Command::new(BIN)
        .args(["--prosody-config", main.to_str().unwrap(), "user", "list", "--all-hosts"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    for jid in ["only-localhost@localhost", "only-a@a.example", "only-b@b.example", "carol@b.example"] {
        assert!(text.lines().any(|l| l.starts_with(&format!("{jid}\t"))), "{jid}: {text}");
    }
    // A host section that fails: the error names the host and its file; nothing starts.
    std::fs::write(d.join("conf.d/bad.cfg.lua"), "VirtualHost \"bad.example\"\nstorage = \"memory\"\n").unwrap();
    let o = Command::new(BIN)
        .args(["--prosody-config", main.to_str().unwrap(), "serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("bad.example") && err.contains("bad.cfg.lua") && err.contains("\"memory\""), "{err}");
}

/// Two hosts in one PostgreSQL database, as Prosody's `sql` table names it: one engine
/// (one writer) serves both; each host sees its own accounts and tokens.
#[test]
fn two_hosts_on_one_postgresql_database() {
    let url = common::pg::fresh_database();
    let c = common::pg::cluster();
    let name = url.split('?').next().unwrap().rsplit_once('/').unwrap().1.to_string();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("data")).unwrap();
    for (host, user) in [("a.example", "boss"), ("a.example", "only-a"), ("b.example", "boss"), ("b.example", "only-b")]
    {
        add_user(&url, host, user);
    }
    let main = d.join("prosody.cfg.lua");
    std::fs::write(
        &main,
        format!(
            "data_path = {:?}\nstorage = \"sql\"\nsql = {{ driver = \"PostgreSQL\", database = {name:?}, host = {:?}, \
             port = {}, username = \"postgres\" }}\nVirtualHost \"a.example\"\nadmins = {{ \"boss@a.example\" }}\n\
             VirtualHost \"b.example\"\nadmins = {{ \"boss@b.example\" }}\n",
            d.join("data").display(),
            c.dir.display(),
            c.port
        ),
    )
    .unwrap();
    let a = cli(&main, "a.example", &["token", "create", "--user", "boss"], None);
    let b = cli(&main, "b.example", &["token", "create", "--user", "boss"], None);
    let s = Served::start(d, &["--prosody-config", main.to_str().unwrap()], &[]);
    let r = s.at("a.example", "GET", "/admin_api/users", None, Some(&a));
    assert_eq!((r.status, names(&r)), (200, vec!["boss".into(), "only-a".into()]), "{}", r.body);
    let r = s.at("b.example", "GET", "/admin_api/users", None, Some(&b));
    assert_eq!((r.status, names(&r)), (200, vec!["boss".into(), "only-b".into()]), "{}", r.body);
    assert_eq!(s.at("b.example", "GET", "/admin_api/users", None, Some(&a)).status, 401);
    // Writes on both hosts, concurrently, through the one writer.
    std::thread::scope(|scope| {
        for (host, token) in [("a.example", &a), ("b.example", &b)] {
            let s = &s;
            scope.spawn(move || {
                for i in 0..20 {
                    let body = format!("{{\"name\":\"g{i}\"}}");
                    let r = s.at(host, "POST", "/admin_api/groups", Some(&body), Some(token));
                    assert_eq!(r.status, 200, "{}", r.body);
                }
            });
        }
    });
    for (host, token) in [("a.example", &a), ("b.example", &b)] {
        let r = s.at(host, "GET", "/admin_api/groups", None, Some(token));
        assert_eq!(r.json().as_array().unwrap().len(), 20, "{host}: {}", r.body);
    }
    // One engine: the database was opened once (the second host shares it).
    let log = s.log();
    assert!(!log.contains("b.example: postgresql://"), "b.example opened a second engine: {log}");
}
