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
//! or overflowing watch retires every cache). Listings read the files of the page's
//! accounts (no index yet: see the README's limits).

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

/// The magic first word of 13's `.lidx` files.
const LIDX_MAGIC: u64 = 7_767_640;

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

// ---------------------------------------------------------------------------------
// Names and paths

/// util.datamanager's `encode`: every byte outside `[A-Za-z0-9]` as `%xx`.
pub(in crate::storage) fn encode(s: &str) -> String {
    encode_keeping(s, false)
}

/// `store_encode`: the same, keeping `_`.
fn store_encode(s: &str) -> String {
    encode_keeping(s, true)
}

fn encode_keeping(s: &str, underscore: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || (underscore && b == b'_') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// `decode`: `%xx` (either case) to the byte.
fn decode(s: &str) -> Option<String> {
    super::percent_decode(s)
}

#[derive(Debug, Clone)]
struct Paths {
    data: PathBuf,
}

impl Paths {
    fn store_dir(&self, at: At) -> PathBuf {
        self.data.join(encode(at.host)).join(store_encode(at.store))
    }

    fn file(&self, at: At, user: &str, ext: &str) -> PathBuf {
        if user.is_empty() {
            self.data.join(encode(at.host)).join(format!("{}.{ext}", store_encode(at.store)))
        } else {
            self.store_dir(at).join(format!("{}.{ext}", encode(user)))
        }
    }
}

// ---------------------------------------------------------------------------------
// Values

/// A stored Lua value as the row primitives' [`Value`]: tables as JSON.
fn to_value(v: &LuaValue) -> Value {
    match v {
        LuaValue::Bool(b) => Value::Boolean(*b),
        LuaValue::Int(i) => Value::Number(*i as f64),
        LuaValue::Float(f) => Value::Number(*f),
        LuaValue::Str(s) => Value::String(String::from_utf8_lossy(s).into_owned()),
        LuaValue::Table(_) => Value::Json(to_json(v)),
    }
}

fn to_json(v: &LuaValue) -> Json {
    match v {
        LuaValue::Bool(b) => Json::Bool(*b),
        LuaValue::Int(i) => Json::from(*i),
        LuaValue::Float(f) => serde_json::Number::from_f64(*f).map(Json::Number).unwrap_or(Json::Null),
        LuaValue::Str(s) => Json::String(String::from_utf8_lossy(s).into_owned()),
        LuaValue::Table(entries) => {
            let positional = entries.iter().enumerate().all(|(i, (k, _))| *k == LuaValue::Int(i as i64 + 1));
            if positional && !entries.is_empty() {
                Json::Array(entries.iter().map(|(_, v)| to_json(v)).collect())
            } else {
                let mut m = JsonMap::new();
                for (k, v) in entries {
                    let key = match k {
                        LuaValue::Str(s) => String::from_utf8_lossy(s).into_owned(),
                        LuaValue::Int(i) => i.to_string(),
                        LuaValue::Bool(b) => b.to_string(),
                        LuaValue::Float(f) => f.to_string(),
                        LuaValue::Table(_) => continue,
                    };
                    m.insert(key, to_json(v));
                }
                Json::Object(m)
            }
        }
    }
}

fn from_value(v: &Value) -> LuaValue {
    match v {
        Value::String(s) => LuaValue::str(s),
        Value::Number(n) => number(*n),
        Value::Boolean(b) => LuaValue::Bool(*b),
        Value::Json(j) => from_json(j),
        Value::Xml(x) => LuaValue::str(x),
        Value::Other(_, s) => LuaValue::str(s),
    }
}

fn number(n: f64) -> LuaValue {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        LuaValue::Int(n as i64)
    } else {
        LuaValue::Float(n)
    }
}

fn from_json(j: &Json) -> LuaValue {
    match j {
        Json::Null => LuaValue::Table(Vec::new()),
        Json::Bool(b) => LuaValue::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => LuaValue::Int(i),
            None => LuaValue::Float(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => LuaValue::str(s),
        Json::Array(a) => {
            LuaValue::Table(a.iter().enumerate().map(|(i, v)| (LuaValue::Int(i as i64 + 1), from_json(v))).collect())
        }
        // JSON null members are Lua nils: absent.
        Json::Object(o) => LuaValue::Table(
            o.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (LuaValue::str(k), from_json(v))).collect(),
        ),
    }
}

/// A stanza or payload as st.preserialize gives it: `{ name=, attr={}, children... }`.
fn preserialize(e: &Element) -> LuaValue {
    let mut entries: Vec<(LuaValue, LuaValue)> = Vec::new();
    for (i, c) in e.children().iter().enumerate() {
        let v = match c {
            Node::Text(t) => LuaValue::str(t),
            Node::Element(el) => preserialize(el),
        };
        entries.push((LuaValue::Int(i as i64 + 1), v));
    }
    entries.push((LuaValue::str("name"), LuaValue::str(e.name())));
    let attr = e.attrs().iter().map(|(k, v)| (LuaValue::str(k), LuaValue::str(v))).collect();
    entries.push((LuaValue::str("attr"), LuaValue::Table(attr)));
    LuaValue::Table(entries)
}

