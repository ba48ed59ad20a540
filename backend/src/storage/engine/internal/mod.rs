//! The `internal` engine: Prosody's default flat-file storage under `data_path`, as
//! util.datamanager and mod_storage_internal keep it (0.12 and 13; facts in
//! `../shared/reference/prosody-internal-storage.md`):
//! - keyval and map stores: `<data>/<enc(host)>/<store_enc(store)>/<enc(user)>.dat`, one
//!   Lua table per user (a map store is the same file, keyed); host-level data (user
//!   `""`) in `<data>/<enc(host)>/<store_enc(store)>.dat`;
//! - archives: `<...>/<enc(user)>.list`, `item({...});` per item, and 13's `.lidx` index
//!   of item end offsets, kept true on append (else removed, and Prosody rebuilds it).
//!
//! Values are read by a sandboxed Lua (see [`crate::lua`]) and written as
//! util.serialization writes them. Every write is a whole new file under a unique
//! temporary name in the same directory (never Prosody's fixed `<file>~`), with the
//! owner and mode of the file it replaces (or of its directory's other files), then
//! renamed over it: no torn file, whatever is killed when. An archive append is one
//! `O_APPEND` write, as the reference recommends beside a running Prosody.
//!
//! Transactions: the writer's changes wait in an overlay (whole new contents, deletions,
//! appends), which its own reads see; savepoints are copies of the overlay; the commit
//! writes them out. Other processes' changes: inotify on the host directories (a lost
//! or overflowing watch retires every cache), which also keeps the store directories'
//! index of users true; listings read the files of the page's accounts, parsed once and
//! cached while unchanged on disk.
//!
//! One file per job: [`names`] (encoding and paths), [`values`] (Lua values <-> rows,
//! stanzas, archive items), [`files`] (bounded reads, atomic replace, appends and
//! `.lidx`), [`transaction`] (connections and the write overlay), [`cache`] (parsed files
//! and the directory index), [`rows`] (the `Rows` primitives); this file: the engine
//! (open, detection, watch, probe, check) and the writer.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Map as JsonMap, Value as Json};

use super::{merge, ArchiveRow, At, Engine, Generation, ListedRows, ListingStores, Rows, Streams, WriteConn, R};
use crate::lua::{dat_file, list_item, Loader, LuaValue};
use crate::storage::{ProsodyVersion, StoreError};
use crate::values::Value;
use crate::xml::{Element, Node};

mod cache;
mod files;
mod names;
mod rows;
mod transaction;
mod values;

use cache::*;
use files::*;
use names::*;
use transaction::*;
use values::*;

/// The magic first word of 13's `.lidx` files.
const LIDX_MAGIC: u64 = 7_767_640;

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

// ---------------------------------------------------------------------------------
// The engine

pub(in crate::storage) struct Internal {
    paths: Paths,
    version: ProsodyVersion,
    cache: std::sync::Arc<Cache>,
}

/// Opens Prosody's data directory: it must exist (Prosody makes it). The layout version:
/// the configured one, else what the files say (see [`detect`]).
pub(in crate::storage) fn open(data: &Path, configured: Option<ProsodyVersion>) -> R<Internal> {
    if !data.is_dir() {
        return Err(err(format!("{}: no such directory (Prosody's data_path)", data.display())));
    }
    let version = match (configured, detect(data)?) {
        (Some(v), Some(found)) if v != found => {
            return Err(err(format!("{} holds Prosody {found}'s data, but prosody_version is {v}", data.display())))
        }
        (Some(v), _) => v,
        (None, Some(found)) => found,
        (None, None) => ProsodyVersion::DEFAULT,
    };
    sweep(data);
    Ok(Internal { paths: Paths { data: data.to_path_buf() }, version, cache: Default::default() })
}

