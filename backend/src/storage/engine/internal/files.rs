//! Files: reads bounded and parsed by the sandboxed Lua, atomic replacement (unique
//! temporary + rename, the neighbours' owner and mode), directories, and O_APPEND appends
//! that keep 13's `.lidx` index true.
//!
//! No write follows a link: temporary files are created exclusively, appends open with
//! `O_NOFOLLOW` and refuse anything but a regular file, and a commit checks every file it
//! will append to before it writes anything. Reads take regular files only (a FIFO is
//! opened without blocking and refused), at most [`MAX_FILE`] bytes; a name too long for
//! the file system is a file that is not there.

use super::*;

// ---------------------------------------------------------------------------------
// Files

thread_local! {
    /// One Lua state per thread (reads run on the blocking pool's threads).
    static LOADER: Result<Loader, crate::lua::LoadError> = Loader::new();
}

pub(super) fn with_loader<T>(f: impl FnOnce(&Loader) -> R<T>) -> R<T> {
    LOADER.with(|l| match l {
        Ok(l) => f(l),
        Err(e) => Err(err(format!("Lua: {e}"))),
    })
}

/// Whether an error opening or `stat`ing a path means no file is there: not found, or a
/// name too long for the file system (no file can have it).
pub(super) fn absent(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENAMETOOLONG)
}

/// The largest data file read (Prosody's archives of a busy account stay far below).
pub(super) const MAX_FILE: u64 = 256 << 20;

/// A file's bytes; None when it is not there (or its name cannot exist here). Only a
/// regular file is read, opened without blocking (a FIFO neither hangs nor is read), at
/// most [`MAX_FILE`] bytes.
pub(super) fn read(path: &Path) -> R<Option<Vec<u8>>> {
    let f = match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path) {
        Ok(f) => f,
        Err(e) if absent(&e) => return Ok(None),
        Err(e) => return Err(err(format!("{}: {e}", path.display()))),
    };
    let meta = f.metadata().map_err(|e| err(format!("{}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(err(format!("{}: not a regular file", path.display())));
    }
    if meta.len() > MAX_FILE {
        return Err(err(format!("{}: larger than {MAX_FILE} bytes", path.display())));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    use std::io::Read as _;
    f.take(MAX_FILE + 1).read_to_end(&mut bytes).map_err(|e| err(format!("{}: {e}", path.display())))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(err(format!("{}: larger than {MAX_FILE} bytes", path.display())));
    }
    Ok(Some(bytes))
}

/// Whether a commit may append to `path`: absent (it will be created, never through a
/// link), or a regular file that is not a link.
pub(super) fn appendable(path: &Path) -> R<()> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(err(format!("{}: {e}", path.display()))),
        Ok(m) if m.file_type().is_file() => Ok(()),
        Ok(m) if m.file_type().is_symlink() => {
            Err(err(format!("{}: a symbolic link; refusing to write through it", path.display())))
        }
        Ok(_) => Err(err(format!("{}: not a regular file; refusing to write to it", path.display()))),
    }
}

/// Opens an existing regular file to append, never through a link (`O_NOFOLLOW`: a link
/// put there after the commit's check fails the open).
fn open_append(path: &Path) -> R<std::fs::File> {
    let f =
        std::fs::OpenOptions::new().append(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path).map_err(
            |e| match e.raw_os_error() {
                Some(libc::ELOOP) => err(format!("{}: a symbolic link; refusing to write through it", path.display())),
                _ => err(format!("{}: {e}", path.display())),
            },
        )?;
    let m = f.metadata().map_err(|e| err(format!("{}: {e}", path.display())))?;
    if !m.is_file() {
        return Err(err(format!("{}: not a regular file; refusing to write to it", path.display())));
    }
    Ok(f)
}

pub(super) fn parse_dat(path: &Path, bytes: &[u8]) -> R<Vec<(LuaValue, LuaValue)>> {
    let name = path.display().to_string();
    match with_loader(|l| l.load(&name, bytes).map_err(|e| err(format!("{name}: {e}"))))? {
        None => Ok(Vec::new()),
        Some(LuaValue::Table(t)) => Ok(t),
        Some(_) => Err(err(format!("{name}: not a table"))),
    }
}

pub(super) fn parse_list(path: &Path, bytes: &[u8]) -> R<Vec<LuaValue>> {
    let name = path.display().to_string();
    with_loader(|l| l.load_list(&name, bytes).map_err(|e| err(format!("{name}: {e}"))))
}

/// Writes `bytes` as `path` at once: a unique temporary file in the same directory
/// (never Prosody's `<file>~`), the owner and mode of the file replaced (or of the
/// directory's files), synced, renamed over it.
pub(super) fn replace(path: &Path, bytes: &[u8]) -> R<()> {
    let staged = stage(path, bytes)?;
    staged.sync()?;
    staged.install()
}

/// A whole new file written under its temporary name, not yet synced nor in place: a
/// commit stages all its files, syncs them, then renames each over its file (see
/// `Conn::commit`). Dropped uninstalled, the temporary file goes.
pub(super) struct Staged {
    file: std::fs::File,
    tmp: PathBuf,
    path: PathBuf,
    installed: bool,
}

