//! UDP listeners: one OS thread per socket, each socket bound with SO_REUSEPORT so the kernel
//! spreads packets over `threads` sockets per address; on Linux each system call moves a batch
//! of datagrams (see `udp_batch`).
//!
//! Owns: the receive/answer/send loop and its buffers. Must not: await, lock or allocate per
//! packet; the only shared read is one snapshot load per packet. With dnstap on, each query and
//! each response sent is copied into dnstap's ring (never waited on).

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use arc_swap::ArcSwap;
use socket2::{Domain, Protocol, Socket, Type};
use tokio_util::sync::CancellationToken;

use super::handler::{Outcome, Transport, handle};
use super::rrl::{self, Action, Limiter};
use crate::dnstap::{Dnstap, Timestamp};
use crate::metrics::{Metrics, Tally};
use crate::snapshot::Snapshot;
use crate::wire::{rcode, rcode_in_place, truncate_in_place};

/// Response rate limiting of one answer (`out`): counts it, and slips it (truncates it in
/// place, or makes it BADCOOKIE when the client sent a cookie) or drops it (empties it) when
/// its bucket is over its rate, unless `log_only`.
fn rate_limit(
    limiter: &Limiter,
    snap: &Snapshot,
    o: &Outcome,
    now: u32,
    out: &mut Vec<u8>,
    tally: &mut rrl::Tally,
) {
    let Some(subject) = o.rrl else { return };
    let cfg = &snap.served.config.rrl;
    let verdict = limiter.check(cfg, subject.class, subject.key, now);
    tally.add(verdict.action, subject.class);
    if verdict.newly_limited && limiter.may_log(now) {
        tracing::info!(
            block = %subject.block,
            class = subject.class.as_str(),
            log_only = cfg.log_only,
            "rate limiting answers to a client block"
        );
    }
    if cfg.log_only {
        return;
    }
    match verdict.action {
        Action::Send => {}
        Action::Slip if o.slip_badcookie => {
            rcode_in_place(out, o.keep.0.into(), o.keep.1.into(), rcode::BADCOOKIE);
        }
        Action::Slip => truncate_in_place(out, o.keep.0.into(), o.keep.1.into()),
        Action::Drop => out.clear(),
    }
}

/// How often a worker looks at the cancellation token while no packet arrives.
const POLL: Duration = Duration::from_millis(100);

/// Binds one UDP socket with SO_REUSEPORT (so more can share the port).
pub fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
    let domain = if addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_reuse_port(true)?;
    // Large buffers ride out bursts while a worker is busy.
    let _ = s.set_recv_buffer_size(4 << 20);
    let _ = s.set_send_buffer_size(4 << 20);
    s.bind(&addr.into())?;
    let s: UdpSocket = s.into();
    s.set_read_timeout(Some(POLL))?;
    Ok(s)
}

/// Starts a worker thread answering on `sock` until `cancel` fires. Packets being answered when
/// it fires are still answered.
pub fn spawn(
    sock: UdpSocket,
    state: Arc<ArcSwap<Snapshot>>,
    metrics: Arc<Metrics>,
    limiter: Arc<Limiter>,
    dnstap: Option<Arc<Dnstap>>,
    cancel: CancellationToken,
) -> io::Result<JoinHandle<()>> {
    let name = format!("gslb-udp-{}", sock.local_addr()?);
    std::thread::Builder::new()
        .name(name)
        .spawn(move || worker(sock, state, metrics, limiter, dnstap, cancel))
}

#[cfg(target_os = "linux")]
fn worker(
    sock: UdpSocket,
    state: Arc<ArcSwap<Snapshot>>,
    metrics: Arc<Metrics>,
    limiter: Arc<Limiter>,
    dnstap: Option<Arc<Dnstap>>,
    cancel: CancellationToken,
) {
    let local = sock
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let wildcard = sock.local_addr().is_ok_and(|a| a.ip().is_unspecified());
    // On a wildcard bind, answer from the address each query was sent to.
    let pktinfo = wildcard
        && super::udp_batch::enable_pktinfo(&sock, sock.local_addr().is_ok_and(|a| a.is_ipv6()))
            .map_err(|e| tracing::warn!(error = %e, "cannot enable packet info; answers leave from the routing table's source address"))
            .is_ok();
    let mut batch = Box::new(super::udp_batch::Batch::new(pktinfo));
    let mut tally = Tally::default();
    let mut limited = rrl::Tally::default();
    while !cancel.is_cancelled() {
        let n = match batch.recv(&sock) {
            Ok(0) => continue,
            Ok(n) => n,
            Err(e) => {
                tracing::debug!(error = %e, "udp receive failed");
                continue;
            }
        };
        // One snapshot and one clock reading for the batch: every query in it reads the same.
        let snap = state.load();
        let now = limiter.now();
        let tap = dnstap.as_deref();
        let received = tap.map(|_| Timestamp::now());
        for i in 0..n {
            let mut out = std::mem::take(&mut batch.out[i]);
            out.clear();
            let (packet, peer) = batch.packet(i);
            if let Some(peer) = peer
                && let Some(o) = handle(&snap, packet, peer.ip(), Transport::Udp, &mut out)
            {
                tally.add(&metrics, Transport::Udp, o.answered);
                rate_limit(&limiter, &snap, &o, now, &mut out, &mut limited);
            } else {
                out.clear();
            }
            if let (Some(tap), Some(at), Some(peer)) = (tap, received, peer) {
                let server = batch
                    .dest_ip(i)
                    .map_or(local, |ip| SocketAddr::new(ip, local.port()));
                tap.query(Transport::Udp, peer, server, at, packet);
                tap.response(Transport::Udp, peer, server, at, &out);
            }
            batch.out[i] = out;
        }
        drop(snap);
        if let Err(e) = batch.send(&sock, n) {
            tracing::debug!(error = %e, "udp send failed");
        }
        metrics.flush(&mut tally);
        limiter.flush(&mut limited);
    }
}

#[cfg(not(target_os = "linux"))]
fn worker(
    sock: UdpSocket,
    state: Arc<ArcSwap<Snapshot>>,
    metrics: Arc<Metrics>,
    limiter: Arc<Limiter>,
    dnstap: Option<Arc<Dnstap>>,
    cancel: CancellationToken,
) {
    let local = sock
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let mut buf = vec![0u8; 65535];
    let mut out = Vec::with_capacity(4096);
    while !cancel.is_cancelled() {
        let (n, peer) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(e) => {
                tracing::debug!(error = %e, "udp receive failed");
                continue;
            }
        };
        let snap = state.load();
        let received = dnstap.as_ref().map(|_| Timestamp::now());
        if let Some(o) = handle(&snap, &buf[..n], peer.ip(), Transport::Udp, &mut out) {
            metrics.query(Transport::Udp, o.answered);
            let mut limited = rrl::Tally::default();
            rate_limit(&limiter, &snap, &o, limiter.now(), &mut out, &mut limited);
            limiter.flush(&mut limited);
            if let (Some(tap), Some(at)) = (&dnstap, received) {
                tap.query(Transport::Udp, peer, local, at, &buf[..n]);
                tap.response(Transport::Udp, peer, local, at, &out);
            }
            if out.is_empty() {
                continue;
            }
            if let Err(e) = sock.send_to(&out, peer) {
                tracing::debug!(error = %e, %peer, "udp send failed");
            }
        }
    }
}
