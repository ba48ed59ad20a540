//! Test harness: spawns the real `prosody-admin` binary on a fresh database in a
//! temporary directory and talks plain HTTP/1.1 to it.
//!
//! Every response goes through [`Server::request`], which asserts the suite-wide
//! invariants: no 5xx, and every 4xx has a JSON error body whose `code` is the status.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_prosody-admin");

pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub token: String,
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub stdout: Vec<String>,
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The engine the engine-independent suites (api, auth) run on:
/// `PROSODY_ADMIN_TEST_DATABASE` = `sqlite` (default) or `postgresql`. `make test` runs
/// them on both.
pub fn test_engine() -> String {
    std::env::var("PROSODY_ADMIN_TEST_DATABASE").unwrap_or_else(|_| "sqlite".to_string())
}

pub fn is_postgres() -> bool {
    test_engine() == "postgresql"
}

/// The test's database, on either engine: the few queries the suites make to set up
/// rows as Prosody would, and to check what was stored. SQL is written once, with `?`
/// parameters and `"user"` quoted (a reserved word in PostgreSQL); the PostgreSQL side
/// numbers the parameters.
pub enum TestDb {
    Sqlite(rusqlite::Connection),
    Pg(std::cell::RefCell<postgres::Client>),
}

/// A column type the suites read.
pub trait TestValue: Sized {
    fn from_sqlite(r: &rusqlite::Row) -> Self;
    fn from_pg(r: &postgres::Row) -> Self;
}
impl TestValue for i64 {
    fn from_sqlite(r: &rusqlite::Row) -> Self {
        r.get(0).expect("integer column")
    }
    fn from_pg(r: &postgres::Row) -> Self {
        r.try_get::<_, i64>(0).or_else(|_| r.try_get::<_, i32>(0).map(i64::from)).expect("integer column")
    }
}
impl TestValue for String {
    fn from_sqlite(r: &rusqlite::Row) -> Self {
        r.get(0).expect("text column")
    }
    fn from_pg(r: &postgres::Row) -> Self {
        r.get(0)
    }
}

fn numbered(sql: &str) -> String {
    let mut out = String::new();
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(ch);
        }
    }
    out
}

impl TestDb {
    /// The first column of the one row `sql` returns.
    pub fn one<T: TestValue>(&self, sql: &str, params: &[&str]) -> T {
        match self {
            TestDb::Sqlite(c) => c
                .query_row(sql, rusqlite::params_from_iter(params), |r| Ok(T::from_sqlite(r)))
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
            TestDb::Pg(c) => {
                let p: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    params.iter().map(|s| s as &(dyn postgres::types::ToSql + Sync)).collect();
                let row = c.borrow_mut().query_one(numbered(sql).as_str(), &p).unwrap_or_else(|e| panic!("{sql}: {e}"));
                T::from_pg(&row)
            }
        }
    }

    /// Every row of `sql`, two text columns each.
    pub fn pairs(&self, sql: &str) -> Vec<(String, String)> {
        match self {
            TestDb::Sqlite(c) => {
                let mut st = c.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
            }
            TestDb::Pg(c) => c
                .borrow_mut()
                .query(sql, &[])
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
        }
    }
}

/// A database the suites write rows into as Prosody would: a plain SQLite connection
/// (layout tests) or a [`TestDb`] of either engine.
pub trait Exec {
    /// Runs a statement with text parameters (`?`).
    fn exec(&self, sql: &str, params: &[&str]);
}

