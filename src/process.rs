//! What concerns the operating-system process rather than DNS: the open-file limit, signals,
//! handing freed memory back, and the log format.
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
/// and the probes of healthy endpoints then fail with "Too many open files" and take them down.
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
             connections may take at once; probes failing with \"Too many open files\" would \
             mark healthy endpoints down (raise the hard limit, e.g. LimitNOFILE= in systemd)"
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
