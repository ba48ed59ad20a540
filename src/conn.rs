//! Connections: the accept loop and what bounds each connection, around hyper.
//!
//! - At most `max_connections` at once: one more is answered a fixed 503 (plain HTTP)
//!   or closed (HTTPS) at once, without a task or a handshake, and the service goes on
//!   serving the others.
//! - Each connection is in one of three phases (see [`Activity`]): *idle* (between
//!   requests: closed after `idle_timeout`), *head* (the first byte of a request
//!   arrived: the whole head, and the TLS handshake before it, must arrive within
//!   `header_timeout`, or the socket is closed), *busy* (a request is being handled;
//!   its body is bounded by `body_timeout` in [`crate::http`]). hyper's own header timer
//!   is off: it starts while idle, which would make the two limits one.
//! - Graceful shutdown: stop accepting, let each connection finish its request, wait
//!   for all (bounded by `grace`).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;

use crate::config::HttpSettings;
use crate::http::App;
use crate::tls::Tls;

const IDLE: u8 = 0;
const HEAD: u8 = 1;
const BUSY: u8 = 2;

/// Where a connection is, and since when (milliseconds after `origin`).
struct Activity {
    origin: Instant,
    phase: AtomicU8,
    since: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity { origin: Instant::now(), phase: AtomicU8::new(IDLE), since: AtomicU64::new(0) }
    }

    fn mark(&self, phase: u8) {
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.since.store(ms, Ordering::Release);
        self.phase.store(phase, Ordering::Release);
    }

    /// Bytes arrived: an idle connection starts receiving a request head.
    fn on_read(&self) {
        if self.phase.load(Ordering::Acquire) == IDLE {
            self.mark(HEAD);
        }
    }

    /// The current phase and when it ends (None: not bounded here).
    fn deadline(&self, limits: &HttpSettings) -> (u8, Option<Instant>) {
        let phase = self.phase.load(Ordering::Acquire);
        let since = self.origin + Duration::from_millis(self.since.load(Ordering::Acquire));
        match phase {
            IDLE => (phase, Some(since + limits.idle_timeout)),
            HEAD => (phase, Some(since + limits.header_timeout)),
            _ => (phase, None),
        }
    }
}

/// Marks a connection busy while a request is handled; idle again when dropped.
struct Busy(Arc<Activity>);

impl Busy {
    fn new(a: Arc<Activity>) -> Busy {
        a.mark(BUSY);
        Busy(a)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.mark(IDLE);
    }
}

/// The socket, noting when bytes arrive.
struct Watched<T> {
    io: T,
    activity: Arc<Activity>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_read();
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// The answer of a connection over the cap: complete, small, written without waiting.
fn refusal() -> Vec<u8> {
    let body = serde_json::to_string(&backend::error::error_body(503, "too many connections; try again later"))
        .unwrap_or_default();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         retry-after: 1\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Serves `app` on `listener` (HTTPS when `tls` is set) until `shutdown` resolves;
/// then stops accepting and lets in-flight requests finish (bounded by `grace`).
pub async fn serve(
    listener: TcpListener,
    tls: Option<Tls>,
    app: App,
    limits: HttpSettings,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> std::io::Result<()> {
    let limits = Arc::new(limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(None).max_headers(64).max_header_size(limits.max_header_bytes);
    // A client that half-closes after its request (`shutdown(SHUT_WR)`) still gets the
    // answer: without it hyper drops the request's future at the read's end of file,
    // after a write may have committed, and nothing answers or logs it.
    builder.half_close(true);
    let refused = refusal();
    let (mut last_warning, mut refused_since_warning) = (None, 0u64);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer): (TcpStream, SocketAddr) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // e.g. EMFILE: back off instead of spinning
                        log::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    // One line per second at most, however hard the flood.
                    refused_since_warning += 1;
                    if last_warning.is_none_or(|t: Instant| t.elapsed() >= Duration::from_secs(1)) {
                        log::warn!(
                            "{refused_since_warning} connection(s) refused (latest from {peer}): {} connections open",
                            limits.max_connections
                        );
                        last_warning = Some(Instant::now());
                        refused_since_warning = 0;
                    }
                    if tls.is_none() {
                        // A fresh socket's send buffer is empty: this does not block.
                        let _ = stream.try_write(&refused);
                    }
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let (app, builder, tls, limits, stop) =
                    (app.clone(), builder.clone(), tls.clone(), limits.clone(), stop_rx.clone());
                tokio::spawn(async move {
                    let _slot = slot;
                    match tls {
                        None => drive(stream, peer, app, builder, &limits, stop).await,
                        Some(tls) => {
                            match tokio::time::timeout(limits.header_timeout, tls.acceptor().accept(stream)).await {
                                Ok(Ok(s)) => drive(s, peer, app, builder, &limits, stop).await,
                                Ok(Err(e)) => log::debug!("TLS handshake with {peer} failed: {e}"),
                                Err(_) => log::debug!("TLS handshake with {peer} timed out"),
                            }
                        }
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    log::info!("shutting down: waiting for in-flight requests");
    let _ = stop_tx.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(grace, slots.acquire_many(all)).await.is_err() {
        log::warn!("in-flight requests did not finish within {grace:?}");
    }
    Ok(())
}

/// Serves one connection within its limits.
async fn drive<T>(
    io: T,
    peer: SocketAddr,
    app: App,
    builder: hyper::server::conn::http1::Builder,
    limits: &HttpSettings,
    mut stop: watch::Receiver<bool>,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let a = activity.clone();
    let svc = hyper::service::service_fn(move |req| {
        let (app, a) = (app.clone(), a.clone());
        async move {
            let _busy = Busy::new(a);
            // The request runs to its end (answered, logged, audited) even when the
            // connection goes away meanwhile: its own task, not the connection's.
            match tokio::spawn(async move { app.handle(req, peer).await }).await {
                Ok(resp) => Ok::<_, Infallible>(resp),
                Err(e) => {
                    log::error!("request from {peer} failed: {e}");
                    Ok(crate::respond::error(hyper::StatusCode::INTERNAL_SERVER_ERROR, "internal error".to_string()))
                }
            }
        }
    });
    let conn = builder.serve_connection(TokioIo::new(Watched { io, activity: activity.clone() }), svc);
    tokio::pin!(conn);
    let mut closing = false;
    if *stop.borrow() {
        closing = true;
        conn.as_mut().graceful_shutdown();
    }
    // The watchdog looks at the phase on a steady tick rather than re-arming a timer at
    // every phase change (three per request): one timer per connection, whatever the
    // request rate. A limit is enforced within a quarter of the shorter one (at most 1 s).
    let granularity = (limits.header_timeout.min(limits.idle_timeout) / 4).min(Duration::from_secs(1));
    let mut tick = tokio::time::interval_at(Instant::now() + granularity, granularity);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    log::debug!("connection from {peer}: {e}");
                }
                return;
            }
            _ = tick.tick() => {
                let (phase, deadline) = activity.deadline(limits);
                if deadline.is_none_or(|d| d > Instant::now()) {
                    continue;
                }
                if phase == HEAD || closing {
                    // A head that does not arrive in time, or a connection that does not
                    // close when asked to: drop it (closes the socket).
                    log::debug!("connection from {peer}: timed out, closed");
                    return;
                }
                // Idle too long: hyper closes an idle connection at once.
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = stop.changed(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Resolves on SIGINT or SIGTERM: what starts the graceful shutdown of [`serve`].
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
