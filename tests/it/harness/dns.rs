//! A DNS client over real sockets: queries built and answers parsed with hickory-proto, raw
//! packets for what hickory will not build, and assertions every answer of ours must pass.
//!
//! Every UDP exchange uses a socket bound to a loopback address of the server's family (or the
//! address asked for) and connected to the server, so the kernel drops a reply that comes from
//! any other address than the one queried.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use super::TestServer;

/// How long a UDP query waits for its reply unless told otherwise.
const UDP_WAIT: Duration = Duration::from_secs(2);
/// How long a TCP read waits.
const TCP_WAIT: Duration = Duration::from_secs(5);

/// A query message for `name`/`qtype`, RD clear, with EDNS (payload 1232) when `edns`.
pub(crate) fn query(name: &str, qtype: RecordType, edns: bool) -> Message {
    let mut m = Message::new(rand_id(), MessageType::Query, OpCode::Query);
    m.add_query(Query::query(Name::from_str(name).unwrap(), qtype));
    if edns {
        let mut e = Edns::new();
        e.set_max_payload(1232);
        m.set_edns(e);
    }
    m
}

/// Adds an ECS option to a query.
pub(crate) fn with_ecs(mut m: Message, net: &str) -> Message {
    let e = m.edns.get_or_insert_with(|| {
        let mut e = Edns::new();
        e.set_max_payload(1232);
        e
    });
    let subnet = ClientSubnet::from_str(net).expect("subnet");
    e.options_mut().insert(EdnsOption::Subnet(subnet));
    m
}

fn rand_id() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static N: AtomicU16 = AtomicU16::new(1);
    N.fetch_add(7919, Ordering::Relaxed)
}

/// The loopback address of `to`'s family: where a client of a loopback server sends from.
fn loopback_of(to: SocketAddr) -> IpAddr {
    match to {
        SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
        SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
    }
}

/// A UDP socket bound to `from` (port 0), connected to `to`, with a read timeout.
fn udp_socket(from: IpAddr, to: SocketAddr, wait: Duration) -> std::io::Result<UdpSocket> {
    let s = UdpSocket::bind(SocketAddr::new(from, 0))?;
    s.connect(to)?;
    s.set_read_timeout(Some(wait))?;
    Ok(s)
}

/// Sends `m` over UDP from `from` to `to` and waits up to `wait` for the reply with its ID
/// (replies with other IDs are skipped): the reply, or why there is none.
pub(crate) fn udp_from(
    from: IpAddr,
    to: SocketAddr,
    m: &Message,
    wait: Duration,
) -> Result<Message, String> {
    let s = udp_socket(from, to, wait).map_err(|e| format!("socket {from} -> {to}: {e}"))?;
    let packet = m.to_vec().map_err(|e| e.to_string())?;
    s.send(&packet).map_err(|e| format!("send to {to}: {e}"))?;
    let mut buf = vec![0u8; 65535];
    loop {
        let n = s
            .recv(&mut buf)
            .map_err(|e| format!("no reply from {to}: {e}"))?;
        let r = Message::from_vec(&buf[..n]).map_err(|e| format!("unparsable reply: {e}"))?;
        if r.metadata.id == m.metadata.id {
            return Ok(r);
        }
    }
}

/// Sends `queries` back to back from `from` on one socket connected to `to` (reads time out
/// after 2 s): a flood from one client address.
pub(crate) fn flood(from: &str, to: SocketAddr, queries: &[Message]) -> UdpSocket {
    let sock = UdpSocket::bind(SocketAddr::new(from.parse().unwrap(), 0)).unwrap();
    sock.connect(to).unwrap();
    sock.set_read_timeout(Some(UDP_WAIT)).unwrap();
    for q in queries {
        sock.send(&q.to_vec().unwrap()).unwrap();
    }
    sock
}

/// Sends a message over UDP and waits up to `wait` for its reply: None if none came.
pub(crate) fn udp_within(to: SocketAddr, m: &Message, wait: Duration) -> Option<Message> {
    udp_from(loopback_of(to), to, m, wait).ok()
}

/// Sends a message over UDP and parses the reply (which must come within 2 s).
pub(crate) fn udp(to: SocketAddr, m: &Message) -> Message {
    udp_from(loopback_of(to), to, m, UDP_WAIT).unwrap_or_else(|e| panic!("udp: {e}"))
}

/// Sends raw bytes over UDP; returns the raw reply, or None after 2 s of silence.
pub(crate) fn udp_raw(to: SocketAddr, packet: &[u8]) -> Option<Vec<u8>> {
    let s = udp_socket(loopback_of(to), to, UDP_WAIT).unwrap();
    s.send(packet).unwrap();
    let mut buf = vec![0u8; 65535];
    let n = s.recv(&mut buf).ok()?;
    Some(buf[..n].to_vec())
}

