//! Test support: a gslb server on 127.0.0.1 port 0 built from config and zone text, and a DNS
//! client over real UDP and TCP sockets that builds queries and parses answers with hickory-proto
//! (an independent reading of what we put on the wire).
#![allow(dead_code)]

pub mod backend;

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use gslb::server::{Bound, Server};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use tempfile::TempDir;

/// The example zone most DNS tests use.
pub const ZONE: &str = r#"$ORIGIN example.com.
$TTL 3600
@       IN SOA ns1 hostmaster ( 2026112301 3600 600 604800 300 )
@       IN NS  ns1
@       IN NS  ns2
ns1     IN A   192.0.2.1
ns2     IN A   192.0.2.2
@       IN MX  10 mail
mail    IN A   192.0.2.25
www     IN A   192.0.2.80
www     IN AAAA 2001:db8::80
alias   IN CNAME www
chain1  IN CNAME chain2
chain2  IN CNAME www
loop1   IN CNAME loop2
loop2   IN CNAME loop1
dangling IN CNAME nothere
outside IN CNAME www.example.net.
*.wild  IN A   192.0.2.90
*.wild  IN TXT "wild"
a.b.ent IN TXT "deep"
sub     IN NS  ns.sub
sub     IN NS  ns.elsewhere.net.
ns.sub  IN A   192.0.2.53
big     IN TXT "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
big     IN TXT "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
big     IN TXT "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
"#;

/// A running server and the files it was built from.
pub struct TestServer {
    /// UDP address.
    pub udp: SocketAddr,
    /// TCP address.
    pub tcp: SocketAddr,
    /// Admin API address.
    pub admin: SocketAddr,
    /// The server (None once shut down).
    pub server: Option<Server>,
    /// Directory holding gslb.toml and zones/.
    pub dir: TempDir,
}

impl TestServer {
    /// Path of the config file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("gslb.toml")
    }

    /// The running server.
    pub fn server(&self) -> &Server {
        self.server.as_ref().expect("server running")
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
    }
}

/// Writes `extra` config (everything but [server] and [zones]) and the zone files into a temp
/// dir, with `server` lines added to [server], and starts a server on 127.0.0.1:0.
pub async fn start_with(server_extra: &str, extra: &str, zones: &[(&str, &str)]) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("zones")).unwrap();
    write_zone_files(&dir.path().join("zones"), zones);
    let config = format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\nthreads = 1\n{server_extra}\n[zones]\ndirectory = \"zones\"\n{extra}\n"
    );
    let path = dir.path().join("gslb.toml");
    std::fs::write(&path, config).unwrap();
    let served = gslb::load::from_file(&path)
        .unwrap_or_else(|e| panic!("test config rejected: {}", gslb::diag::Diagnostics(e)));
    let cfg = served.config.server.clone();
    let bound = Bound::bind(&cfg.listen, cfg.threads)
        .and_then(|b| b.with_admin("127.0.0.1:0".parse().unwrap()))
        .expect("bind");
    let server = Server::start(bound, Arc::new(served), &path)
        .await
        .expect("start");
    TestServer {
        udp: server.udp_addrs[0],
        tcp: server.tcp_addrs[0],
        admin: server.admin_addr.expect("admin listening"),
        server: Some(server),
        dir,
    }
}

/// A server for the example zone only.
pub async fn start() -> TestServer {
    start_with("", "", &[("example.com.zone", ZONE)]).await
}

/// A query message for `name`/`qtype`, RD clear, with EDNS (payload 1232) when `edns`.
pub fn query(name: &str, qtype: RecordType, edns: bool) -> Message {
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
pub fn with_ecs(mut m: Message, net: &str) -> Message {
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

/// Sends raw bytes over UDP; returns the raw reply, or None after 2 s of silence.
pub fn udp_raw(addr: SocketAddr, packet: &[u8]) -> Option<Vec<u8>> {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    s.send_to(packet, addr).unwrap();
    let mut buf = vec![0u8; 65535];
    match s.recv_from(&mut buf) {
        Ok((n, _)) => Some(buf[..n].to_vec()),
        Err(_) => None,
    }
}

/// Sends a message over UDP and parses the reply.
pub fn udp(addr: SocketAddr, m: &Message) -> Message {
    let bytes = m.to_vec().unwrap();
    let reply = udp_raw(addr, &bytes).expect("udp reply");
    let r = Message::from_vec(&reply).expect("reply parses");
    assert_eq!(r.metadata.id, m.metadata.id, "reply ID matches");
    r
}

/// Sends raw messages over one TCP connection (pipelined: all written before any is read) and
/// returns the raw replies.
pub fn tcp_raw(addr: SocketAddr, packets: &[Vec<u8>]) -> Vec<Vec<u8>> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = Vec::new();
    for p in packets {
        out.extend_from_slice(&(p.len() as u16).to_be_bytes());
        out.extend_from_slice(p);
    }
    s.write_all(&out).unwrap();
    let mut replies = Vec::new();
    for _ in packets {
        let mut len = [0u8; 2];
        s.read_exact(&mut len).unwrap();
        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut buf).unwrap();
        replies.push(buf);
    }
    replies
}

