//! Reads Prosody 13's OpenMetrics endpoint (mod_http_openmetrics) for the process
//! figures of GET /server/metrics: a plain HTTP GET (loopback or a trusted network;
//! no TLS), the text exposition format parsed line by line.

use std::collections::HashMap;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;

/// The largest exposition read (Prosody's is a few tens of kilobytes).
const MAX_BODY: usize = 4 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(3);

/// Sample values by metric name (labels summed over), from an exposition text; a
/// declared gauge with no samples is 0.
pub fn parse(text: &str) -> HashMap<String, f64> {
    let mut out: HashMap<String, f64> = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        // A declared gauge without samples (e.g. no c2s connection right now) is 0.
        if let Some(decl) = line.strip_prefix("# TYPE ") {
            if let Some((name, "gauge")) = decl.trim().split_once(' ') {
                out.entry(name.to_string()).or_insert(0.0);
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // name{labels} value [timestamp]; label values may hold spaces, `}` and escaped
        // quotes: split after the `}` that closes the label set.
        let (name, rest) = match line.find('{') {
            Some(i) => match labels_end(&line[i..]) {
                Some(j) => (&line[..i], &line[i + j + 1..]),
                None => continue,
            },
            None => match line.split_once(' ') {
                Some((n, r)) => (n, r),
                None => continue,
            },
        };
        let Some(value) = rest.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()) else { continue };
        if value.is_finite() {
            *out.entry(name.to_string()).or_insert(0.0) += value;
        }
    }
    out
}

/// The offset of the `}` that closes a label set starting at `s[0]` (`{`): outside the
/// quoted values, whose `\\`, `\"` and `\n` escapes are skipped.
fn labels_end(s: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match (quoted, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (_, false, '"') => quoted = !quoted,
            (false, _, '}') => return Some(i),
            _ => {}
        }
    }
    None
}

/// Fetches `url` (`http://host:port/path`) and parses it.
pub async fn fetch(url: &str) -> Result<HashMap<String, f64>, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| format!("{url}: only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if authority.contains(':') { authority.to_string() } else { format!("{authority}:80") };
    let work = async {
        let stream = tokio::net::TcpStream::connect(&addr).await.map_err(|e| format!("{addr}: {e}"))?;
        let io = hyper_util::rt::TokioIo::new(stream);
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(io).await.map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let req = hyper::Request::get(path)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::ACCEPT, "text/plain")
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("{url}: HTTP {}", resp.status()));
        }
        let body = Limited::new(resp.into_body(), MAX_BODY).collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok(parse(&String::from_utf8_lossy(&body)))
    };
    tokio::time::timeout(TIMEOUT, work).await.map_err(|_| format!("{url}: no answer within {TIMEOUT:?}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_may_hold_braces_and_escaped_quotes() {
        let m = parse(
            "a_total{path=\"/x}y\",q=\"say \\\"hi}\\\"\"} 3\n\
             a_total{path=\"back\\\\slash\"} 4 1700000000\n\
             b{l=\"}\"} 5\n\
             broken{l=\"unterminated} 9\n",
        );
        assert_eq!(m.get("a_total"), Some(&7.0));
        assert_eq!(m.get("b"), Some(&5.0));
        assert_eq!(m.get("broken"), None, "a label set never closed is no sample");
    }

    #[test]
    fn parses_prosodys_exposition() {
        let text = "# TYPE prosody_mod_c2s__connections gauge\n\
            prosody_mod_c2s__connections{host=\"localhost\",type=\"c2s\",ip_family=\"ipv4\"} 2\n\
            prosody_mod_c2s__connections{host=\"localhost\",type=\"c2s_unauthed\",ip_family=\"ipv6\"} 1\n\
            process_resident_memory_bytes 12345678\n\
            process_cpu_seconds_total 1.5\n\
            weird{a=\"x y}\"} NaN\n\
            # TYPE prosody_mod_http_file_share__total_storage_bytes gauge\n\
            # TYPE process_cpu_seconds counter\n";
        let m = super::parse(text);
        assert_eq!(m["prosody_mod_c2s__connections"], 3.0);
        assert_eq!(m["process_resident_memory_bytes"], 12345678.0);
        assert_eq!(m["process_cpu_seconds_total"], 1.5);
        assert!(!m.contains_key("weird"));
        assert_eq!(m["prosody_mod_http_file_share__total_storage_bytes"], 0.0, "declared gauge, no samples");
        assert!(!m.contains_key("process_cpu_seconds"), "counters are not assumed 0");
    }
}
