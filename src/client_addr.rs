//! The client's address, behind reverse proxies the operator trusts.
//!
//! Throttling, the audit log and the request log key on the client's address. Behind a
//! proxy (nginx, Caddy terminating TLS) the peer is the proxy: every client would share
//! one address, and one attacker's failures would lock out every admin. When, and only
//! when, the peer is a trusted proxy (`trusted_proxies`: addresses or CIDRs; none by
//! default), the client is read from `Forwarded` (RFC 7239), else `X-Forwarded-For`:
//! the right-most address that is not itself a trusted proxy (the hops to its right
//! were added by proxies we trust; anything to its left, the client may have forged).
//! A header that cannot be read, or a hop that is not an address (`unknown`, an
//! obfuscated identifier), leaves the nearest trusted proxy's address.

use std::net::IpAddr;

use hyper::header::{HeaderMap, FORWARDED};
use ipnet::IpNet;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl std::fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let all: Vec<String> = self.0.iter().map(|n| n.to_string()).collect();
        f.write_str(&all.join(", "))
    }
}

impl TrustedProxies {
    /// Addresses (`192.0.2.1`, `::1`) and networks (`10.0.0.0/8`, `fd00::/8`).
    pub fn parse(list: &[String]) -> anyhow::Result<TrustedProxies> {
        list.iter()
            .map(|s| {
                let s = s.trim();
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| anyhow::anyhow!("{s:?} is not an address or a network (CIDR)"))
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request that came from `peer`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops = match forwarded(headers) {
            Some(h) => h,
            None => match x_forwarded_for(headers) {
                Some(h) => h,
                None => return peer,
            },
        };
        // From the right: skip our proxies; the first other hop is the client.
        let mut nearest = peer;
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) if self.trusts(*ip) => nearest = *ip,
                Some(ip) => return *ip,
                None => return nearest,
            }
        }
        // Every hop was one of ours: the left-most is as far as anyone can tell.
        nearest
    }
}

impl TrustedProxies {
    /// The `Host` a trusted proxy says the client asked for: the right-most `host=` of
    /// `Forwarded` (RFC 7239), else the right-most `X-Forwarded-Host` value (the one the
    /// proxy talking to us set). None from a peer that is not a trusted proxy.
    pub fn forwarded_host<'h>(&self, peer: IpAddr, headers: &'h HeaderMap) -> Option<&'h str> {
        if !self.trusts(peer) {
            return None;
        }
        let from_forwarded = values(headers, FORWARDED)?
            .into_iter()
            .flat_map(|v| v.split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    k.trim().eq_ignore_ascii_case("host").then(|| v.trim().trim_matches('"'))
                })
            })
            .next_back();
        from_forwarded.or_else(|| {
            values(headers, X_FORWARDED_HOST)?.into_iter().flat_map(|v| v.split(',')).map(str::trim).next_back()
        })
    }
}

const X_FORWARDED_HOST: &str = "x-forwarded-host";

/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`) as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Every value of a header, in order, as text (None when one is not text).
fn values(headers: &HeaderMap, name: impl hyper::header::AsHeaderName) -> Option<Vec<&str>> {
    headers.get_all(name).iter().map(|v| v.to_str().ok()).collect()
}

/// The `for=` hops of every `Forwarded` element, in order; None when there is no such
/// header, or it cannot be read.
fn forwarded(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let all = values(headers, FORWARDED)?;
    if all.is_empty() {
        return None;
    }
    let mut hops = Vec::new();
    for element in all.iter().flat_map(|v| v.split(',')) {
        let mut hop = None;
        for pair in element.split(';') {
            let (k, v) = pair.split_once('=')?;
            if k.trim().eq_ignore_ascii_case("for") {
                hop = Some(node(v.trim().trim_matches('"')));
            }
        }
        // An element without `for` says nothing of the client: skip it.
        if let Some(h) = hop {
            hops.push(h);
        }
    }
    (!hops.is_empty()).then_some(hops)
}

/// The hops of `X-Forwarded-For`, in order.
fn x_forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let all = values(headers, X_FORWARDED_FOR)?;
    let hops: Vec<Option<IpAddr>> = all.iter().flat_map(|v| v.split(',')).map(|h| node(h.trim())).collect();
    (!hops.is_empty()).then_some(hops)
}

/// A node as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`,
/// `[2001:db8::1]:4711`, `2001:db8::1`; None for `unknown` and obfuscated names.
fn node(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split_once(']').and_then(|(a, _)| a.parse::<IpAddr>().ok()).map(canonical);
    }
    s.rsplit_once(':').and_then(|(a, port)| port.parse::<u16>().ok().and(a.parse::<IpAddr>().ok())).map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_right_most_untrusted_hop() {
        let t = TrustedProxies::parse(&["127.0.0.1".into(), "10.0.0.0/8".into()]).unwrap();
        let local = ip("127.0.0.1");
        let h = headers(&[("x-forwarded-for", "198.51.100.9, 203.0.113.7, 10.1.2.3")]);
        assert_eq!(t.client(local, &h), ip("203.0.113.7"), "the forged left part is ignored");
        assert_eq!(t.client(ip("192.0.2.50"), &h), ip("192.0.2.50"), "an untrusted peer: its own address");
        let h = headers(&[
            ("forwarded", "for=192.0.2.60;proto=http, for=\"[2001:db8::7]:4711\""),
            ("x-forwarded-for", "1.1.1.1"),
        ]);
        assert_eq!(t.client(local, &h), ip("2001:db8::7"), "Forwarded first");
        let h = headers(&[("forwarded", "for=192.0.2.60"), ("forwarded", "for=10.0.0.5")]);
        assert_eq!(t.client(local, &h), ip("192.0.2.60"), "several headers, in order");
        let h = headers(&[("x-forwarded-for", "10.0.0.9, 10.0.0.8")]);
        assert_eq!(t.client(local, &h), ip("10.0.0.9"), "all ours: the left-most");
        let h = headers(&[("forwarded", "for=unknown, for=10.0.0.8")]);
        assert_eq!(t.client(local, &h), ip("10.0.0.8"), "an unknown hop: the nearest proxy");
        let h = headers(&[("x-forwarded-for", "203.0.113.7:5555")]);
        assert_eq!(t.client(local, &h), ip("203.0.113.7"));
        assert_eq!(t.client(local, &HeaderMap::new()), local, "no header: the peer");
        let h = headers(&[("x-forwarded-for", "::ffff:203.0.113.7")]);
        assert_eq!(t.client(ip("::ffff:127.0.0.1"), &h), ip("203.0.113.7"), "mapped addresses");
        assert!(TrustedProxies::parse(&["not-an-ip".into()]).is_err());
        assert!(TrustedProxies::parse(&[]).unwrap().is_empty());
    }
}
