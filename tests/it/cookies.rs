//! DNS cookies, identity and the ECS scope check over real UDP and TCP.
//!
//! Cookies (RFC 7873, RFC 9018 server cookies): a client cookie learns a 16-byte server cookie
//! that then works and is echoed; a forged one gets a fresh cookie, or BADCOOKIE on UDP with
//! `require = true` while TCP still answers; a malformed cookie is FORMERR; a valid cookie is
//! never rate limited and a limited client that sent a cookie gets BADCOOKIE slips; the secret
//! file is read at start and every reload (a rotated file takes over, a broken one keeps the
//! old), and the per-start random secret survives a reload. Knot's `mod-cookies` with the same
//! secret accepts our cookies and we accept its own (skipped without `knotd`, unless `CI`).
//!
//! Identity: NSID (RFC 5001) and CH TXT `id.server.`/`hostname.bind.`/`version.server.`/
//! `version.bind.`. ECS: a query whose SCOPE PREFIX-LENGTH is not 0 is FORMERR.

use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::Duration;

use gslb::cookie::Secrets;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption, NSIDPayload};
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};

use crate::harness::*;

const WWW: &str = "www.example.com.";
const SECRET: &str = "e5e973e5a6b2a43f48e7dc849e37bfcf";
const ROTATED: &str = "445536bcd2513298075a5d379663c962";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn key(s: &str) -> [u8; 16] {
    hex(s).try_into().unwrap()
}

/// A fresh client cookie, different per call.
fn client_cookie() -> Vec<u8> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0x5eed_c001_0000_0000);
    N.fetch_add(0x9e37_79b9, Ordering::Relaxed)
        .to_be_bytes()
        .to_vec()
}

/// A query for www.example.com A with EDNS and the COOKIE option `cookie`.
fn with_cookie(cookie: &[u8]) -> Message {
    let mut m = query(WWW, RecordType::A, true);
    let e = m.edns.as_mut().unwrap();
    e.options_mut()
        .insert(EdnsOption::Unknown(10, cookie.to_vec()));
    m
}

/// The COOKIE option of a response.
fn cookie_of(m: &Message) -> Option<Vec<u8>> {
    match m.edns.as_ref()?.option(EdnsCode::Cookie)? {
        EdnsOption::Unknown(10, data) => Some(data.clone()),
        other => panic!("cookie option parsed as {other:?}"),
    }
}

/// The server cookie of a response, asserting it echoes `client` and has RFC 9018's shape:
/// 16 bytes, Version 1, Reserved 0, a timestamp within a minute of now.
#[track_caller]
fn server_cookie(m: &Message, client: &[u8]) -> Vec<u8> {
    let c = cookie_of(m).unwrap_or_else(|| panic!("no COOKIE in {m:?}"));
    assert_eq!(c.len(), 24, "client cookie + 16-byte server cookie: {c:?}");
    assert_eq!(&c[..8], client, "client cookie echoed");
    assert_eq!(&c[8..12], &[1, 0, 0, 0], "version 1, reserved 0");
    let stamp = u32::from_be_bytes(c[12..16].try_into().unwrap());
    assert!(
        gslb::cookie::now().abs_diff(stamp) < 60,
        "timestamp {stamp} is now"
    );
    c[8..].to_vec()
}

/// Asserts a full answer for www.example.com A.
#[track_caller]
fn assert_answered(q: &Message, r: &Message) {
    assert_reply(q, r, ResponseCode::NoError, true);
    assert!(!r.metadata.truncation, "not truncated");
    assert_eq!(addrs(r), vec!["192.0.2.80"]);
}

/// Asserts a BADCOOKIE answer: question kept, no records, TC clear, a fresh server cookie.
#[track_caller]
fn assert_badcookie(q: &Message, r: &Message, client: &[u8]) -> Vec<u8> {
    assert_eq!(r.metadata.response_code, ResponseCode::BADCOOKIE, "{r:?}");
    assert_eq!(r.metadata.id, q.metadata.id);
    assert_eq!(r.queries, q.queries, "question kept");
    assert!(r.answers.is_empty() && r.authorities.is_empty(), "{r:?}");
    assert!(!r.metadata.truncation, "BADCOOKIE, not TC");
    server_cookie(r, client)
}