/// Sends a message over TCP and parses the reply.
pub fn tcp(addr: SocketAddr, m: &Message) -> Message {
    let reply = tcp_raw(addr, &[m.to_vec().unwrap()]).remove(0);
    Message::from_vec(&reply).expect("reply parses")
}

/// Sends over both transports (UDP to `s.udp`, TCP to `s.tcp`) and returns both replies.
pub fn both(s: &TestServer, m: &Message) -> [Message; 2] {
    [udp(s.udp, m), tcp(s.tcp, m)]
}

/// The RDATA of the answer records of a type, as text.
pub fn answers(m: &Message, t: RecordType) -> Vec<String> {
    m.answers
        .iter()
        .filter(|r| r.record_type() == t)
        .map(|r| r.data.to_string())
        .collect()
}

/// The addresses in the answer section, sorted.
pub fn addrs(m: &Message) -> Vec<String> {
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
pub fn ecs_of(m: &Message) -> Option<(u8, u8, String)> {
    let e = m.edns.as_ref()?;
    match e.option(hickory_proto::rr::rdata::opt::EdnsCode::Subnet)? {
        EdnsOption::Subnet(c) => Some((c.source_prefix(), c.scope_prefix(), c.addr().to_string())),
        _ => None,
    }
}

/// Records of a section, for assertions on owner, type, TTL.
pub fn section(records: &[Record]) -> Vec<(String, RecordType, u32, DNSClass)> {
    records
        .iter()
        .map(|r| (r.name.to_ascii(), r.record_type(), r.ttl, r.dns_class))
        .collect()
}

/// Writes zone files under `zones_dir`; a name may hold `/` to put a file in a subdirectory
/// (for `$INCLUDE`d pieces, which the loader does not read as zones of their own).
pub fn write_zone_files(zones_dir: &std::path::Path, zones: &[(&str, &str)]) {
    for (name, text) in zones {
        let path = zones_dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, text).unwrap();
    }
}

/// Header flag bits (RFC 1035 §4.1.1), for raw packets.
pub mod flag {
    pub const QR: u16 = 0x8000;
    pub const AA: u16 = 0x0400;
    pub const TC: u16 = 0x0200;
    pub const RD: u16 = 0x0100;
    pub const RA: u16 = 0x0080;
}

