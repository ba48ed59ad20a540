//! The HTTP layer in front of the generated router: authentication (401/403), body
//! limits (413), JSON error bodies for everything the generated code answers in plain
//! text or not at all (400/404/405/500), one log line per request, and the accept loop
//! with graceful shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backend::auth::Denied;
use backend::error::error_body;
use backend::Backend;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::service::Service as _;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use swagger::auth::{Authorization, Scopes};
use swagger::{Has, XSpanIdString};
use tokio::net::TcpListener;

type Body = BoxBody<Bytes, Infallible>;
type Generated = prosody_admin_api::server::Service<Backend, Ctx>;

/// Every route of the API lives under this prefix.
pub const BASE_PATH: &str = prosody_admin_api::BASE_PATH;

/// The per-request context the generated router wants: a span id and the caller.
#[derive(Debug, Clone)]
pub struct Ctx {
    span: XSpanIdString,
    auth: Option<Authorization>,
}

impl Has<XSpanIdString> for Ctx {
    fn get(&self) -> &XSpanIdString {
        &self.span
    }
    fn get_mut(&mut self) -> &mut XSpanIdString {
        &mut self.span
    }
    fn set(&mut self, v: XSpanIdString) {
        self.span = v;
    }
}

impl Has<Option<Authorization>> for Ctx {
    fn get(&self) -> &Option<Authorization> {
        &self.auth
    }
    fn get_mut(&mut self) -> &mut Option<Authorization> {
        &mut self.auth
    }
    fn set(&mut self, v: Option<Authorization>) {
        self.auth = v;
    }
}

/// The whole service; cheap to clone (one per connection).
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    api: Generated,
    responses: crate::response_cache::ResponseCache,
    max_body: usize,
    realm: HeaderValue,
    next_id: AtomicU64,
}

