//! Hostile input, round two (issue 32): what a careless or hostile client, file system or
//! config did, each of which failed before these changes.
//! - No write follows a link: an audit `.list` (or an offline `.list`) replaced by a link to
//!   a file elsewhere makes the write fail whole, and the file elsewhere is untouched; the
//!   bootstrap token is never written through an existing file or link.
//! - Flat files: names no file can have are 404/409, never 500; a token naming such a user
//!   is a 401; a FIFO never hangs a read; `check` reports links, FIFOs and unreadable files.
//! - The account of the token in use cannot change its own roles (the token would die).
//! - `--host` is nameprepped as Prosody folds its VirtualHost names; odd names refused.
//! - Every answer says it may not be framed; the docs page runs only its own script.
//! - A JSON key the generated router does not know is neither echoed in a header nor
//!   written as a log line of its own.
//! - Prosody's config cannot walk around the sandbox's bounds: reads of /dev/zero, a FIFO,
//!   a loop inside `pcall` or an `xpcall` handler end with a clear error, in bounded time.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::Server;

fn flat_files() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    Server::start_on(dir, PathBuf::from(format!("internal:{}", data.display())), &["--prosody-version", "13"])
}

fn data(s: &Server) -> PathBuf {
    s.dir.path().join("data")
}

#[test]
fn no_write_follows_a_link() {
    let s = flat_files();
    // An API write makes the audit list; then it becomes a link to a file elsewhere.
    assert_eq!(s.admin("POST", "/invites/account", Some("{}")).status, 200);
    let audit = data(&s).join("localhost/prosody_admin_audit.list");
    assert!(audit.is_file(), "the audit list is where Prosody's layout puts it");
    // The file elsewhere: empty (any file the service's user may write; an append to it
    // would have landed there).
    let elsewhere = s.dir.path().join("elsewhere.txt");
    std::fs::write(&elsewhere, "").unwrap();
    std::fs::remove_file(&audit).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &audit).unwrap();
    let before = std::fs::read_dir(data(&s).join("localhost/invite_token")).map(|d| d.count()).unwrap_or(0);
    // Through the API and through the CLI: refused, nothing written anywhere.
    // The storage refuses: an internal fault (500), not the client's (the harness's
    // request helper refuses any 500, hence the raw request).
    let r = common::raw(s.addr, "POST", "/admin_api/invites/account", Some("{}"), Some(&format!("Bearer {}", s.token)));
    assert_eq!(r.status, 500, "{}", r.body);
    let o = s.cli(&["user", "add", "mallory"], Some("pw\n"));
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("symbolic link"), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "", "written through the link");
    assert!(!data(&s).join("localhost/accounts/mallory.dat").exists(), "the account of a refused write");
    let after = std::fs::read_dir(data(&s).join("localhost/invite_token")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(before, after);
    // `check` names the link.
    let o = s.cli(&["check"], None);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("prosody_admin_audit.list: a symbolic link"));
}

#[test]
fn the_bootstrap_token_is_never_written_through_an_existing_file() {
    for kind in ["file", "link"] {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.txt");
        std::fs::write(&target, "someone else's\n").unwrap();
        let token = dir.path().join("admin-token");
        match kind {
            "file" => std::fs::write(&token, "planted\n").unwrap(),
            _ => std::os::unix::fs::symlink(&target, &token).unwrap(),
        }
        let o = Command::new(common::BIN)
            .current_dir(dir.path())
            .args(["--database", "db.sqlite", "serve", "--listen", "127.0.0.1:0"])
            .output()
            .unwrap();
        assert!(!o.status.success(), "{kind}: started");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("cannot create") && err.contains("admin-token"), "{kind}: {err}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "someone else's\n", "{kind}");
        if kind == "file" {
            assert_eq!(std::fs::read_to_string(&token).unwrap(), "planted\n");
        }
    }
}

