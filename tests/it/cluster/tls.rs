//! TLS to etcd with a client certificate: members that require one (certificates made by the
//! harness with rcgen), instances given `ca_file`, `cert_file` and `key_file` relative to their
//! config file; and without `[cluster]`, `/v1/cluster` is a 404.

use super::*;
use crate::harness::etcd::Etcd;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_reach_etcd_over_tls_with_a_client_certificate() {
    let net = 38;
    let etcd = Etcd::start_tls(3).await;
    let urls = etcd.client_urls();
    assert!(urls.iter().all(|u| u.starts_with("https://")), "{urls:?}");
    let tls = etcd.tls().unwrap();
    let b = backends(net).await;
    let mut nodes = Vec::new();
    for i in 1..=2 {
        let mut c = Conf::new(net, i, b[0].addr.port(), urls.clone());
        c.cluster = "ca_file = \"tls/ca.pem\"\ncert_file = \"tls/client.pem\"\n\
                     key_file = \"tls/client-key.pem\"\n"
            .to_string();
        let (dir, path) = c.write();
        let to = dir.path().join("tls");
        std::fs::create_dir(&to).unwrap();
        for f in [&tls.ca, &tls.client_cert, &tls.client_key] {
            std::fs::copy(f, to.join(f.file_name().unwrap())).unwrap();
        }
        nodes.push(Node::start_in(&c, dir, &path));
    }
    let refs: Vec<&Node> = nodes.iter().collect();
    until_store_up(&refs).await;
    until_members(&refs, &["ns1", "ns2"]).await;
    let eps = endpoints(net);
    until_answers(&refs, &all_but(&eps, &[]), "every endpoint answered").await;

    let e3 = eps[2].as_str();
    let (code, body) = nodes[0].post(&format!("/v1/endpoints/{e3}/drain")).await;
    assert_eq!(code, 200, "{body}");
    until_answers(&refs, &all_but(&eps, &[e3]), "the drain over TLS on both").await;
    let stored = json(&etcd.get(&format!("{PREFIX}/drains")).await.unwrap());
    assert_eq!(stored["endpoints"], serde_json::json!([e3]), "{stored}");
    let members = etcd.get_prefix(&format!("{PREFIX}/members/")).await;
    assert_eq!(members.len(), 2, "{members:?}");
}

#[tokio::test]
async fn without_cluster_the_cluster_api_is_a_404() {
    let s = start().await;
    let (code, body) = admin_get(&s, "/v1/cluster").await;
    assert_eq!(code, 404, "{body}");
    assert!(json(&body)["error"].is_string(), "{body}");
    s.stop().await;
}
