//! Wiring: bound sockets in, a running server out, and a cancellation token to stop it.
//!
//! Owns: starting the UDP workers and TCP acceptors over sockets the caller bound, reloading
//! (validate off the answer path, then one atomic swap), and graceful shutdown (listeners
//! closed, in-flight queries answered). Must not: parse configuration or answer queries itself.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arc_swap::ArcSwap;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::diag::Diagnostic;
use crate::dns::tcp::{self, TcpLimits};
use crate::dns::udp;
use crate::health::{self, HealthHandle};
use crate::metrics::Metrics;
use crate::snapshot::{Served, Snapshot};

/// Sockets bound for the server, before serving.
#[derive(Debug)]
pub struct Bound {
    /// UDP sockets (`threads` per address, sharing the port with SO_REUSEPORT).
    pub udp: Vec<std::net::UdpSocket>,
    /// One TCP listener per address.
    pub tcp: Vec<std::net::TcpListener>,
    /// The admin API's listener, if it is to run.
    pub admin: Option<std::net::TcpListener>,
}

impl Bound {
    /// Binds UDP and TCP on every address. With port 0, the port the kernel picks for the first
    /// UDP socket is used for that address's other sockets and its TCP listener.
    pub fn bind(listen: &[SocketAddr], threads: usize) -> io::Result<Bound> {
        let mut b = Bound {
            udp: Vec::new(),
            tcp: Vec::new(),
            admin: None,
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

    /// Binds the admin API's listener too.
    pub fn with_admin(mut self, addr: SocketAddr) -> io::Result<Bound> {
        let l =
            tcp::bind(addr).map_err(|e| io::Error::new(e.kind(), format!("admin {addr}: {e}")))?;
        self.admin = Some(l);
        Ok(self)
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

/// What the server and the admin API share: the snapshot cell, counters, the health handle,
/// and reloading.
pub struct Control {
    /// The snapshot every query reads.
    pub state: Arc<ArcSwap<Snapshot>>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Drains and reloads of endpoint health.
    pub health: HealthHandle,
    /// The configuration file, for reloads.
    pub config_path: PathBuf,
    /// Reloads so far and how the last one went.
    pub reloads: ReloadStats,
    /// The admin bearer token (from `token_file`), re-read on every reload.
    pub admin_token: ArcSwap<Option<String>>,
    /// One reload at a time.
    reload_lock: tokio::sync::Mutex<()>,
}

/// Reload bookkeeping for metrics and the status page.
#[derive(Debug, Default)]
pub struct ReloadStats {
    /// Configuration generation: 1 at start, +1 per successful reload.
    pub generation: AtomicU64,
    /// Reloads rejected.
    pub failures: AtomicU64,
    /// Whether the last reload succeeded (true before any).
    pub last_ok: AtomicBool,
}

impl Control {
    /// Reloads the configuration and zones from `config_path`. On any error the running
    /// snapshot stays and the errors are returned. Loading runs on a blocking thread, off the
    /// answer path; the swap is one atomic store.
    pub async fn reload(&self) -> Result<(), Vec<Diagnostic>> {
        let _one = self.reload_lock.lock().await;
        let path = self.config_path.clone();
        let loaded = tokio::task::spawn_blocking(move || crate::load::from_file(&path))
            .await
            .map_err(|e| {
                vec![Diagnostic::new(
                    &self.config_path,
                    0,
                    0,
                    format!("reload task failed: {e}"),
                )]
            })
            .and_then(|r| r);
        // A token file that cannot be read rejects the reload like any other error.
        let loaded = loaded.and_then(|served| match &served.config.admin.token_file {
            None => Ok((served, None)),
            Some(p) => crate::admin::read_token(p)
                .map(|t| (served, Some(t)))
                .map_err(|e| vec![Diagnostic::new(&self.config_path, 0, 0, e)]),
        });
        let result = match loaded {
            Ok((served, token)) => {
                self.admin_token.store(Arc::new(token));
                let current = self.state.load_full();
                self.health.reload(Arc::new(served), &current).await;
                drop(current);
                self.reloads.generation.fetch_add(1, Ordering::Relaxed);
                self.reloads.last_ok.store(true, Ordering::Relaxed);
                tracing::info!("configuration reloaded");
                Ok(())
            }
            Err(errors) => {
                self.reloads.failures.fetch_add(1, Ordering::Relaxed);
                self.reloads.last_ok.store(false, Ordering::Relaxed);
                for e in &errors {
                    tracing::error!("{e}");
                }
                tracing::error!("reload rejected; still serving the previous configuration");
                Err(errors)
            }
        };
        // The previous (or the rejected) zones are freed by now: hand their pages back, or every
        // reload of a large zone leaves the process twice its size.
        let _ = tokio::task::spawn_blocking(crate::zone::release_freed_memory).await;
        result
    }
}

/// A running server.
pub struct Server {
    /// What the admin API shares.
    pub control: Arc<Control>,
    /// UDP addresses served.
    pub udp_addrs: Vec<SocketAddr>,
    /// TCP addresses served.
    pub tcp_addrs: Vec<SocketAddr>,
    /// The admin API's address, when it listens.
    pub admin_addr: Option<SocketAddr>,
    cancel: CancellationToken,
    tracker: TaskTracker,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl std::ops::Deref for Server {
    type Target = Control;
    fn deref(&self) -> &Control {
        &self.control
    }
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
        let token = match &served.config.admin.token_file {
            Some(p) => Some(crate::admin::read_token(p).map_err(io::Error::other)?),
            None => None,
        };
        let metrics = Arc::new(Metrics::default());
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let (state, health) = health::start(served, metrics.clone(), cancel.clone(), &tracker)
            .await
            .map_err(io::Error::other)?;
        let control = Arc::new(Control {
            state: state.clone(),
            metrics: metrics.clone(),
            health,
            config_path: config_path.to_path_buf(),
            reloads: ReloadStats {
                generation: AtomicU64::new(1),
                failures: AtomicU64::new(0),
                last_ok: AtomicBool::new(true),
            },
            reload_lock: tokio::sync::Mutex::new(()),
            admin_token: ArcSwap::from_pointee(token),
        });
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
        let mut admin_addr = None;
        if let Some(l) = bound.admin {
            let l = tokio::net::TcpListener::from_std(l)?;
            let a = l.local_addr()?;
            admin_addr = Some(a);
            tracing::info!(proto = %"http", addr = %a, "listening");
            tracker.spawn(crate::admin::serve(l, control.clone(), cancel.clone()));
        }
        Ok(Server {
            control,
            udp_addrs,
            tcp_addrs,
            admin_addr,
            cancel,
            tracker,
            threads,
        })
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
