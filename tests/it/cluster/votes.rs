//! Health by vote: one instance's bad view of an endpoint (its own `check_address` at an address
//! nothing listens on) does not fail it over under `majority`, while a real failure (the backend
//! stopped) fails it over everywhere; a SIGKILLed instance leaves the vote once its lease lapses.

use std::time::Instant;

use super::*;
use crate::harness::etcd::Etcd;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_alone_seeing_an_endpoint_down_does_not_fail_it_over_a_real_failure_does() {
    let net = 32;
    let etcd = Etcd::start(3).await;
    let mut b = backends(net).await;
    let eps = endpoints(net);
    let (e1, e2) = (eps[0].as_str(), eps[1].as_str());
    let mut confs: Vec<Conf> = (1..=3)
        .map(|i| Conf::new(net, i, b[0].addr.port(), etcd.client_urls()))
        .collect();
    // ns1 probes e2 at an address nothing listens on: only its own view of e2 is bad.
    confs[0].check_address = Some((e2.to_string(), format!("127.0.{net}.99")));
    let nodes: Vec<Node> = confs.iter().map(Node::start).collect();
    let refs: Vec<&Node> = nodes.iter().collect();
    until_store_up(&refs).await;
    until_members(&refs, &["ns1", "ns2", "ns3"]).await;

    // Every instance sees ns1's "down" vote on e2, and each still answers e2.
    let want: BTreeSet<(String, String)> = [("ns1", "down"), ("ns2", "up"), ("ns3", "up")]
        .map(|(i, v)| (i.to_string(), v.to_string()))
        .into();
    for n in &nodes {
        let what = format!("ns1's lone down vote on {e2} seen by {}", n.id);
        eventually_async(WITHIN, &what, || async {
            seen(voters(n, e2).await, |v| *v == want)
        })
        .await;
    }
    let all = all_but(&eps, &[]);
    for n in &nodes {
        assert_eq!(n.answer(), all, "{} failed e2 over on one vote", n.id);
        let row = n.votes(e2).await.unwrap();
        assert_eq!(row["down"], 1, "{row}");
        assert_eq!(row["voters"], 3, "{row}");
        assert_eq!(row["needed"], 2, "{row}");
        assert_eq!(row["state"], "up", "{row}");
        let rule = row["rule"].as_str().unwrap_or_default();
        assert!(
            rule.contains("1 of 3 instances sees it down; majority needs 2: up"),
            "{rule}"
        );
        let (_, body) = n.get("/v1/status").await;
        assert_eq!(
            status_state(&json(&body), NAME, e2).as_deref(),
            Some("up"),
            "{}'s /v1/status shows the quorum result",
            n.id
        );
    }
    // explain, as an operator reads it on ns1, gives the arithmetic.
    let (code, out, err) = run_gslb(vec![
        "explain".into(),
        NAME.trim_end_matches('.').into(),
        "--admin".into(),
        format!("http://{}", nodes[0].admin),
    ])
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("votes: 1 of 3 instances sees it down; majority needs 2: up"),
        "{out}"
    );

    // A real failure: e1's backend stops, every instance sees it, every one fails it over.
    b[0].stop();
    until_answers(&refs, &all_but(&eps, &[e1]), "e1 failed over everywhere").await;
    // (The answers move on the second down vote; the third follows on its own probes.)
    for n in &nodes {
        let what = format!("three down votes on {e1} seen by {}", n.id);
        let row = eventually_async(WITHIN, &what, || async {
            seen(n.votes(e1).await.unwrap_or_default(), |r| r["down"] == 3)
        })
        .await;
        assert_eq!(row["state"], "down", "{} {row}", n.id);
        assert_eq!(row["needed"], 2, "{} {row}", n.id);
    }
    b[0].restart();
    until_answers(&refs, &all, "e1 back everywhere").await;
    // ns1 still disagrees about e2 and has not failed it over at any point above.
    assert_eq!(voters(&nodes[1], e2).await, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_leaves_the_vote_when_its_lease_lapses() {
    let net = 33;
    let etcd = Etcd::start(3).await;
    let b = backends(net).await;
    let mut nodes = three(net, b[0].addr.port(), &etcd.client_urls()).await;
    let eps = endpoints(net);
    for ep in &eps {
        eventually_async(WITHIN, &format!("three votes on {ep}"), || async {
            seen(voters(&nodes[0], ep).await, |v| v.len() == 3)
        })
        .await;
    }
    let member_key = format!("{PREFIX}/members/ns3");
    let stored = etcd.get(&member_key).await.expect("ns3's member key");
    let m = json(&stored);
    assert_eq!(m["instance"], "ns3", "{stored}");
    let listen = m["listen"].as_array().cloned().unwrap_or_default();
    let ip = node_ip(net, 3);
    assert!(
        listen
            .iter()
            .any(|a| a.as_str().is_some_and(|a| a.contains(&ip))),
        "ns3 listens on {ip}: {stored}"
    );
    assert_eq!(
        nodes[0].metric("gslb_cluster_members").await,
        Some(3.0),
        "ns1's member gauge"
    );

    let t0 = Instant::now();
    nodes[2].kill();
    let (ns1, ns2) = (&nodes[0], &nodes[1]);
    until_members(&[ns1, ns2], &["ns1", "ns2"]).await;
    let lapsed = t0.elapsed();
    for n in [ns1, ns2] {
        for ep in &eps {
            let v = voters(n, ep).await;
            assert!(!v.iter().any(|(i, _)| i == "ns3"), "{}: {ep}: {v:?}", n.id);
            let row = n.votes(ep).await.unwrap();
            assert_eq!(row["voters"], 2, "{row}");
        }
        assert_eq!(n.metric("gslb_cluster_members").await, Some(2.0));
    }
    assert_eq!(etcd.get(&member_key).await, None);
    let ns3_votes: Vec<(String, String)> = etcd
        .get_prefix(&format!("{PREFIX}/votes/"))
        .await
        .into_iter()
        .filter(|(k, _)| k.ends_with("/ns3"))
        .collect();
    assert!(ns3_votes.is_empty(), "{ns3_votes:?}");
    eprintln!(
        "cluster: a SIGKILLed instance left the member list {lapsed:?} after the kill (lease_ttl {LEASE})"
    );
    // The rest go on answering every endpoint.
    until_answers(&[ns1, ns2], &all_but(&eps, &[]), "answers after ns3 left").await;
}
