//! Table-driven tests of the shared select step and of each policy, as pure functions: no
//! runtime, no sockets. Health is written as a string, one letter per endpoint (`U` up, `D`
//! down, `R` drained); clients are a resolver address or an ECS network as the wire parser
//! hands it over. The GeoIP database is MaxMind's test database vendored in `tests/data/geoip`.

// Table rows are tuples, one column per input or expectation, spelled out where they are read.
#![allow(clippy::type_complexity)]

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;

use super::*;
use crate::config::Config;

/// Builds the balanced names of a config text (zones are not needed for policies).
pub(crate) fn balances(toml: &str) -> (Config, Vec<BalancedName>) {
    let c = Config::from_str(Path::new("test.toml"), toml).expect("valid test config");
    let geoip = c
        .geoip
        .as_ref()
        .map(|p| Arc::new(GeoIp::open(p).expect("test geoip database")));
    let b = c
        .balances
        .iter()
        .map(|b| BalancedName::new(&c, b, geoip.clone()))
        .collect();
    (c, b)
}

pub(crate) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn chosen(b: &BalancedName, d: &Decision) -> Vec<IpAddr> {
    d.chosen
        .as_slice()
        .iter()
        .map(|&i| b.cfg.endpoints[i as usize].address)
        .collect()
}

