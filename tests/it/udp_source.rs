//! A server bound to a wildcard address answers each UDP query from the address the query was
//! sent to (IP_PKTINFO / IPV6_PKTINFO), as resolvers with connected sockets require on
//! multi-homed hosts. Only loopback addresses are queried.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use hickory_proto::rr::RecordType;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn wildcard_binds_answer_from_the_queried_address() {
    let v6 = UdpSocket::bind("[::1]:0").is_ok();
    let listen = if v6 {
        "[\"0.0.0.0:0\", \"[::]:0\"]"
    } else {
        "[\"0.0.0.0:0\"]"
    };
    let config =
        format!("[server]\nlisten = {listen}\nthreads = 1\n[zones]\ndirectory = \"zones\"\n");
    let s = start_config(&config, &[("example.com.zone", ZONE)]).await;
    let udp_addrs = &s.server().udp_addrs;
    // The harness's UDP client is connected to the address it queries: the kernel drops a reply
    // from any other source, so an answer proves it came from the queried address.
    let ask = |dest: SocketAddr| {
        let q = query("www.example.com.", RecordType::A, true);
        udp_within(dest, &q, Duration::from_secs(2))
    };
    let port = udp_addrs[0].port();
    for to in ["127.0.0.1", "127.0.0.2", "127.0.0.77"] {
        let dest: SocketAddr = format!("{to}:{port}").parse().unwrap();
        let r = ask(dest)
            .unwrap_or_else(|| panic!("no answer from {dest} (answered from another address?)"));
        assert_eq!(addrs(&r), vec!["192.0.2.80"], "via {dest}");
    }
    if v6 {
        let dest: SocketAddr = format!("[::1]:{}", udp_addrs[1].port()).parse().unwrap();
        let r = ask(dest).expect("answer over IPv6 from ::1");
        assert_eq!(addrs(&r), vec!["192.0.2.80"]);
    }
    s.stop().await;
}