impl Exec for rusqlite::Connection {
    fn exec(&self, sql: &str, params: &[&str]) {
        self.execute(sql, rusqlite::params_from_iter(params)).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

impl Exec for TestDb {
    fn exec(&self, sql: &str, params: &[&str]) {
        match self {
            TestDb::Sqlite(c) => {
                c.execute(sql, rusqlite::params_from_iter(params)).unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            TestDb::Pg(c) => {
                let p: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    params.iter().map(|s| s as &(dyn postgres::types::ToSql + Sync)).collect();
                c.borrow_mut().execute(numbered(sql).as_str(), &p).unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
    }
}

/// The tests' private PostgreSQL server (`tests/pg/cluster.sh`): started once per test
/// process, on a free loopback port with its socket in a temporary directory; it stops
/// when the process exits. Each server of a test gets a database of its own.
pub mod pg {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::OnceLock;

    pub struct Cluster {
        pub dir: std::path::PathBuf,
        pub port: u16,
    }

    impl Cluster {
        /// The test CA that signed the server's certificate (for `sslrootcert`).
        pub fn ca(&self) -> std::path::PathBuf {
            self.dir.join("ca.pem")
        }
    }

    /// A test CA and a server certificate it signed, for the names given, written into
    /// `dir` (`ca.pem`, `server.crt`, `server.key`): the server then requires TLS over TCP.
    pub fn certificates(dir: &std::path::Path, names: &[&str]) {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "prosody-admin test CA");
        let ca_key = KeyPair::generate().expect("CA key");
        let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let server = CertificateParams::new(names).expect("server params");
        let key = KeyPair::generate().expect("server key");
        let cert = server.signed_by(&key, &ca_cert, &ca_key).expect("server certificate");
        std::fs::write(dir.join("ca.pem"), ca_cert.pem()).expect("ca.pem");
        std::fs::write(dir.join("server.crt"), cert.pem()).expect("server.crt");
        std::fs::write(dir.join("server.key"), key.serialize_pem()).expect("server.key");
    }

    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    static NEXT: AtomicU32 = AtomicU32::new(0);

    pub fn cluster() -> &'static Cluster {
        CLUSTER.get_or_init(|| {
            // Under /tmp, not TMPDIR: a unix socket's path must stay short.
            let dir = std::path::PathBuf::from(format!("/tmp/pa-pg-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("cluster dir");
            // TLS on, for 127.0.0.1 only: the service connects with verify-full (see
            // `url`); tests/pg_tls.rs tries the other names and modes.
            certificates(&dir, &["127.0.0.1"]);
            let port = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
                l.local_addr().expect("addr").port()
            };
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pg/cluster.sh");
            let mut child = Command::new("bash")
                .arg(script)
                .arg(&dir)
                .arg(port.to_string())
                .arg(std::process::id().to_string())
                .stdout(Stdio::piped())
                .stdin(Stdio::null())
                .spawn()
                .expect("start tests/pg/cluster.sh");
            let out = child.stdout.take().expect("stdout");
            let mut line = String::new();
            BufReader::new(out).read_line(&mut line).expect("cluster output");
            assert_eq!(line.trim(), "ready", "the private PostgreSQL server did not start");
            // The script stops the server when this process is gone.
            std::mem::forget(child);
            Cluster { dir, port }
        })
    }

    /// The URL of a new, empty database.
    pub fn fresh_database() -> String {
        let c = cluster();
        let name = format!("t{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let admin_url = url(c, "postgres");
        // On a thread of its own: the blocking client cannot run inside an async test.
        let create = format!("CREATE DATABASE \"{name}\""); // our name (digits and `_`), quoted
        std::thread::spawn(move || connect(&admin_url).batch_execute(&create).expect("create database"))
            .join()
            .expect("create database");
        url(c, &name)
    }

    /// The URL the service gets: TCP, TLS verified against the test CA (every
    /// PostgreSQL suite runs over TLS).
    pub fn url(c: &Cluster, db: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{db}?sslmode=verify-full&sslrootcert={}", c.port, c.ca().display())
    }

    /// The tests' own connection to the database of a service URL: the unix socket.
    pub fn connect(url: &str) -> postgres::Client {
        let c = cluster();
        let base = url.split('?').next().unwrap_or(url);
        let db = base.rsplit_once('/').map(|(_, d)| d).unwrap_or(base);
        let local = format!("host={} port={} user=postgres dbname={db}", c.dir.display(), c.port);
        postgres::Client::connect(&local, postgres::NoTls).unwrap_or_else(|e| panic!("connect {db}: {e}"))
    }
}

/// The Prosody layout the version-independent suites run on: `PROSODY_ADMIN_TEST_VERSION`
/// (`13` or `0.12`), default 13. `make test` runs them once per version.
pub fn test_version() -> String {
    std::env::var("PROSODY_ADMIN_TEST_VERSION").unwrap_or_else(|_| "13".to_string())
}

pub fn is_13() -> bool {
    test_version() == "13"
}

/// The `roles` a fresh account reports: none on 0.12; the default primary role on 13.
pub fn default_roles() -> Value {
    if is_13() {
        serde_json::json!(["prosody:registered"])
    } else {
        serde_json::json!([])
    }
}

/// The seed's fields of a User (the later module's fields are tested on their own).
pub fn seed_fields(u: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for k in ["username", "display_name", "roles", "groups"] {
        if let Some(v) = u.get(k) {
            out.insert(k.to_string(), v.clone());
        }
    }
    Value::Object(out)
}

/// `serve` on `database` (a URL or path) with its log at `dir/server.log` at `rust_log`:
/// the child and what it printed up to its "listening on" line. For tests that read the
/// log of a server the `Server` helper does not start (a PostgreSQL URL with a password).
pub fn spawn_serve_logged(database: &str, dir: &Path, rust_log: &str) -> (std::process::Child, String) {
    let mut child = Command::new(BIN)
        .args(["--database", database, "serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir)
        .env("RUST_LOG", rust_log)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("server.log")).unwrap())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    while !text.contains("listening on") {
        let mut line = String::new();
        assert!(std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0, "server exited: {text}");
        text.push_str(&line);
    }
    (child, text)
}

impl Server {
    /// A fresh server on the test version's layout: empty database, so the first start
    /// creates `admin` and a token.
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Server {
        Self::start_version(&test_version(), extra)
    }

    /// A fresh server on an empty database of the given Prosody version's layout, on
    /// the test engine ([`test_engine`]): a new SQLite file, or a new database on the
    /// tests' private PostgreSQL server.
    pub fn start_version(version: &str, extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = if is_postgres() { PathBuf::from(pg::fresh_database()) } else { dir.path().join("db.sqlite") };
        let mut args = vec!["--prosody-version", version];
        args.extend_from_slice(extra);
        Self::start_on(dir, db, &args)
    }

    pub fn start_on(dir: tempfile::TempDir, db: PathBuf, extra: &[&str]) -> Server {
        Self::start_opts(dir, db, extra, false)
    }

    /// A server given only Prosody's config (no `--database`): `db` is the SQLite file
    /// the config names, for the tests' own reads.
    pub fn start_prosody_config(dir: tempfile::TempDir, db: PathBuf, config: &Path, extra: &[&str]) -> Server {
        let mut args = vec!["--prosody-config", config.to_str().expect("utf-8 path")];
        args.extend_from_slice(extra);
        Self::start_cmd(dir, db, None, &args, false)
    }

    /// A fresh server logging at `info` (a line per request) into [`Server::log_file`].
    pub fn start_logged(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("db.sqlite");
        let mut args = vec!["--prosody-version", "13"];
        args.extend_from_slice(extra);
        Self::start_opts(dir, db, &args, true)
    }

    pub fn log_file(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn start_opts(dir: tempfile::TempDir, db: PathBuf, extra: &[&str], logged: bool) -> Server {
        let database = db.clone();
        Self::start_cmd(dir, db, Some(&database), extra, logged)
    }

    fn start_cmd(dir: tempfile::TempDir, db: PathBuf, database: Option<&Path>, extra: &[&str], logged: bool) -> Server {
        let mut cmd = Command::new(BIN);
        if let Some(d) = database {
            cmd.arg("--database").arg(d);
        }
        cmd.arg("serve").arg("--listen").arg("127.0.0.1:0").args(extra);
        // On PostgreSQL the bootstrap token goes to the working directory.
        cmd.current_dir(dir.path());
        cmd.env_remove("PROSODY_ADMIN_CONFIG").env("RUST_LOG", if logged { "info" } else { "warn" });
        let stderr = if logged {
            Stdio::from(std::fs::File::create(dir.path().join("server.log")).expect("log file"))
        } else {
            Stdio::inherit()
        };
        cmd.stdout(Stdio::piped()).stderr(stderr).stdin(Stdio::null());
        let mut child = cmd.spawn().expect("spawn prosody-admin");
        let out = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(out).lines();
        let mut stdout = Vec::new();
        let addr = loop {
            let line = lines.next().expect("server exited before listening").expect("read stdout");
            stdout.push(line.clone());
            let rest = line
                .strip_prefix("prosody-admin listening on http://")
                .or_else(|| line.strip_prefix("prosody-admin listening on https://"));
            if let Some(rest) = rest {
                let addr = rest.trim_end_matches("/admin_api");
                break addr.parse().expect("listen address");
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let token = std::fs::read_to_string(dir.path().join("admin-token")).unwrap_or_default().trim().to_string();
        Server { child: Some(child), addr, token, dir, db, stdout }
    }

    /// Runs a CLI subcommand on the same database.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        cli(&self.db, args, stdin)
    }

    /// Creates an account through the CLI (as an operator would).
    pub fn add_user(&self, name: &str, password: &str) {
        let o = self.cli(&["user", "add", name], Some(&format!("{password}\n")));
        assert!(o.status.success(), "user add {name}: {}", String::from_utf8_lossy(&o.stderr));
    }

    pub fn request(&self, method: &str, path: &str, body: Option<&str>, token: Option<&str>) -> Resp {
        let r = raw(self.addr, method, path, body, token.map(|t| format!("Bearer {t}")).as_deref());
        check_invariants(method, path, &r);
        r
    }

    /// A request with the admin token.
    pub fn admin(&self, method: &str, path: &str, body: Option<&str>) -> Resp {
        let t = self.token.clone();
        self.request(method, &format!("/admin_api{path}"), body, Some(&t))
    }

    /// Direct access to the server's database, on either engine.
    pub fn sql(&self) -> TestDb {
        if self.db.to_string_lossy().starts_with("postgresql://") {
            TestDb::Pg(std::cell::RefCell::new(pg::connect(&self.db.to_string_lossy())))
        } else {
            TestDb::Sqlite(self.sqlite())
        }
    }

    pub fn sqlite(&self) -> rusqlite::Connection {
        let c = rusqlite::Connection::open(&self.db).expect("open db");
        c.busy_timeout(Duration::from_secs(5)).expect("busy timeout");
        c
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Waits for the server to exit by itself.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        self.child.take().expect("running").wait().expect("wait")
    }

    /// Sends SIGTERM and returns the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        child.wait().expect("wait")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn cli(db: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--database").arg(db).args(args).env("RUST_LOG", "warn");
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn cli");
    if let Some(mut si) = child.stdin.take() {
        if let Some(s) = stdin {
            si.write_all(s.as_bytes()).expect("stdin");
        }
    }
    child.wait_with_output().expect("cli output")
}

/// Suite-wide invariants on every response.
pub fn check_invariants(method: &str, path: &str, r: &Resp) {
    assert!(r.status < 500, "{method} {path} answered {}: {}", r.status, r.body);
    if r.status >= 400 {
        assert!(
            r.header("content-type").is_some_and(|c| c.starts_with("application/json")),
            "{method} {path} {}: error without JSON content type: {:?}",
            r.status,
            r.headers
        );
        let v: Value = serde_json::from_str(&r.body)
            .unwrap_or_else(|_| panic!("{method} {path}: error body not JSON: {:?}", r.body));
        assert_eq!(v["error"]["code"].as_u64(), Some(u64::from(r.status)), "{method} {path}: {}", r.body);
        assert!(
            v["error"]["type"].is_string() && v["error"]["condition"].is_string() && v["error"]["text"].is_string(),
            "{}",
            r.body
        );
        // mod_rest's envelope, as Prose's client requires it.
        assert_eq!(v["type"], "error", "{method} {path}: {}", r.body);
        assert_eq!(v["code"].as_u64(), Some(u64::from(r.status)), "{method} {path}: {}", r.body);
        assert_eq!(v["error"]["source"], "http_admin_api", "{method} {path}: {}", r.body);
        // An `extra` condition is one a client knows (Prose maps it before `condition`).
        if let Some(c) = v["error"]["extra"]["condition"].as_str() {
            assert!(["user-not-found", "group-not-found", "group-name-required"].contains(&c), "{}", r.body);
        }
    }
}

/// One HTTP/1.1 request on a new connection; `authorization` is the header's value.
pub fn raw(addr: SocketAddr, method: &str, path: &str, body: Option<&str>, authorization: Option<&str>) -> Resp {
    raw_bytes(addr, method, path, body.map(str::as_bytes), authorization, &[])
}

pub fn raw_bytes(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    authorization: Option<&str>,
    extra: &[(&str, &str)],
) -> Resp {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    // A `Host` among `extra` replaces the default one (several: each is sent).
    let mut req = format!("{method} {path} HTTP/1.1\r\n");
    if !extra.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    req.push_str("Connection: close\r\n");
    if let Some(a) = authorization {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let chunked = extra.iter().any(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding"));
    if let Some(b) = body.filter(|_| !chunked) {
        req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    if let Some(b) = body {
        bytes.extend_from_slice(b);
    }
    // The server may answer (e.g. 413) and close before reading all of a large body.
    let _ = s.write_all(&bytes);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    parse(&buf)
}

pub fn parse(buf: &[u8]) -> Resp {
    let text = String::from_utf8_lossy(buf);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no HTTP response: {text:?}"));
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())))
        .collect();
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked { dechunk(body) } else { body.to_string() };
    Resp { status, headers, body }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Writes rows the way Prosody does (the storage reference), for tests that play
/// Prosody's part.
pub fn put_row(c: &impl Exec, host: &str, user: &str, store: &str, key: &str, ty: &str, value: &str) {
    c.exec(
        r#"INSERT INTO "prosody" ("host","user","store","key","type","value") VALUES (?,?,?,?,?,?)"#,
        &[host, user, store, key, ty, value],
    );
}

// One argument per column of `prosodyarchive`. (`when` goes as text, cast: PostgreSQL's
// column is an integer.)
#[allow(clippy::too_many_arguments)]
pub fn put_archive(
    c: &impl Exec,
    host: &str,
    user: &str,
    store: &str,
    key: &str,
    when: i64,
    with: &str,
    ty: &str,
    value: &str,
) {
    c.exec(
        r#"INSERT INTO "prosodyarchive" ("host","user","store","key","when","with","type","value")
           VALUES (?,?,?,?,CAST(CAST(? AS TEXT) AS INTEGER),?,?,?)"#,
        &[host, user, store, key, &when.to_string(), with, ty, value],
    );
}

/// Polls `f` until it returns `want` (or 2 s pass): for changes made by another process,
/// which the service sees within its watch interval (10 ms).
pub fn eventually<T: PartialEq>(mut f: impl FnMut() -> T, want: T) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let v = f();
        if v == want || std::time::Instant::now() > deadline {
            return v;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// base64("1;<jid>;<id>"), a Prosody 0.12 token string.
pub fn token_string(jid: &str, id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("1;{jid};{id}"))
}
