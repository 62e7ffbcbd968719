//! Reloads while queries arrive, and what a reload reads again.
//!
//! Covers: a server with a 200,000-record zone and balanced names answering every one of a
//! stream of sequential UDP queries (static and balanced names) correctly and within 1 s while
//! it reloads a changed zone and a changed configuration; a reload that changes one of two
//! zones reading only that one (`gslb_zones_reused_total`, `gslb_zones_loaded_total`), an
//! `$INCLUDE`d piece counting as part of its zone, and a file rewritten with the same bytes
//! counting as unchanged.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::harness::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

/// Records in the large zone.
const RECORDS: usize = 200_000;

/// The address of `host{i}.big.example.`.
fn host_addr(i: usize) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
}

/// The large zone; `version` is the TXT at `version.big.example.`.
fn big_zone(version: &str) -> String {
    let mut z = String::with_capacity(RECORDS * 30);
    z.push_str("$ORIGIN big.example.\n$TTL 300\n@ SOA ns1 h 1 3600 600 604800 60\n@ NS ns1\n");
    z.push_str("ns1 A 192.0.2.1\n");
    z.push_str(&format!("version TXT \"{version}\"\n"));
    for i in 0..RECORDS {
        z.push_str(&format!("host{i} A {}\n", host_addr(i)));
    }
    z
}