/// The wire form of a presentation name, letter case kept (`"www.example.com."`).
pub fn wire_name(name: &str) -> Vec<u8> {
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
pub fn raw_query(id: u16, flags: u16, questions: &[(&str, u16, u16)]) -> Vec<u8> {
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
pub fn raw_opt(payload: u16, version: u8, dnssec_ok: bool, options: &[(u16, &[u8])]) -> Vec<u8> {
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
pub fn push_additional(packet: &mut Vec<u8>, rr: &[u8]) {
    let ar = u16::from_be_bytes([packet[10], packet[11]]) + 1;
    packet[10..12].copy_from_slice(&ar.to_be_bytes());
    packet.extend_from_slice(rr);
}

/// A raw response header: (id, flags, [qd, an, ns, ar]).
pub fn raw_header(p: &[u8]) -> (u16, u16, [u16; 4]) {
    assert!(p.len() >= 12, "reply shorter than a header: {p:?}");
    let w = |i: usize| u16::from_be_bytes([p[i], p[i + 1]]);
    (w(0), w(2), [w(4), w(6), w(8), w(10)])
}

/// Parses a raw reply with hickory.
pub fn parse(reply: &[u8]) -> Message {
    Message::from_vec(reply).expect("reply parses")
}

/// The header checks every answer of ours passes: a response, RA clear (no recursion offered),
/// the ID and question echoed, and the expected RCODE and AA.
#[track_caller]
pub fn assert_reply(q: &Message, r: &Message, rcode: ResponseCode, aa: bool) {
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
pub fn rrs(records: &[Record]) -> Vec<(String, RecordType, u32, String)> {
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
pub fn rr(owner: &str, t: RecordType, ttl: u32, data: &str) -> (String, RecordType, u32, String) {
    (owner.to_string(), t, ttl, data.to_string())
}

/// The SOA of the harness zone as a negative answer carries it (TTL min(3600, 300), RFC 2308).
pub fn neg_soa() -> (String, RecordType, u32, String) {
    rr(
        "example.com.",
        RecordType::SOA,
        300,
        "ns1.example.com. hostmaster.example.com. 2026112301 3600 600 604800 300",
    )
}

/// Sends `packets` and then `marker` (a valid query) over one UDP socket, and returns every reply
/// that came before the marker's, and the marker's. The harness server reads one socket with
/// one worker, so replies come in the order the packets were sent: a packet that gets no reply
/// is one whose reply is absent from the list.
pub fn udp_burst(
    addr: SocketAddr,
    packets: &[Vec<u8>],
    marker: &Message,
) -> (Vec<Vec<u8>>, Message) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for p in packets {
        s.send_to(p, addr).unwrap();
    }
    s.send_to(&marker.to_vec().unwrap(), addr).unwrap();
    let mut before = Vec::new();
    let mut buf = vec![0u8; 65535];
    loop {
        let (n, _) = s.recv_from(&mut buf).expect("marker reply within 5 s");
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

/// Waits until `f` is true, polling every 10 ms, failing after `secs` seconds.
pub async fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// An HTTP client for the admin API: no proxy (loopback only), 10 s timeout.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

/// `GET http://<admin><path>`: status code and body.
pub async fn admin_get(s: &TestServer, path: &str) -> (u16, String) {
    let r = http()
        .get(format!("http://{}{path}", s.admin))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let code = r.status().as_u16();
    (code, r.text().await.expect("body"))
}

/// `POST http://<admin><path>`, with `Authorization: <auth>` when given: status code and body.
pub async fn admin_post(s: &TestServer, path: &str, auth: Option<&str>) -> (u16, String) {
    let mut req = http().post(format!("http://{}{path}", s.admin));
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    let r = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let code = r.status().as_u16();
    (code, r.text().await.expect("body"))
}

/// Parses a body as JSON, failing with the body when it is not.
pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// `GET /v1/status`, which must answer 200 with JSON.
pub async fn status_json(s: &TestServer) -> serde_json::Value {
    let (code, body) = admin_get(s, "/v1/status").await;
    assert_eq!(code, 200, "{body}");
    json(&body)
}

/// The state (`up`, `down`, `drained`) `/v1/status` shows for an endpoint of a balanced name.
pub fn status_state(st: &serde_json::Value, name: &str, endpoint: &str) -> Option<String> {
    st["balanced"]
        .as_array()?
        .iter()
        .find(|b| b["name"] == name)?["endpoints"]
        .as_array()?
        .iter()
        .find(|e| e["address"] == endpoint)?["state"]
        .as_str()
        .map(String::from)
}

/// Waits until the async condition `f` is true, polling every 20 ms, failing after `secs`.
pub async fn wait_for<F, Fut>(secs: u64, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !f().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The balanced name of `balanced_config`.
pub const APP: &str = "app.example.com.";
/// Its endpoints, in config order: two in us-east, one in eu-west.
pub const EPS: [&str; 3] = ["127.0.0.21", "127.0.0.22", "127.0.0.23"];

/// Two data centers; app.example.com has two endpoints in us-east (priority 1) and one in
/// eu-west (priority 2), all probed over HTTP on the backends' port.
pub fn balanced_config(port: u16, policy: &str, answers: usize, when_all_down: &str) -> String {
    format!(
        r#"[checks.web]
protocol = "http"
port = {port}
path = "/health"
interval = "300ms"
timeout = "250ms"
rise = 2
fall = 2

[datacenters.us-east]
networks = ["198.51.100.0/24"]
[datacenters.eu-west]
networks = ["203.0.113.0/24"]

[[balance]]
name = "app.example.com"
policy = "{policy}"
ttl = 20
answers = {answers}
check = "web"
when_all_down = "{when_all_down}"
endpoints = [
  {{ address = "127.0.0.21", datacenter = "us-east", priority = 1 }},
  {{ address = "127.0.0.22", datacenter = "us-east", priority = 1 }},
  {{ address = "127.0.0.23", datacenter = "eu-west", priority = 2 }},
]
"#
    )
}

/// Backends on 127.0.0.21–23 and a server balancing over them with `balanced_config`; `admin`
/// is prepended to the config (e.g. an `[admin]` table). The config as started is kept in
/// `start.toml` next to it.
pub async fn start_balanced(
    policy: &str,
    answers: usize,
    when_all_down: &str,
    admin: &str,
) -> (Vec<backend::Backend>, TestServer) {
    let b = backend::start(&EPS).await;
    let cfg = format!(
        "{admin}\n{}",
        balanced_config(b[0].addr.port(), policy, answers, when_all_down)
    );
    let s = start_with("", &cfg, &[("example.com.zone", ZONE)]).await;
    std::fs::copy(s.config_path(), s.dir.path().join("start.toml")).unwrap();
    (b, s)
}

/// The value of one series (`name{labels}` exactly as rendered) in Prometheus text.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Asserts a JSON error body `{"error": "<message>"}` whose message contains `contains`.
pub fn assert_error(body: &str, contains: &str) {
    let v = json(body);
    let msg = v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error: {body}"));
    assert!(msg.contains(contains), "{msg:?} lacks {contains:?}");
}

/// Runs the real `gslb` binary: exit code, stdout, stderr.
pub async fn run_gslb(args: Vec<String>) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gslb"))
            .args(&args)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run gslb");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

/// Sends a message over UDP and waits up to `timeout` for a reply with its ID: None if none
/// came (or it did not parse).
pub fn udp_within(addr: SocketAddr, m: &Message, timeout: Duration) -> Option<Message> {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(timeout)).unwrap();
    s.send_to(&m.to_vec().unwrap(), addr).unwrap();
    let mut buf = vec![0u8; 65535];
    let n = s.recv(&mut buf).ok()?;
    let r = Message::from_vec(&buf[..n]).ok()?;
    (r.metadata.id == m.metadata.id).then_some(r)
}
