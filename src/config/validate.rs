//! Cross-field rules of `gslb.toml`: defaults, references between sections, value ranges.
//!
//! Owns: turning a `RawConfig` into a `Config`, collecting every problem with its position.
//! Must not: stop at the first problem, or accept a value it has to guess at.

use std::collections::{HashMap, HashSet};

/// Hash maps of names and addresses, built per load: foldhash, as the zone tables use (the
/// inputs are the operator's own file, not an attacker's).
type FastBuild = foldhash::fast::RandomState;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::rr::Name;
use toml::Spanned;

use super::raw::{self, HumanDuration, PolicyKind, Protocol, RawConfig, WhenAllDown};
use super::{
    Admin, Balance, Check, CheckKind, Cluster, Config, Cookies, Datacenter, Dnssec, Dnstap,
    DownQuorum, Endpoint, HttpCheck, Pos, Rrl, Server, StoreLoss, Target, TlsCheck, defaults,
};
use crate::diag::{Diagnostic, LineIndex};

struct Ctx<'a> {
    file: &'a Path,
    /// Positions of the file's text, found once.
    index: &'a LineIndex<'a>,
    errors: Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn err<T>(&mut self, at: &Spanned<T>, msg: impl Into<String>) {
        self.err_at(at.span().start, msg);
    }

    fn err_at(&mut self, offset: usize, msg: impl Into<String>) {
        self.errors
            .push(self.index.diagnostic(self.file, offset, msg));
    }

    fn pos<T>(&self, at: &Spanned<T>) -> Pos {
        let (line, col) = self.index.line_col(at.span().start);
        Pos { line, col }
    }

    fn path(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.file.parent().unwrap_or(Path::new(".")).join(p)
        }
    }
}

/// Largest TTL a record may carry (RFC 2181 §8).
const MAX_TTL: u32 = 2_147_483_647;

/// Validates `raw`, read from `file` whose text `index` indexes. Problems found before (unknown
/// keys) come in `errors`; every problem is returned, in the order found.
pub(super) fn validate(
    file: &Path,
    index: &LineIndex<'_>,
    raw: RawConfig,
    errors: Vec<Diagnostic>,
) -> Result<Config, Vec<Diagnostic>> {
    let mut cx = Ctx {
        file,
        index,
        errors,
    };
    let server = server(&mut cx, raw.server);
    let admin = Admin {
        listen: raw
            .admin
            .listen
            .as_ref()
            .map(|l| *l.get_ref())
            .unwrap_or(defaults::ADMIN_LISTEN),
        token_file: raw.admin.token_file.as_ref().map(|p| cx.path(p.get_ref())),
        token_file_pos: raw
            .admin
            .token_file
            .as_ref()
            .map(|p| cx.pos(p))
            .unwrap_or_default(),
        connections_max: at_least_one(
            &mut cx,
            raw.admin.connections_max,
            "connections_max",
            defaults::ADMIN_CONNECTIONS_MAX,
        ),
        request_timeout: more_than_zero(
            &mut cx,
            raw.admin.request_timeout,
            "request_timeout",
            defaults::ADMIN_REQUEST_TIMEOUT,
        ),
    };
    if let Some(l) = &raw.admin.listen
        && !l.get_ref().ip().is_loopback()
        && admin.token_file.is_none()
    {
        cx.err(
            l,
            "an admin listener outside loopback needs token_file: anyone who reaches it could drain endpoints",
        );
    }
    let zones_directory = cx.path(&raw.zones.get_ref().directory);
    let geoip = raw.geoip.map(|g| cx.path(&g.get_ref().database));

    let mut checks = Vec::new();
    for (name, c) in raw.checks {
        if let Some(c) = check(&mut cx, name.get_ref(), c) {
            checks.push(c);
        }
    }
    let mut datacenters = Vec::new();
    // A client network belongs to one data center, or geo answers would depend on name order.
    let mut seen_nets: std::collections::HashMap<ipnet::IpNet, String> = Default::default();
    // So does a GeoIP region: (kind, code) → the data center that listed it first.
    let mut seen_regions: HashMap<(&'static str, String), String> = HashMap::new();
    for (name, d) in raw.datacenters {
        for n in &d.get_ref().networks {
            if let Some(other) = seen_nets.insert(n.trunc(), name.get_ref().clone()) {
                cx.err(
                    &d,
                    format!(
                        "network {n} is listed under both datacenters {other} and {}",
                        name.get_ref()
                    ),
                );
            }
        }
        let location = d.get_ref().location.as_ref().map(|l| {
            let v = *l.get_ref();
            if !(-90.0..=90.0).contains(&v.lat) || !(-180.0..=180.0).contains(&v.lon) {
                cx.err(
                    l,
                    "location needs lat within -90..90 and lon within -180..180",
                );
            }
            v
        });
        let d = d.into_inner();
        let mut regions = |kind: &'static str, list: Option<Vec<Spanned<String>>>| {
            let mut out = Vec::new();
            for code in list.unwrap_or_default() {
                let Some(c) = region_code(&mut cx, kind, &code) else {
                    continue;
                };
                if let Some(other) = seen_regions.insert((kind, c.clone()), name.get_ref().clone())
                {
                    let what = if other == *name.get_ref() {
                        format!("{kind} {c} is listed twice in datacenter {other}")
                    } else {
                        format!(
                            "{kind} {c} is listed under both datacenters {other} and {}",
                            name.get_ref()
                        )
                    };
                    cx.err(&code, what);
                }
                out.push(c);
            }
            out
        };
        let countries = regions("country", d.countries);
        let continents = regions("continent", d.continents);
        let subdivisions = regions("subdivision", d.subdivisions);
        let min_up = d.min_up.map(Spanned::into_inner);
        datacenters.push(Datacenter {
            name: name.into_inner(),
            networks: d.networks.iter().map(|n| n.trunc()).collect(),
            location,
            countries,
            continents,
            subdivisions,
            min_up,
        });
    }
    let rrl = rrl(&mut cx, raw.rrl);
    let cookies = Cookies {
        enabled: raw.cookies.enabled.unwrap_or(true),
        secret_file: raw
            .cookies
            .secret_file
            .as_ref()
            .map(|p| cx.path(p.get_ref())),
        secret_file_pos: raw
            .cookies
            .secret_file
            .as_ref()
            .map(|p| cx.pos(p))
            .unwrap_or_default(),
        require: raw.cookies.require.unwrap_or(false),
    };
    let dnstap = raw.dnstap.map(|d| dnstap(&mut cx, d));
    let dnssec = raw
        .dnssec
        .into_iter()
        .filter_map(|(zone, d)| dnssec(&mut cx, zone, d))
        .collect();
    let cluster = raw.cluster.map(|c| cluster(&mut cx, c, &server.identity));
    let names = Names {
        checks: checks
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.as_str(), i))
            .collect(),
        datacenters: datacenters
            .iter()
            .enumerate()
            .map(|(i, d)| (d.name.as_str(), i))
            .collect(),
    };
    let mut balances: Vec<Balance> = Vec::with_capacity(raw.balance.len());
    let mut seen_names: HashSet<Box<[u8]>, FastBuild> =
        HashSet::with_capacity_and_hasher(raw.balance.len(), FastBuild::default());
    for b in raw.balance {
        if let Some(b) = balance(&mut cx, b, &checks, &datacenters, &names, geoip.is_some()) {
            if !seen_names.insert(b.key.clone()) {
                cx.errors.push(Diagnostic::new(
                    file,
                    b.pos.line,
                    b.pos.col,
                    format!("balanced name {} is defined twice", b.name),
                ));
            }
            balances.push(b);
        }
    }
    if cx.errors.is_empty() {
        Ok(Config {
            file: file.to_path_buf(),
            server,
            admin,
            zones_directory,
            checks,
            datacenters,
            balances,
            geoip,
            rrl,
            cookies,
            dnstap,
            cluster,
            shared_digest: 0,
            dnssec,
        })
    } else {
        Err(cx.errors)
    }
}