/// The element a preserialized table stands for (archive fields and `stamp` left out).
fn deserialize(v: &LuaValue, top: bool) -> Option<Element> {
    let LuaValue::Str(name) = v.get("name")? else { return None };
    let mut e = Element::new(std::str::from_utf8(name).ok()?);
    if let Some(LuaValue::Table(attrs)) = v.get("attr") {
        // A Lua table has no order: the namespace first, then by name (the same text
        // whatever order Lua iterated in).
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for (k, val) in attrs {
            if let (LuaValue::Str(k), LuaValue::Str(val)) = (k, val) {
                let k = std::str::from_utf8(k).ok()?;
                if top && (k == "stamp" || k == "stamp_legacy") {
                    continue;
                }
                pairs.push((k, std::str::from_utf8(val).ok()?));
            }
        }
        pairs.sort_by_key(|(k, _)| (*k != "xmlns", *k));
        for (k, val) in pairs {
            e = e.attr(k, val);
        }
    }
    let LuaValue::Table(entries) = v else { return None };
    for (i, (k, child)) in entries.iter().enumerate() {
        if *k != LuaValue::Int(i as i64 + 1) {
            break;
        }
        match child {
            LuaValue::Str(t) => e.push(Node::Text(String::from_utf8_lossy(t).into_owned())),
            t @ LuaValue::Table(_) => e.push(Node::Element(deserialize(t, false)?)),
            _ => return None,
        }
    }
    Some(e)
}

/// XEP-0082 date-time of `when`.
fn stamp(when: i64) -> String {
    let days = when.div_euclid(86_400);
    let secs = when.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// An archive item as mod_storage_internal writes it. Stanzas are preserialized with
/// their `stamp`; values of our own stores (JSON) are kept as text under `value`.
fn item(key: &str, when: i64, with: &str, v: &Value, pos: Option<i64>) -> LuaValue {
    let mut entries = match v {
        Value::Xml(x) => match Element::parse(x).map(|e| preserialize(&e)) {
            Some(LuaValue::Table(mut t)) => {
                if let Some((_, LuaValue::Table(attr))) = t.iter_mut().find(|(k, _)| *k == LuaValue::str("attr")) {
                    attr.push((LuaValue::str("stamp"), LuaValue::str(&stamp(when))));
                }
                t
            }
            _ => vec![(LuaValue::str("value"), LuaValue::str(x)), (LuaValue::str("type"), LuaValue::str("xml"))],
        },
        other => {
            let (ty, text) = other.encode();
            vec![(LuaValue::str("value"), LuaValue::str(&text)), (LuaValue::str("type"), LuaValue::str(ty))]
        }
    };
    entries.push((LuaValue::str("key"), LuaValue::str(key)));
    entries.push((LuaValue::str("when"), LuaValue::Int(when)));
    entries.push((LuaValue::str("with"), LuaValue::str(with)));
    if let Some(p) = pos {
        entries.push((LuaValue::str("pos"), LuaValue::Int(p)));
    }
    LuaValue::Table(entries)
}

/// An item read back: (key, when, with, value, our position if it has one).
struct Stored {
    key: String,
    when: i64,
    with: String,
    value: Value,
    pos: Option<i64>,
}

fn read_item(v: &LuaValue) -> Option<Stored> {
    let text = |k: &str| match v.get(k) {
        Some(LuaValue::Str(s)) => Some(String::from_utf8_lossy(s).into_owned()),
        _ => None,
    };
    let int = |k: &str| match v.get(k) {
        Some(LuaValue::Int(i)) => Some(*i),
        Some(LuaValue::Float(f)) => Some(*f as i64),
        _ => None,
    };
    let value = match (text("type"), text("value")) {
        (Some(ty), Some(val)) => Value::decode(&ty, val),
        _ => Value::Xml(deserialize(v, true)?.to_xml().ok()?),
    };
    Some(Stored {
        key: text("key").unwrap_or_default(),
        when: int("when").unwrap_or(0),
        with: text("with").unwrap_or_default(),
        value,
        pos: int("pos"),
    })
}

// ---------------------------------------------------------------------------------
// Files

thread_local! {
    /// One Lua state per thread (reads run on the blocking pool's threads).
    static LOADER: Result<Loader, crate::lua::LoadError> = Loader::new();
}

fn with_loader<T>(f: impl FnOnce(&Loader) -> R<T>) -> R<T> {
    LOADER.with(|l| match l {
        Ok(l) => f(l),
        Err(e) => Err(err(format!("Lua: {e}"))),
    })
}

/// A file's bytes; None when it is not there.
fn read(path: &Path) -> R<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(err(format!("{}: {e}", path.display()))),
    }
}

