//! TCP listeners (RFC 7766, RFC 9210): pipelined queries answered in order on each connection,
//! and a connection table that no client can fill or hold:
//!
//! - at most `per_client` connections per source address: past it the newcomer is closed at once;
//! - at most `max_connections` in all: when full, the longest-idle connection is closed to admit
//!   the newcomer (RFC 9210 §4), so a flood of idle connections cannot lock clients out;
//! - `idle_timeout` between queries; `io_timeout` for the rest of a query once its first byte
//!   has come, and for each answer to be taken by the client (a client that never reads is
//!   reset, which also frees its kernel send queue).
//!
//! Owns: connection lifecycle, framing and the table. Must not: hold a snapshot across awaits
//! (each query loads its own), or lock or allocate per query (the table is locked on accept and
//! close only; a query touches its own connection's atomic; dnstap copies into its ring).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::handler::{Transport, handle};
use crate::dnstap::{Dnstap, Timestamp};
use crate::metrics::{Metrics, TcpClosed};
use crate::net::{accept, reset};
use crate::snapshot::Snapshot;

/// The kernel send buffer of each connection. Linux doubles it, so 128 KiB may wait for one
/// client: two largest DNS messages. Left to autotuning it grew to ~2.8 MB for a client that
/// never read; 1024 of those is gigabytes of kernel memory.
const SEND_BUFFER: usize = 64 * 1024;

/// Limits of the TCP side.
#[derive(Clone, Copy, Debug)]
pub struct TcpLimits {
    /// Close a connection after this long without a query.
    pub idle_timeout: Duration,
    /// Most connections open at once; past it the longest-idle one is closed.
    pub max_connections: usize,
    /// Most connections one source address may hold; past it the new one is closed.
    pub per_client: usize,
    /// A query whose first byte has come, and each answer, must be through within this.
    pub io_timeout: Duration,
}

/// One connection in the table: what eviction reads and how it closes the connection.
#[derive(Debug)]
struct Slot {
    peer: IpAddr,
    /// When the connection was opened or last received a whole query, in µs since the table's
    /// epoch.
    active: AtomicU64,
    evict: CancellationToken,
}

#[derive(Debug, Default)]
struct Entries {
    next_id: u64,
    conns: HashMap<u64, Arc<Slot>>,
    per_client: HashMap<IpAddr, usize>,
}

/// Every open connection, for the per-client cap and longest-idle eviction.
#[derive(Debug)]
struct Table {
    epoch: Instant,
    limits: TcpLimits,
    entries: Mutex<Entries>,
}

impl Table {
    fn new(limits: TcpLimits) -> Table {
        Table {
            epoch: Instant::now(),
            limits,
            entries: Mutex::new(Entries::default()),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // A panic while holding it leaves the maps consistent (every update is one statement).
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a connection from `peer`: its id and slot, and the connection evicted to make
    /// room (already out of the table and told to close), if any. `None`: `peer` holds its
    /// share already.
    fn admit(&self, peer: IpAddr) -> Option<(u64, Arc<Slot>, Option<Arc<Slot>>)> {
        let mut e = self.lock();
        let held = e.per_client.get(&peer).copied().unwrap_or(0);
        if held >= self.limits.per_client {
            return None;
        }
        let mut victim = None;
        if e.conns.len() >= self.limits.max_connections {
            // O(table) on accept when full only; the table is bounded by the config.
            let oldest = e
                .conns
                .iter()
                .min_by_key(|(_, s)| s.active.load(Ordering::Relaxed))
                .map(|(id, _)| *id);
            if let Some(id) = oldest {
                victim = Self::remove(&mut e, id);
            }
        }
        let id = e.next_id;
        e.next_id += 1;
        let slot = Arc::new(Slot {
            peer,
            active: AtomicU64::new(self.now()),
            evict: CancellationToken::new(),
        });
        e.conns.insert(id, slot.clone());
        *e.per_client.entry(peer).or_insert(0) += 1;
        drop(e);
        if let Some(v) = &victim {
            v.evict.cancel();
        }
        Some((id, slot, victim))
    }

    fn remove(e: &mut Entries, id: u64) -> Option<Arc<Slot>> {
        let slot = e.conns.remove(&id)?;
        if let Some(n) = e.per_client.get_mut(&slot.peer) {
            *n -= 1;
            if *n == 0 {
                e.per_client.remove(&slot.peer);
            }
        }
        Some(slot)
    }

    /// Takes a connection out of the table (a no-op when it was evicted, so already out).
    fn release(&self, id: u64) {
        Self::remove(&mut self.lock(), id);
    }
}

/// Holds a connection's place in the table until the connection ends.
struct Admitted {
    table: Arc<Table>,
    id: u64,
    slot: Arc<Slot>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.table.release(self.id);
    }
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
    dnstap: Option<Arc<Dnstap>>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    let table = Arc::new(Table::new(limits));
    loop {
        let Some((stream, peer)) = accept(&listener, &cancel, "dns-tcp").await else {
            return;
        };
        let Some((id, slot, victim)) = table.admit(peer.ip()) else {
            tracing::debug!(%peer, "tcp connections per client reached; closing");
            metrics.tcp_closed(TcpClosed::PerClient);
            reset(&stream);
            drop(stream);
            continue;
        };
        if let Some(v) = victim {
            tracing::debug!(peer = %v.peer, "tcp table full; closing the longest-idle connection");
            metrics.tcp_closed(TcpClosed::Evicted);
        }
        let _ = socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER);
        let admitted = Admitted {
            table: table.clone(),
            id,
            slot,
        };
        let (state, metrics, cancel) = (state.clone(), metrics.clone(), cancel.clone());
        let dnstap = dnstap.clone();
        tracker.spawn(async move {
            let mut c = Connection::new(stream, peer, &admitted.slot, &metrics, limits);
            c.dnstap = dnstap.as_deref();
            let end = c.run(&state, &admitted.table, &cancel).await;
            c.close(end).await;
            drop(admitted);
        });
    }
}

