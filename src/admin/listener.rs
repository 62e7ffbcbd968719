//! The admin API's HTTP/1 listener, driven on hyper directly because axum's `serve` has no
//! limits: at most `connections_max` connections (past it the newcomer is reset at once, so
//! the admin port can never take the descriptors DNS and the probes need); headers within
//! `request_timeout` of the connection opening or of the previous response (which is also the
//! keep-alive idle limit), then the body within `request_timeout` and at most [`BODY_MAX`]; a
//! response the client does not take within `request_timeout` cuts the connection.
//!
//! Owns: accepting, the per-connection limits and graceful shutdown. Must not: route or answer
//! (that is the router it is given).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Sleep;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::metrics::{AdminClosed, Metrics};
use crate::net::{accept, reset};

/// The largest request body taken: the API's calls carry none.
pub(crate) const BODY_MAX: usize = 64 * 1024;
/// The most a request head may take (hyper's read buffer; its least is 8 KiB).
const HEAD_MAX: usize = 64 * 1024;

/// Limits of the admin listener.
#[derive(Clone, Copy, Debug)]
pub struct AdminLimits {
    /// Most connections open at once; past it new ones are closed at once.
    pub connections_max: usize,
    /// Headers, then the body, must arrive within this; idle keep-alive connections and
    /// responses the client does not read are cut after it.
    pub request_timeout: Duration,
}

/// The address a connection came in on: the admin API's own origin, for the cross-site check.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Local(pub(crate) SocketAddr);

/// Serves `router` on `listener` until `cancel` fires; connections live in `tracker` and
/// finish what they are answering.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    metrics: Arc<Metrics>,
    limits: AdminLimits,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    let slots = Arc::new(Semaphore::new(limits.connections_max));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.request_timeout)
        .max_buf_size(HEAD_MAX)
        .keep_alive(true);
    loop {
        let Some((stream, peer)) = accept(&listener, &cancel, "admin").await else {
            return;
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "admin connection limit reached; closing");
            metrics.admin_closed(AdminClosed::Limit);
            // A reset: no TIME_WAIT kept for a refused connection.
            reset(&stream);
            drop(stream);
            continue;
        };
        let Ok(local) = stream.local_addr() else {
            continue;
        };
        let router = router.clone();
        let metrics2 = metrics.clone();
        let service = hyper::service::service_fn(move |req| {
            request(req, router.clone(), local, limits, metrics2.clone())
        });
        let conn = http.serve_connection(
            TokioIo::new(Stalls::new(stream, limits.request_timeout)),
            service,
        );
        let (cancel, metrics) = (cancel.clone(), metrics.clone());
        tracker.spawn(async move {
            let _permit = permit;
            let mut conn = pin!(conn);
            let r = tokio::select! {
                r = conn.as_mut() => r,
                _ = cancel.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = r {
                if timed_out(&e) {
                    metrics.admin_closed(AdminClosed::Timeout);
                }
                tracing::debug!(error = %e, %peer, "admin connection ended");
            }
        });
    }
}

/// Whether hyper ended a connection for one of our timeouts (headers, or a stalled write).
fn timed_out(e: &hyper::Error) -> bool {
    if e.is_timeout() {
        return true;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::TimedOut)
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// One request: its body taken whole (bounded in size and time), then routed.
async fn request(
    req: Request<Incoming>,
    mut router: Router,
    local: SocketAddr,
    limits: AdminLimits,
    metrics: Arc<Metrics>,
) -> Result<Response, Infallible> {
    let (mut parts, body) = req.into_parts();
    // A declared length past the limit is refused before a byte of it is read.
    if hyper::body::Body::size_hint(&body).lower() > BODY_MAX as u64 {
        return Ok(closing(too_large()));
    }
    let body = Limited::new(body, BODY_MAX).collect();
    let body = match tokio::time::timeout(limits.request_timeout, body).await {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return Ok(closing(too_large()));
        }
        Ok(Err(e)) => {
            return Ok(closing(super::error(
                StatusCode::BAD_REQUEST,
                format!("cannot read the request body: {e}"),
            )));
        }
        Err(_) => {
            metrics.admin_closed(AdminClosed::Timeout);
            return Ok(closing(super::error(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive within request_timeout",
            )));
        }
    };
    parts.extensions.insert(Local(local));
    let req = Request::from_parts(parts, Body::from(body));
    tower_service::Service::call(&mut router, req).await
}

fn too_large() -> Response {
    super::error(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request bodies are limited to {BODY_MAX} bytes"),
    )
}

/// A response after which the connection closes (what is left of the request is unread).
fn closing(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// A TCP stream whose writes fail with `TimedOut` once one has waited `limit` for the client
/// to take data: hyper has no write timeout, and a client that never reads would hold its
/// connection (and slot) forever.
struct Stalls {
    io: TcpStream,
    limit: Duration,
    timer: Pin<Box<Sleep>>,
    armed: bool,
}

impl Stalls {
    fn new(io: TcpStream, limit: Duration) -> Stalls {
        Stalls {
            io,
            limit,
            timer: Box::pin(tokio::time::sleep(limit)),
            armed: false,
        }
    }

    /// After a write returned `Pending`: `Pending` until the limit, then the error.
    fn stalled<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if !self.armed {
            self.armed = true;
            let deadline = tokio::time::Instant::now() + self.limit;
            self.timer.as_mut().reset(deadline);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took no data within request_timeout",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progressed<T>(
        &mut self,
        r: Poll<io::Result<T>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<T>> {
        match r {
            Poll::Pending => self.stalled(cx),
            done => {
                self.armed = false;
                done
            }
        }
    }
}

impl AsyncRead for Stalls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stalls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write(cx, buf);
        this.progressed(r, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.progressed(r, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_flush(cx);
        this.progressed(r, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
