//! Drains are cluster-wide: a drain through one instance is stored in etcd and leaves every
//! instance's answers; an undrain through another brings it back everywhere. The propagation
//! latency (from the call to another instance's answer) is measured and printed, not asserted.

use std::time::{Duration, Instant};

use super::*;
use crate::harness::etcd::Etcd;

/// How many drain/undrain rounds the latency figures come from.
const ROUNDS: usize = 10;

/// Polls `node` every millisecond until it answers `want`; how long that took since `t0`. (A
/// measurement, so finer than `eventually`'s 10 ms polls; the deadline is the same.)
async fn answered_at(node: &Node, want: &[String], t0: Instant) -> Duration {
    let deadline = t0 + WITHIN;
    loop {
        if node.answer() == want {
            return t0.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "{} still answers {:?}, not {want:?}",
            node.id,
            node.answer()
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    eprintln!(
        "cluster drain propagation, {what}: n={} p50={:?} p99={:?} max={:?}",
        samples.len(),
        percentile(&samples, 50),
        percentile(&samples, 99),
        samples[samples.len() - 1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_through_one_instance_reaches_every_instance_and_an_undrain_through_another_too() {
    let net = 31;
    let etcd = Etcd::start(3).await;
    let b = backends(net).await;
    let nodes = three(net, b[0].addr.port(), &etcd.client_urls()).await;
    let [ns1, ns2, ns3] = [&nodes[0], &nodes[1], &nodes[2]];
    let eps = endpoints(net);
    let e1 = eps[0].as_str();
    let all = all_but(&eps, &[]);
    let without = all_but(&eps, &[e1]);

    let w0 = [
        drain_writes(ns1).await,
        drain_writes(ns2).await,
        drain_writes(ns3).await,
    ];
    let (mut drain, mut undrain) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let t0 = Instant::now();
        let (code, body) = ns1.post(&format!("/v1/endpoints/{e1}/drain")).await;
        assert_eq!(code, 200, "drain on ns1: {body}");
        // The call returns once ns1 itself answers without it.
        assert_eq!(ns1.answer(), without, "ns1 right after its drain call");
        drain.push(answered_at(ns2, &without, t0).await);
        drain.push(answered_at(ns3, &without, t0).await);

        if round == 0 {
            let stored = etcd
                .get(&format!("{PREFIX}/drains"))
                .await
                .expect("the drain set in etcd");
            let v = json(&stored);
            assert_eq!(v["endpoints"], serde_json::json!([e1]), "{stored}");
            for n in [ns2, ns3] {
                let d = &n.cluster().await["drains"]["endpoints"];
                assert_eq!(*d, serde_json::json!([e1]), "drains on {}", n.id);
                until_status_state_at(n, e1, "drained").await;
                // The instance's state_directory follows etcd (its cache for a start
                // without etcd).
                let cache = std::fs::read_to_string(n.dir.path().join("state/drained.json"))
                    .unwrap_or_default();
                assert!(cache.contains(e1), "{}'s drained.json: {cache:?}", n.id);
            }
        }

        let t0 = Instant::now();
        let (code, body) = ns3.post(&format!("/v1/endpoints/{e1}/undrain")).await;
        assert_eq!(code, 200, "undrain on ns3: {body}");
        assert_eq!(ns3.answer(), all, "ns3 right after its undrain call");
        undrain.push(answered_at(ns1, &all, t0).await);
        undrain.push(answered_at(ns2, &all, t0).await);
    }
    let stored = json(&etcd.get(&format!("{PREFIX}/drains")).await.unwrap());
    assert_eq!(stored["endpoints"], serde_json::json!([]), "{stored}");
    report("drain on ns1 -> ns2, ns3", drain);
    report("undrain on ns3 -> ns1, ns2", undrain);

    // A data center too: drained through ns2, out of every answer; undrained through ns1.
    let (code, body) = ns2.post("/v1/datacenters/eu/drain").await;
    assert_eq!(code, 200, "{body}");
    let no_eu = all_but(&eps, &[eps[2].as_str()]);
    until_answers(&[ns1, ns2, ns3], &no_eu, "eu out everywhere").await;
    let stored = json(&etcd.get(&format!("{PREFIX}/drains")).await.unwrap());
    assert_eq!(stored["datacenters"], serde_json::json!(["eu"]), "{stored}");
    let (code, body) = ns1.post("/v1/datacenters/eu/undrain").await;
    assert_eq!(code, 200, "{body}");
    until_answers(&[ns1, ns2, ns3], &all, "eu back everywhere").await;

    // Every drain was written by the instance that took the call.
    for (n, at_start, calls) in [
        (ns1, w0[0], ROUNDS + 1),
        (ns2, w0[1], 1),
        (ns3, w0[2], ROUNDS),
    ] {
        let now = drain_writes(n).await;
        assert!(
            now - at_start >= calls as f64,
            "{}: {calls} drain calls, {} drain writes",
            n.id,
            now - at_start
        );
    }
}

/// `gslb_cluster_writes_total{kind="drain"}` on `n` (0 before the first).
async fn drain_writes(n: &Node) -> f64 {
    n.metric("gslb_cluster_writes_total{kind=\"drain\"}")
        .await
        .unwrap_or(0.0)
}

/// Waits until `/v1/status` on `n` shows `ep` of the balanced name in `state`.
async fn until_status_state_at(n: &Node, ep: &str, state: &str) {
    let what = format!("{ep} {state} in {}'s /v1/status", n.id);
    eventually_async(WITHIN, &what, || async {
        let (_, body) = n.get("/v1/status").await;
        seen(status_state(&json(&body), NAME, ep), |s| {
            s.as_deref() == Some(state)
        })
    })
    .await;
}
