//! The HTTP layer in front of the generated router: authentication (401/403) and its
//! throttling (429), the audit record of each write, body limits (413, 408, 415), HEAD
//! and CORS, `Cache-Control: no-store`, the response cache and the listings (which
//! operations are which comes from the spec: [`backend::contract`]), one log line per
//! request. The responses it writes itself are [`crate::respond`]'s; connections
//! (accept loop, timeouts, TLS, the shutdown signal) are [`crate::conn`]'s.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use backend::audit::{self, AuditRecord};
use backend::auth::{Caller, Denied, Presented};
use backend::contract::Listing;
use backend::paging::Page;
use backend::token::Bearer;
use backend::Backend;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, AUTHORIZATION, CACHE_CONTROL,
    CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ORIGIN, RETRY_AFTER, TRANSFER_ENCODING, VARY, WARNING,
    WWW_AUTHENTICATE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use hyper::service::Service as _;
use hyper::{Request, Response, StatusCode};
use swagger::auth::{Authorization, Scopes};
use swagger::{Has, XSpanIdString};

use crate::config::HttpSettings;
use crate::cors;
use crate::respond::{cached, closing, error, failure, is_json, json_errors, too_large, Body, OPENMETRICS};
use crate::response_cache::Cached;
use crate::sites::{NoSite, Server, Site, Sites};
use crate::throttle::{self, Throttle};

/// The generated router over one host's backend.
pub type Generated = prosody_admin_api::server::Service<Backend, Ctx>;

/// Every route of the API lives under this prefix.
pub const BASE_PATH: &str = prosody_admin_api::BASE_PATH;

/// The per-request context the generated router wants: a span id and the caller.
#[derive(Debug, Clone)]
pub struct Ctx {
    span: XSpanIdString,
    auth: Option<Authorization>,
    /// The bearer token itself, only for the operation that acts on it (sign-out).
    token: Option<Presented>,
}

impl Has<Option<Presented>> for Ctx {
    fn get(&self) -> &Option<Presented> {
        &self.token
    }
    fn get_mut(&mut self) -> &mut Option<Presented> {
        &mut self.token
    }
    fn set(&mut self, v: Option<Presented>) {
        self.token = v;
    }
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
    /// The hosts served (see [`crate::sites`]).
    server: Arc<Server>,
    /// The server's metrics registry (every host's).
    metrics: Arc<backend::metrics::Metrics>,
    /// Its table of the requests no host answered (a bad or unknown `Host`, forwarded).
    unrouted: Arc<backend::metrics::HostOps>,
    /// Whole responses, keyed by host and path (see [`App::run`]).
    responses: crate::response_cache::ResponseCache,
    limits: HttpSettings,
    /// Failed authentications per client address, whichever host they tried.
    throttle: Throttle,
    next_id: AtomicU64,
}