impl App {
    pub fn new(backend: Backend, max_body: usize) -> App {
        let realm = format!("Bearer realm=\"{}/admin_api\"", backend.settings().host);
        let realm = HeaderValue::from_str(&realm).unwrap_or(HeaderValue::from_static("Bearer"));
        let api = prosody_admin_api::server::Service::new(backend.clone(), false);
        App {
            inner: Arc::new(Inner {
                backend,
                api,
                responses: Default::default(),
                max_body,
                realm,
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// Handles one request; never fails (every error is a JSON response).
    pub async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        if !log::log_enabled!(log::Level::Info) {
            return self.route(req).await;
        }
        let start = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let resp = self.route(req).await;
        // Paths carry usernames and ids, never token secrets.
        log::info!("{method} {path} {} {:.3}ms", resp.status().as_u16(), start.elapsed().as_secs_f64() * 1e3);
        resp
    }

    async fn route(&self, req: Request<Incoming>) -> Response<Body> {
        self.try_route(req).await.unwrap_or_else(|refusal| refusal)
    }

    /// The caller, or the 401/403/500 response that refuses the request.
    async fn authenticate(&self, req: &Request<Incoming>) -> Result<backend::auth::Caller, Response<Body>> {
        let header = req.headers().get(AUTHORIZATION).and_then(|h| h.to_str().ok());
        match self.inner.backend.authenticate(header).await {
            Ok(c) => Ok(c),
            Err(Denied::Unauthorized(t)) => {
                let mut r = error(StatusCode::UNAUTHORIZED, t);
                r.headers_mut().insert(WWW_AUTHENTICATE, self.inner.realm.clone());
                Err(r)
            }
            Err(Denied::Forbidden(t)) => Err(error(StatusCode::FORBIDDEN, t)),
            Err(Denied::Internal(f)) => {
                log::error!("authentication failed: {f}");
                Err(error(StatusCode::INTERNAL_SERVER_ERROR, "internal error".to_string()))
            }
        }
    }

    /// Routes a request; an early refusal is the `Err` response.
    async fn try_route(&self, req: Request<Incoming>) -> Result<Response<Body>, Response<Body>> {
        let path = req.uri().path();
        // Route by the spec (concrete paths before templated ones, as OpenAPI says; the
        // generated router would send GET /invites/account to getInviteById): unknown
        // resource 404, method the resource does not have 405 with `Allow`.
        let Some(route) = backend::contract::route(BASE_PATH, path) else {
            return Err(error(StatusCode::NOT_FOUND, format!("no such resource: {path}")));
        };
        if !route.allows(req.method().as_str()) {
            let mut r = error(StatusCode::METHOD_NOT_ALLOWED, format!("{} not allowed on {path}", req.method()));
            if let Ok(v) = HeaderValue::from_str(&route.methods.join(", ")) {
                r.headers_mut().insert(hyper::header::ALLOW, v);
            }
            return Err(r);
        }
        // Operations the spec declares with `security: []` (the contract itself) are open.
        let caller = if route.public(req.method().as_str()) { None } else { Some(self.authenticate(&req).await?) };

        // Read before the request runs: a commit after this retires what we store.
        let mut generation = self.inner.backend.store().generation();
        let cache_key = route.cacheable(req.method().as_str()).then(|| path.to_string());
        let mut _building = None;
        if let Some(key) = cache_key.as_deref() {
            if let Some(hit) = self.inner.responses.get(key, generation) {
                return Ok(cached(hit));
            }
            // One miss per key at a time; the others then find its answer.
            _building = Some(self.inner.responses.building(key).await);
            generation = self.inner.backend.store().generation();
            if let Some(hit) = self.inner.responses.get(key, generation) {
                return Ok(cached(hit));
            }
        }

        let (parts, body) = req.into_parts();
        let max = self.inner.max_body;
        let declared =
            parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max as u64) {
            return Err(too_large(max));
        }
        let bytes = match Limited::new(body, max).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large(max)),
            Err(e) => return Err(error(StatusCode::BAD_REQUEST, format!("cannot read request body: {e}"))),
        };
        // Every request body in the spec is a JSON object. serde's derived models would
        // also take an array (`[]` as a struct with every field absent): refuse it here.
        if !bytes.is_empty() && serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&bytes).is_err() {
            return Err(error(StatusCode::BAD_REQUEST, "request body must be a JSON object".to_string()));
        }
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let ctx = Ctx {
            span: XSpanIdString(format!("{id:x}")),
            auth: caller.map(|c| Authorization { subject: c.username, scopes: Scopes::All, issuer: None }),
        };
        match self.inner.api.call((Request::from_parts(parts, Full::new(bytes)), ctx)).await {
            Ok(resp) if resp.status() == StatusCode::OK && cache_key.is_some() => {
                let (parts, body) = resp.into_parts();
                let body = match body.collect().await {
                    Ok(b) => b.to_bytes(),
                    Err(never) => match never {},
                };
                if let Some(k) = cache_key.as_deref() {
                    let content_type = parts.headers.get(CONTENT_TYPE).cloned();
                    self.inner.responses.insert(
                        k,
                        generation,
                        crate::response_cache::Cached { content_type, body: body.clone() },
                    );
                }
                Ok(Response::from_parts(parts, Full::new(body).boxed()))
            }
            Ok(resp) => Ok(json_errors(resp).await),
            Err(e) => {
                log::error!("generated service failed: {e}");
                Err(error(StatusCode::INTERNAL_SERVER_ERROR, "internal error".to_string()))
            }
        }
    }
}

fn cached(hit: crate::response_cache::Cached) -> Response<Body> {
    let mut r = Response::new(Full::new(hit.body).boxed());
    if let Some(ct) = hit.content_type {
        r.headers_mut().insert(CONTENT_TYPE, ct);
    }
    r
}

fn too_large(max: usize) -> Response<Body> {
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
async fn json_errors(resp: Response<Body>) -> Response<Body> {
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

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting and lets
/// in-flight requests finish (bounded by `grace`).
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()>,
    grace: Duration,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(30)).max_headers(64);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer): (_, SocketAddr) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // e.g. EMFILE: back off instead of spinning
                        log::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let svc = hyper::service::service_fn(move |req| {
                    let app = app.clone();
                    async move { Ok::<_, Infallible>(app.handle(req).await) }
                });
                let conn = builder.serve_connection(TokioIo::new(stream), svc);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        log::debug!("connection: {e}");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    log::info!("shutting down: waiting for in-flight requests");
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        log::warn!("in-flight requests did not finish within {grace:?}");
    }
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = int.recv() => {},
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
