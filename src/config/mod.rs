//! The validated configuration: what `gslb.toml` means once every rule has been checked.
//!
//! Owns: the typed, immutable `Config` the rest of the server reads, and `load`, which turns a
//! file into a `Config` or into every problem found, each as `file:line:col: message`.
//! Must not: read zone files or touch the network.

pub mod defaults;
mod keys;
mod raw;
pub mod secret;
mod validate;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;

pub use raw::{Location, MinUp, PolicyKind, WhenAllDown};

use serde::Deserialize;

use crate::diag::{Diagnostic, LineIndex};

/// A position in the configuration file, for errors found after parsing (e.g. against zones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub col: usize,
}

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub file: PathBuf,
    /// DNS listeners and limits.
    pub server: Server,
    /// Admin API.
    pub admin: Admin,
    /// Directory of zone files (relative paths resolved against the config file's directory).
    pub zones_directory: PathBuf,
    /// Health checks, by index.
    pub checks: Vec<Check>,
    /// Data centers, by index.
    pub datacenters: Vec<Datacenter>,
    /// Balanced names.
    pub balances: Vec<Balance>,
    /// GeoIP database for `nearest`.
    pub geoip: Option<PathBuf>,
    /// Response rate limiting.
    pub rrl: Rrl,
    /// DNS cookies.
    pub cookies: Cookies,
    /// dnstap logging; None = off.
    pub dnstap: Option<Dnstap>,
    /// Several instances as one NS set; None = a single server.
    pub cluster: Option<Cluster>,
    /// The digest of what must agree across an NS set (`shared_digest`): balanced names,
    /// checks and data centers, without per-instance keys.
    pub shared_digest: u64,
    /// The zones signed online (docs/dnssec.md).
    pub dnssec: Vec<Dnssec>,
}

/// `[dnssec."zone"]`: one signed zone. The key files are read by `load`, so `gslb check` and
/// a reload find what `serve` would.
#[derive(Debug, Clone)]
pub struct Dnssec {
    /// The zone as written in the table's name.
    pub zone: String,
    /// Its origin, lower-cased wire form.
    pub origin: Box<[u8]>,
    /// The table's position.
    pub pos: Pos,
    /// Each key pair's path (without `.key`/`.private`, resolved against the file) and position.
    pub keys: Vec<(PathBuf, Pos)>,
    /// Validity of static RRsets' and the DNSKEY RRset's signatures.
    pub signature_validity: Duration,
    /// Validity of balanced answers' signatures.
    pub balanced_signature_validity: Duration,
}

/// `[cluster]`: instances sharing drains and health votes through etcd v3 (docs/deployment.md,
/// "Running an NS set"). Read at start; a reload does not change it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// This instance's id among the live instances.
    pub instance: String,
    /// etcd client URLs (`http://` or `https://`).
    pub etcd: Vec<String>,
    /// Every key lives under it (no trailing slash).
    pub prefix: String,
    /// An instance that stops renewing its lease for this long leaves the vote.
    pub lease_ttl: Duration,
    /// How many live instances must see an endpoint down.
    pub down_quorum: DownQuorum,
    /// What losing etcd does to the shared view.
    pub on_store_loss: StoreLoss,
    /// How long a frozen view lasts before only local probes decide.
    pub freeze_max: Duration,
    /// CA certificate for etcd's server certificates (TLS when set or with `https://`).
    pub ca_file: Option<PathBuf>,
    /// Client certificate and its key, presented to etcd.
    pub client_identity: Option<(PathBuf, PathBuf)>,
    /// etcd user and the file holding its password.
    pub user: Option<(String, PathBuf)>,
}

/// `[cluster] down_quorum`: of the n live instances holding a verdict on an endpoint, how many
/// must say down for it to be down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownQuorum {
    /// ⌊n/2⌋ + 1.
    Majority,
    /// All n.
    All,
    /// One.
    Any,
    /// k, capped at n.
    Count(u32),
}

