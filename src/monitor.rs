//! The monitoring listener (`metrics_listen`): `/metrics` (the service's OpenMetrics),
//! `/healthz`, `/readyz`, and nothing else, for a Prometheus or a load balancer kept off
//! the API's own port. Plain HTTP, no authentication: bind it to an address only
//! monitoring can reach.

use std::convert::Infallible;
use std::time::Duration;

use backend::Backend;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

type Body = BoxBody<Bytes, Infallible>;

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body)).boxed());
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn answer(backend: &Backend, req: &Request<hyper::body::Incoming>) -> Response<Body> {
    let json = "application/json";
    if req.method() != hyper::Method::GET {
        let body = serde_json::to_string(&backend::error::error_body(405, "GET only")).unwrap_or_default();
        return text(StatusCode::METHOD_NOT_ALLOWED, json, body);
    }
    match req.uri().path() {
        "/metrics" => text(StatusCode::OK, crate::respond::OPENMETRICS, backend.render_metrics()),
        "/healthz" => text(StatusCode::OK, json, r#"{"status":"ok"}"#.to_string()),
        "/readyz" => match backend.store().probe().await {
            Ok(()) => text(StatusCode::OK, json, r#"{"status":"ok"}"#.to_string()),
            Err(e) => {
                let body = backend::error::error_body(503, format!("database not readable: {e}"));
                text(StatusCode::SERVICE_UNAVAILABLE, json, serde_json::to_string(&body).unwrap_or_default())
            }
        },
        p => {
            let body = backend::error::error_body(404, format!("no such resource: {p}"));
            text(StatusCode::NOT_FOUND, json, serde_json::to_string(&body).unwrap_or_default())
        }
    }
}

/// Serves the monitoring listener until the process ends.
pub async fn serve(listener: TcpListener, backend: Backend) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(10));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let backend = backend.clone();
        let svc = hyper::service::service_fn(move |req| {
            let backend = backend.clone();
            async move { Ok::<_, Infallible>(answer(&backend, &req).await) }
        });
        let conn = builder.serve_connection(TokioIo::new(stream), svc);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                log::debug!("monitoring connection: {e}");
            }
        });
    }
}
