//! Table-driven tests of the policies that look at the client (hashed, geo, nearest) and of
//! the decision trace, with the helpers of the parent module: health as letters, clients as a
//! resolver address or an ECS network, MaxMind's GeoIP test database.

// Table rows are tuples, one column per input or expectation, spelled out where they are read.
#![allow(clippy::type_complexity)]

use super::*;

// ---- hashed ------------------------------------------------------------------------------

const HASHED_EPS: &[(&str, &str, u32, u32)] = &[
    ("192.0.2.1", "a", 1, 1),
    ("192.0.2.2", "a", 1, 1),
    ("192.0.2.3", "b", 1, 1),
    ("192.0.2.4", "b", 1, 1),
    ("192.0.2.5", "c", 1, 1),
    ("2001:db8::1", "a", 1, 1),
    ("2001:db8::2", "b", 1, 1),
];

#[test]
fn hashed_is_stable_per_client_network_and_scoped_to_it() {
    let b = one("policy = \"hashed\"", HASHED_EPS);
    let b2 = one("policy = \"hashed\"\nanswers = 2", HASHED_EPS);
    let h = hs("UUUUUUU");
    // (client, A?, scope)
    #[rustfmt::skip]
    let cases = [
        (ecs("198.51.100.0/24"), true, 24),
        (ecs("198.51.96.0/20"), true, 20),
        (ecs("2001:db8:1:200::/56"), false, 56),
        (ecs("2001:db8:1:200::/56"), true, 56),
        (peer("192.0.2.200"), true, 0),
        (peer("2001:db8::200"), false, 0),
    ];
    for (c, v4, scope) in cases {
        let first = decide(&b, v4, &c, &h, 0, 0);
        assert_eq!(
            (first.reason, first.scope),
            (Reason::Hashed, scope),
            "{c:?}"
        );
        assert_eq!(first.chosen.len(), 1);
        for k in 1..20 {
            let d = decide(&b, v4, &c, &h, k, k * 7919);
            assert_eq!(
                chosen(&b, &d),
                chosen(&b, &first),
                "same network, same answer"
            );
        }
        let two = chosen(&b2, &decide(&b2, v4, &c, &h, 3, 3));
        assert_eq!(two.len(), 2, "{c:?}");
        assert_ne!(two[0], two[1]);
        assert_eq!(
            two[0],
            chosen(&b, &first)[0],
            "the best score answers first"
        );
    }
    // A /32 source is cut to /24 before hashing: the same answer as the /24, scope 24.
    let wide = decide(&b, true, &ecs("198.51.100.77/32"), &h, 0, 0);
    let net = decide(&b, true, &ecs("198.51.100.0/24"), &h, 0, 0);
    assert_eq!(chosen(&b, &wide), chosen(&b, &net));
    assert_eq!(wide.scope, 24);
    // Different networks land on different endpoints.
    let mut seen: Vec<u16> = (0..64u32)
        .map(|i| {
            let c = ecs(&format!("10.{i}.0.0/24"));
            decide(&b, true, &c, &h, 0, 0).chosen.as_slice()[0]
        })
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen, [0, 1, 2, 3, 4], "64 networks spread over all five");
}

/// The endpoint each of `nets` hashes to.
fn assignment(b: &BalancedName, nets: &[Client], h: &[EndpointHealth]) -> Vec<u16> {
    nets.iter()
        .map(|c| decide(b, true, c, h, 0, 0).chosen.as_slice()[0])
        .collect()
}

#[test]
fn hashed_moves_only_a_dead_endpoints_clients_and_moves_them_back() {
    let b = one("policy = \"hashed\"", &HASHED_EPS[..5]);
    let nets: Vec<Client> = (0..10_000u32)
        .map(|i| ecs(&format!("10.{}.{}.0/24", i / 256, i % 256)))
        .collect();
    let all_up = hs("UUUUU");
    let before = assignment(&b, &nets, &all_up);
    let mut per = [0usize; 5];
    for &e in &before {
        per[e as usize] += 1;
    }
    eprintln!("hashed: 10,000 networks over 5 endpoints: {per:?}");
    for n in per {
        assert!((1_700..=2_300).contains(&n), "uneven spread {per:?}");
    }
    for dead in 0..5u16 {
        let mut h = all_up.clone();
        h[dead as usize].state = EndpointState::Down;
        let during = assignment(&b, &nets, &h);
        let mut moved = 0;
        for (k, (&was, &now)) in before.iter().zip(&during).enumerate() {
            assert_ne!(now, dead, "network {k} still on the dead endpoint");
            if was == dead {
                moved += 1;
            } else {
                assert_eq!(now, was, "network {k} moved though its endpoint lives");
            }
        }
        assert_eq!(moved, per[dead as usize]);
        // Drained behaves the same; recovery restores every network exactly.
        h[dead as usize].state = EndpointState::Drained;
        assert_eq!(assignment(&b, &nets, &h), during);
        assert_eq!(
            assignment(&b, &nets, &all_up),
            before,
            "endpoint {dead} back"
        );
    }
}