impl std::fmt::Display for DownQuorum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DownQuorum::Majority => f.write_str("majority"),
            DownQuorum::All => f.write_str("all"),
            DownQuorum::Any => f.write_str("any"),
            DownQuorum::Count(k) => write!(f, "{k}"),
        }
    }
}

/// `[cluster] on_store_loss`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreLoss {
    /// Keep the last shared view for `freeze_max`, then decide on local probes.
    Freeze,
    /// Decide on local probes at once.
    Local,
}

impl std::fmt::Display for StoreLoss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StoreLoss::Freeze => "freeze",
            StoreLoss::Local => "local",
        })
    }
}

/// `[dnstap]`: query and response logging in the dnstap format over Frame Streams
/// (docs/observability.md, "Query logging with dnstap"). Read at start; a reload does not change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dnstap {
    /// The unix socket a collector listens on (relative paths resolved against the config
    /// file's directory).
    pub socket: PathBuf,
    /// Log each query as AUTH_QUERY.
    pub queries: bool,
    /// Log each response sent as AUTH_RESPONSE.
    pub responses: bool,
}

/// `[rrl]`: response rate limiting of UDP answers (docs/abuse.md).
#[derive(Debug, Clone, PartialEq)]
pub struct Rrl {
    /// Whether answers are limited at all.
    pub enabled: bool,
    /// Answers per second per bucket, by class (`dns::rrl::ResponseClass::ALL` order:
    /// answer, nxdomain, nodata, referral, error); 0 leaves that class unlimited.
    pub rates: [u32; 5],
    /// Every `slip`-th limited answer goes out truncated; 0 drops them all.
    pub slip: u32,
    /// Seconds a bucket can owe.
    pub window: u32,
    /// IPv4 client block length.
    pub ipv4_prefix: u8,
    /// IPv6 client block length.
    pub ipv6_prefix: u8,
    /// Client networks never limited.
    pub exempt: Vec<IpNet>,
    /// Count and log limited answers, but send them in full.
    pub log_only: bool,
}

/// `[cookies]`: DNS cookies, RFC 7873 with RFC 9018 server cookies.
#[derive(Debug, Clone, PartialEq)]
pub struct Cookies {
    /// Whether cookies are answered.
    pub enabled: bool,
    /// The shared secret file; None = a random secret per start.
    pub secret_file: Option<PathBuf>,
    /// Where `secret_file` is written, for problems with the file found when it is read.
    pub secret_file_pos: Pos,
    /// Whether a UDP query without a valid server cookie gets BADCOOKIE.
    pub require: bool,
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    /// Addresses served over UDP and TCP.
    pub listen: Vec<SocketAddr>,
    /// UDP sockets (and worker threads) per address.
    pub threads: usize,
    /// Where state that survives a restart lives.
    pub state_directory: Option<PathBuf>,
    /// Largest UDP response, whatever the client offers.
    pub udp_payload_max: u16,
    /// Idle TCP connections close after this.
    pub tcp_idle_timeout: Duration,
    /// Most TCP connections at once.
    pub tcp_connections_max: usize,
    /// Most TCP connections one source address may hold.
    pub tcp_connections_per_client: usize,
    /// A started query, or a response the client is not reading, must finish within this.
    pub tcp_io_timeout: Duration,
    /// This instance's name: NSID and CH TXT id.server./hostname.bind.
    pub identity: String,
    /// Answered to CH TXT version.server./version.bind.; empty = REFUSED.
    pub version: String,
}

/// `[admin]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Admin {
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// File holding the bearer token.
    pub token_file: Option<PathBuf>,
    /// Where `token_file` is written, for problems with the file found when it is read.
    pub token_file_pos: Pos,
    /// Most admin connections at once; past it new ones are refused.
    pub connections_max: usize,
    /// Headers and body must arrive within this; idle keep-alive connections close after it.
    pub request_timeout: Duration,
}

