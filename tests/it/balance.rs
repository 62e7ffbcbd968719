//! Balanced names over real UDP and TCP: every policy for A and AAAA, with and without EDNS
//! Client Subnet (the scope echoed, no option when none was sent), NODATA for a family without
//! endpoints and for other types, never NXDOMAIN, TTL and `answers`, `when_all_down`, and the
//! config/zone cross-checks reported as `file:line:col`.
//!
//! No prober runs here: every endpoint starts up, and down states and loads are published
//! straight into the server's snapshot by `set_health`, the one place that knows how.

// Table rows are tuples, one column per input or expectation, spelled out where they are read.
#![allow(clippy::type_complexity)]

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use crate::harness::*;
use gslb::policy::{Client, trace};
use gslb::snapshot::{Change, Snapshot};
use gslb::state::{EndpointHealth, EndpointState};
use gslb::wire::ClientSubnet as WireSubnet;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType::{self, A, AAAA, MX, NS, SRV, TXT};

const GSLB_ZONE: &str = r#"$ORIGIN gslb.example.com.
$TTL 3600
@     IN SOA ns1 hostmaster ( 2026112301 3600 600 604800 300 )
@     IN NS  ns1
ns1   IN A   192.0.2.53
txt   IN TXT "static text"
"#;

/// Data centers a (London; 198.51.100/24, 2001:db8:1::/48), b (Virginia; 203.0.113/24) and
/// c (Tokyo), and one balanced name per policy and `when_all_down` variant.
fn config() -> String {
    // least-loaded needs a check with load_header. It probes a closed loopback port, so its
    // endpoints start down and stay so without a publication: set_health alone sets loads.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let geoip = format!(
        "{}/tests/data/geoip/GeoIP2-City-Test.mmdb",
        env!("CARGO_MANIFEST_DIR")
    );
    format!(
        r#"
[geoip]
database = '{geoip}'
[checks.load]
protocol = "http"
address = "127.0.0.1"
port = {port}
load_header = "X-Load"
interval = "1h"
[datacenters.a]
networks = ["198.51.100.0/24", "2001:db8:1::/48"]
location = {{ lat = 51.5, lon = -0.13 }}
[datacenters.b]
networks = ["203.0.113.0/24"]
location = {{ lat = 39.0, lon = -77.5 }}
[datacenters.c]
location = {{ lat = 35.7, lon = 139.7 }}
{BALANCES}"#
    )
}

const BALANCES: &str = r#"
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

async fn start_gslb() -> TestServer {
    start_with("", &config(), &[("gslb.example.com.zone", GSLB_ZONE)]).await
}

/// Publishes `health` for balanced name `name` straight into the server's snapshot, keeping
/// everything else. The only place these tests write health: adapt it when publication moves.
fn set_health(s: &TestServer, name: &str, health: Vec<EndpointHealth>) {
    let state = &s.server().control.state;
    let old = state.load_full();
    let id = old.balance_index(name).expect("a balanced name");
    let mut changes: Vec<Change> = health
        .into_iter()
        .enumerate()
        .map(|(i, health)| Change {
            name: id as u32,
            endpoint: i as u32,
            health,
            since: std::time::SystemTime::now(),
        })
        .collect();
    let h = old.health.updated(
        old.health.generation + 1,
        &mut changes,
        old.health.transitions.clone(),
    );
    state.store(Arc::new(Snapshot {
        served: old.served.clone(),
        health: Arc::new(h),
    }));
}

/// Health from one letter per endpoint: U up, D down, R drained.
fn hs(s: &str) -> Vec<EndpointHealth> {
    s.chars()
        .map(|c| EndpointHealth {
            state: match c {
                'U' => EndpointState::Up,
                'D' => EndpointState::Down,
                _ => EndpointState::Drained,
            },
            load: None,
        })
        .collect()
}

fn fq(label: &str) -> String {
    format!("{label}.gslb.example.com.")
}