// ---- geo ---------------------------------------------------------------------------------

#[test]
fn geo_matches_the_longest_network_and_falls_back_by_priority() {
    let b = one(
        "policy = \"geo\"",
        &[
            ("192.0.2.1", "a", 2, 1),
            ("192.0.2.2", "b", 1, 1),
            ("192.0.2.3", "c", 3, 1),
            ("2001:db8::a", "a", 1, 1),
            ("2001:db8::b", "b", 2, 1),
        ],
    );
    use Reason::{ByPriority, GeoMatch};
    // Data centers: a = 0 (10/8, 2001:db8:a::/48), b = 1 (10.1/16), c = 2 (10.1.2/24).
    // (client, health, A?, answer, scope, reason)
    #[rustfmt::skip]
    let cases: Vec<(Client, &str, bool, &str, u8, Reason)> = vec![
        (ecs("10.9.9.0/24"), "UUUUU", true, "192.0.2.1", 13, GeoMatch(0)), // 10.8/13 clears 10.1/16
        (ecs("10.1.9.0/24"), "UUUUU", true, "192.0.2.2", 21, GeoMatch(1)), // 10.1.8/21 clears 10.1.2/24
        (ecs("10.1.2.0/24"), "UUUUU", true, "192.0.2.3", 24, GeoMatch(2)),
        (ecs("10.1.2.77/32"), "UUUUU", true, "192.0.2.3", 24, GeoMatch(2)),
        (ecs("10.1.0.0/16"), "UUUUU", true, "192.0.2.2", 23, GeoMatch(1)),
        (peer("10.1.2.7"), "UUUUU", true, "192.0.2.3", 0, GeoMatch(2)),
        (peer("10.200.0.1"), "UUUUU", true, "192.0.2.1", 0, GeoMatch(0)),
        // The matching data center is down: the others by priority, for the client network.
        (ecs("10.1.2.0/24"), "UUDUU", true, "192.0.2.2", 24, ByPriority(1)),
        (ecs("10.1.2.0/24"), "URDUU", true, "192.0.2.1", 24, ByPriority(2)),
        (ecs("10.1.9.0/24"), "UDUUU", true, "192.0.2.1", 24, ByPriority(2)),
        // No data center holds the client.
        (ecs("192.0.2.0/24"), "UUUUU", true, "192.0.2.2", 24, ByPriority(1)),
        (peer("192.0.2.200"), "UUUUU", true, "192.0.2.2", 0, ByPriority(1)),
        // AAAA for an IPv4 client network: the data center's IPv6 endpoints.
        (ecs("10.1.9.0/24"), "UUUUU", false, "2001:db8::b", 21, GeoMatch(1)),
        (ecs("10.1.2.0/24"), "UUUUU", false, "2001:db8::a", 24, ByPriority(1)),
        (ecs("2001:db8:a:100::/56"), "UUUUU", false, "2001:db8::a", 48, GeoMatch(0)),
        (ecs("2001:db8:a:100::/56"), "UUUUU", true, "192.0.2.1", 48, GeoMatch(0)),
        (ecs("2001:db8:a:ff::1/128"), "UUUUU", false, "2001:db8::a", 48, GeoMatch(0)),
        (ecs("2001:db8:a:100::/56"), "UUUDU", false, "2001:db8::b", 56, ByPriority(2)),
        (ecs("2001:db9::/56"), "UUUUU", false, "2001:db8::a", 56, ByPriority(1)),
        // Everything of the family down: fail open, still by network.
        (ecs("10.1.2.0/24"), "DDDUU", true, "192.0.2.3", 24, GeoMatch(2)),
    ];
    for (c, h, v4, want, scope, reason) in cases {
        let d = decide(&b, v4, &c, &hs(h), 0, 0);
        let what = format!("{c:?} {h} v4={v4}");
        assert_eq!(chosen(&b, &d), ips(&[want]), "{what}");
        assert_eq!((d.scope, d.reason), (scope, reason), "{what}");
    }
}

// ---- nearest -----------------------------------------------------------------------------

