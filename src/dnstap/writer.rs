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
        let mut retry = Retry::new();
        let socket = self.socket.display().to_string();
        loop {
            let stopping = self.tap.stopping.load(Ordering::Acquire);
            let Some(s) = &conn else {
                if stopping {
                    self.discard();
                    return;
                }
                if retry.due() {
                    match self.connect() {
                        Ok(s) => {
                            tracing::info!(socket = %socket, "dnstap collector connected");
                            self.tap.metrics.dnstap_connected(true);
                            conn = Some(s);
                            retry.connected();
                            continue;
                        }
                        Err(e) if retry.told_absent => {
                            tracing::debug!(socket = %socket, error = %e, "dnstap collector still unreachable");
                            retry.failed();
                        }
                        Err(e) => {
                            tracing::warn!(socket = %socket, error = %e, "dnstap collector unreachable; dropping messages and retrying");
                            retry.failed();
                        }
                    }
                }
                self.discard();
                self.nap(NAP.min(retry.until()));
                continue;
            };
            self.buf.clear();
            let n = self.fill();
            if n > 0 {
                if let Err(e) = send_all(s, &self.buf) {
                    tracing::warn!(socket = %socket, error = %e, "dnstap collector went away; dropping messages and reconnecting");
                    self.tap
                        .metrics
                        .dnstap_dropped(DnstapDropped::NoCollector, n);
                    conn = None;
                    self.tap.metrics.dnstap_connected(false);
                    retry.lost();
                } else {
                    self.tap.metrics.dnstap_sent(n);
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
                conn = None;
                self.tap.metrics.dnstap_connected(false);
                retry.lost();
                continue;
            }
            self.nap(NAP);
        }
    }
}

/// When to try connecting again: 100 ms after a failure, doubling up to 5 s; and whether the
/// collector's absence has been logged since it was last connected (it is logged once).
struct Retry {
    wait: Duration,
    at: Instant,
    told_absent: bool,
}

impl Retry {
    fn new() -> Retry {
        Retry {
            wait: BACKOFF_FIRST,
            at: Instant::now(),
            told_absent: false,
        }
    }

    fn due(&self) -> bool {
        Instant::now() >= self.at
    }

    fn until(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    fn connected(&mut self) {
        self.wait = BACKOFF_FIRST;
        self.told_absent = false;
    }

    fn failed(&mut self) {
        self.at = Instant::now() + self.wait;
        self.wait = (self.wait * 2).min(BACKOFF_MAX);
        self.told_absent = true;
    }

    /// A connected collector went away (logged already): first retry after `BACKOFF_FIRST`.
    fn lost(&mut self) {
        self.wait = BACKOFF_FIRST;
        self.failed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_from_100ms_doubling_to_5s_and_reset_on_connect() {
        let mut r = Retry::new();
        assert!(r.due(), "the first try is at once");
        let mut waits = Vec::new();
        for _ in 0..8 {
            waits.push(r.wait);
            r.failed();
        }
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, vec![100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert!(!r.due() && r.until() <= BACKOFF_MAX && r.told_absent);
        r.connected();
        assert!(!r.told_absent);
        r.lost();
        assert_eq!(
            r.wait,
            BACKOFF_FIRST * 2,
            "after a loss: 100 ms, then 200 ms"
        );
        assert!(r.until() <= BACKOFF_FIRST);
    }
}