/// A health check: what every protocol shares, and what its protocol adds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Check {
    /// Its name in `[checks.NAME]`.
    pub name: String,
    /// Port probed.
    pub port: u16,
    /// Address probed instead of the endpoint's.
    pub address: Option<IpAddr>,
    /// Between probes.
    pub interval: Duration,
    /// Per probe.
    pub timeout: Duration,
    /// Successes to go up.
    pub rise: u32,
    /// Failures to go down.
    pub fall: u32,
    /// The protocol and what only it has.
    pub kind: CheckKind,
}

/// How a check probes: the protocol, with the keys that apply to it only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CheckKind {
    /// A TCP connect.
    Tcp,
    /// An HTTP GET.
    Http(HttpCheck),
    /// An HTTPS GET.
    Https {
        /// The request and what the response must be.
        http: HttpCheck,
        /// How the server's certificate is checked.
        tls: TlsCheck,
    },
}

/// The request of an HTTP(S) check and what its response must be.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpCheck {
    /// HTTP path.
    pub path: String,
    /// Host header / SNI.
    pub host: Option<String>,
    /// Accepted statuses.
    pub expect_status: Vec<u16>,
    /// Required body substring.
    pub expect_body: Option<String>,
    /// Header carrying load.
    pub load_header: Option<String>,
}

/// How an HTTPS check verifies the server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TlsCheck {
    /// Verify certificates.
    pub verify: bool,
    /// Private CA bundle.
    pub ca_file: Option<PathBuf>,
}

impl CheckKind {
    /// The HTTP part of an HTTP or HTTPS check.
    pub fn http(&self) -> Option<&HttpCheck> {
        match self {
            CheckKind::Tcp => None,
            CheckKind::Http(h) | CheckKind::Https { http: h, .. } => Some(h),
        }
    }

    /// The TLS part of an HTTPS check.
    pub fn tls(&self) -> Option<&TlsCheck> {
        match self {
            CheckKind::Https { tls, .. } => Some(tls),
            CheckKind::Tcp | CheckKind::Http(_) => None,
        }
    }
}

impl Check {
    /// The header carrying load, when this is an HTTP(S) check that reads one.
    pub fn load_header(&self) -> Option<&str> {
        self.kind.http().and_then(|h| h.load_header.as_deref())
    }
}

/// A data center.
#[derive(Debug, Clone, PartialEq)]
pub struct Datacenter {
    /// Its name.
    pub name: String,
    /// Client networks it serves.
    pub networks: Vec<IpNet>,
    /// Where it is.
    pub location: Option<Location>,
    /// GeoIP country codes it serves (ISO 3166-1 alpha-2, upper case).
    pub countries: Vec<String>,
    /// GeoIP continent codes it serves (upper case).
    pub continents: Vec<String>,
    /// GeoIP subdivisions it serves (ISO 3166-2, `US-VA`, upper case).
    pub subdivisions: Vec<String>,
    /// Fewest distinct probed targets that must be up for it to count as up; None = no rule.
    pub min_up: Option<MinUp>,
}

impl Datacenter {
    /// Whether it names any GeoIP region (country, continent or subdivision).
    pub fn has_regions(&self) -> bool {
        !(self.countries.is_empty() && self.continents.is_empty() && self.subdivisions.is_empty())
    }
}

impl MinUp {
    /// How many of `n` probed targets must be up: the count, or ⌈p·n/100⌉.
    pub fn needed(self, n: usize) -> usize {
        match self {
            MinUp::Count(c) => c as usize,
            MinUp::Percent(p) => (p as usize * n).div_ceil(100),
        }
    }
}

impl std::fmt::Display for MinUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MinUp::Count(c) => write!(f, "{c}"),
            MinUp::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// The name a CNAME endpoint (or a CNAME fallback) answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// Fully qualified, presentation form, lower case, with the trailing dot.
    pub name: String,
    /// Lower-cased, uncompressed wire form: the CNAME's RDATA.
    pub key: Box<[u8]>,
}

