//! The only SQL of the service: Prosody's keyval/map rows (table `prosody`) and archive
//! items (table `prosodyarchive`), addressed by (host, user, store, key), on each
//! engine Prosody's `mod_storage_sql` supports here: SQLite ([`sqlite`]) and PostgreSQL
//! ([`pg`]). Both implement [`Rows`], the primitives the typed handles of
//! [`super::kinds`] are built on; the domain never sees these.
//!
//! Every statement is a fixed string with parameters; nothing is formatted into SQL.
//! The two files hold the same statements in each dialect (`?` / `$n` parameters;
//! PostgreSQL compares and orders usernames with `COLLATE "C"`, byte order, as SQLite's
//! default does: listings merge streams by Rust's `str` order and page by `user > ?`).

pub(super) mod pg;
pub(super) mod sqlite;

use super::StoreError;
use crate::values::Value;

pub(super) type R<T> = Result<T, StoreError>;

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

/// A connection of either engine, as the handles use it (inside the call's
/// transaction, for writes).
pub(super) type Conn<'c> = &'c dyn Rows;

/// The row primitives of Prosody's two tables.
pub(super) trait Rows {
    // keyval / map stores (table `prosody`)

    fn kv_get(&self, at: At, user: &str, key: &str) -> R<Option<Value>>;
    /// Every (key, value) of one user's store, sorted by key.
    fn kv_all(&self, at: At, user: &str) -> R<Vec<(String, Value)>>;
    /// Sets one key. Delete, then insert: right under 0.12's non-unique index (as
    /// Prosody 0.12 does it) and 13's unique one alike.
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

/// A user-ordered stream of (user, key, value) rows, from either engine.
struct Cursor<I> {
    rows: I,
    cur: Option<(String, String, Value)>,
}

impl<I: Iterator<Item = R<(String, String, Value)>>> Cursor<I> {
    fn new(rows: I) -> R<Self> {
        let mut c = Cursor { rows, cur: None };
        c.advance()?;
        Ok(c)
    }

    fn advance(&mut self) -> R<()> {
        self.cur = self.rows.next().transpose()?;
        Ok(())
    }

    /// Hands `take` the rows of `name`, skipping rows of users before it (rows of names
    /// that are not accounts).
    fn take_for(&mut self, name: &str, mut take: impl FnMut(String, Value)) -> R<()> {
        while let Some((user, _, _)) = &self.cur {
            if user.as_str() > name {
                break;
            }
            if let Some((user, key, v)) = self.cur.take() {
                if user == name {
                    take(key, v);
                }
            }
            self.advance()?;
        }
        Ok(())
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
    let mut nick = Cursor::new(s.nick)?;
    let mut avatar = Cursor::new(s.avatar)?;
    let mut role = Cursor::new(s.roles)?;
    let mut member = Cursor::new(s.members)?;
    let mut disabled = Cursor::new(s.disabled)?;
    let mut active = Cursor::new(s.activity)?;
    let mut clean = Cursor::new(s.cleanup)?;
    for name in accounts {
        let name = name?;
        let mut u = ListedRows::default();
        nick.take_for(&name, |_, v| u.nick = Some(v))?;
        avatar.take_for(&name, |_, v| u.avatar = Some(v))?;
        role.take_for(&name, |k, v| u.roles.push((k, v)))?;
        member.take_for(&name, |g, _| u.groups.push(g))?;
        disabled.take_for(&name, |_, v| u.disabled = Some(v))?;
        active.take_for(&name, |_, v| u.last_active = Some(v))?;
        clean.take_for(&name, |k, v| u.cleanup.push((k, v)))?;
        u.name = name;
        visit(u)?;
    }
    Ok(())
}
