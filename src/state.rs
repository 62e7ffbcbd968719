//! The vocabulary of endpoint health that the layers share: what a probe found, what state an
//! endpoint is in, and what the answer path reads of it.
//!
//! Owns: these types and their plain-text names. Must not: decide anything. It is a leaf that
//! `policy` (which reads health), `snapshot` (which holds it) and `health` (which writes it) all
//! depend on, so that none of them depends on another to name a state.

/// What the health tracker says of one endpoint of one balanced name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointState {
    /// Passing its checks (or never checked).
    Up,
    /// Failing its checks.
    Down,
    /// Taken out by an operator.
    Drained,
}

impl EndpointState {
    /// Lower-case name as the API, the metrics and the logs show it.
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointState::Up => "up",
            EndpointState::Down => "down",
            EndpointState::Drained => "drained",
        }
    }
}

impl std::fmt::Display for EndpointState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Health of one endpoint as the answer path reads it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EndpointHealth {
    /// Its state.
    pub state: EndpointState,
    /// The load it last reported (least-loaded).
    pub load: Option<f64>,
}

impl EndpointHealth {
    /// Up, no load known.
    pub const UP: EndpointHealth = EndpointHealth {
        state: EndpointState::Up,
        load: None,
    };
}

/// The result of one probe.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeResult {
    /// What a passing probe saw, or why it failed.
    pub outcome: Result<ProbePass, ProbeFailure>,
    /// How long the probe took, in seconds.
    pub latency: f64,
}

impl ProbeResult {
    /// Whether the check passed.
    pub fn is_ok(&self) -> bool {
        self.outcome.is_ok()
    }

    /// Whether the probe could not run because of a local problem (see `LocalError`): then it
    /// is neither a pass nor a failure of the endpoint.
    pub fn is_local(&self) -> bool {
        self.outcome
            .as_ref()
            .err()
            .is_some_and(ProbeFailure::is_local)
    }

    /// The load the endpoint reported, when the check reads one and passed.
    pub fn load(&self) -> Option<f64> {
        self.outcome.as_ref().ok().and_then(ProbePass::load)
    }
}

impl std::fmt::Display for ProbeResult {
    /// The text people read: what it saw ("status 200") or why it failed ("status 503").
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.outcome {
            Ok(p) => p.fmt(f),
            Err(e) => e.fmt(f),
        }
    }
}

/// What a passing probe saw.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbePass {
    /// A TCP check connected.
    Connected,
    /// An HTTP(S) check got an accepted status (and the body and load it needed).
    Status {
        /// The HTTP status.
        code: u16,
        /// The load it reported, when the check reads one.
        load: Option<f64>,
    },
}

impl ProbePass {
    /// The load reported, if any.
    pub fn load(&self) -> Option<f64> {
        match self {
            ProbePass::Connected => None,
            ProbePass::Status { load, .. } => *load,
        }
    }
}

impl std::fmt::Display for ProbePass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbePass::Connected => f.write_str("connected"),
            ProbePass::Status { code, .. } => write!(f, "status {code}"),
        }
    }
}

/// Why a probe failed. `Display` is the reason people read; `class` is its bounded metric label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeFailure {
    /// The connection was refused: nothing listens (class `refused`).
    #[error("connect refused")]
    Refused,
    /// The peer reset the connection (class `other`).
    #[error("connection reset")]
    Reset,
    /// No answer in time: after the check's timeout, or as the OS reported it (class `timeout`).
    #[error("timeout{}", after.map(|d| format!(" after {}ms", d.as_millis())).unwrap_or_default())]
    Timeout {
        /// The timeout that expired, when it was the check's.
        after: Option<std::time::Duration>,
    },
    /// The HTTP status is not an accepted one (class `status`).
    #[error("status {0}")]
    Status(u16),
    /// The body lacks the expected substring (class `content`).
    #[error("body lacks {expected:?}")]
    BodyMismatch {
        /// The `expect_body` it looked for.
        expected: String,
    },
    /// TLS failed: handshake, certificate, or the CA bundle (class `tls`). The innermost message.
    #[error("{0}")]
    Tls(String),
    /// The load header is missing (class `content`).
    #[error("no {header} header")]
    MissingHeader {
        /// The `load_header` name.
        header: String,
    },
    /// The load header does not hold a finite number (class `content`).
    #[error("{header} header is not a number")]
    BadLoad {
        /// The `load_header` name.
        header: String,
    },
    /// The probe could not run because of this machine, not the endpoint (class `local`): see
    /// `LocalError`. It never moves an endpoint toward down.
    #[error("{0}")]
    Local(#[from] LocalError),
    /// Anything else, with the innermost error's message (class `other`).
    #[error("{0}")]
    Other(String),
}