/// Sends `packets` and then `marker` (a valid query) over one UDP socket, and returns every reply
/// that came before the marker's, and the marker's. The harness server reads one socket with
/// one worker, so replies come in the order the packets were sent: a packet that gets no reply
/// is one whose reply is absent from the list.
pub(crate) fn udp_burst(
    to: SocketAddr,
    packets: &[Vec<u8>],
    marker: &Message,
) -> (Vec<Vec<u8>>, Message) {
    let s = udp_socket(loopback_of(to), to, TCP_WAIT).unwrap();
    for p in packets {
        s.send(p).unwrap();
    }
    s.send(&marker.to_vec().unwrap()).unwrap();
    let mut before = Vec::new();
    let mut buf = vec![0u8; 65535];
    loop {
        let n = s.recv(&mut buf).expect("marker reply within 5 s");
        let reply = buf[..n].to_vec();
        if n >= 2
            && u16::from_be_bytes([reply[0], reply[1]]) == marker.metadata.id
            && let Ok(m) = Message::from_vec(&reply)
            && m.metadata.message_type == MessageType::Response
            && !m.queries.is_empty()
        {
            return (before, m);
        }
        before.push(reply);
    }
}

/// Writes `frames` on one new TCP connection (pipelined, each with its 2-byte length) and
/// returns the connection, reads timing out after 5 s.
pub(crate) fn tcp_send(to: SocketAddr, frames: &[Vec<u8>]) -> std::net::TcpStream {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(to).unwrap();
    s.set_read_timeout(Some(TCP_WAIT)).unwrap();
    let mut out = Vec::new();
    for f in frames {
        out.extend_from_slice(&(f.len() as u16).to_be_bytes());
        out.extend_from_slice(f);
    }
    s.write_all(&out).unwrap();
    s
}

/// A TCP connection from `from` (port 0) to `to`, reads timing out after 5 s; with
/// `recv_buffer`, its kernel receive buffer is set that small before connecting (a client that
/// can hold little unread).
pub(crate) fn tcp_from(
    from: IpAddr,
    to: SocketAddr,
    recv_buffer: Option<usize>,
) -> std::io::Result<std::net::TcpStream> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(to), Type::STREAM, Some(Protocol::TCP))?;
    if let Some(n) = recv_buffer {
        s.set_recv_buffer_size(n)?;
    }
    s.bind(&SocketAddr::new(from, 0).into())?;
    s.connect(&to.into())?;
    let s: std::net::TcpStream = s.into();
    s.set_read_timeout(Some(TCP_WAIT))?;
    Ok(s)
}

/// Reads one length-prefixed DNS message from a TCP stream.
pub(crate) fn tcp_read(s: &mut std::net::TcpStream) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut len = [0u8; 2];
    s.read_exact(&mut len)?;
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut buf)?;
    Ok(buf)
}

/// Sends raw messages over one TCP connection (pipelined: all written before any is read) and
/// returns the raw replies.
pub(crate) fn tcp_raw(to: SocketAddr, packets: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut s = tcp_send(to, packets);
    packets
        .iter()
        .map(|_| tcp_read(&mut s).expect("tcp reply"))
        .collect()
}

/// Sends a message over TCP and parses the reply.
pub(crate) fn tcp(to: SocketAddr, m: &Message) -> Message {
    let reply = tcp_raw(to, &[m.to_vec().unwrap()]).remove(0);
    parse(&reply)
}

/// Sends over both transports (UDP to `s.udp`, TCP to `s.tcp`) and returns both replies.
pub(crate) fn both(s: &TestServer, m: &Message) -> [Message; 2] {
    [udp(s.udp, m), tcp(s.tcp, m)]
}

/// The RDATA of the answer records of a type, as text.
pub(crate) fn answers(m: &Message, t: RecordType) -> Vec<String> {
    m.answers
        .iter()
        .filter(|r| r.record_type() == t)
        .map(|r| r.data.to_string())
        .collect()
}

/// The addresses in the answer section, sorted.
pub(crate) fn addrs(m: &Message) -> Vec<String> {
    let mut v: Vec<String> = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.to_string()),
            RData::AAAA(a) => Some(a.to_string()),
            _ => None,
        })
        .collect();
    v.sort();
    v
}

/// The ECS option of a response: (source prefix, scope prefix, address text).
pub(crate) fn ecs_of(m: &Message) -> Option<(u8, u8, String)> {
    let e = m.edns.as_ref()?;
    match e.option(hickory_proto::rr::rdata::opt::EdnsCode::Subnet)? {
        EdnsOption::Subnet(c) => Some((c.source_prefix(), c.scope_prefix(), c.addr().to_string())),
        _ => None,
    }
}

/// Records of a section, for assertions on owner, type, TTL.
pub(crate) fn section(records: &[Record]) -> Vec<(String, RecordType, u32, DNSClass)> {
    records
        .iter()
        .map(|r| (r.name.to_ascii(), r.record_type(), r.ttl, r.dns_class))
        .collect()
}

