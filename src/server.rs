//! Wiring: bound sockets in, a running server out, and a cancellation token to stop it.
//!
//! Owns: binding, starting the UDP workers, TCP acceptors and admin API over sockets the caller
//! bound, `serve` (what `gslb serve` runs), and graceful shutdown (listeners closed, in-flight
//! queries answered). Must not: parse configuration, answer queries, or reload (that is
//! `control`, which the admin API and SIGHUP share).

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::control::Control;
use crate::dns::rrl::Limiter;
use crate::dns::tcp::{self, TcpLimits};
use crate::dns::udp;
use crate::health;
use crate::load;
use crate::metrics::Metrics;
use crate::process;
use crate::snapshot::Served;
use crate::wire::name::display;

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
    dnstap: Option<crate::dnstap::Writer>,
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
            per_client: served.config.server.tcp_connections_per_client,
            io_timeout: served.config.server.tcp_io_timeout,
        };
        let admin_limits = crate::admin::AdminLimits {
            connections_max: served.config.admin.connections_max,
            request_timeout: served.config.admin.request_timeout,
        };
        // Read (and checked) by the load that built `served`.
        let token = served.admin_token.clone().map(|t| t.0);
        let metrics = Arc::new(Metrics::default());
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        // dnstap is read at start (a reload does not change it): its rings and writer live as
        // long as the listeners.
        let (tap, dnstap) = match &served.config.dnstap {
            Some(cfg) => {
                let s = &served.config.server;
                let (tap, writer) =
                    crate::dnstap::start(cfg, &s.identity, &s.version, metrics.clone())?;
                tracing::info!(socket = %cfg.socket.display(), queries = cfg.queries, responses = cfg.responses, "dnstap on");
                (Some(tap), Some(writer))
            }
            None => (None, None),
        };
        // With [cluster]: registered in etcd (or refused: another live instance holds the id)
        // before anything is served.
        let (handle, link) = match &served.config.cluster {
            Some(cfg) => {
                let cached = health::cached_drains(&served).map_err(io::Error::other)?;
                let (h, l) = crate::cluster::start(cfg, &served, cached, cancel.clone(), &tracker)
                    .await
                    .map_err(io::Error::other)?;
                (Some(h), Some(l))
            }
            None => (None, None),
        };
        let (state, health) = health::start_clustered(
            served,
            metrics.clone(),
            cancel.clone(),
            &tracker,
            health::Source::Network,
            link,
            handle,
        )
        .await
        .map_err(io::Error::other)?;
        // One rate-limiting table for every UDP worker: a client whose packets the kernel spreads
        // over several sockets still has one bucket per answer.
        let limiter = Arc::new(Limiter::default());
        let control = Arc::new(Control::new(
            state.clone(),
            metrics.clone(),
            limiter.clone(),
            health,
            config_path,
            token,
        ));
        let udp_addrs = bound.udp_addrs();
        let tcp_addrs = bound.tcp_addrs();
        let mut threads = Vec::new();
        for s in bound.udp {
            threads.push(udp::spawn(
                s,
                state.clone(),
                metrics.clone(),
                limiter.clone(),
                tap.clone(),
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
                tap.clone(),
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
            tracker.spawn(crate::admin::serve(
                l,
                control.clone(),
                admin_limits,
                cancel.clone(),
                tracker.clone(),
            ));
        }
        Ok(Server {
            control,
            udp_addrs,
            tcp_addrs,
            admin_addr,
            cancel,
            tracker,
            threads,
            dnstap,
        })
    }

    /// Stops accepting, lets in-flight queries finish, and waits for every worker; then dnstap
    /// writes what they logged and ends its stream.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
        let threads = self.threads;
        let dnstap = self.dnstap;
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
            if let Some(w) = dnstap {
                w.stop();
            }
        })
        .await;
    }
}

/// Why `serve` could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration or a zone has problems (each already logged with its position).
    #[error("{0} problem(s) in the configuration; not starting")]
    Config(usize),
    /// A socket, the runtime or a signal handler could not be set up.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Runs the server of the configuration at `config` until SIGTERM or SIGINT, reloading on
/// SIGHUP: what `gslb serve` does.
pub fn serve(config: &Path) -> Result<(), ServeError> {
    tracing::info!(version = %crate::VERSION, config = %config.display(), pid = std::process::id(), "starting");
    let served = match load::from_file(config) {
        Ok(s) => Arc::new(s),
        Err(errors) => {
            for e in &errors {
                tracing::error!("{e}");
            }
            return Err(ServeError::Config(errors.len()));
        }
    };
    {
        // Descriptors it may hold at once: every probe in flight, every DNS-over-TCP
        // connection, every admin connection, its sockets (UDP per worker, TCP, admin), and a
        // margin for files and the runtime. Each side's connections are capped, so none can
        // take the descriptors another needs.
        let cfg = &served.config.server;
        let sockets = cfg.listen.len() * (cfg.threads.max(1) + 1) + 1;
        process::raise_nofile_limit(
            health::MAX_IN_FLIGHT
                + cfg.tcp_connections_max
                + served.config.admin.connections_max
                + sockets
                + 128,
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("gslb-rt")
        .build()?;
    rt.block_on(async move {
        // Signals first: a SIGHUP or SIGTERM during startup must not kill the process.
        let mut signals = process::Signals::new()?;
        let cfg = &served.config.server;
        let bound =
            Bound::bind(&cfg.listen, cfg.threads)?.with_admin(served.config.admin.listen)?;
        let server = Server::start(bound, served.clone(), config).await?;
        let zones: Vec<String> = served
            .zones
            .iter()
            .map(|z| format!("{} (serial {})", display(z.origin()), z.zone.serial))
            .collect();
        tracing::info!(zones = %zones.join(", "), balanced = served.balances.len(), "serving");
        // The snapshot holds what is served from now on; kept here, the first zones would stay
        // in memory beside every reloaded copy until the process ends.
        drop(served);
        while signals.next().await == process::Signal::Reload {
            // Control::reload logs the outcome and every error itself.
            let _ = server.control.reload().await;
        }
        tracing::info!("shutting down");
        server.shutdown().await;
        tracing::info!("stopped");
        Ok(())
    })
}
