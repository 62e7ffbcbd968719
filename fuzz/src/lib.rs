//! What the fuzz targets run on one input, and the invariants they assert, shared with the
//! replay test (`tests/it/fuzz_regressions.rs` includes this file as a module) so that a seed or
//! a regression input goes through exactly the calls libFuzzer made.
//!
//! Owns: the fixtures (a config and zones with delegations, wildcards, CNAME chains and one
//! balanced name per policy, geo with networks), the three checks (`answer`, `zonefile`,
//! `config`) and the generated query seeds. Must not: use anything but gslb's public API, or
//! keep state between inputs beyond the fixtures built once (an input must replay alone).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gslb::config::Config;
use gslb::dns::handler::{Outcome, Transport, handle};
use gslb::snapshot::{Health, Served, Snapshot};
use gslb::state::{EndpointHealth, EndpointState};
use gslb::wire::{MIN_UDP_PAYLOAD, flags, rtype, truncate_in_place};
use gslb::zone::ZoneSet;
use hickory_proto::op::Message;

/// The zone most tests use: delegation (`sub`, glue and out-of-zone NS), wildcard, CNAME chain,
/// loop, dangling and out-of-zone CNAMEs, an empty non-terminal, a TXT set too big for 512.
pub const EXAMPLE_ZONE: &str = r#"$ORIGIN example.com.
$TTL 3600
@       IN SOA ns1 hostmaster ( 2026112301 3600 600 604800 300 )
@       IN NS  ns1
@       IN NS  ns2
ns1     IN A   192.0.2.1
ns2     IN A   192.0.2.2
@       IN MX  10 mail
mail    IN A   192.0.2.25
www     IN A   192.0.2.80
www     IN AAAA 2001:db8::80
alias   IN CNAME www
chain1  IN CNAME chain2
chain2  IN CNAME www
loop1   IN CNAME loop2
loop2   IN CNAME loop1
dangling IN CNAME nothere
outside IN CNAME www.example.net.
tobal   IN CNAME rr.gslb.example.com.
*.wild  IN A   192.0.2.90
*.wild  IN TXT "wild"
*.cw    IN CNAME www
a.b.ent IN TXT "deep"
sub     IN NS  ns.sub
sub     IN NS  ns.elsewhere.net.
ns.sub  IN A   192.0.2.53
ns.sub  IN AAAA 2001:db8::53
big     IN TXT "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
big     IN TXT "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
big     IN TXT "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
"#;

/// The zone holding the balanced names (and one static TXT beside a balanced name).
pub const GSLB_ZONE: &str = r#"$ORIGIN gslb.example.com.
$TTL 3600
@     IN SOA ns1 hostmaster ( 2026112301 3600 600 604800 300 )
@     IN NS  ns1
ns1   IN A   192.0.2.53
txt   IN TXT "static text"
www   IN CNAME geo
"#;

/// The configuration of the answer fixture, `{geoip}` standing for the test GeoIP database: RRL
/// on for every client (so every answer gets its bucket), three data centers, one balanced
/// name per policy and `when_all_down` variant.
const ANSWER_CONFIG: &str = r#"
[server]
listen = ["127.0.0.1:0"]
[zones]
directory = "zones"
[rrl]
enabled = true
exempt = []
[geoip]
database = '{geoip}'
[checks.load]
protocol = "http"
address = "127.0.0.1"
port = 9
load_header = "X-Load"
interval = "1h"
[datacenters.a]
networks = ["198.51.100.0/24", "2001:db8:1::/48"]
location = { lat = 51.5, lon = -0.13 }
[datacenters.b]
networks = ["203.0.113.0/24"]
location = { lat = 39.0, lon = -77.5 }
[datacenters.c]
location = { lat = 35.7, lon = 139.7 }
[[balance]]
name = "rr.gslb.example.com"
policy = "round-robin"
endpoints = [{ address = "192.0.2.10", datacenter = "a" }, { address = "192.0.2.20", datacenter = "b" },
             { address = "2001:db8::10", datacenter = "a" }]
[[balance]]
name = "w.gslb.example.com"
policy = "weighted"
endpoints = [{ address = "192.0.2.10", datacenter = "a", weight = 3 }, { address = "192.0.2.20", datacenter = "b" },
             { address = "2001:db8::10", datacenter = "a" }]