/// The continent codes GeoIP databases use.
const CONTINENTS: [&str; 7] = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

/// A GeoIP region code of `kind` in upper case, or an error at its place: a country is ISO
/// 3166-1 alpha-2 (`GB`), a continent one of `CONTINENTS`, a subdivision ISO 3166-2 (`US-VA`:
/// the country, a hyphen, one to three letters or digits).
fn region_code(cx: &mut Ctx<'_>, kind: &str, code: &Spanned<String>) -> Option<String> {
    let c = code.get_ref().to_ascii_uppercase();
    let letters = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_uppercase());
    let ok = match kind {
        "country" => letters(&c, 2),
        "continent" => CONTINENTS.contains(&c.as_str()),
        _ => c.split_once('-').is_some_and(|(cc, sub)| {
            letters(cc, 2)
                && (1..=3).contains(&sub.len())
                && sub
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        }),
    };
    if ok {
        return Some(c);
    }
    let hint = match kind {
        "country" => "an ISO 3166-1 alpha-2 code such as \"GB\"".to_string(),
        "continent" => format!("one of {}", CONTINENTS.join(" ")),
        _ => "an ISO 3166-2 code such as \"US-VA\"".to_string(),
    };
    cx.err(code, format!("{kind} {:?} is not {hint}", code.get_ref()));
    None
}

fn server(cx: &mut Ctx<'_>, s: raw::RawServer) -> Server {
    let listen = match s.listen {
        Some(l) if l.get_ref().is_empty() => {
            cx.err(&l, "listen needs at least one address");
            Vec::new()
        }
        Some(l) => l.into_inner(),
        None => vec![defaults::LISTEN],
    };
    let threads = match s.threads {
        Some(0) | None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        Some(n) => n,
    };
    let udp_payload_max = match s.udp_payload_max {
        Some(p) if *p.get_ref() < defaults::UDP_PAYLOAD_MIN => {
            cx.err(
                &p,
                format!(
                    "udp_payload_max must be at least {}",
                    defaults::UDP_PAYLOAD_MIN
                ),
            );
            defaults::UDP_PAYLOAD_MIN
        }
        Some(p) => p.into_inner(),
        None => defaults::UDP_PAYLOAD_MAX,
    };
    let tcp_idle_timeout = match s.tcp_idle_timeout {
        Some(t) if t.get_ref().0.is_zero() => {
            cx.err(&t, "tcp_idle_timeout must be more than zero");
            defaults::TCP_IDLE_TIMEOUT
        }
        Some(t) => t.into_inner().0,
        None => defaults::TCP_IDLE_TIMEOUT,
    };
    let tcp_connections_max = match s.tcp_connections_max {
        Some(m) if *m.get_ref() == 0 => {
            cx.err(&m, "tcp_connections_max must be at least 1");
            1
        }
        Some(m) => m.into_inner(),
        None => defaults::TCP_CONNECTIONS_MAX,
    };
    let tcp_connections_per_client = at_least_one(
        cx,
        s.tcp_connections_per_client,
        "tcp_connections_per_client",
        defaults::TCP_CONNECTIONS_PER_CLIENT,
    );
    let tcp_io_timeout = more_than_zero(
        cx,
        s.tcp_io_timeout,
        "tcp_io_timeout",
        defaults::TCP_IO_TIMEOUT,
    );
    let identity = match s.identity {
        Some(i) => text_record(cx, i, "identity"),
        None => defaults::identity(),
    };
    let version = match s.version {
        Some(v) => text_record(cx, v, "version"),
        None => defaults::VERSION.to_string(),
    };
    Server {
        listen,
        threads,
        state_directory: s.state_directory.map(|p| cx.path(&p)),
        udp_payload_max,
        tcp_idle_timeout,
        tcp_connections_max,
        tcp_connections_per_client,
        tcp_io_timeout,
        identity,
        version,
    }
}

/// A count that must be at least 1, or its default.
fn at_least_one(cx: &mut Ctx<'_>, v: Option<Spanned<usize>>, key: &str, default: usize) -> usize {
    match v {
        Some(n) if *n.get_ref() == 0 => {
            cx.err(&n, format!("{key} must be at least 1"));
            default
        }
        Some(n) => n.into_inner(),
        None => default,
    }
}

/// A duration that must be more than zero, or its default.
fn more_than_zero(
    cx: &mut Ctx<'_>,
    v: Option<Spanned<HumanDuration>>,
    key: &str,
    default: Duration,
) -> Duration {
    match v {
        Some(t) if t.get_ref().0.is_zero() => {
            cx.err(&t, format!("{key} must be more than zero"));
            default
        }
        Some(t) => t.into_inner().0,
        None => default,
    }
}

/// A string answered in one TXT character-string (and as NSID): at most 255 octets.
fn text_record(cx: &mut Ctx<'_>, v: Spanned<String>, key: &str) -> String {
    if v.get_ref().len() > 255 {
        cx.err(
            &v,
            format!("{key} must be at most 255 bytes (one TXT string)"),
        );
    }
    v.into_inner()
}

/// `[rrl]`: rates, slip, window and client blocks within the ranges the limiter holds.
fn rrl(cx: &mut Ctx<'_>, r: raw::RawRrl) -> Rrl {
    let mut rate = |v: Option<Spanned<u32>>, key: &str, default: u32| match v {
        Some(n) if *n.get_ref() > defaults::RRL_MAX_RATE => {
            cx.err(
                &n,
                format!(
                    "{key} must be at most {} (0 leaves the class unlimited)",
                    defaults::RRL_MAX_RATE
                ),
            );
            default
        }
        Some(n) => n.into_inner(),
        None => default,
    };
    let d = defaults::RRL_RATES;
    let rates = [
        rate(r.responses_per_second, "responses_per_second", d[0]),
        rate(r.nxdomains_per_second, "nxdomains_per_second", d[1]),
        rate(r.nodata_per_second, "nodata_per_second", d[2]),
        rate(r.referrals_per_second, "referrals_per_second", d[3]),
        rate(r.errors_per_second, "errors_per_second", d[4]),
    ];
    let slip = match r.slip {
        Some(n) if *n.get_ref() > 10 => {
            cx.err(
                &n,
                "slip must be within 0..10 (0 drops every limited answer)",
            );
            defaults::RRL_SLIP
        }
        Some(n) => n.into_inner(),
        None => defaults::RRL_SLIP,
    };
    let window = match r.window {
        Some(w)
            if w.get_ref().0 < Duration::from_secs(1)
                || w.get_ref().0 > Duration::from_secs(3600) =>
        {
            cx.err(&w, "window must be within 1s..1h");
            defaults::RRL_WINDOW
        }
        Some(w) => w.into_inner().0,
        None => defaults::RRL_WINDOW,
    };
    let mut prefix = |v: Option<Spanned<u8>>, key: &str, max: u8, default: u8| match v {
        Some(p) if *p.get_ref() > max => {
            cx.err(&p, format!("{key} must be within 0..{max}"));
            default
        }
        Some(p) => p.into_inner(),
        None => default,
    };
    let ipv4_prefix = prefix(r.ipv4_prefix, "ipv4_prefix", 32, defaults::RRL_IPV4_PREFIX);
    let ipv6_prefix = prefix(r.ipv6_prefix, "ipv6_prefix", 128, defaults::RRL_IPV6_PREFIX);
    Rrl {
        enabled: r.enabled.unwrap_or(true),
        rates,
        slip,
        window: window.as_secs() as u32,
        ipv4_prefix,
        ipv6_prefix,
        exempt: r.exempt.map_or_else(
            || defaults::RRL_EXEMPT.to_vec(),
            |e| e.iter().map(|n| n.trunc()).collect(),
        ),
        log_only: r.log_only.unwrap_or(false),
    }
}

