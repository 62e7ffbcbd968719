//! etcd losing its quorum (two of three members SIGKILLed): every instance keeps answering as
//! before, a drain answers 503 and changes nothing anywhere; once the members are restarted,
//! drains work again without restarting any gslb.

use super::*;
use crate::harness::etcd::Etcd;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_quorum_lost_keeps_answers_refuses_drains_and_recovers_without_a_restart() {
    let net = 34;
    let mut etcd = Etcd::start(3).await;
    let b = backends(net).await;
    let nodes = three(net, b[0].addr.port(), &etcd.client_urls()).await;
    let refs: Vec<&Node> = nodes.iter().collect();
    let eps = endpoints(net);
    let all = all_but(&eps, &[]);
    let e1 = eps[0].as_str();
    for n in &refs {
        assert_eq!(
            n.metric("gslb_cluster_store_up").await,
            Some(1.0),
            "{}",
            n.id
        );
    }

    etcd.kill(0);
    etcd.kill(1);
    // Every store notices; every answer stays as it was all along.
    for n in &refs {
        eventually_async(WITHIN, &format!("{}'s store down", n.id), || async {
            for m in &refs {
                assert_eq!(m.answer(), all, "{} changed its answer", m.id);
            }
            seen(n.metric("gslb_cluster_store_up").await, |v| *v == Some(0.0))
        })
        .await;
        let state = n.store_state().await;
        assert_ne!(state, "up", "{}", n.id);
    }
    let (code, body) = nodes[1].post(&format!("/v1/endpoints/{e1}/drain")).await;
    assert_eq!(code, 503, "a drain without a quorum: {body}");
    assert_error(&body, "the cluster store cannot take the write");
    for n in &refs {
        assert_eq!(n.answer(), all, "{} applied a drain etcd refused", n.id);
        let (_, st) = n.get("/v1/status").await;
        assert_eq!(
            status_state(&json(&st), NAME, e1).as_deref(),
            Some("up"),
            "{}",
            n.id
        );
    }

    etcd.restart(0).await;
    etcd.restart(1).await;
    until_store_up(&refs).await;
    // The same gslb processes take drains again.
    let (code, body) = nodes[1].post(&format!("/v1/endpoints/{e1}/drain")).await;
    assert_eq!(code, 200, "a drain after etcd recovered: {body}");
    until_answers(&refs, &all_but(&eps, &[e1]), "the drain everywhere").await;
    let (code, body) = nodes[2].post(&format!("/v1/endpoints/{e1}/undrain")).await;
    assert_eq!(code, 200, "{body}");
    until_answers(&refs, &all, "the undrain everywhere").await;
    until_members(&refs, &["ns1", "ns2", "ns3"]).await;
    for n in &refs {
        assert_eq!(
            n.metric("gslb_cluster_store_up").await,
            Some(1.0),
            "{}",
            n.id
        );
    }
}
