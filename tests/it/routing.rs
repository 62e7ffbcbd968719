//! Routing beyond addresses over real UDP and TCP: geo by GeoIP subdivision, country and
//! continent with ECS from networks the City test database places (tests/data/geoip), a reload
//! picking up a replaced database; CNAME endpoints (one CNAME for every type, AA, failover with
//! real backends, in-zone targets followed, balanced targets, loops); `ttl_degraded` both ways;
//! data-center `min_up` (shared fate) with two backends of one data center; the errors a
//! configuration gets for them.

use std::time::{Duration, Instant};

use crate::harness::backend::{self, Mode};
use crate::harness::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType::{self, A, AAAA, CNAME, MX, TXT};

const ZONE: &str = r#"$ORIGIN gslb.example.com.
$TTL 3600
@     IN SOA ns1 hostmaster ( 2026120201 3600 600 604800 300 )
@     IN NS  ns1
ns1   IN A   192.0.2.53
edge  IN A   192.0.2.80
edge  IN TXT "edge"
"#;

/// Another served zone, which CNAME endpoints point into.
const OTHER: &str = r#"$ORIGIN other.example.
$TTL 600
@     IN SOA ns1 hostmaster ( 2026120201 3600 600 604800 120 )
@     IN NS  ns1
ns1   IN A   192.0.2.54
www   IN A   192.0.2.81
alias IN CNAME edge.gslb.example.com.
"#;

fn geoip(file: &str) -> String {
    format!("{}/tests/data/geoip/{file}", env!("CARGO_MANIFEST_DIR"))
}

/// An answer record as (owner, type, ttl, data).
type Row = (String, RecordType, u32, String);

/// (answer records, ECS scope) of a query.
fn answer(m: &Message) -> (Vec<Row>, Option<u8>) {
    (rrs(&m.answers), ecs_of(m).map(|e| e.1))
}