/// `[dnstap]`: a socket path a unix socket address can hold, and something to log.
fn dnstap(cx: &mut Ctx<'_>, d: Spanned<raw::RawDnstap>) -> Dnstap {
    let queries = d.get_ref().queries.unwrap_or(defaults::DNSTAP_QUERIES);
    let responses = d.get_ref().responses.unwrap_or(defaults::DNSTAP_RESPONSES);
    if !queries && !responses {
        cx.err(
            &d,
            "dnstap with queries = false and responses = false logs nothing; remove [dnstap] instead",
        );
    }
    let d = d.into_inner();
    let socket = cx.path(d.socket.get_ref());
    if d.socket.get_ref().as_os_str().is_empty() {
        cx.err(&d.socket, "dnstap socket must be a path");
    } else if socket.as_os_str().len() > defaults::DNSTAP_SOCKET_PATH_MAX {
        cx.err(
            &d.socket,
            format!(
                "dnstap socket path {} is longer than a unix socket address holds ({} bytes)",
                socket.display(),
                defaults::DNSTAP_SOCKET_PATH_MAX
            ),
        );
    }
    Dnstap {
        socket,
        queries,
        responses,
    }
}

/// `[cluster]`: etcd URLs, an instance id that fits a key, a prefix, sane durations, TLS files
/// that go together.
fn cluster(cx: &mut Ctx<'_>, c: Spanned<raw::RawCluster>, identity: &str) -> Cluster {
    let c = c.into_inner();
    let instance = match &c.instance {
        Some(i) => i.get_ref().clone(),
        None => identity.to_string(),
    };
    let bad_id = instance.is_empty()
        || instance.len() > 253
        || !instance
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if bad_id {
        let msg = format!(
            "cluster instance {instance:?} must be 1 to 253 letters, digits, '-', '_' or '.' (it names this instance's keys in etcd)"
        );
        match &c.instance {
            Some(i) => cx.err(i, msg),
            None => cx.err(&c.etcd, format!("{msg}; set [cluster] instance")),
        }
    }
    if c.etcd.get_ref().is_empty() {
        cx.err(
            &c.etcd,
            "cluster etcd needs at least one URL, e.g. \"http://127.0.0.1:2379\"",
        );
    }
    let mut etcd = Vec::new();
    for u in c.etcd.get_ref() {
        let url = u.get_ref();
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"));
        match rest {
            Some(hostport) if !hostport.is_empty() && !hostport.contains('/') => {
                etcd.push(url.clone())
            }
            _ => cx.err(
                u,
                format!("etcd URL {url:?} must be http://HOST:PORT or https://HOST:PORT"),
            ),
        }
    }
    let prefix = match &c.prefix {
        Some(p) => {
            let v = p.get_ref().trim_end_matches('/').to_string();
            if !v.starts_with('/') {
                cx.err(p, "cluster prefix must start with '/', e.g. \"/gslb/prod\"");
            }
            v
        }
        None => defaults::CLUSTER_PREFIX.to_string(),
    };
    let lease_ttl = match c.lease_ttl {
        Some(t) if t.get_ref().0 < defaults::CLUSTER_LEASE_TTL_MIN => {
            cx.err(&t, "lease_ttl must be at least 1s");
            defaults::CLUSTER_LEASE_TTL
        }
        Some(t) => t.into_inner().0,
        None => defaults::CLUSTER_LEASE_TTL,
    };
    let down_quorum = match &c.down_quorum {
        None => DownQuorum::Majority,
        Some(q) => match q.get_ref() {
            raw::RawQuorum::Word(w) if w == "majority" => DownQuorum::Majority,
            raw::RawQuorum::Word(w) if w == "all" => DownQuorum::All,
            raw::RawQuorum::Word(w) if w == "any" => DownQuorum::Any,
            raw::RawQuorum::Count(k) if (1..=i64::from(u32::MAX)).contains(k) => {
                DownQuorum::Count(*k as u32)
            }
            raw::RawQuorum::Count(k) => {
                cx.err(q, format!("down_quorum {k} must be at least 1"));
                DownQuorum::Majority
            }
            raw::RawQuorum::Word(w) => {
                cx.err(
                    q,
                    format!("down_quorum {w:?} must be \"majority\", \"all\", \"any\" or a count of instances"),
                );
                DownQuorum::Majority
            }
        },
    };
    let on_store_loss = match &c.on_store_loss {
        None => StoreLoss::Freeze,
        Some(v) if v.get_ref() == "freeze" => StoreLoss::Freeze,
        Some(v) if v.get_ref() == "local" => StoreLoss::Local,
        Some(v) => {
            cx.err(
                v,
                format!(
                    "on_store_loss {:?} must be \"freeze\" or \"local\"",
                    v.get_ref()
                ),
            );
            StoreLoss::Freeze
        }
    };
    let freeze_max = more_than_zero(cx, c.freeze_max, "freeze_max", defaults::CLUSTER_FREEZE_MAX);
    let ca_file = c.ca_file.as_ref().map(|p| cx.path(p.get_ref()));
    let client_identity = match (&c.cert_file, &c.key_file) {
        (Some(cert), Some(key)) => Some((cx.path(cert.get_ref()), cx.path(key.get_ref()))),
        (Some(cert), None) => {
            cx.err(
                cert,
                "cert_file needs key_file (the client certificate's private key)",
            );
            None
        }
        (None, Some(key)) => {
            cx.err(key, "key_file needs cert_file");
            None
        }
        (None, None) => None,
    };
    let user = match (&c.username, &c.password_file) {
        (Some(u), Some(p)) => Some((u.get_ref().clone(), cx.path(p.get_ref()))),
        (Some(u), None) => {
            cx.err(
                u,
                "username needs password_file (a file holding the etcd user's password)",
            );
            None
        }
        (None, Some(p)) => {
            cx.err(p, "password_file needs username");
            None
        }
        (None, None) => None,
    };
    let tls = ca_file.is_some() || client_identity.is_some();
    for u in c.etcd.get_ref() {
        if tls && u.get_ref().starts_with("http://") {
            cx.err(
                u,
                format!(
                    "etcd URL {:?} is plain http while ca_file/cert_file are set: use https://",
                    u.get_ref()
                ),
            );
        }
    }
    Cluster {
        instance,
        etcd,
        prefix,
        lease_ttl,
        down_quorum,
        on_store_loss,
        freeze_max,
        ca_file,
        client_identity,
        user,
    }
}

