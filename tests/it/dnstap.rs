//! dnstap against real Debian tools: `fstrm_capture` (package fstrm-bin) is the collector, and
//! `dnstap-read` (bind9-dnsutils) decodes what it captured. The queries sent appear decoded
//! (names, types, addresses, ports, AUTH_QUERY / AUTH_RESPONSE); killing the collector changes
//! nothing for DNS and counts drops; a restarted collector gets messages again; a collector that
//! stops reading costs dropped messages (a full queue), not answers.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use hickory_proto::rr::RecordType;

use crate::harness::*;

/// A tool the test needs, found on PATH, or a failure that says how to install it.
fn tool(name: &str, package: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|f| f.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "the dnstap test needs `{name}`: apt-get install {package} (.ci/run installs it)"
            )
        })
}

/// `fstrm_capture` listening on `socket`, writing what it receives to `file`; ready once the
/// socket exists.
fn collector(socket: &Path, file: &Path) -> Guard {
    let _ = std::fs::remove_file(socket);
    let child = Command::new(tool("fstrm_capture", "fstrm-bin"))
        .args(["-t", "protobuf:dnstap.Dnstap", "-u"])
        .arg(socket)
        .arg("-w")
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start fstrm_capture");
    let g = Guard(child);
    eventually(Duration::from_secs(5), "fstrm_capture's socket", || {
        std::fs::metadata(socket).map(|_| ())
    });
    g
}

/// Stops a collector the way an operator does (SIGTERM), so it writes out its file, and
/// decodes the file with `dnstap-read -y`: one YAML document per message.
fn stop_and_read(mut g: Guard, file: &Path) -> Vec<String> {
    let pid = g.0.id() as libc::pid_t;
    // SAFETY: signalling our own child, which has not been reaped (the guard holds it).
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let status = g.wait_exit(Duration::from_secs(5), "fstrm_capture to exit on SIGTERM");
    assert!(status.success(), "fstrm_capture: {status}");
    let out = Command::new(tool("dnstap-read", "bind9-dnsutils"))
        .arg("-y")
        .arg(file)
        .output()
        .expect("run dnstap-read");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "dnstap-read: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("dnstap-read -y {}:\n{text}", file.display());
    text.split("\n---\n")
        .map(str::to_string)
        .filter(|d| d.contains("type: MESSAGE"))
        .collect()
}

async fn metrics(s: &TestServer) -> String {
    admin_get(s, "/metrics").await.1
}

async fn value(s: &TestServer, series: &str) -> f64 {
    metric(&metrics(s).await, series).unwrap_or(-1.0)
}

async fn until_connected(s: &TestServer, yes: bool, within: Duration) {
    let want = if yes { 1.0 } else { 0.0 };
    eventually_async(within, "gslb_dnstap_connected to change", || async {
        seen(value(s, "gslb_dnstap_connected").await, |v| *v == want)
    })
    .await;
}

/// Waits until the writer has written `n` messages in all.
async fn until_sent(s: &TestServer, n: f64) {
    eventually_async(
        Duration::from_secs(5),
        "dnstap messages written",
        || async { seen(value(s, "gslb_dnstap_sent_total").await, |v| *v >= n) },
    )
    .await;
}

