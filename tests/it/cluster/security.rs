//! Security: TLS to etcd with a client certificate (members that require one, certificates made
//! by the harness with rcgen, instances given `ca_file`, `cert_file` and `key_file` relative to
//! their config file); etcd users limited to the prefix by the RBAC role docs/deployment.md
//! gives, with `username` and `password_file`; and without `[cluster]`, `/v1/cluster` is a 404.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_work_as_users_whose_role_is_limited_to_the_prefix() {
    let net = 39;
    let mut etcd = Etcd::start(1).await;
    // docs/deployment.md's commands ("TLS and a role limited to the prefix"), passwords inline.
    let grant = format!("{PREFIX}/");
    let setup: [&[&str]; 9] = [
        &["user", "add", "root:rootpw"],
        &["user", "grant-role", "root", "root"],
        &["role", "add", "gslb"],
        &[
            "role",
            "grant-permission",
            "gslb",
            "--prefix=true",
            "readwrite",
            &grant,
        ],
        &["user", "add", "gslb-ns1:pw1"],
        &["user", "grant-role", "gslb-ns1", "gslb"],
        &["user", "add", "gslb-ns2:pw2"],
        &["user", "grant-role", "gslb-ns2", "gslb"],
        &["auth", "enable"],
    ];
    for args in setup {
        etcd.etcdctl(args)
            .await
            .unwrap_or_else(|e| panic!("etcdctl {args:?}: {e}"));
    }
    etcd.login("root:rootpw");
    etcd.put("/other/key", "not gslb's").await;

    let b = backends(net).await;
    let mut nodes = Vec::new();
    for i in 1..=2u8 {
        let mut c = Conf::new(net, i, b[0].addr.port(), etcd.client_urls());
        c.cluster = format!("username = \"gslb-ns{i}\"\npassword_file = \"etcd-password\"\n");
        let (dir, path) = c.write();
        std::fs::write(dir.path().join("etcd-password"), format!("pw{i}\n")).unwrap();
        nodes.push(Node::start_in(&c, dir, &path));
    }
    let refs: Vec<&Node> = nodes.iter().collect();
    until_store_up(&refs).await;
    until_members(&refs, &["ns1", "ns2"]).await;
    let eps = endpoints(net);
    let e2 = eps[1].as_str();
    let (code, body) = nodes[1].post(&format!("/v1/endpoints/{e2}/drain")).await;
    assert_eq!(code, 200, "{body}");
    until_answers(
        &refs,
        &all_but(&eps, &[e2]),
        "the drain as gslb-ns2, on both",
    )
    .await;

    // Everything gslb wrote is under its prefix; the key outside it is untouched.
    let everything = etcd.get_prefix("").await;
    let outside: Vec<&(String, String)> = everything
        .iter()
        .filter(|(k, _)| !k.starts_with(&grant) && k != "/other/key")
        .collect();
    assert!(outside.is_empty(), "keys outside {grant}: {outside:?}");
    assert_eq!(etcd.get("/other/key").await.as_deref(), Some("not gslb's"));
    // And the role holds: gslb's user cannot read outside the prefix.
    let denied = etcd
        .etcdctl(&["--user=gslb-ns1:pw1", "get", "/other/key"])
        .await;
    let err = denied.expect_err("gslb-ns1 read outside its prefix");
    assert!(err.contains("permission denied"), "{err}");
}

#[tokio::test]
async fn without_cluster_the_cluster_api_is_a_404() {
    let s = start().await;
    let (code, body) = admin_get(&s, "/v1/cluster").await;
    assert_eq!(code, 404, "{body}");
    assert!(json(&body)["error"].is_string(), "{body}");
    s.stop().await;
}