fn cat(a: &[u8], b: &[u8]) -> Vec<u8> {
    [a, b].concat()
}

/// A temp file holding `lines` as a cookie secret file.
fn secret_file(dir: &Path, lines: &[&str]) -> PathBuf {
    let p = dir.join("cookie-secret");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cookie_learns_a_server_cookie_that_then_works_and_is_echoed() {
    let s = start().await;
    for tcp_transport in [false, true] {
        let send = |m: &Message| {
            if tcp_transport {
                tcp(s.tcp, m)
            } else {
                udp(s.udp, m)
            }
        };
        let client = client_cookie();
        let q = with_cookie(&client);
        let r = send(&q);
        assert_answered(&q, &r);
        let server = server_cookie(&r, &client);

        let q = with_cookie(&cat(&client, &server));
        let r = send(&q);
        assert_answered(&q, &r);
        assert_eq!(
            cookie_of(&r).unwrap(),
            cat(&client, &server),
            "a valid, young cookie is echoed as sent"
        );

        // Without a cookie: as without cookie support.
        let q = query(WWW, RecordType::A, true);
        let r = send(&q);
        assert_answered(&q, &r);
        assert_eq!(cookie_of(&r), None);
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_server_cookie_gets_a_fresh_one() {
    let s = start().await;
    let client = client_cookie();
    for forged in [vec![1u8; 16], vec![7u8; 8], vec![1u8; 32]] {
        let q = with_cookie(&cat(&client, &forged));
        let r = udp(s.udp, &q);
        assert_answered(&q, &r);
        let fresh = server_cookie(&r, &client);
        assert_ne!(fresh, forged);
        let q = with_cookie(&cat(&client, &fresh));
        assert_eq!(cookie_of(&udp(s.udp, &q)).unwrap(), cat(&client, &fresh));
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_require_udp_without_a_valid_cookie_is_badcookie_and_tcp_still_answers() {
    let keys = tempfile::tempdir().unwrap();
    let file = secret_file(keys.path(), &[SECRET]);
    let extra = format!("[cookies]\nrequire = true\nsecret_file = {:?}\n", file);
    let s = start_with("", &extra, &[("example.com.zone", ZONE)]).await;
    let client = client_cookie();

    // A client cookie only: BADCOOKIE with the cookie to retry with.
    let q = with_cookie(&client);
    let server = assert_badcookie(&q, &udp(s.udp, &q), &client);
    // It is the RFC 9018 cookie of the file's secret for this client and address.
    let stamp = u32::from_be_bytes(server[4..8].try_into().unwrap());
    let c8: [u8; 8] = client.clone().try_into().unwrap();
    let local: IpAddr = "127.0.0.1".parse().unwrap();
    assert_eq!(
        Secrets::from_keys(&[key(SECRET)])
            .issue(&c8, local, stamp)
            .to_vec(),
        server
    );
    let q = with_cookie(&cat(&client, &server));
    assert_answered(&q, &udp(s.udp, &q));

    // A forged one: BADCOOKIE on UDP, an answer (with a fresh cookie) over TCP.
    let q = with_cookie(&cat(&client, &[9; 16]));
    assert_badcookie(&q, &udp(s.udp, &q), &client);
    let r = tcp(s.tcp, &q);
    assert_answered(&q, &r);
    server_cookie(&r, &client);

    // No cookie at all cannot learn one from BADCOOKIE: answered as before.
    let q = query(WWW, RecordType::A, true);
    assert_answered(&q, &udp(s.udp, &q));
    let q = query(WWW, RecordType::A, false);
    assert_answered(&q, &udp(s.udp, &q));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_cookie_is_formerr() {
    let s = start().await;
    for len in [5, 12, 41] {
        let q = with_cookie(&vec![3u8; len]);
        for r in both(&s, &q) {
            assert_eq!(r.metadata.response_code, ResponseCode::FormErr, "{len}");
            assert!(r.answers.is_empty());
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_off_are_ignored() {
    let s = start_with(
        "",
        "[cookies]\nenabled = false\nrequire = true\n",
        &[("example.com.zone", ZONE)],
    )
    .await;
    let q = with_cookie(&client_cookie());
    let r = udp(s.udp, &q);
    assert_answered(&q, &r);
    assert_eq!(cookie_of(&r), None);
    s.stop().await;
}

/// The replies on `sock`, at most `n`: reading stops after 2 s of silence.
fn replies(sock: &UdpSocket, n: usize) -> Vec<Message> {
    let mut buf = vec![0u8; 65535];
    let mut out = Vec::new();
    while out.len() < n {
        match sock.recv(&mut buf) {
            Ok(len) => out.push(parse(&buf[..len])),
            Err(_) => break,
        }
    }
    out
}

const LIMITED: &str = r#"
[rrl]
exempt = []
responses_per_second = 5
slip = 1
window = "2s"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_cookie_is_never_rate_limited() {
    let s = start_with("", LIMITED, &[("example.com.zone", ZONE)]).await;
    let from = "127.0.0.31";
    let client = client_cookie();
    let q = with_cookie(&client);
    let learned = udp_from(from.parse().unwrap(), s.udp, &q, Duration::from_secs(2)).unwrap();
    let cookie = cat(&client, &server_cookie(&learned, &client));

    // 60 at once with the cookie: every one answered in full, none counted by RRL.
    let queries: Vec<Message> = (0..60).map(|_| with_cookie(&cookie)).collect();
    let got = replies(&flood(from, s.udp, &queries), 60);
    assert_eq!(got.len(), 60, "every query with a valid cookie answered");
    for (q, r) in queries.iter().zip(&got) {
        assert_answered(q, r);
    }
    assert_eq!(
        rrl_counts(&s, "answer").await,
        (1, 0, 0),
        "only the learning query counted"
    );

    // The same flood without a cookie, same client: limited.
    let queries: Vec<Message> = (0..60).map(|_| query(WWW, RecordType::A, true)).collect();
    let sock = flood(from, s.udp, &queries);
    let (sent, slipped, _) =
        eventually_async(Duration::from_secs(5), "60 more counted", || async {
            seen(rrl_counts(&s, "answer").await, |c| c.0 + c.1 + c.2 == 61)
        })
        .await;
    assert!(sent <= 11, "sent {sent}");
    assert_eq!(slipped, 61 - sent, "slip = 1: every limited answer slips");
    let got = replies(&sock, 60);
    assert!(
        got.iter().filter(|r| r.metadata.truncation).count() as u64 == slipped,
        "the slips are TC=1 without a cookie"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limited_client_with_a_cookie_gets_badcookie_slips_and_its_retry_is_answered() {
    let s = start_with("", LIMITED, &[("example.com.zone", ZONE)]).await;
    let from = "127.0.0.32";
    let client = client_cookie();
    // Client cookies only (and a forged server cookie): a spoofer's queries would look so.
    let queries: Vec<Message> = (0..60)
        .map(|i| {
            if i % 2 == 0 {
                with_cookie(&client)
            } else {
                with_cookie(&cat(&client, &[5; 16]))
            }
        })
        .collect();
    let got = replies(&flood(from, s.udp, &queries), 60);
    assert_eq!(got.len(), 60, "slip = 1: every query gets a reply");
    let (full, slips): (Vec<_>, Vec<_>) = got
        .iter()
        .zip(&queries)
        .partition(|(r, _)| r.metadata.response_code == ResponseCode::NoError);
    assert!(
        (5..=11).contains(&full.len()),
        "{} full answers",
        full.len()
    );
    let mut fresh = Vec::new();
    for (r, q) in &slips {
        fresh = assert_badcookie(q, r, &client);
    }
    // The bucket is still over its rate; the retry with the cookie is answered.
    let q = with_cookie(&cat(&client, &fresh));
    let r = udp_from(from.parse().unwrap(), s.udp, &q, Duration::from_secs(2)).unwrap();
    assert_answered(&q, &r);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_picks_up_a_rotated_secret_and_keeps_the_old_on_a_broken_file() {
    let keys = tempfile::tempdir().unwrap();
    let file = secret_file(keys.path(), &[SECRET]);
    let extra = format!("[cookies]\nrequire = true\nsecret_file = {:?}\n", file);
    let s = start_with("", &extra, &[("example.com.zone", ZONE)]).await;
    let client = client_cookie();
    let q = with_cookie(&client);
    let old = cat(&client, &assert_badcookie(&q, &udp(s.udp, &q), &client));

    // Rotation: the new secret signs, the old one still verifies.
    secret_file(keys.path(), &[ROTATED, SECRET]);
    let (code, body) = admin_post(&s, "/v1/reload", None).await;
    assert_eq!(code, 200, "{body}");
    let q = with_cookie(&old);
    let r = udp(s.udp, &q);
    assert_answered(&q, &r);
    let new = server_cookie(&r, &client);
    assert_ne!(new, old[8..], "re-issued under the new secret");
    let stamp = u32::from_be_bytes(new[4..8].try_into().unwrap());
    let c8: [u8; 8] = client.clone().try_into().unwrap();
    assert_eq!(
        Secrets::from_keys(&[key(ROTATED)])
            .issue(&c8, "127.0.0.1".parse().unwrap(), stamp)
            .to_vec(),
        new
    );

    // A broken file: the reload fails, naming it, and the old secrets stay.
    std::fs::write(&file, "not hex\n").unwrap();
    let (code, body) = admin_post(&s, "/v1/reload", None).await;
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("cookie-secret"), "{body}");
    let q = with_cookie(&old);
    assert_answered(&q, &udp(s.udp, &q));

    // The old secret retired: its cookies fail, the new ones work.
    secret_file(keys.path(), &[ROTATED]);
    let (code, body) = admin_post(&s, "/v1/reload", None).await;
    assert_eq!(code, 200, "{body}");
    let q = with_cookie(&old);
    assert_badcookie(&q, &udp(s.udp, &q), &client);
    let q = with_cookie(&cat(&client, &new));
    assert_answered(&q, &udp(s.udp, &q));

    // A missing file fails the reload too.
    std::fs::remove_file(&file).unwrap();
    let (code, body) = admin_post(&s, "/v1/reload", None).await;
    assert_eq!(code, 422, "{body}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_random_secret_survives_a_reload() {
    let s = start_with(
        "",
        "[cookies]\nrequire = true\n",
        &[("example.com.zone", ZONE)],
    )
    .await;
    let client = client_cookie();
    let q = with_cookie(&client);
    let cookie = cat(&client, &assert_badcookie(&q, &udp(s.udp, &q), &client));
    let (code, body) = admin_post(&s, "/v1/reload", None).await;
    assert_eq!(code, 200, "{body}");
    let q = with_cookie(&cookie);
    assert_answered(&q, &udp(s.udp, &q));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gslb_check_rejects_a_missing_or_malformed_secret_file() {
    let keys = tempfile::tempdir().unwrap();
    for content in [None, Some("0123\n")] {
        let file = keys.path().join("secret");
        if let Some(c) = content {
            std::fs::write(&file, c).unwrap();
        }
        let config = format!(
            "[server]\nlisten = [\"127.0.0.1:0\"]\n[zones]\ndirectory = \"zones\"\n[cookies]\nsecret_file = {:?}\n",
            file
        );
        let (_dir, path) = config_dir(&config, &[("example.com.zone", ZONE)]);
        let (code, out, err) = run_gslb(vec![
            "check".into(),
            "-c".into(),
            path.display().to_string(),
        ])
        .await;
        assert_eq!(code, 1, "{out}{err}");
        assert!(format!("{out}{err}").contains("secret_file"), "{out}{err}");
    }
}

/// A CH-class query.
fn chaos(name: &str, qtype: RecordType) -> Message {
    let mut m = query(name, qtype, false);
    m.queries[0].set_query_class(DNSClass::CH);
    m
}

/// The TXT answer of a CH query: (class, TTL, text), asserting AA and NOERROR.
#[track_caller]
fn chaos_txt(s: &TestServer, name: &str) -> (DNSClass, u32, String) {
    let q = chaos(name, RecordType::TXT);
    let r = udp(s.udp, &q);
    assert_reply(&q, &r, ResponseCode::NoError, true);
    assert_eq!(r.answers.len(), 1, "{r:?}");
    let a = &r.answers[0];
    assert_eq!(a.name, Name::from_str(name).unwrap());
    let RData::TXT(t) = &a.data else {
        panic!("not TXT: {a}")
    };
    let text: Vec<String> = t
        .txt_data
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    (a.dns_class, a.ttl, text.concat())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_is_answered_to_nsid_and_chaos_txt() {
    let s = start_with(
        "identity = \"ns1.test\"\nversion = \"gslb-test 1\"",
        "",
        &[("example.com.zone", ZONE)],
    )
    .await;
    for name in ["id.server.", "hostname.bind.", "ID.Server."] {
        assert_eq!(
            chaos_txt(&s, name),
            (DNSClass::CH, 0, "ns1.test".to_string()),
            "{name}"
        );
    }
    for name in ["version.server.", "version.bind."] {
        assert_eq!(
            chaos_txt(&s, name),
            (DNSClass::CH, 0, "gslb-test 1".to_string())
        );
    }
    // Anything else in CH: REFUSED, as before.
    for q in [
        chaos("authors.bind.", RecordType::TXT),
        chaos("id.server.", RecordType::A),
        chaos(WWW, RecordType::A),
    ] {
        assert_reply(&q, &udp(s.udp, &q), ResponseCode::Refused, false);
    }

    // NSID: an empty option asks; the answer carries the identity, and nothing otherwise.
    let mut q = query(WWW, RecordType::A, true);
    q.edns
        .as_mut()
        .unwrap()
        .options_mut()
        .insert(EdnsOption::NSID(NSIDPayload::new(Vec::new()).unwrap()));
    for r in both(&s, &q) {
        assert_answered(&q, &r);
        let Some(EdnsOption::NSID(n)) = r.edns.as_ref().unwrap().option(EdnsCode::NSID) else {
            panic!("no NSID in {r:?}")
        };
        assert_eq!(n.as_ref(), b"ns1.test");
    }
    let r = udp(s.udp, &query(WWW, RecordType::A, true));
    assert!(r.edns.unwrap().option(EdnsCode::NSID).is_none());
    s.stop().await;

    // Defaults: the host name, and "gslb VERSION"; version "" refuses.
    let s = start_with("version = \"\"", "", &[("example.com.zone", ZONE)]).await;
    assert_eq!(
        chaos_txt(&s, "id.server.").2,
        gslb::config::defaults::identity()
    );
    let q = chaos("version.bind.", RecordType::TXT);
    assert_reply(&q, &udp(s.udp, &q), ResponseCode::Refused, false);
    s.stop().await;
    let s = start().await;
    assert_eq!(
        chaos_txt(&s, "version.server.").2,
        format!("gslb {}", env!("CARGO_PKG_VERSION"))
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ecs_scope_in_a_query_is_formerr() {
    let s = start().await;
    for (scope, want) in [(0u8, ResponseCode::NoError), (16, ResponseCode::FormErr)] {
        let ecs = [0, 1, 24, scope, 198, 51, 100];
        let mut p = raw_query(0x4242, 0, &[(WWW, 1, 1)]);
        push_additional(&mut p, &raw_opt(1232, 0, false, &[(8, &ecs)]));
        let udp_reply = parse(&udp_raw(s.udp, &p).expect("a reply"));
        let tcp_reply = parse(&tcp_raw(s.tcp, &[p]).remove(0));
        for r in [udp_reply, tcp_reply] {
            assert_eq!(r.metadata.response_code, want, "scope {scope}");
        }
    }
    s.stop().await;
}

// ---- Knot interoperability ----

/// A port free for both UDP and TCP on `ip` right now.
fn free_port(ip: IpAddr) -> u16 {
    eventually(
        Duration::from_secs(5),
        "a port free for UDP and TCP",
        || {
            let u = UdpSocket::bind((ip, 0)).map_err(|e| e.to_string())?;
            let port = u.local_addr().unwrap().port();
            TcpListener::bind((ip, port))
                .map(|_| port)
                .map_err(|e| e.to_string())
        },
    )
}

const KNOT_ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 604800 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A 192.0.2.80\n";

fn knot_config(d: &Path, listen: SocketAddr, secret: &str) -> String {
    let d = d.display();
    format!(
        r#"server:
    rundir: "{d}"
    listen: {ip}@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1

log:
  - target: stderr
    any: warning

database:
    storage: "{d}/db"

control:
    listen: "{d}/knot.sock"

mod-cookies:
  - id: shared
    secret: 0x{secret}
    badcookie-slip: 1

template:
  - id: default
    storage: "{d}"
    zonefile-sync: -1
    journal-content: none
    global-module: mod-cookies/shared

zone:
  - domain: example.com
    file: "{d}/example.com.zone"
"#,
        ip = listen.ip(),
        port = listen.port(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_and_gslb_accept_each_others_cookies_with_the_same_secret() {
    let Some(knotd) = which("knotd") else {
        let msg = "knot interop cannot run: knotd is not installed (apt install knot)";
        if std::env::var_os("CI").is_some() {
            panic!("{msg} (CI is set, so this is a failure, not a skip)");
        }
        eprintln!("SKIPPED {msg}");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let knot_ip: IpAddr = "127.0.0.62".parse().unwrap();
    let knot = SocketAddr::new(knot_ip, free_port(knot_ip));
    std::fs::write(d.join("example.com.zone"), KNOT_ZONE).unwrap();
    std::fs::write(d.join("knot.conf"), knot_config(d, knot, SECRET)).unwrap();
    let log = std::fs::File::create(d.join("knot.log")).unwrap();
    let _knot = Guard(
        Command::new(&knotd)
            .arg("-c")
            .arg(d.join("knot.conf"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let file = secret_file(d, &[SECRET]);
    let extra = format!("[cookies]\nrequire = true\nsecret_file = {:?}\n", file);
    let s = start_with("", &extra, &[("example.com.zone", ZONE)]).await;

    // Both clients send from 127.0.0.1: a server cookie is bound to the client's address.
    let from: IpAddr = "127.0.0.1".parse().unwrap();
    let ask = |to: SocketAddr, m: &Message| udp_from(from, to, m, Duration::from_secs(2));
    let knot_log = || std::fs::read_to_string(d.join("knot.log")).unwrap_or_default();
    let probe = query(WWW, RecordType::A, true);
    eventually(Duration::from_secs(10), "knotd to answer", || {
        ask(knot, &probe).map_err(|e| format!("{e}; log: {}", knot_log()))
    });

    // Knot's module is live: a forged server cookie is BADCOOKIE there.
    let client = client_cookie();
    let q = with_cookie(&cat(&client, &[9; 16]));
    let r = ask(knot, &q).unwrap();
    assert_eq!(r.metadata.response_code, ResponseCode::BADCOOKIE, "{r:?}");

    // gslb's cookie, taken to Knot: a normal answer and a valid cookie echoed.
    let q = with_cookie(&client);
    let ours = assert_badcookie(&q, &ask(s.udp, &q).unwrap(), &client);
    let q = with_cookie(&cat(&client, &ours));
    let r = ask(knot, &q).unwrap();
    assert_eq!(r.metadata.response_code, ResponseCode::NoError, "{r:?}");
    assert_eq!(addrs(&r), vec!["192.0.2.80"]);
    let echoed = server_cookie(&r, &client);
    // ... and what Knot echoed is good with gslb (require = true, so anything else is BADCOOKIE).
    let q = with_cookie(&cat(&client, &echoed));
    assert_answered(&q, &ask(s.udp, &q).unwrap());

    // Knot's own fresh cookie, taken to gslb. (Knot 3.2 answers a client cookie alone over UDP
    // with BADCOOKIE and its cookie, as RFC 7873 §5.2.3 allows; either way the cookie is there.)
    let client = client_cookie();
    let q = with_cookie(&client);
    let r = ask(knot, &q).unwrap();
    assert!(
        [ResponseCode::NoError, ResponseCode::BADCOOKIE].contains(&r.metadata.response_code),
        "{r:?}"
    );
    let knots = server_cookie(&r, &client);
    let q = with_cookie(&cat(&client, &knots));
    let r = ask(s.udp, &q).unwrap();
    assert_answered(&q, &r);
    assert_eq!(
        cookie_of(&r).unwrap(),
        cat(&client, &knots),
        "echoed as valid"
    );
    s.stop().await;
}