/// A balanced name.
#[derive(Debug, Clone, PartialEq)]
pub struct Balance {
    /// Fully qualified, presentation form, lower case.
    pub name: String,
    /// Lower-cased wire form.
    pub key: Box<[u8]>,
    /// Where `name` is written, for errors found against zones.
    pub pos: Pos,
    /// Policy.
    pub policy: PolicyKind,
    /// TTL of answers.
    pub ttl: u32,
    /// TTL of answers while any endpoint is down or drained, or the name fails open.
    pub ttl_degraded: Option<u32>,
    /// Most addresses per answer.
    pub answers: usize,
    /// All-down behaviour.
    pub when_all_down: WhenAllDown,
    /// Fallback addresses.
    pub fallback: Vec<IpAddr>,
    /// Fallback targets (a name of CNAME endpoints; the first is answered).
    pub fallback_targets: Vec<Target>,
    /// Endpoints.
    pub endpoints: Vec<Endpoint>,
}

impl Balance {
    /// Whether its endpoints are CNAME endpoints (validation keeps a name to one kind).
    pub fn answers_cname(&self) -> bool {
        self.endpoints.first().is_some_and(|e| e.target.is_some())
    }
}

/// An endpoint of a balanced name.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// Address answered; for a CNAME endpoint the address probed (`check_address`, else the
    /// check's `address`), or the unspecified address when it is not probed.
    pub address: IpAddr,
    /// The name answered as a CNAME instead of an address.
    pub target: Option<Target>,
    /// Index into `Config::datacenters`.
    pub datacenter: usize,
    /// Failover group.
    pub priority: u32,
    /// Weight.
    pub weight: u32,
    /// Index into `Config::checks`; None = never probed, always up.
    pub check: Option<usize>,
    /// Address probed instead of `address`.
    pub check_address: Option<IpAddr>,
}

impl Endpoint {
    /// Whether it answers queries of this address family (`v4`): a CNAME endpoint answers
    /// every query type.
    pub fn serves(&self, v4: bool) -> bool {
        self.target.is_some() || self.address.is_ipv4() == v4
    }

    /// What it answers, for people: the address, or the target name.
    pub fn answer(&self) -> String {
        match &self.target {
            Some(t) => t.name.clone(),
            None => self.address.to_string(),
        }
    }
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, Vec<Diagnostic>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![Diagnostic::new(
                path,
                0,
                0,
                format!("cannot read configuration: {e}"),
            )]
        })?;
        Self::from_str(path, &text)
    }

    /// Validates configuration text that came from `path`: every unknown key, then the first
    /// value of a wrong type or, when there is none, every rule `validate` checks.
    pub fn from_str(path: &Path, text: &str) -> Result<Config, Vec<Diagnostic>> {
        // One index of line starts for every position reported: the scan from the start of
        // the file per position this replaces made a large file's check quadratic.
        let index = LineIndex::new(text);
        let doc = toml_edit::ImDocument::parse(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            let mut message = e.message().trim().to_string();
            if message.is_empty() {
                // The toml parser gives some syntax errors no message at all (a carriage return
                // not followed by a newline, found by fuzzing): say what stands there instead.
                message = match text.get(offset..).and_then(|t| t.chars().next()) {
                    Some(c) => format!("invalid TOML: unexpected '{}'", c.escape_default()),
                    None => "invalid TOML: unexpected end of file".to_string(),
                };
            }
            vec![index.diagnostic(path, offset, message)]
        })?;
        let mut errors: Vec<Diagnostic> = keys::unknown(doc.as_table())
            .into_iter()
            .map(|u| index.diagnostic(path, u.offset, u.message))
            .collect();
        let raw = match raw::RawConfig::deserialize(toml_edit::de::Deserializer::from(doc)) {
            Ok(raw) => raw,
            Err(e) => {
                let offset = e.span().map_or(0, |s| s.start);
                let mut message = e.message().trim().to_string();
                // serde's message names the value, not its key: the key comes from the
                // document, parsed again on this path only (the first was consumed above).
                if let Some(key) = toml_edit::ImDocument::parse(text)
                    .ok()
                    .and_then(|d| keys::key_of_value(d.as_table(), offset))
                {
                    message = format!("{key}: {message}");
                }
                errors.push(index.diagnostic(path, offset, message));
                return Err(errors);
            }
        };
        let shared = shared_digest(doc_shared(text));
        validate::validate(path, &index, raw, errors).map(|mut c| {
            c.shared_digest = shared;
            c
        })
    }

    /// The data center an endpoint belongs to.
    pub fn datacenter(&self, e: &Endpoint) -> &Datacenter {
        &self.datacenters[e.datacenter]
    }
}

