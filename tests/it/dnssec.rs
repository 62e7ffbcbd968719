//! DNSSEC online signing, proven by real validators: Unbound (a validating resolver whose
//! only trust anchor is the zone's DS, stubbed to gslb on loopback) and `delv` with a
//! trust-anchor file must call every kind of answer secure, and follow a failover; a DS that
//! does not match the key must make Unbound answer SERVFAIL. Beside them, what the wire must
//! show: DO=0 answers byte for byte as an unsigned server gives them, compact denial's bitmap
//! and CO flag, the referral's proof of no DS, and the key tooling against BIND's.
//!
//! Needs `unbound`, `delv`, `dnssec-keygen` and `dnssec-dsfromkey` (bind9-utils /
//! bind9-dnsutils): a missing tool fails the test, as in the delegation test.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use crate::harness::{
    Guard, Log, backend, eventually, spawn_logged, start_config, udp, udp_raw, udp_within, which,
};

const ZONE_NAME: &str = "gslb.example.com";

/// The signed zone. `Mail` in capitals checks the canonical form of RDATA names.
const ZONE: &str = r#"$ORIGIN gslb.example.com.
$TTL 300
@       IN SOA ns1 hostmaster.example.com. 2026120201 3600 600 604800 60
@       IN NS  ns1
ns1     IN A   127.0.0.1
static  IN A   192.0.2.80
static  IN AAAA 2001:db8::80
txt     IN TXT "only text here"
*.wild  IN A   192.0.2.90
alias   IN CNAME app
@       IN MX  10 Mail.gslb.example.com.
mail    IN A   192.0.2.25
sub     IN NS  ns.sub
ns.sub  IN A   192.0.2.53
"#;

/// A second signed zone, which CNAME endpoints of the first point into.
const CDN_NAME: &str = "cdn.example.net";
const CDN: &str = r#"$ORIGIN cdn.example.net.
$TTL 300
@       IN SOA ns1 hostmaster.example.net. 2026120201 3600 600 604800 60
@       IN NS  ns1
ns1     IN A   127.0.0.1
www     IN A   192.0.2.101
alt     IN A   192.0.2.102
"#;

/// The second zone's signing and balanced names whose CNAME endpoints lead into it: `cdn`
/// fails over from `www` to `alt` with the first two backends, `gone` points at a name the
/// zone does not have.
fn cross_zone(key: &Path) -> String {
    format!(
        r#"
[dnssec."{CDN_NAME}"]
keys = [{key:?}]

[[balance]]
name = "cdn.gslb.example.com"
policy = "failover"
ttl = 1
check = "web"
endpoints = [
  {{ target = "www.{CDN_NAME}", datacenter = "dc1", priority = 1, check_address = "{a}" }},
  {{ target = "alt.{CDN_NAME}", datacenter = "dc2", priority = 2, check_address = "{b}" }},
]

[[balance]]
name = "gone.gslb.example.com"
policy = "failover"
ttl = 1
endpoints = [ {{ target = "gone.{CDN_NAME}", datacenter = "dc1" }} ]
"#,
        key = key.display().to_string(),
        a = EP[0],
        b = EP[1],
    )
}

/// Backends of the balanced names (addresses no other test uses).
const EP: [&str; 3] = ["127.0.0.61", "127.0.0.62", "127.0.0.63"];

fn config(port: u16, keys: &[PathBuf], extra: &str) -> String {
    let keys: Vec<String> = keys
        .iter()
        .map(|k| format!("{:?}", k.display().to_string()))
        .collect();
    format!(
        r#"[server]
listen = ["127.0.0.1:0"]
threads = 1

[zones]
directory = "zones"

[dnssec."{ZONE_NAME}"]
keys = [{keys}]
{extra}

[checks.web]
protocol = "http"
port = {port}
path = "/health"
interval = "200ms"
timeout = "150ms"
rise = 1
fall = 1

[datacenters.dc1]
[datacenters.dc2]

[[balance]]
name = "app.gslb.example.com"
policy = "failover"
ttl = 1
check = "web"
when_all_down = "none"
endpoints = [
  {{ address = "{a}", datacenter = "dc1", priority = 1 }},
  {{ address = "{b}", datacenter = "dc2", priority = 2 }},
]

[[balance]]
name = "solo.gslb.example.com"
policy = "failover"
ttl = 1
check = "web"
when_all_down = "none"
endpoints = [ {{ address = "{c}", datacenter = "dc1" }} ]
"#,
        keys = keys.join(", "),
        a = EP[0],
        b = EP[1],
        c = EP[2],
    )
}

