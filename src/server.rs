//! Wiring: bound sockets in, a running server out, and a cancellation token to stop it.
//!
//! Owns: starting the UDP workers and TCP acceptors over sockets the caller bound, reloading
//! (validate off the answer path, then one atomic swap), and graceful shutdown (listeners
//! closed, in-flight queries answered). Must not: parse configuration or answer queries itself.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::diag::Diagnostic;
use crate::dns::tcp::{self, TcpLimits};
use crate::dns::udp;
use crate::health::{self, HealthHandle};
use crate::metrics::Metrics;
use crate::snapshot::{Served, Snapshot};

/// Sockets bound for the DNS side, before serving.
#[derive(Debug)]
pub struct Bound {
    /// UDP sockets (`threads` per address, sharing the port with SO_REUSEPORT).
    pub udp: Vec<std::net::UdpSocket>,
    /// One TCP listener per address.
    pub tcp: Vec<std::net::TcpListener>,
}

impl Bound {
    /// Binds UDP and TCP on every address. With port 0, the port the kernel picks for the first
    /// UDP socket is used for that address's other sockets and its TCP listener.
    pub fn bind(listen: &[SocketAddr], threads: usize) -> io::Result<Bound> {
        let mut b = Bound {
            udp: Vec::new(),
            tcp: Vec::new(),
        };
        for &addr in listen {
            let mut last_err = None;
            // With port 0 the TCP port may already be taken: try a few kernel picks.
            for _ in 0..8 {
                match Self::bind_one(addr, threads) {
                    Ok((mut u, t)) => {
                        b.udp.append(&mut u);
                        b.tcp.push(t);
                        last_err = None;
                        break;
                    }
                    Err(e) if addr.port() == 0 => last_err = Some(e),
                    Err(e) => return Err(io::Error::new(e.kind(), format!("{addr}: {e}"))),
                }
            }
            if let Some(e) = last_err {
                return Err(io::Error::new(e.kind(), format!("{addr}: {e}")));
            }
        }
        Ok(b)
    }

    fn bind_one(
        addr: SocketAddr,
        threads: usize,
    ) -> io::Result<(Vec<std::net::UdpSocket>, std::net::TcpListener)> {
        let first = udp::bind(addr)?;
        let actual = first.local_addr()?;
        let mut socks = vec![first];
        for _ in 1..threads.max(1) {
            socks.push(udp::bind(actual)?);
        }
        let t = tcp::bind(actual)?;
        Ok((socks, t))
    }

    /// The UDP addresses (one per listen address).
    pub fn udp_addrs(&self) -> Vec<SocketAddr> {
        let mut v: Vec<SocketAddr> = self
            .udp
            .iter()
            .filter_map(|s| s.local_addr().ok())
            .collect();
        v.dedup();
        v
    }

    /// The TCP addresses.
    pub fn tcp_addrs(&self) -> Vec<SocketAddr> {
        self.tcp
            .iter()
            .filter_map(|s| s.local_addr().ok())
            .collect()
    }
}

/// A running DNS server.
pub struct Server {
    /// The snapshot every query reads.
    pub state: Arc<ArcSwap<Snapshot>>,
    /// Query counters.
    pub metrics: Arc<Metrics>,
    /// The configuration file, for reloads.
    pub config_path: PathBuf,
    /// Drains and reloads of endpoint health.
    pub health: HealthHandle,
    /// UDP addresses served.
    pub udp_addrs: Vec<SocketAddr>,
    /// TCP addresses served.
    pub tcp_addrs: Vec<SocketAddr>,
    cancel: CancellationToken,
    tracker: TaskTracker,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts serving `served` on `bound`: first one round of health checks (so the first answer
    /// already reflects health), then the listeners. Must be called inside a tokio runtime.
    pub async fn start(
        bound: Bound,
        served: Arc<Served>,
        config_path: &Path,
    ) -> io::Result<Server> {
        let limits = TcpLimits {
            idle_timeout: served.config.server.tcp_idle_timeout,
            max_connections: served.config.server.tcp_connections_max,
        };
        let metrics = Arc::new(Metrics::default());
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let (state, health) = health::start(served, cancel.clone(), &tracker)
            .await
            .map_err(io::Error::other)?;
        let udp_addrs = bound.udp_addrs();
        let tcp_addrs = bound.tcp_addrs();
        let mut threads = Vec::new();
        for s in bound.udp {
            threads.push(udp::spawn(
                s,
                state.clone(),
                metrics.clone(),
                cancel.clone(),
            )?);
        }
        for l in bound.tcp {
            let l = tokio::net::TcpListener::from_std(l)?;
            tracker.spawn(tcp::serve(
                l,
                state.clone(),
                metrics.clone(),
                limits,
                cancel.clone(),
                tracker.clone(),
            ));
        }
        for a in &udp_addrs {
            tracing::info!(proto = %"udp", addr = %a, "listening");
        }
        for a in &tcp_addrs {
            tracing::info!(proto = %"tcp", addr = %a, "listening");
        }
        Ok(Server {
            state,
            metrics,
            config_path: config_path.to_path_buf(),
            health,
            udp_addrs,
            tcp_addrs,
            cancel,
            tracker,
            threads,
        })
    }

    /// Reloads the configuration and zones from `config_path`. On any error the running
    /// snapshot stays and the errors are returned. Loading runs on a blocking thread, off the
    /// answer path.
    pub async fn reload(&self) -> Result<(), Vec<Diagnostic>> {
        let path = self.config_path.clone();
        let served = tokio::task::spawn_blocking(move || Served::load(&path))
            .await
            .map_err(|e| {
                vec![Diagnostic::new(
                    &self.config_path,
                    0,
                    0,
                    format!("reload task failed: {e}"),
                )]
            })??;
        let current = self.state.load_full();
        self.health.reload(Arc::new(served), &current).await;
        Ok(())
    }

    /// A token that stops the server when cancelled.
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Stops accepting, lets in-flight queries finish, and waits for every worker.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
        let threads = self.threads;
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}
