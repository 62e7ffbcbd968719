//! Membership and identity: a second live instance with a held id exits 1 naming the holder; a
//! newcomer whose id is held by a SIGKILLed instance waits for its lease, logging it, then
//! starts; a SIGTERMed instance revokes its lease so a restart never waits; instances whose
//! shared configuration differs raise `config_mismatch`.

use std::time::Instant;

use super::*;
use crate::harness::etcd::Etcd;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_held_by_a_live_instance_stops_the_newcomer_and_a_crashed_holder_is_waited_for() {
    let net = 36;
    let etcd = Etcd::start(3).await;
    let b = backends(net).await;
    let port = b[0].addr.port();
    let conf = Conf::new(net, 1, port, etcd.client_urls());
    let mut holder = Node::start(&conf);
    until_store_up(&[&holder]).await;
    until_members(&[&holder], &["ns1"]).await;

    // The same id on another address while the holder renews its lease: exit 1, naming it.
    let mut twin = conf.clone();
    twin.ip = node_ip(net, 2);
    let (_dir, path) = twin.write();
    let (mut child, log) = spawn_logged(serve_command(&path));
    let status = child.wait_exit(WITHIN, "the twin to give up");
    let said = log.lock().unwrap().join("\n");
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(
        said.contains("instance id \"ns1\" is held by a live instance"),
        "{said}"
    );
    assert!(!said.contains(" serving"), "the twin served: {said}");
    // The holder is untouched: still the one member, with its own addresses.
    until_members(&[&holder], &["ns1"]).await;
    let me = &holder.cluster().await["members"][0];
    assert_eq!(me["self"], true, "{me}");
    assert!(me["listen"].to_string().contains(&conf.ip), "{me}");

    // A crashed holder (SIGKILL: its lease is not revoked): the newcomer waits, then starts.
    holder.kill();
    let t0 = Instant::now();
    let newcomer = Node::start(&twin);
    let waited = t0.elapsed();
    let said = newcomer.logged();
    let wait_line = said
        .lines()
        .find(|l| l.contains("waiting for instance id to be released"))
        .unwrap_or_else(|| panic!("no wait logged:\n{said}"));
    assert!(wait_line.contains("holder="), "{wait_line}");
    eprintln!("cluster: the newcomer waited {waited:?} for a crashed holder (lease_ttl {LEASE})");
    until_store_up(&[&newcomer]).await;
    until_members(&[&newcomer], &["ns1"]).await;
    let me = &newcomer.cluster().await["members"][0];
    assert_eq!(me["self"], true, "{me}");
    assert!(me["listen"].to_string().contains(&twin.ip), "{me}");

    // SIGTERM revokes the lease: a restart with the same id starts without waiting.
    let mut newcomer = newcomer;
    newcomer.stop();
    let stopped = newcomer.logged();
    let again = Node::start(&conf);
    let said = again.logged();
    assert!(
        !said.contains("waiting for instance id to be released"),
        "a clean stop left its lease behind:\n{said}\n--- the stopped instance logged:\n{stopped}"
    );
    until_members(&[&again], &["ns1"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_with_different_shared_configuration_raise_config_mismatch() {
    let net = 37;
    let etcd = Etcd::start(1).await;
    let b = backends(net).await;
    let port = b[0].addr.port();
    let mut confs: Vec<Conf> = (1..=2)
        .map(|i| Conf::new(net, i, port, etcd.client_urls()))
        .collect();
    // Per-instance keys (its addresses, identity, instance, check_address) differ anyway; the
    // hash must not see them.
    confs[1].check_address = Some((endpoints(net)[0].clone(), endpoints(net)[0].clone()));
    let nodes = start_all(&confs).await;
    let refs: Vec<&Node> = nodes.iter().collect();
    for n in &refs {
        let c = n.cluster().await;
        assert_eq!(c["config_mismatch"], false, "{}: {c}", n.id);
        assert_eq!(n.metric("gslb_cluster_config_mismatch").await, Some(0.0));
    }
    let hashes: Vec<String> = nodes[0].cluster().await["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["config_hash"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(hashes.len(), 2);
    assert_eq!(hashes[0], hashes[1], "per-instance keys changed the hash");

    // A third whose zone differs: every instance sees the mismatch.
    let mut odd = Conf::new(net, 3, port, etcd.client_urls());
    odd.zone_extra = "extra TXT \"only on ns3\"\n".to_string();
    let ns3 = Node::start(&odd);
    for n in refs.iter().copied().chain([&ns3]) {
        eventually_async(WITHIN, &format!("{} to see the mismatch", n.id), || async {
            seen(n.metric("gslb_cluster_config_mismatch").await, |v| {
                *v == Some(1.0)
            })
        })
        .await;
        assert_eq!(n.cluster().await["config_mismatch"], true, "{}", n.id);
    }
}
