//! The prober end to end: real HTTP backends on 127.0.0.11–14 that the test stops, fails and
//! hangs; answers over real UDP follow, and come back after `rise` good checks. Also the
//! startup round, drains that survive a restart, reloads that keep state, and least-loaded.

use std::time::Duration;

use crate::harness::backend::{self, Mode};
use crate::harness::*;
use gslb::health::DrainTarget;
use hickory_proto::rr::RecordType;

const ZONE_T: &str =
    "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 h 1 3600 600 604800 60\n@ NS ns1\nns1 A 192.0.2.1\n";

fn config(port: u16, policy: &str, extra: &str) -> String {
    format!(
        r#"[checks.web]
protocol = "http"
port = {port}
path = "/health"
interval = "200ms"
timeout = "100ms"
rise = 2
fall = 2
{extra}
[datacenters.a]
[datacenters.b]
[datacenters.c]
[datacenters.d]
[[balance]]
name = "app.example.com"
policy = "{policy}"
answers = 4
check = "web"
when_all_down = "none"
endpoints = [
  {{ address = "127.0.0.11", datacenter = "a" }},
  {{ address = "127.0.0.12", datacenter = "b" }},
  {{ address = "127.0.0.13", datacenter = "c" }},
  {{ address = "127.0.0.14", datacenter = "d" }},
]
"#
    )
}

/// Four backends on 127.0.0.11–14 and a server balancing them with `policy` ("all", 4 answers).
async fn four(policy: &str, extra: &str) -> (Vec<backend::Backend>, TestServer) {
    let b = backend::start(&["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"]).await;
    let port = b[0].addr.port();
    let s = start_with(
        "",
        &config(port, policy, extra),
        &[("example.com.zone", ZONE_T)],
    )
    .await;
    (b, s)
}

/// Makes backend `i` answer 503 and waits until its address leaves the answers.
async fn fail_one(b: &[backend::Backend], s: &TestServer, i: usize, status: u16) {
    b[i].set(Mode::Status(status));
    let gone = b[i].addr.ip().to_string();
    until_app(s, "the failing backend to leave", without(&[gone.as_str()]));
}

/// Waits (5 s at most) until app.example.com answers exactly `want`.
#[track_caller]
fn until_app(s: &TestServer, what: &str, want: Vec<String>) {
    eventually(Duration::from_secs(5), what, || {
        seen(app(s), |a| *a == want)
    });
}

fn app(s: &TestServer) -> Vec<String> {
    addrs(&udp(
        s.udp,
        &query("app.example.com.", RecordType::A, false),
    ))
}

fn all4() -> Vec<String> {
    ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"]
        .map(String::from)
        .to_vec()
}

