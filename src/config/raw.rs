//! `gslb.toml` exactly as written: serde structures with positions kept.
//!
//! Owns: the file's syntax and types (addresses, networks, durations with units, enums), and
//! the keys of each table (their fields, which `keys` reads to reject unknown keys, all of them
//! in one run, before these are deserialised). Must not: apply cross-field rules or defaults
//! that depend on other fields (see `validate`).

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use serde::de::{self, Deserializer};
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
pub(crate) struct RawConfig {
    /// DNS listeners and limits.
    #[serde(default)]
    pub server: RawServer,
    /// The admin HTTP API.
    #[serde(default)]
    pub admin: RawAdmin,
    /// Where zone files are.
    pub zones: Spanned<RawZones>,
    /// Named health checks.
    #[serde(default)]
    pub checks: BTreeMap<Spanned<String>, Spanned<RawCheck>>,
    /// Data centers.
    #[serde(default)]
    pub datacenters: BTreeMap<Spanned<String>, Spanned<RawDatacenter>>,
    /// Balanced names.
    #[serde(default)]
    pub balance: Vec<Spanned<RawBalance>>,
    /// GeoIP database for the nearest policy.
    pub geoip: Option<Spanned<RawGeoip>>,
    /// Response rate limiting.
    #[serde(default)]
    pub rrl: RawRrl,
    /// DNS cookies.
    #[serde(default)]
    pub cookies: RawCookies,
    /// dnstap query and response logging.
    pub dnstap: Option<Spanned<RawDnstap>>,
    /// Several instances as one NS set, on etcd.
    pub cluster: Option<Spanned<RawCluster>>,
    /// DNSSEC online signing, one table per signed zone.
    #[serde(default)]
    pub dnssec: BTreeMap<Spanned<String>, Spanned<RawDnssec>>,
}

/// `[dnssec."zone"]`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawDnssec {
    /// BIND-format key pairs (`K<zone>.+<alg>+<tag>`, `.key`/`.private`), relative to the file.
    pub keys: Spanned<Vec<Spanned<PathBuf>>>,
    /// Validity of static RRsets' and the DNSKEY RRset's signatures.
    pub signature_validity: Option<Spanned<HumanDuration>>,
    /// Validity of balanced answers' signatures.
    pub balanced_signature_validity: Option<Spanned<HumanDuration>>,
}

/// `[cluster]`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawCluster {
    /// This instance's id among the live instances; default `[server] identity`.
    pub instance: Option<Spanned<String>>,
    /// etcd v3 client URLs.
    pub etcd: Spanned<Vec<Spanned<String>>>,
    /// Every key lives under it.
    pub prefix: Option<Spanned<String>>,
    /// How long a lease outlives its last renewal.
    pub lease_ttl: Option<Spanned<HumanDuration>>,
    /// How many live instances must see an endpoint down.
    pub down_quorum: Option<Spanned<RawQuorum>>,
    /// What losing etcd does to the shared view: "freeze" or "local".
    pub on_store_loss: Option<Spanned<String>>,
    /// How long a frozen view lasts.
    pub freeze_max: Option<Spanned<HumanDuration>>,
    /// CA certificate that etcd's server certificates chain to.
    pub ca_file: Option<Spanned<PathBuf>>,
    /// Client certificate presented to etcd.
    pub cert_file: Option<Spanned<PathBuf>>,
    /// The client certificate's private key.
    pub key_file: Option<Spanned<PathBuf>>,
    /// etcd user.
    pub username: Option<Spanned<String>>,
    /// File holding the etcd user's password.
    pub password_file: Option<Spanned<PathBuf>>,
}

/// `down_quorum`: a word or a count.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawQuorum {
    /// majority, all, any.
    Word(String),
    /// k instances.
    Count(i64),
}

/// `[dnstap]`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawDnstap {
    /// The unix socket a dnstap collector listens on.
    pub socket: Spanned<PathBuf>,
    /// Log AUTH_QUERY messages.
    pub queries: Option<bool>,
    /// Log AUTH_RESPONSE messages.
    pub responses: Option<bool>,
}

