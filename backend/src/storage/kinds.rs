//! Typed handles over Prosody's three store kinds, as `module:open_store(name, kind)`
//! gives them: a row's `type`/`value` pair is decoded into a serde type here, once.
//!
//! - [`KeyVal<T>`]: one table per user, stored one row per field (mod_storage_sql's
//!   keyval: `set(user, {a = 1, b = "x"})` writes rows `a` and `b`).
//! - [`Map<V>`]: one value per (user, key).
//! - [`Archive`]: items with an id, a time and a `with`.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map as JsonMap, Value as Json};

use super::engine::{At, Conn};
use super::StoreError;
use crate::values::Value;

fn bad(store: &str, user: &str, what: impl std::fmt::Display) -> StoreError {
    StoreError(format!("store {store:?} of {user:?}: {what}"))
}

/// Decodes one stored value into `V`.
fn decode<V: DeserializeOwned>(store: &str, user: &str, key: &str, v: Value) -> Result<V, StoreError> {
    serde_json::from_value(field(store, user, key, &v)?).map_err(|e| bad(store, user, format!("key {key:?}: {e}")))
}

/// One stored value as the Lua value it stands for (an error for types a keyval or map
/// store of ours never holds, such as `xml`).
fn field(store: &str, user: &str, key: &str, v: &Value) -> Result<Json, StoreError> {
    v.to_json().ok_or_else(|| bad(store, user, format!("key {key:?} has a value of type {:?}", v.encode().0)))
}

fn encode<V: Serialize>(store: &str, user: &str, v: &V) -> Result<Json, StoreError> {
    serde_json::to_value(v).map_err(|e| bad(store, user, e))
}

/// A keyval store of tables: `T` is the table (a struct, or a map for free-form ones).
pub struct KeyVal<'a, T> {
    c: Conn<'a>,
    at: At<'a>,
    _t: PhantomData<fn() -> T>,
}

impl<'a, T: Serialize + DeserializeOwned> KeyVal<'a, T> {
    pub(super) fn new(c: Conn<'a>, host: &'a str, store: &'a str) -> Self {
        KeyVal { c, at: At { host, store }, _t: PhantomData }
    }

    /// The user's table, None when the user has no row.
    pub fn get(&self, user: &str) -> Result<Option<T>, StoreError> {
        let rows = self.c.kv_all(self.at, user)?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut table = JsonMap::new();
        for (k, v) in rows {
            let j = field(self.at.store, user, &k, &v)?;
            table.insert(k, j);
        }
        serde_json::from_value(Json::Object(table)).map(Some).map_err(|e| bad(self.at.store, user, e))
    }

    /// Replaces the user's table (Prosody's `set(user, table)`: the old rows go).
    pub fn set(&self, user: &str, v: &T) -> Result<(), StoreError> {
        let Json::Object(table) = encode(self.at.store, user, v)? else {
            return Err(bad(self.at.store, user, "a keyval value must be a table"));
        };
        self.c.kv_clear(self.at, user)?;
        for (k, j) in table {
            if let Some(v) = Value::from_json(j) {
                self.c.kv_set(self.at, user, &k, &v)?;
            }
        }
        Ok(())
    }

    pub fn exists(&self, user: &str) -> Result<bool, StoreError> {
        self.c.kv_exists(self.at, user)
    }

    /// Removes the user's table.
    pub fn clear(&self, user: &str) -> Result<(), StoreError> {
        self.c.kv_clear(self.at, user)?;
        Ok(())
    }

    /// Every user's table, sorted by user: one query, grouped here.
    pub fn every(&self) -> Result<Vec<(String, T)>, StoreError> {
        let mut tables: Vec<(String, JsonMap<String, Json>)> = Vec::new();
        for (user, k, v) in self.c.store_rows(self.at)? {
            let j = field(self.at.store, &user, &k, &v)?;
            match tables.last_mut() {
                Some((u, t)) if *u == user => {
                    t.insert(k, j);
                }
                _ => tables.push((user, JsonMap::from_iter([(k, j)]))),
            }
        }
        tables
            .into_iter()
            .map(|(u, t)| {
                serde_json::from_value(Json::Object(t)).map(|t| (u, t)).map_err(|e| bad(self.at.store, "", e))
            })
            .collect()
    }

    /// The users that have a table, sorted.
    pub fn users(&self) -> Result<Vec<String>, StoreError> {
        self.c.store_users(self.at)
    }

    /// How many users have a numeric field `key` of at least `min`.
    pub fn count_at_least(&self, key: &str, min: i64) -> Result<i64, StoreError> {
        self.c.count_at_least(self.at, key, min)
    }

    /// Whether any user of the host has a table.
    pub fn any(&self) -> Result<bool, StoreError> {
        self.c.store_any(self.at)
    }
}