[[balance]]
name = "fo.gslb.example.com"
policy = "failover"
ttl = 20
endpoints = [{ address = "192.0.2.10", datacenter = "a", priority = 1 }, { address = "192.0.2.20", datacenter = "b", priority = 2 },
             { address = "2001:db8::10", datacenter = "a", priority = 1 }, { address = "2001:db8::20", datacenter = "b", priority = 2 }]
[[balance]]
name = "h.gslb.example.com"
policy = "hashed"
endpoints = [{ address = "192.0.2.1", datacenter = "a" }, { address = "192.0.2.2", datacenter = "a" },
             { address = "192.0.2.3", datacenter = "b" }, { address = "192.0.2.4", datacenter = "b" },
             { address = "192.0.2.5", datacenter = "c" },
             { address = "2001:db8::1", datacenter = "a" }, { address = "2001:db8::2", datacenter = "b" }]
[[balance]]
name = "geo.gslb.example.com"
policy = "geo"
endpoints = [{ address = "192.0.2.10", datacenter = "a", priority = 2 }, { address = "192.0.2.20", datacenter = "b", priority = 1 },
             { address = "2001:db8::10", datacenter = "a", priority = 1 }, { address = "2001:db8::20", datacenter = "b", priority = 2 }]
[[balance]]
name = "near.gslb.example.com"
policy = "nearest"
endpoints = [{ address = "192.0.2.10", datacenter = "a", priority = 2 }, { address = "192.0.2.20", datacenter = "b", priority = 1 },
             { address = "192.0.2.30", datacenter = "c", priority = 3 },
             { address = "2001:db8::10", datacenter = "a", priority = 1 }, { address = "2001:db8::30", datacenter = "c", priority = 2 }]
[[balance]]
name = "ll.gslb.example.com"
policy = "least-loaded"
check = "load"
endpoints = [{ address = "192.0.2.10", datacenter = "a" }, { address = "192.0.2.20", datacenter = "b" },
             { address = "192.0.2.30", datacenter = "c" }]
[[balance]]
name = "all.gslb.example.com"
policy = "all"
answers = 2
ttl = 5
endpoints = [{ address = "192.0.2.10", datacenter = "a" }, { address = "192.0.2.20", datacenter = "b" },
             { address = "192.0.2.30", datacenter = "c" }, { address = "2001:db8::10", datacenter = "a" }]
[[balance]]
name = "v4only.gslb.example.com"
policy = "round-robin"
endpoints = [{ address = "192.0.2.10", datacenter = "a" }]
[[balance]]
name = "none.gslb.example.com"
policy = "failover"
when_all_down = "none"
endpoints = [{ address = "192.0.2.10", datacenter = "a" }, { address = "2001:db8::10", datacenter = "a" }]
[[balance]]
name = "fb.gslb.example.com"
policy = "failover"
when_all_down = "fallback"
fallback = ["192.0.2.99", "2001:db8::99"]
endpoints = [{ address = "192.0.2.10", datacenter = "a" }, { address = "2001:db8::10", datacenter = "a" }]
[[balance]]
name = "open.gslb.example.com"
policy = "failover"
endpoints = [{ address = "192.0.2.10", datacenter = "a", priority = 1 }, { address = "192.0.2.20", datacenter = "b", priority = 2 }]
[[balance]]
name = "txt.gslb.example.com"
policy = "round-robin"
endpoints = [{ address = "192.0.2.10", datacenter = "a" }]
"#;

/// Where each query of the answer target comes from, picked by the high byte of its ID: a
/// loopback client, clients inside data centers a and b (IPv4, IPv6, IPv4-mapped IPv6), one the
/// GeoIP test database knows (81.2.69.142, London), and one nothing knows.
const PEERS: [IpAddr; 7] = [
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)),
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)),
    IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)),
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 5)),
    IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0xc633, 0x6407)),
    IpAddr::V4(Ipv4Addr::new(81, 2, 69, 142)),
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 200)),
];