/// `[rrl]`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawRrl {
    /// On or off.
    pub enabled: Option<bool>,
    /// Identical positive answers per second per client block and name/type.
    pub responses_per_second: Option<Spanned<u32>>,
    /// NXDOMAIN answers per second per client block and zone.
    pub nxdomains_per_second: Option<Spanned<u32>>,
    /// NODATA answers per second per client block and name.
    pub nodata_per_second: Option<Spanned<u32>>,
    /// Referrals per second per client block and delegation.
    pub referrals_per_second: Option<Spanned<u32>>,
    /// Error answers per second per client block.
    pub errors_per_second: Option<Spanned<u32>>,
    /// Every n-th limited answer slips (TC=1); 0 drops all.
    pub slip: Option<Spanned<u32>>,
    /// How long a limited block's debt can last.
    pub window: Option<Spanned<HumanDuration>>,
    /// IPv4 client block length.
    pub ipv4_prefix: Option<Spanned<u8>>,
    /// IPv6 client block length.
    pub ipv6_prefix: Option<Spanned<u8>>,
    /// Networks never limited.
    pub exempt: Option<Vec<IpNet>>,
    /// Count and log, but answer in full.
    pub log_only: Option<bool>,
}

/// `[cookies]`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawCookies {
    /// On or off.
    pub enabled: Option<bool>,
    /// File of one or two 128-bit secrets in hex.
    pub secret_file: Option<Spanned<PathBuf>>,
    /// UDP queries without a valid server cookie get BADCOOKIE.
    pub require: Option<bool>,
}

/// `[server]`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawServer {
    /// Addresses to serve UDP and TCP on.
    pub listen: Option<Spanned<Vec<SocketAddr>>>,
    /// UDP workers per address; 0 = one per core.
    pub threads: Option<usize>,
    /// Directory for state that survives a restart.
    pub state_directory: Option<PathBuf>,
    /// Largest UDP answer.
    pub udp_payload_max: Option<Spanned<u16>>,
    /// Idle time after which a TCP connection is closed.
    pub tcp_idle_timeout: Option<Spanned<HumanDuration>>,
    /// Most TCP connections open at once.
    pub tcp_connections_max: Option<Spanned<usize>>,
    /// Most TCP connections one source address may hold.
    pub tcp_connections_per_client: Option<Spanned<usize>>,
    /// Time a started query or an unread response may take on TCP.
    pub tcp_io_timeout: Option<Spanned<HumanDuration>>,
    /// Answered to NSID and CH TXT id.server.
    pub identity: Option<Spanned<String>>,
    /// Answered to CH TXT version.server.; empty refuses.
    pub version: Option<Spanned<String>>,
}

/// `[admin]`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawAdmin {
    /// HTTP listen address.
    pub listen: Option<Spanned<SocketAddr>>,
    /// File holding the bearer token mutating calls need.
    pub token_file: Option<Spanned<PathBuf>>,
    /// Most admin connections at once.
    pub connections_max: Option<Spanned<usize>>,
    /// Time headers and body may take; idle keep-alive connections close after it.
    pub request_timeout: Option<Spanned<HumanDuration>>,
}

/// `[zones]`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawZones {
    /// Directory of zone files.
    pub directory: PathBuf,
}

/// `[geoip]`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawGeoip {
    /// A MaxMind City (or compatible) database.
    pub database: PathBuf,
}

/// Health check protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Protocol {
    /// HTTP GET.
    Http,
    /// HTTPS GET.
    Https,
    /// TCP connect.
    Tcp,
}

