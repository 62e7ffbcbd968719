//! dnstap query logging (`[dnstap]`): every query received (AUTH_QUERY) and response sent
//! (AUTH_RESPONSE), with addresses, ports, protocol, times and the wire message, written to a
//! collector's unix socket in Frame Streams (`fstrm`) by one writer thread (`writer`).
//!
//! The answer path only copies: `Dnstap::query` / `Dnstap::response` put the metadata and the
//! wire bytes into a free slot of a preallocated lock-free ring (`queue`), or count a drop when
//! every slot is taken. Nothing there allocates, locks, waits or makes a system call (save one
//! `unpark` per 1024 messages while the writer naps), so a slow or absent collector costs
//! dropped log messages (`gslb_dnstap_dropped_total`), never a delayed answer.
//!
//! Owns: the rings, the writer thread, what is logged. Must not: be on the answer path's
//! critical section beyond a copy, or read the snapshot (it is configured once, at start).

mod fstrm;
mod proto;
mod queue;
mod writer;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{JoinHandle, Thread};

pub use proto::{Kind, Meta, Timestamp};

use crate::config;
use crate::metrics::{DnstapDropped, Metrics};
use crate::wire::Transport;
use queue::Ring;

/// The slot sizes and counts of the rings, smallest first: a message goes to the first ring
/// whose slots hold it. Most queries and answers fit 512 bytes; 4096 holds every UDP query we
/// read and the answers of a raised `udp_payload_max`; 65535 any DNS message (TCP). The memory
/// is mapped lazily: 4 + 4 + 4 MiB at most, touched as slots are used.
const RINGS: [(usize, usize); 3] = [(8192, 512), (1024, 4096), (64, 65535)];
/// While the writer naps, every this-many-th message of a ring wakes it (a power of two).
const WAKE_EVERY: usize = 1024;

/// The shared side of dnstap: what the answer path pushes into and the writer drains.
pub struct Dnstap {
    rings: [Ring<Meta>; 3],
    queries: bool,
    responses: bool,
    metrics: Arc<Metrics>,
    /// The writer thread, for the wake-ups.
    writer: OnceLock<Thread>,
    /// The writer is napping (nothing to do last time it looked).
    sleeping: AtomicBool,
    /// Shutdown asked: the writer drains, says STOP and ends.
    stopping: AtomicBool,
}

impl std::fmt::Debug for Dnstap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dnstap")
            .field("queries", &self.queries)
            .field("responses", &self.responses)
            .finish_non_exhaustive()
    }
}

impl Dnstap {
    fn new(cfg: &config::Dnstap, metrics: Arc<Metrics>) -> Dnstap {
        Dnstap {
            rings: RINGS.map(|(slots, bytes)| Ring::new(slots, bytes)),
            queries: cfg.queries,
            responses: cfg.responses,
            metrics,
            writer: OnceLock::new(),
            sleeping: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
        }
    }

    /// Logs a query from `client` to our `server` address, received at `at`.
    pub fn query(
        &self,
        transport: Transport,
        client: SocketAddr,
        server: SocketAddr,
        at: Timestamp,
        wire: &[u8],
    ) {
        if !self.queries {
            return;
        }
        let meta = Meta {
            kind: Kind::Query,
            transport,
            client,
            server,
            query_time: at,
            response_time: Timestamp::default(),
        };
        self.push(meta, wire);
    }

    /// Logs the response to a query received at `query_time`, sent now.
    pub fn response(
        &self,
        transport: Transport,
        client: SocketAddr,
        server: SocketAddr,
        query_time: Timestamp,
        wire: &[u8],
    ) {
        if !self.responses || wire.is_empty() {
            return;
        }
        let meta = Meta {
            kind: Kind::Response,
            transport,
            client,
            server,
            query_time,
            response_time: Timestamp::now(),
        };
        self.push(meta, wire);
    }

    fn push(&self, meta: Meta, wire: &[u8]) {
        let Some(ring) = self.rings.iter().find(|r| wire.len() <= r.slot_bytes()) else {
            // Longer than any DNS message: nothing sends one.
            self.metrics.dnstap_dropped(DnstapDropped::Full, 1);
            return;
        };
        match ring.push(meta, wire) {
            Some(pos) => {
                if pos & (WAKE_EVERY - 1) == 0
                    && self.sleeping.load(Ordering::Relaxed)
                    && let Some(t) = self.writer.get()
                {
                    t.unpark();
                }
            }
            None => self.metrics.dnstap_dropped(DnstapDropped::Full, 1),
        }
    }
}

/// The writer thread of a running dnstap; `stop` ends it (and dropping it tells it to end, for
/// a server whose start failed half-way).
#[derive(Debug)]
pub struct Writer {
    tap: Arc<Dnstap>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Drains what is queued to the collector (if one is connected), sends STOP, waits for its
    /// FINISH (bounded), and joins the thread. Blocks: call it off the runtime's threads, after
    /// the listeners have stopped, so their last messages are written.
    pub fn stop(mut self) {
        self.tell_stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    fn tell_stop(&self) {
        self.tap.stopping.store(true, Ordering::Release);
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.tell_stop();
    }
}

/// Starts dnstap as `cfg` says: the rings and the writer thread, which connects to the collector
/// (and reconnects, with backoff) by itself. `identity` and `version` fill the dnstap fields of
/// the same names (`[server] identity` and `version`).
pub fn start(
    cfg: &config::Dnstap,
    identity: &str,
    version: &str,
    metrics: Arc<Metrics>,
) -> io::Result<(Arc<Dnstap>, Writer)> {
    metrics.dnstap_enable();
    let tap = Arc::new(Dnstap::new(cfg, metrics));
    let w = writer::Writer::new(
        tap.clone(),
        cfg.socket.clone(),
        identity.as_bytes().to_vec(),
        version.as_bytes().to_vec(),
    );
    let thread = std::thread::Builder::new()
        .name("gslb-dnstap".into())
        .spawn(move || w.run())?;
    let _ = tap.writer.set(thread.thread().clone());
    Ok((
        tap.clone(),
        Writer {
            tap,
            thread: Some(thread),
        },
    ))
}