/// A fresh, empty directory for one target's files: under /dev/shm when there is one (no disk
/// writes per input), else the system temp dir; named by the target and the process.
pub fn scratch_dir(target: &str) -> PathBuf {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("gslb-fuzz-{target}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The answer target's fixture: one `Served` (config, zones, balanced names) loaded through
/// `gslb::load::from_file`, read under two healths: every endpoint up, and a mix of up, down
/// and drained endpoints with loads (for `when_all_down`, failover and least-loaded).
pub struct AnswerFixture {
    snaps: [Snapshot; 2],
}

impl AnswerFixture {
    /// Writes the fixture's config and zones into `dir` and loads them; `repo` is the
    /// repository root (for the GeoIP test database). The files are not needed afterwards.
    pub fn new(dir: &Path, repo: &Path) -> AnswerFixture {
        let zones = dir.join("zones");
        std::fs::create_dir_all(&zones).expect("zones dir");
        std::fs::write(zones.join("example.com.zone"), EXAMPLE_ZONE).expect("write zone");
        std::fs::write(zones.join("gslb.example.com.zone"), GSLB_ZONE).expect("write zone");
        let geoip = repo.join("tests/data/geoip/GeoIP2-City-Test.mmdb");
        let config = ANSWER_CONFIG.replace("{geoip}", &geoip.display().to_string());
        let path = dir.join("gslb.toml");
        std::fs::write(&path, config).expect("write config");
        let served = match gslb::load::from_file(&path) {
            Ok(s) => Arc::new(s),
            Err(e) => panic!("fuzz fixture rejected: {}", gslb::diag::Diagnostics(e)),
        };
        let up = Snapshot::new(served.clone());
        let up_health = Health::all_up(&served);
        let mixed = Health::build(
            up_health.plan.clone(),
            up_health.last.clone(),
            &served,
            |b, i| {
                let h = EndpointHealth {
                    state: match (b + i) % 3 {
                        0 => EndpointState::Up,
                        1 => EndpointState::Down,
                        _ => EndpointState::Drained,
                    },
                    load: Some(i as f64 * 10.0),
                };
                (h, std::time::SystemTime::now())
            },
        );
        let mixed = Snapshot {
            served,
            health: Arc::new(mixed),
        };
        AnswerFixture { snaps: [up, mixed] }
    }

    /// The snapshot with every endpoint up.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snaps[0]
    }
}

/// The answer target: `data` as a query over UDP and over TCP, from a peer and under a health
/// picked by its ID (high byte: the peer; lowest bit: all up or mixed).
pub fn check_answer(fx: &AnswerFixture, data: &[u8]) {
    let (peer, snap) = match data {
        [hi, lo, ..] => (
            PEERS[*hi as usize % PEERS.len()],
            &fx.snaps[(*lo & 1) as usize],
        ),
        _ => (PEERS[0], &fx.snaps[0]),
    };
    let mut out = Vec::new();
    for transport in [Transport::Udp, Transport::Tcp] {
        out.clear();
        let outcome = handle(snap, data, peer, transport, &mut out);
        check_response(snap, data, transport, outcome, &out);
    }
}

/// What a client may rely on of any response gslb sends to `query` (`outcome` and `out`, as
/// `handle` gave them); panics naming the first broken promise.
pub fn check_response(
    snap: &Snapshot,
    query: &[u8],
    transport: Transport,
    outcome: Option<Outcome>,
    out: &[u8],
) {
    let Some(outcome) = outcome else {
        // Nothing is sent: only to what is no query at all (shorter than a header, or QR set).
        assert!(
            query.len() < 12 || query[2] & 0x80 != 0,
            "no response to a query: {query:02x?}"
        );
        return;
    };
    assert!(
        out.len() >= 12,
        "response shorter than a header: {out:02x?}"
    );
    assert!(query.len() >= 12, "a response to less than a header");
    assert_eq!(out[0..2], query[0..2], "the response echoes the query ID");
    let word = u16::from_be_bytes([out[2], out[3]]);
    let qword = u16::from_be_bytes([query[2], query[3]]);
    assert!(word & flags::QR != 0, "QR set in every response");
    assert_eq!(
        word & flags::OPCODE_MASK,
        qword & flags::OPCODE_MASK,
        "the response echoes the opcode"
    );
    assert_eq!(
        word & flags::TC != 0,
        outcome.answered.truncated,
        "TC as the outcome says"
    );
    assert_eq!(
        word & flags::RCODE_MASK,
        outcome.answered.rcode & flags::RCODE_MASK,
        "RCODE as the outcome says"
    );
    let msg = match Message::from_vec(out) {
        Ok(m) => m,
        Err(e) => panic!("response does not parse ({e}): {out:02x?} to {query:02x?}"),
    };
    let has_opt = msg.edns.is_some();
    match transport {
        Transport::Tcp => {
            assert!(out.len() <= u16::MAX as usize, "TCP response over 65535");
            assert!(outcome.rrl.is_none(), "TCP answers are never rate limited");
        }
        Transport::Udp => {
            // RFC 6891 §6.2.5 and our cap: 512 without EDNS, else at most udp_payload_max.
            let cap = if has_opt {
                snap.udp_payload_max().max(MIN_UDP_PAYLOAD)
            } else {
                MIN_UDP_PAYLOAD
            };
            assert!(
                out.len() <= cap as usize,
                "UDP response of {} bytes over {cap}",
                out.len()
            );
            // What the rate limiter would slip instead: the same ID, TC set, still a message,
            // and no larger than the query (nothing amplified).
            let mut slipped = out.to_vec();
            truncate_in_place(
                &mut slipped,
                outcome.keep.0 as usize,
                outcome.keep.1 as usize,
            );
            assert_eq!(slipped[0..2], query[0..2], "a slipped answer keeps the ID");
            assert!(slipped[2] & 0x02 != 0, "a slipped answer has TC set");
            if let Err(e) = Message::from_vec(&slipped) {
                panic!("slipped answer does not parse ({e}): {slipped:02x?}");
            }
            // No larger than the query but for what the OPT must carry back: our half of a
            // DNS cookie (RFC 7873 §5.2) and the NSID the query asked for (RFC 5001).
            let allowance = opt_growth(&slipped[outcome.keep.0 as usize..]);
            assert!(
                slipped.len() <= query.len() + allowance,
                "slipped answer of {} bytes to a {}-byte query (OPT may add {allowance})",
                slipped.len(),
                query.len()
            );
        }
    }
}

/// The zone-file target's fixture: a directory for the input file, `example.com.zone` (so the
/// origin before any `$ORIGIN` is example.com.), with `$INCLUDE`-able pieces in `parts/`, and
/// the configuration a loaded zone is answered under.
pub struct ZoneFixture {
    file: PathBuf,
    config: Arc<Config>,
}

/// The pieces under `parts/` that a zone-file input can `$INCLUDE`.
const PARTS: [(&str, &str); 3] = [
    (
        "hosts.inc",
        "host1 IN A 192.0.2.11\nhost2 300 IN A 192.0.2.12\n",
    ),
    (
        "lab.inc",
        "$ORIGIN lab.example.com.\n@ IN TXT \"lab\"\nbench IN A 192.0.2.13\n",
    ),
    ("svc.inc", "@ IN TXT \"svc\"\napi IN A 192.0.2.14\n"),
];

impl ZoneFixture {
    /// Lays out `dir`.
    pub fn new(dir: &Path) -> ZoneFixture {
        let parts = dir.join("parts");
        std::fs::create_dir_all(&parts).expect("parts dir");
        for (name, text) in PARTS {
            std::fs::write(parts.join(name), text).expect("write part");
        }
        let path = dir.join("gslb.toml");
        let config = match Config::from_str(&path, "[zones]\ndirectory = \"zones\"\n") {
            Ok(c) => Arc::new(c),
            Err(e) => panic!("fuzz config rejected: {}", gslb::diag::Diagnostics(e)),
        };
        ZoneFixture {
            file: dir.join("example.com.zone"),
            config,
        }
    }
}

/// The zone-file target: `data` as a zone file. It loads or is rejected with at least one
/// diagnostic, each naming a file; a zone that loads answers queries at its apex and below
/// like any other (the answer invariants, over UDP and TCP).
pub fn check_zonefile(fx: &ZoneFixture, data: &[u8]) {
    std::fs::write(&fx.file, data).expect("write zone input");
    let zone = match gslb::zone::file::load_file(&fx.file) {
        Ok(z) => z,
        Err(diags) => {
            assert!(!diags.is_empty(), "rejected without a diagnostic");
            for d in &diags {
                assert!(!d.message.is_empty(), "a diagnostic without a message");
            }
            return;
        }
    };
    let origin = zone.origin.to_vec();
    let served = Served {
        config: fx.config.clone(),
        zones: ZoneSet::new(vec![gslb::zone::ServedZone::new(Arc::new(zone))]),
        balances: Vec::new(),
        answered: Vec::new(),
        admin_token: None,
        stale: Vec::new(),
        cookie_secrets: gslb::cookie::Secrets::from_keys(&[[7; 16]]),
        signers: Vec::new(),
    };
    let snap = Snapshot::new(Arc::new(served));
    let mut names = vec![origin.clone()];
    for label in [&b"\x03www"[..], b"\x01*", b"\x04nope\x03sub"] {
        let mut n = label.to_vec();
        n.extend_from_slice(&origin);
        if n.len() <= 255 {
            names.push(n);
        }
    }
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        for qtype in [rtype::SOA, rtype::NS, rtype::ANY, rtype::A, rtype::DS] {
            let q = raw_query(0x4200 + i as u16, 0, name, qtype, rtype::CLASS_IN, None);
            for transport in [Transport::Udp, Transport::Tcp] {
                out.clear();
                let peer = PEERS[0];
                let outcome = handle(&snap, &q, peer, transport, &mut out);
                check_response(&snap, &q, transport, outcome, &out);
            }
        }
    }
}