#[test]
fn the_geoip_test_database_locates_its_networks() {
    let g = GeoIp::open(Path::new(&geoip_path())).unwrap();
    // (address, latitude, longitude, network prefix)
    #[rustfmt::skip]
    let cases = [
        ("175.16.199.0", 43.88, 125.32, 24),
        ("81.2.69.142", 51.51, -0.09, 31),
        ("81.2.69.160", 51.51, -0.09, 27),
        ("2001:218::", 35.69, 139.75, 32),
    ];
    for (a, lat, lon, prefix) in cases {
        let (loc, p) = g.locate(ip(a)).unwrap_or_else(|| panic!("{a} located"));
        assert!(
            (loc.lat - lat).abs() < 0.02 && (loc.lon - lon).abs() < 0.02,
            "{a}: {loc:?}"
        );
        assert_eq!(p, prefix, "{a}");
    }
    assert!(g.locate(ip("192.0.2.1")).is_none());
    assert!(g.locate(ip("81.2.69.0")).is_none());
}

#[test]
fn nearest_picks_the_closest_data_center_up() {
    let b = one(
        "policy = \"nearest\"",
        &[
            ("192.0.2.1", "a", 2, 1),
            ("192.0.2.2", "b", 1, 1),
            ("192.0.2.3", "c", 3, 1),
            ("2001:db8::a", "a", 1, 1),
            ("2001:db8::c", "c", 2, 1),
        ],
    );
    // a = London (0), b = Virginia (1), c = Tokyo (2).
    // (client, health, A?, answer, scope, nearest data center or None for by priority)
    #[rustfmt::skip]
    let cases: Vec<(Client, &str, bool, &str, u8, Option<usize>)> = vec![
        (peer("81.2.69.142"), "UUUUU", true, "192.0.2.1", 0, Some(0)),
        (peer("89.160.20.130"), "UUUUU", true, "192.0.2.1", 0, Some(0)), // Linköping
        (peer("216.160.83.58"), "UUUUU", true, "192.0.2.2", 0, Some(1)), // Milton, WA
        (ecs("175.16.199.0/24"), "UUUUU", true, "192.0.2.3", 24, Some(2)), // Changchun
        (ecs("175.16.199.9/32"), "UUUUU", true, "192.0.2.3", 24, Some(2)),
        // Tokyo down: London (~8,200 km) beats Virginia (~10,500 km).
        (ecs("175.16.199.0/24"), "UUDUU", true, "192.0.2.1", 24, Some(0)),
        (ecs("2001:218::/56"), "UUUUU", false, "2001:db8::c", 32, Some(2)), // Japan
        (ecs("2001:218::/56"), "UUUUU", true, "192.0.2.3", 32, Some(2)),
        (ecs("2001:220::/56"), "UUUUD", false, "2001:db8::a", 32, Some(0)), // Korea
        // Not in the database: by priority, scoped to the client network.
        (peer("192.0.2.9"), "UUUUU", true, "192.0.2.2", 0, None),
        (ecs("192.0.2.0/24"), "UUUUU", true, "192.0.2.2", 24, None),
        (ecs("192.0.2.0/24"), "UDUUU", true, "192.0.2.1", 24, None),
        // London's networks are all longer than /24: a /31 source is cut and misses them.
        (ecs("81.2.69.142/31"), "UUUUU", true, "192.0.2.2", 24, None),
    ];
    for (c, h, v4, want, scope, dc) in cases {
        let d = decide(&b, v4, &c, &hs(h), 0, 0);
        let what = format!("{c:?} {h} v4={v4}");
        assert_eq!(chosen(&b, &d), ips(&[want]), "{what}");
        assert_eq!(d.scope, scope, "{what}");
        match (dc, d.reason) {
            (Some(want), Reason::Nearest(got, km)) => {
                assert_eq!(got, want, "{what}");
                assert!(km > 0.0 && km < 12_000.0, "{what}: {km}");
            }
            (None, Reason::ByPriority(_)) => {}
            (_, r) => panic!("{what}: reason {r:?}"),
        }
    }
}

// ---- the decision trace ---------------------------------------------------------------