/// A configuration with `app.big.example` (policy all, three endpoints) and, after the
/// change, `extra.big.example` too.
fn config(with_extra: bool) -> String {
    let mut c = String::from(
        "[server]\nlisten = [\"127.0.0.1:0\"]\nthreads = 1\n[zones]\ndirectory = \"zones\"\n\
         [datacenters.a]\n[datacenters.b]\n\
         [[balance]]\nname = \"app.big.example\"\npolicy = \"all\"\nanswers = 3\nendpoints = [\n\
         { address = \"192.0.2.11\", datacenter = \"a\" },\n\
         { address = \"192.0.2.12\", datacenter = \"b\" },\n\
         { address = \"192.0.2.13\", datacenter = \"b\" },\n]\n",
    );
    if with_extra {
        c.push_str(
            "[[balance]]\nname = \"extra.big.example\"\npolicy = \"all\"\nendpoints = [\n\
             { address = \"192.0.2.21\", datacenter = \"a\" },\n]\n",
        );
    }
    c
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn every_query_is_answered_while_zones_and_config_reload() {
    let s = start_config(&config(false), &[("big.example.zone", &big_zone("v1"))]).await;
    let udp_addr = s.udp;
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let queries = {
        let (stop, failures) = (stop.clone(), failures.clone());
        std::thread::spawn(move || {
            let mut sent = 0usize;
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                i = (i + 7919) % RECORDS;
                let (name, want) = if sent.is_multiple_of(2) {
                    (format!("host{i}.big.example."), vec![host_addr(i)])
                } else {
                    (
                        "app.big.example.".to_string(),
                        vec![
                            "192.0.2.11".into(),
                            "192.0.2.12".into(),
                            "192.0.2.13".into(),
                        ],
                    )
                };
                sent += 1;
                let q = query(&name, RecordType::A, false);
                match udp_within(udp_addr, &q, Duration::from_secs(1)) {
                    None => failures
                        .lock()
                        .unwrap()
                        .push(format!("query {sent} ({name}): no answer within 1 s")),
                    Some(r) => {
                        let got = sorted(addrs(&r));
                        if r.metadata.response_code != ResponseCode::NoError || got != want {
                            failures.lock().unwrap().push(format!(
                                "query {sent} ({name}): {:?} {got:?}, want {want:?}",
                                r.metadata.response_code
                            ));
                        }
                    }
                }
            }
            sent
        })
    };
    let version = || {
        let r = udp(
            s.udp,
            &query("version.big.example.", RecordType::TXT, false),
        );
        answers(&r, RecordType::TXT)
    };
    assert_eq!(version(), vec!["v1"]);
    let zone_file = s.dir.path().join("zones/big.example.zone");
    // The zone changes: read again (200,000 records) while the queries go on.
    for v in ["v2", "v3"] {
        std::fs::write(&zone_file, big_zone(v)).unwrap();
        s.server().control.reload().await.unwrap();
        assert_eq!(version(), vec![v]);
    }
    // The configuration changes: a balanced name more, the zone shared.
    for with_extra in [true, false] {
        std::fs::write(s.config_path(), config(with_extra)).unwrap();
        s.server().control.reload().await.unwrap();
        let r = udp(s.udp, &query("extra.big.example.", RecordType::A, false));
        let want = if with_extra {
            vec!["192.0.2.21".to_string()]
        } else {
            vec![]
        };
        assert_eq!(addrs(&r), want);
    }
    stop.store(true, Ordering::Relaxed);
    let sent = tokio::task::spawn_blocking(move || queries.join().unwrap())
        .await
        .unwrap();
    let failures = std::mem::take(&mut *failures.lock().unwrap());
    assert!(sent > 0, "no query was sent");
    assert!(
        failures.is_empty(),
        "{} of {sent} queries failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
    s.stop().await;
}

const SMALL_ZONE: &str = "$ORIGIN small.example.\n$TTL 300\n@ SOA ns1 h 1 3600 600 604800 60\n\
                          @ NS ns1\nns1 A 192.0.2.1\n$INCLUDE pieces/www.inc\n";

/// (reused, loaded) so far, from /metrics.
async fn reuse_counts(s: &TestServer) -> (f64, f64) {
    let (_, text) = admin_get(s, "/metrics").await;
    let get = |m: &str| metric(&text, m).unwrap_or_else(|| panic!("{m} missing:\n{text}"));
    (
        get("gslb_zones_reused_total"),
        get("gslb_zones_loaded_total"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_reads_only_the_zones_whose_files_changed() {
    let other = "$ORIGIN other.example.\n$TTL 300\n@ SOA ns1 h 1 3600 600 604800 60\n\
                 @ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.50\n";
    let s = start_config(
        &config(false).replace("app.big.example", "app.small.example"),
        &[
            ("small.example.zone", SMALL_ZONE),
            ("pieces/www.inc", "www A 192.0.2.80\n"),
            ("other.example.zone", other),
        ],
    )
    .await;
    let www = |name: &str| addrs(&udp(s.udp, &query(name, RecordType::A, false)));
    let zones = s.dir.path().join("zones");
    assert_eq!(reuse_counts(&s).await, (0.0, 0.0));

    // Nothing changed: both zones are the running copies.
    s.server().control.reload().await.unwrap();
    assert_eq!(reuse_counts(&s).await, (2.0, 0.0));

    // The included piece changes: its zone is read again, the other one is not.
    std::fs::write(zones.join("pieces/www.inc"), "www A 192.0.2.81\n").unwrap();
    s.server().control.reload().await.unwrap();
    assert_eq!(reuse_counts(&s).await, (3.0, 1.0));
    assert_eq!(www("www.small.example."), vec!["192.0.2.81"]);
    assert_eq!(www("www.other.example."), vec!["192.0.2.50"]);
    // The balanced name is attached to the new copy as to the old.
    assert_eq!(www("app.small.example.").len(), 3);

    // The other zone's file is rewritten with the same bytes (a deployment that copies every
    // file): still unchanged, still shared.
    std::fs::write(zones.join("other.example.zone"), other).unwrap();
    std::fs::write(
        zones.join("small.example.zone"),
        SMALL_ZONE.replace("192.0.2.1", "192.0.2.2"),
    )
    .unwrap();
    s.server().control.reload().await.unwrap();
    assert_eq!(reuse_counts(&s).await, (4.0, 2.0));
    assert_eq!(www("ns1.small.example."), vec!["192.0.2.2"]);
    assert_eq!(www("www.other.example."), vec!["192.0.2.50"]);

    // A new zone is loaded; a rejected reload counts nothing.
    std::fs::write(
        zones.join("new.example.zone"),
        other.replace("other.example.", "new.example."),
    )
    .unwrap();
    s.server().control.reload().await.unwrap();
    assert_eq!(reuse_counts(&s).await, (6.0, 3.0));
    std::fs::write(zones.join("new.example.zone"), "not a zone\n").unwrap();
    s.server().control.reload().await.unwrap_err();
    assert_eq!(reuse_counts(&s).await, (6.0, 3.0));
    assert_eq!(www("www.new.example."), vec!["192.0.2.50"]);
    s.stop().await;
}
