//! The backend fixture: tiny HTTP (or HTTPS) servers on 127.0.0.x that a test makes healthy,
//! failing (a status), hanging (accepts and never answers), or gone (listener closed), all
//! sharing one port so a single check can probe them all. Each counts the requests it got.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// How a backend answers.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Mode {
    /// 200 with body "OK" and an X-Load header.
    Ok(f64),
    /// This status, body "nope".
    Status(u16),
    /// Accept, read, never answer.
    Hang,
}

/// One backend.
pub(crate) struct Backend {
    /// Its address.
    pub addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    requests: Arc<AtomicU64>,
    tls: Option<TlsAcceptor>,
    cancel: Option<CancellationToken>,
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    s.bind(&addr.into())?;
    s.listen(128)?;
    s.set_nonblocking(true)?;
    TcpListener::from_std(s.into())
}

/// Reads one request head and answers it as `mode` says (counting it in `requests`).
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    mode: &Mutex<Mode>,
    requests: &AtomicU64,
    cancel: &CancellationToken,
) {
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::select! {
            _ = cancel.cancelled() => return,
            r = s.read(&mut buf) => match r { Ok(0) | Err(_) => return, Ok(n) => n },
        };
        got.extend_from_slice(&buf[..n]);
    }
    requests.fetch_add(1, Ordering::SeqCst);
    let m = mode.lock().unwrap().clone();
    let resp = match m {
        Mode::Ok(load) => format!(
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Load: {load}\r\nConnection: close\r\n\r\nOK"
        ),
        Mode::Status(code) => {
            format!("HTTP/1.1 {code} Nope\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope")
        }
        Mode::Hang => {
            cancel.cancelled().await;
            return;
        }
    };
    let _ = s.write_all(resp.as_bytes()).await;
    let _ = s.shutdown().await;
}

impl Backend {
    fn serve(&mut self, listener: TcpListener) {
        let cancel = CancellationToken::new();
        let (mode, requests, tls, c) = (
            self.mode.clone(),
            self.requests.clone(),
            self.tls.clone(),
            cancel.clone(),
        );
        tokio::spawn(async move {
            loop {
                let (s, _) = tokio::select! {
                    _ = c.cancelled() => return,
                    r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
                };
                let (mode, requests, tls, c) =
                    (mode.clone(), requests.clone(), tls.clone(), c.clone());
                tokio::spawn(async move {
                    match tls {
                        None => answer(s, &mode, &requests, &c).await,
                        Some(tls) => {
                            if let Ok(s) = tls.accept(s).await {
                                answer(s, &mode, &requests, &c).await;
                            }
                        }
                    }
                });
            }
        });
        self.cancel = Some(cancel);
    }

    /// Sets how it answers.
    pub(crate) fn set(&self, m: Mode) {
        *self.mode.lock().unwrap() = m;
    }

    /// Requests it has read so far (in any mode): the probes it received.
    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Closes the listener and every connection.
    pub(crate) fn stop(&mut self) {
        if let Some(c) = self.cancel.take() {
            c.cancel();
        }
    }

    /// Listens again on the same address.
    pub(crate) fn restart(&mut self) {
        self.stop();
        let l = bind(self.addr).expect("rebind backend");
        self.serve(l);
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts one HTTP backend per address, all on one port (found by trying kernel-picked ports),
/// answering `Mode::Ok(1.0)`.
pub(crate) async fn start(ips: &[&str]) -> Vec<Backend> {
    start_tls(ips, None).await
}

/// `start`, speaking HTTPS through `tls` when given.
pub(crate) async fn start_tls(ips: &[&str], tls: Option<TlsAcceptor>) -> Vec<Backend> {
    'attempt: for _ in 0..20 {
        let first: IpAddr = ips[0].parse().unwrap();
        let l0 = bind(SocketAddr::new(first, 0)).expect("bind backend");
        let port = l0.local_addr().unwrap().port();
        let mut listeners = vec![l0];
        for ip in &ips[1..] {
            match bind(SocketAddr::new(ip.parse().unwrap(), port)) {
                Ok(l) => listeners.push(l),
                Err(_) => continue 'attempt,
            }
        }
        let mut out = Vec::new();
        for l in listeners {
            let mut b = Backend {
                addr: l.local_addr().unwrap(),
                mode: Arc::new(Mutex::new(Mode::Ok(1.0))),
                requests: Arc::new(AtomicU64::new(0)),
                tls: tls.clone(),
                cancel: None,
            };
            b.serve(l);
            out.push(b);
        }
        return out;
    }
    panic!("could not find one free port on all of {ips:?}");
}
