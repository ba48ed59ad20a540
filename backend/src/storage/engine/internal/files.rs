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
pub(super) fn append_items(list: &Path, bytes: &[u8], ends: &[usize]) -> R<()> {
    if std::fs::symlink_metadata(list).is_err() {
        // A new list: written whole, as Prosody creates one.
        return replace(list, bytes);
    }
    let lidx = list.with_extension("lidx");
    let mut f = open_append(list)?;
    let before = f.metadata().map_err(|e| err(format!("{}: {e}", list.display())))?.len();
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
            let mut i = open_append(&lidx)?;
            i.write_all(&more).map_err(|e| err(format!("{}: {e}", lidx.display())))?;
        } else {
            remove(&lidx)?;
        }
    }
    Ok(())
}
