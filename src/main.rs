//! The `gslb` binary: parse the command line, set up logging, run a command.

mod cli;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use gslb::server::{Bound, Server};
use tracing_subscriber::EnvFilter;

use cli::{Cli, Command, LogFormat};

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => b.init(),
        LogFormat::Json => b.json().init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let command = cli.command.unwrap_or(Command::Serve {
        config: "gslb.toml".into(),
    });
    match command {
        Command::Check { config } => check(&config),
        Command::Explain {
            name,
            qtype,
            client,
            admin,
            assume_down,
            json,
        } => explain(
            gslb::explain::Ask {
                name,
                qtype,
                client,
                admin,
                assume_down,
            },
            json,
        ),
        Command::Serve { config } => match serve(&config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("{e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn check(config: &Path) -> ExitCode {
    match gslb::load::from_file(config) {
        Ok(s) => {
            let names: usize = s.zones.iter().map(|z| z.len()).sum();
            println!(
                "{}: ok ({} zones, {} names, {} balanced names)",
                config.display(),
                s.zones.len(),
                names,
                s.balances.len()
            );
            // The process ends here: freeing every name one by one would only delay the exit
            // (a quarter of a second for a million names).
            std::mem::forget(s);
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in errors {
                println!("{e}");
            }
            ExitCode::FAILURE
        }
    }
}

fn explain(ask: gslb::explain::Ask, json: bool) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gslb explain: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(gslb::explain::fetch(&ask)) {
        Ok(t) if json => {
            println!("{}", serde_json::to_string_pretty(&t).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Ok(t) => {
            print!("{}", gslb::explain::render(&t));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gslb explain: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: &Path) -> anyhow::Result<()> {
    let served = match gslb::load::from_file(config) {
        Ok(s) => Arc::new(s),
        Err(errors) => {
            for e in &errors {
                tracing::error!("{e}");
            }
            anyhow::bail!(
                "{} problem(s) in the configuration; not starting",
                errors.len()
            );
        }
    };
    {
        // Descriptors it may hold at once: every probe in flight, every DNS-over-TCP
        // connection, its sockets (UDP per worker, TCP, admin), and a margin for files, the
        // admin API's clients and the runtime.
        let cfg = &served.config.server;
        let sockets = cfg.listen.len() * (cfg.threads.max(1) + 1) + 1;
        raise_nofile_limit(gslb::health::MAX_IN_FLIGHT + cfg.tcp_connections_max + sockets + 128);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("gslb-rt")
        .build()?;
    rt.block_on(async move {
        // Signals first: a SIGHUP or SIGTERM during startup must not kill the process.
        let signals = Signals::new()?;
        let cfg = &served.config.server;
        let bound =
            Bound::bind(&cfg.listen, cfg.threads)?.with_admin(served.config.admin.listen)?;
        let server = Server::start(bound, served.clone(), config).await?;
        let zones: Vec<String> = served
            .zones
            .iter()
            .map(|z| {
                format!(
                    "{} (serial {})",
                    gslb::wire::name::display(&z.origin),
                    z.serial
                )
            })
            .collect();
        tracing::info!(zones = %zones.join(", "), balanced = served.balances.len(), "serving");
        // The snapshot holds what is served from now on; kept here, the first zones would stay
        // in memory beside every reloaded copy until the process ends.
        drop(served);
        signals.wait(&server).await;
        tracing::info!("shutting down");
        server.shutdown().await;
        tracing::info!("stopped");
        anyhow::Ok(())
    })
}

/// Raises the soft limit on open descriptors (RLIMIT_NOFILE) to the hard limit, and warns when
/// even that is below `needed`. Every probe in flight holds a socket: under a soft limit of
/// 1024 (a common default) a few thousand endpoints that hang until their timeout exhaust it,
/// and the probes of healthy endpoints then fail with "Too many open files" and take them down.
fn raise_nofile_limit(needed: usize) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes into `lim`, which lives across the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        let e = std::io::Error::last_os_error();
        tracing::warn!("cannot read the open-file limit (RLIMIT_NOFILE): {e}");
        return;
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit only reads `raised`, which lives across the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            tracing::info!(
                from = lim.rlim_cur,
                to = raised.rlim_cur,
                "raised the open-file limit (RLIMIT_NOFILE) to its hard limit"
            );
            lim = raised;
        } else {
            let e = std::io::Error::last_os_error();
            tracing::warn!(
                limit = lim.rlim_cur,
                hard = lim.rlim_max,
                "cannot raise the open-file limit (RLIMIT_NOFILE): {e}"
            );
        }
    }
    let needed_lim = libc::rlim_t::try_from(needed).unwrap_or(libc::rlim_t::MAX);
    if lim.rlim_cur < needed_lim {
        tracing::warn!(
            limit = lim.rlim_cur,
            needed,
            "the open-file limit (RLIMIT_NOFILE) is below what probes in flight and TCP \
             connections may take at once; probes failing with \"Too many open files\" would \
             mark healthy endpoints down (raise the hard limit, e.g. LimitNOFILE= in systemd)"
        );
    }
}

/// The signals `serve` reacts to, registered before anything else starts.
struct Signals {
    hup: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            hup: signal(SignalKind::hangup())?,
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Reloads on SIGHUP; returns on SIGTERM or SIGINT.
    async fn wait(mut self, server: &Server) {
        loop {
            tokio::select! {
                _ = self.term.recv() => return,
                _ = self.int.recv() => return,
                // Control::reload logs the outcome and every error itself.
                _ = self.hup.recv() => { let _ = server.reload().await; }
            }
        }
    }
}
