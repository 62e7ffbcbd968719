//! TCP listeners (RFC 7766): pipelined queries answered in order on each connection, an idle
//! timeout, and a cap on open connections (past it, new connections are closed at once).
//!
//! Owns: connection lifecycle and framing. Must not: hold a snapshot across awaits; each query
//! loads its own.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::handler::{Transport, handle};
use crate::metrics::Metrics;
use crate::snapshot::Snapshot;

/// Limits of the TCP side.
#[derive(Clone, Copy, Debug)]
pub struct TcpLimits {
    /// Close a connection after this long without a query.
    pub idle_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

/// Binds a TCP listener with SO_REUSEADDR (fast restarts).
pub fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let domain = if addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_reuse_address(true)?;
    s.set_nodelay(true)?;
    s.bind(&addr.into())?;
    s.listen(1024)?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// Accepts connections until `cancel` fires; connections live in `tracker`.
pub async fn serve(
    listener: TcpListener,
    state: Arc<ArcSwap<Snapshot>>,
    metrics: Arc<Metrics>,
    limits: TcpLimits,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let (stream, peer) = tokio::select! {
            _ = cancel.cancelled() => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!(error = %e, "tcp accept failed");
                    // Out of descriptors and the like: give the system a moment.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "tcp connection limit reached; closing");
            drop(stream);
            continue;
        };
        let (state, metrics, cancel) = (state.clone(), metrics.clone(), cancel.clone());
        tracker.spawn(async move {
            let _permit = permit;
            if let Err(e) = connection(stream, peer, state, metrics, limits, cancel).await {
                tracing::debug!(error = %e, %peer, "tcp connection ended");
            }
        });
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    state: Arc<ArcSwap<Snapshot>>,
    metrics: Arc<Metrics>,
    limits: TcpLimits,
    cancel: CancellationToken,
) -> io::Result<()> {
    let (r, w) = stream.into_split();
    let mut r = BufReader::with_capacity(16 * 1024, r);
    let mut w = BufWriter::with_capacity(16 * 1024, w);
    let mut msg = vec![0u8; 65535];
    let mut out = Vec::with_capacity(4096);
    loop {
        let len = tokio::select! {
            _ = cancel.cancelled() => break,
            r = tokio::time::timeout(limits.idle_timeout, r.read_u16()) => match r {
                Err(_) => break, // idle
                Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                Ok(x) => x? as usize,
            },
        };
        // A peer that stalls mid-message is as idle as one that sends nothing.
        match tokio::time::timeout(limits.idle_timeout, r.read_exact(&mut msg[..len])).await {
            Ok(x) => x?,
            Err(_) => break,
        };
        let answered = {
            let snap = state.load();
            handle(&snap, &msg[..len], peer.ip(), Transport::Tcp, &mut out)
        };
        let Some(o) = answered else { continue };
        metrics.query(Transport::Tcp, o.answered);
        w.write_all(&(out.len() as u16).to_be_bytes()).await?;
        w.write_all(&out).await?;
        // Batch the writes of pipelined queries; flush once nothing more is waiting.
        if r.buffer().is_empty() {
            w.flush().await?;
        }
    }
    w.flush().await?;
    w.into_inner().shutdown().await.ok();
    Ok(())
}
