//! Connection limits under attack, over real sockets with clients on distinct 127.x source
//! addresses: DNS over TCP (per-client cap, longest-idle eviction, the I/O timeout for half
//! queries and for answers nobody reads) and the admin API (connection cap, slow headers and
//! bodies, idle keep-alive, cross-site calls). Each attack checks that UDP, and other clients,
//! are still answered while it runs.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use hickory_proto::op::Message;
use hickory_proto::rr::RecordType::{A, TXT};

use crate::harness::*;

const SECS: fn(u64) -> Duration = Duration::from_secs;

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

fn www() -> Message {
    query("www.example.com.", A, false)
}

/// One framed DNS query on `s`.
fn send(s: &mut TcpStream, m: &Message) -> io::Result<()> {
    let p = m.to_vec().unwrap();
    let mut out = (p.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(&p);
    s.write_all(&out)
}

/// Asks `m` on `s` and returns the answer's addresses.
fn ask(s: &mut TcpStream, m: &Message) -> io::Result<Vec<String>> {
    send(s, m)?;
    Ok(addrs(&parse(&tcp_read(s)?)))
}

/// A connection from `from` that has had one answer, so the server holds it in its table.
fn held(from: IpAddr, to: SocketAddr) -> TcpStream {
    let mut s = tcp_from(from, to, None).unwrap();
    assert_eq!(ask(&mut s, &www()).unwrap(), ["192.0.2.80"], "from {from}");
    s
}

/// Whether the server closes `s` within `limit`: a read sees EOF or a reset (anything the
/// server still sends before that is read and dropped).
fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let r = wait_for(limit, || {
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut b = [0u8; 4096];
        match s.read(&mut b) {
            Ok(0) => Ok(()),
            Ok(_) => Err("data"),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err("open")
            }
            Err(_) => Ok(()),
        }
    });
    r.is_ok()
}

/// UDP from `from` still gets its answer.
#[track_caller]
fn udp_answers(s: &TestServer, from: IpAddr) {
    let r = udp_from(from, s.udp, &www(), SECS(2)).unwrap_or_else(|e| panic!("udp: {e}"));
    assert_eq!(addrs(&r), ["192.0.2.80"]);
}

/// A TCP client on another address still gets its answer on a new connection.
#[track_caller]
fn tcp_answers(s: &TestServer, from: IpAddr) {
    let mut c = tcp_from(from, s.tcp, None).unwrap();
    assert_eq!(
        ask(&mut c, &www()).unwrap(),
        ["192.0.2.80"],
        "tcp from {from}"
    );
}

async fn metric_of(s: &TestServer, series: &str) -> f64 {
    let (code, text) = admin_get(s, "/metrics").await;
    assert_eq!(code, 200);
    metric(&text, series).unwrap_or_else(|| panic!("no {series} in /metrics"))
}

async fn until_metric(s: &TestServer, series: &str, at_least: f64) {
    let what = format!("{series} >= {at_least}");
    eventually_async(SECS(5), &what, || async {
        seen(metric_of(s, series).await, |v| *v >= at_least)
    })
    .await;
}

fn zones() -> [(&'static str, &'static str); 1] {
    [("example.com.zone", ZONE)]
}