fn parse_dat(path: &Path, bytes: &[u8]) -> R<Vec<(LuaValue, LuaValue)>> {
    let name = path.display().to_string();
    match with_loader(|l| l.load(&name, bytes).map_err(|e| err(format!("{name}: {e}"))))? {
        None => Ok(Vec::new()),
        Some(LuaValue::Table(t)) => Ok(t),
        Some(_) => Err(err(format!("{name}: not a table"))),
    }
}

fn parse_list(path: &Path, bytes: &[u8]) -> R<Vec<LuaValue>> {
    let name = path.display().to_string();
    with_loader(|l| l.load_list(&name, bytes).map_err(|e| err(format!("{name}: {e}"))))
}

/// Writes `bytes` as `path` at once: a unique temporary file in the same directory
/// (never Prosody's `<file>~`), the owner and mode of the file replaced (or of the
/// directory's files), synced, renamed over it.
fn replace(path: &Path, bytes: &[u8]) -> R<()> {
    let dir = path.parent().ok_or_else(|| err(format!("{}: no directory", path.display())))?;
    create_dir(dir)?;
    let like = like(path, dir);
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.tmp.{}.{}",
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o640).open(&tmp)?;
        f.write_all(bytes)?;
        if let Some(m) = &like {
            let _ = std::os::unix::fs::fchown(&f, Some(m.uid()), Some(m.gid()));
            f.set_permissions(std::fs::Permissions::from_mode(m.mode() & 0o777))?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(format!("{}: {e}", path.display()))
    })
}

/// The metadata new files copy: the file's own, else another file of its directory.
fn like(path: &Path, dir: &Path) -> Option<std::fs::Metadata> {
    std::fs::metadata(path).ok().or_else(|| {
        std::fs::read_dir(dir).ok()?.filter_map(Result::ok).find_map(|e| e.metadata().ok().filter(|m| m.is_file()))
    })
}

/// A store directory, as Prosody makes it (0750, the owner of its parent).
fn create_dir(dir: &Path) -> R<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir(parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o750).create(dir) {
        Ok(()) => {
            if let Some(m) = dir.parent().and_then(|p| std::fs::metadata(p).ok()) {
                let _ = std::os::unix::fs::chown(dir, Some(m.uid()), Some(m.gid()));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(err(format!("{}: {e}", dir.display()))),
    }
}

fn remove(path: &Path) -> R<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(err(format!("{}: {e}", path.display()))),
    }
}

/// Appends items to a `.list` in one `O_APPEND` write, then their end offsets to 13's
/// `.lidx` when it matches the list as it was (else it is removed: Prosody rebuilds it).
fn append_items(list: &Path, bytes: &[u8], ends: &[usize]) -> R<()> {
    if !list.exists() {
        // A new list: written whole, as Prosody creates one.
        return replace(list, bytes);
    }
    let lidx = list.with_extension("lidx");
    let before = std::fs::metadata(list).map_err(|e| err(format!("{}: {e}", list.display())))?.len();
    let mut f =
        std::fs::OpenOptions::new().append(true).open(list).map_err(|e| err(format!("{}: {e}", list.display())))?;
    f.write_all(bytes).map_err(|e| err(format!("{}: {e}", list.display())))?;
    f.sync_data().map_err(|e| err(format!("{}: {e}", list.display())))?;
    if let Some(idx) = read(&lidx)? {
        let words: Vec<u64> = idx.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect();
        let fits = idx.len() % 8 == 0 && words.first() == Some(&LIDX_MAGIC) && {
            let last = if words.len() > 1 { words[words.len() - 1] } else { 0 };
            last == before
        };
        if fits {
            let mut more = Vec::new();
            for end in ends {
                more.extend_from_slice(&(before + *end as u64).to_le_bytes());
            }
            let mut i = std::fs::OpenOptions::new()
                .append(true)
                .open(&lidx)
                .map_err(|e| err(format!("{}: {e}", lidx.display())))?;
            i.write_all(&more).map_err(|e| err(format!("{}: {e}", lidx.display())))?;
        } else {
            remove(&lidx)?;
        }
    }
    Ok(())
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

    fn probe(&self) -> R<()> {
        std::fs::read_dir(&self.paths.data).map(|_| ()).map_err(|e| err(format!("{}: {e}", self.paths.data.display())))
    }

    /// Every `.dat` and `.list` under data_path, read as this engine reads them (a `.dat`
    /// must be a table or nothing, an item a stanza or one of our values).
    fn check(&self) -> R<(usize, Vec<String>)> {
        let mut files = Vec::new();
        let mut dirs = vec![self.paths.data.clone()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).map_err(|e| err(format!("{}: {e}", d.display())))?.filter_map(Result::ok) {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if matches!(p.extension().and_then(|x| x.to_str()), Some("dat" | "list")) {
                    files.push(p);
                }
            }
        }
        files.sort();
        let mut bad = Vec::new();
        for p in &files {
            let Some(bytes) = read(p)? else { continue };
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
        Ok((files.len(), bad))
    }
}