/// Removes the temporary files a killed process of ours left (`.<file>.tmp.<pid>.<n>`,
/// of a pid that no longer runs): never data (no name of ours ends in `.dat`, `.list`,
/// `.lidx` or `~`), but litter.
fn sweep(data: &Path) {
    let dirs = std::fs::read_dir(data).into_iter().flatten().filter_map(Result::ok).flat_map(|host| {
        let stores = std::fs::read_dir(host.path()).into_iter().flatten().filter_map(Result::ok).map(|e| e.path());
        std::iter::once(host.path()).chain(stores.filter(|p| p.is_dir()).collect::<Vec<_>>())
    });
    for dir in dirs {
        for e in std::fs::read_dir(&dir).into_iter().flatten().filter_map(Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix('.').and_then(|n| n.split_once(".tmp.").map(|(_, r)| r.to_string()))
            else {
                continue;
            };
            let pid = rest.split('.').next().unwrap_or("");
            if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Which Prosody wrote the data: 13 writes `cron.dat` on every host at start, keeps
/// roles in `account_roles` and dates accounts (`created`); 0.12 does none of it.
/// None when nothing tells (no account yet).
fn detect(data: &Path) -> R<Option<ProsodyVersion>> {
    let hosts = std::fs::read_dir(data).map_err(|e| err(format!("{}: {e}", data.display())))?;
    let mut accounts_seen = false;
    for host in hosts.filter_map(Result::ok).filter(|e| e.path().is_dir()) {
        let h = host.path();
        if h.join("cron.dat").exists() || h.join("account_roles").is_dir() {
            return Ok(Some(ProsodyVersion::V13));
        }
        if h.join("roles").is_dir() {
            return Ok(Some(ProsodyVersion::V0_12));
        }
        let Ok(files) = std::fs::read_dir(h.join("accounts")) else { continue };
        for f in files.filter_map(Result::ok).take(16) {
            let p = f.path();
            if p.extension().and_then(|e| e.to_str()) != Some("dat") {
                continue;
            }
            let Ok(Some(bytes)) = read(&p) else { continue };
            let Ok(t) = parse_dat(&p, &bytes) else { continue };
            accounts_seen = true;
            if t.iter().any(|(k, _)| *k == LuaValue::str("created")) {
                return Ok(Some(ProsodyVersion::V13));
            }
        }
    }
    Ok(accounts_seen.then_some(ProsodyVersion::V0_12))
}

impl Engine for Internal {
    fn version(&self) -> ProsodyVersion {
        self.version
    }

    fn read(&self, f: &mut dyn FnMut(&dyn Rows) -> bool) -> R<()> {
        let conn = Conn { paths: self.paths.clone(), overlay: None, cache: self.cache.clone() };
        f(&conn);
        Ok(())
    }

    fn writer(&self) -> R<Box<dyn WriteConn>> {
        Ok(Box::new(Writer {
            conn: Conn {
                paths: self.paths.clone(),
                overlay: Some(Mutex::new(Overlay::default())),
                cache: self.cache.clone(),
            },
            saved: Mutex::new(Vec::new()),
            others_seen: self.cache.others.load(Ordering::Acquire),
        }))
    }

    fn watch(&self, generation: Generation, _interval: Duration) -> R<()> {
        use notify::{RecursiveMode, Watcher};
        let g = std::sync::Arc::new(generation);
        let events = g.clone();
        let cache = self.cache.clone();
        let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
            match &ev {
                // Reads (ours included) change nothing.
                Ok(e) if matches!(e.kind, notify::EventKind::Access(_)) => return,
                // The directory index follows each named file (created, removed,
                // renamed); an event that names none, or asks for a rescan, drops it.
                Ok(e) if !e.need_rescan() && !e.paths.is_empty() => {
                    for p in &e.paths {
                        cache.seen(p);
                    }
                    // A rename of ours names our temporary file and its target.
                    if !e.paths.iter().any(|p| is_ours(p)) {
                        cache.others.fetch_add(1, Ordering::AcqRel);
                    }
                }
                Ok(_) => cache.forget_dirs(),
                Err(e) => {
                    log::warn!("watching the data directory: {e}");
                    cache.forget_dirs();
                }
            }
            // Any change, a lost event or an overflow: every cache retires.
            events.bump();
        })
        .map_err(|e| err(format!("cannot watch {}: {e}", self.paths.data.display())))?;
        watcher
            .watch(&self.paths.data, RecursiveMode::Recursive)
            .map_err(|e| err(format!("cannot watch {}: {e}", self.paths.data.display())))?;
        // From now on the directory index is kept by the events (and our own commits);
        // it is built now, at start-up, for every store directory of every host.
        self.cache.watched.store(true, Ordering::Release);
        let conn = Conn { paths: self.paths.clone(), overlay: None, cache: self.cache.clone() };
        for host in std::fs::read_dir(&self.paths.data).into_iter().flatten().filter_map(Result::ok) {
            for store in std::fs::read_dir(host.path()).into_iter().flatten().filter_map(Result::ok) {
                if store.path().is_dir() {
                    conn.dir_names(&store.path())?;
                }
            }
        }
        // The watcher lives as long as the store: a thread holds it until then.
        std::thread::Builder::new()
            .name("db-watch".into())
            .spawn(move || {
                let _watcher = watcher;
                while g.alive() {
                    std::thread::sleep(Duration::from_millis(250));
                }
            })
            .map_err(|e| err(format!("cannot start the data directory watcher: {e}")))?;
        Ok(())
    }

    /// No lock is shared, the disk is: at 0.25 Prosody lost under 10 % beside our writes
    /// (BENCHMARKS.md, "Prosody's fair share").
    fn default_write_share(&self) -> f64 {
        0.25
    }

    fn probe(&self) -> R<()> {
        std::fs::read_dir(&self.paths.data).map(|_| ()).map_err(|e| err(format!("{}: {e}", self.paths.data.display())))
    }

    /// Every `.dat` and `.list` under data_path, read as this engine reads them (a `.dat`
    /// must be a table or nothing, an item a stanza or one of our values).
    fn check(&self) -> R<(usize, Vec<String>)> {
        let (mut files, mut bad) = (Vec::new(), Vec::new());
        let mut dirs = vec![self.paths.data.clone()];
        while let Some(d) = dirs.pop() {
            let entries = match std::fs::read_dir(&d) {
                Ok(e) => e,
                Err(e) => {
                    bad.push(format!("{}: {e}", d.display()));
                    continue;
                }
            };
            for e in entries.filter_map(Result::ok) {
                let p = e.path();
                // Data files by name (Prosody's socket and pid file live here too). The
                // entry's own type: a link is reported, never followed.
                let data = matches!(p.extension().and_then(|x| x.to_str()), Some("dat" | "list" | "lidx"));
                match e.file_type() {
                    Ok(t) if t.is_dir() => dirs.push(p),
                    Ok(t) if t.is_symlink() && data => bad.push(format!("{}: a symbolic link", p.display())),
                    Ok(t) if !t.is_file() && data => bad.push(format!("{}: not a regular file", p.display())),
                    Ok(t) if t.is_file() && data && p.extension().and_then(|x| x.to_str()) != Some("lidx") => {
                        files.push(p)
                    }
                    Ok(_) => {}
                    Err(e) => bad.push(format!("{}: {e}", p.display())),
                }
            }
        }
        files.sort();
        for p in &files {
            let bytes = match read(p) {
                Ok(Some(b)) => b,
                Ok(None) => continue,
                Err(e) => {
                    bad.push(e.to_string());
                    continue;
                }
            };
            let outcome = if p.extension().and_then(|x| x.to_str()) == Some("dat") {
                parse_dat(p, &bytes).map(|_| ())
            } else {
                parse_list(p, &bytes).and_then(|items| match items.iter().position(|i| read_item(i).is_none()) {
                    Some(n) => Err(err(format!("{}: item {} is neither a stanza nor a value", p.display(), n + 1))),
                    None => Ok(()),
                })
            };
            if let Err(e) = outcome {
                bad.push(e.to_string());
            }
        }
        bad.sort();
        Ok((files.len(), bad))
    }
}
/// The writer: its transaction is the overlay; savepoints are copies of it.
struct Writer {
    conn: Conn,
    saved: Mutex<Vec<Overlay>>,
    /// The watch's count of others' changes, as of the last `others_wrote`.
    others_seen: u64,
}

impl WriteConn for Writer {
    /// Known while the data directory is watched: a change this process did not make
    /// (Prosody creating an account, appending a message) since the last call.
    fn others_wrote(&mut self) -> Option<bool> {
        if !self.conn.cache.watched.load(Ordering::Acquire) {
            return None;
        }
        let now = self.conn.cache.others.load(Ordering::Acquire);
        let before = std::mem::replace(&mut self.others_seen, now);
        Some(now != before)
    }

    fn begin(&mut self) -> R<()> {
        *self.conn.overlay()? = Overlay::default();
        Ok(())
    }

    fn savepoint(&self) -> R<()> {
        let copy = self.conn.overlay()?.clone();
        self.saved.lock().map_err(|_| err("poisoned"))?.push(copy);
        Ok(())
    }

    fn release(&self, keep: bool) -> R<()> {
        let saved = self.saved.lock().map_err(|_| err("poisoned"))?.pop();
        if let (false, Some(s)) = (keep, saved) {
            *self.conn.overlay()? = s;
        }
        Ok(())
    }

    fn end(&self, commit: bool) -> R<()> {
        self.saved.lock().map_err(|_| err("poisoned"))?.clear();
        if commit {
            self.conn.commit()
        } else {
            *self.conn.overlay()? = Overlay::default();
            Ok(())
        }
    }

    fn rows(&self) -> &dyn Rows {
        &self.conn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_encode_as_datamanager() {
        assert_eq!(encode("a.b_c-d"), "a%2eb%5fc%2dd");
        assert_eq!(encode("jürgen"), "j%c3%bcrgen");
        assert_eq!(encode("groups.localhost"), "groups%2elocalhost");
        assert_eq!(
            store_encode("pep_http://jabber.org/protocol/nick"),
            "pep_http%3a%2f%2fjabber%2eorg%2fprotocol%2fnick"
        );
        assert_eq!(decode("j%C3%bcrgen").as_deref(), Some("jürgen"));
        assert_eq!(stamp(1795958361), "2026-11-29T13:19:21Z");
    }

    #[test]
    fn a_transaction_writes_at_commit_and_rolls_back_savepoints() {
        let dir = tempfile::tempdir().unwrap();
        let e = open(dir.path(), None).unwrap();
        let mut w = e.writer().unwrap();
        let at = At { host: "localhost", store: "accounts" };
        w.begin().unwrap();
        w.savepoint().unwrap();
        w.rows().kv_set(at, "alice", "salt", &Value::String("s".into())).unwrap();
        assert_eq!(w.rows().kv_get(at, "alice", "salt").unwrap(), Some(Value::String("s".into())));
        w.release(true).unwrap();
        w.savepoint().unwrap();
        w.rows().kv_set(at, "bob", "salt", &Value::String("t".into())).unwrap();
        w.release(false).unwrap();
        assert!(!dir.path().join("localhost/accounts/alice.dat").exists(), "nothing before the commit");
        w.end(true).unwrap();
        let text = std::fs::read_to_string(dir.path().join("localhost/accounts/alice.dat")).unwrap();
        assert_eq!(text, "return {\n\t[\"salt\"] = \"s\";\n};\n");
        assert!(!dir.path().join("localhost/accounts/bob.dat").exists(), "the savepoint was rolled back");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("localhost/accounts")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left");
    }

    #[test]
    fn archive_appends_keep_the_lidx_true() {
        let dir = tempfile::tempdir().unwrap();
        let e = open(dir.path(), None).unwrap();
        let at = At { host: "localhost", store: "offline" };
        let mut w = e.writer().unwrap();
        let msg = "<message to='a@localhost' from='localhost'><body>hi</body></message>";
        for i in 0..3 {
            w.begin().unwrap();
            w.rows().archive_put(at, "alice", &format!("k{i}"), 1795958361 + i, "", &Value::Xml(msg.into())).unwrap();
            w.end(true).unwrap();
            if i == 0 {
                // As Prosody 13 indexes a list: magic, then the end of the one item.
                let len = std::fs::metadata(dir.path().join("localhost/offline/alice.list")).unwrap().len();
                let mut idx = LIDX_MAGIC.to_le_bytes().to_vec();
                idx.extend_from_slice(&len.to_le_bytes());
                std::fs::write(dir.path().join("localhost/offline/alice.lidx"), idx).unwrap();
            }
        }
        let list = std::fs::read(dir.path().join("localhost/offline/alice.list")).unwrap();
        let idx = std::fs::read(dir.path().join("localhost/offline/alice.lidx")).unwrap();
        let ends: Vec<u64> = idx.chunks(8).skip(1).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect();
        assert_eq!(ends.len(), 3);
        assert_eq!(*ends.last().unwrap(), list.len() as u64);
        let text = String::from_utf8(list).unwrap();
        assert_eq!(text.matches("item(").count(), 3);
        assert!(text.contains("[\"stamp\"] = \"2026-11-29T13:19:21Z\""), "{text}");
        let r = e.writer().unwrap();
        // Read back with its attributes in a fixed order (a Lua table has none).
        let sorted = "<message from='localhost' to='a@localhost'><body>hi</body></message>";
        for _ in 0..3 {
            assert_eq!(
                r.rows().archive_get(at, "alice", "k1").unwrap().map(|(_, _, v)| v),
                Some(Value::Xml(sorted.into()))
            );
        }
    }
    #[test]
    fn archive_positions_follow_our_appends_and_anyone_elses() {
        let dir = tempfile::tempdir().unwrap();
        let e = open(dir.path(), None).unwrap();
        let at = At { host: "localhost", store: "prosody_admin_audit" };
        let list = dir.path().join("localhost/prosody_admin_audit.list");
        let mut w = e.writer().unwrap();
        let v = Value::String("x".into());
        let mut append = |keys: &[&str]| -> Vec<i64> {
            w.begin().unwrap();
            let got = keys.iter().map(|k| w.rows().archive_append(at, "", k, 1, "", &v).unwrap()).collect();
            w.end(true).unwrap();
            got
        };
        assert_eq!(append(&["a"]), [1]);
        assert_eq!(append(&["b"]), [2]);
        assert_eq!(append(&["c", "d"]), [3, 4], "several in one transaction");
        // Another writer appends an item of its own with a position further on: the
        // position kept for the file we last wrote is not used for this one.
        let text = std::fs::read_to_string(&list).unwrap();
        let first = format!("item({}", text.split("item(").nth(1).unwrap());
        assert!(first.contains("[\"pos\"] = 1;"), "{first}");
        let mut f = std::fs::OpenOptions::new().append(true).open(&list).unwrap();
        f.write_all(first.replace("[\"pos\"] = 1;", "[\"pos\"] = 41;").as_bytes()).unwrap();
        drop(f);
        assert_eq!(append(&["e"]), [42]);
        assert_eq!(append(&["f"]), [43]);
        // Rewritten whole by someone else (a rename: a new file), with fewer items.
        std::fs::write(dir.path().join("tmp.list"), first.replace("[\"pos\"] = 1;", "[\"pos\"] = 7;")).unwrap();
        std::fs::rename(dir.path().join("tmp.list"), &list).unwrap();
        assert_eq!(append(&["g"]), [8]);
    }
    #[test]
    fn the_writer_hears_of_prosodys_writes_not_its_own() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("localhost/accounts")).unwrap();
        let e = open(dir.path(), None).unwrap();
        let generation = std::sync::Arc::new(AtomicU64::new(0));
        e.watch(Generation(std::sync::Arc::downgrade(&generation)), Duration::from_secs(1)).unwrap();
        let mut w = e.writer().unwrap();
        let settle = || std::thread::sleep(Duration::from_millis(300));
        assert_eq!(w.others_wrote(), Some(false));
        // Our own commits: a whole file, an append (audit), a removal.
        let at = At { host: "localhost", store: "accounts" };
        let audit = At { host: "localhost", store: "prosody_admin_audit" };
        let v = Value::String("x".into());
        for i in 0..3 {
            w.begin().unwrap();
            w.rows().kv_set(at, "ours", "salt", &Value::String(format!("s{i}"))).unwrap();
            w.rows().archive_append(audit, "", &format!("k{i}"), 1, "", &v).unwrap();
            w.end(true).unwrap();
        }
        settle();
        assert!(generation.load(Ordering::Acquire) > 0, "the watch heard our writes");
        assert_eq!(w.others_wrote(), Some(false), "our own writes are not someone else's");
        // Prosody creates an account as util.datamanager does: `<file>~`, then a rename.
        let tmp = dir.path().join("localhost/accounts/theirs.dat~");
        std::fs::write(&tmp, "return {};\n").unwrap();
        std::fs::rename(&tmp, dir.path().join("localhost/accounts/theirs.dat")).unwrap();
        settle();
        assert_eq!(w.others_wrote(), Some(true));
        assert_eq!(w.others_wrote(), Some(false), "heard once");
        // Not watched (the CLI): it cannot tell.
        let unwatched = open(dir.path(), None).unwrap();
        assert_eq!(unwatched.writer().unwrap().others_wrote(), None);
    }
}
