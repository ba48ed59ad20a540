//! The storage engines: everything that depends on where Prosody's data lives. One
//! folder per engine, behind one trait, [`Engine`] (with [`WriteConn`] and [`Rows`]), as
//! Prosody has one storage driver per backend behind one store API:
//! - [`sqlite`]: a SQLite file in `mod_storage_sql`'s layout (rusqlite, r2d2);
//! - [`pg`]: a PostgreSQL database in the same layout (the `postgres` crate);
//! - [`internal`]: Prosody's own flat files under `data_path` (`storage = "internal"`).
//!
//! An engine owns, for its backend: opening and preparing the database (which Prosody
//! layout it holds; creating a new one), read snapshots on a pool, the writer's
//! connection (a write transaction with savepoints), the watch that notices other
//! processes' commits and moves the cache generation, the readiness probe, and the
//! keyval/map/archive/listing primitives ([`Rows`]). Nothing outside this folder knows
//! a driver, a SQL statement or a PRAGMA.
//!
//! Adding an engine: one folder here implementing these traits, one arm of
//! [`super::Location`] that opens it, and one line in [`conformance`]'s list: the engine
//! is done when that suite passes on both layouts.
//!
//! This file holds what the engines share: the traits, the types of the primitives,
//! the listing merge, the choice of a layout from what a database holds, and the one
//! piece of DDL both SQL engines issue alike (Prosody's index, which tells 0.12 from 13).

pub(super) mod internal;
pub(super) mod pg;
pub(super) mod sqlite;

#[cfg(test)]
mod conformance;

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Weak;
use std::time::Duration;

use super::{ProsodyVersion, StoreError};
use crate::values::Value;

pub(super) type R<T> = Result<T, StoreError>;

/// Connections in an engine's read pool (the async runtime's blocking threads are sized
/// from it).
pub const POOL_SIZE: u32 = 4;

/// Where a row lives.
#[derive(Clone, Copy)]
pub(super) struct At<'a> {
    pub host: &'a str,
    pub store: &'a str,
}

/// An archive row with its position: (sort_id, key, when, with, value).
pub(super) type ArchiveRow = (i64, String, i64, String, Value);

/// The stores a user listing reads.
pub(super) struct ListingStores<'a> {
    pub accounts: &'a str,
    /// Archive store whose item `current` is the nick.
    pub nick_archive: &'a str,
    /// Archive store whose item `current` is the avatar metadata.
    pub avatar_archive: &'a str,
    pub roles: &'a str,
    pub groups: &'a str,
    pub group_info: &'a str,
    pub activity: &'a str,
    pub cleanup: &'a str,
}

/// One account of a listing, as stored.
#[derive(Default)]
pub(super) struct ListedRows {
    pub name: String,
    pub nick: Option<Value>,
    pub avatar: Option<Value>,
    /// The role rows that say something: `_default` and keys whose value is `true`.
    pub roles: Vec<(String, Value)>,
    /// Ids of existing groups with a membership row for the user, sorted.
    pub groups: Vec<String>,
    /// The `accounts` row `disabled`, if any.
    pub disabled: Option<Value>,
    /// The `account_activity` row `timestamp`, if any.
    pub last_active: Option<Value>,
    /// The `accounts_cleanup` rows (`deleted_at`, `pending_until`, ...).
    pub cleanup: Vec<(String, Value)>,
}

/// A connection of any engine, as the handles use it (inside the call's transaction,
/// for writes).
pub(super) type Conn<'c> = &'c dyn Rows;

/// The row primitives of Prosody's two tables.
pub(super) trait Rows {
    // keyval / map stores (table `prosody`)

