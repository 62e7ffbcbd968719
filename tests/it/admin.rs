//! The admin API over real HTTP, as an operator uses it: health, status with transitions,
//! explain (and its what-if that leaves live answers alone), drains that change DNS answers at
//! once, bearer-token auth, reload with good and broken configs (also under continuous query
//! load), Prometheus metrics that count exactly what was asked, and the `gslb explain` CLI.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use serde_json::Value;

/// The config file the server started from, with another TTL for app.example.com.
fn with_ttl(s: &TestServer, ttl: u32) -> String {
    let text = std::fs::read_to_string(s.dir.path().join("start.toml")).unwrap();
    text.replace("ttl = 20\n", &format!("ttl = {ttl}\n"))
}

fn app(s: &TestServer) -> Vec<String> {
    addrs(&udp(s.udp, &query(APP, RecordType::A, false)))
}

fn without(x: &[&str]) -> Vec<String> {
    EPS.iter()
        .filter(|a| !x.contains(a))
        .map(|a| a.to_string())
        .collect()
}

async fn metrics(s: &TestServer) -> String {
    let (code, body) = admin_get(s, "/metrics").await;
    assert_eq!(code, 200);
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn status_lists_names_endpoints_datacenters_and_transitions() {
    let (mut b, s) = start_balanced("all", 3, "none", "").await;
    let (code, body) = admin_get(&s, "/healthz").await;
    assert_eq!((code, body.trim()), (200, "ok"));

    let st = status_json(&s).await;
    assert_eq!(st["config_generation"], 1);
    let bal = st["balanced"].as_array().unwrap();
    assert_eq!(bal.len(), 1);
    assert_eq!(bal[0]["name"], APP);
    assert_eq!(bal[0]["policy"], "all");
    assert_eq!(bal[0]["ttl"], 20);
    assert_eq!(bal[0]["endpoints_up"], 3);
    let eps = bal[0]["endpoints"].as_array().unwrap();
    let listed: Vec<&str> = eps.iter().map(|e| e["address"].as_str().unwrap()).collect();
    assert_eq!(listed, EPS);
    for e in eps {
        assert_eq!(e["state"], "up", "{e}");
        let since = e["since"].as_str().unwrap();
        assert!(since.len() == 20 && since.ends_with('Z'), "{since}");
        assert_eq!(e["last_check"]["ok"], true, "{e}");
        assert!(e["last_check"]["latency_ms"].is_number(), "{e}");
        assert!(e["last_check"]["at"].is_string(), "{e}");
    }
    assert_eq!(eps[2]["datacenter"], "eu-west");
    let dcs: Vec<(&str, u64)> = st["datacenters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap(), d["up"].as_u64().unwrap()))
        .collect();
    assert!(
        dcs.contains(&("us-east", 2)) && dcs.contains(&("eu-west", 1)),
        "{dcs:?}"
    );
    assert_eq!(st["transitions"].as_array().unwrap().len(), 0);
    assert_eq!(st["zones"][0]["origin"], "example.com.");

    b[0].stop();
    until_status_state(&s, APP, EPS[0], "down").await;
    let st = status_json(&s).await;
    let e = &st["balanced"][0]["endpoints"][0];
    assert_eq!(e["last_check"]["ok"], false, "{e}");
    assert_eq!(e["last_check"]["result"], "connect refused", "{e}");
    assert_eq!(st["balanced"][0]["endpoints_up"], 2);
    let t = st["transitions"].as_array().unwrap();
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(t[0]["endpoint"], EPS[0]);
    assert_eq!(t[0]["datacenter"], "us-east");
    assert_eq!((&t[0]["from"], &t[0]["to"]), (&"up".into(), &"down".into()));
    assert_eq!(t[0]["reason"], "connect refused");
    assert_eq!(app(&s), without(&[EPS[0]]));
    s.stop().await;
}

fn explain_url(name: &str, qtype: &str, client: &str, extra: &str) -> String {
    format!("/v1/explain?name={name}&type={qtype}&client={client}{extra}")
}

/// GETs `path`, asserting the status code; returns the JSON body.
async fn get(s: &TestServer, path: &str, code: u16) -> Value {
    let (got, body) = admin_get(s, path).await;
    assert_eq!(got, code, "GET {path}: {body}");
    json(&body)
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_traces_the_decision_and_what_if_leaves_answers_alone() {
    let (_b, s) = start_balanced("geo", 2, "none", "").await;
    let t = get(&s, &explain_url(APP, "A", "203.0.113.7/24", ""), 200).await;
    assert_eq!(t["name"], APP);
    assert_eq!(t["qtype"], "A");
    assert_eq!(t["policy"], "geo");
    assert_eq!(t["client_from_ecs"], true);
    assert_eq!(t["answer"], serde_json::json!(["127.0.0.23"]));
    assert_eq!(t["ttl"], 20);
    assert!(t["reason"].as_str().unwrap().contains("eu-west"), "{t}");
    let chosen: Vec<(&str, bool)> = t["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["address"].as_str().unwrap(), e["chosen"] == true))
        .collect();
    assert_eq!(
        chosen,
        [(EPS[0], false), (EPS[1], false), (EPS[2], true)],
        "{t}"
    );
    assert!(t["endpoints"][0]["last_check"]["ok"] == true, "{t}");

    // The trace is what a query with that ECS subnet gets: same answer, same scope.
    let ecs_query = || with_ecs(query(APP, RecordType::A, true), "203.0.113.0/24");
    let r = udp(s.udp, &ecs_query());
    assert_eq!(addrs(&r), vec![EPS[2]]);
    let scope = ecs_of(&r).expect("ECS echoed").1;
    assert_eq!(u64::from(scope), t["scope"].as_u64().unwrap(), "{t}");

    // What if eu-west were down: us-east answers, by priority.
    let url = explain_url(APP, "A", "203.0.113.7/24", "&assume_down=eu-west");
    let w = get(&s, &url, 200).await;
    assert_eq!(w["answer"], serde_json::json!([EPS[0], EPS[1]]), "{w}");
    assert_eq!(w["assumed_down"], serde_json::json!(["eu-west"]));
    assert_eq!(w["endpoints"][2]["state"], "down");
    // ...and nothing live changed.
    assert_eq!(addrs(&udp(s.udp, &ecs_query())), vec![EPS[2]]);
    assert_eq!(
        status_state(&status_json(&s).await, APP, EPS[2]).as_deref(),
        Some("up")
    );

    // A resolver address (no ECS), AAAA (no IPv6 endpoints), an endpoint as what-if.
    let r = get(&s, &explain_url(APP, "A", "198.51.100.9", ""), 200).await;
    assert_eq!(r["client_from_ecs"], false);
    assert_eq!(r["answer"], serde_json::json!([EPS[0], EPS[1]]));
    let r = get(&s, &explain_url(APP, "AAAA", "203.0.113.7", ""), 200).await;
    assert_eq!(r["answer"], serde_json::json!([]));
    assert!(r["reason"].as_str().unwrap().contains("NODATA"), "{r}");
    let url = explain_url(APP, "a", "198.51.100.9", "&assume_down=127.0.0.21");
    assert_eq!(
        get(&s, &url, 200).await["answer"],
        serde_json::json!([EPS[1]])
    );

    // Errors: JSON with a status that says whose fault it is.
    for (url, code, says) in [
        (
            explain_url("nothere.example.com", "A", "1.2.3.4", ""),
            404,
            "nothere.example.com is not a balanced name",
        ),
        (explain_url(APP, "MX", "1.2.3.4", ""), 400, "MX"),
        (explain_url(APP, "A", "nope", ""), 400, "nope"),
        (explain_url(APP, "A", "10.0.0.0/33", ""), 400, "10.0.0.0/33"),
        (explain_url(APP, "A", "1.2.3.4/x", ""), 400, "1.2.3.4/x"),
        (
            explain_url(APP, "A", "1.2.3.4", "&assume_down=mars"),
            400,
            "mars",
        ),
        ("/v1/explain?type=A".to_string(), 400, "name"),
    ] {
        let (got, body) = admin_get(&s, &url).await;
        assert_eq!(got, code, "{url}: {body}");
        assert_error(&body, says);
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn drains_by_address_and_datacenter_change_answers_at_once() {
    let (_b, s) = start_balanced("all", 3, "none", "").await;
    assert_eq!(app(&s), without(&[]));

    let (code, body) = admin_post(&s, "/v1/endpoints/127.0.0.21/drain", None).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(json(&body)["ok"], true);
    assert_eq!(app(&s), without(&[EPS[0]]), "visible when the call returns");
    let st = status_json(&s).await;
    assert_eq!(status_state(&st, APP, EPS[0]).as_deref(), Some("drained"));

    let (code, body) = admin_post(&s, "/v1/datacenters/eu-west/drain", None).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(app(&s), without(&[EPS[0], EPS[2]]));
    let st = status_json(&s).await;
    let dcs = st["datacenters"].as_array().unwrap();
    let eu = dcs.iter().find(|d| d["name"] == "eu-west").unwrap();
    assert_eq!((&eu["up"], &eu["drained"]), (&0.into(), &1.into()), "{eu}");

    let (code, _) = admin_post(&s, "/v1/endpoints/127.0.0.21/undrain", None).await;
    assert_eq!(code, 200);
    assert_eq!(app(&s), without(&[EPS[2]]));
    let (code, _) = admin_post(&s, "/v1/datacenters/eu-west/undrain", None).await;
    assert_eq!(code, 200);
    assert_eq!(app(&s), without(&[]));

    for (path, code, says) in [
        ("/v1/endpoints/192.0.2.77/drain", 404, "192.0.2.77"),
        ("/v1/endpoints/0.0.0.0/drain", 404, "0.0.0.0"),
        ("/v1/datacenters/mars/drain", 404, "mars"),
        ("/v1/endpoints/not-an-ip/drain", 400, "not-an-ip"),
        ("/v1/endpoints/127.0.0.21/explode", 404, "explode"),
        ("/v1/nothing", 404, "no such"),
        ("/v1/status", 405, "POST"),
    ] {
        let (got, body) = admin_post(&s, path, None).await;
        assert_eq!(got, code, "{path}: {body}");
        assert_error(&body, says);
    }
    let url = format!("http://{}/v1/endpoints/127.0.0.21/drain", s.admin);
    let r = http().get(url).send().await.unwrap();
    assert_eq!(r.status(), 405, "a GET must not drain");
    assert_eq!(r.headers()["allow"], "POST");
    assert_error(&r.text().await.unwrap(), "GET");
    assert_eq!(app(&s), without(&[]));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_guards_mutating_calls_only() {
    let tokdir = tempfile::tempdir().unwrap();
    let tokfile = tokdir.path().join("token");
    std::fs::write(&tokfile, "s3cret-t0ken\n").unwrap();
    let admin = format!("[admin]\ntoken_file = {:?}", tokfile.display().to_string());
    let (_b, s) = start_balanced("all", 3, "none", &admin).await;

    for auth in [
        None,
        Some("Bearer wrong"),
        Some("s3cret-t0ken"),
        Some("Basic s3cret-t0ken"),
    ] {
        for path in [
            "/v1/endpoints/127.0.0.21/drain",
            "/v1/datacenters/us-east/drain",
            "/v1/reload",
        ] {
            let (code, body) = admin_post(&s, path, auth).await;
            assert_eq!(code, 401, "{path} with {auth:?}: {body}");
            assert_error(&body, "Bearer");
        }
    }
    assert_eq!(app(&s), without(&[]), "refused calls change nothing");
    let st = status_json(&s).await;
    assert_eq!(st["config_generation"], 1);
    assert!(
        EPS.iter()
            .all(|e| status_state(&st, APP, e).as_deref() == Some("up"))
    );

    // Reads need no token.
    for path in [
        "/healthz",
        "/metrics",
        "/",
        &explain_url(APP, "A", "1.2.3.4", ""),
    ] {
        assert_eq!(admin_get(&s, path).await.0, 200, "{path}");
    }

    let good = Some("Bearer s3cret-t0ken");
    let (code, body) = admin_post(&s, "/v1/endpoints/127.0.0.21/drain", good).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(app(&s), without(&[EPS[0]]));
    let (code, _) = admin_post(&s, "/v1/endpoints/127.0.0.21/undrain", good).await;
    assert_eq!(code, 200);
    assert_eq!(app(&s), without(&[]));
    let (code, body) = admin_post(&s, "/v1/reload", good).await;
    assert_eq!((code, json(&body)["generation"].as_u64()), (200, Some(2)));
    // The scheme is case-insensitive (RFC 7235 §2.1).
    let (code, body) = admin_post(
        &s,
        "/v1/endpoints/127.0.0.21/undrain",
        Some("bearer s3cret-t0ken"),
    )
    .await;
    assert_eq!(code, 200, "{body}");

    // A rotated token takes effect with the next reload; the old one stops working.
    std::fs::write(&tokfile, "n3w-t0ken\n").unwrap();
    let (code, body) = admin_post(&s, "/v1/reload", good).await;
    assert_eq!(
        (code, json(&body)["generation"].as_u64()),
        (200, Some(3)),
        "{body}"
    );
    let (code, _) = admin_post(&s, "/v1/reload", good).await;
    assert_eq!(code, 401, "the old token is refused after the rotation");
    let (code, body) = admin_post(&s, "/v1/reload", Some("Bearer n3w-t0ken")).await;
    assert_eq!(
        (code, json(&body)["generation"].as_u64()),
        (200, Some(4)),
        "{body}"
    );
    s.stop().await;
}

#[test]
fn a_public_admin_listener_needs_a_token_file() {
    let text = "[zones]\ndirectory = \"zones\"\n\n[admin]\nlisten = \"0.0.0.0:8053\"\n";
    let e = gslb::config::Config::from_str(Path::new("gslb.toml"), text).unwrap_err();
    let msgs: Vec<String> = e.iter().map(|d| d.to_string()).collect();
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(msgs[0].starts_with("gslb.toml:5:10: "), "{msgs:?}");
    assert!(msgs[0].contains("token_file"), "{msgs:?}");

    // The same through the loader, from a file; and accepted with a token file or on loopback.
    let (_dir, path) = config_dir(text, &[("example.com.zone", ZONE)]);
    let e = gslb::load::from_file(&path).unwrap_err();
    let want = format!("{}:5:10: ", path.display());
    assert!(e.len() == 1 && e[0].to_string().starts_with(&want), "{e:?}");
    let with_token = format!("{text}token_file = \"token\"\n");
    assert!(gslb::config::Config::from_str(&path, &with_token).is_ok());
    let loopback = text.replace("0.0.0.0", "127.0.0.1");
    assert!(gslb::config::Config::from_str(&path, &loopback).is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn reload_over_http_serves_new_data_or_keeps_the_old() {
    let (_b, s) = start_balanced("all", 3, "none", "").await;
    let www = || udp(s.udp, &query("new.example.com.", RecordType::A, false));
    assert_eq!(www().metadata.response_code, ResponseCode::NXDomain);

    std::fs::write(s.config_path(), with_ttl(&s, 7)).unwrap();
    let zone = format!("{ZONE}new IN A 192.0.2.99\n");
    std::fs::write(s.dir.path().join("zones/example.com.zone"), zone).unwrap();
    let (code, body) = admin_post(&s, "/v1/reload", None).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        json(&body),
        serde_json::json!({"ok": true, "generation": 2})
    );
    let r = udp(s.udp, &query(APP, RecordType::A, false));
    assert_eq!(addrs(&r), without(&[]));
    assert_eq!(r.answers[0].ttl, 7);
    assert_eq!(addrs(&www()), vec!["192.0.2.99"]);

    // Broken: a type error in the config. Rejected with file:line:col, old data stays.
    let broken = with_ttl(&s, 7).replace("answers = 3", "answers = \"three\"");
    std::fs::write(s.config_path(), &broken).unwrap();
    let (code, body) = admin_post(&s, "/v1/reload", None).await;
    assert_eq!(code, 422, "{body}");
    let v = json(&body);
    assert_eq!(v["ok"], false);
    assert!(v["error"].is_string());
    let errors = v["errors"].as_array().unwrap();
    assert!(!errors.is_empty());
    let line = broken.lines().position(|l| l.contains("three")).unwrap() + 1;
    let prefix = format!("{}:{line}:", s.config_path().display());
    for e in errors {
        let e = e.as_str().unwrap();
        let rest = e.strip_prefix(&prefix).unwrap_or_else(|| panic!("{e}"));
        let (col, msg) = rest.split_once(": ").unwrap();
        assert!(col.parse::<u32>().unwrap() > 0 && !msg.is_empty(), "{e}");
    }
    let r = udp(s.udp, &query(APP, RecordType::A, false));
    assert_eq!((addrs(&r), r.answers[0].ttl), (without(&[]), 7));
    assert_eq!(addrs(&www()), vec!["192.0.2.99"]);

    // A broken zone file is rejected the same way.
    std::fs::write(s.config_path(), with_ttl(&s, 9)).unwrap();
    std::fs::write(s.dir.path().join("zones/example.com.zone"), "@ IN A\n").unwrap();
    let (code, body) = admin_post(&s, "/v1/reload", None).await;
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("example.com.zone:"), "{body}");
    assert_eq!(
        udp(s.udp, &query(APP, RecordType::A, false)).answers[0].ttl,
        7
    );

    let st = status_json(&s).await;
    assert_eq!(
        (
            st["config_generation"].as_u64(),
            st["last_reload_ok"].as_bool()
        ),
        (Some(2), Some(false))
    );
    let m = metrics(&s).await;
    assert_eq!(metric(&m, "gslb_config_generation"), Some(2.0), "{m}");
    assert_eq!(
        metric(&m, "gslb_config_reload_failures_total"),
        Some(2.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, "gslb_config_last_reload_success"),
        Some(0.0),
        "{m}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_what_was_asked_and_follow_health() {
    let (mut b, s) = start_balanced("all", 3, "all", "").await;
    let port = b[0].addr.port();
    for _ in 0..7 {
        let r = udp(s.udp, &query("www.example.com.", RecordType::A, false));
        assert_eq!(addrs(&r), vec!["192.0.2.80"]);
    }
    for _ in 0..3 {
        assert_eq!(app(&s), without(&[]));
    }
    for _ in 0..2 {
        tcp(s.tcp, &query("www.example.com.", RecordType::AAAA, false));
    }
    // A name made up by a client: it must not become a label.
    let nonce = format!(
        "zq{}x",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let r = udp(
        s.udp,
        &query(&format!("{nonce}.example.com."), RecordType::A, false),
    );
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    let r = udp(
        s.udp,
        &query(&format!("{nonce}.example.org."), RecordType::TXT, false),
    );
    assert_eq!(r.metadata.response_code, ResponseCode::Refused);

    let m = metrics(&s).await;
    let q = |t: &str, ty: &str, rc: &str| {
        let series =
            format!("gslb_dns_queries_total{{transport=\"{t}\",qtype=\"{ty}\",rcode=\"{rc}\"}}");
        metric(&m, &series)
    };
    assert_eq!(q("udp", "A", "NOERROR"), Some(10.0), "{m}");
    assert_eq!(q("udp", "A", "NXDOMAIN"), Some(1.0), "{m}");
    assert_eq!(q("udp", "TXT", "REFUSED"), Some(1.0), "{m}");
    assert_eq!(q("tcp", "AAAA", "NOERROR"), Some(2.0), "{m}");
    assert_eq!(q("tcp", "A", "NOERROR"), None, "{m}");
    let total: f64 = m
        .lines()
        .filter(|l| l.starts_with("gslb_dns_queries_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(total, 14.0, "{m}");
    for ep in EPS {
        let dc = if ep == EPS[2] { "eu-west" } else { "us-east" };
        let series = format!(
            "gslb_balance_answers_total{{name=\"{APP}\",endpoint=\"{ep}\",datacenter=\"{dc}\"}}"
        );
        assert_eq!(metric(&m, &series), Some(3.0), "{series}\n{m}");
    }
    assert!(
        !m.contains(&nonce),
        "a client-chosen name became a label:\n{m}"
    );
    assert!(m.contains("# TYPE gslb_dns_queries_total counter"), "{m}");

    let state = |ep: &str, st: &str| {
        let dc = if ep == EPS[2] { "eu-west" } else { "us-east" };
        format!(
            "gslb_endpoint_state{{name=\"{APP}\",endpoint=\"{ep}\",datacenter=\"{dc}\",state=\"{st}\"}}"
        )
    };
    assert_eq!(metric(&m, &state(EPS[0], "up")), Some(1.0), "{m}");
    assert_eq!(metric(&m, &state(EPS[0], "down")), Some(0.0), "{m}");
    let open = format!("gslb_balance_failing_open{{name=\"{APP}\"}}");
    assert_eq!(metric(&m, &open), Some(0.0), "{m}");
    let target = format!("check=\"web\",target=\"127.0.0.21:{port}\"");
    let inf = format!("gslb_check_duration_seconds_bucket{{{target},le=\"+Inf\"}}");
    assert!(metric(&m, &inf).unwrap_or(0.0) >= 1.0, "{m}");
    assert!(m.contains(&format!(
        "gslb_check_duration_seconds_bucket{{{target},le=\"0.001\"}}"
    )));

    b[0].stop();
    let refused = format!("gslb_check_failures_total{{{target},reason=\"refused\"}}");
    eventually_async(
        Duration::from_secs(5),
        "endpoint state down in /metrics",
        || async {
            seen(metric(&metrics(&s).await, &state(EPS[0], "down")), |v| {
                *v == Some(1.0)
            })
        },
    )
    .await;
    let m = metrics(&s).await;
    assert_eq!(metric(&m, &state(EPS[0], "up")), Some(0.0), "{m}");
    assert!(
        metric(&m, &refused).unwrap_or(0.0) >= 2.0,
        "fall = 2 refused checks\n{m}"
    );
    assert_eq!(metric(&m, &open), Some(0.0), "{m}");

    b[1].stop();
    b[2].stop();
    eventually_async(
        Duration::from_secs(5),
        "failing open in /metrics",
        || async { seen(metric(&metrics(&s).await, &open), |v| *v == Some(1.0)) },
    )
    .await;
    assert_eq!(
        app(&s),
        without(&[]),
        "when_all_down = all answers every endpoint"
    );
    assert_eq!(status_json(&s).await["balanced"][0]["failing_open"], true);
    s.stop().await;
}

/// What the query loop saw.
#[derive(Debug, Default)]
struct Tally {
    sent: u64,
    timeouts: u64,
    failed: u64,
    /// The first few wrong replies.
    samples: Vec<String>,
}

/// Queries `www` (static) and `app` (balanced) alternately over UDP, each with a 1 s timeout,
/// until `stop` (or 200 000 queries, or 60 s), tallying timeouts and wrong answers.
fn query_loop(addr: SocketAddr, stop: Arc<AtomicBool>, tally: Arc<Mutex<Tally>>) {
    let started = Instant::now();
    for i in 0..200_000u64 {
        if stop.load(Ordering::SeqCst) || started.elapsed() > Duration::from_secs(60) {
            return;
        }
        let name = if i % 2 == 0 { "www.example.com." } else { APP };
        let reply = udp_within(
            addr,
            &query(name, RecordType::A, false),
            Duration::from_secs(1),
        );
        let mut t = tally.lock().unwrap();
        t.sent += 1;
        let Some(r) = reply else {
            t.timeouts += 1;
            continue;
        };
        let good = r.metadata.response_code == ResponseCode::NoError
            && if i % 2 == 0 {
                addrs(&r) == ["192.0.2.80"]
            } else {
                addrs(&r) == without(&[]) && r.answers.iter().all(|a| a.ttl == 20 || a.ttl == 21)
            };
        if !good {
            t.failed += 1;
            if t.samples.len() < 3 {
                t.samples.push(format!("{name}: {r:?}"));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_reloads_under_query_load_lose_nothing() {
    let (_b, s) = start_balanced("all", 3, "none", "").await;
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let load = {
        let (addr, stop, tally) = (s.udp, stop.clone(), tally.clone());
        std::thread::spawn(move || query_loop(addr, stop, tally))
    };
    let sent = || tally.lock().unwrap().sent;
    eventually(Duration::from_secs(5), "the load to start", || {
        seen(sent(), |n| *n > 0)
    });

    let mut codes = Vec::new();
    for n in 0..20u32 {
        let before = sent();
        std::fs::write(s.config_path(), with_ttl(&s, 20 + n % 2)).unwrap();
        let (code, body) = admin_post(&s, "/v1/reload", None).await;
        codes.push(code);
        assert_eq!(json(&body)["generation"], u64::from(n) + 2, "{body}");
        // Let queries run against each generation before the next swap.
        eventually(Duration::from_secs(5), "50 queries between reloads", || {
            seen(sent(), |n| *n >= before + 50)
        });
    }
    stop.store(true, Ordering::SeqCst);
    tokio::task::spawn_blocking(move || load.join().unwrap())
        .await
        .unwrap();

    assert_eq!(codes, vec![200; 20]);
    let t = std::mem::take(&mut *tally.lock().unwrap());
    assert!(
        t.sent >= 1000,
        "only {} queries ran during the reloads",
        t.sent
    );
    assert_eq!(
        (t.timeouts, t.failed),
        (0, 0),
        "(timeouts, wrong answers) of {} queries; first wrong: {:?}",
        t.sent,
        t.samples
    );
    let r = udp(s.udp, &query(APP, RecordType::A, false));
    assert_eq!(r.answers[0].ttl, 21, "the last reload's TTL is served");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_cli_asks_the_running_server() {
    let (_b, s) = start_balanced("geo", 2, "none", "").await;
    let admin = format!("http://{}", s.admin);
    let args = |extra: &[&str]| {
        let mut v: Vec<String> = [
            "explain",
            "app.example.com",
            "--type",
            "A",
            "--client",
            "203.0.113.7",
        ]
        .map(String::from)
        .to_vec();
        v.extend(["--admin".to_string(), admin.clone()]);
        v.extend(extra.iter().map(|x| x.to_string()));
        v
    };

    let (code, out, err) = run_gslb(args(&[])).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("policy geo"), "{out}");
    assert!(out.lines().any(|l| l == "answer: 127.0.0.23"), "{out}");
    let why = out
        .lines()
        .find(|l| l.starts_with("why:"))
        .expect("a why line");
    assert!(why.contains("eu-west"), "{out}");
    let chosen: Vec<&str> = out.lines().filter(|l| l.starts_with("* ")).collect();
    assert_eq!(chosen.len(), 1, "{out}");
    assert!(
        chosen[0].starts_with("* 127.0.0.23") && chosen[0].contains(" up "),
        "{out}"
    );

    let (code, out, err) = run_gslb(args(&["--json"])).await;
    assert_eq!(code, 0, "{err}");
    let t: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(t["answer"], serde_json::json!(["127.0.0.23"]));
    assert_eq!(t["endpoints"].as_array().unwrap().len(), 3);

    let (code, out, err) = run_gslb(args(&["--assume-down", "eu-west"])).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines().any(|l| l == "answer: 127.0.0.21 127.0.0.22"),
        "{out}"
    );
    assert!(out.contains("what if down: eu-west"), "{out}");
    assert_eq!(
        addrs(&udp(
            s.udp,
            &with_ecs(query(APP, RecordType::A, true), "203.0.113.0/24")
        )),
        vec!["127.0.0.23"]
    );

    let mut unknown = args(&[]);
    unknown[1] = "nothere.example.com".into();
    let (code, out, err) = run_gslb(unknown).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("nothere.example.com is not a balanced name"),
        "{err}"
    );
    assert!(err.contains("404"), "{err}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_parse_as_prometheus_text_with_build_and_process_series() {
    let (b, s) = start_balanced("all", 3, "all", "").await;
    let port = b[0].addr.port();
    let text = metrics(&s).await;
    // An independent parser of the text format reads every line.
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("/metrics parses");
    let value = |name: &str| {
        scrape
            .samples
            .iter()
            .find(|x| x.metric == name)
            .map(|x| match x.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
            .unwrap_or_else(|| panic!("{name} missing from /metrics"))
    };
    let build = scrape
        .samples
        .iter()
        .find(|x| x.metric == "gslb_build_info")
        .expect("gslb_build_info");
    assert_eq!(build.labels.get("version"), Some(env!("CARGO_PKG_VERSION")));
    assert!(build.labels.get("commit").is_some_and(|c| !c.is_empty()));
    assert!(value("process_resident_memory_bytes") > 1e6);
    assert!(value("process_open_fds") >= 3.0);
    assert!(value("process_max_fds") >= value("process_open_fds"));
    assert!(value("process_cpu_seconds_total") > 0.0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = value("process_start_time_seconds");
    assert!(started > now - 3600.0 && started <= now + 1.0, "{started}");
    // The check latency histogram reaches 5 s.
    let target = format!("check=\"web\",target=\"127.0.0.21:{port}\"");
    assert!(
        text.contains(&format!(
            "gslb_check_duration_seconds_bucket{{{target},le=\"5\"}}"
        )),
        "{text}"
    );
    assert!(
        scrape.docs.contains_key("gslb_check_duration_seconds"),
        "histogram documented"
    );
    s.stop().await;
}
