//! The JSON shapes of the admin API (`/v1/status`, `/v1/explain`, drains, reload, errors), as
//! typed structs that the server serialises and the `gslb explain` client deserialises.
//!
//! Owns: field names and types of those documents (docs/admin-api.md describes them). Must
//! not: compute anything; the admin API and `policy::trace` fill them in. A leaf module, so the
//! policy trace, the server and the client can all share one definition.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::state::EndpointState;

/// An error answer: `{"error": "…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// What went wrong, for people.
    pub error: String,
}

/// The last probe of an endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastCheck {
    /// Whether it passed.
    pub ok: bool,
    /// What it saw or why it failed ("status 503").
    pub result: String,
    /// How long it took, in milliseconds (one decimal).
    pub latency_ms: f64,
    /// When, RFC 3339 UTC.
    pub at: Option<String>,
}

/// What the health tracker knows of an endpoint beyond its state, flattened into endpoint rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthDetail {
    /// Since when the state holds, RFC 3339 UTC.
    pub since: String,
    /// The same, as seconds ago.
    pub since_seconds: u64,
    /// The check probing it, if any.
    pub check: Option<String>,
    /// The probed address and port.
    pub probe: Option<String>,
    /// The last probe, once one ran.
    pub last_check: Option<LastCheck>,
    /// With `[cluster]`: the vote behind the state, e.g. "1 of 3 instances sees it down;
    /// majority needs 2: up".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub votes: Option<String>,
}

/// One endpoint of a balanced name in `/v1/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusEndpoint {
    /// Address answered; for a CNAME endpoint the address probed (0.0.0.0 when not probed).
    pub address: IpAddr,
    /// The name a CNAME endpoint answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Its data center.
    pub datacenter: String,
    /// Failover priority.
    pub priority: u32,
    /// Weight.
    pub weight: u32,
    /// up, down or drained.
    pub state: EndpointState,
    /// Last reported load (least-loaded), if any.
    pub load: Option<f64>,
    /// Health detail, when the tracker has any.
    #[serde(flatten)]
    pub health: Option<HealthDetail>,
}

/// One balanced name in `/v1/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BalancedStatus {
    /// The name, fully qualified.
    pub name: String,
    /// Its policy.
    pub policy: String,
    /// TTL of its answers.
    pub ttl: u32,
    /// Most addresses per answer.
    pub answers: usize,
    /// all, none or fallback.
    pub when_all_down: String,
    /// Endpoints up, both families.
    pub endpoints_up: usize,
    /// Whether an address family of it is failing open (`policy::failing_open`).
    pub failing_open: bool,
    /// Every endpoint.
    pub endpoints: Vec<StatusEndpoint>,
}

/// One data center in `/v1/status`: its endpoint rows over every balanced name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatacenterStatus {
    /// Its name.
    pub name: String,
    /// Endpoint rows (an address used by three names counts three times).
    pub endpoints: usize,
    /// Rows up.
    pub up: usize,
    /// Rows drained.
    pub drained: usize,
    /// Client networks it serves (geo).
    pub networks: Vec<String>,
    /// GeoIP countries, continents and subdivisions it serves (geo).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// Its `min_up` rule ("2" or "50%"), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_up: Option<String>,
    /// Distinct probed targets of its endpoints.
    #[serde(default)]
    pub targets: usize,
    /// Of those, up (drained ones are not).
    #[serde(default)]
    pub targets_up: usize,
    /// Whether it counts as up: false when `min_up` is not met, and then every endpoint of it
    /// counts as down in every name.
    #[serde(default = "yes")]
    pub datacenter_up: bool,
}

fn yes() -> bool {
    true
}

/// One served zone in `/v1/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneStatus {
    /// Its origin.
    pub origin: String,
    /// SOA serial.
    pub serial: u32,
    /// Names in it.
    pub names: usize,
    /// The zone file.
    pub file: String,
}

/// One change of state: a probed target's (with every endpoint reading it), or an operator's
/// drain or undrain of an address or a data center.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitionView {
    /// When, RFC 3339 UTC.
    pub at: String,
    /// The address: probed, or drained (null for a data center's drain).
    pub endpoint: Option<IpAddr>,
    /// The data center: of the target's first endpoint, or the one drained.
    pub datacenter: Option<String>,
    /// The check, for a probed target's change (null for a drain).
    pub check: Option<String>,
    /// State before.
    pub from: EndpointState,
    /// State after.
    pub to: EndpointState,
    /// Why.
    pub reason: String,
    /// Endpoints whose state changed with it (one address can serve many names).
    pub endpoints: usize,
    /// Balanced names those endpoints belong to.
    pub names: usize,
}

/// `/v1/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// 1 at start, +1 per successful reload.
    pub config_generation: u64,
    /// Whether the last reload succeeded.
    pub last_reload_ok: bool,
    /// Increases with every health publication.
    pub health_generation: u64,
    /// Served zones.
    pub zones: Vec<ZoneStatus>,
    /// Data centers.
    pub datacenters: Vec<DatacenterStatus>,
    /// Balanced names.
    pub balanced: Vec<BalancedStatus>,
    /// Recent state changes, newest first.
    pub transitions: Vec<TransitionView>,
}

/// One endpoint in an explain trace: its status row (state as assumed, with `assume_down`),
/// and how this answer treats it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainEndpoint {
    /// The endpoint as `/v1/status` shows it.
    #[serde(flatten)]
    pub endpoint: StatusEndpoint,
    /// Whether it is of the queried family.
    pub family: bool,
    /// Whether this answer includes it.
    pub chosen: bool,
}

/// `/v1/explain`: why a balanced name answers what it does, for one client and family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explain {
    /// Balanced name.
    pub name: String,
    /// A or AAAA.
    pub qtype: String,
    /// Policy.
    pub policy: String,
    /// The client network the decision used.
    pub client: String,
    /// Whether that came from EDNS Client Subnet.
    pub client_from_ecs: bool,
    /// Every endpoint.
    pub endpoints: Vec<ExplainEndpoint>,
    /// The addresses answered, in order.
    pub answer: Vec<IpAddr>,
    /// The CNAME answered (a name of CNAME endpoints), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cname: Option<String>,
    /// Data centers whose endpoints count as down because they are below `min_up`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub datacenters_down: Vec<String>,
    /// TTL of the answer.
    pub ttl: u32,
    /// ECS scope prefix length returned.
    pub scope: u8,
    /// Whether the queried family is failing open.
    pub failing_open: bool,
    /// Why, in words.
    pub reason: String,
    /// Endpoints or data centers assumed down (what-if; live state untouched).
    pub assumed_down: Vec<String>,
    /// The health generation the trace was computed on.
    pub health_generation: u64,
    /// Whether a DO=1 query gets this answer signed (its zone is in `[dnssec]`): with the short
    /// `balanced_signature_validity`, and compact denial when it is NODATA.
    #[serde(default)]
    pub signed: bool,
}

/// The answer to a drain or undrain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrainDone {
    /// Always true (errors are `ApiError`).
    pub ok: bool,
    /// "endpoint 192.0.2.10" or "datacenter us-east".
    pub target: String,
    /// Whether it is now drained.
    pub drained: bool,
}

/// The answer to `/v1/reload`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReloadDone {
    /// Whether the new configuration is served.
    pub ok: bool,
    /// The configuration generation now served (on success).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
    /// Why it was rejected (on failure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Every problem, `file:line:col: message` (on failure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<String>>,
}

/// RFC 3339 UTC time, to the second.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
