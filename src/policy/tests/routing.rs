//! Table-driven tests of routing beyond addresses as pure functions: geo by GeoIP region
//! (subdivision, country, continent) and its ECS scopes, CNAME endpoints under the policies and
//! health rules, and the TTL a degraded name serves. The GeoIP database is MaxMind's City test
//! database (tests/data/geoip/README.md lists the networks it places).

// Table rows are tuples, one column per input or expectation, spelled out where they are read.
#![allow(clippy::type_complexity)]

use super::*;
use crate::policy::geo::Region;
use crate::policy::geoip::code;

/// Data centers by region, one endpoint each (address, priority): uk = GB, net = the network
/// 81.2.69.160/27 (inside GB's records), ca = US-CA, us = US, eu = EU, asia = AS, wbk = GB-WBK.
fn regions() -> BalancedName {
    let text = format!(
        r#"
[zones]
directory = "zones"
[geoip]
database = '{}'
[datacenters.uk]
countries = ["gb"]
[datacenters.net]
networks = ["81.2.69.160/27"]
[datacenters.ca]
subdivisions = ["US-CA"]
[datacenters.us]
countries = ["US"]
[datacenters.eu]
continents = ["EU"]
[datacenters.asia]
continents = ["AS"]
[datacenters.wbk]
subdivisions = ["GB-WBK"]
[[balance]]
name = "x.example.com"
policy = "geo"
endpoints = [
  {{ address = "192.0.2.1", datacenter = "uk", priority = 2 }},
  {{ address = "192.0.2.2", datacenter = "net", priority = 3 }},
  {{ address = "192.0.2.3", datacenter = "ca", priority = 4 }},
  {{ address = "192.0.2.4", datacenter = "us", priority = 5 }},
  {{ address = "192.0.2.5", datacenter = "eu", priority = 6 }},
  {{ address = "192.0.2.6", datacenter = "asia", priority = 1 }},
  {{ address = "192.0.2.7", datacenter = "wbk", priority = 7 }},
]
"#,
        geoip_path()
    );
    balances(&text).1.remove(0)
}

#[test]
fn geo_matches_networks_then_subdivision_country_continent_then_priority() {
    let b = regions();
    let dc = |name: &str| {
        let i = b.dc_names.iter().position(|n| n == name).unwrap();
        b.cfg.endpoints[i].datacenter
    };
    let region = |name: &str, rule: Region, c: &str, prefix: u8| Reason::GeoRegion {
        dc: dc(name),
        rule,
        code: code(c),
        prefix,
    };
    use Region::{Continent, Country, Subdivision};
    // Health letters in endpoint order: uk net ca us eu asia wbk. ECS sources longer than /24
    // are cut to /24 (privacy), so ECS rows use /24 networks the database places.
    // (client, health, answer, scope, reason)
    #[rustfmt::skip]
    let cases: Vec<(Client, &str, &str, u8, Reason)> = vec![
        // 2.2.3.0/24: GB, subdivisions GB-ENG then GB-WBK: the finer subdivision first.
        (ecs("2.2.3.0/24"), "UUUUUUU", "192.0.2.7", 24, region("wbk", Subdivision, "GB-WBK", 24)),
        (ecs("2.2.3.0/24"), "UUUUUUD", "192.0.2.1", 24, region("uk", Country, "GB", 24)),
        (ecs("2.2.3.0/24"), "DUUUUUD", "192.0.2.5", 24, region("eu", Continent, "EU", 24)),
        // US-CA: the subdivision beats the country; the scope is the record's network (a /22
        // record holds the whole /24, so the answer holds for the /22).
        (ecs("214.78.124.0/24"), "UUUUUUU", "192.0.2.3", 24, region("ca", Subdivision, "US-CA", 24)),
        (ecs("214.78.120.0/24"), "UUUUUUU", "192.0.2.3", 22, region("ca", Subdivision, "US-CA", 22)),
        (ecs("214.78.124.0/24"), "UUDUUUU", "192.0.2.4", 24, region("us", Country, "US", 24)),
        // Continents: BT, CN (a /20 record for PH), JP over IPv6.
        (ecs("67.43.156.0/24"), "UUUUUUU", "192.0.2.6", 24, region("asia", Continent, "AS", 24)),
        (ecs("175.16.199.0/24"), "UUUUUUU", "192.0.2.6", 24, region("asia", Continent, "AS", 24)),
        (ecs("202.196.224.0/24"), "UUUUUUU", "192.0.2.6", 20, region("asia", Continent, "AS", 20)),
        (ecs("2001:218::/48"), "UUUUUUU", "192.0.2.6", 32, region("asia", Continent, "AS", 32)),
        // AU (OC) is listed nowhere: by priority.
        (ecs("214.0.1.0/24"), "UUUUUUU", "192.0.2.6", 24, Reason::ByPriority(1)),
        // A /24 whose address the database holds nothing for, in a /25 record: by priority,
        // scoped to the record, past the source prefix (the /24's other half is GB).
        (ecs("81.2.69.0/24"), "UUUUUUU", "192.0.2.6", 25, Reason::ByPriority(1)),
        (ecs("192.0.2.0/24"), "UUUUUUU", "192.0.2.6", 24, Reason::ByPriority(1)),
        // No ECS: the resolver's own address decides (no scope). A network listed under a data
        // center beats the country that holds it, unless nothing of it is up.
        (peer("81.2.69.161"), "UUUUUUU", "192.0.2.2", 0, Reason::GeoMatch(dc("net"))),
        (peer("81.2.69.161"), "UDUUUUU", "192.0.2.1", 0, region("uk", Country, "GB", 27)),
        (peer("81.2.69.142"), "UUUUUUU", "192.0.2.1", 0, region("uk", Country, "GB", 31)),
    ];
    for (c, h, want, scope, reason) in cases {
        let d = decide(&b, true, &c, &hs(h), 0, 0);
        let what = format!("{c:?} {h}");
        assert_eq!(chosen(&b, &d), ips(&[want]), "{what}");
        assert_eq!((d.scope, d.reason), (scope, reason), "{what}");
    }
}