impl ProbeFailure {
    /// Whether this is a local error: the one test of the rule "a local problem is never the
    /// endpoint's", read by the tracker (no move) and the metrics (counted apart).
    pub fn is_local(&self) -> bool {
        matches!(self, ProbeFailure::Local(_))
    }

    /// The bounded label of `gslb_check_failures_total{reason=…}` (and `local` for local
    /// errors, which that metric does not count: see `is_local`).
    pub fn class(&self) -> &'static str {
        match self {
            ProbeFailure::Refused => "refused",
            ProbeFailure::Timeout { .. } => "timeout",
            ProbeFailure::Status(_) => "status",
            ProbeFailure::Tls(_) => "tls",
            ProbeFailure::BodyMismatch { .. }
            | ProbeFailure::MissingHeader { .. }
            | ProbeFailure::BadLoad { .. } => "content",
            ProbeFailure::Local(_) => "local",
            ProbeFailure::Reset | ProbeFailure::Other(_) => "other",
        }
    }
}

/// Why a probe could not run here: a problem of this machine or of the prober, raised before a
/// packet left for the endpoint, so it says nothing of the endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalError {
    /// The OS refused before anything was sent: EMFILE or ENFILE (no file descriptors), ENOMEM,
    /// ENOBUFS (no memory or buffers), EADDRNOTAVAIL (no local port or address), or
    /// ENETUNREACH when this machine has no route to the address. Holds the OS error number.
    #[error("{}", std::io::Error::from_raw_os_error(*errno))]
    Os {
        /// The raw OS error.
        errno: i32,
    },
    /// No in-flight slot came free within `waited` (more probes were due than the prober
    /// runs at once): the probe was skipped.
    #[error("no probe slot free within {}ms (prober overloaded)", waited.as_millis())]
    NoSlot {
        /// How long it waited.
        waited: std::time::Duration,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn failures_read_as_before_and_keep_their_classes() {
        let cases = [
            (ProbeFailure::Refused, "connect refused", "refused"),
            (ProbeFailure::Reset, "connection reset", "other"),
            (
                ProbeFailure::Timeout {
                    after: Some(Duration::from_millis(500)),
                },
                "timeout after 500ms",
                "timeout",
            ),
            (ProbeFailure::Timeout { after: None }, "timeout", "timeout"),
            (ProbeFailure::Status(503), "status 503", "status"),
            (
                ProbeFailure::BodyMismatch {
                    expected: "OK".into(),
                },
                "body lacks \"OK\"",
                "content",
            ),
            (
                ProbeFailure::MissingHeader {
                    header: "X-Load".into(),
                },
                "no X-Load header",
                "content",
            ),
            (
                ProbeFailure::BadLoad {
                    header: "X-Load".into(),
                },
                "X-Load header is not a number",
                "content",
            ),
            (
                ProbeFailure::Tls("invalid peer certificate: UnknownIssuer".into()),
                "invalid peer certificate: UnknownIssuer",
                "tls",
            ),
            (ProbeFailure::Other("huh".into()), "huh", "other"),
        ];
        for (f, text, class) in cases {
            assert_eq!(f.to_string(), text);
            assert_eq!(f.class(), class, "{f}");
            assert!(!f.is_local(), "{f} is the endpoint's failure");
        }
        let emfile = ProbeFailure::from(LocalError::Os {
            errno: libc::EMFILE,
        });
        assert_eq!(emfile.class(), "local");
        assert!(emfile.is_local());
        assert_eq!(emfile.to_string(), "Too many open files (os error 24)");
        let busy = ProbeFailure::from(LocalError::NoSlot {
            waited: Duration::from_secs(1),
        });
        assert!(busy.is_local());
        assert_eq!(
            busy.to_string(),
            "no probe slot free within 1000ms (prober overloaded)"
        );
    }

    #[test]
    fn a_result_reads_as_its_outcome() {
        let pass = ProbeResult {
            outcome: Ok(ProbePass::Status {
                code: 200,
                load: Some(2.5),
            }),
            latency: 0.0,
        };
        assert_eq!(pass.to_string(), "status 200");
        assert_eq!(pass.load(), Some(2.5));
        let fail = ProbeResult {
            outcome: Err(ProbeFailure::Status(503)),
            latency: 0.0,
        };
        assert_eq!(fail.to_string(), "status 503");
        assert!(!fail.is_ok());
        assert_eq!(fail.load(), None);
    }
}