/// The config target: `data` as gslb.toml text (input that is not UTF-8 is skipped: the file
/// is read as UTF-8 before parsing). It validates or is rejected with at least one diagnostic.
pub fn check_config(path: &Path, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(diags) = Config::from_str(path, text) {
        assert!(!diags.is_empty(), "rejected without a diagnostic");
        for d in &diags {
            assert!(!d.message.is_empty(), "a diagnostic without a message");
        }
    }
}

/// The wire form of a presentation name, letter case kept.
fn wire_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

/// A query: header (`flags`, QDCOUNT 1), one question, then `additional` (its count in
/// ARCOUNT) when given.
fn raw_query(
    id: u16,
    flags: u16,
    qname: &[u8],
    qtype: u16,
    qclass: u16,
    additional: Option<(u16, &[u8])>,
) -> Vec<u8> {
    let (arcount, extra) = additional.unwrap_or((0, &[]));
    let mut p = Vec::new();
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&flags.to_be_bytes());
    p.extend_from_slice(&[0, 1, 0, 0, 0, 0]);
    p.extend_from_slice(&arcount.to_be_bytes());
    p.extend_from_slice(qname);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&qclass.to_be_bytes());
    p.extend_from_slice(extra);
    p
}

/// An OPT record (RFC 6891 §6.1.2) owned by the root, with `(code, data)` options.
fn opt(payload: u16, version: u8, dnssec_ok: bool, options: &[(u16, &[u8])]) -> Vec<u8> {
    let mut rdata = Vec::new();
    for (code, data) in options {
        rdata.extend_from_slice(&code.to_be_bytes());
        rdata.extend_from_slice(&(data.len() as u16).to_be_bytes());
        rdata.extend_from_slice(data);
    }
    let mut o = vec![0];
    o.extend_from_slice(&rtype::OPT.to_be_bytes());
    o.extend_from_slice(&payload.to_be_bytes());
    o.extend_from_slice(&[0, version]);
    o.extend_from_slice(&(if dnssec_ok { 0x8000u16 } else { 0 }).to_be_bytes());
    o.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    o.extend_from_slice(&rdata);
    o
}