/// The vendored test database, found relative to the package, never by an absolute path.
fn geoip_path() -> String {
    format!(
        "{}/tests/data/geoip/GeoIP2-City-Test.mmdb",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Data centers a (London), b (Virginia), c (Tokyo); geo networks nest a ⊃ b ⊃ c in 10/8.
fn base() -> String {
    format!(
        r#"
[zones]
directory = "zones"
[geoip]
database = '{}'
[checks.load]
protocol = "http"
load_header = "X-Load"
[datacenters.a]
networks = ["10.0.0.0/8", "2001:db8:a::/48"]
location = {{ lat = 51.5, lon = -0.13 }}
[datacenters.b]
networks = ["10.1.0.0/16"]
location = {{ lat = 39.0, lon = -77.5 }}
[datacenters.c]
networks = ["10.1.2.0/24"]
location = {{ lat = 35.7, lon = 139.7 }}
"#,
        geoip_path()
    )
}

/// One balanced name `x.example.com` with `opts` (policy, answers…) and endpoints given as
/// (address, data center, priority, weight).
fn one(opts: &str, eps: &[(&str, &str, u32, u32)]) -> BalancedName {
    let mut text = format!(
        "{}[[balance]]\nname = \"x.example.com\"\n{opts}\nendpoints = [\n",
        base()
    );
    for (a, dc, p, w) in eps {
        text.push_str(&format!(
            "  {{ address = \"{a}\", datacenter = \"{dc}\", priority = {p}, weight = {w} }},\n"
        ));
    }
    text.push_str("]\n");
    balances(&text).1.remove(0)
}

/// Health from one letter per endpoint: U up, D down, R drained.
fn hs(s: &str) -> Vec<EndpointHealth> {
    s.chars()
        .map(|c| EndpointHealth {
            state: match c {
                'U' => EndpointState::Up,
                'D' => EndpointState::Down,
                'R' => EndpointState::Drained,
                _ => panic!("health letter {c}"),
            },
            load: None,
        })
        .collect()
}

/// A query straight from a resolver, no ECS.
fn peer(s: &str) -> Client {
    Client::new(ip(s), None)
}

/// A query with ECS `net` (as the wire parser hands it over) from resolver 127.0.0.1.
fn ecs(net: &str) -> Client {
    let n: IpNet = net.parse().unwrap();
    let subnet = ClientSubnet {
        addr: n.addr(),
        source_prefix: n.prefix_len(),
    };
    Client::new(ip("127.0.0.1"), Some(subnet))
}

fn ips(v: &[&str]) -> Vec<IpAddr> {
    v.iter().map(|s| ip(s)).collect()
}

/// splitmix64: a deterministic stream of well-mixed draws for the distribution tests.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }
}

// ---- ECS client network -------------------------------------------------------------------

#[test]
fn the_client_is_the_ecs_network_truncated_or_the_resolver() {
    // (client, address, prefix, from ECS)
    #[rustfmt::skip]
    let cases = [
        (peer("192.0.2.7"), "192.0.2.7", 32, false),
        (peer("::ffff:192.0.2.7"), "192.0.2.7", 32, false),
        (peer("2001:db8::7"), "2001:db8::7", 128, false),
        // RFC 7871 §11.1: at most /24 and /56 are used.
        (ecs("198.51.100.77/32"), "198.51.100.0", 24, true),
        (ecs("198.51.100.0/24"), "198.51.100.0", 24, true),
        (ecs("198.51.96.0/20"), "198.51.96.0", 20, true),
        (ecs("2001:db8:1:2ff::/64"), "2001:db8:1:200::", 56, true),
        (ecs("2001:db8:1:200::/56"), "2001:db8:1:200::", 56, true),
        (ecs("2001:db8::/32"), "2001:db8::", 32, true),
        // Source prefix 0: no client information, the resolver's address decides.
        (ecs("0.0.0.0/0"), "127.0.0.1", 32, false),
        (ecs("::/0"), "127.0.0.1", 32, false),
    ];
    for (c, addr, prefix, from_ecs) in cases {
        assert_eq!(
            c,
            Client {
                addr: ip(addr),
                prefix,
                from_ecs
            }
        );
    }
}

// ---- the shared step: family, health, drain, when_all_down --------------------------------

const SHARED_EPS: &[(&str, &str, u32, u32)] = &[
    ("192.0.2.1", "a", 1, 1),
    ("192.0.2.2", "b", 2, 1),
    ("2001:db8::1", "a", 1, 1),
];

#[test]
fn shared_step_handles_family_health_drain_and_when_all_down() {
    let all = one("policy = \"failover\"", SHARED_EPS);
    let none = one(
        "policy = \"failover\"\nwhen_all_down = \"none\"",
        SHARED_EPS,
    );
    let fb = one(
        "policy = \"failover\"\nwhen_all_down = \"fallback\"\nfallback = [\"192.0.2.99\", \"2001:db8::99\"]",
        SHARED_EPS,
    );
    let c = peer("192.0.2.200");
    use Reason::*;
    // (balance, health, A?, answer, reason, failing open, fallback)
    #[rustfmt::skip]
    let cases: Vec<(&BalancedName, &str, bool, Vec<&str>, Reason, bool, bool)> = vec![
        (&all, "UUU", true, vec!["192.0.2.1"], Priority(1), false, false),
        (&all, "DUU", true, vec!["192.0.2.2"], Priority(2), false, false),
        (&all, "RUU", true, vec!["192.0.2.2"], Priority(2), false, false),
        (&all, "", true, vec!["192.0.2.1"], Priority(1), false, false), // unknown = up
        (&all, "DDU", true, vec!["192.0.2.1"], Priority(1), true, false), // fail open
        (&all, "RDU", true, vec!["192.0.2.2"], Priority(2), true, false), // never a drained one
        (&all, "RRU", true, vec![], AllDrained, false, false),
        (&all, "UUD", false, vec!["2001:db8::1"], Priority(1), true, false),
        (&all, "DDU", false, vec!["2001:db8::1"], Priority(1), false, false),
        (&none, "DUU", true, vec!["192.0.2.2"], Priority(2), false, false),
        (&none, "DDU", true, vec![], AllDownNone, false, false),
        (&none, "RDU", true, vec![], AllDownNone, false, false),
        (&none, "UUD", false, vec![], AllDownNone, false, false),
        (&fb, "UDU", true, vec!["192.0.2.1"], Priority(1), false, false),
        (&fb, "DDU", true, vec![], AllDownFallback, false, true),
        (&fb, "UUR", false, vec![], AllDownFallback, false, true),
    ];
    for (b, h, v4, want, reason, open, fallback) in cases {
        let d = decide(b, v4, &c, &hs(h), 0, 0);
        let what = format!("{:?} {h} v4={v4}", b.cfg.when_all_down);
        assert_eq!(chosen(b, &d), ips(&want), "{what}");
        assert_eq!(d.reason, reason, "{what}");
        assert_eq!(d.failing_open, open, "{what}");
        assert_eq!(d.fallback, fallback, "{what}");
        assert_eq!(d.scope, 0, "{what}");
    }
}

#[test]
fn a_family_without_endpoints_is_nodata_whatever_the_health() {
    let b = one(
        "policy = \"round-robin\"\nwhen_all_down = \"fallback\"\nfallback = [\"192.0.2.99\"]",
        &[("192.0.2.1", "a", 1, 1)],
    );
    for h in ["U", "D", "R"] {
        let d = decide(&b, false, &peer("192.0.2.200"), &hs(h), 0, 0);
        assert_eq!(d.reason, Reason::NoFamily, "{h}");
        assert!(d.chosen.is_empty() && !d.fallback, "{h}");
    }
    // The fallback of the other family only: explain answers nothing for AAAA.
    let t = trace::explain(&b, false, &peer("192.0.2.200"), &hs("D"));
    assert!(t.answer.is_empty(), "{t:?}");
}

// ---- round-robin and all -----------------------------------------------------------------

const ROT_EPS: &[(&str, &str, u32, u32)] = &[
    ("192.0.2.1", "a", 1, 1),
    ("192.0.2.2", "b", 1, 1),
    ("192.0.2.3", "c", 2, 1),
    ("2001:db8::1", "a", 1, 1),
];

#[test]
fn round_robin_and_all_rotate_through_the_endpoints_up() {
    // (policy, answers, health, counter, A?, answer)
    #[rustfmt::skip]
    let cases: Vec<(&str, usize, &str, u64, bool, Vec<&str>)> = vec![
        ("round-robin", 1, "UUUU", 0, true, vec!["192.0.2.1"]),
        ("round-robin", 1, "UUUU", 1, true, vec!["192.0.2.2"]),
        ("round-robin", 1, "UUUU", 5, true, vec!["192.0.2.3"]),
        ("round-robin", 2, "UUUU", 2, true, vec!["192.0.2.3", "192.0.2.1"]),
        ("round-robin", 5, "UUUU", 1, true, vec!["192.0.2.2", "192.0.2.3", "192.0.2.1"]),
        ("round-robin", 1, "UDUU", 1, true, vec!["192.0.2.3"]),
        ("round-robin", 2, "URUU", 0, true, vec!["192.0.2.1", "192.0.2.3"]),
        ("round-robin", 1, "DDDU", 1, true, vec!["192.0.2.2"]), // fail open
        ("round-robin", 3, "UUUU", 7, false, vec!["2001:db8::1"]),
        ("all", 3, "UUUU", 0, true, vec!["192.0.2.1", "192.0.2.2", "192.0.2.3"]),
        ("all", 3, "UUUU", 1, true, vec!["192.0.2.2", "192.0.2.3", "192.0.2.1"]),
        ("all", 64, "UUUU", 0, true, vec!["192.0.2.1", "192.0.2.2", "192.0.2.3"]),
        ("all", 1, "UUUU", 2, true, vec!["192.0.2.3"]),
        ("all", 3, "UDUU", 0, true, vec!["192.0.2.1", "192.0.2.3"]),
        ("all", 3, "DDRU", 0, true, vec!["192.0.2.1", "192.0.2.2"]),
        ("all", 3, "UUUU", 0, false, vec!["2001:db8::1"]),
    ];
    for (policy, answers, h, counter, v4, want) in cases {
        let b = one(
            &format!("policy = \"{policy}\"\nanswers = {answers}"),
            ROT_EPS,
        );
        // The client never matters: ECS or not, the scope is 0.
        for c in [peer("192.0.2.200"), ecs("10.1.2.0/24")] {
            let d = decide(&b, v4, &c, &hs(h), counter, 12345);
            let what = format!("{policy} answers={answers} {h} counter={counter} v4={v4}");
            assert_eq!(chosen(&b, &d), ips(&want), "{what}");
            assert_eq!(d.reason, Reason::Rotation, "{what}");
            assert_eq!(d.scope, 0, "{what}");
        }
    }
}

#[test]
fn round_robin_spreads_evenly() {
    let c = peer("192.0.2.200");
    // (answers, health, expected appearances per endpoint over 30,000 answers)
    #[rustfmt::skip]
    let cases = [
        (1, "UUUU", [10_000, 10_000, 10_000]),
        (2, "UUUU", [20_000, 20_000, 20_000]),
        (1, "UDUU", [15_000, 0, 15_000]),
    ];
    for (answers, h, want) in cases {
        let b = one(
            &format!("policy = \"round-robin\"\nanswers = {answers}"),
            ROT_EPS,
        );
        let mut count = [0u32; 3];
        for n in 0..30_000 {
            for &i in decide(&b, true, &c, &hs(h), n, 0).chosen.as_slice() {
                count[i as usize] += 1;
            }
        }
        assert_eq!(count, want, "answers={answers} {h}");
    }
}

// ---- weighted ----------------------------------------------------------------------------

const WEIGHTED_EPS: &[(&str, &str, u32, u32)] = &[
    ("192.0.2.1", "a", 1, 5),
    ("192.0.2.2", "b", 1, 3),
    ("192.0.2.3", "c", 1, 2),
    ("2001:db8::1", "a", 1, 1),
];

#[test]
fn weighted_maps_the_draw_onto_the_weights() {
    // Weights 5, 3, 2: draw % 10 in 0..5 → .1, 5..8 → .2, 8..10 → .3.
    // (answers, health, draw, answer)
    #[rustfmt::skip]
    let cases: Vec<(usize, &str, u64, Vec<&str>)> = vec![
        (1, "UUUU", 0, vec!["192.0.2.1"]),
        (1, "UUUU", 4, vec!["192.0.2.1"]),
        (1, "UUUU", 5, vec!["192.0.2.2"]),
        (1, "UUUU", 7, vec!["192.0.2.2"]),
        (1, "UUUU", 8, vec!["192.0.2.3"]),
        (1, "UUUU", 19, vec!["192.0.2.3"]),
        // .1 down: weights 3, 2 → draw % 5 in 0..3 → .2.
        (1, "DUUU", 2, vec!["192.0.2.2"]),
        (1, "DUUU", 3, vec!["192.0.2.3"]),
        (1, "RDUU", 0, vec!["192.0.2.3"]),
        (1, "DDDU", 9, vec!["192.0.2.3"]), // fail open, weights as configured
    ];
    for (answers, h, draw, want) in cases {
        let b = one(
            &format!("policy = \"weighted\"\nanswers = {answers}"),
            WEIGHTED_EPS,
        );
        let d = decide(&b, true, &ecs("10.0.0.0/24"), &hs(h), 0, draw);
        assert_eq!(chosen(&b, &d), ips(&want), "{h} draw={draw}");
        assert_eq!((d.reason, d.scope), (Reason::Weighted, 0));
    }
    // More answers: distinct endpoints, the first one still by the draw.
    let b = one("policy = \"weighted\"\nanswers = 3", WEIGHTED_EPS);
    let c = peer("192.0.2.200");
    for draw in 0..50 {
        let mut got = chosen(&b, &decide(&b, true, &c, &hs("UUUU"), 0, draw));
        assert_eq!(got.len(), 3);
        let first = got[0];
        got.sort();
        got.dedup();
        assert_eq!(got.len(), 3, "no endpoint twice");
        let want_first = match draw % 10 {
            0..5 => "192.0.2.1",
            5..8 => "192.0.2.2",
            _ => "192.0.2.3",
        };
        assert_eq!(first, ip(want_first), "draw={draw}");
        let d = decide(&b, true, &c, &hs("UUDU"), 0, draw);
        assert_eq!(d.chosen.len(), 2, "only the endpoints up");
        assert_eq!(
            chosen(&b, &decide(&b, false, &c, &hs("UUUU"), 0, draw)),
            ips(&["2001:db8::1"])
        );
    }
}

/// Shares of each IPv4 endpoint over `n` answers driven by the test PRNG.
fn weighted_shares(b: &BalancedName, h: &str, n: u32) -> [f64; 3] {
    let mut rng = SplitMix(1);
    let c = peer("192.0.2.200");
    let mut count = [0u32; 3];
    for k in 0..n {
        let d = decide(b, true, &c, &hs(h), k as u64, rng.next());
        assert_eq!(d.chosen.len(), 1, "one weighted pick per answer");
        count[d.chosen.as_slice()[0] as usize] += 1;
    }
    count.map(|x| 100.0 * x as f64 / n as f64)
}

#[test]
fn weighted_shares_follow_the_weights_within_1_5_points() {
    let b = one("policy = \"weighted\"", WEIGHTED_EPS);
    // (health, expected shares in percent)
    #[rustfmt::skip]
    let cases = [
        ("UUUU", [50.0, 30.0, 20.0]),
        ("DUUU", [0.0, 60.0, 40.0]),
        ("UURU", [62.5, 37.5, 0.0]),
    ];
    for (h, want) in cases {
        let got = weighted_shares(&b, h, 60_000);
        eprintln!("weighted {h}: observed {got:.2?} %, configured {want:?} %");
        for k in 0..3 {
            assert!(
                (got[k] - want[k]).abs() <= 1.5,
                "{h}: endpoint {k} got {:.2}% want {}%",
                got[k],
                want[k]
            );
        }
    }
}

// ---- failover ----------------------------------------------------------------------------

const FAILOVER: &str = r#"
[zones]
directory = "zones"
[datacenters.a]
[datacenters.b]
[[balance]]
name = "app.example.com"
policy = "failover"
endpoints = [
  { address = "192.0.2.1", datacenter = "a", priority = 1 },
  { address = "192.0.2.2", datacenter = "b", priority = 2 },
  { address = "2001:db8::1", datacenter = "a", priority = 1 },
]
"#;

#[test]
fn failover_uses_the_lowest_priority_group_up() {
    let (_, bs) = balances(FAILOVER);
    let b = &bs[0];
    let client = Client::new(ip("192.0.2.200"), None);
    let up = EndpointHealth::UP;
    let down = EndpointHealth {
        state: EndpointState::Down,
        load: None,
    };
    // (health of the three endpoints, family v4, expected answer)
    #[rustfmt::skip]
    let cases: Vec<([EndpointHealth; 3], bool, Vec<&str>)> = vec![
        ([up, up, up], true, vec!["192.0.2.1"]),
        ([down, up, up], true, vec!["192.0.2.2"]),
        ([up, up, up], false, vec!["2001:db8::1"]),
        ([down, down, up], true, vec!["192.0.2.1"]), // all v4 down: fail open, priority 1
    ];
    for (health, v4, want) in cases {
        let d = decide(b, v4, &client, &health, 0, 0);
        let want: Vec<IpAddr> = want.iter().map(|s| ip(s)).collect();
        assert_eq!(chosen(b, &d), want, "{health:?} v4={v4}");
    }
}

#[test]
fn failover_walks_the_priority_groups_and_rotates_inside_one() {
    let eps = &[
        ("192.0.2.1", "a", 1, 1),
        ("192.0.2.2", "b", 1, 1),
        ("192.0.2.3", "c", 2, 1),
        ("192.0.2.4", "a", 3, 1),
        ("2001:db8::1", "a", 1, 1),
        ("2001:db8::2", "b", 2, 1),
    ];
    use Reason::Priority;
    // (answers, health, counter, A?, answer, reason, failing open)
    #[rustfmt::skip]
    let cases: Vec<(usize, &str, u64, bool, Vec<&str>, Reason, bool)> = vec![
        (1, "UUUUUU", 0, true, vec!["192.0.2.1"], Priority(1), false),
        (1, "UUUUUU", 1, true, vec!["192.0.2.2"], Priority(1), false),
        (2, "UUUUUU", 1, true, vec!["192.0.2.2", "192.0.2.1"], Priority(1), false),
        (4, "UUUUUU", 0, true, vec!["192.0.2.1", "192.0.2.2"], Priority(1), false),
        (1, "DUUUUU", 0, true, vec!["192.0.2.2"], Priority(1), false),
        (1, "DUUUUU", 1, true, vec!["192.0.2.2"], Priority(1), false),
        (1, "DDUUUU", 0, true, vec!["192.0.2.3"], Priority(2), false),
        (1, "RDUUUU", 0, true, vec!["192.0.2.3"], Priority(2), false),
        (1, "DDDUUU", 0, true, vec!["192.0.2.4"], Priority(3), false),
        (2, "DDDUUU", 0, true, vec!["192.0.2.4"], Priority(3), false),
        (1, "DDDDUU", 1, true, vec!["192.0.2.2"], Priority(1), true),
        (1, "RRDDUU", 0, true, vec!["192.0.2.3"], Priority(2), true),
        (1, "UUUUUU", 0, false, vec!["2001:db8::1"], Priority(1), false),
        (1, "UUUUDU", 0, false, vec!["2001:db8::2"], Priority(2), false),
    ];
    for (answers, h, counter, v4, want, reason, open) in cases {
        let b = one(&format!("policy = \"failover\"\nanswers = {answers}"), eps);
        let d = decide(&b, v4, &ecs("10.1.2.0/24"), &hs(h), counter, 99);
        let what = format!("answers={answers} {h} counter={counter} v4={v4}");
        assert_eq!(chosen(&b, &d), ips(&want), "{what}");
        assert_eq!(
            (d.reason, d.failing_open, d.scope),
            (reason, open, 0),
            "{what}"
        );
    }
}

// ---- least-loaded ------------------------------------------------------------------------

#[test]
fn least_loaded_answers_the_lowest_reported_load() {
    let eps = &[
        ("192.0.2.1", "a", 1, 1),
        ("192.0.2.2", "b", 1, 1),
        ("192.0.2.3", "c", 1, 1),
        ("192.0.2.4", "a", 1, 1),
        ("2001:db8::1", "a", 1, 1),
    ];
    let some = [Some(0.5), Some(0.2), None, Some(0.9), Some(0.1)];
    let same = [Some(1.0), Some(1.0), Some(1.0), Some(1.0), None];
    // (answers, health, loads, counter, A?, answer)
    type Row<'a> = (usize, &'a str, [Option<f64>; 5], u64, bool, Vec<&'a str>);
    #[rustfmt::skip]
    let cases: Vec<Row<'_>> = vec![
        (1, "UUUUU", some, 0, true, vec!["192.0.2.2"]),
        (2, "UUUUU", some, 0, true, vec!["192.0.2.2", "192.0.2.1"]),
        // No load reported yet sorts last.
        (4, "UUUUU", some, 0, true, vec!["192.0.2.2", "192.0.2.1", "192.0.2.4", "192.0.2.3"]),
        (1, "UDUUU", some, 0, true, vec!["192.0.2.1"]),
        (1, "URDUU", some, 0, true, vec!["192.0.2.1"]),
        (1, "DRDUU", some, 0, true, vec!["192.0.2.4"]),
        (1, "DDDDU", some, 0, true, vec!["192.0.2.2"]), // fail open: still by load
        // Equal loads take turns.
        (1, "UUUUU", same, 0, true, vec!["192.0.2.1"]),
        (1, "UUUUU", same, 1, true, vec!["192.0.2.2"]),
        (1, "UUUUU", same, 6, true, vec!["192.0.2.3"]),
        (2, "UUUUU", [Some(3.0), Some(1.0), Some(1.0), Some(2.0), None], 2, true, vec!["192.0.2.3", "192.0.2.2"]),
        (1, "UUUUU", [None; 5], 3, true, vec!["192.0.2.4"]),
        // A NaN is no load, whatever its sign.
        (1, "UUUUU", [Some(-f64::NAN), Some(f64::NAN), Some(7.0), None, None], 0, true, vec!["192.0.2.3"]),
        (1, "UUUUU", some, 0, false, vec!["2001:db8::1"]),
    ];
    for (answers, h, loads, counter, v4, want) in cases {
        let b = one(
            &format!("policy = \"least-loaded\"\ncheck = \"load\"\nanswers = {answers}"),
            eps,
        );
        let mut health = hs(h);
        for (e, l) in health.iter_mut().zip(loads) {
            e.load = l;
        }
        let d = decide(&b, v4, &ecs("10.1.2.0/24"), &health, counter, 0);
        let what = format!("answers={answers} {h} {loads:?} counter={counter}");
        assert_eq!(chosen(&b, &d), ips(&want), "{what}");
        assert_eq!((d.reason, d.scope), (Reason::LeastLoaded, 0), "{what}");
    }
}

// ---- TTL and the answers cap -----------------------------------------------------------

#[test]
fn answers_are_capped_and_ttl_defaults_to_30() {
    let b = one("policy = \"all\"", ROT_EPS);
    assert_eq!((b.cfg.ttl, b.cfg.answers), (30, 1));
    let d = decide(&b, true, &peer("192.0.2.200"), &[], 0, 0);
    assert_eq!(d.chosen.len(), 1);
    let b = one("policy = \"all\"\nttl = 5\nanswers = 1000", ROT_EPS);
    assert_eq!(b.cfg.ttl, 5);
    assert_eq!(trace::explain(&b, true, &peer("192.0.2.200"), &[]).ttl, 5);
    let addrs: Vec<String> = (1..=100).map(|i| format!("10.9.0.{i}")).collect();
    let eps: Vec<(&str, &str, u32, u32)> = addrs.iter().map(|a| (a.as_str(), "a", 1, 1)).collect();
    let b = one("policy = \"all\"\nanswers = 1000", &eps);
    let d = decide(&b, true, &peer("192.0.2.200"), &[], 0, 0);
    assert_eq!(d.chosen.len(), MAX_ANSWERS);
}

mod by_client;
mod routing;
