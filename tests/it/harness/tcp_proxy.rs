//! A TCP proxy the test controls, to put a network partition between a gslb instance and etcd:
//! it listens on 127.0.0.x (port 0) and forwards every connection to one target; [`TcpProxy::cut`]
//! closes every connection and the listener (a new connection is refused), [`TcpProxy::restore`]
//! listens again on the same address. It copies bytes and knows nothing of what they mean.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// A running proxy; it stops (closing every connection) when dropped.
pub(crate) struct TcpProxy {
    /// The address it listens on.
    pub addr: SocketAddr,
    target: SocketAddr,
    accepted: Arc<AtomicU64>,
    cancel: Option<CancellationToken>,
}

/// A listener on `addr` that a restart can bind again at once (SO_REUSEADDR).
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    s.bind(&addr.into())?;
    s.listen(128)?;
    s.set_nonblocking(true)?;
    TcpListener::from_std(s.into())
}

impl TcpProxy {
    /// A proxy on `ip` (a kernel-picked port) forwarding to `target`.
    pub(crate) fn start(ip: &str, target: SocketAddr) -> TcpProxy {
        let l = bind(SocketAddr::new(ip.parse().unwrap(), 0)).expect("bind proxy");
        let mut p = TcpProxy {
            addr: l.local_addr().unwrap(),
            target,
            accepted: Arc::default(),
            cancel: None,
        };
        p.serve(l);
        p
    }

    /// `http://addr`, for a config's `etcd` list.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far.
    pub(crate) fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }

    fn serve(&mut self, listener: TcpListener) {
        let cancel = CancellationToken::new();
        let (c, target, accepted) = (cancel.clone(), self.target, self.accepted.clone());
        tokio::spawn(async move {
            loop {
                let (mut inbound, _) = tokio::select! {
                    _ = c.cancelled() => return,
                    r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
                };
                accepted.fetch_add(1, Ordering::SeqCst);
                let c = c.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = inbound.set_nodelay(true);
                    let _ = outbound.set_nodelay(true);
                    // Dropping both streams on cancel closes them (the peer sees a reset or EOF).
                    tokio::select! {
                        _ = c.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    }
                });
            }
        });
        self.cancel = Some(cancel);
    }

    /// Closes every connection and the listener: the partition starts.
    pub(crate) fn cut(&mut self) {
        if let Some(c) = self.cancel.take() {
            c.cancel();
        }
    }

    /// Listens again on the same address: the partition ends (nothing to do when not cut).
    pub(crate) fn restore(&mut self) {
        if self.cancel.is_some() {
            return;
        }
        let l = bind(self.addr).expect("rebind proxy");
        self.serve(l);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
    }
}