    fn kv_get(&self, at: At, user: &str, key: &str) -> R<Option<Value>>;
    /// Every (key, value) of one user's store, sorted by key.
    fn kv_all(&self, at: At, user: &str) -> R<Vec<(String, Value)>>;
    /// Sets one key, replacing its value: as the layout wants it (on SQL, delete then
    /// insert under 0.12's non-unique index, as Prosody 0.12 does; an upsert where 13's
    /// unique index allows one and a concurrent insert by Prosody must not fail ours).
    fn kv_set(&self, at: At, user: &str, key: &str, v: &Value) -> R<()>;
    /// Deletes one key; returns whether a row existed.
    fn kv_delete(&self, at: At, user: &str, key: &str) -> R<bool>;
    /// Deletes one user's whole store (keyval `set(user, nil)`); rows deleted.
    fn kv_clear(&self, at: At, user: &str) -> R<usize>;
    /// Whether one user has any row in a store (e.g. `user_exists` on `accounts`).
    fn kv_exists(&self, at: At, user: &str) -> R<bool>;
    /// Whether any user has a row in a store.
    fn store_any(&self, at: At) -> R<bool>;
    /// The users of a store on a host, sorted (`users()` of a keyval store).
    fn store_users(&self, at: At) -> R<Vec<String>>;
    /// How many users have a numeric `key` of at least `min` (e.g. activity since a time).
    fn count_at_least(&self, at: At, key: &str, min: i64) -> R<i64>;
    /// Every (user, key, value) row of a store on a host, sorted by user then key.
    fn store_rows(&self, at: At) -> R<Vec<(String, String, Value)>>;
    /// The users that have `key` in a map store (`get_all(key)`), sorted.
    fn users_with_key(&self, at: At, key: &str) -> R<Vec<String>>;
    /// Prosody's user purge: every row of (host, user) in both tables.
    fn purge_user(&self, host: &str, user: &str) -> R<()>;
    /// Whether this engine can store data of a user of that name (flat files: its
    /// encoded file name must fit the file system's 255 bytes). SQL holds any.
    fn holds_user(&self, _user: &str) -> bool {
        true
    }

    // archive stores (table `prosodyarchive`)

    /// One archive item: (when, with, value).
    fn archive_get(&self, at: At, user: &str, key: &str) -> R<Option<(i64, String, Value)>>;
    /// Stores an item, replacing one with the same id (which then gets a new sort_id,
    /// as when Prosody publishes the same item id again).
    fn archive_put(&self, at: At, user: &str, key: &str, when: i64, with: &str, v: &Value) -> R<()>;
    /// Appends an item (no replacement: ids are fresh); returns its `sort_id`.
    fn archive_append(&self, at: At, user: &str, key: &str, when: i64, with: &str, v: &Value) -> R<i64>;
    /// Up to `limit` items newest first (by `sort_id`), those before `before` if given.
    fn archive_page(&self, at: At, user: &str, before: Option<i64>, limit: i64) -> R<Vec<ArchiveRow>>;
    fn archive_delete(&self, at: At, user: &str, key: &str) -> R<bool>;
    /// Deletes the oldest items (by position) beyond the `keep` newest, and those older
    /// than `before` (their `when`), at most `limit` of them: retention in small steps.
    /// Returns how many went.
    fn archive_prune(&self, at: At, user: &str, keep: Option<i64>, before: Option<i64>, limit: i64) -> R<usize>;

    /// The accounts of a host, in username order, with what a user listing shows: one
    /// index-ordered query per store, merged in one pass (no per-user queries, no hash
    /// maps), so that 100 000 accounts list in one scan of each index.
    /// A page: only users after `after` (`""`: from the first), at most `limit` of them.
    fn list_accounts(
        &self,
        host: &str,
        s: &ListingStores,
        after: &str,
        limit: Option<usize>,
        visit: &mut dyn FnMut(ListedRows) -> R<()>,
    ) -> R<()>;
}

