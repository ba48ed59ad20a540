//! Whole-response cache for the operations the spec marks `x-prosody-admin-cacheable`
//! (a GET whose answer depends only on the stored data). Entries are tagged with the
//! store's generation read before the request ran, so any commit, ours or another
//! process's (seen by the storage engine's watch), retires them; see `backend::cache`.
//! Only 200 responses are kept, under a byte budget.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use hyper::header::HeaderValue;

/// Largest body kept (a listing of 100 000 users is about 15 MB with the later
/// module's fields; a listing that is not kept is rebuilt on every request).
const MAX_ENTRY: usize = 32 << 20;
/// Bytes of bodies kept in all.
const BUDGET: usize = 40 << 20;

#[derive(Clone)]
pub struct Cached {
    pub content_type: Option<HeaderValue>,
    /// A listing page's `Link: rel="next"`.
    pub link: Option<HeaderValue>,
    pub body: Bytes,
    /// The last Unix second the answer holds (None: until the next commit); a list of
    /// invites is stale once its first invite expires.
    pub valid_until: Option<i64>,
}

/// Misses of the same key wait for one another (by stripe), so that N concurrent
/// requests for a large listing build it once, not N times over (CPU and memory).
const STRIPES: usize = 64;

pub struct ResponseCache {
    inner: Mutex<Inner>,
    building: [tokio::sync::Mutex<()>; STRIPES],
}

impl Default for ResponseCache {
    fn default() -> Self {
        ResponseCache { inner: Mutex::default(), building: std::array::from_fn(|_| tokio::sync::Mutex::new(())) }
    }
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, (u64, Cached)>,
    bytes: usize,
}

impl ResponseCache {
    /// The answer for `key` stored at generation `gen` and still valid at `now`.
    pub fn get(&self, key: &str, gen: u64, now: i64) -> Option<Cached> {
        let mut inner = self.inner.lock().ok()?;
        match inner.entries.get(key) {
            Some((g, c)) if *g == gen && c.valid_until.is_none_or(|u| now <= u) => Some(c.clone()),
            // Generations only grow: an older entry can never be served again. Drop it
            // now, before its successor is built (a large listing would otherwise be
            // held twice at the peak).
            Some((g, _)) if *g < gen => {
                if let Some((_, old)) = inner.entries.remove(key) {
                    inner.bytes -= old.body.len();
                }
                None
            }
            _ => None,
        }
    }

    /// Held while a miss for `path` is computed; the holder's successors then find the
    /// answer in the cache.
    pub async fn building(&self, path: &str) -> tokio::sync::MutexGuard<'_, ()> {
        // FNV-1a: every request must pick the same stripe for a path.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in path.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.building[(h % STRIPES as u64) as usize].lock().await
    }

    pub fn insert(&self, path: &str, gen: u64, c: Cached) {
        if c.body.len() > MAX_ENTRY {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else { return };
        // Entries of older generations are dead weight: drop them all when over budget.
        if inner.bytes + c.body.len() > BUDGET {
            inner.entries.retain(|_, (g, _)| *g == gen);
            inner.bytes = inner.entries.values().map(|(_, c)| c.body.len()).sum();
            if inner.bytes + c.body.len() > BUDGET {
                inner.entries.clear();
                inner.bytes = 0;
            }
        }
        inner.bytes += c.body.len();
        if let Some((_, old)) = inner.entries.insert(path.to_string(), (gen, c)) {
            inner.bytes -= old.body.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_and_budget() {
        let c = ResponseCache::default();
        let e =
            |n: usize| Cached { content_type: None, link: None, body: Bytes::from(vec![0u8; n]), valid_until: None };
        c.insert("/a", 1, e(10));
        assert!(c.get("/a", 1, 0).is_some());
        assert!(c.get("/a", 2, 0).is_none());
        assert!(c.get("/a", 1, 0).is_none(), "a stale entry is dropped when seen");
        assert_eq!(c.inner.lock().unwrap().bytes, 0);
        c.insert("/big", 1, e(MAX_ENTRY + 1));
        assert!(c.get("/big", 1, 0).is_none());
        c.insert("/t", 1, Cached { valid_until: Some(100), ..e(1) });
        assert!(c.get("/t", 1, 100).is_some(), "valid through its last second");
        assert!(c.get("/t", 1, 101).is_none(), "stale after it");
        for i in 0..4 {
            c.insert(&format!("/m{i}"), 2, e(MAX_ENTRY / 2));
        }
        let inner = c.inner.lock().unwrap();
        assert!(inner.bytes <= BUDGET);
        assert_eq!(inner.bytes, inner.entries.values().map(|(_, c)| c.body.len()).sum::<usize>());
    }
}