/// `[checks.NAME]`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawCheck {
    /// http, https or tcp.
    pub protocol: Protocol,
    /// Port to probe.
    pub port: Option<u16>,
    /// Address to probe instead of each endpoint's.
    pub address: Option<IpAddr>,
    /// HTTP path.
    pub path: Option<Spanned<String>>,
    /// Host header and SNI name.
    pub host: Option<Spanned<String>>,
    /// Accepted HTTP statuses.
    pub expect_status: Option<Spanned<Vec<u16>>>,
    /// Substring the body must contain.
    pub expect_body: Option<Spanned<String>>,
    /// Verify the server certificate (https).
    pub tls_verify: Option<Spanned<bool>>,
    /// CA bundle for a private CA (https).
    pub ca_file: Option<Spanned<PathBuf>>,
    /// Response header carrying the endpoint's load.
    pub load_header: Option<Spanned<String>>,
    /// Time between probes.
    pub interval: Option<Spanned<HumanDuration>>,
    /// Time a probe may take.
    pub timeout: Option<Spanned<HumanDuration>>,
    /// Consecutive successes to become up.
    pub rise: Option<Spanned<u32>>,
    /// Consecutive failures to become down.
    pub fall: Option<Spanned<u32>>,
}

/// A point on Earth.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Location {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
}

/// `[datacenters.NAME]`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawDatacenter {
    /// Client networks this data center serves.
    #[serde(default)]
    pub networks: Vec<IpNet>,
    /// Where it is.
    pub location: Option<Spanned<Location>>,
    /// ISO 3166-1 alpha-2 country codes (GeoIP) this data center serves.
    pub countries: Option<Vec<Spanned<String>>>,
    /// Continent codes (AF AN AS EU NA OC SA) this data center serves.
    pub continents: Option<Vec<Spanned<String>>>,
    /// ISO 3166-2 subdivision codes (`US-VA`) this data center serves.
    pub subdivisions: Option<Vec<Spanned<String>>>,
    /// Fewest of its distinct probed targets that must be up (a count, or `"50%"`).
    pub min_up: Option<Spanned<MinUp>>,
}

/// `min_up`: a count of targets, or a percentage of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinUp {
    /// At least this many.
    Count(u32),
    /// At least ⌈p·n/100⌉ of the n probed targets.
    Percent(u32),
}

impl<'de> Deserialize<'de> for MinUp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// A whole number, or a string `"<p>%"`.
        struct V;
        impl de::Visitor<'_> for V {
            type Value = MinUp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a count of targets (e.g. 2) or a percentage (e.g. \"50%\")")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<MinUp, E> {
                u32::try_from(n)
                    .map(MinUp::Count)
                    .map_err(|_| E::custom(format!("min_up {n} must be a count of at least 0")))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<MinUp, E> {
                self.visit_i64(i64::try_from(n).unwrap_or(-1))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<MinUp, E> {
                let bad = || {
                    E::custom(format!(
                        "min_up {s:?} must be a count (e.g. 2) or a percentage within 1..100 (e.g. \"50%\")"
                    ))
                };
                let p: u32 = s
                    .trim()
                    .strip_suffix('%')
                    .ok_or_else(bad)?
                    .trim()
                    .parse()
                    .map_err(|_| bad())?;
                if p == 0 || p > 100 {
                    return Err(bad());
                }
                Ok(MinUp::Percent(p))
            }
        }
        d.deserialize_any(V)
    }
}

/// Selection policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyKind {
    /// Next endpoints in rotation.
    RoundRobin,
    /// In proportion to weight.
    Weighted,
    /// Lowest priority group with an endpoint up.
    Failover,
    /// Rendezvous hashing on the client network.
    Hashed,
    /// Data center whose networks hold the client.
    Geo,
    /// Data center nearest the client (GeoIP).
    Nearest,
    /// Lowest reported load.
    LeastLoaded,
    /// Every endpoint up.
    All,
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PolicyKind::RoundRobin => "round-robin",
            PolicyKind::Weighted => "weighted",
            PolicyKind::Failover => "failover",
            PolicyKind::Hashed => "hashed",
            PolicyKind::Geo => "geo",
            PolicyKind::Nearest => "nearest",
            PolicyKind::LeastLoaded => "least-loaded",
            PolicyKind::All => "all",
        })
    }
}

/// What to answer when every endpoint is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum WhenAllDown {
    /// Fail open: answer as if all were up.
    #[default]
    All,
    /// NODATA.
    None,
    /// The `fallback` addresses.
    Fallback,
}

impl fmt::Display for WhenAllDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WhenAllDown::All => "all",
            WhenAllDown::None => "none",
            WhenAllDown::Fallback => "fallback",
        })
    }
}