/// A user-ordered stream of (user, key, value) rows, positioned on its current row:
/// an engine's open statement read in place (SQLite: nothing is allocated for a row's
/// user, nor for a key or value the merge does not keep), or rows already read ([`Owned`]).
pub(super) trait Stream {
    /// The current row's user; None past the last row.
    fn user(&self) -> R<Option<&str>>;
    /// The current row's key and value (the stream stays on the row).
    fn key_value(&mut self) -> R<(Cow<'_, str>, Value)>;
    /// Moves to the next row.
    fn advance(&mut self) -> R<()>;
}

/// Rows already read, as a [`Stream`].
pub(super) struct Owned<I> {
    rows: I,
    cur: Option<(String, String, Value)>,
}

impl<I: Iterator<Item = R<(String, String, Value)>>> Owned<I> {
    pub(super) fn new(rows: I) -> R<Self> {
        let mut s = Owned { rows, cur: None };
        s.advance()?;
        Ok(s)
    }
}

impl<I: Iterator<Item = R<(String, String, Value)>>> Stream for Owned<I> {
    fn user(&self) -> R<Option<&str>> {
        Ok(self.cur.as_ref().map(|(user, _, _)| user.as_str()))
    }

    fn key_value(&mut self) -> R<(Cow<'_, str>, Value)> {
        match self.cur.take() {
            Some((_, key, v)) => Ok((Cow::Owned(key), v)),
            None => Err(StoreError("a listing stream read past its end".into())),
        }
    }