/// `[dnssec."zone"]`: a zone name, at least one key, validities within bounds.
fn dnssec(cx: &mut Ctx<'_>, zone: Spanned<String>, d: Spanned<raw::RawDnssec>) -> Option<Dnssec> {
    let pos = cx.pos(&d);
    let d = d.into_inner();
    let name = match Name::from_str(zone.get_ref()) {
        Ok(mut n) if !zone.get_ref().is_empty() => {
            n.set_fqdn(true);
            n
        }
        _ => {
            cx.err(
                &zone,
                format!("[dnssec.\"{}\"]: not a zone name", zone.get_ref()),
            );
            return None;
        }
    };
    if d.keys.get_ref().is_empty() {
        cx.err(
            &d.keys,
            "keys must name at least one key pair (gslb dnssec keygen makes one)",
        );
    }
    let mut validity = |v: &Option<Spanned<HumanDuration>>, default: Duration, key: &str| {
        let Some(v) = v else { return default };
        let d = v.get_ref().0;
        if !(defaults::DNSSEC_VALIDITY_MIN..=defaults::DNSSEC_VALIDITY_MAX).contains(&d) {
            cx.err(
                v,
                format!(
                    "{key} must be between {}s and {}s",
                    defaults::DNSSEC_VALIDITY_MIN.as_secs(),
                    defaults::DNSSEC_VALIDITY_MAX.as_secs()
                ),
            );
        }
        d
    };
    let signature_validity = validity(
        &d.signature_validity,
        defaults::DNSSEC_SIGNATURE_VALIDITY,
        "signature_validity",
    );
    let balanced_signature_validity = validity(
        &d.balanced_signature_validity,
        defaults::DNSSEC_BALANCED_SIGNATURE_VALIDITY,
        "balanced_signature_validity",
    );
    let keys = d
        .keys
        .into_inner()
        .into_iter()
        .map(|k| (cx.path(k.get_ref()), cx.pos(&k)))
        .collect();
    Some(Dnssec {
        zone: zone.into_inner(),
        origin: crate::wire::name::key_of(&name),
        pos,
        keys,
        signature_validity,
        balanced_signature_validity,
    })
}

fn check(cx: &mut Ctx<'_>, name: &str, c: Spanned<raw::RawCheck>) -> Option<Check> {
    let at = c.span();
    let c = c.into_inner();
    let here = |cx: &mut Ctx<'_>, msg: String| cx.err_at(at.start, msg);
    let http = c.protocol != Protocol::Tcp;
    let port = match (c.port, c.protocol) {
        (Some(p), _) => p,
        (None, Protocol::Http) => 80,
        (None, Protocol::Https) => 443,
        (None, Protocol::Tcp) => {
            here(cx, format!("check {name}: a tcp check needs a port"));
            0
        }
    };
    if !http {
        let http_only = [
            ("path", c.path.as_ref().map(|s| s.span())),
            ("host", c.host.as_ref().map(|s| s.span())),
            ("expect_status", c.expect_status.as_ref().map(|s| s.span())),
            ("expect_body", c.expect_body.as_ref().map(|s| s.span())),
            ("load_header", c.load_header.as_ref().map(|s| s.span())),
        ];
        for (key, span) in http_only {
            if let Some(span) = span {
                cx.err_at(
                    span.start,
                    format!("check {name}: {key} applies to http and https checks only"),
                );
            }
        }
    }
    if c.protocol != Protocol::Https {
        for (key, span) in [
            ("tls_verify", c.tls_verify.as_ref().map(|s| s.span())),
            ("ca_file", c.ca_file.as_ref().map(|s| s.span())),
        ] {
            if let Some(span) = span {
                cx.err_at(
                    span.start,
                    format!("check {name}: {key} applies to https checks only"),
                );
            }
        }
    }
    let path = match c.path {
        Some(p) if !p.get_ref().starts_with('/') => {
            cx.err(&p, format!("check {name}: path must start with '/'"));
            String::new()
        }
        Some(p) => p.into_inner(),
        None => "/".into(),
    };
    let expect_status = match c.expect_status {
        Some(s)
            if s.get_ref().is_empty() || s.get_ref().iter().any(|&x| !(100..=599).contains(&x)) =>
        {
            cx.err(
                &s,
                format!("check {name}: expect_status needs HTTP statuses within 100..599"),
            );
            Vec::new()
        }
        Some(s) => s.into_inner(),
        None => vec![200],
    };
    let interval = c
        .interval
        .as_ref()
        .map_or(Duration::from_secs(1), |d| d.get_ref().0);
    let timeout = c
        .timeout
        .as_ref()
        .map_or(Duration::from_millis(500).min(interval / 2), |d| {
            d.get_ref().0
        });
    if let Some(i) = &c.interval
        && i.get_ref().0 < Duration::from_millis(10)
    {
        cx.err(i, format!("check {name}: interval must be at least 10ms"));
    }
    if timeout.is_zero() || timeout >= interval {
        match &c.timeout {
            Some(t) => cx.err(t, format!("check {name}: timeout must be more than zero and less than interval ({interval:?})")),
            None => here(cx, format!("check {name}: timeout must be less than interval")),
        }
    }
    let mut count = |v: &Option<Spanned<u32>>, key: &str| match v {
        Some(n) if *n.get_ref() == 0 || *n.get_ref() > 1000 => {
            cx.err(n, format!("check {name}: {key} must be within 1..1000"));
            1
        }
        Some(n) => *n.get_ref(),
        None => 2,
    };
    let rise = count(&c.rise, "rise");
    let fall = count(&c.fall, "fall");
    let http = HttpCheck {
        path,
        host: c.host.map(Spanned::into_inner),
        expect_status,
        expect_body: c.expect_body.map(Spanned::into_inner),
        load_header: c.load_header.map(Spanned::into_inner),
    };
    // The keys of other protocols were rejected above; a TCP check drops the HTTP defaults.
    let kind = match c.protocol {
        Protocol::Tcp => CheckKind::Tcp,
        Protocol::Http => CheckKind::Http(http),
        Protocol::Https => CheckKind::Https {
            http,
            tls: TlsCheck {
                verify: c.tls_verify.is_none_or(Spanned::into_inner),
                ca_file: c.ca_file.map(|p| cx.path(p.get_ref())),
            },
        },
    };
    Some(Check {
        name: name.to_string(),
        port,
        address: c.address,
        interval,
        timeout,
        rise,
        fall,
        kind,
    })
}

/// Checks and data centers by name, built once for every reference the balances make.
struct Names<'a> {
    checks: HashMap<&'a str, usize, FastBuild>,
    datacenters: HashMap<&'a str, usize, FastBuild>,
}

