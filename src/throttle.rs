//! Throttling of failed authentications, per client address.
//!
//! `limit` failures (401 for a presented credential; 403 for a token that may not
//! administer, whose refusals are audited) from one address within `window`
//! put the address on hold until the window ends: its requests with a credential are
//! answered 429 with `Retry-After` *without checking the credential*, so that guessing stops costing us work and stops yielding
//! answers. Tokens that authenticated recently (from anywhere) are exempt and checked as
//! usual, so an admin whose address is shared with a misbehaving client (or who
//! mistyped a token) keeps working. IPv6 addresses count per /64, the block one host
//! usually has.
//!
//! Memory is bounded: at most [`MAX_ADDRESSES`] addresses and [`MAX_KNOWN`] recent
//! good tokens (as SHA-256 digests, never the tokens); when full, expired entries go
//! first, then the oldest.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

pub const MAX_ADDRESSES: usize = 4096;
pub const MAX_KNOWN: usize = 1024;
/// How long a token that authenticated stays exempt.
const KNOWN_FOR: Duration = Duration::from_secs(3600);

/// How stale a good token's time may get before it is written again (keeps the hot
/// path of valid requests on a shared read lock).
const REFRESH: Duration = Duration::from_secs(60);

pub struct Throttle {
    limit: u32,
    window: Duration,
    /// Whether any failure is counted: while none is, valid requests take no lock here.
    any_failures: AtomicBool,
    failures: Mutex<HashMap<IpAddr, Failures>>,
    known: RwLock<HashMap<[u8; 32], Instant>>,
}

struct Failures {
    since: Instant,
    count: u32,
}

/// The address a client is counted under.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// What is kept of a token: its digest.
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Makes room for one more entry in `map`: drops entries older than `ttl` (by the time
/// `since` reads off each value), then the oldest.
fn make_room<K: Copy + Eq + std::hash::Hash, V>(
    map: &mut HashMap<K, V>,
    cap: usize,
    now: Instant,
    ttl: Duration,
    since: impl Fn(&V) -> Instant,
) {
    if map.len() < cap {
        return;
    }
    map.retain(|_, v| now.duration_since(since(v)) < ttl);
    if map.len() >= cap {
        if let Some(oldest) = map.iter().min_by_key(|(_, v)| since(v)).map(|(k, _)| *k) {
            map.remove(&oldest);
        }
    }
}

impl Throttle {
    pub fn new(limit: u32, window: Duration) -> Throttle {
        Throttle {
            limit,
            window,
            any_failures: AtomicBool::new(false),
            failures: Mutex::new(HashMap::new()),
            known: RwLock::new(HashMap::new()),
        }
    }

    /// How long `ip` must wait, if it is on hold and `token` is not a recently good one.
    pub fn hold(&self, ip: IpAddr, token: Option<&[u8; 32]>, now: Instant) -> Option<Duration> {
        if !self.any_failures.load(Ordering::Acquire) {
            return None;
        }
        let elapsed = {
            let failures = self.failures.lock().ok()?;
            let f = failures.get(&key(ip))?;
            let elapsed = now.duration_since(f.since);
            if f.count < self.limit || elapsed >= self.window {
                return None;
            }
            elapsed
        };
        let known = self.known.read().ok()?;
        if token.and_then(|t| known.get(t)).is_some_and(|t| now.duration_since(*t) < KNOWN_FOR) {
            return None;
        }
        Some(self.window - elapsed)
    }

    /// A failed authentication from `ip`.
    pub fn failed(&self, ip: IpAddr, now: Instant) {
        let Ok(mut failures) = self.failures.lock() else { return };
        self.any_failures.store(true, Ordering::Release);
        let k = key(ip);
        if let Some(f) = failures.get_mut(&k) {
            if now.duration_since(f.since) >= self.window {
                *f = Failures { since: now, count: 0 };
            }
            f.count = f.count.saturating_add(1);
            return;
        }
        make_room(&mut failures, MAX_ADDRESSES, now, self.window, |f| f.since);
        failures.insert(k, Failures { since: now, count: 1 });
    }

    /// A token that authenticated.
    pub fn succeeded(&self, token: [u8; 32], now: Instant) {
        let fresh =
            |known: &HashMap<[u8; 32], Instant>| known.get(&token).is_some_and(|t| now.duration_since(*t) < REFRESH);
        if self.known.read().is_ok_and(|k| fresh(&k)) {
            return;
        }
        let Ok(mut known) = self.known.write() else { return };
        if !known.contains_key(&token) {
            make_room(&mut known, MAX_KNOWN, now, KNOWN_FOR, |t| *t);
        }
        known.insert(token, now);
    }

    #[cfg(test)]
    fn sizes(&self) -> (usize, usize) {
        (self.failures.lock().unwrap().len(), self.known.read().unwrap().len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_after_limit_until_window_ends() {
        let t = Throttle::new(3, Duration::from_secs(60));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let now = Instant::now();
        for _ in 0..2 {
            t.failed(ip, now);
        }
        assert_eq!(t.hold(ip, None, now), None);
        t.failed(ip, now);
        assert_eq!(t.hold(ip, None, now + Duration::from_secs(20)), Some(Duration::from_secs(40)));
        assert_eq!(t.hold("192.0.2.2".parse().unwrap(), None, now), None, "other addresses unaffected");
        let good = digest("good");
        t.succeeded(good, now);
        assert_eq!(t.hold(ip, Some(&good), now), None, "a recently good token is exempt");
        assert!(t.hold(ip, Some(&digest("other")), now).is_some());
        assert_eq!(t.hold(ip, None, now + Duration::from_secs(60)), None, "window over");
        // a new window starts counting afresh
        t.failed(ip, now + Duration::from_secs(61));
        assert_eq!(t.hold(ip, None, now + Duration::from_secs(61)), None);
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_v4_as_v4() {
        let t = Throttle::new(2, Duration::from_secs(60));
        let now = Instant::now();
        t.failed("2001:db8:1:2::1".parse().unwrap(), now);
        t.failed("2001:db8:1:2::ffff".parse().unwrap(), now);
        assert!(t.hold("2001:db8:1:2:abcd::9".parse().unwrap(), None, now).is_some());
        assert!(t.hold("2001:db8:1:3::1".parse().unwrap(), None, now).is_none());
        t.failed("::ffff:192.0.2.7".parse().unwrap(), now);
        t.failed("192.0.2.7".parse().unwrap(), now);
        assert!(t.hold("192.0.2.7".parse().unwrap(), None, now).is_some());
    }

    #[test]
    fn memory_is_bounded() {
        let t = Throttle::new(2, Duration::from_secs(60));
        let now = Instant::now();
        for i in 0..(MAX_ADDRESSES as u32 + 500) {
            t.failed(IpAddr::V4(i.into()), now + Duration::from_millis(u64::from(i)));
            t.succeeded(digest(&i.to_string()), now);
        }
        let (a, k) = t.sizes();
        assert!(a <= MAX_ADDRESSES && k <= MAX_KNOWN, "{a} {k}");
    }
}