    fn advance(&mut self) -> R<()> {
        self.cur = self.rows.next().transpose()?;
        Ok(())
    }
}

/// A stream as the merge reads it; `None`: a stream another thread merges (see
/// [`merge_seeds`]), which adds nothing here.
pub(super) struct Cursor<S>(pub Option<S>);

impl<S: Stream> Cursor<S> {
    /// Hands `take` the rows of `name`, skipping rows of users before it (rows of names
    /// that are not accounts).
    pub(super) fn take_for(&mut self, name: &str, mut take: impl FnMut(Cow<str>, Value)) -> R<()> {
        let Some(rows) = &mut self.0 else { return Ok(()) };
        loop {
            let ours = match rows.user()? {
                None => return Ok(()),
                Some(user) if user > name => return Ok(()),
                Some(user) => user == name,
            };
            if ours {
                let (key, v) = rows.key_value()?;
                take(key, v);
            }
            rows.advance()?;
        }
    }
}

/// The streams of a listing, each sorted by user (then key), merged per account.
pub(super) struct Streams<I> {
    pub nick: I,
    pub avatar: I,
    pub roles: I,
    /// (user, group id, _) rows of existing groups.
    pub members: I,
    pub disabled: I,
    pub activity: I,
    pub cleanup: I,
}

/// Merges the streams into one [`ListedRows`] per account name, in order.
pub(super) fn merge<I, A>(accounts: A, s: Streams<I>, visit: &mut dyn FnMut(ListedRows) -> R<()>) -> R<()>
where
    I: Iterator<Item = R<(String, String, Value)>>,
    A: Iterator<Item = R<String>>,
{
    let s = Streams {
        nick: Some(Owned::new(s.nick)?),
        avatar: Some(Owned::new(s.avatar)?),
        roles: Some(Owned::new(s.roles)?),
        members: Some(Owned::new(s.members)?),
        disabled: Some(Owned::new(s.disabled)?),
        activity: Some(Owned::new(s.activity)?),
        cleanup: Some(Owned::new(s.cleanup)?),
    };
    merge_seeds(named(accounts), s, visit)
}

/// Accounts of which only the name is known yet.
pub(super) fn named(names: impl Iterator<Item = R<String>>) -> impl Iterator<Item = R<ListedRows>> {
    names.map(|name| name.map(|name| ListedRows { name, ..ListedRows::default() }))
}

/// Adds the rows of the streams given (`Some`) to accounts partly merged already, in
/// order: a listing may merge some streams on one thread and the rest on another (the
/// SQLite engine's large listings do).
pub(super) fn merge_seeds<S, A>(seeds: A, s: Streams<Option<S>>, visit: &mut dyn FnMut(ListedRows) -> R<()>) -> R<()>
where
    S: Stream,
    A: Iterator<Item = R<ListedRows>>,
{
    let mut nick = Cursor(s.nick);
    let mut avatar = Cursor(s.avatar);
    let mut role = Cursor(s.roles);
    let mut member = Cursor(s.members);
    let mut disabled = Cursor(s.disabled);
    let mut active = Cursor(s.activity);
    let mut clean = Cursor(s.cleanup);
    for u in seeds {
        let mut u = u?;
        let name = std::mem::take(&mut u.name);
        nick.take_for(&name, |_, v| u.nick = Some(v))?;
        avatar.take_for(&name, |_, v| u.avatar = Some(v))?;
        role.take_for(&name, |k, v| u.roles.push((k.into_owned(), v)))?;
        member.take_for(&name, |g, _| u.groups.push(g.into_owned()))?;
        disabled.take_for(&name, |_, v| u.disabled = Some(v))?;
        active.take_for(&name, |_, v| u.last_active = Some(v))?;
        clean.take_for(&name, |k, v| u.cleanup.push((k.into_owned(), v)))?;
        u.name = name;
        visit(u)?;
    }
    Ok(())
}

/// `%xx` escapes (either case) to their bytes, as UTF-8: a URL query value (`+` stays a
/// plus, as libpq reads it) and util.datamanager's file names alike.
pub(super) fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(s.get(i + 1..i + 3)?, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The engine of an open database: one per [`super::Store`], shared by its threads.
pub(super) trait Engine: Send + Sync {
    /// The Prosody layout the database holds (chosen when it was opened, fixed).
    fn version(&self) -> ProsodyVersion;

    /// Runs `f` on a pooled connection inside one read snapshot (every statement of the
    /// call sees the same data). `f` says whether it succeeded. Blocking: never call
    /// it on the async runtime.
    fn read(&self, f: &mut dyn FnMut(&dyn Rows) -> bool) -> R<()>;

    /// A connection of its own for writes: the writer thread's, or one for a single
    /// write of a command-line tool. Blocking.
    fn writer(&self) -> R<Box<dyn WriteConn>>;

    /// Starts watching for commits by other processes (Prosody, the CLI, other
    /// replicas), moving `generation` on each, or when the engine cannot tell; polling
    /// engines look every `interval`. It stops when the generation is dropped.
    fn watch(&self, generation: Generation, interval: Duration) -> R<()>;

    /// Whether the database can be opened and read now, with a fresh connection (what a
    /// restart, or Prosody, would do): readiness. Blocking.
    fn probe(&self) -> R<()>;
    /// The writer's share of the data while Prosody writes it too, unless configured
    /// (`write_share`): what bench/fair.py measured to keep Prosody's own throughput
    /// within 20 % beside a flood of ours. Engines that cannot tell never rest.
    fn default_write_share(&self) -> f64 {
        1.0
    }

    /// Reads every stored item as this engine reads it: (items read, those it cannot
    /// read, with why). The SQL engines' rows are checked by their database; files are
    /// not. Blocking.
    fn check(&self) -> R<(usize, Vec<String>)> {
        Ok((0, Vec::new()))
    }
}

/// A connection that writes: one transaction at a time, each write of a batch in a
/// savepoint of its own (see [`super::writer`]).
pub(super) trait WriteConn: Send {
    /// Begins a write transaction: the database's (or all replicas') write lock is held
    /// until [`WriteConn::end`]. A connection found closed is replaced here, before
    /// anything ran.
    fn begin(&mut self) -> R<()>;
    /// Starts the savepoint of one write.
    fn savepoint(&self) -> R<()>;
    /// Ends the savepoint: its changes kept (`keep`) or rolled back.
    fn release(&self, keep: bool) -> R<()>;
    /// Ends the transaction: COMMIT, or ROLLBACK when `commit` is false.
    fn end(&self, commit: bool) -> R<()>;
    /// The primitives, inside the transaction.
    fn rows(&self) -> &dyn Rows;
    /// Whether another connection or process (Prosody) committed since the last call:
    /// `None` when the engine cannot tell. The writer rests between batches only while
    /// someone else writes (see `writer`).
    fn others_wrote(&mut self) -> Option<bool> {
        None
    }
}

/// What an engine's watch holds of its store's generation: moving it retires every
/// cache filled before. Weak: the watch ends when the store is gone.
pub(super) struct Generation(pub Weak<AtomicU64>);

impl Generation {
    /// Moves the generation; false when the store is gone (the watch should end).
    pub fn bump(&self) -> bool {
        match self.0.upgrade() {
            Some(g) => {
                g.fetch_add(1, Ordering::AcqRel);
                true
            }
            None => false,
        }
    }

    /// Whether the store is still there.
    pub fn alive(&self) -> bool {
        self.0.strong_count() > 0
    }
}

/// What a database's storage says about its Prosody version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Detected {
    /// Nothing of Prosody's yet: a new database.
    Empty,
    Version(ProsodyVersion),
}

/// The index on `prosody` that says which Prosody created a SQL schema (the same DDL on
/// both SQL engines): 0.12's is not unique (keyval writes delete, then insert); 13's is
/// (13 refuses to start while `prosody_index` exists).
pub(super) fn prosody_index(version: ProsodyVersion) -> &'static str {
    match version {
        ProsodyVersion::V0_12 => {
            r#"CREATE INDEX IF NOT EXISTS "prosody_index" ON "prosody" ("host", "user", "store", "key");"#
        }
        ProsodyVersion::V13 => {
            r#"CREATE UNIQUE INDEX IF NOT EXISTS "prosody_unique_index" ON "prosody" ("host", "user", "store", "key");"#
        }
    }
}

