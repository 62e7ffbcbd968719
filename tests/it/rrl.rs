//! Response rate limiting over real UDP: one source block flooding one answer gets its rate,
//! the rest slipped (TC=1) or dropped, while another /24, TCP and exempt clients are untouched.

use std::net::{IpAddr, UdpSocket};
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use crate::harness::*;

/// Reads `n` replies (already sent by the server) from `sock`.
fn replies(sock: &UdpSocket, n: u64) -> Vec<Message> {
    let mut buf = vec![0u8; 65535];
    (0..n)
        .map(|_| {
            let len = sock
                .recv(&mut buf)
                .expect("a reply the counters say was sent");
            parse(&buf[..len])
        })
        .collect()
}

const LIMITED: &str = r#"
[rrl]
exempt = []
responses_per_second = 5
nxdomains_per_second = 4
slip = 2
window = "2s"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_block_gets_its_rate_and_others_are_untouched() {
    let s = start_with("", LIMITED, &[("example.com.zone", ZONE)]).await;
    let queries: Vec<Message> = (0..60)
        .map(|_| query("www.example.com.", RecordType::A, true))
        .collect();
    let sock = flood("127.0.0.21", s.udp, &queries);
    let (sent, slipped, dropped) =
        eventually_async(Duration::from_secs(5), "60 answers counted", || async {
            let c = rrl_counts(&s, "answer").await;
            seen(c, |c| c.0 + c.1 + c.2 == 60)
        })
        .await;
    // 5 a second; the burst may straddle one second boundary.
    assert!((5..=10).contains(&sent), "sent {sent}");
    let limited = 60 - sent;
    assert_eq!(
        slipped,
        limited.div_ceil(2),
        "every 2nd limited answer slips"
    );
    assert_eq!(dropped, limited / 2);
    let got = replies(&sock, sent + slipped);
    let full = got.iter().filter(|m| !m.metadata.truncation).count() as u64;
    assert_eq!(full, sent, "full answers received");
    for m in got.iter().filter(|m| m.metadata.truncation) {
        // A slip: the question, TC=1, AA kept, no records (no larger than the query).
        assert!(m.answers.is_empty() && m.authorities.is_empty(), "{m:?}");
        assert!(m.metadata.authoritative);
        assert_eq!(m.queries.len(), 1);
        assert!(m.edns.is_some(), "OPT kept in a slip");
    }
    for m in got.iter().filter(|m| !m.metadata.truncation) {
        assert_eq!(addrs(m), ["192.0.2.80"]);
    }

    // Another /24 is another block: answered in full.
    let other = udp_from(
        "127.0.1.21".parse().unwrap(),
        s.udp,
        &query("www.example.com.", RecordType::A, true),
        Duration::from_secs(2),
    )
    .unwrap();
    assert_eq!(addrs(&other), ["192.0.2.80"]);
    assert!(!other.metadata.truncation);
    // TCP is never limited, from the limited block or anywhere.
    for _ in 0..10 {
        let t = tcp(s.tcp, &query("www.example.com.", RecordType::A, true));
        assert_eq!(addrs(&t), ["192.0.2.80"]);
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nxdomain_is_limited_per_zone_whatever_the_names() {
    let s = start_with("", LIMITED, &[("example.com.zone", ZONE)]).await;
    let queries: Vec<Message> = (0..40)
        .map(|i| query(&format!("nope{i}.example.com."), RecordType::A, true))
        .collect();
    let sock = flood("127.0.2.9", s.udp, &queries);
    let (sent, slipped, dropped) =
        eventually_async(Duration::from_secs(5), "40 NXDOMAIN counted", || async {
            let c = rrl_counts(&s, "nxdomain").await;
            seen(c, |c| c.0 + c.1 + c.2 == 40)
        })
        .await;
    assert!((4..=8).contains(&sent), "sent {sent}");
    assert_eq!(slipped + dropped, 40 - sent);
    let got = replies(&sock, sent + slipped);
    assert!(
        got.iter()
            .filter(|m| !m.metadata.truncation)
            .all(|m| m.metadata.response_code == ResponseCode::NXDomain)
    );
    // The positive class of the same block has its own buckets.
    let ok = udp_from(
        "127.0.2.9".parse().unwrap(),
        s.udp,
        &query("www.example.com.", RecordType::A, true),
        Duration::from_secs(2),
    )
    .unwrap();
    assert_eq!(addrs(&ok), ["192.0.2.80"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_is_exempt_by_default_and_log_only_sends_everything() {
    for (extra, counted) in [
        ("", false),
        (
            "[rrl]\nexempt = []\nresponses_per_second = 5\nlog_only = true\n",
            true,
        ),
    ] {
        let s = start_with("", extra, &[("example.com.zone", ZONE)]).await;
        let queries: Vec<Message> = (0..40)
            .map(|_| query("www.example.com.", RecordType::A, true))
            .collect();
        let sock = flood("127.0.0.31", s.udp, &queries);
        let got = replies(&sock, 40);
        assert!(
            got.iter()
                .all(|m| !m.metadata.truncation && addrs(m) == ["192.0.2.80"]),
            "{extra}: every answer in full"
        );
        let (sent, slipped, dropped) = if counted {
            eventually_async(Duration::from_secs(5), "40 answers counted", || async {
                let c = rrl_counts(&s, "answer").await;
                seen(c, |c| c.0 + c.1 + c.2 == 40)
            })
            .await
        } else {
            rrl_counts(&s, "answer").await
        };
        if counted {
            // log_only counts what it would have done.
            assert_eq!(sent + slipped + dropped, 40);
            assert!(slipped + dropped >= 30, "{sent}/{slipped}/{dropped}");
        } else {
            assert_eq!(
                (sent, slipped, dropped),
                (0, 0, 0),
                "exempt: not even counted"
            );
        }
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_tailored_to_an_ecs_network_are_limited_per_network() {
    // A resolver forwarding many client subnets: each subnet's geo answer has its own bucket.
    let config = format!(
        "{LIMITED}\n[datacenters.a]\nnetworks = [\"198.51.100.0/24\"]\n[datacenters.b]\nnetworks = [\"203.0.113.0/24\"]\n[datacenters.c]\nnetworks = [\"100.64.0.0/24\"]\n[[balance]]\nname = \"geo.example.com\"\npolicy = \"geo\"\nendpoints = [{{ address = \"192.0.2.10\", datacenter = \"a\" }}, {{ address = \"192.0.2.20\", datacenter = \"b\" }}, {{ address = \"192.0.2.30\", datacenter = \"c\" }}]\n"
    );
    let s = start_with("", &config, &[("example.com.zone", ZONE)]).await;
    let from: IpAddr = "127.0.3.3".parse().unwrap();
    // 15 answers from one block, 5 per network: one bucket would limit at least 5 of them even
    // across a second boundary; a bucket per network limits none.
    for net in ["198.51.100.0/24", "203.0.113.0/24", "100.64.0.0/24"] {
        for _ in 0..5 {
            let m = with_ecs(query("geo.example.com.", RecordType::A, true), net);
            let r = udp_from(from, s.udp, &m, Duration::from_secs(2)).unwrap();
            assert!(
                !r.metadata.truncation,
                "{net}: within its own bucket's rate"
            );
        }
    }
    let (sent, slipped, dropped) =
        eventually_async(Duration::from_secs(5), "15 answers counted", || async {
            let c = rrl_counts(&s, "answer").await;
            seen(c, |c| c.0 + c.1 + c.2 == 15)
        })
        .await;
    assert_eq!((sent, slipped + dropped), (15, 0));
    s.stop().await;
}
