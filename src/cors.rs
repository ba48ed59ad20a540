//! OPTIONS and CORS. Browser pages of the configured origins may call the API (nothing
//! is allowed by default). The API authenticates with a bearer header, never cookies,
//! so no credentials mode is involved, and `*` is an allowed setting.
//!
//! - `OPTIONS` on a resource: 204 with `Allow` (its methods, HEAD with GET, OPTIONS).
//! - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) from an
//!   allowed origin: the same, plus the `Access-Control-Allow-*` headers. From another
//!   origin: 403 (a JSON error, without CORS headers, so the browser stops there).
//! - Other answers to an allowed origin carry `Access-Control-Allow-Origin` (added by
//!   [`crate::http`]).

use backend::contract::Route;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{
    HeaderMap, HeaderValue, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_METHOD, ALLOW, ORIGIN,
};
use hyper::{Response, StatusCode};

use crate::respond::{error, Body};

/// Response headers a page may read.
pub const EXPOSED: &str = "WWW-Authenticate, Retry-After, Allow, Link";
/// Request headers a page may send.
const ALLOWED_HEADERS: &str = "Authorization, Content-Type, X-Prosody-Host";
/// How long a browser may reuse a preflight answer, seconds.
const MAX_AGE: u32 = 600;

/// `Access-Control-Allow-Origin` for `origin`, if it is allowed.
pub fn allow(allowed: &[String], origin: &HeaderValue) -> Option<HeaderValue> {
    let o = origin.to_str().ok()?;
    if allowed.iter().any(|a| a == "*") {
        return Some(HeaderValue::from_static("*"));
    }
    allowed.iter().any(|a| a == o).then(|| origin.clone())
}

/// The methods of a resource as `Allow` lists them.
pub fn allow_header(route: &Route) -> String {
    let mut methods = route.methods.clone();
    if route.allows("GET") {
        methods.push("HEAD".into());
    }
    methods.push("OPTIONS".into());
    methods.join(", ")
}

/// The answer to `OPTIONS` on `route`.
pub fn options(route: &Route, headers: &HeaderMap, allowed: &[String]) -> Response<Body> {
    let origin = headers.get(ORIGIN);
    let preflight = origin.is_some() && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    if preflight && origin.and_then(|o| allow(allowed, o)).is_none() {
        return error(StatusCode::FORBIDDEN, "cross-origin requests from this origin are not allowed".into());
    }
    let mut r = Response::new(Full::new(Bytes::new()).boxed());
    *r.status_mut() = StatusCode::NO_CONTENT;
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&allow_header(route)) {
        h.insert(ALLOW, v.clone());
        if preflight {
            h.insert(ACCESS_CONTROL_ALLOW_METHODS, v);
        }
    }
    if preflight {
        h.insert(ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOWED_HEADERS));
        h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from(MAX_AGE));
    }
    r
}