#[test]
fn explain_traces_one_decision() {
    let b = one(
        "policy = \"failover\"\nttl = 20",
        &[
            ("192.0.2.1", "a", 1, 4),
            ("192.0.2.2", "b", 2, 1),
            ("2001:db8::1", "c", 1, 1),
        ],
    );
    let t = trace::explain(&b, true, &peer("192.0.2.200"), &hs("DUU"));
    assert_eq!(t.name, "x.example.com.");
    assert_eq!((t.qtype.as_str(), t.policy.as_str()), ("A", "failover"));
    assert_eq!(
        (t.client.as_str(), t.client_from_ecs),
        ("192.0.2.200/32", false)
    );
    assert_eq!(t.answer, ips(&["192.0.2.2"]));
    assert_eq!((t.ttl, t.scope, t.failing_open), (20, 0, false));
    assert!(t.reason.contains("priority group 2"), "{}", t.reason);
    let rows: Vec<_> = t
        .endpoints
        .iter()
        .map(|row| {
            let e = &row.endpoint;
            (
                e.address,
                e.datacenter.as_str(),
                e.state.as_str(),
                e.priority,
                e.weight,
                row.family,
                row.chosen,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (ip("192.0.2.1"), "a", "down", 1, 4, true, false),
            (ip("192.0.2.2"), "b", "up", 2, 1, true, true),
            (ip("2001:db8::1"), "c", "up", 1, 1, false, false),
        ]
    );
    let t = trace::explain(&b, true, &peer("192.0.2.200"), &hs("DDU"));
    assert!(t.failing_open && t.reason.contains("failing open"), "{t:?}");
    assert_eq!(t.answer, ips(&["192.0.2.1"]));
    let t = trace::explain(&b, true, &peer("192.0.2.200"), &hs("RRU"));
    assert!(t.answer.is_empty() && t.reason.contains("drained"), "{t:?}");
    assert!(!t.failing_open, "all drained is not failing open: {t:?}");

    // Client-dependent: the ECS network, the scope and the data center in words.
    let g = one(
        "policy = \"geo\"",
        &[("192.0.2.1", "a", 1, 1), ("192.0.2.3", "c", 2, 1)],
    );
    let t = trace::explain(&g, true, &ecs("10.1.2.99/32"), &[]);
    assert_eq!(
        (t.client.as_str(), t.client_from_ecs),
        ("10.1.2.0/24", true)
    );
    assert_eq!((t.scope, t.answer.clone()), (24, ips(&["192.0.2.3"])));
    assert!(t.reason.contains("data center c"), "{}", t.reason);
    let n = one(
        "policy = \"nearest\"",
        &[("192.0.2.1", "a", 1, 1), ("192.0.2.3", "c", 2, 1)],
    );
    let t = trace::explain(&n, true, &ecs("175.16.199.0/24"), &[]);
    assert!(
        t.reason.starts_with("data center c is nearest ("),
        "{}",
        t.reason
    );
    assert_eq!(t.scope, 24);
    let t = trace::explain(&n, false, &ecs("175.16.199.0/24"), &[]);
    assert!(
        t.reason.contains("no endpoint of this address family"),
        "{}",
        t.reason
    );
    assert_eq!(t.qtype, "AAAA");

    // Fallback: the listed addresses of the family, no endpoint chosen.
    let f = one(
        "policy = \"round-robin\"\nanswers = 2\nwhen_all_down = \"fallback\"\nfallback = [\"192.0.2.98\", \"2001:db8::99\", \"192.0.2.99\", \"192.0.2.100\"]",
        &[("192.0.2.1", "a", 1, 1), ("2001:db8::1", "a", 1, 1)],
    );
    let t = trace::explain(&f, true, &peer("192.0.2.200"), &hs("DU"));
    assert_eq!(t.answer, ips(&["192.0.2.98", "192.0.2.99"]));
    assert!(t.endpoints.iter().all(|e| !e.chosen));
    assert!(t.reason.contains("fallback"), "{}", t.reason);
    let t = trace::explain(&f, false, &peer("192.0.2.200"), &hs("DU"));
    assert_eq!(t.answer, ips(&["2001:db8::1"]));
}

#[test]
fn geo_scope_covers_only_clients_that_get_the_same_answer() {
    // A resolver caches a geo answer for the whole scope block (RFC 7871 §7.3.1): every /24 in
    // that block must get the same answer, nested data center networks included.
    let b = one(
        "policy = \"geo\"",
        &[
            ("192.0.2.1", "a", 2, 1),
            ("192.0.2.2", "b", 1, 1),
            ("192.0.2.3", "c", 3, 1),
        ],
    );
    let mut rng = SplitMix(7);
    for h in ["UUU", "UDU", "UUD"] {
        for _ in 0..2_000 {
            let r = rng.next() as u32;
            // Clients in 10/8 (nested networks) and a few outside any network.
            let a = if r & 1 == 0 {
                0x0a00_0000 | (r >> 8) & 0x00ff_ff00
            } else {
                r & 0xffff_ff00
            };
            let net = format!("{}/24", std::net::Ipv4Addr::from(a));
            let d = decide(&b, true, &ecs(&net), &hs(h), 0, 0);
            let s = d.scope as u32;
            assert!(s > 0, "{net}");
            for _ in 0..4 {
                let other = a & (u32::MAX << (32 - s))
                    | (rng.next() as u32 & (u32::MAX >> s) & 0xffff_ff00);
                let onet = format!("{}/24", std::net::Ipv4Addr::from(other));
                let o = decide(&b, true, &ecs(&onet), &hs(h), 0, 0);
                assert_eq!(
                    chosen(&b, &o),
                    chosen(&b, &d),
                    "{h}: {net} scope {s} covers {onet}"
                );
            }
        }
    }
}