/// The tables of a configuration that every instance of an NS set must agree on, as parsed:
/// `checks`, `datacenters` and `balance`, without per-endpoint `check_address` (which an
/// instance may set for its own view of an endpoint). Everything else — listeners, identity,
/// `[admin]`, `[cluster]`, `[dnstap]`, paths — is per instance.
fn doc_shared(text: &str) -> toml::Table {
    let Ok(mut all) = text.parse::<toml::Table>() else {
        return toml::Table::new();
    };
    let mut shared = toml::Table::new();
    for key in ["checks", "datacenters", "balance", "dnssec"] {
        if let Some(v) = all.remove(key) {
            shared.insert(key.to_string(), v);
        }
    }
    // Key file paths are an instance's own; the keys themselves are hashed by
    // `cluster::config_hash` (their DNSKEYs).
    if let Some(toml::Value::Table(zones)) = shared.get_mut("dnssec") {
        for (_, z) in zones.iter_mut() {
            if let Some(t) = z.as_table_mut() {
                t.remove("keys");
            }
        }
    }
    if let Some(toml::Value::Array(names)) = shared.get_mut("balance") {
        for b in names {
            if let Some(toml::Value::Array(eps)) = b.get_mut("endpoints") {
                for e in eps {
                    if let Some(t) = e.as_table_mut() {
                        t.remove("check_address");
                    }
                }
            }
        }
    }
    shared
}

/// SipHash-1-3 (fixed keys, the same in every process) of the shared tables in a canonical
/// form written here (keys sorted at every level), so formatting, comments and key order do
/// not change it.
fn shared_digest(shared: toml::Table) -> u64 {
    use std::hash::Hasher;
    let mut canonical = String::new();
    canonical_table(&shared, &mut canonical);
    let mut h = siphasher::sip::SipHasher13::new_with_keys(0, 0);
    h.write(canonical.as_bytes());
    h.finish()
}

fn canonical_table(t: &toml::Table, out: &mut String) {
    let mut keys: Vec<&String> = t.keys().collect();
    keys.sort();
    out.push('{');
    for k in keys {
        out.push_str(&format!("{k:?}="));
        canonical_value(&t[k], out);
        out.push(',');
    }
    out.push('}');
}

fn canonical_value(v: &toml::Value, out: &mut String) {
    match v {
        toml::Value::Table(t) => canonical_table(t, out),
        toml::Value::Array(a) => {
            out.push('[');
            for x in a {
                canonical_value(x, out);
                out.push(',');
            }
            out.push(']');
        }
        toml::Value::String(s) => out.push_str(&format!("{s:?}")),
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::{doc_shared, shared_digest};

    #[test]
    fn dnssec_tables_are_shared_without_their_key_paths() {
        let of = |t: &str| shared_digest(doc_shared(t));
        let a = of("[dnssec.\"x\"]\nkeys = [\"/a/K\"]\n");
        assert_eq!(
            a,
            of("[dnssec.\"x\"]\nkeys = [\"/b/K\"]\n"),
            "paths are per instance"
        );
        assert_ne!(
            a,
            of("[dnssec.\"x\"]\nkeys = [\"/a/K\"]\nsignature_validity = \"1d\"\n")
        );
        assert_ne!(a, of(""));
    }
}