fn balance(
    cx: &mut Ctx<'_>,
    b: Spanned<raw::RawBalance>,
    checks: &[Check],
    datacenters: &[Datacenter],
    names: &Names<'_>,
    have_geoip: bool,
) -> Option<Balance> {
    let b = b.into_inner();
    let pos = cx.pos(&b.name);
    let name = balanced_name(cx, &b.name)?;
    let display = name.to_ascii().to_ascii_lowercase();
    let policy = *b.policy.get_ref();
    let ttl = match &b.ttl {
        Some(t) if *t.get_ref() > MAX_TTL => {
            cx.err(t, format!("ttl must be at most {MAX_TTL}"));
            defaults::TTL
        }
        Some(t) => *t.get_ref(),
        None => defaults::TTL,
    };
    let answers = match &b.answers {
        Some(a) if *a.get_ref() == 0 => {
            cx.err(a, "answers must be at least 1");
            1
        }
        Some(a) => *a.get_ref(),
        None => defaults::ANSWERS,
    };
    let ttl_degraded = match &b.ttl_degraded {
        Some(t) if *t.get_ref() > ttl => {
            cx.err(
                t,
                format!("ttl_degraded must be at most ttl ({ttl}): it shortens answers while the name is degraded"),
            );
            None
        }
        Some(t) => Some(*t.get_ref()),
        None => None,
    };
    let default_check = b
        .check
        .as_ref()
        .and_then(|c| check_index(cx, checks, names, c));
    // A name answers addresses or CNAMEs: its first endpoint says which.
    let cname = b
        .endpoints
        .get_ref()
        .first()
        .is_some_and(|e| e.get_ref().target.is_some());
    if cname
        && let Some(a) = &b.answers
        && *a.get_ref() > 1
    {
        cx.err(
            a,
            format!("{display}: a name of CNAME endpoints answers one CNAME: answers must be 1"),
        );
    }
    let (fallback, fallback_targets) = fallback(cx, &b, cname, &display);
    let endpoints = endpoints(cx, &b, &display, default_check, checks, datacenters, names);
    policy_needs(cx, &b, &display, &endpoints, datacenters, have_geoip);
    Some(Balance {
        key: crate::wire::name::key_of(&name),
        name: display,
        pos,
        policy,
        ttl,
        ttl_degraded,
        answers: if cname { 1 } else { answers },
        when_all_down: b.when_all_down,
        fallback,
        fallback_targets,
        endpoints,
    })
}

/// The balanced name as a fully qualified domain name.
fn balanced_name(cx: &mut Ctx<'_>, name: &Spanned<String>) -> Option<Name> {
    match Name::from_str(name.get_ref()) {
        Ok(mut n) if !name.get_ref().is_empty() => {
            n.set_fqdn(true);
            Some(n)
        }
        _ => {
            cx.err(name, format!("{:?} is not a domain name", name.get_ref()));
            None
        }
    }
}

/// The index of the check a balance or endpoint names.
fn check_index(
    cx: &mut Ctx<'_>,
    checks: &[Check],
    names: &Names<'_>,
    c: &Spanned<String>,
) -> Option<usize> {
    let i = names.checks.get(c.get_ref().as_str()).copied();
    if i.is_none() {
        cx.err(
            c,
            format!(
                "no check named {:?} (known: {})",
                c.get_ref(),
                list(checks.iter().map(|k| k.name.as_str()))
            ),
        );
    }
    i
}

/// `fallback`, which goes with `when_all_down = "fallback"` and only with it: addresses, or
/// for a name of CNAME endpoints (`cname`) target names.
fn fallback(
    cx: &mut Ctx<'_>,
    b: &raw::RawBalance,
    cname: bool,
    display: &str,
) -> (Vec<std::net::IpAddr>, Vec<Target>) {
    let (mut addrs, mut targets) = (Vec::new(), Vec::new());
    match (&b.fallback, b.when_all_down) {
        (Some(f), WhenAllDown::Fallback) if f.get_ref().is_empty() => {
            cx.err(f, "fallback needs at least one address");
        }
        (Some(f), WhenAllDown::Fallback) => {
            for v in f.get_ref() {
                if cname {
                    if let Some(t) = target_name(cx, v, display) {
                        targets.push(t);
                    }
                } else {
                    match v.get_ref().parse() {
                        Ok(a) => addrs.push(a),
                        Err(_) => cx.err(
                            v,
                            format!("fallback {:?} is not an IP address", v.get_ref()),
                        ),
                    }
                }
            }
        }
        (Some(f), _) => {
            cx.err(f, "fallback is only used with when_all_down = \"fallback\"");
        }
        (None, WhenAllDown::Fallback) => {
            cx.err(
                &b.name,
                "when_all_down = \"fallback\" needs fallback = [addresses]",
            );
        }
        (None, _) => {}
    }
    (addrs, targets)
}

/// A CNAME target: a domain name, always absolute (the trailing dot is optional), not the
/// balanced name itself.
fn target_name(cx: &mut Ctx<'_>, v: &Spanned<String>, display: &str) -> Option<Target> {
    let text = v.get_ref();
    let parsed = Name::from_ascii(text.trim_end_matches('.'))
        .ok()
        .filter(|_| !text.trim_end_matches('.').is_empty() && !text.ends_with(".."));
    let Some(mut n) = parsed else {
        cx.err(v, format!("target {text:?} is not a domain name"));
        return None;
    };
    n.set_fqdn(true);
    let name = n.to_ascii().to_ascii_lowercase();
    if name == display {
        cx.err(
            v,
            format!(
                "{display}: a target equal to the balanced name would answer a CNAME to itself"
            ),
        );
        return None;
    }
    Some(Target {
        key: crate::wire::name::key_of(&n),
        name,
    })
}

/// The endpoints of a balance: each once, in a known data center, with its check.
fn endpoints(
    cx: &mut Ctx<'_>,
    b: &raw::RawBalance,
    display: &str,
    default_check: Option<usize>,
    checks: &[Check],
    datacenters: &[Datacenter],
    names: &Names<'_>,
) -> Vec<Endpoint> {
    let policy = *b.policy.get_ref();
    if b.endpoints.get_ref().len() > defaults::MAX_ENDPOINTS {
        cx.err(
            &b.endpoints,
            format!(
                "{display}: at most {} endpoints per balanced name",
                defaults::MAX_ENDPOINTS
            ),
        );
    }
    if b.endpoints.get_ref().is_empty() {
        cx.err(
            &b.endpoints,
            format!("{display}: endpoints needs at least one endpoint"),
        );
    }
    let mut endpoints = Vec::with_capacity(b.endpoints.get_ref().len());
    let mut seen: HashSet<String, FastBuild> = HashSet::default();
    let cname = b
        .endpoints
        .get_ref()
        .first()
        .is_some_and(|e| e.get_ref().target.is_some());
    for e in b.endpoints.get_ref() {
        let r = e.get_ref();
        let (address, target) = match (r.address, &r.target) {
            (Some(_), Some(t)) => {
                cx.err(
                    t,
                    format!("{display}: an endpoint has an address or a target, not both"),
                );
                continue;
            }
            (None, None) => {
                cx.err(
                    e,
                    format!("{display}: an endpoint needs an address (or a target, for a CNAME)"),
                );
                continue;
            }
            (Some(a), None) => (Some(a), None),
            (None, Some(t)) => (None, Some(t)),
        };
        if cname != target.is_some() {
            cx.err(
                e,
                format!(
                    "{display}: a balanced name has address endpoints or CNAME (target) endpoints, not both"
                ),
            );
            continue;
        }
        let target = match target {
            Some(t) => match target_name(cx, t, display) {
                Some(t) => Some(t),
                None => continue,
            },
            None => None,
        };
        let shown = target.as_ref().map_or_else(
            || address.map(|a| a.to_string()).unwrap_or_default(),
            |t| t.name.clone(),
        );
        if !seen.insert(shown.clone()) {
            cx.err(e, format!("{display}: endpoint {shown} is listed twice"));
        }
        let dc = names
            .datacenters
            .get(r.datacenter.get_ref().as_str())
            .copied();
        if dc.is_none() {
            cx.err(
                &r.datacenter,
                format!(
                    "no datacenter named {:?} (known: {})",
                    r.datacenter.get_ref(),
                    list(datacenters.iter().map(|d| d.name.as_str()))
                ),
            );
        }
        let weight = match &r.weight {
            Some(w) if *w.get_ref() == 0 => {
                cx.err(w, "weight must be more than 0");
                defaults::WEIGHT
            }
            Some(w) => *w.get_ref(),
            None => defaults::WEIGHT,
        };
        let check = match &r.check {
            Some(c) => check_index(cx, checks, names, c),
            None => default_check,
        };
        if policy == PolicyKind::LeastLoaded
            && check.is_none_or(|i| checks[i].load_header().is_none())
        {
            cx.err(
                e,
                format!(
                    "{display}: least-loaded needs a check with load_header for endpoint {shown}"
                ),
            );
        }
        // A target is probed at an address of its own: the endpoint's, else the check's.
        let probed = r.check_address.or(check.and_then(|i| checks[i].address));
        if target.is_some() && check.is_some() && probed.is_none() {
            cx.err(
                e,
                format!(
                    "{display}: endpoint {shown} is checked but a target has no address to probe: set check_address, or address on the check"
                ),
            );
        }
        if let Some(dc) = dc {
            if policy == PolicyKind::Nearest && datacenters[dc].location.is_none() {
                cx.err(
                    e,
                    format!(
                        "{display}: nearest needs a location for datacenter {}",
                        datacenters[dc].name
                    ),
                );
            }
            let unprobed = std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
            endpoints.push(Endpoint {
                address: address.unwrap_or(probed.unwrap_or(unprobed)),
                target,
                datacenter: dc,
                priority: r.priority.unwrap_or(defaults::PRIORITY),
                weight,
                check,
                check_address: r.check_address,
            });
        }
    }
    endpoints
}