#[test]
fn flat_file_names_no_file_can_have() {
    let s = flat_files();
    let long = "x".repeat(252);
    for (method, body) in
        [("GET", None), ("PUT", Some(r#"{"display_name":"x"}"#)), ("PATCH", Some(r#"{"enabled":false}"#))]
    {
        let r = s.admin(method, &format!("/users/{long}"), body);
        assert_eq!(r.status, 404, "{method}: {}", r.body);
    }
    let r = s.admin("POST", "/invites/account", Some(&format!(r#"{{"username":"{}"}}"#, "x".repeat(300))));
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(s.admin("GET", "/invites", None).json().as_array().unwrap().len(), 0);
    // A 0.12-shaped token naming such a user: 401, as any unknown token.
    let raw = [b"2;abc;".as_slice(), &[7u8; 18], b";", "x".repeat(1000).as_bytes(), b"@localhost"].concat();
    let bearer = format!("secret-token:{}", base64::engine::general_purpose::STANDARD.encode(raw));
    let r = s.request("GET", "/admin_api/users", None, Some(&bearer));
    assert_eq!(r.status, 401, "{}", r.body);
}

#[test]
fn check_reports_links_fifos_and_unreadable_files_without_waiting() {
    let s = flat_files();
    s.add_user("alice", "pw");
    let accounts = data(&s).join("localhost/accounts");
    std::os::unix::fs::symlink(accounts.join("alice.dat"), accounts.join("linked.dat")).unwrap();
    let fifo = accounts.join("piped.dat");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    std::fs::write(accounts.join("garbage.dat"), "return {{{ not lua").unwrap();
    let start = Instant::now();
    let o = s.cli(&["check"], None);
    assert!(start.elapsed() < Duration::from_secs(20), "check waited");
    assert!(!o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    for what in ["linked.dat: a symbolic link", "piped.dat: not a regular file", "garbage.dat"] {
        assert!(out.contains(what), "{what}: {out}");
    }
    // A read that meets the FIFO answers at once (an error), never waits on it; the
    // listing goes on without what the odd files hold.
    let start = Instant::now();
    let r = common::raw(s.addr, "GET", "/admin_api/users/piped", None, Some(&format!("Bearer {}", s.token)));
    assert!(start.elapsed() < Duration::from_secs(5) && r.status == 500, "{}", r.status);
    let r = s.admin("GET", "/users", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let names: Vec<String> =
        r.json().as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().into()).collect();
    assert!(names.contains(&"alice".to_string()) && names.contains(&"piped".to_string()), "{names:?}");
}

#[test]
fn the_account_of_the_token_in_use_keeps_its_roles() {
    let s = Server::start_version("13", &[]);
    let r = s.admin("PUT", "/users/admin", Some(r#"{"role":"prosody:operator"}"#));
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(s.admin("GET", "/users/admin", None).json()["role"], "prosody:admin", "the token still works");
    // The same roles again are no change: allowed.
    let r = s.admin("PUT", "/users/admin", Some(r#"{"role":"prosody:admin","display_name":"Boss"}"#));
    assert_eq!(r.status, 200, "{}", r.body);
}

fn config_host(host: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(common::BIN).current_dir(dir.path()).args(["--host", host, "config"]).output().unwrap();
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

#[test]
fn host_names_are_nameprepped_as_prosody_folds_them() {
    let (ok, out) = config_host("LOCALHOST");
    assert!(ok && out.contains("host: localhost\t"), "{out}");
    let (ok, out) = config_host("Example.ORG");
    assert!(ok && out.contains("host: example.org\t"), "{out}");
    for bad in ["..", "[::1]", "a..b", ".x", "a b", "a/b", ""] {
        let (ok, out) = config_host(bad);
        assert!(!ok && out.contains("host"), "{bad:?}: {out}");
    }
}

#[test]
fn answers_are_never_framed_and_the_docs_page_runs_only_its_script() {
    let s = Server::start();
    let r = s.request("GET", "/admin_api/docs", None, None);
    assert_eq!(r.status, 200);
    let csp = r.header("content-security-policy").expect("a policy on the docs page");
    assert!(csp.contains("script-src 'self' 'sha256-") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    let r = s.admin("GET", "/users", None);
    assert_eq!(r.header("content-security-policy"), Some("default-src 'none'; frame-ancestors 'none'"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
}

#[test]
fn an_unknown_json_key_is_neither_echoed_nor_a_log_line() {
    let s = Server::start_logged(&[]);
    let key = format!("x\nFORGED LINE {}", "k".repeat(100_000));
    let body = serde_json::json!({ "display_name": "Bob", key: 1 }).to_string();
    let r = s.admin("PUT", "/users/admin", Some(&body));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.header("warning").is_none(), "echoed: {:?}", r.header("warning"));
    let log = std::fs::read_to_string(s.log_file()).unwrap();
    assert!(!log.lines().any(|l| l.starts_with("FORGED LINE")), "a forged log line");
    assert!(log.lines().all(|l| l.len() < 4096), "a log line of attacker-sized text");
}

/// Runs `config` on a Prosody config whose VirtualHost section is `body`: (ok, output,
/// seconds taken).
fn evaluate(body: &str) -> (bool, String, f64) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prosody.cfg.lua");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(&cfg, format!("data_path = {:?}\nVirtualHost \"localhost\"\n{body}\n", data.display())).unwrap();
    let start = Instant::now();
    // A memory bound the evaluation must stay within: 1 GiB of address space.
    let o = Command::new("prlimit")
        .args(["--as=1073741824", "--"])
        .arg(common::BIN)
        .args(["--prosody-config", cfg.to_str().unwrap(), "config"])
        .output()
        .unwrap();
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    (o.status.success(), out, start.elapsed().as_secs_f64())
}

fn assert_refused(what: &str, body: &str, says: &str) {
    let (ok, out, secs) = evaluate(body);
    assert!(!ok, "{what}: evaluated: {out}");
    assert!(out.contains("prosody.cfg.lua") && out.contains(says), "{what}: {out}");
    assert!(secs < 60.0, "{what}: took {secs:.1} s");
}

#[test]
fn the_config_sandbox_bounds_cannot_be_walked_around() {
    assert_refused("Include /dev/zero", r#"Include "/dev/zero""#, "not a regular file");
    assert_refused("FileContents /dev/zero", r#"x = FileContents("/dev/zero")"#, "not a regular file");
    assert_refused("io.open /dev/urandom", r#"x = io.open("/dev/urandom"):read(2^31)"#, "");
    assert_refused("io.lines /dev/zero", r#"for l in io.lines("/dev/zero") do end"#, "not a regular file");
    assert_refused(
        "a loop inside pcall",
        "while true do pcall(function() while true do end end) end",
        "did not finish",
    );
    assert_refused(
        "a looping xpcall handler",
        "while true do xpcall(function() error('x') end, function() while true do end end) end",
        "did not finish",
    );
    // A FIFO included: refused at once, not waited on.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.cfg.lua");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    assert_refused("Include a FIFO", &format!("Include {:?}", fifo.display().to_string()), "not a regular file");
    // A large regular file beyond the read budget.
    let big = dir.path().join("big.txt");
    std::fs::File::create(&big).unwrap().set_len(64 << 20).unwrap();
    assert_refused(
        "FileContents of 64 MiB",
        &format!("x = FileContents({:?})", big.display().to_string()),
        "bytes in all",
    );
}

#[test]
fn a_token_for_an_account_that_may_not_administer_is_refused_with_the_way_out() {
    let s = Server::start_version("13", &[]);
    s.add_user("bob", "pw");
    let o = s.cli(&["token", "create", "--user", "bob"], None);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bob@localhost may not administer") && err.contains("admins") && err.contains("user role bob"),
        "{err}"
    );
    // Nothing minted.
    let list = String::from_utf8(s.cli(&["token", "list"], None).stdout).unwrap();
    assert!(!list.contains("bob@localhost"), "{list}");
    // With the configured admins (as Prosody's config would give them), it is minted.
    let o = s.cli(&["--admins", "bob@localhost", "token", "create", "--user", "bob"], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_half_closed_connection_still_gets_its_answer_and_its_log_line() {
    use std::io::{Read, Write};
    let s = Server::start_logged(&[]);
    let body = r#"{"display_name":"Half"}"#;
    let mut c = std::net::TcpStream::connect(s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        c,
        "PUT /admin_api/users/admin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        s.token,
        body.len()
    )
    .unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = String::new();
    let _ = c.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert_eq!(s.admin("GET", "/users/admin", None).json()["display_name"], "Half");
    let log = common::eventually(
        || std::fs::read_to_string(s.log_file()).unwrap().contains("PUT /admin_api/users/admin 200"),
        true,
    );
    assert!(log, "no request log line");
}

/// Every malformed token is a 401 (never a 500), on SQL and on flat files, and each
/// counts toward the throttle's 429 like any failed authentication.
#[test]
fn malformed_tokens_are_401_and_count_toward_429() {
    let b = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    let st = |s: &[u8]| format!("secret-token:{}", b(s));
    let cases: Vec<String> = vec![
        String::new(),
        "secret-token:".into(),
        "secret-token:!!!".into(),
        st(b"abc"),
        st(b"2;abc"),
        st(b"2;\xff\xfe;\xff;\xff@localhost"),
        st(b"2;abc;secret;@localhost"),
        st(b"2;abc;secret;a@b@c"),
        st(b"2;abc;secret;../../x@localhost"),
        st(&[b"2;abc;".as_slice(), &[0u8; 18], b";", "x".repeat(1000).as_bytes(), b"@localhost"].concat()),
        st(&[b"2;".as_slice(), "g".repeat(300).as_bytes(), b";s;admin@localhost"].concat()),
        st(&[b"2;a;".as_slice(), "y".repeat(40_000).as_bytes(), b";u@localhost"].concat()),
        b(&[b"1;admin@localhost;".as_slice(), "x".repeat(5000).as_bytes()].concat()),
        b(b"1;../../x@localhost;id"),
        b(b"1;;"),
        b(&[b"1;".as_slice(), "x".repeat(300).as_bytes(), b"@localhost;", "i".repeat(300).as_bytes()].concat()),
        "x".repeat(60_000),
    ];
    let limit = (cases.len() + 1).to_string();
    let sqlite = Server::start_version("13", &["--auth-failure-limit", &limit]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let db = PathBuf::from(format!("internal:{}", dir.path().join("data").display()));
    let flat = Server::start_on(dir, db, &["--prosody-version", "13", "--auth-failure-limit", &limit]);
    for s in [&sqlite, &flat] {
        for t in &cases {
            let r = s.request("GET", "/admin_api/users", None, Some(t));
            assert_eq!(r.status, 401, "{}…: {}", &t[..t.len().min(40)], r.body);
        }
        // The next failure is over the limit: every one above counted.
        assert_eq!(s.request("GET", "/admin_api/users", None, Some("nope")).status, 401);
        assert_eq!(s.request("GET", "/admin_api/users", None, Some("nope")).status, 429);
    }
}
