//! The HTTP listener, hardened against slow clients: a cap on open
//! connections, a header read timeout and an idle keep-alive timeout.
//!
//! `axum::serve` offers none of the three, so connections are served here
//! with hyper's HTTP/1 connection builder directly (hyper and hyper-util are
//! what axum itself runs on; no new code enters the build).
//!
//! Each connection is in one of three phases, kept in two atomics:
//! `HEADER` (from accept, or from the first byte after an idle spell, until
//! the request head is parsed), `BUSY` (a request is being handled) and
//! `IDLE` (between requests on a kept-alive connection). A watchdog beside
//! each connection closes it when `HEADER` lasts longer than the header read
//! timeout or `IDLE` longer than the keep-alive timeout; `BUSY` is bounded
//! elsewhere (the body limit, the database deadline). hyper's own header
//! timer is not used: it also runs while a kept-alive connection is idle, so
//! it cannot tell the two timeouts apart.
//!
//! The cap is a semaphore taken before `accept`: at the cap, new connections
//! wait in the kernel's backlog until one closes, instead of the process
//! running out of file descriptors.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tower_service::Service;

/// The slow-client limits (from `[server]`).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Longest time to receive a request head.
    pub header_read_timeout: Duration,
    /// Longest idle time between requests on a kept-alive connection.
    pub keep_alive_idle: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

/// How long a graceful shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` resolves, then stops
/// accepting, lets requests in flight finish (at most [`SHUTDOWN_GRACE`])
/// and closes idle connections.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.keep_alive(true).header_read_timeout(None);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => permit.expect("never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // EMFILE and friends: back off rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let phase = Arc::new(Phase::new());
        let io = TokioIo::new(Watched {
            inner: stream,
            phase: Arc::clone(&phase),
        });
        let service = {
            let phase = Arc::clone(&phase);
            let app = app.clone();
            hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                phase.set(BUSY);
                request.extensions_mut().insert(ConnectInfo(peer));
                let handled = app.clone().call(request);
                let phase = Arc::clone(&phase);
                async move {
                    let response = handled.await;
                    phase.set(IDLE);
                    response
                }
            })
        };
        let connection = graceful.watch(builder.serve_connection(io, service));
        tokio::spawn(async move {
            let _permit = permit;
            tokio::select! {
                _ = connection => {}
                why = phase.expired(limits) => {
                    tracing::debug!(%peer, why, "connection closed");
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the shutdown grace period");
    }
    Ok(())
}

const HEADER: u8 = 0;
const BUSY: u8 = 1;
const IDLE: u8 = 2;

/// A connection's phase and since when (ms after `origin`).
struct Phase {
    origin: Instant,
    phase: AtomicU8,
    since_ms: AtomicU64,
}

impl Phase {
    fn new() -> Self {
        Self {
            origin: Instant::now(),
            phase: AtomicU8::new(HEADER),
            since_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn set(&self, phase: u8) {
        self.since_ms.store(self.now_ms(), Ordering::Relaxed);
        self.phase.store(phase, Ordering::Release);
    }

    /// Bytes arrived: an idle connection starts a new request head.
    fn bytes_read(&self) {
        if self.phase.load(Ordering::Acquire) == IDLE {
            self.set(HEADER);
        }
    }

    /// Resolves when the connection has overstayed its phase.
    async fn expired(&self, limits: ConnectionLimits) -> &'static str {
        let recheck = limits.header_read_timeout.min(limits.keep_alive_idle);
        loop {
            let phase = self.phase.load(Ordering::Acquire);
            let since = self.origin + Duration::from_millis(self.since_ms.load(Ordering::Relaxed));
            let deadline = match phase {
                HEADER => since + limits.header_read_timeout,
                IDLE => since + limits.keep_alive_idle,
                _ => Instant::now() + recheck,
            };
            if phase != BUSY && Instant::now() >= deadline {
                return if phase == HEADER {
                    "header read timeout"
                } else {
                    "keep-alive idle timeout"
                };
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// The TCP stream, telling [`Phase`] when bytes arrive.
struct Watched {
    inner: TcpStream,
    phase: Arc<Phase>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.phase.bytes_read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The soft limit on open files of this process (Linux), to warn when the
/// connection cap cannot be reached.
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}