/// Asserts an authoritative NOERROR and returns the addresses (sorted).
fn ok(r: &Message, what: &str) -> Vec<String> {
    assert_eq!(r.metadata.response_code, ResponseCode::NoError, "{what}");
    assert!(r.metadata.authoritative, "{what}");
    addrs(r)
}

/// Asserts NODATA: NOERROR, AA, no answer, the zone's SOA in authority at its negative TTL.
fn assert_nodata(r: &Message, what: &str) {
    assert_eq!(ok(r, what), Vec::<String>::new(), "{what}");
    assert!(r.answers.is_empty(), "{what}: {:?}", r.answers);
    let auth = section(&r.authorities);
    assert_eq!(auth.len(), 1, "{what}: {auth:?}");
    assert_eq!(
        (auth[0].0.as_str(), auth[0].1, auth[0].2),
        ("gslb.example.com.", RecordType::SOA, 300),
        "{what}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_policy_answers_a_and_aaaa_without_ecs() {
    let s = start_gslb().await;
    // (name, type, addresses it may answer, how many, TTL). From 127.0.0.1, which no data center
    // network holds and the GeoIP database does not know: geo and nearest go by priority.
    #[rustfmt::skip]
    let cases: Vec<(&str, RecordType, Vec<&str>, usize, u32)> = vec![
        ("rr", A, vec!["192.0.2.10", "192.0.2.20"], 1, 30),
        ("rr", AAAA, vec!["2001:db8::10"], 1, 30),
        ("w", A, vec!["192.0.2.10", "192.0.2.20"], 1, 30),
        ("w", AAAA, vec!["2001:db8::10"], 1, 30),
        ("fo", A, vec!["192.0.2.10"], 1, 20),
        ("fo", AAAA, vec!["2001:db8::10"], 1, 20),
        ("h", A, vec!["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"], 1, 30),
        ("h", AAAA, vec!["2001:db8::1", "2001:db8::2"], 1, 30),
        ("geo", A, vec!["192.0.2.20"], 1, 30),
        ("geo", AAAA, vec!["2001:db8::10"], 1, 30),
        ("near", A, vec!["192.0.2.20"], 1, 30),
        ("near", AAAA, vec!["2001:db8::10"], 1, 30),
        ("ll", A, vec!["192.0.2.10", "192.0.2.20", "192.0.2.30"], 1, 30),
        ("all", A, vec!["192.0.2.10", "192.0.2.20", "192.0.2.30"], 2, 5),
        ("all", AAAA, vec!["2001:db8::10"], 1, 5),
    ];
    for (name, t, allowed, count, ttl) in cases {
        for edns in [true, false] {
            for r in both(&s, &query(&fq(name), t, edns)) {
                let what = format!("{name} {t} edns={edns}");
                let got = ok(&r, &what);
                assert_eq!(got.len(), count, "{what}: {got:?}");
                assert!(
                    got.iter().all(|a| allowed.contains(&a.as_str())),
                    "{what}: {got:?}"
                );
                let distinct: BTreeSet<_> = got.iter().collect();
                assert_eq!(distinct.len(), count, "{what}: {got:?}");
                assert!(
                    r.answers
                        .iter()
                        .all(|a| a.ttl == ttl && a.record_type() == t),
                    "{what}"
                );
                assert_eq!(ecs_of(&r), None, "{what}: no ECS option without one");
                assert_eq!(r.edns.is_some(), edns, "{what}: OPT only when asked");
            }
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecs_decides_client_policies_and_the_scope_is_echoed() {
    let s = start_gslb().await;
    let h4 = [
        "192.0.2.1",
        "192.0.2.2",
        "192.0.2.3",
        "192.0.2.4",
        "192.0.2.5",
    ];
    let h6 = ["2001:db8::1", "2001:db8::2"];
    // (name, type, ECS sent, addresses it may answer, scope expected)
    #[rustfmt::skip]
    let cases: Vec<(&str, RecordType, &str, Vec<&str>, u8)> = vec![
        // Policies that do not look at the client: scope 0.
        ("rr", A, "198.51.100.0/24", vec!["192.0.2.10", "192.0.2.20"], 0),
        ("w", A, "198.51.100.0/24", vec!["192.0.2.10", "192.0.2.20"], 0),
        ("fo", A, "198.51.100.0/24", vec!["192.0.2.10"], 0),
        ("fo", AAAA, "2001:db8:1::/48", vec!["2001:db8::10"], 0),
        ("ll", A, "203.0.113.0/24", vec!["192.0.2.10", "192.0.2.20", "192.0.2.30"], 0),
        ("all", A, "203.0.113.0/24", vec!["192.0.2.10", "192.0.2.20", "192.0.2.30"], 0),
        // hashed: the hashing mask, /24 at most for IPv4 and /56 for IPv6.
        ("h", A, "198.51.100.0/24", h4.to_vec(), 24),
        ("h", A, "198.51.100.77/32", h4.to_vec(), 24),
        ("h", A, "198.51.96.0/20", h4.to_vec(), 20),
        ("h", AAAA, "2001:db8:1:2ff::/64", h6.to_vec(), 56),
        ("h", AAAA, "198.51.100.0/24", h6.to_vec(), 24),
        // geo: the matched network, or the client network when none matched.
        ("geo", A, "198.51.100.0/24", vec!["192.0.2.10"], 24),
        ("geo", A, "198.51.100.9/32", vec!["192.0.2.10"], 24),
        ("geo", A, "203.0.113.0/24", vec!["192.0.2.20"], 24),
        ("geo", AAAA, "198.51.100.0/24", vec!["2001:db8::10"], 24),
        ("geo", AAAA, "203.0.113.0/24", vec!["2001:db8::20"], 24),
        ("geo", AAAA, "2001:db8:1:100::/56", vec!["2001:db8::10"], 48),
        ("geo", A, "2001:db8:1:100::/56", vec!["192.0.2.10"], 48),
        ("geo", A, "192.0.2.0/24", vec!["192.0.2.20"], 24),
        // No match for 198.51/16, but 198.51.100/24 lies inside: the scope stops short of it.
        ("geo", A, "198.51.0.0/16", vec!["192.0.2.20"], 18),
        // nearest: the GeoIP network.
        ("near", A, "175.16.199.0/24", vec!["192.0.2.30"], 24),
        ("near", AAAA, "175.16.199.0/24", vec!["2001:db8::30"], 24),
        ("near", AAAA, "2001:218::/56", vec!["2001:db8::30"], 32),
        ("near", A, "2001:220::/56", vec!["192.0.2.30"], 32),
        ("near", A, "192.0.2.0/24", vec!["192.0.2.20"], 24),
        // Source prefix 0: no client information; the resolver (127.0.0.1) decides, scope 0.
        ("geo", A, "0.0.0.0/0", vec!["192.0.2.20"], 0),
        ("near", AAAA, "::/0", vec!["2001:db8::10"], 0),
    ];
    for (name, t, net, allowed, scope) in cases {
        let (addr, source) = net.split_once('/').unwrap();
        for r in both(&s, &with_ecs(query(&fq(name), t, true), net)) {
            let what = format!("{name} {t} ECS {net}");
            let got = ok(&r, &what);
            assert_eq!(
                got.len(),
                if name == "all" { 2 } else { 1 },
                "{what}: {got:?}"
            );
            assert!(
                got.iter().all(|a| allowed.contains(&a.as_str())),
                "{what}: {got:?}"
            );
            let echoed = (source.parse().unwrap(), scope, addr.to_string());
            assert_eq!(
                ecs_of(&r),
                Some(echoed),
                "{what}: family, source, address echoed"
            );
        }
    }
    // A /32 is used as its /24: the same hashed answer for both.
    let a = udp(
        s.udp,
        &with_ecs(query(&fq("h"), A, true), "198.51.100.77/32"),
    );
    let b = tcp(
        s.tcp,
        &with_ecs(query(&fq("h"), A, true), "198.51.100.0/24"),
    );
    assert_eq!(addrs(&a), addrs(&b));
    // Source prefix 0 answers as if no ECS had been sent.
    let zero = udp(s.udp, &with_ecs(query(&fq("h"), A, true), "0.0.0.0/0"));
    let plain = udp(s.udp, &query(&fq("h"), A, true));
    assert_eq!(addrs(&zero), addrs(&plain));
    // Other names of the zone and negative answers echo scope 0.
    let r = udp(
        s.udp,
        &with_ecs(query(&fq("ns1"), A, true), "198.51.100.0/24"),
    );
    assert_eq!(ecs_of(&r), Some((24, 0, "198.51.100.0".into())));
    let r = udp(
        s.udp,
        &with_ecs(query(&fq("geo"), TXT, true), "198.51.100.0/24"),
    );
    assert_eq!(ecs_of(&r), Some((24, 0, "198.51.100.0".into())));
    s.stop().await;
}

/// The snapshot's own explanation of what `name` answers for an ECS network.
fn explained(s: &TestServer, name: &str, v4: bool, net: &str) -> Vec<String> {
    let snap = s.server().control.state.load();
    let id = snap.balance_index(name).expect("a balanced name");
    let n: ipnet::IpNet = net.parse().unwrap();
    let ecs = WireSubnet {
        addr: n.addr(),
        source_prefix: n.prefix_len(),
    };
    let client = Client::new("127.0.0.1".parse().unwrap(), Some(ecs));
    let t = trace::explain(&snap.served.balances[id], v4, &client, snap.health.row(id));
    t.answer.iter().map(IpAddr::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashed_clients_stay_put_and_only_a_dead_endpoints_clients_move() {
    let s = start_gslb().await;
    let nets: Vec<String> = (0..40)
        .map(|i| format!("10.{i}.{}.0/24", (i * 7) % 256))
        .collect();
    let answer = |net: &str| {
        let [u, t] = both(&s, &with_ecs(query(&fq("h"), A, true), net));
        assert_eq!(addrs(&u), addrs(&t), "{net}: UDP and TCP agree");
        ok(&u, net).remove(0)
    };
    let before: Vec<String> = nets.iter().map(|n| answer(n)).collect();
    for (n, a) in nets.iter().zip(&before) {
        assert_eq!(
            vec![a.clone()],
            explained(&s, "h.gslb.example.com", true, n)
        );
        assert_eq!(&answer(n), a, "{n}: the same answer every time");
    }
    let used: BTreeSet<&String> = before.iter().collect();
    assert!(
        used.len() >= 4,
        "40 networks spread over the endpoints: {used:?}"
    );
    // 192.0.2.3 (the third endpoint) dies: only its networks move; then it comes back.
    set_health(&s, "h.gslb.example.com", hs("UUDUUUU"));
    for (n, a) in nets.iter().zip(&before) {
        let now = answer(n);
        assert_ne!(now, "192.0.2.3", "{n}");
        if a != "192.0.2.3" {
            assert_eq!(&now, a, "{n} moved though its endpoint lives");
        }
    }
    set_health(&s, "h.gslb.example.com", hs("UUUUUUU"));
    let after: Vec<String> = nets.iter().map(|n| answer(n)).collect();
    assert_eq!(after, before, "every network back where it was");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_endpoints_leave_the_answers_and_when_all_down_applies() {
    let s = start_gslb().await;
    let ask = |name: &str, t: RecordType, ecs: Option<&str>| {
        let q = query(&fq(name), t, true);
        let q = match ecs {
            Some(net) => with_ecs(q, net),
            None => q,
        };
        both(&s, &q)
    };
    // (name, health, type, ECS, answer, scope; an empty answer means NODATA)
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, RecordType, Option<&str>, Vec<&str>, u8)> = vec![
        ("fo", "DUUU", A, None, vec!["192.0.2.20"], 0),
        ("fo", "DUDU", AAAA, None, vec!["2001:db8::20"], 0),
        ("fo", "RUUU", A, None, vec!["192.0.2.20"], 0),
        ("fo", "UUUU", A, None, vec!["192.0.2.10"], 0),
        ("open", "DD", A, None, vec!["192.0.2.10"], 0), // fail open
        ("open", "RD", A, None, vec!["192.0.2.20"], 0), // never a drained one
        ("open", "RR", A, None, vec![], 0),
        ("none", "DU", A, None, vec![], 0),
        ("none", "DU", AAAA, None, vec!["2001:db8::10"], 0),
        ("none", "DD", AAAA, Some("198.51.100.0/24"), vec![], 0),
        ("fb", "DD", A, None, vec!["192.0.2.99"], 0),
        ("fb", "DD", AAAA, Some("198.51.100.0/24"), vec!["2001:db8::99"], 0),
        ("fb", "UD", A, None, vec!["192.0.2.10"], 0),
        ("rr", "DUU", A, None, vec!["192.0.2.20"], 0),
        ("w", "UDU", A, None, vec!["192.0.2.10"], 0),
        ("all", "UDUU", A, None, vec!["192.0.2.10", "192.0.2.30"], 0),
        ("geo", "DUUU", A, Some("198.51.100.0/24"), vec!["192.0.2.20"], 24),
        ("geo", "UUDU", AAAA, Some("198.51.100.0/24"), vec!["2001:db8::20"], 24),
        ("near", "UUDUU", A, Some("175.16.199.0/24"), vec!["192.0.2.10"], 24),
        ("near", "UUUUD", AAAA, Some("2001:218::/56"), vec!["2001:db8::10"], 32),
    ];
    for (name, h, t, ecs, want, scope) in cases {
        set_health(&s, &fq(name), hs(h));
        for r in ask(name, t, ecs) {
            let what = format!("{name} {h} {t} {ecs:?}");
            if want.is_empty() {
                assert_nodata(&r, &what);
            } else {
                assert_eq!(ok(&r, &what), want, "{what}");
            }
            assert_eq!(ecs_of(&r).map(|e| e.1), ecs.map(|_| scope), "{what}");
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_loaded_follows_the_reported_loads() {
    let s = start_gslb().await;
    let loads = |l: [f64; 3]| -> Vec<EndpointHealth> {
        l.iter()
            .map(|&x| EndpointHealth {
                state: EndpointState::Up,
                load: Some(x),
            })
            .collect()
    };
    for (l, want) in [
        ([0.7, 0.2, 0.5], "192.0.2.20"),
        ([0.1, 0.2, 0.5], "192.0.2.10"),
        ([0.9, 0.8, 0.5], "192.0.2.30"),
    ] {
        set_health(&s, "ll.gslb.example.com", loads(l));
        for _ in 0..3 {
            let q = with_ecs(query(&fq("ll"), A, true), "198.51.100.0/24");
            for r in both(&s, &q) {
                assert_eq!(ok(&r, "ll"), vec![want], "{l:?}");
                assert_eq!(ecs_of(&r).map(|e| e.1), Some(0));
            }
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_alternates_and_weighted_follows_weights() {
    let s = start_gslb().await;
    let mut seq = Vec::new();
    for _ in 0..10 {
        seq.push(ok(&udp(s.udp, &query(&fq("rr"), A, false)), "rr").remove(0));
    }
    for w in seq.windows(2) {
        assert_ne!(w[0], w[1], "consecutive answers rotate: {seq:?}");
    }
    let tens = seq.iter().filter(|a| *a == "192.0.2.10").count();
    assert_eq!(tens, 5, "{seq:?}");
    // Weights 3:1 over 400 answers: both appear, the heavier one clearly more often.
    let mut count = [0usize; 2];
    for _ in 0..400 {
        let a = ok(&udp(s.udp, &query(&fq("w"), A, false)), "w").remove(0);
        count[usize::from(a == "192.0.2.20")] += 1;
    }
    assert!(count[1] > 40 && count[0] > 2 * count[1], "{count:?}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balanced_names_answer_nodata_for_other_types_and_never_nxdomain() {
    let s = start_gslb().await;
    // A family without endpoints, and types the zone does not hold at the name.
    for (name, t) in [
        ("v4only", AAAA),
        ("rr", TXT),
        ("geo", MX),
        ("h", SRV),
        ("fo", NS),
    ] {
        for r in both(&s, &query(&fq(name), t, true)) {
            assert_nodata(&r, &format!("{name} {t}"));
        }
    }
    // With ECS: still NODATA, scope 0.
    let q = with_ecs(query(&fq("v4only"), AAAA, true), "198.51.100.0/24");
    for r in both(&s, &q) {
        assert_nodata(&r, "v4only AAAA with ECS");
        assert_eq!(ecs_of(&r), Some((24, 0, "198.51.100.0".into())));
    }
    // What the zone does hold at a balanced name is served next to the balanced addresses.
    for r in both(&s, &query(&fq("txt"), TXT, true)) {
        assert_eq!(ok(&r, "txt TXT"), Vec::<String>::new());
        assert_eq!(answers(&r, TXT), vec!["static text"]);
    }
    for r in both(&s, &query(&fq("txt"), A, true)) {
        assert_eq!(ok(&r, "txt A"), vec!["192.0.2.10"]);
    }
    // Every balanced name, every type: never NXDOMAIN.
    let names = [
        "rr", "w", "fo", "h", "geo", "near", "ll", "all", "v4only", "none", "fb",
    ];
    for name in names {
        for t in [A, AAAA, TXT, MX, RecordType::CNAME, RecordType::ANY] {
            for r in both(&s, &query(&fq(name), t, false)) {
                assert_eq!(
                    r.metadata.response_code,
                    ResponseCode::NoError,
                    "{name} {t}"
                );
                assert!(r.metadata.authoritative, "{name} {t}");
            }
        }
    }
    // Below a balanced name there is nothing.
    let r = udp(s.udp, &query("x.rr.gslb.example.com.", A, false));
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_ecs_option_gets_formerr() {
    let s = start_gslb().await;
    // Address bits set beyond the source prefix (RFC 7871 §6): 100 = 0b0110_0100 past /20.
    let bad = with_ecs(query(&fq("h"), A, true), "198.51.100.0/20");
    for r in both(&s, &bad) {
        assert_eq!(r.metadata.response_code, ResponseCode::FormErr);
        assert_eq!(ecs_of(&r), None);
    }
    // An unknown family: the OPT's empty RDATA replaced by a raw option.
    let mut raw = query(&fq("h"), A, true).to_vec().unwrap();
    raw.truncate(raw.len() - 2);
    raw.extend_from_slice(&[0, 8, 0, 8, 0, 4, 0, 3, 0, 0]);
    let replies = [
        udp_raw(s.udp, &raw).expect("udp reply"),
        tcp_raw(s.tcp, std::slice::from_ref(&raw)).remove(0),
    ];
    for reply in replies {
        let r = Message::from_vec(&reply).unwrap();
        assert_eq!(r.metadata.response_code, ResponseCode::FormErr);
    }
    // The well-formed version of each is answered.
    let good = with_ecs(query(&fq("h"), A, true), "198.51.100.0/24");
    assert_eq!(
        udp(s.udp, &good).metadata.response_code,
        ResponseCode::NoError
    );
    s.stop().await;
}

/// Loads `config` (appended to a minimal one) with `zone` for gslb.example.com; returns the
/// config path and the errors as printed.
fn load_errors(config: &str, zone: &str) -> (String, String, Vec<String>) {
    let text = format!("[zones]\ndirectory = \"zones\"\n[datacenters.a]\n{config}");
    let (_dir, path) = config_dir(&text, &[("gslb.example.com.zone", zone)]);
    let errs = match gslb::load::from_file(&path) {
        Ok(_) => Vec::new(),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    };
    (path.display().to_string(), text, errs)
}

/// `file:line:col` of the first occurrence of `needle` in `text`.
fn at(file: &str, text: &str, needle: &str) -> String {
    let i = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} in config"));
    let line = text[..i].matches('\n').count() + 1;
    let col = i - text[..i].rfind('\n').map_or(0, |n| n + 1) + 1;
    format!("{file}:{line}:{col}: ")
}

fn balance(name: &str, rest: &str) -> String {
    format!(
        "[[balance]]\nname = \"{name}\"\npolicy = \"round-robin\"\n{rest}endpoints = [{{ address = \"192.0.2.10\", datacenter = \"a\" }}]\n"
    )
}

#[test]
fn balances_are_checked_against_the_zones_with_positions() {
    let zone = format!(
        "{GSLB_ZONE}www IN A 192.0.2.80\nsix IN AAAA 2001:db8::6\nalias IN CNAME www\nsub IN NS ns.sub\nns.sub IN A 192.0.2.54\n"
    );
    // (balanced name, what the error says)
    let cases = [
        (
            "app.example.org",
            "is not inside any served zone (zones: gslb.example.com.)",
        ),
        ("www.gslb.example.com", "also has A records in zone file"),
        ("six.gslb.example.com", "also has AAAA records in zone file"),
        (
            "alias.gslb.example.com",
            "also has CNAME records in zone file",
        ),
        (
            "x.sub.gslb.example.com",
            "lies below the delegation sub.gslb.example.com.",
        ),
        (
            "sub.gslb.example.com",
            "lies below the delegation sub.gslb.example.com.",
        ),
    ];
    for (name, msg) in cases {
        let (file, text, errs) = load_errors(&balance(name, ""), &zone);
        let want = at(&file, &text, &format!("\"{name}\""));
        assert_eq!(errs.len(), 1, "{name}: {errs:?}");
        assert!(
            errs[0].starts_with(&want),
            "{name}: {errs:?} should start {want}"
        );
        assert!(errs[0].contains(msg), "{name}: {errs:?}");
    }
    // The same names are fine where the zone leaves them free.
    let (_, _, errs) = load_errors(&balance("free.gslb.example.com", ""), &zone);
    assert_eq!(errs, Vec::<String>::new());
    let (_, _, errs) = load_errors(&balance("gslb.example.com", ""), GSLB_ZONE);
    assert_eq!(errs, Vec::<String>::new(), "the apex may be balanced");
}

#[test]
fn balance_config_errors_are_all_reported_with_positions() {
    let config = [
        balance("dup.gslb.example.com", ""),
        balance("dup.gslb.example.com", ""),
        balance("fb.gslb.example.com", "fallback = [\"192.0.2.99\"]\n"),
        balance("nofb.gslb.example.com", "when_all_down = \"fallback\"\n"),
        "[[balance]]\nname = \"refs.gslb.example.com\"\npolicy = \"weighted\"\nendpoints = [\n  { address = \"192.0.2.1\", datacenter = \"zz\" },\n  { address = \"192.0.2.2\", datacenter = \"a\", weight = 0 },\n  { address = \"192.0.2.3\", datacenter = \"a\", check = \"nope\" },\n  { address = \"192.0.2.3\", datacenter = \"a\" },\n]\n".to_string(),
    ]
    .concat();
    let (file, text, errs) = load_errors(&config, GSLB_ZONE);
    // (where, what)
    let want = [
        (
            "[\"192.0.2.99\"]",
            "fallback is only used with when_all_down = \"fallback\"",
        ),
        ("\"nofb.gslb", "needs fallback = [addresses]"),
        ("\"zz\"", "no datacenter named \"zz\" (known: a)"),
        ("0 }", "weight must be more than 0"),
        ("\"nope\"", "no check named \"nope\""),
        (
            "{ address = \"192.0.2.3\", datacenter = \"a\" }",
            "endpoint 192.0.2.3 is listed twice",
        ),
    ];
    for (needle, msg) in want {
        let prefix = at(&file, &text, needle);
        assert!(
            errs.iter()
                .any(|e| e.starts_with(&prefix) && e.contains(msg)),
            "{prefix}{msg} not in {errs:#?}"
        );
    }
    let second = text.rfind("\"dup.gslb").unwrap();
    let line = text[..second].matches('\n').count() + 1;
    let dup = format!("{file}:{line}:8: balanced name dup.gslb.example.com. is defined twice");
    assert!(errs.contains(&dup), "{dup} not in {errs:#?}");
    assert_eq!(errs.len(), want.len() + 1, "{errs:#?}");
}
