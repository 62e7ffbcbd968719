//! The cluster tests' fixtures tested on their own, so a failure in a cluster test is gslb's and
//! not the harness's: the etcd cluster keeps its quorum through one killed member, loses it with
//! two, comes back on restart, compacts; the proxy forwards, cuts (existing and new
//! connections) and restores; a TLS cluster takes the client certificate and refuses a client
//! without one.

use std::io::Read;
use std::time::Duration;

use crate::harness::etcd::Etcd;
use crate::harness::tcp_proxy::TcpProxy;
use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_cluster_survives_one_member_loses_quorum_with_two_and_compacts() {
    let mut etcd = Etcd::start(3).await;
    assert_eq!(etcd.client_urls().len(), 3);
    etcd.put("/t/a", "1").await;
    assert_eq!(etcd.get("/t/a").await.as_deref(), Some("1"));

    let pid = etcd.pid(0).expect("member 0 runs");
    etcd.kill(0);
    assert!(etcd.pid(0).is_none());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} still there"
    );
    // Two of three: still a quorum (after the election a killed leader costs).
    eventually_async(Duration::from_secs(10), "a write with 2 of 3", || {
        etcd.etcdctl(&["--command-timeout=1s", "put", "/t/b", "2"])
    })
    .await;

    etcd.kill(1);
    let lost = etcd
        .etcdctl(&["--command-timeout=1s", "put", "/t/c", "3"])
        .await;
    assert!(lost.is_err(), "a write with 1 of 3 succeeded: {lost:?}");

    etcd.restart(1).await;
    etcd.restart(0).await;
    eventually_async(
        Duration::from_secs(10),
        "a write after the restarts",
        || etcd.etcdctl(&["--command-timeout=1s", "put", "/t/c", "3"]),
    )
    .await;
    let all = etcd.get_prefix("/t/").await;
    let keys: Vec<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["/t/a", "/t/b", "/t/c"], "{all:?}");

    let before = etcd.revision().await;
    etcd.put("/t/a", "4").await;
    let compacted = etcd.compact().await;
    assert!(compacted > before);
    let old = etcd
        .etcdctl(&["get", "/t/a", &format!("--rev={before}")])
        .await;
    let err = old.expect_err("a read below the compacted revision");
    assert!(err.contains("compacted"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_forwards_cuts_every_connection_and_restores() {
    let etcd = Etcd::start(1).await;
    let mut proxy = TcpProxy::start("127.0.0.1", etcd.client_addr(0));
    let url = proxy.url();
    etcd.etcdctl_at(&url, &["put", "/p", "through"])
        .await
        .unwrap();
    assert_eq!(etcd.get("/p").await.as_deref(), Some("through"));

    // A connection open across the cut is closed by it; a new one is refused.
    let mut open = std::net::TcpStream::connect(proxy.addr).unwrap();
    eventually(Duration::from_secs(5), "the proxy to accept", || {
        seen(proxy.accepted(), |n| *n >= 2)
    });
    proxy.cut();
    open.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 16];
    let n = open.read(&mut buf);
    assert!(
        matches!(n, Ok(0) | Err(_)),
        "the connection survived: {n:?}"
    );
    eventually(Duration::from_secs(5), "new connections refused", || {
        std::net::TcpStream::connect(proxy.addr).map_or(Ok(()), |_| Err("accepted"))
    });
    let cut = etcd
        .etcdctl_at(&url, &["--dial-timeout=500ms", "get", "/p"])
        .await;
    assert!(cut.is_err(), "etcdctl got through a cut proxy: {cut:?}");

    proxy.restore();
    let got = etcd
        .etcdctl_at(&url, &["get", "/p", "--print-value-only"])
        .await
        .unwrap();
    assert_eq!(got.trim(), "through");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_cluster_takes_the_client_certificate_and_refuses_none() {
    let etcd = Etcd::start_tls(1).await;
    let url = etcd.client_url(0);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    etcd.put("/tls", "yes").await;
    assert_eq!(etcd.get("/tls").await.as_deref(), Some("yes"));

    let tls = etcd.tls().unwrap();
    let ca = tls.ca.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(which("etcdctl").unwrap())
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={url}"))
            .args(["--dial-timeout=1s", "--command-timeout=2s", "--cacert"])
            .arg(ca)
            .args(["get", "/tls"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        !out.status.success(),
        "no client certificate, yet: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