/// An ECS option's data: family, source prefix, scope 0, the address cut to the prefix.
fn ecs(family: u16, source: u8, addr: &[u8]) -> Vec<u8> {
    let mut d = family.to_be_bytes().to_vec();
    d.push(source);
    d.push(0);
    d.extend_from_slice(&addr[..(source as usize).div_ceil(8).min(addr.len())]);
    d
}

/// The answer target's seeds, by file name: the queries of the integration tests (every kind
/// of zone data and every balanced name, with and without EDNS, with ECS from each data
/// center) and the malformed ones the parser must refuse (bad OPT, bad ECS, compression
/// pointers, truncated packets, other opcodes and classes, several questions).
pub fn answer_seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    let mut id: u16 = 0;
    // The ID's high byte picks the peer, its low bit the health (see `check_answer`).
    let mut next_id = || {
        id = id.wrapping_add(0x0101);
        id
    };
    let plain = opt(1232, 0, false, &[]);
    let names: [(&str, &[u16]); 24] = [
        (
            "example.com.",
            &[
                rtype::SOA,
                rtype::NS,
                rtype::MX,
                rtype::ANY,
                rtype::DS,
                rtype::A,
            ],
        ),
        (
            "www.example.com.",
            &[rtype::A, rtype::AAAA, rtype::ANY, rtype::CNAME],
        ),
        ("WwW.ExAmPlE.cOm.", &[rtype::A]),
        ("alias.example.com.", &[rtype::A, rtype::CNAME]),
        ("chain1.example.com.", &[rtype::AAAA]),
        ("loop1.example.com.", &[rtype::A]),
        ("dangling.example.com.", &[rtype::A]),
        ("outside.example.com.", &[rtype::A]),
        ("tobal.example.com.", &[rtype::A]),
        ("x.wild.example.com.", &[rtype::A, rtype::TXT, rtype::AAAA]),
        ("y.cw.example.com.", &[rtype::A]),
        ("b.ent.example.com.", &[rtype::TXT, rtype::A]),
        ("sub.example.com.", &[rtype::NS, rtype::DS, rtype::A]),
        ("deep.in.sub.example.com.", &[rtype::A]),
        ("big.example.com.", &[rtype::TXT]),
        ("nothere.example.com.", &[rtype::A]),
        ("www.example.net.", &[rtype::A]),
        ("rr.gslb.example.com.", &[rtype::A, rtype::AAAA, rtype::ANY]),
        ("geo.gslb.example.com.", &[rtype::A, rtype::AAAA]),
        ("near.gslb.example.com.", &[rtype::A, rtype::AAAA]),
        ("ll.gslb.example.com.", &[rtype::A]),
        ("all.gslb.example.com.", &[rtype::A, rtype::ANY]),
        ("fb.gslb.example.com.", &[rtype::A, rtype::AAAA]),
        ("txt.gslb.example.com.", &[rtype::TXT, rtype::A]),
    ];
    for (name, types) in names {
        let wn = wire_name(name);
        for &t in types {
            let stem = format!("{}-{t}", name.trim_end_matches('.'));
            seeds.push((
                stem.clone(),
                raw_query(next_id(), 0, &wn, t, rtype::CLASS_IN, None),
            ));
            seeds.push((
                format!("{stem}-edns"),
                raw_query(
                    next_id(),
                    flags::RD,
                    &wn,
                    t,
                    rtype::CLASS_IN,
                    Some((1, &plain)),
                ),
            ));
        }
    }
    let more: [&str; 6] = [
        "h.gslb.example.com.",
        "w.gslb.example.com.",
        "fo.gslb.example.com.",
        "v4only.gslb.example.com.",
        "none.gslb.example.com.",
        "open.gslb.example.com.",
    ];
    for name in more {
        let wn = wire_name(name);
        let stem = name.trim_end_matches('.');
        seeds.push((
            format!("{stem}-1"),
            raw_query(next_id(), 0, &wn, rtype::A, rtype::CLASS_IN, None),
        ));
    }
    // ECS from each data center, v4 and v6, and scope-0 / full-length / odd prefixes.
    let subnets: [(&str, u16, u8, &[u8]); 6] = [
        ("a24", 1, 24, &[198, 51, 100, 0]),
        ("b24", 1, 24, &[203, 0, 113, 0]),
        ("v4-32", 1, 32, &[81, 2, 69, 142]),
        ("v4-0", 1, 0, &[]),
        ("a48", 2, 48, &[0x20, 0x01, 0x0d, 0xb8, 0, 1]),
        ("v6-57", 2, 57, &[0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0x80]),
    ];
    for name in [
        "geo.gslb.example.com.",
        "near.gslb.example.com.",
        "h.gslb.example.com.",
    ] {
        let wn = wire_name(name);
        for (label, family, source, addr) in subnets {
            let o = opt(1232, 0, false, &[(8, &ecs(family, source, addr))]);
            let stem = name.split('.').next().unwrap_or("x");
            seeds.push((
                format!("ecs-{stem}-{label}"),
                raw_query(next_id(), 0, &wn, rtype::A, rtype::CLASS_IN, Some((1, &o))),
            ));
        }
    }
    let www = wire_name("www.example.com.");
    let q = |flags: u16, qtype: u16, qclass: u16, add: Option<(u16, &[u8])>| {
        raw_query(0x1234, flags, &www, qtype, qclass, add)
    };
    let malformed: Vec<(&str, Vec<u8>)> = vec![
        (
            "edns-do-4096",
            q(0, rtype::A, 1, Some((1, &opt(4096, 0, true, &[])))),
        ),
        (
            "edns-512",
            q(0, rtype::TXT, 1, Some((1, &opt(512, 0, false, &[])))),
        ),
        (
            "edns-100",
            q(0, rtype::A, 1, Some((1, &opt(100, 0, false, &[])))),
        ),
        (
            "edns-65535",
            q(0, rtype::ANY, 1, Some((1, &opt(65535, 0, false, &[])))),
        ),
        (
            "edns-v1",
            q(0, rtype::A, 1, Some((1, &opt(1232, 1, false, &[])))),
        ),
        (
            "edns-v1-ecs",
            q(
                0,
                rtype::A,
                1,
                Some((1, &opt(1232, 1, false, &[(8, &[0, 1, 24, 0, 1, 2, 3])]))),
            ),
        ),
        (
            "edns-cookie",
            q(
                0,
                rtype::A,
                1,
                Some((1, &opt(1232, 0, false, &[(10, &[1, 2, 3, 4, 5, 6, 7, 8])]))),
            ),
        ),
        (
            "edns-unknown-option",
            q(
                0,
                rtype::A,
                1,
                Some((1, &opt(1232, 0, false, &[(65001, b"xyz")]))),
            ),
        ),
        ("opt-twice", {
            let two = [plain.clone(), plain.clone()].concat();
            q(0, rtype::A, 1, Some((2, &two)))
        }),
        ("opt-not-root", {
            let mut o = plain.clone();
            o.splice(0..1, wire_name("www.example.com."));
            q(0, rtype::A, 1, Some((1, &o)))
        }),
        ("opt-short-rdata", {
            let mut o = opt(1232, 0, false, &[(8, &[0, 1, 24, 0, 1, 2, 3])]);
            o.truncate(o.len() - 2);
            q(0, rtype::A, 1, Some((1, &o)))
        }),
        (
            "opt-option-overruns",
            q(
                0,
                rtype::A,
                1,
                Some((1, &opt(1232, 0, false, &[(8, &[0, 1])]))),
            ),
        ),
        (
            "ecs-bad-family",
            q(
                0,
                rtype::A,
                1,
                Some((1, &opt(1232, 0, false, &[(8, &[0, 3, 24, 0, 1, 2, 3])]))),
            ),
        ),
        (
            "ecs-prefix-too-long",
            q(
                0,
                rtype::A,
                1,
                Some((
                    1,
                    &opt(1232, 0, false, &[(8, &[0, 1, 33, 0, 1, 2, 3, 4, 5])]),
                )),
            ),
        ),
        (
            "ecs-scope-set",
            q(
                0,
                rtype::A,
                1,
                Some((1, &opt(1232, 0, false, &[(8, &[0, 1, 24, 8, 1, 2, 3])]))),
            ),
        ),
        (
            "ecs-extra-bits",
            q(
                0,
                rtype::A,
                1,
                Some((1, &opt(1232, 0, false, &[(8, &[0, 1, 23, 0, 1, 2, 3])]))),
            ),
        ),
        ("ecs-twice", {
            let e = ecs(1, 24, &[198, 51, 100, 0]);
            q(
                0,
                rtype::A,
                1,
                Some((1, &opt(1232, 0, false, &[(8, &e), (8, &e)]))),
            )
        }),
        ("class-ch", q(0, rtype::TXT, 3, None)),
        ("class-any", q(0, rtype::A, 255, Some((1, &plain)))),
        ("qtype-axfr", q(0, rtype::AXFR, 1, None)),
        ("qtype-ixfr", q(0, rtype::IXFR, 1, None)),
        ("qtype-opt", q(0, rtype::OPT, 1, None)),
        ("qtype-maila", q(0, rtype::MAILA, 1, None)),
        ("qtype-0", q(0, 0, 1, None)),
        ("opcode-notify", q(4 << 11, rtype::SOA, 1, None)),
        (
            "opcode-update-edns",
            q(5 << 11, rtype::SOA, 1, Some((1, &plain))),
        ),
        (
            "flags-rd-cd-ad",
            q(flags::RD | flags::CD | 0x0020, rtype::A, 1, None),
        ),
        ("flags-qr", q(flags::QR, rtype::A, 1, None)),
        ("flags-tc", q(flags::TC, rtype::A, 1, None)),
        ("truncated-question", {
            let mut p = q(0, rtype::A, 1, None);
            p.truncate(p.len() - 3);
            p
        }),
        (
            "header-only",
            vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0],
        ),
        ("short", vec![0x12, 0x34, 0, 0, 0]),
        ("qdcount-0", vec![0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        ("qdcount-2", {
            let mut p = q(0, rtype::A, 1, None);
            p[5] = 2;
            let again = p[12..].to_vec();
            p.extend_from_slice(&again);
            p
        }),
        ("qname-pointer", {
            // A compression pointer in the question name (to itself): FORMERR, never a loop.
            let mut p = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
            p.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
            p
        }),
        ("qname-label-64", {
            let mut n = vec![64];
            n.extend_from_slice(&[b'a'; 64]);
            n.push(0);
            raw_query(0x1234, 0, &n, rtype::A, 1, None)
        }),
        ("qname-255", {
            let mut n = Vec::new();
            for _ in 0..4 {
                n.push(62);
                n.extend_from_slice(&[b'a'; 62]);
            }
            n.push(0);
            raw_query(0x1234, 0, &n, rtype::A, 1, None)
        }),
        ("answer-section-pointers", {
            // ANCOUNT 1: a record owned by a pointer to the question name, then an OPT.
            let mut p = q(0, rtype::A, 1, None);
            p[7] = 1;
            p.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
            p[11] = 1;
            p.extend_from_slice(&plain);
            p
        }),
        ("additional-pointer-loop", {
            let mut p = q(0, rtype::A, 1, None);
            p[11] = 1;
            let at = p.len() as u8;
            p.extend_from_slice(&[0xc0, at, 0, 1, 0, 1, 0, 0, 0, 60, 0, 0]);
            p
        }),
        (
            "additional-count-overruns",
            q(0, rtype::A, 1, Some((3, &plain))),
        ),
        ("trailing-garbage", {
            let mut p = q(0, rtype::A, 1, Some((1, &plain)));
            p.extend_from_slice(b"garbage");
            p
        }),
    ];
    for (name, p) in malformed {
        seeds.push((name.to_string(), p));
    }
    seeds
}

/// Bytes an OPT record (`opt`, as written at the end of a response) may add over the query's:
/// the server part of a COOKIE option (its length past the 8-byte client cookie) and the data
/// of an NSID option (the query's was empty).
fn opt_growth(opt: &[u8]) -> usize {
    // Root name (1), type (2), class (2), TTL (4), RDLENGTH (2), then the options.
    let Some(rdata) = opt.get(11..) else { return 0 };
    let mut growth = 0;
    let mut at = 0;
    while let (Some(code), Some(len)) = (rdata.get(at..at + 2), rdata.get(at + 2..at + 4)) {
        let code = u16::from_be_bytes([code[0], code[1]]);
        let len = u16::from_be_bytes([len[0], len[1]]) as usize;
        match code {
            10 => growth += len.saturating_sub(8),
            3 => growth += len,
            _ => {}
        }
        at += 4 + len;
    }
    growth
}