/// `[[balance]]`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawBalance {
    /// The balanced name.
    pub name: Spanned<String>,
    /// Selection policy.
    pub policy: Spanned<PolicyKind>,
    /// TTL of answers.
    pub ttl: Option<Spanned<u32>>,
    /// TTL of answers while any endpoint is down or drained, or the name fails open.
    pub ttl_degraded: Option<Spanned<u32>>,
    /// Most addresses per answer.
    pub answers: Option<Spanned<usize>>,
    /// Default check of the endpoints.
    pub check: Option<Spanned<String>>,
    /// Behaviour with every endpoint down.
    #[serde(default)]
    pub when_all_down: WhenAllDown,
    /// Addresses (or, for CNAME endpoints, target names) for `when_all_down = "fallback"`.
    pub fallback: Option<Spanned<Vec<Spanned<String>>>>,
    /// The endpoints.
    pub endpoints: Spanned<Vec<Spanned<RawEndpoint>>>,
}

/// One endpoint of a balanced name.
#[derive(Debug, Deserialize)]
pub(crate) struct RawEndpoint {
    /// Address answered (an address endpoint).
    pub address: Option<IpAddr>,
    /// Name answered as a CNAME (a CNAME endpoint).
    pub target: Option<Spanned<String>>,
    /// Its data center.
    pub datacenter: Spanned<String>,
    /// Failover group (lower first).
    pub priority: Option<u32>,
    /// Share for the weighted policy.
    pub weight: Option<Spanned<u32>>,
    /// Check, overriding the balance's.
    pub check: Option<Spanned<String>>,
    /// Address to probe instead of `address`.
    pub check_address: Option<IpAddr>,
}

/// A duration written with a unit: `500ms`, `2s`, `1.5s`, `5m`, `1h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HumanDuration(pub Duration);

/// What a duration without a unit is told.
fn no_unit(written: impl fmt::Display, number: impl fmt::Display) -> String {
    format!("duration {written} has no unit: use a unit, e.g. \"{number}s\" (ms, s, m or h)")
}

impl HumanDuration {
    /// Parses `<number><unit>`; units ms, s, m, h.
    pub(crate) fn parse(s: &str) -> Result<HumanDuration, String> {
        let s = s.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| no_unit(format_args!("{s:?}"), if s.is_empty() { "1" } else { s }))?;
        let (num, unit) = s.split_at(split);
        let n: f64 = num
            .parse()
            .map_err(|_| format!("duration {s:?} does not start with a number"))?;
        let secs = match unit {
            "ms" => n / 1000.0,
            "s" => n,
            "m" => n * 60.0,
            "h" => n * 3600.0,
            _ => {
                return Err(format!(
                    "duration {s:?} has unknown unit {unit:?} (use ms, s, m or h)"
                ));
            }
        };
        if !secs.is_finite() || secs > 1e9 {
            return Err(format!("duration {s:?} is out of range"));
        }
        Ok(HumanDuration(Duration::from_secs_f64(secs)))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// A string with a unit; a bare number is told to add one.
        struct V;
        impl de::Visitor<'_> for V {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration with a unit, e.g. \"1s\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<HumanDuration, E> {
                HumanDuration::parse(s).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<HumanDuration, E> {
                Err(E::custom(no_unit(n, n)))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<HumanDuration, E> {
                Err(E::custom(no_unit(n, n)))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<HumanDuration, E> {
                Err(E::custom(no_unit(n, n)))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_units() {
        assert_eq!(
            HumanDuration::parse("500ms").unwrap().0,
            Duration::from_millis(500)
        );
        assert_eq!(
            HumanDuration::parse("1.5s").unwrap().0,
            Duration::from_millis(1500)
        );
        assert_eq!(
            HumanDuration::parse("2m").unwrap().0,
            Duration::from_secs(120)
        );
        assert_eq!(
            HumanDuration::parse("10").unwrap_err(),
            "duration \"10\" has no unit: use a unit, e.g. \"10s\" (ms, s, m or h)"
        );
        assert!(HumanDuration::parse("10 parsecs").is_err());
        assert!(HumanDuration::parse("s").is_err());
    }
}