impl App {
    pub fn new(server: Arc<Server>, limits: HttpSettings) -> App {
        let throttle = Throttle::new(limits.auth_failure_limit, limits.auth_failure_window);
        let metrics = server.metrics();
        let unrouted = metrics.host(NO_HOST);
        App {
            inner: Arc::new(Inner {
                server,
                metrics,
                unrouted,
                responses: Default::default(),
                limits,
                throttle,
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// Handles one request from `peer`; never fails (every error is a JSON response).
    pub async fn handle(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        // The client: the peer, or behind a trusted proxy whom its headers name.
        let client = self.inner.limits.trusted_proxies.client(peer.ip(), req.headers());
        let start = Instant::now();
        // Outside the API: Prosody's own HTTP, when configured (one base URL).
        if let Some(f) = self.inner.limits.prosody_http.as_ref().filter(|_| !in_api(req.uri().path())) {
            let (method, path) = (req.method().clone(), req.uri().path().to_string());
            let limits = &self.inner.limits;
            let resp = f.forward(req, client, limits.tls.is_some(), limits.max_body_bytes).await;
            let elapsed = start.elapsed().as_secs_f64();
            self.inner.unrouted.record(FORWARDED, resp.status().as_u16(), elapsed);
            log::info!("{method} {path} {} {:.3}ms {client} forwarded", resp.status().as_u16(), elapsed * 1e3);
            return resp;
        }
        let head = req.method() == hyper::Method::HEAD;
        let req_method = req.method().clone();
        // What the log line needs, only when it is written.
        let path = log::log_enabled!(log::Level::Info).then(|| req.uri().path().to_string());
        let origin = req.headers().get(ORIGIN).cloned();
        let mut operation = backend::metrics::NO_OPERATION;
        // The host asked for: the set served now (a reload swaps it whole), the name a
        // trusted proxy forwarded or the `Host`.
        let sites = self.inner.server.sites();
        let forwarded = self.inner.limits.trusted_proxies.forwarded_host(peer.ip(), req.headers());
        let mut site = None;
        let mut resp = match sites.pick(req.headers(), forwarded) {
            Err(NoSite::Bad(why)) => error(StatusCode::BAD_REQUEST, why),
            picked => {
                let picked = picked.cloned().map_err(|(NoSite::Unknown(why) | NoSite::Bad(why))| why);
                self.try_route(req, client, &sites, picked, &mut site, &mut operation)
                    .await
                    .unwrap_or_else(|refusal| refusal)
            }
        };
        self.finish(&mut resp, origin.as_ref(), head, operation == CONSOLE_PAGE);
        // The spec's media type as the generator writes it, without the version
        // Prometheus negotiates on.
        if resp.headers().get(CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/openmetrics-text")) {
            resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS));
        }
        let (status, elapsed) = (resp.status().as_u16(), start.elapsed().as_secs_f64());
        match &site {
            Some(site) => site.backend.record(operation, status, elapsed),
            None => self.inner.unrouted.record(operation, status, elapsed),
        }
        // Paths carry usernames and ids, never token secrets.
        if let Some(path) = path {
            let host = site.as_ref().map_or(NO_HOST, |s| s.host());
            log::info!(
                "{} {path} {} {:.3}ms {} {host}",
                req_method,
                resp.status().as_u16(),
                start.elapsed().as_secs_f64() * 1e3,
                client
            );
        }
        if head {
            let (parts, _) = resp.into_parts();
            return Response::from_parts(parts, Full::new(Bytes::new()).boxed());
        }
        resp
    }

    /// What every answer gets: no caching by intermediaries or browsers (they carry
    /// account data), CORS headers for an allowed origin, a length for HEAD.
    fn finish(&self, resp: &mut Response<Body>, origin: Option<&HeaderValue>, head: bool, console: bool) {
        let h = resp.headers_mut();
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // Never framed, never sniffed; the docs page runs only its own scripts.
        let html = h.get(CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
        let policy = match (html, console) {
            (true, true) => backend::console::POLICY,
            (true, false) => backend::docs::page_policy(),
            (false, _) => backend::docs::API_POLICY,
        };
        if let Ok(v) = HeaderValue::from_str(policy) {
            h.insert(CONTENT_SECURITY_POLICY, v);
        }
        h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        // The generated router echoes an unknown JSON key in a `warning` header: a key
        // is the client's text, so it goes (the request's log line has what matters).
        h.remove(WARNING);
        if let Some(allowed) = origin.and_then(|o| cors::allow(&self.inner.limits.cors_origins, o)) {
            h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
            h.insert(ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(cors::EXPOSED));
            h.append(VARY, HeaderValue::from_static("Origin"));
        } else if !self.inner.limits.cors_origins.is_empty() {
            h.append(VARY, HeaderValue::from_static("Origin"));
        }
        if head && !h.contains_key(CONTENT_LENGTH) {
            if let Some(n) = hyper::body::Body::size_hint(resp.body()).exact() {
                resp.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(n));
            }
        }
    }

    /// The 429 of a client on hold for `wait`.
    fn too_many(&self, wait: std::time::Duration) -> Response<Body> {
        self.inner.metrics.throttled.fetch_add(1, Ordering::Relaxed);
        let mut r = error(StatusCode::TOO_MANY_REQUESTS, "too many failed authentications from this address".into());
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs.max(1)));
        r
    }