/// What a write transaction has changed but not yet written, as values (serialized
/// once, at the commit): whole new files, removals, and items appended to lists.
#[derive(Default, Clone)]
struct Overlay {
    files: BTreeMap<PathBuf, Pending>,
    appends: BTreeMap<PathBuf, Vec<LuaValue>>,
}

#[derive(Clone)]
enum Pending {
    Table(Vec<(LuaValue, LuaValue)>),
    Items(Vec<LuaValue>),
    Gone,
}

/// Reads (and, for the writer, the overlay of its transaction).
struct Conn {
    paths: Paths,
    overlay: Option<Mutex<Overlay>>,
    cache: std::sync::Arc<Cache>,
}

/// A file's identity on disk: a rename gives a new inode, an append a new size, any
/// write a new mtime. Equal identities: the same content.
#[derive(Clone, Copy, PartialEq, Eq)]
struct FileId {
    ino: u64,
    dev: u64,
    size: u64,
    mtime: i64,
    mtime_ns: i64,
}

impl FileId {
    fn of(m: &std::fs::Metadata) -> FileId {
        FileId { ino: m.ino(), dev: m.dev(), size: m.size(), mtime: m.mtime(), mtime_ns: m.mtime_nsec() }
    }
}

/// Values kept per path, with the identity of the file they were read from.
type Cached<T> = Mutex<std::collections::HashMap<PathBuf, (FileId, std::sync::Arc<T>)>>;

/// A store directory's users: those with a `.dat` (sorted) and those with a `.list`.
#[derive(Default, Clone)]
struct DirNames {
    dat: Vec<String>,
    list: BTreeSet<String>,
}

/// Most files kept parsed (beyond it the cache starts over): bounds the memory.
const CACHED_FILES: usize = 20_000;

/// Parsed files and sorted directory listings, reused while unchanged on disk (checked
/// with one `stat` each): what keeps a listing from parsing every account's files on
/// each request.
#[derive(Default)]
struct Cache {
    tables: Cached<Vec<(LuaValue, LuaValue)>>,
    lists: Cached<Vec<LuaValue>>,
    /// Store directories' users. While the data directory is watched this is an index
    /// kept true by the watch's events and our own commits (no `stat` per read); else it
    /// is checked against the directory's mtime.
    dirs: Cached<DirNames>,
    watched: std::sync::atomic::AtomicBool,
    /// Moves with every change the index hears of: a directory read while it moved may
    /// have missed one, and is not kept.
    epoch: AtomicU64,
}

impl Cache {
    /// A file of a store directory was created, removed or renamed (an event, or our own
    /// commit): its user joins or leaves that directory's index, as the file now is.
    fn seen(&self, path: &Path) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let (Some(dir), Some(name)) = (path.parent(), path.file_name().map(|n| n.to_string_lossy().into_owned()))
        else {
            return;
        };
        let Ok(mut dirs) = self.dirs.lock() else { return };
        let Some((_, names)) = dirs.get_mut(dir) else { return };
        let exists = path.exists();
        let names = std::sync::Arc::make_mut(names);
        if let Some(u) = name.strip_suffix(".dat").and_then(decode) {
            match (names.dat.binary_search(&u), exists) {
                (Err(i), true) => names.dat.insert(i, u),
                (Ok(i), false) => {
                    names.dat.remove(i);
                }
                _ => {}
            }
        } else if let Some(u) = name.strip_suffix(".list").and_then(decode) {
            if exists {
                names.list.insert(u);
            } else {
                names.list.remove(&u);
            }
        }
    }

    fn forget_dirs(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut d) = self.dirs.lock() {
            d.clear();
        }
    }
}

/// The cached value of `path` if its file is unchanged, else `load`'s (then cached).
fn cached<T>(map: &Cached<T>, path: &Path, load: impl FnOnce() -> R<T>) -> R<Option<std::sync::Arc<T>>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(format!("{}: {e}", path.display()))),
    };
    let id = FileId::of(&meta);
    // A directory changed in the same clock tick as the last change keeps its mtime: one
    // changed in the last second is read again (git's "racy clean" rule). Files need not:
    // Prosody and we replace them by rename (a new inode), and append (a new size).
    let settled = !meta.is_dir()
        || meta.modified().ok().and_then(|m| m.elapsed().ok()).is_some_and(|age| age > Duration::from_secs(1));
    if !settled {
        return Ok(Some(std::sync::Arc::new(load()?)));
    }
    if let Some((seen, v)) = map.lock().map_err(|_| err("cache poisoned"))?.get(path) {
        if *seen == id {
            return Ok(Some(v.clone()));
        }
    }
    let v = std::sync::Arc::new(load()?);
    // Kept only if nothing changed while it was read (an event in between would have
    // found nothing to update).
    if std::fs::metadata(path).map(|m| FileId::of(&m) == id).unwrap_or(false) {
        let mut m = map.lock().map_err(|_| err("cache poisoned"))?;
        if m.len() >= CACHED_FILES {
            m.clear();
        }
        m.insert(path.to_path_buf(), (id, v.clone()));
    }
    Ok(Some(v))
}