/// Header flag bits (RFC 1035 §4.1.1), for raw packets.
pub(crate) mod flag {
    pub(crate) const QR: u16 = 0x8000;
    pub(crate) const AA: u16 = 0x0400;
    pub(crate) const TC: u16 = 0x0200;
    pub(crate) const RD: u16 = 0x0100;
    pub(crate) const RA: u16 = 0x0080;
}

/// The wire form of a presentation name, letter case kept (`"www.example.com."`).
pub(crate) fn wire_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

/// A raw query: header with `flags` (opcode included), one question per `(name, qtype, qclass)`.
pub(crate) fn raw_query(id: u16, flags: u16, questions: &[(&str, u16, u16)]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&flags.to_be_bytes());
    p.extend_from_slice(&(questions.len() as u16).to_be_bytes());
    p.extend_from_slice(&[0; 6]);
    for (name, qtype, qclass) in questions {
        p.extend_from_slice(&wire_name(name));
        p.extend_from_slice(&qtype.to_be_bytes());
        p.extend_from_slice(&qclass.to_be_bytes());
    }
    p
}

/// An OPT pseudo-record (RFC 6891 §6.1.2) with `(code, data)` options.
pub(crate) fn raw_opt(
    payload: u16,
    version: u8,
    dnssec_ok: bool,
    options: &[(u16, &[u8])],
) -> Vec<u8> {
    let mut rdata = Vec::new();
    for (code, data) in options {
        rdata.extend_from_slice(&code.to_be_bytes());
        rdata.extend_from_slice(&(data.len() as u16).to_be_bytes());
        rdata.extend_from_slice(data);
    }
    let mut o = vec![0];
    o.extend_from_slice(&41u16.to_be_bytes());
    o.extend_from_slice(&payload.to_be_bytes());
    o.extend_from_slice(&[0, version]);
    o.extend_from_slice(&(if dnssec_ok { 0x8000u16 } else { 0 }).to_be_bytes());
    o.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    o.extend_from_slice(&rdata);
    o
}

/// Appends a record to a raw packet's additional section (ARCOUNT + 1).
pub(crate) fn push_additional(packet: &mut Vec<u8>, rr: &[u8]) {
    let ar = u16::from_be_bytes([packet[10], packet[11]]) + 1;
    packet[10..12].copy_from_slice(&ar.to_be_bytes());
    packet.extend_from_slice(rr);
}

/// A raw response header: (id, flags, [qd, an, ns, ar]).
pub(crate) fn raw_header(p: &[u8]) -> (u16, u16, [u16; 4]) {
    assert!(p.len() >= 12, "reply shorter than a header: {p:?}");
    let w = |i: usize| u16::from_be_bytes([p[i], p[i + 1]]);
    (w(0), w(2), [w(4), w(6), w(8), w(10)])
}

/// Parses a raw reply with hickory.
pub(crate) fn parse(reply: &[u8]) -> Message {
    Message::from_vec(reply).expect("reply parses")
}

/// The header checks every answer of ours passes: a response, RA clear (no recursion offered),
/// the ID and question echoed, and the expected RCODE and AA.
#[track_caller]
pub(crate) fn assert_reply(q: &Message, r: &Message, rcode: ResponseCode, aa: bool) {
    assert_eq!(r.metadata.message_type, MessageType::Response);
    assert_eq!(r.metadata.id, q.metadata.id, "ID echoed");
    assert_eq!(r.metadata.response_code, rcode, "rcode of {r:?}");
    assert_eq!(r.metadata.authoritative, aa, "AA of {r:?}");
    assert!(!r.metadata.recursion_available, "RA must never be set");
    assert_eq!(
        r.metadata.recursion_desired, q.metadata.recursion_desired,
        "RD copied"
    );
    let qs: Vec<String> = q.queries.iter().map(|x| x.to_string()).collect();
    let rs: Vec<String> = r.queries.iter().map(|x| x.to_string()).collect();
    assert_eq!(rs, qs, "question echoed as sent");
}

/// Records as `(owner lower-cased, type, TTL, RDATA text)`, for whole-section assertions.
pub(crate) fn rrs(records: &[Record]) -> Vec<(String, RecordType, u32, String)> {
    records
        .iter()
        .map(|r| {
            assert_eq!(r.dns_class, DNSClass::IN, "class of {r}");
            (
                r.name.to_ascii().to_ascii_lowercase(),
                r.record_type(),
                r.ttl,
                r.data.to_string(),
            )
        })
        .collect()
}

/// Shorthand to build an expected `rrs()` row.
pub(crate) fn rr(
    owner: &str,
    t: RecordType,
    ttl: u32,
    data: &str,
) -> (String, RecordType, u32, String) {
    (owner.to_string(), t, ttl, data.to_string())
}

/// The SOA of the harness zone as a negative answer carries it (TTL min(3600, 300), RFC 2308).
pub(crate) fn neg_soa() -> (String, RecordType, u32, String) {
    rr(
        "example.com.",
        RecordType::SOA,
        300,
        "ns1.example.com. hostmaster.example.com. 2026112301 3600 600 604800 300",
    )
}