/// A map store: one `V` per (user, key).
pub struct Map<'a, V> {
    c: Conn<'a>,
    at: At<'a>,
    _v: PhantomData<fn() -> V>,
}

impl<'a, V: Serialize + DeserializeOwned> Map<'a, V> {
    pub(super) fn new(c: Conn<'a>, host: &'a str, store: &'a str) -> Self {
        Map { c, at: At { host, store }, _v: PhantomData }
    }

    pub fn get(&self, user: &str, key: &str) -> Result<Option<V>, StoreError> {
        match self.c.kv_get(self.at, user, key)? {
            Some(v) => decode(self.at.store, user, key, v).map(Some),
            None => Ok(None),
        }
    }

    pub fn set(&self, user: &str, key: &str, v: &V) -> Result<(), StoreError> {
        match Value::from_json(encode(self.at.store, user, v)?) {
            Some(v) => self.c.kv_set(self.at, user, key, &v),
            None => self.delete(user, key).map(|_| ()),
        }
    }

    /// Removes one key; whether it existed.
    pub fn delete(&self, user: &str, key: &str) -> Result<bool, StoreError> {
        self.c.kv_delete(self.at, user, key)
    }

    /// Removes every key of the user.
    pub fn clear(&self, user: &str) -> Result<usize, StoreError> {
        self.c.kv_clear(self.at, user)
    }

    pub fn exists(&self, user: &str) -> Result<bool, StoreError> {
        self.c.kv_exists(self.at, user)
    }

    /// Every (key, value) of the user, sorted by key.
    pub fn all(&self, user: &str) -> Result<Vec<(String, V)>, StoreError> {
        self.c
            .kv_all(self.at, user)?
            .into_iter()
            .map(|(k, v)| decode(self.at.store, user, &k, v).map(|v| (k, v)))
            .collect()
    }

    /// The keys of the user, sorted, whatever their values.
    pub fn keys(&self, user: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.c.kv_all(self.at, user)?.into_iter().map(|(k, _)| k).collect())
    }

    /// Every (user, key, value) of the host, sorted by user then key.
    pub fn every(&self) -> Result<Vec<(String, String, V)>, StoreError> {
        self.c
            .store_rows(self.at)?
            .into_iter()
            .map(|(u, k, v)| decode(self.at.store, &u, &k, v).map(|v| (u, k, v)))
            .collect()
    }

    /// The users that have `key` (`get_all(key)`), sorted.
    pub fn users_with(&self, key: &str) -> Result<Vec<String>, StoreError> {
        self.c.users_with_key(self.at, key)
    }
}

/// An archive item.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub when: i64,
    pub with: String,
    pub value: Value,
}

/// An archive store (items of a PEP node, offline messages, ...).
pub struct Archive<'a> {
    c: Conn<'a>,
    host: &'a str,
    store: String,
}

impl<'a> Archive<'a> {
    pub(super) fn new(c: Conn<'a>, host: &'a str, store: String) -> Self {
        Archive { c, host, store }
    }

    fn at(&self) -> At<'_> {
        At { host: self.host, store: &self.store }
    }

    pub fn get(&self, user: &str, id: &str) -> Result<Option<Item>, StoreError> {
        Ok(self.c.archive_get(self.at(), user, id)?.map(|(when, with, value)| Item { when, with, value }))
    }

    /// Stores an item, replacing one with the same id.
    pub fn put(&self, user: &str, id: &str, item: &Item) -> Result<(), StoreError> {
        self.c.archive_put(self.at(), user, id, item.when, &item.with, &item.value)
    }

    pub fn delete(&self, user: &str, id: &str) -> Result<bool, StoreError> {
        self.c.archive_delete(self.at(), user, id)
    }

    /// Appends an item with a fresh id; returns its position (`sort_id`).
    pub fn append(&self, user: &str, id: &str, item: &Item) -> Result<i64, StoreError> {
        self.c.archive_append(self.at(), user, id, item.when, &item.with, &item.value)
    }

    /// Retention: deletes the oldest items beyond the `keep` newest and those older than
    /// `before`, at most `limit`; how many went.
    pub fn prune(&self, user: &str, keep: Option<i64>, before: Option<i64>, limit: i64) -> Result<usize, StoreError> {
        self.c.archive_prune(self.at(), user, keep, before, limit)
    }

    /// Up to `limit` items, newest first, those before position `before` if given:
    /// (position, id, item).
    pub fn newest(&self, user: &str, before: Option<i64>, limit: i64) -> Result<Vec<(i64, String, Item)>, StoreError> {
        Ok(self
            .c
            .archive_page(self.at(), user, before, limit)?
            .into_iter()
            .map(|(pos, id, when, with, value)| (pos, id, Item { when, with, value }))
            .collect())
    }
}