/// What the policy needs beyond the endpoints: a GeoIP database (nearest), networks (geo).
fn policy_needs(
    cx: &mut Ctx<'_>,
    b: &raw::RawBalance,
    display: &str,
    endpoints: &[Endpoint],
    datacenters: &[Datacenter],
    have_geoip: bool,
) {
    let policy = *b.policy.get_ref();
    if policy == PolicyKind::Nearest && !have_geoip {
        cx.err(
            &b.policy,
            "the nearest policy needs [geoip] database = \"….mmdb\"",
        );
    }
    if policy == PolicyKind::Geo {
        let dcs = || endpoints.iter().map(|e| &datacenters[e.datacenter]);
        if !dcs().any(|d| !d.networks.is_empty() || d.has_regions()) {
            cx.err(
                &b.policy,
                format!("{display}: geo needs networks, countries, continents or subdivisions on the endpoints' datacenters"),
            );
        }
        if !have_geoip && dcs().any(Datacenter::has_regions) {
            cx.err(
                &b.policy,
                format!("{display}: geo by countries, continents or subdivisions needs [geoip] database = \"….mmdb\""),
            );
        }
    }
}

/// The names an unknown reference could have been (in file order, which is name order: they
/// come from TOML tables); past `LISTED` only counted, so a config with thousands of checks
/// and as many bad references does not print their square.
fn list<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    const LISTED: usize = 20;
    let n = names.len();
    let shown: Vec<&str> = names.take(LISTED).collect();
    match n {
        0 => "none".into(),
        n if n <= LISTED => shown.join(", "),
        n => format!("{}, … and {} more", shown.join(", "), n - LISTED),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use std::path::Path;

    fn load(text: &str) -> Result<Config, Vec<String>> {
        Config::from_str(Path::new("gslb.toml"), text)
            .map_err(|e| e.into_iter().map(|d| d.to_string()).collect())
    }

    const BASE: &str = "[zones]\ndirectory = \"zones\"\n";

    #[test]
    fn minimal_config_gets_defaults() {
        let c = load(BASE).unwrap();
        assert_eq!(c.server.listen, vec!["127.0.0.1:5353".parse().unwrap()]);
        assert_eq!(c.server.udp_payload_max, 1232);
        assert_eq!(c.admin.listen, "127.0.0.1:8053".parse().unwrap());
        assert_eq!(c.zones_directory, Path::new("zones"));
    }

    #[test]
    fn syntax_errors_toml_leaves_unexplained_still_say_something() {
        // Found by the config fuzz target: toml's error for a bare carriage return is empty.
        for (text, want) in [
            ("\r", "gslb.toml:1:1: invalid TOML: unexpected '\\r'"),
            (
                "[zones]\n\r",
                "gslb.toml:2:1: invalid TOML: unexpected '\\r'",
            ),
        ] {
            let e = load(text).unwrap_err();
            assert_eq!(e, vec![want.to_string()], "{text:?}");
        }
    }

    #[test]
    fn unknown_keys_are_errors_with_positions() {
        let e = load(&format!("{BASE}[server]\nlistn = []\n")).unwrap_err();
        assert_eq!(
            e,
            ["gslb.toml:4:1: unknown key \"listn\" in [server]; did you mean \"listen\"?"]
        );
    }

    #[test]
    fn every_unknown_key_and_every_other_problem_come_in_one_run() {
        let bad = FULL
            .replace("port = 8080", "port = 8080\n  retries = 3")
            .replace("priority = 2", "priority = 2, wieght = 1")
            .replace("weight = 3", "weight = 0")
            .replace(
                "[datacenters.b]",
                "[datacenters.b]\nlocaton = { lat = 1.0, lon = 2.0 }",
            );
        let e = load(&bad).unwrap_err();
        assert_eq!(
            e,
            [
                "gslb.toml:6:3: unknown key \"retries\" in [checks.web] (known: protocol, port, address, path, host, expect_status, expect_body, tls_verify, ca_file, load_header, interval, timeout, rise, fall)",
                "gslb.toml:11:1: unknown key \"locaton\" in [datacenters.b]; did you mean \"location\"?",
                "gslb.toml:18:61: unknown key \"wieght\" in an endpoint of [[balance]]; did you mean \"weight\"?",
                "gslb.toml:17:70: weight must be more than 0",
            ]
        );
    }

    #[test]
    fn a_duration_without_a_unit_is_told_to_add_one() {
        for (value, col, hint) in [
            ("1", 12, "duration 1 has no unit: use a unit, e.g. \"1s\""),
            (
                "\"1\"",
                12,
                "duration \"1\" has no unit: use a unit, e.g. \"1s\"",
            ),
            (
                "2.5",
                12,
                "duration 2.5 has no unit: use a unit, e.g. \"2.5s\"",
            ),
        ] {
            let text = FULL.replace("port = 8080", &format!("port = 8080\ninterval = {value}"));
            let e = load(&text).unwrap_err();
            assert_eq!(
                e,
                [format!(
                    "gslb.toml:6:{col}: interval: {hint} (ms, s, m or h)"
                )],
                "{value}"
            );
        }
    }

    #[test]
    fn positions_near_the_end_of_a_large_file_are_right() {
        // 2,000 names: a bad reference in the last one and an unknown key in the one before.
        let mut text = String::from(BASE);
        text.push_str("[datacenters.a]\n");
        let n = 2000;
        for i in 0..n {
            text.push_str(&format!(
                "\n[[balance]]\nname = \"n{i}.example\"\npolicy = \"all\"\nendpoints = [\n"
            ));
            for e in 1..=4 {
                let dc = if i == n - 1 && e == 4 { "zz" } else { "a" };
                let extra = if i == n - 2 && e == 3 {
                    "colour = \"red\", "
                } else {
                    ""
                };
                text.push_str(&format!(
                    "  {{ address = \"192.0.2.{e}\", {extra}datacenter = \"{dc}\" }},\n"
                ));
            }
            text.push_str("]\n");
        }
        let e = load(&text).unwrap_err();
        // Each name takes 10 lines after the 3 of the head; endpoint e is its line 5 + e.
        let line = |i: usize, e: usize| 3 + 10 * i + 5 + e;
        assert_eq!(
            e,
            [
                format!(
                    "gslb.toml:{}:28: unknown key \"colour\" in an endpoint of [[balance]] (known: address, target, datacenter, priority, weight, check, check_address)",
                    line(n - 2, 3)
                ),
                format!(
                    "gslb.toml:{}:41: no datacenter named \"zz\" (known: a)",
                    line(n - 1, 4)
                ),
            ]
        );
    }

    #[test]
    fn type_errors_name_the_line() {
        let e = load(&format!("{BASE}[server]\nlisten = [\"nope\"]\n")).unwrap_err();
        assert!(e[0].starts_with("gslb.toml:4:"), "{e:?}");
    }

    const FULL: &str = r#"[zones]
directory = "zones"
[checks.web]
protocol = "http"
port = 8080
path = "/health"
[datacenters.a]
networks = ["198.51.100.0/24"]
[datacenters.b]
[[balance]]
name = "app.example.com"
policy = "failover"
check = "web"
endpoints = [
  { address = "192.0.2.10", datacenter = "a", priority = 1, weight = 3 },
  { address = "192.0.2.20", datacenter = "b", priority = 2 },
]
"#;

    #[test]
    fn balance_parses() {
        let c = load(FULL).unwrap();
        let b = &c.balances[0];
        assert_eq!(b.name, "app.example.com.");
        assert_eq!((b.ttl, b.answers), (30, 1));
        assert_eq!(b.endpoints.len(), 2);
        assert_eq!(b.endpoints[0].weight, 3);
        assert_eq!(b.endpoints[0].check, Some(0));
        assert_eq!(b.pos.line, 11);
    }

    #[test]
    fn bad_references_and_values_are_all_reported() {
        let bad = FULL
            .replace("datacenter = \"b\"", "datacenter = \"c\"")
            .replace("weight = 3", "weight = 0")
            .replace("check = \"web\"", "check = \"webb\"");
        let e = load(&bad).unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(
            e.iter()
                .any(|m| m.contains("no datacenter named \"c\"") && m.starts_with("gslb.toml:16:")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|m| m.contains("weight must be more than 0")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|m| m.contains("no check named \"webb\"")),
            "{e:?}"
        );
    }

    #[test]
    fn fallback_only_with_when_all_down_fallback() {
        let e = load(&FULL.replace(
            "check = \"web\"",
            "check = \"web\"\nfallback = [\"192.0.2.99\"]",
        ))
        .unwrap_err();
        assert!(e[0].contains("only used with when_all_down"), "{e:?}");
        let e = load(&FULL.replace(
            "check = \"web\"",
            "check = \"web\"\nwhen_all_down = \"fallback\"",
        ))
        .unwrap_err();
        assert!(e[0].contains("needs fallback"), "{e:?}");
        load(&FULL.replace(
            "check = \"web\"",
            "check = \"web\"\nwhen_all_down = \"fallback\"\nfallback = [\"192.0.2.99\"]",
        ))
        .unwrap();
    }

    #[test]
    fn duplicates_and_timeouts_are_rejected() {
        let twice = format!("{FULL}{}", &FULL[FULL.find("[[balance]]").unwrap()..]);
        let e = load(&twice).unwrap_err();
        assert!(e[0].contains("defined twice"), "{e:?}");
        let e = load(&FULL.replace(
            "path = \"/health\"",
            "path = \"/health\"\ninterval = \"1s\"\ntimeout = \"2s\"",
        ))
        .unwrap_err();
        assert!(e[0].contains("less than interval"), "{e:?}");
        let e = load(&FULL.replace("path = \"/health\"", "path = \"/health\"\ninterval = \"1\""))
            .unwrap_err();
        assert!(e[0].contains("use a unit, e.g. \"1s\""), "{e:?}");
    }

    #[test]
    fn checks_are_typed_by_protocol() {
        use super::super::CheckKind;
        let c = load(FULL).unwrap();
        let CheckKind::Http(h) = &c.checks[0].kind else {
            panic!("{:?}", c.checks[0].kind)
        };
        assert_eq!(
            (h.path.as_str(), &h.expect_status[..]),
            ("/health", &[200][..])
        );
        let tcp = FULL.replace("protocol = \"http\"", "protocol = \"tcp\"");
        let e = load(&tcp).unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("gslb.toml:6:8:")
                && e[0].contains("path applies to http and https checks only"),
            "{e:?}"
        );
        let c = load(&tcp.replace("path = \"/health\"\n", "")).unwrap();
        assert_eq!(c.checks[0].kind, CheckKind::Tcp);
        let https = FULL.replace(
            "protocol = \"http\"",
            "protocol = \"https\"\ntls_verify = false",
        );
        let c = load(&https).unwrap();
        let tls = c.checks[0].kind.tls().unwrap();
        assert!(!tls.verify && tls.ca_file.is_none());
        let e = load(&FULL.replace("path = \"/health\"", "ca_file = \"ca.pem\"")).unwrap_err();
        assert!(
            e[0].contains("ca_file applies to https checks only"),
            "{e:?}"
        );
    }

    #[test]
    fn policies_check_their_needs() {
        let e = load(&FULL.replace("\"failover\"", "\"nearest\"")).unwrap_err();
        assert!(e.iter().any(|m| m.contains("[geoip]")), "{e:?}");
        let e = load(&FULL.replace("\"failover\"", "\"least-loaded\"")).unwrap_err();
        assert!(e.iter().any(|m| m.contains("load_header")), "{e:?}");
        let e = load(&FULL.replace("\"failover\"", "\"fastest\"")).unwrap_err();
        assert!(e[0].contains("unknown variant"), "{e:?}");
    }

    #[test]
    fn dnstap_takes_a_socket_and_logs_both_by_default() {
        assert_eq!(load(BASE).unwrap().dnstap, None, "off without the section");
        let c = load(&format!("{BASE}[dnstap]\nsocket = \"run/tap.sock\"\n")).unwrap();
        let d = c.dnstap.unwrap();
        assert_eq!(d.socket, Path::new("run/tap.sock"));
        assert!(d.queries && d.responses);
        let c = load(&format!(
            "{BASE}[dnstap]\nsocket = \"/t.sock\"\nqueries = false\n"
        ))
        .unwrap();
        assert!(!c.dnstap.unwrap().queries);
    }

    #[test]
    fn dnstap_rejects_what_cannot_work() {
        let e = load(&format!("{BASE}[dnstap]\nqueries = true\n")).unwrap_err();
        assert!(e[0].contains("missing field `socket`"), "{e:?}");
        let e = load(&format!("{BASE}[dnstap]\nsocket = \"/t\"\nsokcet = 1\n")).unwrap_err();
        assert!(
            e[0].contains("unknown key \"sokcet\" in [dnstap]; did you mean \"socket\"?"),
            "{e:?}"
        );
        let e = load(&format!(
            "{BASE}[dnstap]\nsocket = \"/t\"\nqueries = false\nresponses = false\n"
        ))
        .unwrap_err();
        assert!(
            e[0].starts_with("gslb.toml:3:") && e[0].contains("logs nothing"),
            "{e:?}"
        );
        let long = format!("/{}", "s".repeat(120));
        let e = load(&format!("{BASE}[dnstap]\nsocket = \"{long}\"\n")).unwrap_err();
        assert!(
            e[0].starts_with("gslb.toml:4:10:") && e[0].contains("longer than a unix socket"),
            "{e:?}"
        );
        let e = load(&format!("{BASE}[dnstap]\nsocket = \"\"\n")).unwrap_err();
        assert!(e[0].contains("must be a path"), "{e:?}");
    }

    #[test]
    fn routing_keys_are_validated_with_positions() {
        let geo = "[geoip]\ndatabase = \"g.mmdb\"\n";
        // (text after BASE, the one error expected, as a substring with its position)
        let cases: Vec<(String, &str)> = vec![
            (
                format!("{geo}[datacenters.a]\ncountries = [\"GBR\"]\n"),
                "gslb.toml:6:14: country \"GBR\" is not an ISO 3166-1 alpha-2 code",
            ),
            (
                format!("{geo}[datacenters.a]\ncontinents = [\"EUR\"]\n"),
                "gslb.toml:6:15: continent \"EUR\" is not one of AF AN AS EU NA OC SA",
            ),
            (
                format!("{geo}[datacenters.a]\nsubdivisions = [\"VA\"]\n"),
                "gslb.toml:6:17: subdivision \"VA\" is not an ISO 3166-2 code",
            ),
            (
                format!("{geo}[datacenters.a]\ncountries = [\"GB\"]\n[datacenters.b]\ncountries = [\"IE\", \"gb\"]\n"),
                "gslb.toml:8:20: country GB is listed under both datacenters a and b",
            ),
            (
                format!("{geo}[datacenters.a]\ncontinents = [\"EU\", \"EU\"]\n"),
                "gslb.toml:6:21: continent EU is listed twice in datacenter a",
            ),
            (
                "[datacenters.a]\nmin_up = \"150%\"\n".into(),
                "gslb.toml:4:10: min_up: min_up \"150%\" must be a count (e.g. 2) or a percentage within 1..100",
            ),
            (
                "[datacenters.a]\nmin_up = -1\n".into(),
                "gslb.toml:4:10: min_up: min_up -1 must be a count",
            ),
            (
                "[datacenters.a]\ncountries = [\"GB\"]\n[[balance]]\nname = \"g.example\"\npolicy = \"geo\"\nendpoints = [{ address = \"192.0.2.1\", datacenter = \"a\" }]\n".into(),
                "gslb.toml:7:10: g.example.: geo by countries, continents or subdivisions needs [geoip]",
            ),
            (
                "[datacenters.a]\n[[balance]]\nname = \"t.example\"\npolicy = \"all\"\nttl = 30\nttl_degraded = 60\nendpoints = [{ address = \"192.0.2.1\", datacenter = \"a\" }]\n".into(),
                "gslb.toml:8:16: ttl_degraded must be at most ttl (30)",
            ),
        ];
        for (text, want) in cases {
            let e = load(&format!("{BASE}{text}")).unwrap_err();
            assert!(e.len() == 1 && e[0].starts_with(want), "{text}\n{e:?}");
        }
        let c = load(&format!(
            "{BASE}{geo}[datacenters.a]\ncountries = [\"gb\"]\nsubdivisions = [\"us-va\"]\nmin_up = \"50%\"\n[datacenters.b]\nmin_up = 2\n"
        ))
        .unwrap();
        assert_eq!(c.datacenters[0].countries, ["GB"]);
        assert_eq!(c.datacenters[0].subdivisions, ["US-VA"]);
        assert_eq!(
            c.datacenters[0].min_up,
            Some(super::super::MinUp::Percent(50))
        );
        assert_eq!(c.datacenters[1].min_up, Some(super::super::MinUp::Count(2)));
    }

    #[test]
    fn cname_endpoints_are_validated() {
        let head = format!(
            "{BASE}[checks.web]\nprotocol = \"http\"\n[checks.at]\nprotocol = \"http\"\naddress = \"192.0.2.80\"\n[datacenters.a]\n[[balance]]\nname = \"www.example.com\"\npolicy = \"failover\"\n"
        );
        // (the balance's remaining lines, the error expected)
        let cases: [(&str, &str); 8] = [
            (
                "endpoints = [{ target = \"a.cdn.net\", datacenter = \"a\" }, { address = \"192.0.2.1\", datacenter = \"a\" }]",
                "gslb.toml:12:58: www.example.com.: a balanced name has address endpoints or CNAME (target) endpoints, not both",
            ),
            (
                "endpoints = [{ target = \"WWW.example.com.\", datacenter = \"a\" }]",
                "gslb.toml:12:25: www.example.com.: a target equal to the balanced name",
            ),
            (
                "endpoints = [{ target = \"a..cdn.net\", datacenter = \"a\" }]",
                "gslb.toml:12:25: target \"a..cdn.net\" is not a domain name",
            ),
            (
                "endpoints = [{ target = \"\", datacenter = \"a\" }]",
                "gslb.toml:12:25: target \"\" is not a domain name",
            ),
            (
                "endpoints = [{ target = \"a.cdn.net\", address = \"192.0.2.1\", datacenter = \"a\" }]",
                "gslb.toml:12:25: www.example.com.: an endpoint has an address or a target, not both",
            ),
            (
                "endpoints = [{ datacenter = \"a\" }]",
                "gslb.toml:12:14: www.example.com.: an endpoint needs an address",
            ),
            (
                "check = \"web\"\nendpoints = [{ target = \"a.cdn.net\", datacenter = \"a\" }]",
                "gslb.toml:13:14: www.example.com.: endpoint a.cdn.net. is checked but a target has no address to probe",
            ),
            (
                "answers = 2\nendpoints = [{ target = \"a.cdn.net\", datacenter = \"a\" }]",
                "gslb.toml:12:11: www.example.com.: a name of CNAME endpoints answers one CNAME",
            ),
        ];
        for (rest, want) in cases {
            let e = load(&format!("{head}{rest}\n")).unwrap_err();
            assert!(e.len() == 1 && e[0].starts_with(want), "{rest}\n{e:?}");
        }
        let c = load(&format!(
            "{head}check = \"at\"\nwhen_all_down = \"fallback\"\nfallback = [\"static.example.org\"]\nendpoints = [\n{{ target = \"A.cdn-one.net\", datacenter = \"a\" }},\n{{ target = \"b.cdn-two.net.\", datacenter = \"a\", check = \"web\", check_address = \"192.0.2.9\" }},\n]\n"
        ))
        .unwrap();
        let b = &c.balances[0];
        assert!(b.answers_cname());
        let t: Vec<&str> = b
            .endpoints
            .iter()
            .map(|e| e.target.as_ref().unwrap().name.as_str())
            .collect();
        assert_eq!(t, ["a.cdn-one.net.", "b.cdn-two.net."]);
        // The probed address: the check's, or the endpoint's check_address.
        assert_eq!(b.endpoints[0].address.to_string(), "192.0.2.80");
        assert_eq!(b.endpoints[1].address.to_string(), "192.0.2.9");
        assert_eq!(b.fallback_targets[0].name, "static.example.org.");
        let e = load(&format!(
            "{head}when_all_down = \"fallback\"\nfallback = [\"192.0.2.1\", \"not an address\"]\nendpoints = [{{ address = \"192.0.2.1\", datacenter = \"a\" }}]\n"
        ))
        .unwrap_err();
        assert!(
            e[0].contains("fallback \"not an address\" is not an IP address"),
            "{e:?}"
        );
    }
}
