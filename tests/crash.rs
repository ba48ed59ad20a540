//! Crash durability: the server is killed with SIGKILL while 4 clients write, 10
//! times over on one database file. Every acknowledged write is in the file after each
//! kill, each with its audit entry (written in the same transaction), the file passes
//! `PRAGMA integrity_check`, and the server starts again on it.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ROUNDS: usize = 10;
const WRITERS: usize = 4;

/// Kills the server when the test ends, passed or not.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(db: &Path) -> (Child, SocketAddr) {
    spawn_on(db.as_os_str().to_str().expect("utf-8"), db.parent().expect("dir"))
}

/// The server on `database` (a path or `internal:<dir>`), in `cwd` (where a first start
/// on flat files writes its token).
fn spawn_on(database: &str, cwd: &Path) -> (Child, SocketAddr) {
    let mut child = Command::new(common::BIN)
        .arg("--database")
        .arg(database)
        .current_dir(cwd)
        .args(["--prosody-version", "13", "serve", "--listen", "127.0.0.1:0"])
        .env_remove("PROSODY_ADMIN_CONFIG")
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let addr = loop {
        let line = lines.next().expect("server exited before listening").expect("stdout");
        if let Some(rest) = line.strip_prefix("prosody-admin listening on http://") {
            break rest.trim_end_matches("/admin_api").parse().expect("address");
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

/// POST /groups; the new group's id if the server acknowledged it (200), None if the
/// connection failed (the server is gone).
fn create_group(addr: SocketAddr, token: &str, name: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let body = format!(r#"{{"name":"{name}"}}"#);
    write!(
        s,
        "POST /admin_api/groups HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    if out.is_empty() {
        return None;
    }
    let r = common::parse(&out);
    assert!(r.status == 200, "a write failed without a crash: {} {}", r.status, r.body);
    Some(r.json()["id"].as_str().expect("id").to_string())
}

/// One round: the server on `database` (in `cwd`), 4 writers creating groups until it is
/// killed (at a moment that moves with `round`); every acknowledged group id lands in
/// `acked`. The token: read from `cwd` on the first round.
fn round(database: &str, cwd: &Path, round: usize, token: &mut String, acked: &Arc<Mutex<Vec<String>>>) {
    let (mut child, addr) = spawn_on(database, cwd);
    if round == 0 {
        *token = std::fs::read_to_string(cwd.join("admin-token")).unwrap().trim().to_string();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (acked, stop, token) = (acked.clone(), stop.clone(), token.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    match create_group(addr, &token, &format!("r{round} w{w} n{i}")) {
                        Some(id) => acked.lock().unwrap().push(id),
                        None => break,
                    }
                    i += 1;
                }
            })
        })
        .collect();
    // Kill at a different moment each round, mid-stream.
    std::thread::sleep(Duration::from_millis(150 + 37 * round as u64));
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
}

#[test]
fn acknowledged_writes_survive_kill_9_under_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut stored_last = 0;
    let mut token = String::new();
    let database = db.to_str().expect("utf-8").to_string();
    for round in 0..ROUNDS {
        self::round(&database, dir.path(), round, &mut token, &acked);

        let c = rusqlite::Connection::open(&db).unwrap();
        let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(ok, "ok", "round {round}");
        let stored: std::collections::HashSet<String> = c
            .prepare("SELECT DISTINCT user FROM prosody WHERE store='group_info'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let acked = acked.lock().unwrap();
        let lost: Vec<_> = acked.iter().filter(|id| !stored.contains(*id)).collect();
        assert!(lost.is_empty(), "round {round}: acknowledged but lost: {lost:?}");
        // Each committed group has its audit entry, written in its transaction: no more,
        // no fewer, whatever the moment of the kill.
        let audited: usize = c
            .query_row(
                "SELECT count(*) FROM prosodyarchive WHERE store='prosody_admin_audit' AND value LIKE '%\"createGroup\"%'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap() as usize;
        assert_eq!(audited, stored.len(), "round {round}");
        // Writes committed just before the kill were never acknowledged: more may be stored.
        eprintln!("round {round}: {} acknowledged in all, {} stored", acked.len(), stored.len());
        stored_last = stored.len();
    }
    assert!(acked.lock().unwrap().len() > ROUNDS * WRITERS, "the writers got writes through");
    // And it starts again on the file, serving everything.
    let (child, addr) = spawn(&db);
    let _child = Killed(child);
    let r = common::raw(addr, "GET", "/admin_api/groups", None, Some(&format!("Bearer {token}")));
    assert_eq!(r.status, 200);
    assert_eq!(r.json().as_array().unwrap().len(), stored_last);
}

/// The same on Prosody's flat files (`internal`): after every kill, every `.dat` and
/// `.list` loads (no torn file; temporary files are never `.dat`), every acknowledged
/// group is there, and the audit log has an entry for each acknowledged write (a write
/// of several files is not atomic across them: a kill can leave a committed-but-not-
/// acknowledged group without its entry, never an entry without its group).
#[test]
fn acknowledged_writes_survive_kill_9_on_flat_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let database = format!("internal:{}", data.display());
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut token = String::new();
    let loader = backend::lua::Loader::new().unwrap();
    for round in 0..ROUNDS {
        self::round(&database, dir.path(), round, &mut token, &acked);
        let host = data.join("localhost");
        let mut groups = std::collections::HashSet::new();
        for e in walk(&host) {
            let name = e.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&e).unwrap();
            if name.ends_with(".dat") {
                let v = loader.load(&name, &bytes).unwrap_or_else(|err| panic!("round {round}: {name} torn: {err:?}"));
                assert!(matches!(v, Some(backend::lua::LuaValue::Table(_))), "round {round}: {name}");
                if e.parent().unwrap().ends_with("group_info") {
                    groups.insert(decode(name.trim_end_matches(".dat")));
                }
            } else if name.ends_with(".list") {
                loader.load_list(&name, &bytes).unwrap_or_else(|err| panic!("round {round}: {name} torn: {err:?}"));
            }
        }
        let acked = acked.lock().unwrap();
        let lost: Vec<_> = acked.iter().filter(|id| !groups.contains(*id)).collect();
        assert!(lost.is_empty(), "round {round}: acknowledged but lost: {lost:?}");
        let list = std::fs::read(host.join("prosody_admin_audit.list")).unwrap();
        let audited = loader
            .load_list("audit", &list)
            .unwrap()
            .iter()
            .filter(|i| matches!(i.get("value"), Some(backend::lua::LuaValue::Str(v)) if String::from_utf8_lossy(v).contains("createGroup")))
            .count();
        assert!(
            acked.len() <= audited && audited <= groups.len(),
            "round {round}: {} acked, {audited} audited, {} stored",
            acked.len(),
            groups.len()
        );
        eprintln!("round {round}: {} acknowledged in all, {} stored", acked.len(), groups.len());
    }
    assert!(acked.lock().unwrap().len() > ROUNDS * WRITERS, "the writers got writes through");
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// util.datamanager's decoding of a file name (`%xx` to the byte).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() + 1 {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("hex"));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf-8")
}
