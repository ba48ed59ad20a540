//! The file cache and the directory index: parsed files and sorted store listings
//! reused while unchanged on disk (one `stat` each), or kept true by the inotify watch.

use super::*;

/// A file's identity on disk: a rename gives a new inode, an append a new size, any
/// write a new mtime. Equal identities: the same content.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct FileId {
    pub(super) ino: u64,
    pub(super) dev: u64,
    pub(super) size: u64,
    pub(super) mtime: i64,
    pub(super) mtime_ns: i64,
}

impl FileId {
    pub(super) fn of(m: &std::fs::Metadata) -> FileId {
        FileId { ino: m.ino(), dev: m.dev(), size: m.size(), mtime: m.mtime(), mtime_ns: m.mtime_nsec() }
    }
}

/// Values kept per path, with the identity of the file they were read from.
pub(super) type Cached<T> = Mutex<std::collections::HashMap<PathBuf, (FileId, std::sync::Arc<T>)>>;

/// A store directory's users: those with a `.dat` (sorted) and those with a `.list`.
#[derive(Default, Clone)]
pub(super) struct DirNames {
    pub(super) dat: Vec<String>,
    pub(super) list: BTreeSet<String>,
}

/// Most files kept parsed (beyond it the cache starts over): bounds the memory.
pub(super) const CACHED_FILES: usize = 20_000;

/// Parsed files and sorted directory listings, reused while unchanged on disk (checked
/// with one `stat` each): what keeps a listing from parsing every account's files on
/// each request.
#[derive(Default)]
pub(super) struct Cache {
    pub(super) tables: Cached<Vec<(LuaValue, LuaValue)>>,
    pub(super) lists: Cached<Vec<LuaValue>>,
    /// Store directories' users. While the data directory is watched this is an index
    /// kept true by the watch's events and our own commits (no `stat` per read); else it
    /// is checked against the directory's mtime.
    pub(super) dirs: Cached<DirNames>,
    /// Lists' last item positions (`Conn::last_position`), with their file's identity.
    pub(super) tails: Mutex<std::collections::HashMap<PathBuf, (FileId, i64)>>,
    pub(super) watched: std::sync::atomic::AtomicBool,
    /// Moves with every change the index hears of: a directory read while it moved may
    /// have missed one, and is not kept.
    pub(super) epoch: AtomicU64,
    /// Changes the watch heard of that this process did not make (Prosody's writes):
    /// what tells the writer to rest between batches (`Writer::others_wrote`).
    pub(super) others: AtomicU64,
}

/// How long a path this process wrote stays ours to the watch: its events arrive after
/// the write, within milliseconds.
const OURS_FOR: Duration = Duration::from_secs(5);

/// The paths this process's commits wrote lately (files, their directories, `.lidx`),
/// process-wide: every engine on a data directory (one per host) shares the disk.
static OURS: Mutex<Option<std::collections::HashMap<PathBuf, std::time::Instant>>> = Mutex::new(None);

/// Notes that this process is about to write `paths`.
pub(super) fn ours(paths: impl IntoIterator<Item = PathBuf>) {
    let Ok(mut m) = OURS.lock() else { return };
    let m = m.get_or_insert_with(Default::default);
    let now = std::time::Instant::now();
    if m.len() > 4096 {
        m.retain(|_, at| now.duration_since(*at) < OURS_FOR);
    }
    for p in paths {
        if let Some(dir) = p.parent() {
            m.insert(dir.to_path_buf(), now);
        }
        m.insert(p, now);
    }
}

/// Whether an event's path is one this process wrote lately: a temporary file of ours
/// (`.<name>.tmp.<our pid>.<n>`), or a path noted by [`ours`].
pub(super) fn is_ours(path: &Path) -> bool {
    let tmp = format!(".tmp.{}.", std::process::id());
    if path.file_name().map(|n| n.to_string_lossy()).is_some_and(|n| n.starts_with('.') && n.contains(&tmp)) {
        return true;
    }
    let Ok(m) = OURS.lock() else { return false };
    m.as_ref().and_then(|m| m.get(path)).is_some_and(|at| at.elapsed() < OURS_FOR)
}

impl Cache {
    /// A file of a store directory was created, removed or renamed (an event, or our own
    /// commit): its user joins or leaves that directory's index, as the file now is.
    pub(super) fn seen(&self, path: &Path) {
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

    /// Keeps a list's last position, for the file `id` names.
    pub(super) fn keep_tail(&self, path: &Path, id: FileId, pos: i64) {
        if let Ok(mut t) = self.tails.lock() {
            if t.len() >= CACHED_FILES {
                t.clear();
            }
            t.insert(path.to_path_buf(), (id, pos));
        }
    }

    /// We appended to a list that was `before` and is now `after` with nothing else
    /// written in between: a last position known for `before` moves on to `after` (the
    /// appended items' own, if they have one). Otherwise it stays unknown: the next
    /// append reads the list.
    pub(super) fn appended(&self, path: &Path, before: FileId, after: FileId, pos: Option<i64>) {
        let known = match self.tails.lock() {
            Ok(t) => t.get(path).filter(|(seen, _)| *seen == before).map(|(_, p)| *p),
            Err(_) => return,
        };
        if let Some(p) = known {
            self.keep_tail(path, after, pos.unwrap_or(p));
        }
    }

    pub(super) fn forget_dirs(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut d) = self.dirs.lock() {
            d.clear();
        }
    }
}

/// The cached value of `path` if its file is unchanged, else `load`'s (then cached).
pub(super) fn cached<T>(map: &Cached<T>, path: &Path, load: impl FnOnce() -> R<T>) -> R<Option<std::sync::Arc<T>>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if absent(&e) => return Ok(None),
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