#[test]
fn geo_region_scopes_cover_only_clients_that_get_the_same_answer() {
    // Every address a scope covers must get the same answer (RFC 7871 §7.3.1): sampled around
    // the test database's networks, with ECS source prefixes from /16 to /24.
    let b = regions();
    let mut rng = SplitMix(11);
    let bases = [
        0x5102_4500u32, // 81.2.69.0
        0x0202_0300,    // 2.2.3.0
        0xd64e_7800,    // 214.78.120.0
        0xcac4_e000,    // 202.196.224.0
        0xaf10_c700,    // 175.16.199.0
    ];
    for h in ["UUUUUUU", "DDUUUUD", "UUDUUUU"] {
        for _ in 0..2_000 {
            let r = rng.next();
            let base = bases[(r % bases.len() as u64) as usize];
            let prefix = 16 + ((r >> 8) % 9) as u8;
            let a = base ^ ((r >> 16) as u32 & 0x0fff);
            let net = format!("{}/{prefix}", std::net::Ipv4Addr::from(a));
            let client = ecs(&net);
            let d = decide(&b, true, &client, &hs(h), 0, 0);
            let s = d.scope as u32;
            let IpAddr::V4(masked) = client.addr else {
                unreachable!()
            };
            for _ in 0..4 {
                let other = u32::from(masked) & (u32::MAX << (32 - s))
                    | (rng.next() as u32 & (u32::MAX >> s));
                let o = std::net::Ipv4Addr::from(other).to_string();
                let od = decide(&b, true, &peer(&o), &hs(h), 0, 0);
                assert_eq!(
                    chosen(&b, &od),
                    chosen(&b, &d),
                    "{h}: {net} scope {s} covers {o}"
                );
            }
        }
    }
}

#[test]
fn explain_names_the_region_rule_and_the_database_record() {
    let b = regions();
    let t = trace::explain(&b, true, &ecs("214.78.124.0/24"), &hs("UUUUUUU"));
    assert_eq!(t.answer, ips(&["192.0.2.3"]));
    assert!(
        t.reason.contains("subdivision US-CA") && t.reason.contains("data center ca"),
        "{}",
        t.reason
    );
    assert!(
        t.reason.contains(
            "database record: 214.78.124.0/24, continent NA, country US, subdivision US-CA, from GeoIP2-City"
        ),
        "{}",
        t.reason
    );
}

/// A name of CNAME endpoints (target, datacenter, priority, weight) with `opts`.
fn cnames(opts: &str, eps: &[(&str, &str, u32, u32)]) -> BalancedName {
    let mut text = format!(
        "{}[[balance]]\nname = \"www.example.com\"\n{opts}\nendpoints = [\n",
        base()
    );
    for (t, dc, p, w) in eps {
        text.push_str(&format!(
            "  {{ target = \"{t}\", datacenter = \"{dc}\", priority = {p}, weight = {w} }},\n"
        ));
    }
    text.push_str("]\n");
    balances(&text).1.remove(0)
}

