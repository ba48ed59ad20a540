//! One base URL for clients that take one Prosody endpoint: with `prosody_http` set,
//! every request outside `/admin_api` is forwarded to Prosody's own HTTP server (the
//! Snikket portal and Prose's API call `/oauth2`, `/rest`, `/register_api`, `/upload`
//! there), so that prosody-admin is a drop-in at the URL they are given.
//!
//! Why here and not a proxy in the compose files: one process and one port to run and
//! secure, the same limits as our own requests, and the same answer on a plain Debian
//! Prosody as in a container. The request goes as it came (method, path and query,
//! headers, body streamed) but for the hop-by-hop headers, which are the connection's
//! own (RFC 9110 7.6.1); `Host` is kept (Prosody picks its VirtualHost by it);
//! `X-Forwarded-For` gains the client and `X-Forwarded-Proto` says the scheme, which
//! Prosody reads from a proxy in its `trusted_proxies` (127.0.0.1 by default). The
//! answer comes back as Prosody gave it (status, headers, body streamed). Bounds: the
//! body as ours (`max_body_bytes`, 413), the connection and Prosody's answer head within
//! [`HEAD_TIMEOUT`] (504), a Prosody that cannot be reached: 502; both JSON errors.

use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH};
use hyper::{Request, Response, StatusCode};

use crate::respond::{error, too_large, Body};

/// The longest wait for Prosody's answer to begin (its long-polling BOSH waits up to a
/// minute by default).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(90);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Prosody's HTTP server, as `prosody_http` names it.
#[derive(Debug, Clone)]
pub struct Forward {
    /// `host:port`.
    authority: String,
}

impl Forward {
    /// `http://host[:port]` (a trailing `/` allowed; no path: the paths are the client's).
    pub fn parse(url: &str) -> anyhow::Result<Forward> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| anyhow::anyhow!("prosody_http {url:?}: an http:// URL of Prosody's HTTP server"))?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
            anyhow::bail!("prosody_http {url:?}: http://host:port, without a path");
        }
        let authority =
            if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) && !authority.ends_with(']') {
                authority.to_string()
            } else {
                format!("{authority}:80")
            };
        Ok(Forward { authority })
    }

    /// Forwards `req` from `client` (`tls`: it came over HTTPS) and answers as Prosody did.
    pub async fn forward(&self, req: Request<Incoming>, client: IpAddr, tls: bool, max_body: usize) -> Response<Body> {
        let (mut parts, body) = req.into_parts();
        let declared = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max_body as u64) {
            return too_large(max_body);
        }
        strip_hop_by_hop(&mut parts.headers);
        let forwarded_for = match parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
            Some(before) => format!("{before}, {client}"),
            None => client.to_string(),
        };
        if let Ok(v) = HeaderValue::from_str(&forwarded_for) {
            parts.headers.insert(HeaderName::from_static("x-forwarded-for"), v);
        }
        parts.headers.insert(
            HeaderName::from_static("x-forwarded-proto"),
            HeaderValue::from_static(if tls { "https" } else { "http" }),
        );
        if !parts.headers.contains_key(hyper::header::HOST) {
            if let Ok(v) = HeaderValue::from_str(&self.authority) {
                parts.headers.insert(hyper::header::HOST, v);
            }
        }
        // Only the path and query go: the authority is Prosody's.
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        parts.uri = match path.parse() {
            Ok(u) => u,
            Err(_) => return error(StatusCode::BAD_REQUEST, "invalid request target".into()),
        };
        parts.version = hyper::Version::HTTP_11;
        let upstream = Request::from_parts(parts, Limited::new(body, max_body));
        let answer = async {
            let stream = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(&self.authority))
                .await
                .map_err(|_| format!("no connection within {CONNECT_TIMEOUT:?}"))?
                .map_err(|e| e.to_string())?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            sender.send_request(upstream).await.map_err(|e| {
                // The client's body was over the limit while it streamed.
                if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>()) {
                    "too large".to_string()
                } else {
                    e.to_string()
                }
            })
        };
        let resp = match tokio::time::timeout(HEAD_TIMEOUT, answer).await {
            Err(_) => {
                return error(
                    StatusCode::GATEWAY_TIMEOUT,
                    format!("Prosody's HTTP ({}) did not answer within {HEAD_TIMEOUT:?}", self.authority),
                )
            }
            Ok(Err(e)) if e == "too large" => return too_large(max_body),
            Ok(Err(e)) => {
                log::warn!("forward to {}: {e}", self.authority);
                return error(
                    StatusCode::BAD_GATEWAY,
                    format!("Prosody's HTTP ({}) cannot be reached: {e}", self.authority),
                );
            }
            Ok(Ok(r)) => r,
        };
        let (mut parts, body) = resp.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        Response::from_parts(parts, EndOnError(body).boxed())
    }
}

/// The headers of one connection, not of the message (RFC 9110 7.6.1): `Connection` and
/// those it names, and the fixed list.
fn strip_hop_by_hop(h: &mut HeaderMap) {
    let named: Vec<HeaderName> = h
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named {
        h.remove(n);
    }
    for n in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ] {
        h.remove(n);
    }
}

/// Prosody's body, streamed; a failure part-way ends it (the connection then closes
/// short of its length: the client sees a cut answer, as from Prosody itself).
struct EndOnError(Incoming);

impl hyper::body::Body for EndOnError {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match Pin::new(&mut self.0).poll_frame(cx) {
            Poll::Ready(Some(Ok(f))) => Poll::Ready(Some(Ok(f))),
            Poll::Ready(Some(Err(e))) => {
                log::warn!("forward: Prosody's body failed: {e}");
                Poll::Ready(None)
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.0.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_hop_by_hop_headers() {
        assert_eq!(Forward::parse("http://127.0.0.1:5280/").unwrap().authority, "127.0.0.1:5280");
        assert_eq!(Forward::parse("http://prosody").unwrap().authority, "prosody:80");
        assert_eq!(Forward::parse("http://[::1]:5280").unwrap().authority, "[::1]:5280");
        for bad in ["https://x", "http://x/path", "http://", "ftp://x"] {
            assert!(Forward::parse(bad).is_err(), "{bad}");
        }
        let mut h = HeaderMap::new();
        h.insert(CONNECTION, HeaderValue::from_static("keep-alive, X-Secret"));
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("authorization", HeaderValue::from_static("Bearer t"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h.contains_key("authorization"));
    }
}