    /// The caller, or the 401/403/429/500 response that refuses the request.
    async fn authenticate(&self, site: &Site, req: &Request<Incoming>, client: IpAddr) -> Result<Caller, Refusal> {
        let header = req.headers().get(AUTHORIZATION).and_then(|h| h.to_str().ok());
        let token = header.map(|h| h.trim().split_once(' ').map_or("", |(_, t)| t.trim()));
        let digest = token.map(throttle::digest);
        let throttle = &self.inner.throttle;
        // Only a presented credential can be a guess; without one the answer is a plain 401.
        let held = digest.and_then(|d| throttle.hold(client, Some(&d), std::time::Instant::now()));
        if let Some(wait) = held {
            return Err(Refusal::Plain(self.too_many(wait)));
        }
        match site.backend.authenticate(header).await {
            Ok(c) => {
                if let Some(d) = digest {
                    throttle.succeeded(d, std::time::Instant::now());
                }
                Ok(c)
            }
            Err(Denied::Unauthorized(t)) => {
                // A credential that failed counts; a request without one guesses nothing.
                if header.is_some() {
                    throttle.failed(client, std::time::Instant::now());
                }
                let mut r = error(StatusCode::UNAUTHORIZED, t);
                r.headers_mut().insert(WWW_AUTHENTICATE, site.realm.clone());
                Err(Refusal::Plain(r))
            }
            Err(Denied::Forbidden(t)) => {
                // A token that may not administer counts too: each refusal is written to
                // the audit log, and a flood of them must not fill the database.
                throttle.failed(client, std::time::Instant::now());
                let who =
                    token.and_then(Bearer::parse).map(|b| (format!("{}@{}", b.username(), b.host()), b.public_id()));
                Err(Refusal::Forbidden(error(StatusCode::FORBIDDEN, t), who))
            }
            Err(Denied::Internal(f)) => {
                log::error!("authentication failed: {f}");
                Err(Refusal::Plain(error(StatusCode::INTERNAL_SERVER_ERROR, "internal error".to_string())))
            }
        }
    }

