//! The in-process answer path: one query's bytes in, the response's bytes out, from a snapshot,
//! for each kind of answer the peer benchmark measures (static, balanced all, balanced weighted,
//! NXDOMAIN) plus NODATA, in a zone of 100,000 names so misses show whether they scale with the
//! zone (they must not: NXDOMAIN and NODATA within 2x of a positive answer); geo decided by a
//! `networks` entry beside geo decided by country (one GeoIP lookup more), and a CNAME answer
//! beside an address answer of the same policy.
//!
//! Run: `cargo bench --bench answer`.

// Test code: an unwrap that fails is a failed test, with its message.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::net::IpAddr;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use gslb::dns::handler::{Transport, handle};
use gslb::snapshot::Snapshot;

const NAMES: usize = 100_000;

fn setup() -> (tempfile::TempDir, Snapshot) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("zones")).unwrap();
    let mut z = String::from(
        "$ORIGIN bench.example.\n$TTL 300\n@ SOA ns1 h 1 3600 600 604800 60\n@ NS ns1\nns1 A 192.0.2.1\n",
    );
    for i in 0..NAMES {
        z.push_str(&format!(
            "host{i} A 10.{}.{}.{}\n",
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255
        ));
    }
    std::fs::write(dir.path().join("zones/bench.example.zone"), z).unwrap();
    let cfg = r#"[server]
listen = ["127.0.0.1:0"]
[zones]
directory = "zones"
[geoip]
database = 'GEOIP'
[datacenters.a]
[datacenters.b]
[datacenters.c]
[datacenters.net-gb]
networks = ["2.2.3.0/24", "198.51.100.0/24"]
[datacenters.net-us]
networks = ["214.78.120.0/22"]
[datacenters.country-gb]
countries = ["GB"]
[datacenters.country-us]
countries = ["US"]
[[balance]]
name = "geo-cidr.bench.example"
policy = "geo"
endpoints = [
  { address = "192.0.2.21", datacenter = "net-gb" },
  { address = "192.0.2.22", datacenter = "net-us" },
]
[[balance]]
name = "geo-country.bench.example"
policy = "geo"
endpoints = [
  { address = "192.0.2.21", datacenter = "country-gb" },
  { address = "192.0.2.22", datacenter = "country-us" },
]
[[balance]]
name = "addr.bench.example"
policy = "failover"
endpoints = [
  { address = "192.0.2.31", datacenter = "a", priority = 1 },
  { address = "192.0.2.32", datacenter = "b", priority = 2 },
]
[[balance]]
name = "cname.bench.example"
policy = "failover"
endpoints = [
  { target = "a.cdn-one.net", datacenter = "a", priority = 1 },
  { target = "b.cdn-two.net", datacenter = "b", priority = 2 },
]
[[balance]]
name = "app.bench.example"
policy = "all"
answers = 3
endpoints = [
  { address = "192.0.2.11", datacenter = "a" },
  { address = "192.0.2.12", datacenter = "b" },
  { address = "192.0.2.13", datacenter = "c" },
]
[[balance]]
name = "wapp.bench.example"
policy = "weighted"
endpoints = [
  { address = "192.0.2.11", datacenter = "a", weight = 30 },
  { address = "192.0.2.12", datacenter = "b", weight = 20 },
  { address = "192.0.2.13", datacenter = "c", weight = 10 },
]
"#;
    let geoip = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/geoip/GeoIP2-City-Test.mmdb"
    );
    std::fs::write(dir.path().join("gslb.toml"), cfg.replace("GEOIP", geoip)).unwrap();
    let served = gslb::load::from_file(&dir.path().join("gslb.toml")).unwrap();
    (dir, Snapshot::new(Arc::new(served)))
}

/// A query for `name` (dotted, absolute) and `qtype`, with EDNS (payload 1232) as dnsperf sends.
fn packet(name: &str, qtype: u16) -> Vec<u8> {
    let mut p = vec![0xab, 0xcd, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 1];
    for l in name.trim_end_matches('.').split('.') {
        p.push(l.len() as u8);
        p.extend_from_slice(l.as_bytes());
    }
    p.push(0);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes());
    p.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    p
}

/// `packet` with an ECS option for the IPv4 /24 `a.b.c.0/24`.
fn with_ecs(mut p: Vec<u8>, net: [u8; 3]) -> Vec<u8> {
    let n = p.len();
    p[n - 2..].copy_from_slice(&11u16.to_be_bytes());
    p.extend_from_slice(&8u16.to_be_bytes());
    p.extend_from_slice(&7u16.to_be_bytes());
    p.extend_from_slice(&[0, 1, 24, 0]);
    p.extend_from_slice(&net);
    p
}

/// `packet` with a COOKIE option holding `cookie` in its OPT.
fn with_cookie(mut p: Vec<u8>, cookie: &[u8]) -> Vec<u8> {
    let n = p.len();
    p[n - 2..].copy_from_slice(&(4 + cookie.len() as u16).to_be_bytes());
    p.extend_from_slice(&10u16.to_be_bytes());
    p.extend_from_slice(&(cookie.len() as u16).to_be_bytes());
    p.extend_from_slice(cookie);
    p
}

fn bench(c: &mut Criterion) {
    let (_dir, snap) = setup();
    let peer: IpAddr = "127.0.0.1".parse().unwrap();
    let client = [7u8; 8];
    let server = snap
        .served
        .cookie_secrets
        .issue(&client, peer, gslb::cookie::now());
    let valid = [&client[..], &server[..]].concat();
    let cases = [
        ("static", packet("host54321.bench.example.", 1)),
        ("balanced-all", packet("app.bench.example.", 1)),
        ("balanced-weighted", packet("wapp.bench.example.", 1)),
        ("nxdomain", packet("nope54321.bench.example.", 1)),
        // Geo for a client in 2.2.3.0/24 (GB in the City test database): by a networks entry,
        // and by country (one GeoIP lookup, then no subdivision match, then the country).
        (
            "geo-cidr",
            with_ecs(packet("geo-cidr.bench.example.", 1), [2, 2, 3]),
        ),
        (
            "geo-country",
            with_ecs(packet("geo-country.bench.example.", 1), [2, 2, 3]),
        ),
        // The same failover policy answering an address, and a CNAME to a target outside the
        // zone (not followed).
        ("failover-address", packet("addr.bench.example.", 1)),
        ("failover-cname", packet("cname.bench.example.", 1)),
        ("nodata", packet("host54321.bench.example.", 16)),
        // A resolver's first query: a client cookie, one SipHash to issue ours.
        (
            "static-client-cookie",
            with_cookie(packet("host54321.bench.example.", 1), &client),
        ),
        // Its later queries: a valid server cookie, one SipHash to verify, echoed.
        (
            "static-valid-cookie",
            with_cookie(packet("host54321.bench.example.", 1), &valid),
        ),
    ];
    let mut out = Vec::with_capacity(4096);
    let mut g = c.benchmark_group("answer");
    for (name, p) in &cases {
        assert!(handle(&snap, p, peer, Transport::Udp, &mut out).is_some());
        g.bench_function(*name, |b| {
            b.iter(|| handle(&snap, black_box(p), peer, Transport::Udp, &mut out))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