fn tool(name: &str) -> PathBuf {
    which(name).unwrap_or_else(|| {
        panic!("{name} is not installed (apt install unbound bind9-dnsutils bind9-utils)")
    })
}

/// A fresh combined key (flags 257, algorithm 13) for the zone in `dir`.
fn keygen(dir: &Path) -> PathBuf {
    keygen_for(ZONE_NAME, dir)
}

fn keygen_for(zone: &str, dir: &Path) -> PathBuf {
    gslb::dnssec::keys::generate(
        zone,
        dir,
        gslb::dnssec::Algorithm::EcdsaP256Sha256,
        true,
        1_700_000_000,
    )
    .unwrap()
}

fn ds_of(key: &Path) -> String {
    ds_for(ZONE_NAME, key)
}

fn ds_for(zone: &str, key: &Path) -> String {
    let mut origin = Vec::new();
    for label in zone.split('.') {
        origin.push(label.len() as u8);
        origin.extend_from_slice(label.as_bytes());
    }
    origin.push(0);
    gslb::dnssec::keys::read(key, &origin)
        .unwrap()
        .ds_line(&origin)
}

/// A validating Unbound on `addr` whose only trust anchor is `ds`, stubbed to `gslb`.
fn unbound(dir: &Path, addr: SocketAddr, gslb: SocketAddr, ds: &str) -> (Guard, Log) {
    unbound_for(dir, addr, gslb, &[(ZONE_NAME, ds)])
}

/// A validating Unbound on `addr` whose trust anchors are the DS of each zone, and which asks
/// `gslb` for every one of them.
fn unbound_for(
    dir: &Path,
    addr: SocketAddr,
    gslb: SocketAddr,
    zones: &[(&str, &str)],
) -> (Guard, Log) {
    let d = dir.display();
    let anchors: String = zones
        .iter()
        .map(|(_, ds)| format!("    trust-anchor: \"{ds}\"\n"))
        .collect();
    let stubs: String = zones
        .iter()
        .map(|(zone, _)| {
            format!(
                "stub-zone:\n    name: \"{zone}\"\n    stub-addr: {}@{}\n",
                gslb.ip(),
                gslb.port()
            )
        })
        .collect();
    let conf = format!(
        r#"server:
    interface: {ip}
    port: {port}
    do-ip4: yes
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    username: ""
    chroot: ""
    directory: "{d}"
    pidfile: "{d}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    val-log-level: 2
    num-threads: 1
    module-config: "validator iterator"
{anchors}    cache-min-ttl: 0
    cache-max-ttl: 1
    cache-max-negative-ttl: 1
    prefetch: no
    qname-minimisation: no
    aggressive-nsec: no

remote-control:
    control-enable: no

{stubs}"#,
        ip = addr.ip(),
        port = addr.port(),
    );
    let path = dir.join("unbound.conf");
    std::fs::write(&path, conf).unwrap();
    let mut cmd = Command::new(tool("unbound"));
    cmd.args(["-d", "-c"]).arg(&path);
    let (guard, log) = spawn_logged(cmd);
    eventually(Duration::from_secs(10), "unbound answering", || {
        udp_within(
            addr,
            &rd(&format!("{ZONE_NAME}."), RecordType::SOA),
            Duration::from_millis(300),
        )
        .ok_or(())
    });
    (guard, log)
}

/// A recursive query with DO=1.
fn rd(name: &str, t: RecordType) -> Message {
    let mut m = crate::harness::query(name, t, true);
    m.metadata.recursion_desired = true;
    if let Some(e) = m.edns.as_mut() {
        e.set_dnssec_ok(true);
    }
    m
}

fn ask(resolver: SocketAddr, name: &str, t: RecordType) -> Message {
    udp(resolver, &rd(name, t))
}