impl Conn {
    fn overlay(&self) -> R<std::sync::MutexGuard<'_, Overlay>> {
        self.overlay
            .as_ref()
            .ok_or_else(|| err("a write outside a transaction"))?
            .lock()
            .map_err(|_| err("the transaction's state is poisoned"))
    }

    /// The transaction's own view of `path`, if it changed it: (pending content, items
    /// appended).
    fn pending(&self, path: &Path) -> R<Option<(Option<Pending>, Vec<LuaValue>)>> {
        let Some(o) = &self.overlay else { return Ok(None) };
        let o = o.lock().map_err(|_| err("the transaction's state is poisoned"))?;
        let file = o.files.get(path).cloned();
        let more = o.appends.get(path).cloned();
        Ok((file.is_some() || more.is_some()).then(|| (file, more.unwrap_or_default())))
    }

    /// A `.dat` table as on disk, parsed once while the file is unchanged.
    fn disk_table(&self, path: &Path) -> R<Vec<(LuaValue, LuaValue)>> {
        let t = cached(&self.cache.tables, path, || match read(path)? {
            None => Ok(Vec::new()),
            Some(b) => parse_dat(path, &b),
        })?;
        Ok(t.map(|t| (*t).clone()).unwrap_or_default())
    }

    fn disk_items(&self, path: &Path) -> R<Vec<LuaValue>> {
        let t = cached(&self.cache.lists, path, || match read(path)? {
            None => Ok(Vec::new()),
            Some(b) => parse_list(path, &b),
        })?;
        Ok(t.map(|t| (*t).clone()).unwrap_or_default())
    }

    fn table(&self, at: At, user: &str) -> R<Vec<(LuaValue, LuaValue)>> {
        let path = self.paths.file(at, user, "dat");
        match self.pending(&path)? {
            Some((Some(Pending::Table(t)), _)) => Ok(t),
            Some((Some(_), _)) => Ok(Vec::new()),
            _ => self.disk_table(&path),
        }
    }

    /// Stores a user's table whole; an empty one removes the file (as Prosody does).
    fn store(&self, at: At, user: &str, t: Vec<(LuaValue, LuaValue)>) -> R<()> {
        let path = self.paths.file(at, user, "dat");
        let mut o = self.overlay()?;
        o.appends.remove(&path);
        o.files.insert(path, if t.is_empty() { Pending::Gone } else { Pending::Table(t) });
        Ok(())
    }

    fn items(&self, at: At, user: &str) -> R<Vec<LuaValue>> {
        let path = self.paths.file(at, user, "list");
        match self.pending(&path)? {
            None => self.disk_items(&path),
            Some((file, more)) => {
                let mut items = match file {
                    Some(Pending::Items(v)) => v,
                    Some(_) => Vec::new(),
                    None => self.disk_items(&path)?,
                };
                items.extend(more);
                Ok(items)
            }
        }
    }

    /// Rewrites a list whole (its `.lidx` goes: Prosody rebuilds it).
    fn store_items(&self, at: At, user: &str, items: &[LuaValue]) -> R<()> {
        let path = self.paths.file(at, user, "list");
        let mut o = self.overlay()?;
        o.appends.remove(&path);
        o.files.insert(path.with_extension("lidx"), Pending::Gone);
        o.files.insert(path, if items.is_empty() { Pending::Gone } else { Pending::Items(items.to_vec()) });
        Ok(())
    }

    fn append_item(&self, at: At, user: &str, item: &LuaValue) -> R<()> {
        let path = self.paths.file(at, user, "list");
        let mut o = self.overlay()?;
        if let Some(Pending::Items(whole)) = o.files.get_mut(&path) {
            whole.push(item.clone());
            return Ok(());
        }
        o.appends.entry(path).or_default().push(item.clone());
        Ok(())
    }

    /// The `.dat` users of a store directory, decoded, sorted.
    fn users(&self, at: At) -> R<Vec<String>> {
        let dir = self.paths.store_dir(at);
        // A directory's mtime moves with every entry created, removed or renamed in it.
        let listed = self.dir_names(&dir)?;
        let mut out: BTreeSet<String> = BTreeSet::new();
        let has_overlay = match &self.overlay {
            Some(o) => {
                let o = o.lock().map_err(|_| err("the transaction's state is poisoned"))?;
                o.files.keys().any(|p| p.parent() == Some(dir.as_path()))
            }
            None => false,
        };
        if !has_overlay {
            return Ok(listed.map(|l| l.dat.clone()).unwrap_or_default());
        }
        out.extend(listed.iter().flat_map(|l| l.dat.iter().cloned()));
        // The transaction's own new and removed files.
        if let Some(o) = &self.overlay {
            let o = o.lock().map_err(|_| err("the transaction's state is poisoned"))?;
            for (p, content) in &o.files {
                if p.parent() != Some(dir.as_path()) {
                    continue;
                }
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if let Some(u) = name.strip_suffix(".dat").and_then(decode) {
                    if !matches!(content, Pending::Gone) {
                        out.insert(u);
                    } else {
                        out.remove(&u);
                    }
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    /// A directory's `.dat` and `.list` users, cached while it is unchanged (watched:
    /// kept by the events, without a look at the directory).
    fn dir_names(&self, dir: &Path) -> R<Option<std::sync::Arc<DirNames>>> {
        let read_now = || -> R<DirNames> {
            let mut names = DirNames::default();
            for e in std::fs::read_dir(dir).map_err(|e| err(format!("{}: {e}", dir.display())))?.filter_map(Result::ok)
            {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(u) = name.strip_suffix(".dat").and_then(decode) {
                    names.dat.push(u);
                } else if let Some(u) = name.strip_suffix(".list").and_then(decode) {
                    names.list.insert(u);
                }
            }
            names.dat.sort();
            Ok(names)
        };
        if self.cache.watched.load(Ordering::Acquire) {
            if let Some((_, names)) = self.cache.dirs.lock().map_err(|_| err("cache poisoned"))?.get(dir) {
                return Ok(Some(names.clone()));
            }
            // Read once, then kept by the events: unless one came while it was read.
            let before = self.cache.epoch.load(Ordering::Acquire);
            let meta = match std::fs::metadata(dir) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(err(format!("{}: {e}", dir.display()))),
            };
            let names = std::sync::Arc::new(read_now()?);
            if self.cache.epoch.load(Ordering::Acquire) == before {
                let mut d = self.cache.dirs.lock().map_err(|_| err("cache poisoned"))?;
                d.insert(dir.to_path_buf(), (FileId::of(&meta), names.clone()));
            }
            return Ok(Some(names));
        }
        cached(&self.cache.dirs, dir, read_now)
    }

    fn string_entries(t: Vec<(LuaValue, LuaValue)>) -> Vec<(String, Value)> {
        let mut out: Vec<(String, Value)> = t
            .into_iter()
            .filter_map(|(k, v)| match k {
                LuaValue::Str(s) => Some((String::from_utf8_lossy(&s).into_owned(), to_value(&v))),
                _ => None,
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Writes the overlay out: whole files by rename, removals, appends. What was
    /// written goes into the cache as written (the next read need not parse it).
    fn commit(&self) -> R<()> {
        let o = std::mem::take(&mut *self.overlay()?);
        for (path, content) in o.files {
            match content {
                Pending::Table(t) => {
                    replace(&path, &dat_file(&LuaValue::Table(t.clone())).map_err(err)?)?;
                    self.prime(&self.cache.tables, &path, t);
                }
                Pending::Items(items) => {
                    let mut bytes = Vec::new();
                    for i in &items {
                        bytes.extend(list_item(i).map_err(err)?);
                    }
                    replace(&path, &bytes)?;
                }
                Pending::Gone => remove(&path)?,
            }
            // The index need not wait for the event.
            self.cache.seen(&path);
        }
        for (path, items) in &o.appends {
            let (mut bytes, mut ends) = (Vec::new(), Vec::new());
            for i in items {
                bytes.extend(list_item(i).map_err(err)?);
                ends.push(bytes.len());
            }
            append_items(path, &bytes, &ends)?;
            self.cache.seen(path);
        }
        Ok(())
    }

    /// Caches what was just written under the identity of the file now on disk.
    fn prime<T>(&self, map: &Cached<T>, path: &Path, v: T) {
        if let (Ok(meta), Ok(mut m)) = (std::fs::metadata(path), map.lock()) {
            if m.len() >= CACHED_FILES {
                m.clear();
            }
            m.insert(path.to_path_buf(), (FileId::of(&meta), std::sync::Arc::new(v)));
        }
    }
}

impl Rows for Conn {
    fn kv_get(&self, at: At, user: &str, key: &str) -> R<Option<Value>> {
        Ok(self.table(at, user)?.iter().find(|(k, _)| *k == LuaValue::str(key)).map(|(_, v)| to_value(v)))
    }

    fn kv_all(&self, at: At, user: &str) -> R<Vec<(String, Value)>> {
        Ok(Conn::string_entries(self.table(at, user)?))
    }

    fn kv_set(&self, at: At, user: &str, key: &str, v: &Value) -> R<()> {
        let mut t = self.table(at, user)?;
        let k = LuaValue::str(key);
        let new = from_value(v);
        match t.iter_mut().find(|(e, _)| *e == k) {
            Some(entry) => entry.1 = new,
            None => t.push((k, new)),
        }
        self.store(at, user, t)
    }

    fn kv_delete(&self, at: At, user: &str, key: &str) -> R<bool> {
        let mut t = self.table(at, user)?;
        let n = t.len();
        t.retain(|(k, _)| *k != LuaValue::str(key));
        if t.len() == n {
            return Ok(false);
        }
        self.store(at, user, t)?;
        Ok(true)
    }

    fn kv_clear(&self, at: At, user: &str) -> R<usize> {
        let n = self.table(at, user)?.len();
        if n > 0 {
            self.store(at, user, Vec::new())?;
        }
        Ok(n)
    }

    fn kv_exists(&self, at: At, user: &str) -> R<bool> {
        let path = self.paths.file(at, user, "dat");
        Ok(match self.pending(&path)? {
            Some((Some(Pending::Gone), _)) => false,
            Some((Some(_), _)) => true,
            _ => path.exists(),
        })
    }

    fn store_any(&self, at: At) -> R<bool> {
        Ok(!self.users(at)?.is_empty())
    }

    fn store_users(&self, at: At) -> R<Vec<String>> {
        self.users(at)
    }

    fn count_at_least(&self, at: At, key: &str, min: i64) -> R<i64> {
        let mut n = 0;
        for u in self.users(at)? {
            if let Some(Value::Number(v)) = self.kv_get(at, &u, key)? {
                if v >= min as f64 {
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    fn store_rows(&self, at: At) -> R<Vec<(String, String, Value)>> {
        let mut out = Vec::new();
        for u in self.users(at)? {
            for (k, v) in self.kv_all(at, &u)? {
                out.push((u.clone(), k, v));
            }
        }
        Ok(out)
    }

    fn users_with_key(&self, at: At, key: &str) -> R<Vec<String>> {
        let mut out = Vec::new();
        for u in self.users(at)? {
            if self.table(at, &u)?.iter().any(|(k, _)| *k == LuaValue::str(key)) {
                out.push(u);
            }
        }
        Ok(out)
    }

    /// Prosody's purge: the user's `.dat`, `.list` and `.lidx` in every store of the host.
    fn purge_user(&self, host: &str, user: &str) -> R<()> {
        let dir = self.paths.data.join(encode(host));
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(err(format!("{}: {e}", dir.display()))),
        };
        let name = encode(user);
        let mut o = self.overlay()?;
        for e in entries.filter_map(Result::ok) {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                for ext in ["dat", "list", "lidx"] {
                    let p = e.path().join(format!("{name}.{ext}"));
                    o.appends.remove(&p);
                    o.files.insert(p, Pending::Gone);
                }
            }
        }
        Ok(())
    }

    fn archive_get(&self, at: At, user: &str, key: &str) -> R<Option<(i64, String, Value)>> {
        Ok(self.items(at, user)?.iter().filter_map(read_item).find(|i| i.key == key).map(|i| (i.when, i.with, i.value)))
    }

    fn archive_put(&self, at: At, user: &str, key: &str, when: i64, with: &str, v: &Value) -> R<()> {
        let items = self.items(at, user)?;
        let kept: Vec<LuaValue> =
            items.iter().filter(|i| read_item(i).map(|s| s.key != key).unwrap_or(true)).cloned().collect();
        if kept.len() == items.len() {
            return self.append_item(at, user, &item(key, when, with, v, None));
        }
        let mut all = kept;
        all.push(item(key, when, with, v, None));
        self.store_items(at, user, &all)
    }

    fn archive_append(&self, at: At, user: &str, key: &str, when: i64, with: &str, v: &Value) -> R<i64> {
        // Positions stay with their items (a cursor outlives retention's deletions).
        let last = self.items(at, user)?.iter().rev().find_map(|i| read_item(i).and_then(|s| s.pos)).unwrap_or(0);
        self.append_item(at, user, &item(key, when, with, v, Some(last + 1)))?;
        Ok(last + 1)
    }

    fn archive_page(&self, at: At, user: &str, before: Option<i64>, limit: i64) -> R<Vec<ArchiveRow>> {
        let before = before.unwrap_or(i64::MAX);
        let mut out = Vec::new();
        for (i, it) in self.items(at, user)?.iter().enumerate().rev() {
            let Some(s) = read_item(it) else { continue };
            let pos = s.pos.unwrap_or(i as i64 + 1);
            if pos < before {
                out.push((pos, s.key, s.when, s.with, s.value));
                if out.len() as i64 >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn archive_delete(&self, at: At, user: &str, key: &str) -> R<bool> {
        let items = self.items(at, user)?;
        let kept: Vec<LuaValue> =
            items.iter().filter(|i| read_item(i).map(|s| s.key != key).unwrap_or(true)).cloned().collect();
        if kept.len() == items.len() {
            return Ok(false);
        }
        self.store_items(at, user, &kept)?;
        Ok(true)
    }

    fn archive_prune(&self, at: At, user: &str, keep: Option<i64>, before: Option<i64>, limit: i64) -> R<usize> {
        let items = self.items(at, user)?;
        let n = items.len() as i64;
        let mut gone = 0i64;
        let mut kept = Vec::with_capacity(items.len());
        for (i, it) in items.iter().enumerate() {
            let old = before.is_some_and(|b| read_item(it).is_some_and(|s| s.when < b));
            let beyond = keep.is_some_and(|k| (i as i64) < n - k);
            if (old || beyond) && gone < limit {
                gone += 1;
            } else {
                kept.push(it.clone());
            }
        }
        if gone > 0 {
            self.store_items(at, user, &kept)?;
        }
        Ok(gone as usize)
    }

    fn list_accounts(
        &self,
        host: &str,
        s: &ListingStores,
        after: &str,
        limit: Option<usize>,
        visit: &mut dyn FnMut(ListedRows) -> R<()>,
    ) -> R<()> {
        fn at<'a>(host: &'a str, store: &'a str) -> At<'a> {
            At { host, store }
        }
        // The page's names straight from the sorted index (no copy of the whole list),
        // unless the transaction changed the directory (a write's own read).
        let names: Vec<String> = match (&self.overlay, self.dir_names(&self.paths.store_dir(at(host, s.accounts)))?) {
            (None, Some(index)) => {
                let start = index.dat.partition_point(|u| u.as_str() <= after);
                index.dat[start..].iter().take(limit.unwrap_or(usize::MAX)).cloned().collect()
            }
            _ => self
                .users(at(host, s.accounts))?
                .into_iter()
                .filter(|u| u.as_str() > after)
                .take(limit.unwrap_or(usize::MAX))
                .collect(),
        };
        // Which of the page's accounts have a file in a store: the others are skipped
        // without a look (most accounts have no nick, no activity, ...).
        let present = |store: &str, list: bool| -> R<BTreeSet<String>> {
            let Some(d) = self.dir_names(&self.paths.store_dir(at(host, store)))? else { return Ok(BTreeSet::new()) };
            Ok(names
                .iter()
                .filter(|n| if list { d.list.contains(*n) } else { d.dat.binary_search(n).is_ok() })
                .cloned()
                .collect())
        };
        let rows = |have: &BTreeSet<String>, f: &Entries| -> R<Vec<StreamRow>> {
            let mut out = Vec::new();
            for n in names.iter().filter(|n| have.contains(*n)) {
                for (k, v) in f(n)? {
                    out.push(Ok((n.clone(), k, v)));
                }
            }
            Ok(out)
        };
        let current = |store: &str, n: &str| -> R<Vec<(String, Value)>> {
            Ok(self
                .archive_get(at(host, store), n, "current")?
                .map(|(_, _, v)| ("current".to_string(), v))
                .into_iter()
                .collect())
        };
        let keyed = |store: &str, key: &str, n: &str| -> R<Vec<(String, Value)>> {
            Ok(self.kv_get(at(host, store), n, key)?.map(|v| (key.to_string(), v)).into_iter().collect())
        };
        // Memberships: every group file, once (members of groups that exist).
        let page: BTreeSet<&str> = names.iter().map(String::as_str).collect();
        let existing: BTreeSet<String> = self.users(at(host, s.group_info))?.into_iter().collect();
        let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for gid in self.users(at(host, s.groups))? {
            if !existing.contains(&gid) {
                continue;
            }
            for (member, _) in self.kv_all(at(host, s.groups), &gid)? {
                if page.contains(member.as_str()) {
                    members.entry(member).or_default().push(gid.clone());
                }
            }
        }
        let member_rows: Vec<StreamRow> = members
            .into_iter()
            .flat_map(|(m, mut gids)| {
                gids.sort();
                gids.into_iter().map(move |g| Ok((m.clone(), g, Value::String(String::new()))))
            })
            .collect();
        let all: BTreeSet<String> = names.iter().cloned().collect();
        let streams = Streams {
            nick: rows(&present(s.nick_archive, true)?, &|n| current(s.nick_archive, n))?.into_iter(),
            avatar: rows(&present(s.avatar_archive, true)?, &|n| current(s.avatar_archive, n))?.into_iter(),
            roles: rows(&present(s.roles, false)?, &|n| {
                Ok(self
                    .kv_all(at(host, s.roles), n)?
                    .into_iter()
                    .filter(|(k, v)| k == "_default" || *v == Value::Boolean(true))
                    .collect())
            })?
            .into_iter(),
            members: member_rows.into_iter(),
            disabled: rows(&all, &|n| keyed(s.accounts, "disabled", n))?.into_iter(),
            activity: rows(&present(s.activity, false)?, &|n| keyed(s.activity, "timestamp", n))?.into_iter(),
            cleanup: rows(&present(s.cleanup, false)?, &|n| self.kv_all(at(host, s.cleanup), n))?.into_iter(),
        };
        merge(names.clone().into_iter().map(Ok), streams, visit)
    }
}

/// A row of a listing stream: (user, key, value).
type StreamRow = R<(String, String, Value)>;
/// The (key, value) entries of one account in one store.
type Entries<'a> = dyn Fn(&str) -> R<Vec<(String, Value)>> + 'a;

/// The writer: its transaction is the overlay; savepoints are copies of it.
struct Writer {
    conn: Conn,
    saved: Mutex<Vec<Overlay>>,
}

impl WriteConn for Writer {
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
}