    /// Routes a request; an early refusal is the `Err` response. `operation` is set to
    /// the operationId once the route is known (for the metrics).
    async fn try_route(
        &self,
        mut req: Request<Incoming>,
        client: IpAddr,
        sites: &Sites,
        picked: Result<Arc<Site>, String>,
        site_out: &mut Option<Arc<Site>>,
        operation_out: &mut &'static str,
    ) -> Result<Response<Body>, Response<Body>> {
        if let Ok(site) = &picked {
            *site_out = Some(site.clone());
        }
        // HEAD is GET without the body (which `handle` drops).
        if req.method() == hyper::Method::HEAD {
            *req.method_mut() = hyper::Method::GET;
        }
        let path = req.uri().path().to_string();
        // Route by the spec (concrete paths before templated ones, as OpenAPI says; the
        // generated router would send GET /invites/account to getInviteById): unknown
        // resource 404, method the resource does not have 405 with `Allow`.
        let Some(route) = backend::contract::route(BASE_PATH, &path) else {
            return Err(error(StatusCode::NOT_FOUND, format!("no such resource: {path}")));
        };
        let method = req.method().as_str().to_string();
        if req.method() == hyper::Method::OPTIONS {
            return Ok(cors::options(route, req.headers(), &self.inner.limits.cors_origins));
        }
        if !route.allows(&method) {
            let mut r = error(StatusCode::METHOD_NOT_ALLOWED, format!("{method} not allowed on {path}"));
            if let Ok(v) = HeaderValue::from_str(&cors::allow_header(route)) {
                r.headers_mut().insert(hyper::header::ALLOW, v);
            }
            return Err(r);
        }
        let op = route.operation(&method);
        if let Some(op) = op {
            *operation_out = op;
        }
        let operation = op.unwrap_or("unknown").to_string();
        // The contract, the docs page and health answer whatever the host; the rest
        // only for a host served here (as Prosody answers 404 for another).
        let site = match picked {
            Ok(site) => site,
            // (not a sign-in: its token is for one host)
            Err(_) if (route.public(&method) && op != Some(SIGN_IN)) || is_health(op) => match sites.first() {
                Some(first) => {
                    *site_out = Some(first.clone());
                    first.clone()
                }
                None => return Err(error(StatusCode::SERVICE_UNAVAILABLE, "no host is served".into())),
            },
            // No host of that name: 404, as Prosody answers.
            Err(why) => return Err(error(StatusCode::NOT_FOUND, why)),
        };
        let site = &*site;
        let writes = matches!(
            req.method(),
            &hyper::Method::POST | &hyper::Method::PUT | &hyper::Method::PATCH | &hyper::Method::DELETE
        );
        let record = |actor: String, token_id: Option<String>| AuditRecord {
            actor,
            token_id,
            client: client.to_string(),
            operation: operation.clone(),
            method: method.clone(),
            target: path.clone(),
            outcome: audit::SUCCESS.to_string(),
            status: None,
        };
        // Operations the spec declares with `security: []` (the contract itself) are open.
        let caller = if route.public(&method) {
            None
        } else {
            match self.authenticate(site, &req, client).await {
                Ok(c) => Some(c),
                Err(Refusal::Plain(r)) => return Err(r),
                Err(Refusal::Forbidden(r, who)) => {
                    if let Some((jid, token_id)) = who {
                        self.record_refusal(site, record(jid, Some(token_id)), StatusCode::FORBIDDEN).await;
                    }
                    return Err(r);
                }
            }
        };
        // A password sign-in is an authentication: held like one, and counted when it fails.
        let sign_in = op == Some(SIGN_IN);
        if sign_in {
            if let Some(wait) = self.inner.throttle.hold(client, None, Instant::now()) {
                return Err(self.too_many(wait));
            }
        }
        let jid = |c: &Caller| format!("{}@{}", c.username, site.host());
        let pending = match (&caller, writes) {
            (Some(c), true) => Some(audit::Pending::new(record(jid(c), Some(c.token_id.clone())))),
            // The sign-in names its actor once the password is right.
            (None, true) if sign_in => Some(audit::Pending::new(record(String::new(), None))),
            _ => None,
        };
        let resp = match &pending {
            Some(p) => p.scope(self.run(site, req, route, caller)).await,
            None => self.run(site, req, route, caller).await,
        };
        if let Some(p) = pending {
            let status = match &resp {
                Ok(r) | Err(r) => r.status(),
            };
            match p.uncommitted() {
                // A success that committed nothing (e.g. an announcement sent live).
                Some(r) if status.is_success() => {
                    if let Err(e) = site.backend.record_audit(r).await {
                        log::error!("audit: {e}");
                        return Err(error(StatusCode::INTERNAL_SERVER_ERROR, "internal error".to_string()));
                    }
                }
                // The right password of an account that may not administer.
                Some(r) if sign_in && status == StatusCode::FORBIDDEN && !r.actor.is_empty() => {
                    self.record_refusal(site, r, StatusCode::FORBIDDEN).await;
                }
                _ => {}
            }
        }
        if sign_in {
            let status = match &resp {
                Ok(r) | Err(r) => r.status(),
            };
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                self.inner.throttle.failed(client, Instant::now());
            }
        }
        resp
    }

    /// Records a refused admin action (the refusal stands whether or not this works).
    async fn record_refusal(&self, site: &Site, mut r: AuditRecord, status: StatusCode) {
        r.outcome = audit::REFUSED.to_string();
        r.status = Some(status.as_u16());
        if let Err(e) = site.backend.record_audit(r).await {
            log::error!("audit: {e}");
        }
    }

    /// Reads the body (within its limits) and runs the operation, through the response
    /// cache for the operations the spec marks cacheable.
    async fn run(
        &self,
        site: &Site,
        req: Request<Incoming>,
        route: &backend::contract::Route,
        caller: Option<Caller>,
    ) -> Result<Response<Body>, Response<Body>> {
        let path = req.uri().path().to_string();
        let listing = route.listing(req.method().as_str());
        // Read before the request runs: a commit after this retires what we store.
        let mut generation = site.backend.store().generation();
        // The host and the query are part of what is asked (a listing's page).
        let cache_key =
            (route.cacheable(req.method().as_str()) || listing.is_some()).then(|| match req.uri().query() {
                Some(q) => format!("{} {path}?{q}", site.host()),
                None => format!("{} {path}", site.host()),
            });
        let mut _building = None;
        if let Some(key) = cache_key.as_deref() {
            let now = backend::now().unwrap_or(i64::MAX);
            let m = &self.inner.metrics;
            if let Some(hit) = self.inner.responses.get(key, generation, now) {
                m.cache_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(cached(hit));
            }
            // One miss per key at a time; the others then find its answer.
            _building = Some(self.inner.responses.building(key).await);
            generation = site.backend.store().generation();
            if let Some(hit) = self.inner.responses.get(key, generation, now) {
                m.cache_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(cached(hit));
            }
            m.cache_misses.fetch_add(1, Ordering::Relaxed);
        }
        if let (Some(kind), Some(key)) = (listing, cache_key.as_deref()) {
            return self.listing(site, kind, route.template(), req.uri().query(), key, generation).await;
        }

        let (parts, body) = req.into_parts();
        let limits = &self.inner.limits;
        let max = limits.max_body_bytes;
        let declared =
            parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        let has_body = declared.is_some_and(|n| n > 0) || parts.headers.contains_key(TRANSFER_ENCODING);
        if has_body && !is_json(parts.headers.get(CONTENT_TYPE)) {
            return Err(closing(error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "request body must be application/json".to_string(),
            )));
        }
        if declared.is_some_and(|n| n > max as u64) {
            return Err(closing(too_large(max)));
        }
        // A request without a body has nothing to wait for: no timer.
        let read = async {
            if has_body {
                tokio::time::timeout(limits.body_timeout, Limited::new(body, max).collect()).await
            } else {
                Ok(Limited::new(body, max).collect().await)
            }
        };
        let bytes = match read.await {
            Err(_) => {
                return Err(closing(error(
                    StatusCode::REQUEST_TIMEOUT,
                    format!("request body not received within {} s", limits.body_timeout.as_secs()),
                )))
            }
            Ok(Ok(b)) => b.to_bytes(),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return Err(closing(too_large(max))),
            Ok(Err(e)) => return Err(error(StatusCode::BAD_REQUEST, format!("cannot read request body: {e}"))),
        };
        // Every request body in the spec is a JSON object. serde's derived models would
        // also take an array (`[]` as a struct with every field absent): refuse it here.
        if !bytes.is_empty() && serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&bytes).is_err() {
            return Err(error(StatusCode::BAD_REQUEST, "request body must be a JSON object".to_string()));
        }
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        // Sign-out revokes the token it presents: only that operation is given it.
        let token = (caller.is_some() && route.operation(parts.method.as_str()) == Some(SIGN_OUT))
            .then(|| parts.headers.get(AUTHORIZATION).and_then(|h| h.to_str().ok()))
            .flatten()
            .and_then(|h| h.trim().split_once(' ').map(|(_, t)| Presented(t.trim().to_string())));
        let ctx = Ctx {
            span: XSpanIdString(format!("{id:x}")),
            auth: caller.map(|c| Authorization { subject: c.username, scopes: Scopes::All, issuer: None }),
            token,
        };
        match site.api.call((Request::from_parts(parts, Full::new(bytes)), ctx)).await {
            Ok(resp) if resp.status() == StatusCode::OK && cache_key.is_some() => {
                let (parts, body) = resp.into_parts();
                let body = match body.collect().await {
                    Ok(b) => b.to_bytes(),
                    Err(never) => match never {},
                };
                if let Some(k) = cache_key.as_deref() {
                    let content_type = parts.headers.get(CONTENT_TYPE).cloned();
                    // A user's answer shows whether they are online: news for a second.
                    let valid_until = match route.operation("GET") {
                        Some("getUserByName") => site.backend.presence_valid_until(),
                        _ => None,
                    };
                    let c = Cached { content_type, link: None, body: body.clone(), valid_until };
                    self.inner.responses.insert(k, generation, c);
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

impl App {
    /// The operations the spec marks `x-prosody-admin-listing` (GET /users, /groups,
    /// /invites): a page written from rows straight into its body (`backend::paging`),
    /// not through the generated trait, whose `Vec` of models would hold every item at
    /// once. The bytes are what the trait's answer serializes to (a backend test
    /// compares them). Cached like the other reads; a page of invites only until its
    /// first invite expires. `resource` is the path the `Link` of the next page names.
    async fn listing(
        &self,
        site: &Site,
        kind: Listing,
        resource: &str,
        query: Option<&str>,
        key: &str,
        generation: u64,
    ) -> Result<Response<Body>, Response<Body>> {
        let (mut limit, mut after) = (None, None);
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "limit" if limit.is_none() => limit = Some(v.into_owned()),
                "after" if after.is_none() => after = Some(v.into_owned()),
                _ => {}
            }
        }
        let limit = match limit.map(|l| l.parse::<u64>()) {
            None => None,
            Some(Ok(n)) => Some(n),
            Some(Err(_)) => return Err(error(StatusCode::BAD_REQUEST, "limit must be an integer".into())),
        };
        let page = Page::parse(limit, after.as_deref()).map_err(failure)?;
        let l = site.backend.listing_json(kind, page.clone()).await.map_err(failure)?;
        let link = page.link_to(resource, l.next).and_then(|v| HeaderValue::from_str(&v).ok());
        let c = Cached {
            content_type: Some(HeaderValue::from_static("application/json")),
            link,
            body: Bytes::from(l.body),
            valid_until: l.valid_until,
        };
        self.inner.responses.insert(key, generation, c.clone());
        Ok(cached(c))
    }
}

/// The metrics' host label of requests no host answered (a bad or unknown `Host`, or
/// forwarded to Prosody).
const NO_HOST: &str = "";
/// The operations of the console that the HTTP layer treats apart.
const SIGN_IN: &str = "createConsoleSession";
const SIGN_OUT: &str = "endConsoleSession";
const CONSOLE_PAGE: &str = "getConsolePage";
/// The metrics' operation of requests forwarded to Prosody's HTTP (counted as `none`).
const FORWARDED: &str = backend::metrics::NO_OPERATION;

/// Whether `path` is the API's (`/admin_api` and below).
fn in_api(path: &str) -> bool {
    path.strip_prefix(BASE_PATH).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// `/healthz` and `/readyz` answer whatever the `Host` (a load balancer's or container
/// runtime's check asks by address).
fn is_health(op: Option<&str>) -> bool {
    matches!(op, Some("getHealth" | "getReadiness"))
}

/// Why authentication refused a request.
enum Refusal {
    Plain(Response<Body>),
    /// 403, with the token's owner and public id when the token names them (audited).
    Forbidden(Response<Body>, Option<(String, String)>),
}