fn target(b: &BalancedName, d: &Decision) -> Option<String> {
    if d.fallback {
        return b.fallback_target().map(|t| t.name.clone());
    }
    d.chosen
        .as_slice()
        .first()
        .and_then(|&i| b.cfg.endpoints[i as usize].target.as_ref())
        .map(|t| t.name.clone())
}

#[test]
fn cname_endpoints_follow_every_policy_and_health_rule() {
    let eps = [("a.cdn-one.net", "a", 1, 3), ("b.cdn-two.net.", "b", 2, 1)];
    let failover = cnames("policy = \"failover\"", &eps);
    let geo = cnames("policy = \"geo\"", &eps);
    let none = cnames("policy = \"failover\"\nwhen_all_down = \"none\"", &eps);
    let fallback = cnames(
        "policy = \"failover\"\nwhen_all_down = \"fallback\"\nfallback = [\"static.example.org\"]",
        &eps,
    );
    // (name, client, health, v4, target answered)
    #[rustfmt::skip]
    let cases: Vec<(&BalancedName, Client, &str, bool, Option<&str>)> = vec![
        (&failover, peer("192.0.2.9"), "UU", true, Some("a.cdn-one.net.")),
        // Every query type gets the CNAME: the family does not filter CNAME endpoints.
        (&failover, peer("192.0.2.9"), "UU", false, Some("a.cdn-one.net.")),
        (&failover, peer("192.0.2.9"), "DU", true, Some("b.cdn-two.net.")),
        (&failover, peer("192.0.2.9"), "RU", true, Some("b.cdn-two.net.")),
        // All down: fail open (the lowest priority), NODATA, or the fallback target.
        (&failover, peer("192.0.2.9"), "DD", true, Some("a.cdn-one.net.")),
        (&none, peer("192.0.2.9"), "DD", true, None),
        (&fallback, peer("192.0.2.9"), "DD", false, Some("static.example.org.")),
        (&failover, peer("192.0.2.9"), "RR", true, None),
        // Geo: a's networks hold 10/8, b's 10.1/16.
        (&geo, ecs("10.9.0.0/24"), "UU", true, Some("a.cdn-one.net.")),
        (&geo, ecs("10.1.9.0/24"), "UU", true, Some("b.cdn-two.net.")),
        (&geo, ecs("10.1.9.0/24"), "UD", true, Some("a.cdn-one.net.")),
    ];
    for (b, c, h, v4, want) in cases {
        let d = decide(b, v4, &c, &hs(h), 0, 0);
        assert_eq!(
            target(b, &d).as_deref(),
            want,
            "{} {c:?} {h} v4={v4}",
            b.cfg.name
        );
    }
}

#[test]
fn weighted_and_hashed_cname_endpoints_spread_and_stick() {
    let eps = [("a.cdn-one.net", "a", 1, 3), ("b.cdn-two.net", "b", 1, 1)];
    let w = cnames("policy = \"weighted\"", &eps);
    let mut rng = SplitMix(3);
    let a = (0..4000)
        .filter(|_| {
            let d = decide(&w, true, &peer("192.0.2.9"), &hs("UU"), 0, rng.next());
            target(&w, &d).as_deref() == Some("a.cdn-one.net.")
        })
        .count();
    assert!((2800..3200).contains(&a), "3:1 weights gave {a} of 4000");
    let h = cnames("policy = \"hashed\"", &eps);
    let first = target(
        &h,
        &decide(&h, true, &ecs("198.51.100.0/24"), &hs("UU"), 0, 0),
    );
    for r in 0..10 {
        let d = decide(&h, false, &ecs("198.51.100.0/24"), &hs("UU"), r, r);
        assert_eq!(target(&h, &d), first, "a client network keeps its target");
    }
}

#[test]
fn ttl_degraded_while_any_endpoint_is_down_or_drained() {
    let eps = [("192.0.2.1", "a", 1, 1), ("192.0.2.2", "b", 1, 1)];
    let plain = one("policy = \"all\"\nttl = 300", &eps);
    let degraded = one("policy = \"all\"\nttl = 300\nttl_degraded = 5", &eps);
    // (name, health, ttl)
    let cases: [(&BalancedName, &str, u32); 8] = [
        (&plain, "UU", 300),
        (&plain, "UD", 300),
        (&degraded, "UU", 300),
        (&degraded, "UD", 5),
        (&degraded, "RU", 5),
        (&degraded, "DD", 5), // failing open
        (&degraded, "", 300), // no health yet: up
        (&degraded, "U", 300),
    ];
    for (b, h, want) in cases {
        assert_eq!(b.ttl(&hs(h)), want, "{:?} {h}", b.cfg.ttl_degraded);
    }
}
