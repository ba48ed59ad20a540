//! Transactions: a connection's reads, and for the writer the overlay of values its
//! transaction changed (whole files, removals, appends), which its own reads see and its
//! commit writes out.

use super::*;

/// What a write transaction has changed but not yet written, as values (serialized
/// once, at the commit): whole new files, removals, and items appended to lists.
#[derive(Default, Clone)]
pub(super) struct Overlay {
    pub(super) files: BTreeMap<PathBuf, Pending>,
    pub(super) appends: BTreeMap<PathBuf, Vec<LuaValue>>,
}

#[derive(Clone)]
pub(super) enum Pending {
    Table(Vec<(LuaValue, LuaValue)>),
    Items(Vec<LuaValue>),
    Gone,
}

/// Reads (and, for the writer, the overlay of its transaction).
pub(super) struct Conn {
    pub(super) paths: Paths,
    pub(super) overlay: Option<Mutex<Overlay>>,
    pub(super) cache: std::sync::Arc<Cache>,
}
impl Conn {
    pub(super) fn overlay(&self) -> R<std::sync::MutexGuard<'_, Overlay>> {
        self.overlay
            .as_ref()
            .ok_or_else(|| err("a write outside a transaction"))?
            .lock()
            .map_err(|_| err("the transaction's state is poisoned"))
    }

    /// The transaction's own view of `path`, if it changed it: (pending content, items
    /// appended).
    pub(super) fn pending(&self, path: &Path) -> R<Option<(Option<Pending>, Vec<LuaValue>)>> {
        let Some(o) = &self.overlay else { return Ok(None) };
        let o = o.lock().map_err(|_| err("the transaction's state is poisoned"))?;
        let file = o.files.get(path).cloned();
        let more = o.appends.get(path).cloned();
        Ok((file.is_some() || more.is_some()).then(|| (file, more.unwrap_or_default())))
    }

    /// A `.dat` table as on disk, parsed once while the file is unchanged.
    pub(super) fn disk_table(&self, path: &Path) -> R<Vec<(LuaValue, LuaValue)>> {
        let t = cached(&self.cache.tables, path, || match read(path)? {
            None => Ok(Vec::new()),
            Some(b) => parse_dat(path, &b),
        })?;
        Ok(t.map(|t| (*t).clone()).unwrap_or_default())
    }

    pub(super) fn disk_items(&self, path: &Path) -> R<Vec<LuaValue>> {
        Ok(self.disk_list(path)?.map(|t| (*t).clone()).unwrap_or_default())
    }

    /// A `.list` as on disk, parsed once while the file is unchanged (shared, not copied).
    fn disk_list(&self, path: &Path) -> R<Option<std::sync::Arc<Vec<LuaValue>>>> {
        cached(&self.cache.lists, path, || match read(path)? {
            None => Ok(Vec::new()),
            Some(b) => parse_list(path, &b),
        })
    }

    pub(super) fn table(&self, at: At, user: &str) -> R<Vec<(LuaValue, LuaValue)>> {
        let path = self.paths.file(at, user, "dat");
        match self.pending(&path)? {
            Some((Some(Pending::Table(t)), _)) => Ok(t),
            Some((Some(_), _)) => Ok(Vec::new()),
            _ => self.disk_table(&path),
        }
    }

    /// Stores a user's table whole; an empty one removes the file (as Prosody does).
    pub(super) fn store(&self, at: At, user: &str, t: Vec<(LuaValue, LuaValue)>) -> R<()> {
        let path = self.paths.file(at, user, "dat");
        let mut o = self.overlay()?;
        o.appends.remove(&path);
        o.files.insert(path, if t.is_empty() { Pending::Gone } else { Pending::Table(t) });
        Ok(())
    }

    pub(super) fn items(&self, at: At, user: &str) -> R<Vec<LuaValue>> {
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
    pub(super) fn store_items(&self, at: At, user: &str, items: &[LuaValue]) -> R<()> {
        let path = self.paths.file(at, user, "list");
        let mut o = self.overlay()?;
        o.appends.remove(&path);
        o.files.insert(path.with_extension("lidx"), Pending::Gone);
        o.files.insert(path, if items.is_empty() { Pending::Gone } else { Pending::Items(items.to_vec()) });
        Ok(())
    }

    pub(super) fn append_item(&self, at: At, user: &str, item: &LuaValue) -> R<()> {
        let path = self.paths.file(at, user, "list");
        let mut o = self.overlay()?;
        if let Some(Pending::Items(whole)) = o.files.get_mut(&path) {
            whole.push(item.clone());
            return Ok(());
        }
        o.appends.entry(path).or_default().push(item.clone());
        Ok(())
    }

    /// The position of a list's last item that has one (0 if none): the next append's
    /// is one more. Kept per list with the identity of its file, and moved on by our own
    /// appends, so that an append does not parse the whole list: the audit log grows by
    /// one item per write, and parsing it on each made every audited write cost more than
    /// the last (BENCHMARKS.md, "Prosody's fair share").
    pub(super) fn last_position(&self, at: At, user: &str) -> R<i64> {
        let path = self.paths.file(at, user, "list");
        match self.pending(&path)? {
            // Rewritten in this transaction: its items are in memory.
            Some((Some(_), _)) => return Ok(last_pos(&self.items(at, user)?).unwrap_or(0)),
            Some((None, more)) => {
                if let Some(p) = last_pos(&more) {
                    return Ok(p);
                }
            }
            None => {}
        }
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if absent(&e) => return Ok(0),
            Err(e) => return Err(err(format!("{}: {e}", path.display()))),
        };
        let id = FileId::of(&meta);
        if let Some((seen, pos)) = self.cache.tails.lock().map_err(|_| err("cache poisoned"))?.get(&path) {
            if *seen == id {
                return Ok(*pos);
            }
        }
        let pos = self.disk_list(&path)?.and_then(|i| last_pos(&i)).unwrap_or(0);
        // Kept only if the file is still the one `id` names (what was parsed may be newer).
        if std::fs::metadata(&path).map(|m| FileId::of(&m) == id).unwrap_or(false) {
            self.cache.keep_tail(&path, id, pos);
        }
        Ok(pos)
    }

    /// The `.dat` users of a store directory, decoded, sorted.
    pub(super) fn users(&self, at: At) -> R<Vec<String>> {
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
    pub(super) fn dir_names(&self, dir: &Path) -> R<Option<std::sync::Arc<DirNames>>> {
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
                Err(e) if absent(&e) => return Ok(None),
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

    pub(super) fn string_entries(t: Vec<(LuaValue, LuaValue)>) -> Vec<(String, Value)> {
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
    pub(super) fn commit(&self) -> R<()> {
        let o = std::mem::take(&mut *self.overlay()?);
        // Every file appended to is checked before anything is written: a link or an odd
        // file there fails the commit whole.
        for path in o.appends.keys() {
            appendable(path)?;
            appendable(&path.with_extension("lidx"))?;
        }
        // The watch is to know these changes for ours (not Prosody's).
        if self.cache.watched.load(Ordering::Acquire) {
            ours(o.files.keys().cloned().chain(o.appends.keys().flat_map(|p| [p.clone(), p.with_extension("lidx")])));
        }
        // Every new file is written, then all are synced, then each renamed over its
        // file: the syncs (which wait on the disk) come before any rename, and the
        // renames (the metadata Prosody's own writes to the same directories share)
        // together after them, rather than sync, rename, sync, rename. Each file is still
        // whole or not there, whatever is killed when; a batch killed between two
        // renames has some of its files, as before.
        let mut staged = Vec::new();
        let mut tables = Vec::new();
        let mut gone = Vec::new();
        for (path, content) in o.files {
            match content {
                Pending::Table(t) => {
                    staged.push(stage(&path, &dat_file(&LuaValue::Table(t.clone())).map_err(err)?)?);
                    tables.push((path, t));
                }
                Pending::Items(items) => {
                    let mut bytes = Vec::new();
                    for i in &items {
                        bytes.extend(list_item(i).map_err(err)?);
                    }
                    staged.push(stage(&path, &bytes)?);
                }
                Pending::Gone => gone.push(path),
            }
        }
        for s in &staged {
            s.sync()?;
        }
        for s in staged {
            let path = s.path().to_path_buf();
            s.install()?;
            // The index need not wait for the event.
            self.cache.seen(&path);
        }
        for (path, t) in tables {
            self.prime(&self.cache.tables, &path, t);
        }
        for path in gone {
            remove(&path)?;
            self.cache.seen(&path);
        }
        for (path, items) in &o.appends {
            let (mut bytes, mut ends) = (Vec::new(), Vec::new());
            for i in items {
                bytes.extend(list_item(i).map_err(err)?);
                ends.push(bytes.len());
            }
            let ids = append_items(path, &bytes, &ends)?;
            self.cache.seen(path);
            if let Some((before, after)) = ids {
                self.cache.appended(path, before, after, last_pos(items));
            }
        }
        Ok(())
    }

    /// Caches what was just written under the identity of the file now on disk.
    pub(super) fn prime<T>(&self, map: &Cached<T>, path: &Path, v: T) {
        if let (Ok(meta), Ok(mut m)) = (std::fs::metadata(path), map.lock()) {
            if m.len() >= CACHED_FILES {
                m.clear();
            }
            m.insert(path.to_path_buf(), (FileId::of(&meta), std::sync::Arc::new(v)));
        }
    }
}
