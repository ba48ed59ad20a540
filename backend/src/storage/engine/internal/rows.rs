//! The row primitives (`Rows`) over the files: keyval, map and archive reads and
//! writes, and the listing's streams.

use super::*;

/// The longest file name the file system takes (ext4, xfs, btrfs: 255 bytes).
const MAX_FILE_NAME: usize = 255;

impl Rows for Conn {
    fn holds_user(&self, user: &str) -> bool {
        // `<enc(user)>.lidx` is the longest name a user's data takes.
        encode(user).len() + ".lidx".len() <= MAX_FILE_NAME
    }

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
            Ok(e) => Some(e),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(err(format!("{}: {e}", dir.display()))),
        };
        let name = encode(user);
        let mut o = self.overlay()?;
        // The user's files in every store directory on disk, and those this transaction
        // made and has not written yet (a store directory that does not exist yet).
        let mut stores: BTreeSet<PathBuf> = o
            .files
            .keys()
            .chain(o.appends.keys())
            .filter_map(|p| p.parent())
            .filter(|d| d.parent() == Some(&dir))
            .map(Path::to_path_buf)
            .collect();
        stores.extend(
            entries
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
                .map(|e| e.path()),
        );
        for store in stores {
            for ext in ["dat", "list", "lidx"] {
                let p = store.join(format!("{name}.{ext}"));
                o.appends.remove(&p);
                o.files.insert(p, Pending::Gone);
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
        let last = self.last_position(at, user)?;
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
                // One file that cannot be read (a FIFO, not Lua, not ours to read) costs
                // that account's data from it, not the listing: logged, and `check` names it.
                match f(n) {
                    Ok(entries) => out.extend(entries.into_iter().map(|(k, v)| Ok((n.clone(), k, v)))),
                    Err(e) => log::warn!("listing {host}: {n} listed without what this file holds: {e}"),
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
pub(super) type StreamRow = R<(String, String, Value)>;
/// The (key, value) entries of one account in one store.
pub(super) type Entries<'a> = dyn Fn(&str) -> R<Vec<(String, Value)>> + 'a;