fn addrs_of(m: &Message) -> Vec<String> {
    let mut v: Vec<String> = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.to_string()),
            _ => None,
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbound_validates_every_kind_of_answer_and_follows_failover() {
    let keys = tempfile::tempdir().unwrap();
    let key = keygen(keys.path());
    let cdn_key = keygen_for(CDN_NAME, keys.path());
    let mut b = backend::start(&EP).await;
    let cfg = config(b[0].addr.port(), std::slice::from_ref(&key), "") + &cross_zone(&cdn_key);
    let s = start_config(
        &cfg,
        &[
            ("gslb.example.com.zone", ZONE),
            ("cdn.example.net.zone", CDN),
        ],
    )
    .await;
    let resolver: SocketAddr = "127.0.0.60:5399".parse().unwrap();
    let anchors = [
        (ZONE_NAME, ds_of(&key)),
        (CDN_NAME, ds_for(CDN_NAME, &cdn_key)),
    ];
    let anchors: Vec<(&str, &str)> = anchors.iter().map(|(z, d)| (*z, d.as_str())).collect();
    let (_unbound, log) = unbound_for(keys.path(), resolver, s.udp, &anchors);
    let secure = |name: &str, t: RecordType, rcode: ResponseCode| {
        let m = ask(resolver, name, t);
        assert_eq!(
            m.metadata.response_code,
            rcode,
            "{name} {t}: {m}\n{:?}",
            log.lock().unwrap()
        );
        assert!(
            m.metadata.authentic_data,
            "{name} {t} not AD: {m}\n{:?}",
            log.lock().unwrap()
        );
        m
    };
    // `name` comes to answer `addr` alone (health moves at probe pace), validated.
    let settles_on = |name: &str, addr: &str| {
        eventually(
            Duration::from_secs(10),
            &format!("{name} -> {addr}"),
            || {
                let m = ask(resolver, name, RecordType::A);
                crate::harness::seen(addrs_of(&m), |a| a == &[addr.to_string()])
            },
        );
        let m = secure(name, RecordType::A, ResponseCode::NoError);
        assert_eq!(addrs_of(&m), [addr]);
    };
    // Every probe passes once: app answers its primary.
    settles_on("app.gslb.example.com.", EP[0]);
    let m = secure(
        "static.gslb.example.com.",
        RecordType::A,
        ResponseCode::NoError,
    );
    assert_eq!(addrs_of(&m), ["192.0.2.80"]);
    secure(
        "static.gslb.example.com.",
        RecordType::AAAA,
        ResponseCode::NoError,
    );
    secure("gslb.example.com.", RecordType::MX, ResponseCode::NoError);
    // NODATA, static and balanced (app has no IPv6 endpoint).
    let m = secure(
        "txt.gslb.example.com.",
        RecordType::A,
        ResponseCode::NoError,
    );
    assert!(m.answers.is_empty());
    secure(
        "app.gslb.example.com.",
        RecordType::AAAA,
        ResponseCode::NoError,
    );
    // A name that does not exist: compact denial, NOERROR (Unbound does not set CO).
    let m = secure(
        "nothere.gslb.example.com.",
        RecordType::A,
        ResponseCode::NoError,
    );
    assert!(m.answers.is_empty());
    // A wildcard, and a CNAME into a balanced name.
    let m = secure(
        "anything.wild.gslb.example.com.",
        RecordType::A,
        ResponseCode::NoError,
    );
    assert_eq!(addrs_of(&m), ["192.0.2.90"]);
    let m = secure(
        "alias.gslb.example.com.",
        RecordType::A,
        ResponseCode::NoError,
    );
    assert_eq!(addrs_of(&m), [EP[0]]);
    // CNAME endpoints into the other signed zone: the CNAME signed by this zone's key, the
    // target's address by the other's; a target that zone lacks is denied by that zone.
    settles_on("cdn.gslb.example.com.", "192.0.2.101");
    // Straight from gslb (a resolver drops out-of-zone records and asks again): each RRset of
    // the crossed answer is signed by the zone it comes from.
    let signers = |name: &str| -> Vec<(RecordType, String)> {
        let m = udp(s.udp, &rd(name, RecordType::A));
        m.answers
            .iter()
            .chain(&m.authorities)
            .filter_map(|r| match &r.data {
                RData::DNSSEC(hickory_proto::dnssec::rdata::DNSSECRData::RRSIG(sig)) => Some((
                    sig.input().type_covered,
                    sig.input().signer_name.to_string(),
                )),
                _ => None,
            })
            .collect()
    };
    let (own, cdn) = (format!("{ZONE_NAME}."), format!("{CDN_NAME}."));
    assert_eq!(
        signers("cdn.gslb.example.com."),
        [
            (RecordType::CNAME, own.clone()),
            (RecordType::A, cdn.clone())
        ]
    );
    assert_eq!(
        signers("gone.gslb.example.com."),
        [
            (RecordType::CNAME, own),
            (RecordType::SOA, cdn.clone()),
            (RecordType::NSEC, cdn)
        ]
    );
    let m = secure(
        "gone.gslb.example.com.",
        RecordType::A,
        ResponseCode::NoError,
    );
    let types: Vec<RecordType> = m.answers.iter().map(|r| r.record_type()).collect();
    assert!(
        types.contains(&RecordType::CNAME) && !types.contains(&RecordType::A),
        "the CNAME alone: {m}"
    );
    // The primary's backend dies: the answer fails over, still validated.
    b[0].stop();
    settles_on("app.gslb.example.com.", EP[1]);
    settles_on("cdn.gslb.example.com.", "192.0.2.102");
    // solo's only endpoint dies: with when_all_down = "none" it answers NODATA, which must
    // validate during the outage (the bitmap does not list A).
    b[2].stop();
    eventually(Duration::from_secs(10), "solo answers NODATA", || {
        let m = ask(resolver, "solo.gslb.example.com.", RecordType::A);
        crate::harness::seen(m.answers.len(), |n| *n == 0)
    });
    secure(
        "solo.gslb.example.com.",
        RecordType::A,
        ResponseCode::NoError,
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_that_does_not_match_the_ds_is_servfail() {
    let keys = tempfile::tempdir().unwrap();
    let key = keygen(keys.path());
    let other = keygen(keys.path());
    let b = backend::start(&EP).await;
    let s = start_config(
        &config(b[0].addr.port(), &[key], ""),
        &[("gslb.example.com.zone", ZONE)],
    )
    .await;
    let resolver: SocketAddr = "127.0.0.64:5399".parse().unwrap();
    let (_unbound, _log) = unbound(keys.path(), resolver, s.udp, &ds_of(&other));
    let m = ask(resolver, "static.gslb.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail, "{m}");
    assert!(!m.metadata.authentic_data);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delv_fully_validates_positive_and_negative_answers_from_every_instance() {
    let keys = tempfile::tempdir().unwrap();
    let key = keygen(keys.path());
    let b = backend::start(&EP).await;
    // Two instances of an NS set with the same key files: each signs for itself.
    let cfg = config(b[0].addr.port(), std::slice::from_ref(&key), "");
    let ns = [
        start_config(&cfg, &[("gslb.example.com.zone", ZONE)]).await,
        start_config(&cfg, &[("gslb.example.com.zone", ZONE)]).await,
    ];
    // delv's trust-anchor file: the DS as a static-ds anchor.
    let ds = ds_of(&key);
    let f: Vec<&str> = ds.split_whitespace().collect();
    let anchor = keys.path().join("anchor.conf");
    std::fs::write(
        &anchor,
        format!(
            "trust-anchors {{ {} static-ds {} {} {} \"{}\"; }};\n",
            f[0], f[3], f[4], f[5], f[6]
        ),
    )
    .unwrap();
    let delv = tool("delv");
    let cases = [
        ("static.gslb.example.com", "A"),
        ("app.gslb.example.com", "A"),
        ("txt.gslb.example.com", "A"),
        ("nothere.gslb.example.com", "A"),
        ("x.wild.gslb.example.com", "A"),
    ];
    for s in &ns {
        eventually(Duration::from_secs(10), "app answers the primary", || {
            let m = udp(s.udp, &rd("app.gslb.example.com.", RecordType::A));
            crate::harness::seen(addrs_of(&m), |a| a == &[EP[0].to_string()])
        });
    }
    for ((name, t), s) in cases.iter().flat_map(|c| ns.iter().map(move |s| (c, s))) {
        let out = Command::new(&delv)
            .arg(format!("@{}", s.udp.ip()))
            .args(["-p", &s.udp.port().to_string(), "-a"])
            .arg(&anchor)
            .arg(format!("+root={ZONE_NAME}"))
            .args([name, t])
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("fully validated"),
            "{name} {t} from {}:\n{text}",
            s.udp
        );
    }
    // The signatures are each instance's own (ECDSA signatures differ per signing), and
    // both validated above.
    let sig = |s: &crate::harness::TestServer| {
        let m = udp(s.udp, &rd("static.gslb.example.com.", RecordType::A));
        m.answers
            .iter()
            .find(|r| r.record_type() == RecordType::RRSIG)
            .map(|r| r.data.to_string())
            .expect("an RRSIG")
    };
    assert_ne!(sig(&ns[0]), sig(&ns[1]));
    for s in ns {
        s.stop().await;
    }
}

/// A raw query, with an OPT (payload 1232) whose flags are `edns_flags` (DO = 0x8000, CO = 0x4000).
fn raw(name: &str, t: u16, edns_flags: Option<u16>, payload: u16) -> Vec<u8> {
    let mut p = crate::harness::raw_query(0x4242, 0, &[(name, t, 1)]);
    if let Some(f) = edns_flags {
        p[10..12].copy_from_slice(&1u16.to_be_bytes());
        p.extend_from_slice(&[0, 0, 41]);
        p.extend_from_slice(&payload.to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(&f.to_be_bytes());
        p.extend_from_slice(&[0, 0]);
    }
    p
}

fn parse(b: &[u8]) -> Message {
    Message::from_vec(b).unwrap()
}

fn nsec_types(m: &Message) -> Vec<RecordType> {
    m.authorities
        .iter()
        .find_map(|r| match &r.data {
            RData::DNSSEC(hickory_proto::dnssec::rdata::DNSSECRData::NSEC(n)) => {
                Some(n.type_bit_maps().collect())
            }
            _ => None,
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn do0_answers_are_unchanged_and_do1_answers_carry_signatures_and_compact_denial() {
    let keys = tempfile::tempdir().unwrap();
    let key = keygen(keys.path());
    let b = backend::start(&EP).await;
    let port = b[0].addr.port();
    let signed = start_config(
        &config(port, &[key], ""),
        &[("gslb.example.com.zone", ZONE)],
    )
    .await;
    let plain_cfg =
        config(port, &[], "").replace(&format!("[dnssec.\"{ZONE_NAME}\"]\nkeys = []\n"), "");
    let plain = start_config(&plain_cfg, &[("gslb.example.com.zone", ZONE)]).await;
    eventually(Duration::from_secs(10), "app up on both", || {
        let a = udp_raw(signed.udp, &raw("app.gslb.example.com", 1, None, 0))
            .map(|r| parse(&r).answers.len());
        let b = udp_raw(plain.udp, &raw("app.gslb.example.com", 1, None, 0))
            .map(|r| parse(&r).answers.len());
        crate::harness::seen((a, b), |v| *v == (Some(1), Some(1)))
    });
    // DO=0 (with and without EDNS): the same bytes as an unsigned server's.
    for name in [
        "static", "app", "txt", "nothere", "x.wild", "alias", "sub", "www.sub", "@",
    ] {
        let name = if name == "@" {
            ZONE_NAME.to_string()
        } else {
            format!("{name}.{ZONE_NAME}")
        };
        for t in [1u16, 28, 16, 15, 6, 2] {
            for flags in [None, Some(0)] {
                let q = raw(&name, t, flags, 1232);
                assert_eq!(
                    udp_raw(signed.udp, &q),
                    udp_raw(plain.udp, &q),
                    "{name} {t} {flags:?}"
                );
            }
        }
    }
    let q = |name: &str, t: RecordType, flags: u16, payload: u16| {
        parse(&udp_raw(signed.udp, &raw(name, u16::from(t), Some(flags), payload)).unwrap())
    };
    let sigs = |rs: &[hickory_proto::rr::Record], covered: RecordType| {
        rs.iter()
            .filter(|r| match &r.data {
                RData::DNSSEC(hickory_proto::dnssec::rdata::DNSSECRData::RRSIG(s)) => {
                    s.input().type_covered == covered
                }
                _ => false,
            })
            .count()
    };
    // A positive answer: the RRset and its RRSIG; the apex DNSKEY, signed.
    let m = q("static.gslb.example.com.", RecordType::A, 0x8000, 1232);
    assert_eq!(sigs(&m.answers, RecordType::A), 1, "{m}");
    let m = q("gslb.example.com.", RecordType::DNSKEY, 0x8000, 1232);
    assert_eq!(
        m.answers
            .iter()
            .filter(|r| r.record_type() == RecordType::DNSKEY)
            .count(),
        1
    );
    assert_eq!(sigs(&m.answers, RecordType::DNSKEY), 1, "{m}");
    // A nonexistent name: NOERROR, one NSEC listing NXNAME; NXDOMAIN and CO when CO is set.
    let m = q("nothere.gslb.example.com.", RecordType::A, 0x8000, 1232);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    let types = nsec_types(&m);
    assert!(types.contains(&RecordType::Unknown(128)), "{types:?}");
    assert_eq!(sigs(&m.authorities, RecordType::NSEC), 1);
    assert_eq!(sigs(&m.authorities, RecordType::SOA), 1);
    let m = q("nothere.gslb.example.com.", RecordType::A, 0xC000, 1232);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    let raw_reply = udp_raw(
        signed.udp,
        &raw("nothere.gslb.example.com", 1, Some(0xC000), 1232),
    )
    .unwrap();
    let opt_flags = u16::from_be_bytes([
        raw_reply[raw_reply.len() - 4],
        raw_reply[raw_reply.len() - 3],
    ]);
    assert_eq!(opt_flags & 0x4000, 0x4000, "CO echoed");
    // A query for NXNAME itself is a format error (RFC 9824 §3.5).
    let m = q(
        "static.gslb.example.com.",
        RecordType::Unknown(128),
        0x8000,
        1232,
    );
    assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
    // NODATA lists the types there, never the query type: static has A and AAAA.
    let types = nsec_types(&q(
        "static.gslb.example.com.",
        RecordType::TXT,
        0x8000,
        1232,
    ));
    assert!(
        types.contains(&RecordType::A) && types.contains(&RecordType::AAAA),
        "{types:?}"
    );
    assert!(!types.contains(&RecordType::TXT) && !types.contains(&RecordType::Unknown(128)));
    // A balanced name asked for a type its answer lacks: the bitmap does not list it.
    let types = nsec_types(&q("app.gslb.example.com.", RecordType::AAAA, 0x8000, 1232));
    assert!(
        types.contains(&RecordType::A) && !types.contains(&RecordType::AAAA),
        "{types:?}"
    );
    // A referral without DS: NS unsigned, a signed NSEC at the cut listing NS but not DS.
    let m = q("www.sub.gslb.example.com.", RecordType::A, 0x8000, 1232);
    assert!(!m.metadata.authoritative);
    assert_eq!(sigs(&m.authorities, RecordType::NS), 0);
    assert_eq!(sigs(&m.authorities, RecordType::NSEC), 1, "{m}");
    let types = nsec_types(&m);
    assert!(
        types.contains(&RecordType::NS) && !types.contains(&RecordType::DS),
        "{types:?}"
    );
    assert!(
        m.additionals
            .iter()
            .any(|r| r.record_type() == RecordType::A),
        "glue kept"
    );
    // Too small for the signed answer: truncated whole, never an RRset without its RRSIG.
    let m = q("gslb.example.com.", RecordType::MX, 0x8000, 512);
    assert!(m.answers.is_empty() || sigs(&m.answers, RecordType::MX) == 1);
    let m = q("gslb.example.com.", RecordType::NS, 0x8000, 0);
    assert_eq!(sigs(&m.answers, RecordType::NS), 1, "{m}");
    let _ = Name::from_str("x.").unwrap();
    signed.stop().await;
    plain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_tags_and_ds_equal_binds_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let dsfromkey = tool("dnssec-dsfromkey");
    let bind_ds = |key: &Path| {
        let out = Command::new(&dsfromkey)
            .arg("-2")
            .arg(key)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    // Ours, by `gslb dnssec keygen`, read by BIND; and BIND's, by dnssec-keygen, read by us.
    for alg in ["13", "15"] {
        let (code, out, err) = crate::harness::run_gslb(vec![
            "dnssec".into(),
            "keygen".into(),
            ZONE_NAME.into(),
            "--dir".into(),
            dir.path().display().to_string(),
            "--algorithm".into(),
            alg.into(),
        ])
        .await;
        assert_eq!(code, 0, "{out}{err}");
        let base = dir.path().join(out.lines().next().unwrap());
        let key = PathBuf::from(format!("{}.key", base.display()));
        let cfg = dir.path().join(format!("gslb-{alg}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "[zones]\ndirectory = \"zones\"\n[dnssec.\"{ZONE_NAME}\"]\nkeys = [{:?}]\n",
                base.display().to_string()
            ),
        )
        .unwrap();
        let (code, ours, err) = crate::harness::run_gslb(vec![
            "dnssec".into(),
            "ds".into(),
            ZONE_NAME.into(),
            "-c".into(),
            cfg.display().to_string(),
        ])
        .await;
        assert_eq!(code, 0, "{err}");
        assert_eq!(ours.trim(), bind_ds(&key), "algorithm {alg}");
        let name = key.file_name().unwrap().to_str().unwrap();
        let tag: u16 = name
            .rsplit('+')
            .next()
            .unwrap()
            .trim_end_matches(".key")
            .parse()
            .unwrap();
        assert!(ours.contains(&format!(" DS {tag} {alg} 2 ")), "{ours}");
    }
    let keygen = tool("dnssec-keygen");
    for alg in ["ECDSAP256SHA256", "ED25519"] {
        let out = Command::new(&keygen)
            .args(["-q", "-a", alg, "-f", "KSK", "-K"])
            .arg(dir.path())
            .arg(ZONE_NAME)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let base = dir.path().join(String::from_utf8_lossy(&out.stdout).trim());
        let key = PathBuf::from(format!("{}.key", base.display()));
        assert_eq!(ds_of(&key), bind_ds(&key), "{alg}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gslb_check_reports_key_problems_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let zones = dir.path().join("zones");
    std::fs::create_dir(&zones).unwrap();
    std::fs::write(zones.join("gslb.example.com.zone"), ZONE).unwrap();
    let key = keygen(dir.path());
    let check = |keys: &str, extra: &str| {
        let cfg = dir.path().join("gslb.toml");
        std::fs::write(
            &cfg,
            format!(
                "[zones]\ndirectory = \"zones\"\n[dnssec.\"{ZONE_NAME}\"]\nkeys = [{keys}]\n{extra}"
            ),
        )
        .unwrap();
        let out = Command::new(crate::harness::GSLB_BIN)
            .args(["check", "-c"])
            .arg(&cfg)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let k = format!("{:?}", key.display().to_string());
    assert_eq!(check(&k, "").0, Some(0));
    let (code, out) = check(&k, "signature_validity = \"1m\"\n");
    assert_eq!(code, Some(1));
    assert!(
        out.contains("gslb.toml:5:") && out.contains("signature_validity"),
        "{out}"
    );
    // Missing .private.
    let (_, private) = gslb::dnssec::keys::paths(&key);
    let saved = std::fs::read(&private).unwrap();
    std::fs::remove_file(&private).unwrap();
    let (code, out) = check(&k, "");
    assert_eq!(code, Some(1));
    assert!(
        out.contains(".private: missing") && out.contains("gslb.toml:4:"),
        "{out}"
    );
    std::fs::write(&private, &saved).unwrap();
    // A key of another zone; one that is not yet active.
    let other = gslb::dnssec::keys::generate(
        "other.example",
        dir.path(),
        gslb::dnssec::Algorithm::Ed25519,
        true,
        0,
    )
    .unwrap();
    let (code, out) = check(&format!("{:?}", other.display().to_string()), "");
    assert_eq!(code, Some(1));
    assert!(out.contains("is for zone other.example."), "{out}");
    let text = std::fs::read_to_string(&private).unwrap();
    let later: Vec<&str> = text
        .lines()
        .map(|l| {
            if l.starts_with("Activate:") {
                "Activate: 20990101000000"
            } else {
                l
            }
        })
        .collect();
    std::fs::write(&private, later.join("\n")).unwrap();
    let (code, out) = check(&k, "");
    assert_eq!(code, Some(1));
    assert!(out.contains("no key is active now"), "{out}");
    std::fs::write(&private, &saved).unwrap();
    // DNSSEC records in the zone file of a signed zone.
    std::fs::write(
        zones.join("gslb.example.com.zone"),
        format!("{ZONE}x NSEC y.gslb.example.com. A\n"),
    )
    .unwrap();
    let (code, out) = check(&k, "");
    assert_eq!(code, Some(1));
    assert!(
        out.contains("must not hold DNSSEC records: x.gslb.example.com. NSEC"),
        "{out}"
    );
}

/// DNSViz, from PyPI (`.ci/run` installs it in /opt/dnsviz; Debian's 0.9.4 cannot grok with
/// trusted keys), else on PATH.
fn dnsviz() -> PathBuf {
    let venv = PathBuf::from("/opt/dnsviz/bin/dnsviz");
    if venv.exists() { venv } else { tool("dnsviz") }
}

/// Every `errors` and `warnings` list anywhere in DNSViz's grok output, with where it is.
fn findings(v: &serde_json::Value, at: &str, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                if k == "errors" || k == "warnings" {
                    out.push(format!("{at}/{k}: {v}"));
                }
                findings(v, &format!("{at}/{k}"), out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                findings(v, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnsviz_finds_no_errors() {
    let keys = tempfile::tempdir().unwrap();
    let key = keygen(keys.path());
    let b = backend::start(&EP).await;
    let s = start_config(
        &config(b[0].addr.port(), std::slice::from_ref(&key), ""),
        &[("gslb.example.com.zone", ZONE)],
    )
    .await;
    eventually(Duration::from_secs(10), "app up", || {
        let m = udp(
            s.udp,
            &crate::harness::query("app.gslb.example.com.", RecordType::A, true),
        );
        crate::harness::seen(m.answers.len(), |n| *n == 1)
    });
    let dnsviz = dnsviz();
    // Only gslb is asked (`+`: nothing above the zone), at its loopback address and port.
    let server = format!(
        "{ZONE_NAME}+:ns1.{ZONE_NAME}={}:{}",
        s.udp.ip(),
        s.udp.port()
    );
    let probe = keys.path().join("probe.json");
    let names = [
        "", "static.", "app.", "alias.", "txt.", "nothere.", "x.wild.",
    ];
    let out = Command::new(&dnsviz)
        .args(["probe", "-A", "-a", ZONE_NAME, "-x", &server, "-o"])
        .arg(&probe)
        .args(names.map(|n| format!("{n}{ZONE_NAME}")))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "probe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The trust anchor: the zone's DNSKEY, as the .key file has it.
    let text = std::fs::read_to_string(&key).unwrap();
    let anchor = keys.path().join("trusted.keys");
    std::fs::write(
        &anchor,
        text.lines()
            .filter(|l| !l.starts_with(';'))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let grok = keys.path().join("grok.json");
    let out = Command::new(&dnsviz)
        .args(["grok", "-r"])
        .arg(&probe)
        .arg("-t")
        .arg(&anchor)
        .arg("-o")
        .arg(&grok)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "grok: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&grok).unwrap()).unwrap();
    let mut found = Vec::new();
    findings(&v, "", &mut found);
    assert!(found.is_empty(), "DNSViz found:\n{}", found.join("\n"));
    let text = v.to_string();
    assert!(text.contains("\"SECURE\""), "nothing secure: {text:.2000}");
    for bad in ["\"BOGUS\"", "\"INSECURE\"", "\"INDETERMINATE\""] {
        assert!(!text.contains(bad), "{bad} in {text:.4000}");
    }
    for n in names {
        assert!(v.get(format!("{n}{ZONE_NAME}.")).is_some(), "{n} analysed");
    }
    s.stop().await;
}
