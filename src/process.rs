//! What concerns the operating-system process rather than DNS: the open-file limit, signals,
//! handing freed memory back, the log format, and the process's own resource figures
//! (`Stats`, for the `process_*` metrics).
//!
//! Owns: those few system calls and the plain log-line format (house rule: `key=value` with
//! plain values, quoted when they hold a space, a quote or `=`). Must not: know about zones,
//! health or policies.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

/// Hands freed heap memory back to the system. glibc keeps freed pages mapped, so without this
/// a server that loaded (or dropped) a large zone stays as big as it ever was.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks and trims the allocator's own free lists; it is given no
    // pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Sets up logging to stderr, filtered by `RUST_LOG` (default `info`): plain `key=value` lines,
/// or one JSON object per line with `json`.
pub fn init_logging(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if json {
        b.json().init();
    } else {
        b.fmt_fields(PlainFields).init();
    }
}

/// The plain format's fields: the message as it is, then `key=value`, each value quoted (with
/// `"` and `\` escaped) when it is empty or holds a space, a quote or `=`, so a line splits back
/// into its fields.
struct PlainFields;

impl<'w> FormatFields<'w> for PlainFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut v = PlainVisitor {
            writer,
            result: Ok(()),
            first: true,
        };
        fields.record(&mut v);
        v.result
    }
}

struct PlainVisitor<'w> {
    writer: Writer<'w>,
    result: fmt::Result,
    first: bool,
}

impl PlainVisitor<'_> {
    fn write(&mut self, field: &Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        let sep = if self.first { "" } else { " " };
        self.first = false;
        self.result = if field.name() == "message" {
            write!(self.writer, "{sep}{value}")
        } else if needs_quotes(value) {
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            write!(self.writer, "{sep}{}=\"{escaped}\"", field.name())
        } else {
            write!(self.writer, "{sep}{}={value}", field.name())
        };
    }
}

fn needs_quotes(value: &str) -> bool {
    value.is_empty() || value.contains([' ', '"', '=', '\t', '\n'])
}

impl Visit for PlainVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.write(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%` values arrive here too, as a Debug that calls Display.
        self.write(field, &format!("{value:?}"));
    }
}

/// Raises the soft limit on open descriptors (RLIMIT_NOFILE) to the hard limit, and warns when
/// even that is below `needed`. Every probe in flight holds a socket: under a soft limit of
/// 1024 (a common default) a few thousand endpoints that hang until their timeout exhaust it,
/// and probes then cannot run ("Too many open files"): health freezes at what it last knew
/// (local errors move no endpoint) until descriptors are free again.
pub fn raise_nofile_limit(needed: usize) {
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
             connections may take at once; probes that cannot get a descriptor are not run and \
             health stops following the endpoints (raise the hard limit, e.g. LimitNOFILE= in \
             systemd)"
        );
    }
}

/// The signals a server reacts to, registered before anything else starts.
pub struct Signals {
    hup: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    /// Registers SIGHUP, SIGTERM and SIGINT; before this, SIGHUP would kill the process.
    pub fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            hup: signal(SignalKind::hangup())?,
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// The next signal: SIGHUP asks for a reload, SIGTERM and SIGINT for a stop.
    pub async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.term.recv() => Signal::Stop,
            _ = self.int.recv() => Signal::Stop,
            _ = self.hup.recv() => Signal::Reload,
        }
    }
}

/// What a signal asks of the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGHUP: reload the configuration and zones.
    Reload,
    /// SIGTERM or SIGINT: stop gracefully.
    Stop,
}

#[cfg(test)]
mod tests {
    use super::needs_quotes;

    #[test]
    fn values_with_spaces_quotes_or_equals_are_quoted() {
        for (v, quoted) in [
            ("us-east", false),
            ("127.0.0.1:53", false),
            ("connect refused", true),
            ("a=b", true),
            ("", true),
            ("say \"hi\"", true),
        ] {
            assert_eq!(needs_quotes(v), quoted, "{v}");
        }
    }
}

/// The process's resource figures, as Prometheus' `process_*` metrics report them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    /// User and system CPU time, seconds.
    pub cpu_seconds: f64,
    /// Resident memory, bytes.
    pub resident_bytes: u64,
    /// Open file descriptors.
    pub open_fds: u64,
    /// The soft limit of open file descriptors.
    pub max_fds: u64,
    /// When the process started, seconds since the Unix epoch.
    pub start_time_seconds: f64,
}

/// Reads this process's figures from the kernel (getrusage, getrlimit, /proc). A figure that
/// cannot be read is 0.
pub fn stats() -> Stats {
    // SAFETY: getrusage and getrlimit only write into the structs passed to them.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let cpu_seconds = if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0 {
        let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        tv(usage.ru_utime) + tv(usage.ru_stime)
    } else {
        0.0
    };
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    let max_fds = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        limit.rlim_cur
    } else {
        0
    };
    // SAFETY: sysconf reads a constant of the system.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let ticks = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(100);
    let resident_bytes = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * page);
    let open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64);
    Stats {
        cpu_seconds,
        resident_bytes,
        open_fds,
        max_fds,
        start_time_seconds: start_time(ticks).unwrap_or(0.0),
    }
}

/// The process's start: boot time (`btime` in /proc/stat) plus its start in clock ticks after
/// boot (field 22 of /proc/self/stat, counted after the command name, which may hold spaces).
fn start_time(ticks: u64) -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    // Fields after the name start at field 3 (state): field 22 is the 20th of them.
    let started: u64 = after_name.split_whitespace().nth(19)?.parse().ok()?;
    let btime: u64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())?;
    Some(btime as f64 + started as f64 / ticks.max(1) as f64)
}

#[cfg(test)]
mod stats_tests {
    #[test]
    fn the_process_figures_are_plausible() {
        let s = super::stats();
        assert!(s.resident_bytes > 1024 * 1024, "{s:?}");
        assert!(s.open_fds >= 3 && s.open_fds <= s.max_fds, "{s:?}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            s.start_time_seconds > now - 3600.0 && s.start_time_seconds <= now + 1.0,
            "{s:?}"
        );
        assert!(s.cpu_seconds >= 0.0);
    }
}