/// Writes `bytes` under a unique temporary name beside `path`, with the owner and mode
/// of the file it will replace (or of the directory's files).
pub(super) fn stage(path: &Path, bytes: &[u8]) -> R<Staged> {
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
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o640)
        .open(&tmp)
        .map_err(|e| err(format!("{}: {e}", path.display())))?;
    // From here the temporary file is the Staged's: dropped, it goes.
    let mut staged = Staged { file, tmp, path: path.to_path_buf(), installed: false };
    let written = (|| -> std::io::Result<()> {
        staged.file.write_all(bytes)?;
        if let Some(m) = &like {
            let _ = std::os::unix::fs::fchown(&staged.file, Some(m.uid()), Some(m.gid()));
            staged.file.set_permissions(std::fs::Permissions::from_mode(m.mode() & 0o777))?;
        }
        Ok(())
    })();
    written.map_err(|e| err(format!("{}: {e}", path.display())))?;
    Ok(staged)
}

impl Staged {
    /// Makes the bytes durable (before the rename makes them the file).
    pub(super) fn sync(&self) -> R<()> {
        self.file.sync_all().map_err(|e| err(format!("{}: {e}", self.path.display())))
    }

    /// The file it will replace.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Renames it over its file.
    pub(super) fn install(mut self) -> R<()> {
        std::fs::rename(&self.tmp, &self.path).map_err(|e| err(format!("{}: {e}", self.path.display())))?;
        self.installed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.installed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// The metadata new files copy: the file's own, else another file of its directory.
pub(super) fn like(path: &Path, dir: &Path) -> Option<std::fs::Metadata> {
    // Never a link's target: its owner is not the data's.
    std::fs::symlink_metadata(path).ok().filter(|m| m.is_file()).or_else(|| {
        std::fs::read_dir(dir).ok()?.filter_map(Result::ok).find_map(|e| e.metadata().ok().filter(|m| m.is_file()))
    })
}

/// A store directory, as Prosody makes it (0750, the owner of its parent).
pub(super) fn create_dir(dir: &Path) -> R<()> {
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

pub(super) fn remove(path: &Path) -> R<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(err(format!("{}: {e}", path.display()))),
    }
}

/// Appends items to a `.list` in one `O_APPEND` write, then their end offsets to 13's
/// `.lidx` when it matches the list as it was (else it is removed: Prosody rebuilds it).
/// The list's identity before and after, when nothing else was written to it between
/// (None for a new list).
pub(super) fn append_items(list: &Path, bytes: &[u8], ends: &[usize]) -> R<Option<(FileId, FileId)>> {
    if std::fs::symlink_metadata(list).is_err() {
        // A new list: written whole, as Prosody creates one.
        replace(list, bytes)?;
        return Ok(None);
    }
    let lidx = list.with_extension("lidx");
    let mut f = open_append(list)?;
    let meta = |f: &std::fs::File| f.metadata().map_err(|e| err(format!("{}: {e}", list.display())));
    let was = FileId::of(&meta(&f)?);
    f.write_all(bytes).map_err(|e| err(format!("{}: {e}", list.display())))?;
    f.sync_data().map_err(|e| err(format!("{}: {e}", list.display())))?;
    let now = FileId::of(&meta(&f)?);
    // O_APPEND: another writer's bytes between the two looks would show in the size.
    let alone = now.size == was.size + bytes.len() as u64;
    if let Some(fits) = lidx_ends_at(&lidx, was.size)? {
        if fits {
            let mut more = Vec::new();
            for end in ends {
                more.extend_from_slice(&(was.size + *end as u64).to_le_bytes());
            }
            let mut i = open_append(&lidx)?;
            i.write_all(&more).map_err(|e| err(format!("{}: {e}", lidx.display())))?;
        } else {
            remove(&lidx)?;
        }
    }
    Ok(alone.then_some((was, now)))
}

/// Whether 13's `.lidx` index (magic, then each item's end offset) ends at `offset`;
/// None when there is none. Reads its first and last words only: the index grows with
/// the list.
fn lidx_ends_at(lidx: &Path, offset: u64) -> R<Option<bool>> {
    use std::os::unix::fs::FileExt as _;
    let e = |e: std::io::Error| err(format!("{}: {e}", lidx.display()));
    let f = match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW).open(lidx) {
        Ok(f) => f,
        Err(x) if absent(&x) => return Ok(None),
        Err(x) => return Err(e(x)),
    };
    let meta = f.metadata().map_err(e)?;
    if !meta.is_file() {
        return Err(err(format!("{}: not a regular file", lidx.display())));
    }
    let len = meta.len();
    if len < 8 || len % 8 != 0 {
        return Ok(Some(false));
    }
    let word = |at: u64| -> R<u64> {
        let mut b = [0u8; 8];
        f.read_exact_at(&mut b, at).map_err(e)?;
        Ok(u64::from_le_bytes(b))
    };
    if word(0)? != LIDX_MAGIC {
        return Ok(Some(false));
    }
    let last = if len > 8 { word(len - 8)? } else { 0 };
    Ok(Some(last == offset))
}