#[tokio::test(flavor = "multi_thread")]
async fn one_address_gets_32_connections_and_the_33rd_is_closed_at_once() {
    let s = start_with("", "", &zones()).await;
    let (greedy, other) = (ip(2), ip(3));
    let mut conns: Vec<TcpStream> = (0..32).map(|_| held(greedy, s.tcp)).collect();
    let mut extra = tcp_from(greedy, s.tcp, None).unwrap();
    assert!(
        closed_within(&mut extra, SECS(2)),
        "the 33rd from {greedy} is closed"
    );
    // Every other client is still served, and the 32 keep theirs.
    tcp_answers(&s, other);
    udp_answers(&s, greedy);
    udp_answers(&s, other);
    assert_eq!(ask(&mut conns[0], &www()).unwrap(), ["192.0.2.80"]);
    assert_eq!(ask(&mut conns[31], &www()).unwrap(), ["192.0.2.80"]);
    assert_eq!(
        metric_of(&s, "gslb_tcp_closed_total{reason=\"per_client\"}").await,
        1.0
    );
    // A place given back is free again.
    drop(conns.pop());
    eventually(SECS(5), "a freed place for the greedy address", || {
        tcp_from(greedy, s.tcp, None)
            .and_then(|mut c| ask(&mut c, &www()))
            .map_err(|e| e.to_string())
    });
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_half_sent_query_is_cut_after_the_io_timeout_not_the_idle_timeout() {
    let s = start_with(
        "tcp_io_timeout = \"300ms\"\ntcp_idle_timeout = \"30s\"",
        "",
        &zones(),
    )
    .await;
    // A length prefix announcing 40 bytes, and 5 of them.
    let mut half = tcp_from(ip(4), s.tcp, None).unwrap();
    half.write_all(&[0, 40, 1, 2, 3, 4, 5]).unwrap();
    // Half a length prefix.
    let mut byte = tcp_from(ip(5), s.tcp, None).unwrap();
    byte.write_all(&[0]).unwrap();
    udp_answers(&s, ip(4));
    tcp_answers(&s, ip(6));
    assert!(closed_within(&mut half, SECS(5)), "half a query: closed");
    assert!(closed_within(&mut byte, SECS(5)), "half a prefix: closed");
    // A query trickling in a byte every 50 ms never finishes: the timeout covers the whole of
    // it, not each read.
    let mut drip = tcp_from(ip(7), s.tcp, None).unwrap();
    let mut query = vec![0, 60];
    query.resize(62, 0);
    let mut sent = 0;
    for b in &query {
        if drip.write_all(&[*b]).is_err() {
            break;
        }
        sent += 1;
        udp_answers(&s, ip(7));
        // Pacing the attacker, not waiting for a result.
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        sent < query.len(),
        "the trickle was cut, after {sent} bytes"
    );
    assert!(closed_within(&mut drip, SECS(5)));
    assert_eq!(
        metric_of(&s, "gslb_tcp_closed_total{reason=\"io_timeout\"}").await,
        3.0
    );
    assert_eq!(
        metric_of(&s, "gslb_tcp_closed_total{reason=\"idle\"}").await,
        0.0
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_never_reads_its_answers_is_reset_and_others_are_answered() {
    let s = start_with(
        "tcp_io_timeout = \"300ms\"\ntcp_idle_timeout = \"30s\"",
        "",
        &zones(),
    )
    .await;
    // 4 KiB of receive buffer and 4000 pipelined queries for ~650-byte answers: megabytes the
    // server cannot hand over.
    let mut sink = tcp_from(ip(8), s.tcp, Some(4096)).unwrap();
    let q = query("big.example.com.", TXT, false).to_vec().unwrap();
    let mut burst = Vec::new();
    for _ in 0..4000 {
        burst.extend_from_slice(&(q.len() as u16).to_be_bytes());
        burst.extend_from_slice(&q);
    }
    sink.set_write_timeout(Some(SECS(10))).unwrap();
    // Either all of it fits in the buffers, or the server's reset ends the write.
    let _ = sink.write_all(&burst);
    until_metric(&s, "gslb_tcp_closed_total{reason=\"io_timeout\"}", 1.0).await;
    // Other clients were and are answered.
    tcp_answers(&s, ip(9));
    udp_answers(&s, ip(8));
    udp_answers(&s, ip(9));
    // The sink's connection is gone: reading drains what had reached it, then a reset or EOF
    // (an open connection would keep sending answers, then block).
    assert!(
        closed_within(&mut sink, SECS(10)),
        "non-reader's connection closed"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_table_closes_the_longest_idle_connection_for_a_newcomer() {
    let s = start_with(
        "tcp_connections_max = 3\ntcp_idle_timeout = \"30s\"",
        "",
        &zones(),
    )
    .await;
    let mut c1 = held(ip(11), s.tcp);
    let mut c2 = held(ip(12), s.tcp);
    let mut c3 = held(ip(13), s.tcp);
    // c1 and c3 ask again: c2 is now the longest idle.
    assert_eq!(ask(&mut c1, &www()).unwrap(), ["192.0.2.80"]);
    assert_eq!(ask(&mut c3, &www()).unwrap(), ["192.0.2.80"]);
    let mut c4 = tcp_from(ip(14), s.tcp, None).unwrap();
    assert_eq!(
        ask(&mut c4, &www()).unwrap(),
        ["192.0.2.80"],
        "the newcomer is admitted"
    );
    assert!(
        closed_within(&mut c2, SECS(3)),
        "the longest idle is closed"
    );
    assert_eq!(ask(&mut c1, &www()).unwrap(), ["192.0.2.80"]);
    assert_eq!(ask(&mut c3, &www()).unwrap(), ["192.0.2.80"]);
    assert_eq!(ask(&mut c4, &www()).unwrap(), ["192.0.2.80"]);
    udp_answers(&s, ip(12));
    assert_eq!(
        metric_of(&s, "gslb_tcp_closed_total{reason=\"evicted\"}").await,
        1.0
    );
    // A flood of newcomers from many addresses cannot lock out the busy: each one that
    // arrives closes whoever is idle longest, so a client that keeps asking keeps its place.
    assert_eq!(ask(&mut c1, &www()).unwrap(), ["192.0.2.80"]);
    let mut flood = Vec::new();
    for last in 20..40 {
        flood.push(tcp_from(ip(last), s.tcp, None).unwrap());
        // The kernel completes the handshake before the server accepts: wait until this
        // newcomer is admitted (it evicts someone), or c1's next query could be stamped before
        // the admission and c1 would look the longest idle to a later newcomer.
        let evicted = f64::from(last - 18);
        until_metric(&s, "gslb_tcp_closed_total{reason=\"evicted\"}", evicted).await;
        assert_eq!(
            ask(&mut c1, &www()).unwrap(),
            ["192.0.2.80"],
            "after {last}"
        );
    }
    assert!(closed_within(&mut c3, SECS(3)) && closed_within(&mut c4, SECS(3)));
    assert!(
        closed_within(&mut flood[0], SECS(3)),
        "the oldest of the flood is closed"
    );
    assert_eq!(
        metric_of(&s, "gslb_tcp_closed_total{reason=\"evicted\"}").await,
        21.0
    );
    s.stop().await;
}

/// `[admin]` with a small cap and a short timeout.
fn admin_limits(max: usize, timeout: &str) -> String {
    format!("[admin]\nconnections_max = {max}\nrequest_timeout = \"{timeout}\"\n")
}

/// A raw HTTP/1.1 connection to the admin API from `from`.
fn http_raw(s: &TestServer, from: IpAddr) -> TcpStream {
    tcp_from(from, s.admin, None).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_admin_connections_past_the_cap_are_closed_and_dns_is_unaffected() {
    let s = start_with("", &admin_limits(4, "3s"), &zones()).await;
    let mut idle: Vec<TcpStream> = (0..4).map(|_| http_raw(&s, ip(30))).collect();
    // Accepted in order, so the fifth finds the four slots taken: closed at once, long before
    // the request timeout would close it.
    let mut fifth = http_raw(&s, ip(31));
    assert!(
        closed_within(&mut fifth, SECS(1)),
        "a connection past the cap is closed at once"
    );
    // DNS does not notice.
    udp_answers(&s, ip(31));
    tcp_answers(&s, ip(31));
    // The idle ones are closed after request_timeout, and the API serves again.
    for (i, c) in idle.iter_mut().enumerate() {
        assert!(closed_within(c, SECS(10)), "idle connection {i} closed");
    }
    until_metric(&s, "gslb_admin_closed_total{reason=\"limit\"}", 1.0).await;
    until_metric(&s, "gslb_admin_closed_total{reason=\"timeout\"}", 4.0).await;
    assert_eq!(admin_get(&s, "/healthz").await.0, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_headers_slow_bodies_and_idle_keep_alive_are_cut_at_the_request_timeout() {
    let s = start_with("", &admin_limits(16, "500ms"), &zones()).await;
    // Headers a byte every 100 ms: 40 bytes would take 4 s.
    let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: bbbb\r\n\r\n";
    let mut slow = http_raw(&s, ip(40));
    let mut sent = 0;
    for b in head {
        if slow.write_all(&[*b]).is_err() {
            break;
        }
        sent += 1;
        // Pacing the attacker, not waiting for a result.
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(sent < head.len(), "slow headers cut after {sent} bytes");
    assert!(closed_within(&mut slow, SECS(3)));

    // Headers in time, then 10 of 100 body bytes: 408, and the connection closes.
    let mut body = http_raw(&s, ip(41));
    body.write_all(b"POST /v1/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        .unwrap();
    let mut reply = String::new();
    body.set_read_timeout(Some(SECS(5))).unwrap();
    body.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(reply.contains("request_timeout"), "{reply}");

    // A body declared over 64 KiB: 413 before any of it is read.
    let mut big = http_raw(&s, ip(43));
    big.write_all(b"POST /v1/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    big.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(reply.contains("limited to 65536 bytes"), "{reply}");

    // A keep-alive connection answered once, then silent: closed after the timeout.
    let mut kept = http_raw(&s, ip(42));
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 512];
    let n = kept.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    assert!(closed_within(&mut kept, SECS(5)), "idle keep-alive closed");

    udp_answers(&s, ip(40));
    assert_eq!(admin_get(&s, "/healthz").await.0, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_client_that_never_reads_is_cut_at_the_request_timeout() {
    let s = start_with("", &admin_limits(16, "500ms"), &zones()).await;
    // Pipelined requests for the status page (kilobytes each) into a 4 KiB receive buffer.
    let mut sink = tcp_from(ip(44), s.admin, Some(4096)).unwrap();
    let burst = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3000);
    sink.set_write_timeout(Some(SECS(10))).unwrap();
    let _ = sink.write_all(&burst);
    // The metrics call is a connection of its own: it works while the sink is stuck, and
    // shows the sink cut for its timeout.
    until_metric(&s, "gslb_admin_closed_total{reason=\"timeout\"}", 1.0).await;
    assert!(
        closed_within(&mut sink, SECS(10)),
        "non-reader's connection closed"
    );
    udp_answers(&s, ip(44));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_site_mutating_calls_are_refused_and_plain_ones_work() {
    let s = start().await;
    let own = format!("http://{}", s.admin);
    let post = |path: &str, headers: &[(&str, &str)]| {
        let mut r = http().post(format!("http://{}{path}", s.admin));
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    for headers in [
        &[("Origin", "http://evil.example")][..],
        &[("Origin", "null")],
        &[("Sec-Fetch-Site", "cross-site")],
        &[("Sec-Fetch-Site", "same-site")],
        &[
            ("Sec-Fetch-Site", "same-origin"),
            ("Origin", "http://127.0.0.1:1"),
        ],
    ] {
        let (code, body) = post("/v1/reload", headers).await;
        assert_eq!(code, 403, "{headers:?}: {body}");
        assert_error(&body, "cross-site request refused");
        // Refused before anything is looked up: no 404 for an unknown data center either.
        let (code, _) = post("/v1/datacenters/nowhere/drain", headers).await;
        assert_eq!(code, 403, "{headers:?}");
    }
    assert_eq!(
        metric_of(&s, "gslb_config_generation").await,
        1.0,
        "no refused reload ran"
    );
    // The plain call (curl, the CLI), and the API's own origin, work as before.
    let (code, body) = post("/v1/reload", &[]).await;
    assert_eq!(code, 200, "{body}");
    let (code, body) = post(
        "/v1/reload",
        &[("Origin", own.as_str()), ("Sec-Fetch-Site", "same-origin")],
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(metric_of(&s, "gslb_config_generation").await, 3.0);
    // Reads are not mutating: a cross-site GET is answered (the browser keeps it from the page).
    let r = http()
        .get(format!("http://{}/healthz", s.admin))
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    s.stop().await;
}
