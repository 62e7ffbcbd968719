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
    /// Whether the check passed.
    pub ok: bool,
    /// Why it failed ("connect refused", "status 503", "timeout after 500ms"), or what it saw.
    pub detail: String,
    /// How long the probe took, in seconds.
    pub latency: f64,
    /// The load the endpoint reported, when the check reads one.
    pub load: Option<f64>,
}
