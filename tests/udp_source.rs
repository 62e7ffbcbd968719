//! A server bound to a wildcard address answers each UDP query from the address the query was
//! sent to (IP_PKTINFO / IPV6_PKTINFO), as resolvers with connected sockets require on
//! multi-homed hosts. Only loopback addresses are queried.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use gslb::server::{Bound, Server};
use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;

/// Queries `to` from a socket connected to it: the kernel drops replies from any other source.
fn ask_connected(from: &str, to: SocketAddr) -> Option<Message> {
    let s = UdpSocket::bind(from).unwrap();
    s.connect(to).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let q = common::query("www.example.com.", RecordType::A, true);
    s.send(&q.to_vec().unwrap()).unwrap();
    let mut buf = [0u8; 4096];
    let n = s.recv(&mut buf).ok()?;
    Message::from_vec(&buf[..n]).ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn wildcard_binds_answer_from_the_queried_address() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("zones")).unwrap();
    std::fs::write(dir.path().join("zones/example.com.zone"), common::ZONE).unwrap();
    let path = dir.path().join("gslb.toml");
    let v6 = UdpSocket::bind("[::1]:0").is_ok();
    let listen = if v6 {
        "[\"0.0.0.0:0\", \"[::]:0\"]"
    } else {
        "[\"0.0.0.0:0\"]"
    };
    std::fs::write(
        &path,
        format!("[server]\nlisten = {listen}\nthreads = 1\n[zones]\ndirectory = \"zones\"\n"),
    )
    .unwrap();
    let served = gslb::load::from_file(&path).unwrap();
    let cfg = served.config.server.clone();
    let bound = Bound::bind(&cfg.listen, cfg.threads).unwrap();
    let server = Server::start(bound, Arc::new(served), &path).await.unwrap();
    let port = server.udp_addrs[0].port();
    for to in ["127.0.0.1", "127.0.0.2", "127.0.0.77"] {
        let dest: SocketAddr = format!("{to}:{port}").parse().unwrap();
        let r = ask_connected("127.0.0.1:0", dest)
            .unwrap_or_else(|| panic!("no answer from {dest} (answered from another address?)"));
        assert_eq!(common::addrs(&r), vec!["192.0.2.80"], "via {dest}");
    }
    if v6 {
        let port6 = server.udp_addrs[1].port();
        let dest: SocketAddr = format!("[::1]:{port6}").parse().unwrap();
        let r = ask_connected("[::1]:0", dest).expect("answer over IPv6 from ::1");
        assert_eq!(common::addrs(&r), vec!["192.0.2.80"]);
    }
    server.shutdown().await;
}
