//! Read caches that stay correct while Prosody (or another replica) writes the same data.
//!
//! Every entry is tagged with the store's generation ([`crate::Store::generation`]) read
//! *before* the data was loaded, and is only served while the generation is unchanged.
//! The generation moves after each of our own commits (so a client reads its own writes)
//! and when the storage engine's watch sees another connection or process (Prosody, a
//! CLI command, another replica) commit: SQLite's `data_version`, PostgreSQL's
//! notifications; and whenever the watch cannot tell. A loader that raced
//! with a write therefore stores an entry that is never served.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Beyond this many entries a cache starts over (bounds memory under churn).
const CAPACITY: usize = 16_384;

pub struct GenCache<K, V> {
    map: Mutex<HashMap<K, (u64, V)>>,
}

impl<K: Eq + Hash, V: Clone> GenCache<K, V> {
    pub fn new() -> Self {
        GenCache { map: Mutex::new(HashMap::new()) }
    }

    /// The value cached at generation `gen`, if any.
    pub fn get<Q>(&self, key: &Q, gen: u64) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let map = self.map.lock().ok()?;
        match map.get(key) {
            Some((g, v)) if *g == gen => Some(v.clone()),
            _ => None,
        }
    }

    /// Caches `value`, loaded after the generation was `gen`.
    pub fn insert(&self, key: K, gen: u64, value: V) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert(key, (gen, value));
        }
    }
}

impl<K: Eq + Hash, V: Clone> Default for GenCache<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::GenCache;

    #[test]
    fn entries_live_for_one_generation() {
        let c = GenCache::new();
        c.insert("k", 1, 10);
        assert_eq!(c.get(&"k", 1), Some(10));
        assert_eq!(c.get(&"k", 2), None);
        c.insert("k", 1, 11); // a loader that raced with a write
        assert_eq!(c.get(&"k", 2), None);
    }
}
