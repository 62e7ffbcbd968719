//! An instance cut off from etcd (a TCP proxy between it and its member, cut by the test): it
//! freezes its shared view and keeps answering; another instance drains meanwhile and the
//! history is compacted; once the proxy is restored, it resynchronises from a fresh read (the
//! drain appears, `gslb_cluster_resyncs_total` grows) and takes writes again.

use super::*;
use crate::harness::etcd::Etcd;
use crate::harness::tcp_proxy::TcpProxy;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_cut_off_from_etcd_freezes_then_resynchronises_after_a_compaction() {
    let net = 35;
    let etcd = Etcd::start(3).await;
    let b = backends(net).await;
    let eps = endpoints(net);
    let e1 = eps[0].as_str();
    let all = all_but(&eps, &[]);
    let mut proxy = TcpProxy::start(&node_ip(net, 100), etcd.client_addr(0));
    let mut confs: Vec<Conf> = (1..=3)
        .map(|i| Conf::new(net, i, b[0].addr.port(), etcd.client_urls()))
        .collect();
    confs[2].etcd = vec![proxy.url()];
    confs[2].cluster = "on_store_loss = \"freeze\"\nfreeze_max = \"5m\"\n".to_string();
    let nodes = start_all(&confs).await;
    let [ns1, ns2, ns3] = [&nodes[0], &nodes[1], &nodes[2]];
    let resyncs_before = ns3.resyncs().await;
    let api_resyncs_before = ns3.cluster().await["store"]["resyncs"]
        .as_u64()
        .unwrap_or(0);

    proxy.cut();
    eventually_async(WITHIN, "ns3's store frozen", || async {
        assert_eq!(ns3.answer(), all, "ns3's answers moved when etcd went");
        seen(ns3.store_state().await, |s| s == "frozen")
    })
    .await;
    assert_eq!(ns3.metric("gslb_cluster_store_up").await, Some(0.0));
    assert!(
        ns3.logged().contains("cluster store lost"),
        "{}",
        ns3.logged()
    );
    // ns3 cannot write: its drain is refused, nothing changes.
    let (code, body) = ns3.post(&format!("/v1/endpoints/{e1}/drain")).await;
    assert_eq!(code, 503, "a drain from a partitioned instance: {body}");
    assert_eq!(ns1.answer(), all);

    // Meanwhile ns1 drains e1, and etcd's history is compacted past ns3's last revision.
    let (code, body) = ns1.post(&format!("/v1/endpoints/{e1}/drain")).await;
    assert_eq!(code, 200, "{body}");
    let without = all_but(&eps, &[e1]);
    until_answers(&[ns1, ns2], &without, "the drain on ns1 and ns2").await;
    for i in 0..20 {
        etcd.put(&format!("/other/{i}"), "churn").await;
    }
    etcd.compact().await;
    // Frozen: ns3 keeps its last shared view.
    assert_eq!(ns3.answer(), all, "a frozen instance learned of a drain");
    assert_eq!(ns3.store_state().await, "frozen");

    proxy.restore();
    until_answers(
        &[ns3],
        &without,
        "ns3 to pick up the drain after the partition",
    )
    .await;
    until_store_up(&[ns3]).await;
    eventually_async(WITHIN, "ns3's resync counted", || async {
        seen(ns3.resyncs().await, |n| *n > resyncs_before)
    })
    .await;
    let api_resyncs = ns3.cluster().await["store"]["resyncs"]
        .as_u64()
        .unwrap_or(0);
    assert!(api_resyncs > api_resyncs_before, "{api_resyncs}");
    assert!(
        ns3.logged().contains("cluster store connected"),
        "{}",
        ns3.logged()
    );
    until_members(&[ns1, ns2, ns3], &["ns1", "ns2", "ns3"]).await;

    // And it writes again: its undrain reaches every instance.
    let (code, body) = ns3.post(&format!("/v1/endpoints/{e1}/undrain")).await;
    assert_eq!(code, 200, "{body}");
    until_answers(&[ns1, ns2, ns3], &all, "the undrain from ns3 everywhere").await;
}