/// How a connection's loop ended.
enum End {
    /// The client hung up, or the server is shutting down: close after what was answered.
    Done,
    /// No query for the idle timeout.
    Idle,
    /// Evicted while waiting for a query: close after what was answered.
    Evicted,
    /// Evicted, or out of `io_timeout`, in the middle of a query or an answer: reset.
    Stalled,
    /// A socket error: nothing more can be sent.
    Broken(io::Error),
}

struct Connection<'a> {
    r: BufReader<OwnedReadHalf>,
    w: BufWriter<OwnedWriteHalf>,
    peer: SocketAddr,
    /// Our address the client connected to (for dnstap).
    local: SocketAddr,
    slot: &'a Slot,
    metrics: &'a Metrics,
    dnstap: Option<&'a Dnstap>,
    limits: TcpLimits,
    msg: Vec<u8>,
    out: Vec<u8>,
}

impl<'a> Connection<'a> {
    fn new(
        stream: TcpStream,
        peer: SocketAddr,
        slot: &'a Slot,
        metrics: &'a Metrics,
        limits: TcpLimits,
    ) -> Connection<'a> {
        let local = stream
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (r, w) = stream.into_split();
        Connection {
            r: BufReader::with_capacity(16 * 1024, r),
            w: BufWriter::with_capacity(16 * 1024, w),
            peer,
            local,
            slot,
            metrics,
            dnstap: None,
            limits,
            msg: vec![0u8; 65535],
            out: Vec::with_capacity(4096),
        }
    }

    async fn run(
        &mut self,
        state: &ArcSwap<Snapshot>,
        table: &Table,
        cancel: &CancellationToken,
    ) -> End {
        let (idle, io) = (self.limits.idle_timeout, self.limits.io_timeout);
        loop {
            // Between queries: the idle timeout, and shutdown, apply.
            if self.r.buffer().is_empty() {
                let first = tokio::select! {
                    _ = self.slot.evict.cancelled() => return End::Evicted,
                    _ = cancel.cancelled() => return End::Done,
                    r = tokio::time::timeout(idle, self.r.fill_buf()) => r.map(|r| r.map(<[u8]>::is_empty)),
                };
                match first {
                    Err(_) => return End::Idle,
                    Ok(Ok(true)) => return End::Done,
                    Ok(Ok(false)) => {}
                    Ok(Err(e)) => return End::Broken(e),
                }
            }
            // A query has begun: all of it must come within the I/O timeout, however slowly
            // its bytes trickle in (RFC 9210 §4).
            let (r, msg) = (&mut self.r, &mut self.msg);
            let read = async {
                let len = r.read_u16().await? as usize;
                r.read_exact(&mut msg[..len]).await?;
                Ok::<usize, io::Error>(len)
            };
            let len = tokio::select! {
                _ = self.slot.evict.cancelled() => return End::Stalled,
                r = tokio::time::timeout(io, read) => match r {
                    Err(_) => return self.timed_out("query"),
                    Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => return End::Done,
                    Ok(Err(e)) => return End::Broken(e),
                    Ok(Ok(len)) => len,
                },
            };
            // Stamped on receipt, before the answer goes out: the order eviction sees is the
            // order the queries came in, and a client that stops taking answers ages.
            self.slot.active.store(table.now(), Ordering::Relaxed);
            let received = self.dnstap.map(|tap| {
                let at = Timestamp::now();
                tap.query(Transport::Tcp, self.peer, self.local, at, &self.msg[..len]);
                at
            });
            let answered = {
                let snap = state.load();
                handle(
                    &snap,
                    &self.msg[..len],
                    self.peer.ip(),
                    Transport::Tcp,
                    &mut self.out,
                )
            };
            if let Some(o) = answered {
                self.metrics.query(Transport::Tcp, o.answered);
                if let (Some(tap), Some(at)) = (self.dnstap, received) {
                    tap.response(Transport::Tcp, self.peer, self.local, at, &self.out);
                }
                // Batch the writes of pipelined queries; flush once nothing more is waiting.
                let flush = self.r.buffer().is_empty();
                let (w, out) = (&mut self.w, &self.out);
                let write = async {
                    w.write_all(&(out.len() as u16).to_be_bytes()).await?;
                    w.write_all(out).await?;
                    if flush {
                        w.flush().await?;
                    }
                    Ok::<(), io::Error>(())
                };
                tokio::select! {
                    _ = self.slot.evict.cancelled() => return End::Stalled,
                    r = tokio::time::timeout(io, write) => match r {
                        Err(_) => return self.timed_out("answer"),
                        Ok(Err(e)) => return End::Broken(e),
                        Ok(Ok(())) => {}
                    },
                }
            }
        }
    }

    fn timed_out(&self, what: &'static str) -> End {
        tracing::debug!(peer = %self.peer, reason = %what, "tcp i/o timeout; resetting");
        self.metrics.tcp_closed(TcpClosed::IoTimeout);
        End::Stalled
    }

    async fn close(self, end: End) {
        let Connection {
            w,
            peer,
            metrics,
            limits,
            ..
        } = self;
        match end {
            End::Broken(e) => {
                tracing::debug!(error = %e, %peer, "tcp connection ended");
                return;
            }
            End::Stalled => {
                reset(w.get_ref().as_ref());
                return;
            }
            End::Idle => metrics.tcp_closed(TcpClosed::Idle),
            End::Done | End::Evicted => {}
        }
        // Graceful: what was answered goes out, then a FIN; a client that will not take it
        // within the I/O timeout is reset.
        let mut w = w;
        let finish = async {
            w.flush().await?;
            w.get_mut().shutdown().await
        };
        if tokio::time::timeout(limits.io_timeout, finish)
            .await
            .is_err()
        {
            reset(w.get_ref().as_ref());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize, per_client: usize) -> TcpLimits {
        TcpLimits {
            idle_timeout: Duration::from_secs(10),
            max_connections: max,
            per_client,
            io_timeout: Duration::from_secs(2),
        }
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn per_client_cap_counts_each_address_alone() {
        let t = Table::new(limits(100, 2));
        let a1 = t.admit(ip(1)).unwrap();
        let _a2 = t.admit(ip(1)).unwrap();
        assert!(t.admit(ip(1)).is_none(), "third from one address");
        assert!(t.admit(ip(2)).is_some(), "another address is admitted");
        t.release(a1.0);
        assert!(t.admit(ip(1)).is_some(), "a released place is free again");
    }

    #[test]
    fn full_table_evicts_the_least_recently_active() {
        let t = Table::new(limits(3, 10));
        let (_, s1, _) = t.admit(ip(1)).unwrap();
        let (_, s2, _) = t.admit(ip(2)).unwrap();
        let (_, s3, _) = t.admit(ip(3)).unwrap();
        s1.active.store(30, Ordering::Relaxed);
        s2.active.store(10, Ordering::Relaxed);
        s3.active.store(20, Ordering::Relaxed);
        let (_, _, victim) = t.admit(ip(4)).unwrap();
        let victim = victim.expect("someone evicted");
        assert_eq!(victim.peer, ip(2));
        assert!(s2.evict.is_cancelled() && !s1.evict.is_cancelled() && !s3.evict.is_cancelled());
        let e = t.lock();
        assert_eq!(e.conns.len(), 3);
        assert_eq!(
            e.per_client.get(&ip(2)),
            None,
            "the victim's address holds nothing"
        );
    }

    #[test]
    fn releasing_an_evicted_connection_frees_nothing_twice() {
        let t = Table::new(limits(1, 10));
        let (id1, _, _) = t.admit(ip(1)).unwrap();
        let (_, _, v) = t.admit(ip(1)).unwrap();
        assert!(v.is_some());
        t.release(id1);
        let e = t.lock();
        assert_eq!(e.conns.len(), 1);
        assert_eq!(e.per_client.get(&ip(1)), Some(&1));
    }
}