/// Data centers by region and one geo name over them.
fn geo_config(database: &str) -> String {
    format!(
        r#"
[geoip]
database = '{database}'
[datacenters.uk]
countries = ["GB"]
[datacenters.ca]
subdivisions = ["US-CA"]
[datacenters.us]
countries = ["US"]
[datacenters.eu]
continents = ["EU"]
[datacenters.asia]
continents = ["AS"]
[datacenters.home]
[[balance]]
name = "geo.gslb.example.com"
policy = "geo"
ttl = 60
endpoints = [
  {{ address = "192.0.2.1", datacenter = "uk", priority = 2 }},
  {{ address = "192.0.2.2", datacenter = "ca", priority = 2 }},
  {{ address = "192.0.2.3", datacenter = "us", priority = 2 }},
  {{ address = "192.0.2.4", datacenter = "eu", priority = 2 }},
  {{ address = "192.0.2.5", datacenter = "asia", priority = 2 }},
  {{ address = "192.0.2.9", datacenter = "home", priority = 1 }},
]
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn geo_answers_by_subdivision_country_and_continent_with_the_record_as_scope() {
    let s = start_with(
        "",
        &geo_config(&geoip("GeoIP2-City-Test.mmdb")),
        &[("gslb.example.com.zone", ZONE)],
    )
    .await;
    // (ECS network, answer, scope): the City test database's records (README beside it).
    let cases = [
        ("2.2.3.0/24", "192.0.2.1", 24),      // GB
        ("214.78.124.0/24", "192.0.2.2", 24), // US-CA beats US
        ("214.78.120.0/24", "192.0.2.2", 22), // a /22 record: the answer holds for it
        ("216.160.83.0/24", "192.0.2.9", 27), // nothing at .0: by priority, the record's /27
        ("175.16.199.0/24", "192.0.2.5", 24), // CN, continent AS
        ("67.43.156.0/24", "192.0.2.5", 24),  // BT, continent AS
        ("81.2.69.0/24", "192.0.2.9", 25),    // the /24's other half is GB: scope past /24
        ("214.0.1.0/24", "192.0.2.9", 24),    // AU (OC): no data center for it
        ("2001:218::/48", "192.0.2.5", 32),   // JP over IPv6
    ];
    for (net, want, scope) in cases {
        for r in both(&s, &with_ecs(query("geo.gslb.example.com.", A, true), net)) {
            assert_reply(&r, &r, ResponseCode::NoError, true);
            assert_eq!(
                answer(&r),
                (vec![rr("geo.gslb.example.com.", A, 60, want)], Some(scope)),
                "{net}"
            );
        }
    }
    // Explain names the rule and the database record.
    let (code, body) = admin_get(
        &s,
        "/v1/explain?name=geo.gslb.example.com&type=A&client=214.78.124.0/24",
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let why = json(&body)["reason"].as_str().unwrap().to_string();
    assert!(
        why.contains("subdivision US-CA, listed by data center ca")
            && why.contains(
                "database record: 214.78.124.0/24, continent NA, country US, subdivision US-CA"
            ),
        "{why}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_picks_up_a_replaced_geoip_database() {
    // The config names a copy of the City database; replacing the file with the Country
    // edition and reloading changes the answer: 2001:220::/56 is KR (AS) in the City test
    // database and SE (EU) in the Country one.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("geo.mmdb");
    std::fs::copy(geoip("GeoIP2-City-Test.mmdb"), &db).unwrap();
    let s = start_with(
        "",
        &geo_config(db.to_str().unwrap()),
        &[("gslb.example.com.zone", ZONE)],
    )
    .await;
    let q = with_ecs(query("geo.gslb.example.com.", A, true), "2001:220::/56");
    assert_eq!(addrs(&udp(s.udp, &q)), ["192.0.2.5"]);
    std::fs::copy(geoip("GeoIP2-Country-Test.mmdb"), &db).unwrap();
    let (code, body) = admin_post(&s, "/v1/reload", None).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(addrs(&udp(s.udp, &q)), ["192.0.2.4"]);
    s.stop().await;
}

/// Backends at 127.0.0.81 and .82 (probed for targets a.cdn-one.net and b.cdn-two.net) and a
/// server with `www` failing over between them, `static` falling back to a target, and names
/// whose targets lie in the zone.
async fn start_cnames() -> (Vec<backend::Backend>, TestServer) {
    let b = backend::start(&["127.0.0.81", "127.0.0.82"]).await;
    let port = b[0].addr.port();
    let cfg = format!(
        r#"
[checks.cdn]
protocol = "http"
port = {port}
path = "/health"
interval = "300ms"
timeout = "250ms"
rise = 2
fall = 2
[datacenters.one]
[datacenters.two]
[datacenters.zone]
[[balance]]
name = "www.gslb.example.com"
policy = "failover"
ttl = 120
check = "cdn"
endpoints = [
  {{ target = "a.cdn-one.net", datacenter = "one", priority = 1, check_address = "127.0.0.81" }},
  {{ target = "b.cdn-two.net.", datacenter = "two", priority = 2, check_address = "127.0.0.82" }},
]
[[balance]]
name = "static.gslb.example.com"
policy = "failover"
check = "cdn"
when_all_down = "fallback"
fallback = ["origin.example.org"]
endpoints = [{{ target = "a.cdn-one.net", datacenter = "one", check_address = "127.0.0.81" }}]
[[balance]]
name = "pool.gslb.example.com"
policy = "round-robin"
ttl = 20
endpoints = [{{ address = "192.0.2.10", datacenter = "zone" }}]
[[balance]]
name = "to-edge.gslb.example.com"
policy = "failover"
endpoints = [{{ target = "edge.gslb.example.com", datacenter = "zone" }}]
[[balance]]
name = "to-pool.gslb.example.com"
policy = "failover"
endpoints = [{{ target = "pool.gslb.example.com", datacenter = "zone" }}]
[[balance]]
name = "loop1.gslb.example.com"
policy = "failover"
endpoints = [{{ target = "loop2.gslb.example.com", datacenter = "zone" }}]
[[balance]]
name = "loop2.gslb.example.com"
policy = "failover"
endpoints = [{{ target = "loop1.gslb.example.com", datacenter = "zone" }}]
[[balance]]
name = "to-other.gslb.example.com"
policy = "failover"
endpoints = [{{ target = "www.other.example", datacenter = "zone" }}]
[[balance]]
name = "to-other-pool.gslb.example.com"
policy = "failover"
endpoints = [{{ target = "pool.other.example", datacenter = "zone" }}]
[[balance]]
name = "pool.other.example"
policy = "round-robin"
ttl = 25
endpoints = [{{ address = "192.0.2.11", datacenter = "zone" }}]
[[balance]]
name = "to-gone.gslb.example.com"
policy = "failover"
endpoints = [{{ target = "gone.other.example", datacenter = "zone" }}]
"#
    );
    let zones = [
        ("gslb.example.com.zone", ZONE),
        ("other.example.zone", OTHER),
    ];
    let s = start_with("", &cfg, &zones).await;
    (b, s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cname_endpoints_fail_over_with_real_backends_for_every_type() {
    let (b, s) = start_cnames().await;
    let www = "www.gslb.example.com.";
    let target = |r: &Message| answers(r, CNAME);
    // Every type gets the one CNAME, AA set; the target is outside the zone, so it ends there.
    for t in [A, AAAA, MX, TXT, CNAME] {
        for r in both(&s, &query(www, t, true)) {
            assert_reply(&r, &r, ResponseCode::NoError, true);
            assert_eq!(
                rrs(&r.answers),
                [rr(www, CNAME, 120, "a.cdn-one.net.")],
                "{t}"
            );
        }
    }
    // A's backend fails: the CNAME switches to b within fall × interval + timeout (2 × 300 ms
    // + 250 ms), with room for a loaded machine.
    b[0].set(Mode::Status(503));
    let failed = Instant::now();
    eventually(
        Duration::from_millis(2_500),
        "the CNAME to move to b",
        || {
            seen(target(&udp(s.udp, &query(www, A, false))), |t| {
                t == &["b.cdn-two.net."]
            })
        },
    );
    let took = failed.elapsed();
    assert!(
        took >= Duration::from_millis(300),
        "switched after {took:?}: too early"
    );
    assert_eq!(
        target(&tcp(s.tcp, &query(www, AAAA, true))),
        ["b.cdn-two.net."]
    );
    b[0].set(Mode::Ok(1.0));
    eventually(
        Duration::from_secs(3),
        "the CNAME to move back to a",
        || {
            seen(target(&udp(s.udp, &query(www, A, false))), |t| {
                t == &["a.cdn-one.net."]
            })
        },
    );
    // Everything down with when_all_down = "fallback": the fallback target.
    b[0].set(Mode::Status(503));
    eventually(Duration::from_secs(3), "the fallback target", || {
        seen(
            target(&udp(s.udp, &query("static.gslb.example.com.", A, false))),
            |t| t == &["origin.example.org."],
        )
    });
    // Status and explain show the targets.
    let st = status_json(&s).await;
    let eps = st["balanced"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == www)
        .unwrap()["endpoints"]
        .clone();
    assert_eq!(eps[0]["target"], "a.cdn-one.net.");
    assert_eq!(eps[0]["address"], "127.0.0.81");
    let (_, body) = admin_get(&s, "/v1/explain?name=www.gslb.example.com&type=A").await;
    assert_eq!(json(&body)["cname"], "b.cdn-two.net.", "{body}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_in_served_zones_are_followed_balanced_ones_too_and_loops_end() {
    let (_b, s) = start_cnames().await;
    let edge = "edge.gslb.example.com.";
    let pool = "pool.gslb.example.com.";
    for r in both(&s, &query("to-edge.gslb.example.com.", A, true)) {
        assert_reply(&r, &r, ResponseCode::NoError, true);
        assert_eq!(
            rrs(&r.answers),
            [
                rr("to-edge.gslb.example.com.", CNAME, 30, edge),
                rr(edge, A, 3600, "192.0.2.80"),
            ]
        );
    }
    let r = udp(s.udp, &query("to-edge.gslb.example.com.", TXT, true));
    assert_eq!(rrs(&r.answers)[1], rr(edge, TXT, 3600, "edge"));
    // A balanced target answers through its own policy.
    let r = udp(s.udp, &query("to-pool.gslb.example.com.", A, true));
    assert_eq!(
        rrs(&r.answers),
        [
            rr("to-pool.gslb.example.com.", CNAME, 30, pool),
            rr(pool, A, 20, "192.0.2.10"),
        ]
    );
    // The balanced target has no AAAA: the CNAME, then NODATA for the target.
    let r = tcp(s.tcp, &query("to-pool.gslb.example.com.", AAAA, true));
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert_eq!(
        rrs(&r.answers),
        [rr("to-pool.gslb.example.com.", CNAME, 30, pool)]
    );
    assert_eq!(r.authorities.len(), 1, "the SOA of the NODATA");
    // Asked for the CNAME itself: it is not followed.
    let r = udp(s.udp, &query("to-pool.gslb.example.com.", CNAME, true));
    assert_eq!(
        rrs(&r.answers),
        [rr("to-pool.gslb.example.com.", CNAME, 30, pool)]
    );
    // Two balanced names that answer each other: each once, then the answer ends.
    for r in both(&s, &query("loop1.gslb.example.com.", A, true)) {
        assert_eq!(r.response_code, ResponseCode::NoError);
        assert_eq!(
            rrs(&r.answers),
            [
                rr(
                    "loop1.gslb.example.com.",
                    CNAME,
                    30,
                    "loop2.gslb.example.com."
                ),
                rr(
                    "loop2.gslb.example.com.",
                    CNAME,
                    30,
                    "loop1.gslb.example.com."
                ),
            ]
        );
    }
    // A target in another served zone is followed there, a balanced one through its policy;
    // one that zone lacks is its NXDOMAIN, with its SOA.
    let other = "www.other.example.";
    for r in both(&s, &query("to-other.gslb.example.com.", A, true)) {
        assert_reply(&r, &r, ResponseCode::NoError, true);
        assert_eq!(
            rrs(&r.answers),
            [
                rr("to-other.gslb.example.com.", CNAME, 30, other),
                rr(other, A, 600, "192.0.2.81"),
            ]
        );
    }
    let r = udp(s.udp, &query("to-other-pool.gslb.example.com.", A, true));
    assert_eq!(
        rrs(&r.answers),
        [
            rr(
                "to-other-pool.gslb.example.com.",
                CNAME,
                30,
                "pool.other.example."
            ),
            rr("pool.other.example.", A, 25, "192.0.2.11"),
        ]
    );
    for r in both(&s, &query("to-gone.gslb.example.com.", A, true)) {
        assert_eq!(r.response_code, ResponseCode::NXDomain);
        assert_eq!(
            rrs(&r.answers),
            [rr(
                "to-gone.gslb.example.com.",
                CNAME,
                30,
                "gone.other.example."
            )]
        );
        assert_eq!(r.authorities[0].name.to_string(), "other.example.");
        assert_eq!(r.authorities[0].record_type(), RecordType::SOA);
    }
    // A CNAME of a zone's file stays in its zone, as Knot and NSD answer it.
    let r = udp(s.udp, &query("alias.other.example.", A, true));
    assert_eq!(
        rrs(&r.answers),
        [rr(
            "alias.other.example.",
            CNAME,
            600,
            "edge.gslb.example.com."
        )]
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_degraded_is_served_while_an_endpoint_is_down_and_not_after() {
    let b = backend::start(&["127.0.0.83", "127.0.0.84"]).await;
    let port = b[0].addr.port();
    let cfg = format!(
        r#"
[checks.web]
protocol = "http"
port = {port}
interval = "200ms"
timeout = "150ms"
rise = 1
fall = 1
[datacenters.a]
[[balance]]
name = "ttl.gslb.example.com"
policy = "all"
answers = 2
ttl = 300
ttl_degraded = 5
check = "web"
endpoints = [{{ address = "127.0.0.83", datacenter = "a" }}, {{ address = "127.0.0.84", datacenter = "a" }}]
[[balance]]
name = "cname-ttl.gslb.example.com"
policy = "failover"
ttl = 300
ttl_degraded = 7
check = "web"
endpoints = [
  {{ target = "a.cdn-one.net", datacenter = "a", check_address = "127.0.0.83" }},
  {{ target = "b.cdn-two.net", datacenter = "a", check_address = "127.0.0.84", priority = 2 }},
]
"#
    );
    let s = start_with("", &cfg, &[("gslb.example.com.zone", ZONE)]).await;
    let ttls = |name: &str| -> Vec<u32> {
        udp(s.udp, &query(name, A, false))
            .answers
            .iter()
            .map(|r| r.ttl)
            .collect()
    };
    let q = "ttl.gslb.example.com.";
    let c = "cname-ttl.gslb.example.com.";
    eventually(Duration::from_secs(3), "both endpoints up at ttl", || {
        seen((ttls(q), ttls(c)), |t| t == &(vec![300, 300], vec![300]))
    });
    b[1].set(Mode::Status(503));
    eventually(
        Duration::from_secs(3),
        "ttl_degraded while one is down",
        || seen((ttls(q), ttls(c)), |t| t == &(vec![5], vec![7])),
    );
    b[1].set(Mode::Ok(1.0));
    eventually(Duration::from_secs(3), "ttl again once it is back", || {
        seen((ttls(q), ttls(c)), |t| t == &(vec![300, 300], vec![300]))
    });
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_center_below_min_up_takes_all_its_endpoints_down_in_every_name() {
    let b = backend::start(&["127.0.0.85", "127.0.0.86", "127.0.0.87"]).await;
    let port = b[0].addr.port();
    let cfg = format!(
        r#"
[checks.web]
protocol = "http"
port = {port}
interval = "200ms"
timeout = "150ms"
rise = 1
fall = 1
[datacenters.east]
min_up = "100%"
[datacenters.west]
[[balance]]
name = "app.gslb.example.com"
policy = "failover"
answers = 2
check = "web"
endpoints = [
  {{ address = "127.0.0.85", datacenter = "east", priority = 1 }},
  {{ address = "127.0.0.86", datacenter = "east", priority = 1 }},
  {{ address = "127.0.0.87", datacenter = "west", priority = 2 }},
]
[[balance]]
name = "api.gslb.example.com"
policy = "failover"
check = "web"
endpoints = [
  {{ address = "127.0.0.85", datacenter = "east", priority = 1 }},
  {{ address = "127.0.0.87", datacenter = "west", priority = 2 }},
]
"#
    );
    let s = start_with("", &cfg, &[("gslb.example.com.zone", ZONE)]).await;
    let both_names = || {
        (
            addrs(&udp(s.udp, &query("app.gslb.example.com.", A, false))),
            addrs(&udp(s.udp, &query("api.gslb.example.com.", A, false))),
        )
    };
    let east = (
        vec!["127.0.0.85".to_string(), "127.0.0.86".to_string()],
        vec!["127.0.0.85".to_string()],
    );
    let west = (
        vec!["127.0.0.87".to_string()],
        vec!["127.0.0.87".to_string()],
    );
    eventually(Duration::from_secs(3), "east answering", || {
        seen(both_names(), |a| a == &east)
    });
    // One of east's two backends fails: east is below min_up, so api's endpoint .85, which is
    // up, counts as down too, and both names answer west.
    b[1].set(Mode::Status(503));
    eventually(Duration::from_secs(3), "west answering", || {
        seen(both_names(), |a| a == &west)
    });
    let metrics = admin_get(&s, "/metrics").await.1;
    assert_eq!(
        metric(&metrics, "gslb_datacenter_up{datacenter=\"east\"}"),
        Some(0.0)
    );
    assert_eq!(
        metric(&metrics, "gslb_datacenter_up{datacenter=\"west\"}"),
        Some(1.0)
    );
    let st = status_json(&s).await;
    let dc = st["datacenters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "east")
        .unwrap()
        .clone();
    assert_eq!(
        (
            &dc["datacenter_up"],
            &dc["targets"],
            &dc["targets_up"],
            &dc["min_up"]
        ),
        (
            &serde_json::json!(false),
            &serde_json::json!(2),
            &serde_json::json!(1),
            &serde_json::json!("100%")
        )
    );
    assert_eq!(
        status_state(&st, "api.gslb.example.com.", "127.0.0.85").as_deref(),
        Some("down")
    );
    let (_, body) = admin_get(&s, "/v1/explain?name=api.gslb.example.com&type=A").await;
    let down = json(&body)["datacenters_down"].clone();
    assert!(
        down[0]
            .as_str()
            .unwrap()
            .starts_with("east: 1 of 2 probed targets up, min_up = 100%"),
        "{body}"
    );
    b[1].set(Mode::Ok(1.0));
    eventually(Duration::from_secs(3), "east back", || {
        seen(both_names(), |a| a == &east)
    });
    let metrics = admin_get(&s, "/metrics").await.1;
    assert_eq!(
        metric(&metrics, "gslb_datacenter_up{datacenter=\"east\"}"),
        Some(1.0)
    );
    s.stop().await;
}

#[test]
fn routing_config_errors_come_with_positions() {
    let (dir, path) = config_dir(
        &format!(
            r#"[zones]
directory = "zones"
[geoip]
database = '{}'
[datacenters.a]
countries = ["GB", "IE"]
[datacenters.b]
countries = ["ie"]
[[balance]]
name = "near.gslb.example.com"
policy = "nearest"
endpoints = [{{ address = "192.0.2.1", datacenter = "a" }}]
[[balance]]
name = "mix.gslb.example.com"
policy = "failover"
endpoints = [{{ target = "a.cdn.net", datacenter = "a" }}, {{ address = "192.0.2.1", datacenter = "a" }}]
[[balance]]
name = "self.gslb.example.com"
policy = "failover"
endpoints = [{{ target = "self.gslb.example.com", datacenter = "a" }}, {{ target = "b..cdn.net", datacenter = "a" }}]
"#,
            geoip("GeoIP2-Country-Test.mmdb")
        ),
        &[("gslb.example.com.zone", ZONE)],
    );
    let file = path.display().to_string();
    let errs: Vec<String> = match gslb::load::from_file(&path) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.into_iter().map(|d| d.to_string()).collect(),
    };
    let want = [
        format!("{file}:8:14: country IE is listed under both datacenters a and b"),
        format!(
            "{file}:16:58: mix.gslb.example.com.: a balanced name has address endpoints or CNAME (target) endpoints, not both"
        ),
        format!(
            "{file}:20:25: self.gslb.example.com.: a target equal to the balanced name would answer a CNAME to itself"
        ),
        format!("{file}:20:81: target \"b..cdn.net\" is not a domain name"),
        format!("{file}:12:14: near.gslb.example.com.: nearest needs a location for datacenter a"),
    ];
    for w in &want {
        assert!(
            errs.iter().any(|e| e.starts_with(w.as_str())),
            "{w}\nnot in {errs:#?}"
        );
    }
    // A valid configuration, and the load-time rules: nearest needs coordinates, which a
    // Country database does not have; a CNAME owns its name, so a name of CNAME endpoints has
    // no records in the zone file.
    std::fs::write(
        &path,
        format!(
            "[zones]\ndirectory = \"zones\"\n[geoip]\ndatabase = '{}'\n[datacenters.a]\nlocation = {{ lat = 51.5, lon = -0.1 }}\n[[balance]]\nname = \"near.gslb.example.com\"\npolicy = \"nearest\"\nendpoints = [{{ address = \"192.0.2.1\", datacenter = \"a\" }}]\n[[balance]]\nname = \"edge.gslb.example.com\"\npolicy = \"failover\"\nendpoints = [{{ target = \"a.cdn.net\", datacenter = \"a\" }}]\n",
            geoip("GeoIP2-Country-Test.mmdb")
        ),
    )
    .unwrap();
    let errs: Vec<String> = match gslb::load::from_file(&path) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.into_iter().map(|d| d.to_string()).collect(),
    };
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(
        errs[1].starts_with(&format!("{file}:12:8: balanced name edge.gslb.example.com. answers a CNAME but has A records in zone file")),
        "{errs:#?}"
    );
    assert!(
        errs[0].starts_with(&format!("{file}:8:8: near.gslb.example.com.: nearest needs a GeoIP database with coordinates (a City edition)"))
            && errs[0].ends_with("is a GeoIP2-Country database"),
        "{errs:#?}"
    );
    drop(dir);
}
