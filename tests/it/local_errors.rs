//! Local errors are not endpoint failures, on the real binary: a `gslb serve` child limited to
//! 64 file descriptors, whose descriptors the test exhausts from outside with idle DNS TCP
//! connections. Its HTTP and TCP probes then fail with "Too many open files" before a packet
//! leaves; the endpoints must stay up (in `/v1/status` and in the answers) while
//! `gslb_probe_errors_total{kind="local"}` counts those probes, warned once per check, and
//! probes must pass again once the connections are gone.
//!
//! The admin API is read over one keep-alive connection opened before the exhaustion: a new
//! connection could not be accepted then, but a request on an open one needs no descriptor.

use std::net::{IpAddr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader as TokioBufReader};
use tokio::net::{TcpSocket, TcpStream};

use crate::harness::backend;
use crate::harness::*;
use hickory_proto::rr::RecordType;

/// The child's descriptor limit, soft and hard (so gslb cannot raise it at start).
const NOFILE: u64 = 64;
/// Idle DNS TCP connections opened to exhaust it: well past the limit, so the ones left in the
/// listen backlog take every descriptor a closed one frees.
const HOGS: usize = 120;
/// Connections per source address (sources 127.0.77.1, .2, …): far below any per-client cap.
const PER_SOURCE: usize = 8;
const PATIENCE: Duration = Duration::from_secs(20);

const ZONE_T: &str =
    "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 h 1 3600 600 604800 60\n@ NS ns1\nns1 A 192.0.2.1\n";

fn config(port: u16) -> String {
    format!(
        r#"[server]
listen = ["127.0.0.1:0"]
threads = 1
tcp_connections_per_client = 1000
tcp_idle_timeout = "120s"

[admin]
listen = "127.0.0.1:0"
request_timeout = "120s"

[zones]
directory = "zones"

[checks.web]
protocol = "http"
port = {port}
path = "/health"
interval = "300ms"
timeout = "250ms"
rise = 2
fall = 3

[checks.tcp]
protocol = "tcp"
port = {port}
interval = "300ms"
timeout = "250ms"
rise = 2
fall = 3

[datacenters.a]
[datacenters.b]

[[balance]]
name = "app.example.com"
policy = "all"
answers = 2
when_all_down = "none"
endpoints = [
  {{ address = "127.0.0.41", datacenter = "a", check = "web" }},
  {{ address = "127.0.0.42", datacenter = "b", check = "tcp" }},
]
"#
    )
}

/// A `gslb serve` child with RLIMIT_NOFILE = `NOFILE`, and its log.
struct Child {
    guard: Guard,
    log: Arc<Mutex<Vec<String>>>,
}

impl Child {
    fn start(config: &std::path::Path) -> Child {
        let mut cmd = serve_command(config);
        // SAFETY: between fork and exec the closure only calls setrlimit, which is
        // async-signal-safe, on a value on its own stack.
        unsafe {
            cmd.pre_exec(|| {
                let lim = libc::rlimit {
                    rlim_cur: NOFILE,
                    rlim_max: NOFILE,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let (guard, log) = spawn_logged(cmd);
        Child { guard, log }
    }

    /// Log lines containing every one of `parts`.
    fn lines(&self, parts: &[&str]) -> Vec<String> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|l| parts.iter().all(|p| l.contains(p)))
            .cloned()
            .collect()
    }

    /// The address of the `listening` line for `proto`, once serving.
    fn addr(&self, proto: &str) -> SocketAddr {
        let marker = format!("listening proto={proto} addr=");
        eventually(PATIENCE, "gslb to log that it serves", || {
            let l = self.lines(&[&marker]);
            if l.is_empty() || self.lines(&[" serving"]).is_empty() {
                return Err(self.log.lock().unwrap().join("\n"));
            }
            Ok(())
        });
        let line = self.lines(&[&marker]).remove(0);
        let a = line.split(&marker).nth(1).unwrap();
        a.split_whitespace().next().unwrap().parse().unwrap()
    }

    /// Descriptors it has open now.
    fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.guard.0.id()))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

/// An HTTP/1.1 client on ONE keep-alive connection to the admin API.
struct KeepAlive {
    r: TokioBufReader<tokio::net::tcp::OwnedReadHalf>,
    w: tokio::net::tcp::OwnedWriteHalf,
}

impl KeepAlive {
    async fn open(admin: SocketAddr) -> KeepAlive {
        let (r, w) = TcpStream::connect(admin).await.unwrap().into_split();
        KeepAlive {
            r: TokioBufReader::new(r),
            w,
        }
    }

