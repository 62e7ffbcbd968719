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
    /// A resource of this machine ran out (file descriptors, buffers, local ports): says nothing
    /// of the endpoint (class `local`). Holds the OS error number.
    #[error("{}", std::io::Error::from_raw_os_error(*errno))]
    Local {
        /// The raw OS error (EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL).
        errno: i32,
    },
    /// Anything else, with the innermost error's message (class `other`).
    #[error("{0}")]
    Other(String),
}

impl ProbeFailure {
    /// The bounded label of `gslb_check_failures_total{reason=…}`.
    pub fn class(&self) -> &'static str {
        match self {
            ProbeFailure::Refused => "refused",
            ProbeFailure::Timeout { .. } => "timeout",
            ProbeFailure::Status(_) => "status",
            ProbeFailure::Tls(_) => "tls",
            ProbeFailure::BodyMismatch { .. }
            | ProbeFailure::MissingHeader { .. }
            | ProbeFailure::BadLoad { .. } => "content",
            ProbeFailure::Local { .. } => "local",
            ProbeFailure::Reset | ProbeFailure::Other(_) => "other",
        }
    }
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
        }
        let emfile = ProbeFailure::Local {
            errno: libc::EMFILE,
        };
        assert_eq!(emfile.class(), "local");
        assert!(emfile.to_string().contains("os error"), "{emfile}");
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