/// The version that Prosody's index on its keyval table says: 0.12's `prosody_index`
/// (not unique) or 13's `prosody_unique_index` (both SQL engines have these indices).
pub(super) fn from_indices(old: bool, unique: bool) -> R<Detected> {
    match (old, unique) {
        (true, false) => Ok(Detected::Version(ProsodyVersion::V0_12)),
        (false, true) => Ok(Detected::Version(ProsodyVersion::V13)),
        (true, true) => Err(StoreError(
            "the table \"prosody\" has both prosody_index (Prosody 0.12) and prosody_unique_index (Prosody 13); \
             finish the upgrade with `prosodyctl mod_storage_sql upgrade`"
                .into(),
        )),
        (false, false) => Err(StoreError(
            "the table \"prosody\" has neither prosody_index (Prosody 0.12) nor prosody_unique_index (Prosody 13): \
             not a database Prosody's mod_storage_sql created"
                .into(),
        )),
    }
}

/// The version to use, from what the database has and what is configured, and whether
/// the layout is to be created (an empty database gets `configured`, or the default):
/// - an existing database keeps the version it holds; if `configured` disagrees, a
///   clear error, and nothing is written.
///
/// We never migrate Prosody's layout: a 0.12 database is upgraded by
/// `prosodyctl mod_storage_sql upgrade`, not by us.
pub(super) fn choose(detected: Detected, configured: Option<ProsodyVersion>) -> R<(ProsodyVersion, bool)> {
    match (detected, configured) {
        (Detected::Empty, v) => Ok((v.unwrap_or(ProsodyVersion::DEFAULT), true)),
        (Detected::Version(found), Some(wanted)) if found != wanted => {
            let hint = match (found, wanted) {
                (ProsodyVersion::V0_12, ProsodyVersion::V13) => {
                    "upgrade it with Prosody 13's `prosodyctl mod_storage_sql upgrade` first"
                }
                _ => "a Prosody 13 database cannot be used as 0.12; set prosody_version = \"13\" (or leave it unset)",
            };
            Err(StoreError(format!(
                "the database has Prosody {found}'s layout, but prosody_version is {wanted}: {hint}"
            )))
        }
        (Detected::Version(found), _) => Ok((found, false)),
    }
}
