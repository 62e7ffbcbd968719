//! EDNS0, Client Subnet and TCP over real sockets.
//!
//! Covers: an OPT in every response to a query that had one and in none otherwise, our
//! advertised payload, UDP size limits and TC (RFC 6891 §6.2.5, RFC 2181 §9) with the server's
//! `udp_payload_max` cap, the same answers in full over TCP, BADVERS for EDNS versions above 0,
//! unknown options ignored, two OPTs refused, the DO bit copied (RFC 3225), ECS echoed with scope 0
//! on static names and FORMERR when malformed (RFC 7871 §7.1.1), and TCP per RFC 7766: pipelined
//! queries, the idle timeout and the connection limit. Also: cut and garbage packets get FORMERR
//! or no reply (never a reply to a response), and the server keeps answering afterwards.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::harness::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType::{self, A, AAAA, TXT};

/// A query with EDNS advertising `payload`.
fn edns_query(name: &str, t: RecordType, payload: u16) -> Message {
    let mut q = query(name, t, true);
    q.edns.as_mut().unwrap().set_max_payload(payload);
    q
}

/// A raw A query for `name` carrying one OPT record.
fn raw_edns(id: u16, name: &str, opt: &[u8]) -> Vec<u8> {
    let mut p = raw_query(id, 0, &[(name, 1, 1)]);
    push_additional(&mut p, opt);
    p
}

/// Sends a raw packet over UDP and TCP; returns both raw replies.
fn raw_both(s: &TestServer, p: &[u8]) -> [Vec<u8>; 2] {
    [
        udp_raw(s.udp, p).expect("udp reply"),
        tcp_raw(s.tcp, &[p.to_vec()]).remove(0),
    ]
}

#[track_caller]
fn assert_opt(r: &Message, payload: u16) {
    let e = r.edns.as_ref().expect("an OPT in the response");
    assert_eq!(e.max_payload(), payload, "our advertised payload");
    assert_eq!(e.version(), 0, "we speak EDNS version 0");
}

