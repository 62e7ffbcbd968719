//! The one dnstap writer: a thread that connects to the collector's unix socket (Frame Streams
//! handshake), drains the rings into data frames, and writes them in batches of up to 64 KiB.
//! Without a collector it reconnects with backoff (100 ms doubling to 5 s) and, meanwhile,
//! discards what is queued, counted as dropped, so what reaches a collector later is current.
//!
//! Owns: the connection and its state changes (logged once each). Must not: be waited on by
//! anything on the answer path; every socket operation here has a timeout.

use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{Dnstap, fstrm, proto};
use crate::metrics::DnstapDropped;

/// The first wait before reconnecting, doubled after each failure up to `BACKOFF_MAX`.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long the writer naps when there is nothing to write.
const NAP: Duration = Duration::from_millis(10);
/// A write or the handshake taking longer than this means the collector is stuck: reconnect.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// How long shutdown waits for the collector's FINISH.
const FINISH_WAIT: Duration = Duration::from_secs(1);
/// Frames are written in batches of about this many bytes.
const BATCH: usize = 64 * 1024;

pub(super) struct Writer {
    tap: Arc<Dnstap>,
    socket: PathBuf,
    identity: Vec<u8>,
    version: Vec<u8>,
    buf: Vec<u8>,
    scratch: Vec<u8>,
}

/// Writes all of `b` without raising SIGPIPE when the collector has gone.
fn send_all(s: &UnixStream, mut b: &[u8]) -> io::Result<()> {
    let sock = socket2::SockRef::from(s);
    while !b.is_empty() {
        match sock.send_with_flags(b, libc::MSG_NOSIGNAL) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => b = &b[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Whether the collector has closed its end (checked while idle, so a collector that went away
/// shows as disconnected before the next message would find it out).
fn hung_up(s: &UnixStream) -> bool {
    let mut b = [std::mem::MaybeUninit::<u8>::uninit(); 1];
    matches!(
        socket2::SockRef::from(s).recv_with_flags(&mut b, libc::MSG_PEEK | libc::MSG_DONTWAIT),
        Ok(0)
    )
}

/// A `Write` for the handshake, over `send_all`.
struct NoSignal<'a>(&'a UnixStream);

impl Write for NoSignal<'_> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        send_all(self.0, b).map(|()| b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl io::Read for NoSignal<'_> {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        io::Read::read(&mut &*self.0, b)
    }
}

impl Writer {
    pub(super) fn new(
        tap: Arc<Dnstap>,
        socket: PathBuf,
        identity: Vec<u8>,
        version: Vec<u8>,
    ) -> Writer {
        Writer {
            tap,
            socket,
            identity,
            version,
            buf: Vec::with_capacity(BATCH + 70 * 1024),
            scratch: Vec::with_capacity(70 * 1024),
        }
    }

    fn connect(&self) -> Result<UnixStream, fstrm::FstrmError> {
        let s = UnixStream::connect(&self.socket)?;
        s.set_read_timeout(Some(IO_TIMEOUT))?;
        s.set_write_timeout(Some(IO_TIMEOUT))?;
        fstrm::handshake(&mut NoSignal(&s))?;
        Ok(s)
    }

    /// Moves queued messages into `buf` as data frames, up to about `BATCH` bytes: how many.
    fn fill(&mut self) -> u64 {
        let mut n = 0;
        let (buf, scratch) = (&mut self.buf, &mut self.scratch);
        let (identity, version) = (&self.identity, &self.version);
        for ring in &self.tap.rings {
            while buf.len() < BATCH {
                let popped = ring.pop(|meta, wire| {
                    let at = fstrm::begin_frame(buf);
                    proto::encode(buf, scratch, identity, version, &meta, wire);
                    fstrm::end_frame(buf, at);
                });
                if popped.is_none() {
                    break;
                }
                n += 1;
            }
        }
        n
    }

    /// Throws away what is queued while no collector is connected.
    fn discard(&self) {
        let mut n = 0;
        for ring in &self.tap.rings {
            while ring.pop(|_, _| ()).is_some() {
                n += 1;
            }
        }
        if n > 0 {
            self.tap
                .metrics
                .dnstap_dropped(DnstapDropped::NoCollector, n);
        }
    }

    fn nap(&self, d: Duration) {
        self.tap.sleeping.store(true, Ordering::Relaxed);
        std::thread::park_timeout(d);
        self.tap.sleeping.store(false, Ordering::Relaxed);
    }

    pub(super) fn run(mut self) {
        let mut conn: Option<UnixStream> = None;
        let mut backoff = BACKOFF_FIRST;
        let mut next_try = Instant::now();
        // Whether the collector's absence has been logged since it was last connected.
        let mut told_absent = false;
        let socket = self.socket.display().to_string();
        loop {
            let stopping = self.tap.stopping.load(Ordering::Acquire);
            let Some(s) = &conn else {
                if stopping {
                    self.discard();
                    return;
                }
                let now = Instant::now();
                if now >= next_try {
                    match self.connect() {
                        Ok(s) => {
                            tracing::info!(socket = %socket, "dnstap collector connected");
                            self.tap.metrics.dnstap_connected(true);
                            conn = Some(s);
                            backoff = BACKOFF_FIRST;
                            told_absent = false;
                            continue;
                        }
                        Err(e) => {
                            if told_absent {
                                tracing::debug!(socket = %socket, error = %e, "dnstap collector still unreachable");
                            } else {
                                tracing::warn!(socket = %socket, error = %e, "dnstap collector unreachable; dropping messages and retrying");
                                told_absent = true;
                            }
                            next_try = now + backoff;
                            backoff = (backoff * 2).min(BACKOFF_MAX);
                        }
                    }
                }
                self.discard();
                self.nap(NAP.min(next_try.saturating_duration_since(Instant::now())));
                continue;
            };
            self.buf.clear();
            let n = self.fill();
            if n > 0 {
                match send_all(s, &self.buf) {
                    Ok(()) => self.tap.metrics.dnstap_sent(n),
                    Err(e) => {
                        tracing::warn!(socket = %socket, error = %e, "dnstap collector went away; dropping messages and reconnecting");
                        told_absent = true;
                        self.tap
                            .metrics
                            .dnstap_dropped(DnstapDropped::NoCollector, n);
                        conn = None;
                        self.tap.metrics.dnstap_connected(false);
                        next_try = Instant::now() + BACKOFF_FIRST;
                        backoff = BACKOFF_FIRST * 2;
                    }
                }
                continue;
            }
            if stopping {
                let _ = s.set_read_timeout(Some(FINISH_WAIT));
                match fstrm::stop(&mut NoSignal(s)) {
                    Ok(()) => tracing::debug!(socket = %socket, "dnstap stream finished"),
                    Err(e) => {
                        tracing::debug!(socket = %socket, error = %e, "dnstap collector did not finish")
                    }
                }
                self.tap.metrics.dnstap_connected(false);
                return;
            }
            if hung_up(s) {
                tracing::warn!(socket = %socket, "dnstap collector went away; dropping messages and reconnecting");
                told_absent = true;
                conn = None;
                self.tap.metrics.dnstap_connected(false);
                next_try = Instant::now() + BACKOFF_FIRST;
                backoff = BACKOFF_FIRST * 2;
                continue;
            }
            self.nap(NAP);
        }
    }
}
