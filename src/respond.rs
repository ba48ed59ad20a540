//! Responses the HTTP layer writes itself (not the generated router): JSON error
//! bodies, cached answers, early refusals that close the connection, and the JSON
//! error body for what the generated code answers in plain text or not at all. Used by
//! [`crate::http`] and [`crate::cors`]; imports neither.

use std::convert::Infallible;

use backend::error::error_body;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, LINK};
use hyper::{Response, StatusCode};

use crate::response_cache::Cached;

pub type Body = BoxBody<Bytes, Infallible>;

/// The media type of `GET /service/metrics` (the generator writes it without the
/// version Prometheus negotiates on).
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The answer for a domain failure outside the generated trait.
pub fn failure(f: backend::Failure) -> Response<Body> {
    match f {
        backend::Failure::BadRequest(t) => error(StatusCode::BAD_REQUEST, t),
        other => {
            log::error!("listing: {other}");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error".to_string())
        }
    }
}

/// `application/json`, with or without parameters (`; charset=utf-8`).
pub fn is_json(v: Option<&HeaderValue>) -> bool {
    v.and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// An early answer that leaves the body unread: the connection cannot carry another
/// request after it.
pub fn closing(mut r: Response<Body>) -> Response<Body> {
    r.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    r
}

pub fn cached(hit: Cached) -> Response<Body> {
    let mut r = Response::new(Full::new(hit.body).boxed());
    if let Some(ct) = hit.content_type {
        r.headers_mut().insert(CONTENT_TYPE, ct);
    }
    if let Some(link) = hit.link {
        r.headers_mut().insert(LINK, link);
    }
    r
}

pub fn too_large(max: usize) -> Response<Body> {
    error(StatusCode::PAYLOAD_TOO_LARGE, format!("request body larger than {max} bytes"))
}

/// A JSON error response.
pub fn error(status: StatusCode, text: String) -> Response<Body> {
    let body = serde_json::to_vec(&error_body(status.as_u16(), text)).unwrap_or_default();
    let mut r = Response::new(Full::new(Bytes::from(body)).boxed());
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// The generated router answers some errors itself, in plain text (400 for a body or
/// parameter that does not match the schema) or with no body (500): give them the JSON
/// error body every other error has.
pub async fn json_errors(resp: Response<Body>) -> Response<Body> {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.as_u16() < 400 || is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = match body.collect().await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
        Err(never) => match never {},
    };
    let text = if text.trim().is_empty() {
        match status {
            StatusCode::NOT_FOUND => "no such resource".to_string(),
            StatusCode::METHOD_NOT_ALLOWED => "method not allowed on this resource".to_string(),
            _ => status.canonical_reason().unwrap_or("error").to_string(),
        }
    } else {
        text
    };
    if status.is_server_error() {
        log::error!("{status}: {text}");
    }
    let mut r = error(status, text);
    for (k, v) in parts.headers.iter() {
        if k != CONTENT_TYPE && k != CONTENT_LENGTH {
            r.headers_mut().insert(k.clone(), v.clone());
        }
    }
    r
}