fn without(x: &[&str]) -> Vec<String> {
    all4()
        .into_iter()
        .filter(|a| !x.contains(&a.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn dead_failing_and_hanging_backends_leave_and_return() {
    let (mut b, s) = four("all", "").await;
    assert_eq!(app(&s), all4(), "all four up after the first round");

    b[0].stop();
    until_app(&s, "a stopped backend to leave", without(&["127.0.0.11"]));
    b[1].set(Mode::Status(503));
    until_app(
        &s,
        "a 503 backend to leave",
        without(&["127.0.0.11", "127.0.0.12"]),
    );
    b[2].set(Mode::Hang);
    until_app(
        &s,
        "a hanging backend to leave",
        without(&["127.0.0.11", "127.0.0.12", "127.0.0.13"]),
    );

    // Each transition is logged once with the reason of the last check.
    let h = s.server().control.state.load().health.clone();
    let reasons: Vec<(String, String)> = h
        .transitions
        .iter()
        .map(|t| {
            (
                t.endpoint.map(|e| e.to_string()).unwrap_or_default(),
                t.reason.clone(),
            )
        })
        .collect();
    assert!(
        reasons.contains(&("127.0.0.11".into(), "connect refused".into())),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&("127.0.0.12".into(), "status 503".into())),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&("127.0.0.13".into(), "timeout after 100ms".into())),
        "{reasons:?}"
    );
    assert_eq!(reasons.len(), 3, "{reasons:?}");

    b[0].restart();
    b[1].set(Mode::Ok(1.0));
    b[2].set(Mode::Ok(1.0));
    until_app(&s, "all to return", all4());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rise_needs_consecutive_successes() {
    let (b, s) = four("all", "").await;
    fail_one(&b, &s, 1, 500).await;
    let before = b[1].requests();
    b[1].set(Mode::Ok(1.0));
    until_app(&s, "it to return", all4());
    let after = b[1].requests();
    assert!(
        after - before >= 2,
        "came back after {} good checks; rise is 2",
        after - before
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_answer_already_reflects_health() {
    let mut b = backend::start(&["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"]).await;
    let port = b[0].addr.port();
    b[3].stop();
    b[2].set(Mode::Status(503));
    let s = start_with(
        "",
        &config(port, "all", ""),
        &[("example.com.zone", ZONE_T)],
    )
    .await;
    assert_eq!(app(&s), without(&["127.0.0.13", "127.0.0.14"]));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn drains_leave_at_once_and_survive_a_restart() {
    let b = backend::start(&["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"]).await;
    let port = b[0].addr.port();
    let state = tempfile::tempdir().unwrap();
    let server_extra = format!("state_directory = {:?}", state.path());
    let cfg = config(port, "all", "");
    let s = start_with(&server_extra, &cfg, &[("example.com.zone", ZONE_T)]).await;
    let h = &s.server().control.health;
    h.drain(DrainTarget::Endpoint("127.0.0.11".parse().unwrap()), true)
        .await
        .unwrap();
    assert_eq!(
        app(&s),
        without(&["127.0.0.11"]),
        "drain is visible when the call returns"
    );
    h.drain(DrainTarget::Datacenter("c".into()), true)
        .await
        .unwrap();
    assert_eq!(app(&s), without(&["127.0.0.11", "127.0.0.13"]));
    assert!(
        h.drain(DrainTarget::Datacenter("nowhere".into()), true)
            .await
            .is_err()
    );
    assert!(
        h.drain(DrainTarget::Endpoint("192.0.2.77".parse().unwrap()), true)
            .await
            .is_err()
    );
    let file = std::fs::read_to_string(state.path().join("drained.json")).unwrap();
    assert!(
        file.contains("127.0.0.11") && file.contains("\"c\""),
        "{file}"
    );
    s.stop().await;

    // A new server with the same state directory starts with the same drains.
    let s = start_with(&server_extra, &cfg, &[("example.com.zone", ZONE_T)]).await;
    assert_eq!(app(&s), without(&["127.0.0.11", "127.0.0.13"]));
    let h = &s.server().control.health;
    h.drain(DrainTarget::Endpoint("127.0.0.11".parse().unwrap()), false)
        .await
        .unwrap();
    h.drain(DrainTarget::Datacenter("c".into()), false)
        .await
        .unwrap();
    assert_eq!(app(&s), all4());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reload_keeps_state_and_stops_removed_checks() {
    let (b, s) = four("all", "").await;
    fail_one(&b, &s, 1, 503).await;

    // Same endpoints plus a TTL change: .12 must stay down through the reload, not reset to up.
    let text = std::fs::read_to_string(s.config_path()).unwrap();
    let reloaded = text.replace("answers = 4", "answers = 4\nttl = 7");
    std::fs::write(s.config_path(), &reloaded).unwrap();
    s.server().control.reload().await.unwrap();
    let r = udp(s.udp, &query("app.example.com.", RecordType::A, false));
    assert_eq!(addrs(&r), without(&["127.0.0.12"]));
    assert_eq!(r.answers[0].ttl, 7);

    // Remove .14: its probes stop at once. (health_timing checks the same on virtual time,
    // exactly; here it is the real prober against a real backend.)
    let removed = reloaded.replace("  { address = \"127.0.0.14\", datacenter = \"d\" },\n", "");
    std::fs::write(s.config_path(), &removed).unwrap();
    s.server().control.reload().await.unwrap();
    assert_eq!(app(&s), vec!["127.0.0.11", "127.0.0.13"]);
    let n = b[3].requests();
    // Observe for five intervals, counted by the probes .11 (same check, same interval) gets
    // meanwhile: no further probe of .14 may arrive.
    let from = b[0].requests();
    eventually(Duration::from_secs(5), "five more probes of .11", || {
        seen(b[0].requests(), |m| *m >= from + 5)
    });
    assert_eq!(b[3].requests(), n, "probes of a removed endpoint");

    // A bad config is rejected and the running one stays.
    std::fs::write(s.config_path(), "[zones]\ndirectory = 7\n").unwrap();
    let e = s.server().control.reload().await.unwrap_err();
    assert!(e[0].to_string().contains("gslb.toml:2:"), "{e:?}");
    assert_eq!(app(&s), vec!["127.0.0.11", "127.0.0.13"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn least_loaded_follows_reported_load() {
    let b = backend::start(&["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"]).await;
    for (i, l) in [5.0, 3.0, 9.0, 7.0].into_iter().enumerate() {
        b[i].set(Mode::Ok(l));
    }
    let port = b[0].addr.port();
    let cfg = config(port, "least-loaded", "load_header = \"X-Load\"")
        .replace("answers = 4", "answers = 1");
    let s = start_with("", &cfg, &[("example.com.zone", ZONE_T)]).await;
    assert_eq!(app(&s), vec!["127.0.0.12"]);
    b[3].set(Mode::Ok(0.5));
    until_app(&s, "the new least loaded to win", vec!["127.0.0.14".into()]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn identical_checks_of_one_address_run_once() {
    let b = backend::start(&["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"]).await;
    let port = b[0].addr.port();
    let mut cfg = config(port, "all", "");
    cfg.push_str(
        "[[balance]]\nname = \"other.example.com\"\npolicy = \"all\"\ncheck = \"web\"\nendpoints = [ { address = \"127.0.0.11\", datacenter = \"a\" } ]\n",
    );
    let s = start_with("", &cfg, &[("example.com.zone", ZONE_T)]).await;
    let snap = s.server().control.state.load_full();
    let plan = gslb::health::Plan::of(&snap.served.config.checks, &snap.served.balances);
    assert_eq!(
        plan.targets.len(),
        4,
        "127.0.0.11 is probed once for both names"
    );
    s.stop().await;
}

/// The publication counters in /metrics: (publications, names whose rows they rewrote), and
/// how many probes of `target` have been counted.
async fn publication_counts(s: &TestServer, target: &str) -> (u64, u64, u64) {
    let (_, text) = admin_get(s, "/metrics").await;
    let get = |series: &str| metric(&text, series).unwrap_or(0.0) as u64;
    (
        get("gslb_health_publications_total"),
        get("gslb_health_names_updated_total"),
        get(&format!(
            "gslb_check_duration_seconds_count{{check=\"web\",target=\"{target}\"}}"
        )),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_probe_flip_republishes_only_the_names_it_serves() {
    // 127.0.0.11 serves app, one and two; 127.0.0.12 serves app and three.
    let extra = r#"
[[balance]]
name = "one.example.com"
policy = "all"
check = "web"
endpoints = [ { address = "127.0.0.11", datacenter = "a" } ]
[[balance]]
name = "two.example.com"
policy = "all"
check = "web"
endpoints = [ { address = "127.0.0.11", datacenter = "a" } ]
[[balance]]
name = "three.example.com"
policy = "all"
check = "web"
endpoints = [ { address = "127.0.0.12", datacenter = "b" } ]
"#;
    let (b, s) = four("all", extra).await;
    let target = b[0].addr.to_string();

    // Probe results that change nothing publish nothing.
    let (p0, n0, probes0) = publication_counts(&s, &target).await;
    eventually_async(
        Duration::from_secs(5),
        "three more probes of 127.0.0.11",
        || async {
            let (_, _, probes) = publication_counts(&s, &target).await;
            seen(probes, |&p| p >= probes0 + 3)
        },
    )
    .await;
    let (p1, n1, _) = publication_counts(&s, &target).await;
    assert_eq!((p1, n1), (p0, n0), "unchanged results published something");

    // One target going down rewrites the three names it serves, once.
    fail_one(&b, &s, 0, 503).await;
    let (p2, n2, _) = publication_counts(&s, &target).await;
    assert_eq!(p2, p1 + 1, "one publication for one change");
    assert_eq!(n2, n1 + 3, "app, one and two: not three");

    // Logged and recorded once for the target, with what it moved.
    let st = json(&admin_get(&s, "/v1/status").await.1);
    let t = st["transitions"].as_array().unwrap();
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(t[0]["endpoint"], "127.0.0.11");
    assert_eq!(t[0]["check"], "web");
    assert_eq!((&t[0]["endpoints"], &t[0]["names"]), (&3.into(), &3.into()));
    s.stop().await;
}