    /// `GET path` on the open connection: status and body. Panics if the server closed it.
    async fn get(&mut self, path: &str) -> (u16, String) {
        let req = format!("GET {path} HTTP/1.1\r\nHost: gslb\r\n\r\n");
        self.w.write_all(req.as_bytes()).await.unwrap();
        let within = tokio::time::timeout(Duration::from_secs(10), self.response());
        within
            .await
            .unwrap_or_else(|_| panic!("no answer to GET {path} on the kept-alive connection"))
    }

    async fn response(&mut self) -> (u16, String) {
        let mut status = String::new();
        let n = self.r.read_line(&mut status).await.unwrap();
        assert!(n > 0, "the admin API closed the kept-alive connection");
        let code: u16 = status.split_whitespace().nth(1).unwrap().parse().unwrap();
        let (mut length, mut chunked) = (None, false);
        loop {
            let mut h = String::new();
            self.r.read_line(&mut h).await.unwrap();
            let h = h.trim_end().to_ascii_lowercase();
            if h.is_empty() {
                break;
            }
            if let Some(v) = h.strip_prefix("content-length:") {
                length = Some(v.trim().parse::<usize>().unwrap());
            }
            if h.starts_with("transfer-encoding:") && h.contains("chunked") {
                chunked = true;
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let mut size = String::new();
                self.r.read_line(&mut size).await.unwrap();
                let size = usize::from_str_radix(size.trim(), 16).unwrap();
                let mut chunk = vec![0; size + 2];
                self.r.read_exact(&mut chunk).await.unwrap();
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else {
            body.resize(length.expect("a length or chunks"), 0);
            self.r.read_exact(&mut body).await.unwrap();
        }
        (code, String::from_utf8(body).unwrap())
    }

    async fn metrics(&mut self) -> String {
        let (code, body) = self.get("/metrics").await;
        assert_eq!(code, 200, "{body}");
        body
    }

    /// Local errors counted so far.
    async fn local_errors(&mut self) -> f64 {
        metric(
            &self.metrics().await,
            "gslb_probe_errors_total{kind=\"local\"}",
        )
        .expect("gslb_probe_errors_total{kind=\"local\"} is always rendered")
    }

    /// The states `/v1/status` shows for both endpoints.
    async fn states(&mut self) -> [Option<String>; 2] {
        let (code, body) = self.get("/v1/status").await;
        assert_eq!(code, 200, "{body}");
        let st = json(&body);
        [
            status_state(&st, "app.example.com.", "127.0.0.41"),
            status_state(&st, "app.example.com.", "127.0.0.42"),
        ]
    }
}

/// The addresses app.example.com answers over UDP (which needs no new descriptor in gslb).
fn app(udp: SocketAddr) -> Vec<String> {
    let mut a = addrs(
        &udp_within(
            udp,
            &query("app.example.com.", RecordType::A, false),
            Duration::from_secs(2),
        )
        .expect("an answer over UDP"),
    );
    a.sort();
    a
}

const BOTH: [&str; 2] = ["127.0.0.41", "127.0.0.42"];

/// `HOGS` idle connections to `to` from 127.0.77.x sources.
async fn hog(to: SocketAddr) -> Vec<TcpStream> {
    let mut out = Vec::with_capacity(HOGS);
    for i in 0..HOGS {
        let s = TcpSocket::new_v4().unwrap();
        let src = IpAddr::from([127, 0, 77, (1 + i / PER_SOURCE) as u8]);
        s.bind(SocketAddr::new(src, 0)).unwrap();
        out.push(s.connect(to).await.unwrap());
    }
    out
}

/// The one kept-alive admin connection, shared by the conditions that poll it.
type Api = Arc<tokio::sync::Mutex<KeepAlive>>;

/// Waits until `/metrics` counts at least `n` local errors, asserting at every look that both
/// endpoints are up in `/v1/status` and answered over UDP when `hold` is set.
async fn local_errors_reach(api: &Api, udp: SocketAddr, n: f64, hold: bool) -> (f64, usize) {
    let mut looks = 0;
    let what = format!("{n} local errors counted");
    let got = eventually_async(PATIENCE, &what, || {
        looks += 1;
        let api = api.clone();
        async move {
            let mut api = api.lock().await;
            if hold {
                assert_eq!(
                    api.states().await,
                    [Some("up".into()), Some("up".into())],
                    "an endpoint moved while its probes could not run"
                );
                assert_eq!(app(udp), BOTH, "an endpoint left the answers");
            }
            seen(api.local_errors().await, |v| *v >= n)
        }
    })
    .await;
    (got, looks)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_descriptors_keep_endpoints_up_and_are_counted_as_local_errors() {
    let b = backend::start(&BOTH).await;
    let port = b[0].addr.port();
    let (_dir, path) = config_dir(&config(port), &[("example.com.zone", ZONE_T)]);
    let child = Child::start(&path);
    let (udp, tcp, admin) = (child.addr("udp"), child.addr("tcp"), child.addr("http"));

    let api: Api = Arc::new(tokio::sync::Mutex::new(KeepAlive::open(admin).await));
    eventually_async(PATIENCE, "both endpoints up before the exhaustion", || {
        let api = api.clone();
        async move {
            let st = api.lock().await.states().await;
            seen(st, |s| s.iter().all(|x| x.as_deref() == Some("up")))
        }
    })
    .await;
    assert_eq!(app(udp), BOTH);
    assert!(b[0].requests() > 0, "the HTTP check reached its backend");
    assert_eq!(api.lock().await.local_errors().await, 0.0);
    let baseline_fds = child.fds();
    assert!(
        (baseline_fds as u64) < NOFILE / 2,
        "{baseline_fds} descriptors at rest"
    );

    // Exhaust the child's descriptors from outside.
    let exhausted_at = Instant::now();
    let hogs = hog(tcp).await;
    eventually(PATIENCE, "the child to run out of descriptors", || {
        seen(child.fds(), |n| *n as u64 >= NOFILE)
    });
    let (first, _) = local_errors_reach(&api, udp, 2.0, false).await;

    // For at least ten more probe intervals of both targets (20 more local errors), every
    // look shows both endpoints up and both answered. Without the rule, fall = 3 local errors
    // in a row would have taken each down.
    let (last, looks) = local_errors_reach(&api, udp, first + 20.0, true).await;
    assert!(
        looks > 1,
        "the endpoints were looked at during the exhaustion"
    );
    assert!(child.fds() as u64 >= NOFILE, "still exhausted at the end");
    let m = api.lock().await.metrics().await;
    assert!(
        !m.contains("reason=\"local\""),
        "local errors are not check failures:\n{m}"
    );
    // Both protocols failed locally, and were warned of once per check per 10 s window.
    let exhausted_for = exhausted_at.elapsed();
    let windows = 1 + (exhausted_for.as_secs() / 10) as usize;
    for check in ["web", "tcp"] {
        let warned = child.lines(&[
            "probe could not run (local error)",
            &format!("check={check} "),
            "Too many open files",
        ]);
        assert!(
            !warned.is_empty() && warned.len() <= windows,
            "{check}: {} warnings in {exhausted_for:?} for {last} local errors: {warned:?}",
            warned.len()
        );
    }

    // Released: probes run again and pass; no more local errors.
    drop(hogs);
    eventually(PATIENCE, "the child's descriptors back", || {
        seen(child.fds(), |n| *n <= baseline_fds + 4)
    });
    let web_released = b[0].requests();
    eventually(PATIENCE, "HTTP probes to reach the backend again", || {
        seen(b[0].requests(), |n| *n >= web_released + 2)
    });
    let settled = api.lock().await.local_errors().await;
    let tcp_series =
        format!("gslb_check_duration_seconds_count{{check=\"tcp\",target=\"127.0.0.42:{port}\"}}");
    let tcp_probes = metric(&api.lock().await.metrics().await, &tcp_series).unwrap();
    let web_now = b[0].requests();
    eventually_async(PATIENCE, "three more passing probes of each check", || {
        let (api, series, backend) = (api.clone(), &tcp_series, &b[0]);
        async move {
            let tcp = metric(&api.lock().await.metrics().await, series).unwrap();
            seen((tcp, backend.requests()), |(t, w)| {
                *t >= tcp_probes + 3.0 && *w >= web_now + 3
            })
        }
    })
    .await;
    let mut api = api.lock().await;
    assert_eq!(
        api.local_errors().await,
        settled,
        "local errors after release"
    );
    assert_eq!(api.states().await, [Some("up".into()), Some("up".into())]);
    assert_eq!(app(udp), BOTH);
    let moved = child.lines(&["endpoint state changed"]);
    assert!(moved.is_empty(), "{moved:?}");
}