#[tokio::test(flavor = "multi_thread")]
async fn opt_is_in_every_response_to_a_query_with_one_and_in_no_other() {
    let s = start().await;
    for (name, t) in [
        ("www.example.com.", A),
        ("nope.example.com.", A),
        ("www.example.com.", TXT),
        ("host.sub.example.com.", A),
        ("www.example.org.", A),
        ("big.example.com.", TXT),
    ] {
        for edns in [true, false] {
            for r in both(&s, &query(name, t, edns)) {
                assert_eq!(r.edns.is_some(), edns, "{name} {t} edns={edns}");
                if edns {
                    assert_opt(&r, 1232);
                }
            }
        }
    }
    // Errors decided before the lookup carry it too: CH class, an unknown opcode.
    let opt = raw_opt(4096, 0, false, &[]);
    let mut ch = raw_query(1, 0, &[("www.example.com.", 1, 3)]);
    push_additional(&mut ch, &opt);
    let mut status = raw_query(2, 2 << 11, &[("www.example.com.", 1, 1)]);
    push_additional(&mut status, &opt);
    for (p, rcode) in [(ch, ResponseCode::Refused), (status, ResponseCode::NotImp)] {
        for reply in raw_both(&s, &p) {
            let r = parse(&reply);
            assert_eq!(r.metadata.response_code, rcode);
            assert_opt(&r, 1232);
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn udp_answers_that_do_not_fit_the_clients_payload_are_truncated() {
    let s = start().await;
    // Without EDNS the limit is 512: the ~650-byte TXT set does not fit.
    let q = query("big.example.com.", TXT, false);
    let raw = udp_raw(s.udp, &q.to_vec().unwrap()).expect("reply");
    assert!(raw.len() <= 512, "{} bytes", raw.len());
    let r = parse(&raw);
    assert_reply(&q, &r, ResponseCode::NoError, true);
    assert!(r.metadata.truncation, "TC");
    assert!(r.answers.is_empty() && r.authorities.is_empty() && r.additionals.is_empty());
    assert!(r.edns.is_none());
    // TCP carries all of it.
    let r = tcp(s.tcp, &q);
    assert!(!r.metadata.truncation);
    assert_eq!(answers(&r, TXT).len(), 3);

    // 4096 offered, 1232 ours: it fits.
    let q = edns_query("big.example.com.", TXT, 4096);
    let raw = udp_raw(s.udp, &q.to_vec().unwrap()).expect("reply");
    assert!(raw.len() > 512 && raw.len() <= 1232, "{} bytes", raw.len());
    let r = parse(&raw);
    assert!(!r.metadata.truncation);
    assert_eq!(answers(&r, TXT).len(), 3);
    assert_opt(&r, 1232);

    // 512 offered: truncated, and the OPT is still there.
    let q = edns_query("big.example.com.", TXT, 512);
    let raw = udp_raw(s.udp, &q.to_vec().unwrap()).expect("reply");
    assert!(raw.len() <= 512);
    let r = parse(&raw);
    assert_reply(&q, &r, ResponseCode::NoError, true);
    assert!(r.metadata.truncation && r.answers.is_empty());
    assert_opt(&r, 1232);

    // Less than 512 offered counts as 512 (RFC 6891 §6.2.5): small answers are whole.
    let r = udp(s.udp, &edns_query("www.example.com.", A, 100));
    assert!(!r.metadata.truncation);
    assert_eq!(addrs(&r), vec!["192.0.2.80"]);
    let r = udp(s.udp, &edns_query("big.example.com.", TXT, 100));
    assert!(r.metadata.truncation);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn udp_payload_max_caps_what_the_client_offers() {
    let s = start_with("udp_payload_max = 512", "", &[("example.com.zone", ZONE)]).await;
    let q = edns_query("big.example.com.", TXT, 4096);
    let raw = udp_raw(s.udp, &q.to_vec().unwrap()).expect("reply");
    assert!(raw.len() <= 512, "{} bytes", raw.len());
    let r = parse(&raw);
    assert_reply(&q, &r, ResponseCode::NoError, true);
    assert!(r.metadata.truncation && r.answers.is_empty());
    assert_opt(&r, 512);
    let r = tcp(s.tcp, &q);
    assert!(!r.metadata.truncation);
    assert_eq!(answers(&r, TXT).len(), 3);
    assert_opt(&r, 512);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn edns_versions_above_zero_get_badvers_with_version_zero() {
    let s = start().await;
    for version in [1u8, 255] {
        let p = raw_edns(
            0x0b0b,
            "www.example.com.",
            &raw_opt(1232, version, false, &[]),
        );
        for reply in raw_both(&s, &p) {
            let (id, flags, counts) = raw_header(&reply);
            assert_eq!(id, 0x0b0b);
            assert_eq!(flags & 0xF, 0, "BADVERS is 16: low bits 0 in the header");
            assert_eq!(counts, [1, 0, 0, 1], "question and OPT only");
            // The OPT (no options) closes the message: ext-RCODE 1, version 0.
            let opt = &reply[reply.len() - 11..];
            assert_eq!(opt[..3], [0, 0, 41]);
            assert_eq!((opt[5], opt[6]), (1, 0), "extended RCODE 1, version 0");
            let r = parse(&reply);
            // 16 is both BADVERS and BADSIG; hickory names it BADSIG when decoding.
            assert_eq!(u16::from(r.metadata.response_code), 16, "BADVERS");
            assert_opt(&r, 1232);
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_options_are_ignored_and_two_opts_are_formerr() {
    let s = start().await;
    let cookie = [1u8, 2, 3, 4, 5, 6, 7, 8];
    let opt = raw_opt(
        1232,
        0,
        false,
        &[(65001, b"hello"), (10, &cookie), (65002, b"")],
    );
    for reply in raw_both(&s, &raw_edns(0x0c0c, "www.example.com.", &opt)) {
        let r = parse(&reply);
        assert_eq!(r.metadata.response_code, ResponseCode::NoError);
        assert_eq!(addrs(&r), vec!["192.0.2.80"]);
        assert_opt(&r, 1232);
        // Unknown options are not echoed; the COOKIE is answered with our server cookie
        // (RDLENGTH 28: code, length, 8 + 16 octets), the last thing in the packet.
        let opt_rdata = &reply[reply.len() - 30..];
        assert_eq!(
            opt_rdata[..6],
            [0, 28, 0, 10, 0, 24],
            "only the COOKIE option"
        );
        assert_eq!(opt_rdata[6..14], cookie, "client cookie echoed");
    }
    let mut p = raw_edns(0x0d0d, "www.example.com.", &raw_opt(1232, 0, false, &[]));
    push_additional(&mut p, &raw_opt(1232, 0, false, &[]));
    for reply in raw_both(&s, &p) {
        let (id, flags, counts) = raw_header(&reply);
        assert_eq!(id, 0x0d0d);
        assert_eq!(flags & 0xF, 1, "FORMERR (RFC 6891 §6.1.1)");
        assert_eq!(counts[1..3], [0, 0]);
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_do_bit_is_copied_back() {
    let s = start().await;
    for dnssec_ok in [true, false] {
        let mut q = query("www.example.com.", A, true);
        q.edns.as_mut().unwrap().set_dnssec_ok(dnssec_ok);
        for r in both(&s, &q) {
            assert_eq!(r.edns.as_ref().unwrap().flags().dnssec_ok, dnssec_ok);
            assert_eq!(addrs(&r), vec!["192.0.2.80"]);
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn client_subnet_is_echoed_with_scope_zero_on_static_names() {
    let s = start().await;
    for (net, want) in [
        ("198.51.100.0/24", (24, 0, "198.51.100.0")),
        ("2001:db8:1::/48", (48, 0, "2001:db8:1::")),
        ("0.0.0.0/0", (0, 0, "0.0.0.0")),
    ] {
        for (name, rcode) in [
            ("www.example.com.", ResponseCode::NoError),
            ("nope.example.com.", ResponseCode::NXDomain),
        ] {
            let q = with_ecs(query(name, A, true), net);
            for r in both(&s, &q) {
                assert_eq!(r.metadata.response_code, rcode, "{name} {net}");
                let (src, scope, addr) = ecs_of(&r).expect("ECS echoed");
                assert_eq!((src, scope, addr.as_str()), want, "{name} {net}");
            }
        }
    }
    for r in both(&s, &query("www.example.com.", A, true)) {
        assert_eq!(ecs_of(&r), None, "no ECS when none was sent");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_client_subnet_is_formerr() {
    let s = start().await;
    let bad: [&[u8]; 4] = [
        &[0, 1, 24, 0, 198, 51, 100, 7], // more address octets than /24 needs
        &[0, 1, 23, 0, 198, 51, 101],    // bits set past the source prefix
        &[0, 3, 0, 0],                   // unknown family
        &[0, 1, 33, 0, 1, 2, 3, 4, 5],   // prefix longer than the family
    ];
    for ecs in bad {
        let p = raw_edns(
            0x0e0e,
            "www.example.com.",
            &raw_opt(1232, 0, false, &[(8, ecs)]),
        );
        for reply in raw_both(&s, &p) {
            let r = parse(&reply);
            assert_eq!(r.metadata.response_code, ResponseCode::FormErr, "{ecs:?}");
            assert!(r.answers.is_empty(), "{ecs:?}");
            assert_opt(&r, 1232);
            assert_eq!(ecs_of(&r), None, "a malformed ECS is not echoed");
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pipelined_tcp_queries_are_all_answered() {
    let s = start().await;
    let qs = [
        (query("www.example.com.", A, false), vec!["192.0.2.80"]),
        (query("www.example.com.", AAAA, true), vec!["2001:db8::80"]),
        (query("mail.example.com.", A, false), vec!["192.0.2.25"]),
        (query("nope.example.com.", A, true), vec![]),
        (query("alias.example.com.", A, false), vec!["192.0.2.80"]),
    ];
    let packets: Vec<Vec<u8>> = qs.iter().map(|(q, _)| q.to_vec().unwrap()).collect();
    let replies = tcp_raw(s.tcp, &packets);
    assert_eq!(replies.len(), 5);
    for reply in replies {
        let r = parse(&reply);
        let (q, want) = qs
            .iter()
            .find(|(q, _)| q.metadata.id == r.metadata.id)
            .expect("each reply answers one of the queries");
        assert_reply(q, &r, r.metadata.response_code, true);
        assert_eq!(addrs(&r), *want);
    }
    s.stop().await;
}

/// One TCP connection to the server, framed per RFC 1035 §4.2.2.
struct Conn(TcpStream);

impl Conn {
    fn open(addr: SocketAddr) -> Conn {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Conn(s)
    }

    fn ask(&mut self, m: &Message) -> io::Result<Message> {
        let p = m.to_vec().unwrap();
        let mut out = (p.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(&p);
        self.0.write_all(&out)?;
        Ok(parse(&tcp_read(&mut self.0)?))
    }

    /// Whether the server closes the connection within `limit` (a read sees EOF or a reset).
    fn closed_within(&mut self, limit: Duration) -> bool {
        self.0.set_read_timeout(Some(limit)).unwrap();
        let mut b = [0u8; 1];
        match self.0.read(&mut b) {
            Ok(0) => true,
            Ok(_) => panic!("unexpected data from the server"),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                false
            }
            Err(_) => true,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_tcp_connections_are_closed() {
    let s = start_with(
        "tcp_idle_timeout = \"1s\"",
        "",
        &[("example.com.zone", ZONE)],
    )
    .await;
    // Queries closer together than the timeout keep the connection open past it.
    let mut c = Conn::open(s.tcp);
    let started = Instant::now();
    for _ in 0..5 {
        let r = c
            .ask(&query("www.example.com.", A, false))
            .expect("still open");
        assert_eq!(addrs(&r), vec!["192.0.2.80"]);
        // Pacing, not waiting: the assertion is the read above.
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(started.elapsed() > Duration::from_secs(1));
    // Then silence: the server hangs up.
    assert!(
        c.closed_within(Duration::from_secs(5)),
        "idle connection closed"
    );
    // A connection that never sends anything is closed too.
    let mut quiet = Conn::open(s.tcp);
    assert!(
        quiet.closed_within(Duration::from_secs(5)),
        "silent connection closed"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn short_idle_timeout_closes_right_after_the_answer() {
    let s = start_with(
        "tcp_idle_timeout = \"300ms\"",
        "",
        &[("example.com.zone", ZONE)],
    )
    .await;
    let mut c = Conn::open(s.tcp);
    assert_eq!(
        addrs(&c.ask(&query("mail.example.com.", A, true)).unwrap()),
        vec!["192.0.2.25"]
    );
    assert!(
        c.closed_within(Duration::from_secs(5)),
        "closed after 300ms idle"
    );
    s.stop().await;
}

// A full table (`tcp_connections_max`) closes the longest-idle connection rather than the
// newcomer (RFC 9210 §4): tested with the other connection limits in `limits`.

/// A tiny deterministic generator, so a failing garbage packet can be reproduced.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_packets_get_formerr_or_silence_and_the_server_keeps_answering() {
    let s = start().await;
    // Every prefix of a valid EDNS query, each with its own ID: shorter than a header is
    // dropped, anything longer is FORMERR (the question or the OPT is cut).
    let mut full = query("www.example.com.", A, true);
    let mut packets = Vec::new();
    let mut want_ids = Vec::new();
    let len = full.to_vec().unwrap().len();
    for cut in 0..len {
        full.metadata.id = 0x4000 + cut as u16;
        packets.push(full.to_vec().unwrap()[..cut].to_vec());
        if cut >= 12 {
            want_ids.push(0x4000 + cut as u16);
        }
    }
    // A packet that is itself a response is never answered (no reflection loops).
    let mut response = query("www.example.com.", A, false).to_vec().unwrap();
    response[2] |= 0x80;
    packets.push(response);
    let (replies, marker) = udp_burst(s.udp, &packets, &query("www.example.com.", A, false));
    let got: Vec<u16> = replies.iter().map(|r| raw_header(r).0).collect();
    assert_eq!(got, want_ids, "replies to the cut packets, in order");
    for r in &replies {
        let (_, flags, counts) = raw_header(r);
        assert_eq!((flags & flag::QR, flags & 0xF), (flag::QR, 1), "{r:?}");
        assert_eq!(counts[1..3], [0, 0]);
    }
    assert_eq!(addrs(&marker), vec!["192.0.2.80"]);

    // Random garbage: whatever comes back is a response echoing an ID that was sent.
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let garbage: Vec<Vec<u8>> = (0..300)
        .map(|i| {
            let n = (rng.next() % 120) as usize;
            let mut p: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            if i % 3 == 0 && n >= 12 {
                // Look like a query often enough to get past the first checks.
                p[2] &= 0x7F;
                p[4..6].copy_from_slice(&[0, 1]);
            }
            p
        })
        .collect();
    let (replies, marker) = udp_burst(s.udp, &garbage, &query("mail.example.com.", A, true));
    let ids: Vec<u16> = garbage
        .iter()
        .filter(|p| p.len() >= 12)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .collect();
    for r in &replies {
        let (id, flags, _) = raw_header(r);
        assert!(ids.contains(&id), "reply to an ID never sent: {r:?}");
        assert_eq!(flags & flag::QR, flag::QR, "{r:?}");
    }
    assert_eq!(addrs(&marker), vec!["192.0.2.25"]);

    // The same garbage framed over one TCP connection; the framing holds, so a good query at
    // its end is still answered on that connection.
    let marker = query("www.example.com.", AAAA, false);
    let mut frames = garbage.clone();
    frames.push(marker.to_vec().unwrap());
    let answered = tcp_until(s.tcp, &frames, marker.metadata.id);
    assert_eq!(addrs(&parse(&answered)), vec!["2001:db8::80"]);
    s.stop().await;
}

/// Writes `frames` on one TCP connection and reads replies until the one with ID `id`.
fn tcp_until(addr: SocketAddr, frames: &[Vec<u8>], id: u16) -> Vec<u8> {
    let mut s = tcp_send(addr, frames);
    loop {
        let buf = tcp_read(&mut s).expect("connection kept open");
        if buf.len() >= 12 && raw_header(&buf).0 == id && raw_header(&buf).2[0] == 1 {
            return buf;
        }
    }
}