/// The documents of `docs` that hold every one of `needles`.
fn with<'a>(docs: &'a [String], needles: &[&str]) -> Vec<&'a String> {
    docs.iter()
        .filter(|d| needles.iter().all(|n| d.contains(n)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_and_responses_reach_a_real_collector_and_a_dead_one_costs_dns_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("tap.sock");
    let (first, second) = (dir.path().join("one.fstrm"), dir.path().join("two.fstrm"));
    let c = collector(&socket, &first);
    let s = start_with(
        "identity = \"tap-test\"\nversion = \"gslb-tap 1\"",
        &format!("[dnstap]\nsocket = \"{}\"\n", socket.display()),
        &[("example.com.zone", ZONE)],
    )
    .await;
    until_connected(&s, true, Duration::from_secs(5)).await;
    let a = udp(s.udp, &query("www.example.com.", RecordType::A, true));
    assert_eq!(addrs(&a), vec!["192.0.2.80"]);
    let mx = tcp(s.tcp, &query("example.com.", RecordType::MX, false));
    assert_eq!(answers(&mx, RecordType::MX).len(), 1);
    until_sent(&s, 4.0).await;

    let docs = stop_and_read(c, &first);
    assert_eq!(docs.len(), 4, "a query and a response each:\n{docs:#?}");
    for d in &docs {
        assert!(d.contains("identity: tap-test"), "{d}");
        assert!(d.contains("version: gslb-tap 1"), "{d}");
        assert!(d.contains("socket_family: INET\n"), "{d}");
        assert!(d.contains("query_address: \"127.0.0.1\""), "{d}");
        assert!(d.contains("response_address: \"127.0.0.1\""), "{d}");
    }
    let udp_port = format!("response_port: {}", s.udp.port());
    let q = with(
        &docs,
        &["type: AUTH_QUERY", "socket_protocol: UDP", &udp_port],
    );
    assert_eq!(q.len(), 1, "{docs:#?}");
    assert!(q[0].contains("- 'www.example.com. IN A'"), "{}", q[0]);
    let r = with(&docs, &["type: AUTH_RESPONSE", "socket_protocol: UDP"]);
    assert_eq!(r.len(), 1, "{docs:#?}");
    assert!(r[0].contains("flags: qr aa"), "{}", r[0]);
    assert!(
        r[0].contains("- 'www.example.com. 3600 IN A 192.0.2.80'"),
        "{}",
        r[0]
    );
    let tq = with(&docs, &["type: AUTH_QUERY", "socket_protocol: TCP"]);
    assert_eq!(tq.len(), 1, "{docs:#?}");
    assert!(tq[0].contains("- 'example.com. IN MX'"), "{}", tq[0]);
    let tr = with(&docs, &["type: AUTH_RESPONSE", "socket_protocol: TCP"]);
    assert_eq!(tr.len(), 1, "{docs:#?}");
    assert!(tr[0].contains("mail.example.com."), "{}", tr[0]);

    // The collector is gone: every query is still answered at once, and the messages are
    // counted as dropped.
    until_connected(&s, false, Duration::from_secs(5)).await;
    let dropped = "gslb_dnstap_dropped_total{reason=\"no_collector\"}";
    let before = value(&s, dropped).await;
    for i in 0..20 {
        let m = query("www.example.com.", RecordType::A, true);
        let r = udp_within(s.udp, &m, Duration::from_secs(1));
        assert!(
            r.is_some(),
            "query {i} unanswered within 1 s with the collector dead"
        );
    }
    eventually_async(Duration::from_secs(5), "drops counted", || async {
        seen(value(&s, dropped).await, |v| *v >= before + 40.0)
    })
    .await;

    // A collector comes back: the writer reconnects (backoff at most 5 s) and messages flow.
    let sent = value(&s, "gslb_dnstap_sent_total").await;
    let c = collector(&socket, &second);
    until_connected(&s, true, Duration::from_secs(10)).await;
    let ns = udp(s.udp, &query("ns1.example.com.", RecordType::A, false));
    assert_eq!(addrs(&ns), vec!["192.0.2.1"]);
    until_sent(&s, sent + 2.0).await;
    let docs = stop_and_read(c, &second);
    assert_eq!(
        docs.len(),
        2,
        "only what came after the reconnect:\n{docs:#?}"
    );
    assert!(
        docs.iter().all(|d| d.contains("ns1.example.com.")),
        "{docs:#?}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_only_and_off_by_default() {
    let plain = start().await;
    assert!(
        !metrics(&plain).await.contains("gslb_dnstap"),
        "no dnstap metrics without [dnstap]"
    );
    plain.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("tap.sock");
    let file = dir.path().join("r.fstrm");
    let c = collector(&socket, &file);
    let s = start_with(
        "",
        &format!(
            "[dnstap]\nsocket = \"{}\"\nqueries = false\n",
            socket.display()
        ),
        &[("example.com.zone", ZONE)],
    )
    .await;
    until_connected(&s, true, Duration::from_secs(5)).await;
    udp(s.udp, &query("www.example.com.", RecordType::AAAA, true));
    until_sent(&s, 1.0).await;
    s.stop().await;
    let docs = stop_and_read(c, &file);
    assert_eq!(docs.len(), 1, "{docs:#?}");
    assert!(docs[0].contains("type: AUTH_RESPONSE"), "{}", docs[0]);
    assert!(docs[0].contains("2001:db8::80"), "{}", docs[0]);
}

/// A collector that completes the handshake and then never reads: the writer's socket fills,
/// its write blocks (up to its timeout), and the rings fill behind it. Held until `hold` is
/// dropped.
fn stalled_collector(socket: &Path) -> std::sync::mpsc::Sender<()> {
    use std::io::{Read, Write};
    let listener = std::os::unix::net::UnixListener::bind(socket).unwrap();
    let (hold, held) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut head = [0u8; 8];
        s.read_exact(&mut head).unwrap();
        let mut ready = vec![0u8; u32::from_be_bytes(head[4..8].try_into().unwrap()) as usize];
        s.read_exact(&mut ready).unwrap();
        let ct = b"protobuf:dnstap.Dnstap";
        let mut accept = Vec::new();
        for v in [0, 12 + ct.len() as u32, 1, 1, ct.len() as u32] {
            accept.extend_from_slice(&v.to_be_bytes());
        }
        accept.extend_from_slice(ct);
        s.write_all(&accept).unwrap();
        // Never read again; keep the connection open until the test is done.
        let _ = held.recv();
    });
    hold
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_stops_reading_costs_dropped_messages_not_answers() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("stuck.sock");
    let hold = stalled_collector(&socket);
    let s = start_with(
        "",
        &format!("[dnstap]\nsocket = \"{}\"\n", socket.display()),
        &[("example.com.zone", ZONE)],
    )
    .await;
    until_connected(&s, true, Duration::from_secs(5)).await;
    // 20,000 messages: more than the socket buffer and the 8192 small slots hold together.
    let queries: Vec<_> = (0..10_000)
        .map(|_| query("www.example.com.", RecordType::A, false))
        .collect();
    let _flood = flood("127.0.0.1", s.udp, &queries);
    let full = "gslb_dnstap_dropped_total{reason=\"full\"}";
    eventually_async(
        Duration::from_secs(10),
        "drops for a full queue",
        || async { seen(value(&s, full).await, |v| *v > 0.0) },
    )
    .await;
    for i in 0..10 {
        let m = query("mail.example.com.", RecordType::A, false);
        let r = udp_within(s.udp, &m, Duration::from_secs(1));
        assert!(
            r.is_some(),
            "query {i} unanswered within 1 s behind a stuck collector"
        );
    }
    drop(hold);
    s.stop().await;
}
