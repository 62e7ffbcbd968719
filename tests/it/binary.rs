//! The real `gslb` binary, run the way an operator runs it.
//!
//! Covers: `gslb check` on the shipped example and on good and bad configurations (exit status,
//! each problem as `file:line:col: message`); `gslb serve` on several listen addresses (IPv4
//! and, when the host has it, IPv6 loopback) with two SO_REUSEPORT UDP sockets each, found from
//! its `listening` log lines and queried over UDP and TCP; SIGTERM (exit 0, "stopped"); SIGHUP
//! reloading a changed zone, and keeping the old data when the new zone is broken.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::harness::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType::{A, SOA};
use tempfile::TempDir;

/// How long the binary gets to log, reload or exit.
const PATIENCE: Duration = Duration::from_secs(20);

fn zone(serial: u32, extra: &str) -> String {
    format!(
        "$ORIGIN example.com.\n$TTL 300\n@ IN SOA ns1 hostmaster {serial} 3600 600 604800 60\n\
         @ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A 192.0.2.80\n{extra}"
    )
}

/// A directory holding `gslb.toml` (with `server` as its [server] section) and zone files.
fn setup(server: &str, rest: &str, zones: &[(&str, &str)]) -> (TempDir, PathBuf) {
    let config = format!(
        "[server]\n{server}\n\n[admin]\nlisten = \"127.0.0.1:0\"\n\n\
         [zones]\ndirectory = \"zones\"\n{rest}"
    );
    config_dir(&config, zones)
}

fn check(config: &Path) -> Output {
    Command::new(GSLB_BIN)
        .args(["check", "-c"])
        .arg(config)
        .env("RUST_LOG", "info")
        .output()
        .expect("run gslb check")
}

fn stdout_lines(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn check_accepts_the_shipped_example() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("gslb.toml");
    let o = check(&config);
    assert!(o.status.success(), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).contains(": ok"), "{o:?}");
}

#[test]
fn check_accepts_a_good_config() {
    let (_dir, config) = setup(
        "listen = [\"127.0.0.1:0\"]",
        "",
        &[("example.com.zone", &zone(1, ""))],
    );
    let o = check(&config);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("ok (1 zones"), "{out}");
}

/// Runs `gslb check` and returns its problem lines, asserting exit status 1.
fn problems(config: &Path) -> Vec<String> {
    let o = check(config);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let lines = stdout_lines(&o);
    assert!(!lines.is_empty(), "{o:?}");
    lines
}

#[test]
fn check_reports_each_problem_with_file_line_and_column() {
    // Two misspelt keys and a duration without a unit: all three in one run, each with the
    // file, its line and column, and what was meant.
    let (dir, config) = setup(
        "listen = [\"127.0.0.1:0\"]\nthread = 2",
        "[checks.web]\nprotocol = \"tcp\"\nport = 80\nintervall = \"1s\"\ntimeout = 1\n",
        &[],
    );
    let lines = problems(&config);
    let file = config.display();
    assert_eq!(
        lines,
        [
            format!("{file}:3:1: unknown key \"thread\" in [server]; did you mean \"threads\"?"),
            format!(
                "{file}:13:1: unknown key \"intervall\" in [checks.web]; did you mean \"interval\"?"
            ),
            format!(
                "{file}:14:11: timeout: duration 1 has no unit: use a unit, e.g. \"1s\" (ms, s, m or h)"
            ),
        ]
    );
    drop(dir);

    // Broken zone lines in three files (one of them $INCLUDEd): each reported in its own file.
    let bad_syntax = zone(1, "ok IN A 192.0.2.2\nbad IN A 192.0.2.300\n");
    let bad_content = "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n\
                       x CNAME ns\nx A 192.0.2.2\n";
    let org = zone(1, "$INCLUDE parts/hosts.inc\n").replace("example.com.", "example.org.");
    let (dir, config) = setup(
        "listen = [\"127.0.0.1:0\"]",
        "",
        &[
            ("example.com.zone", &bad_syntax),
            ("example.net.zone", bad_content),
            ("example.org.zone", &org),
            (
                "parts/hosts.inc",
                "ok IN A 192.0.2.3\nbad IN AAAA 192.0.2.3\n",
            ),
        ],
    );
    let lines = problems(&config);
    let zones = dir.path().join("zones");
    // Each at the offending token, quoting it.
    let com = format!(
        "{}:8:10: 192.0.2.300 is not an IPv4 address",
        zones.join("example.com.zone").display()
    );
    // The A record that joins the CNAME is the offending one.
    let net = format!("{}:6:1: ", zones.join("example.net.zone").display());
    assert!(lines.iter().any(|l| l.starts_with(&com)), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&net) && l.contains("CNAME and other data")),
        "{lines:?}"
    );
    let inc = format!(
        "{}:2:13: 192.0.2.3 is not an IPv6 address",
        zones.join("parts/hosts.inc").display()
    );
    assert!(lines.iter().any(|l| l.starts_with(&inc)), "{lines:?}");
    assert_eq!(lines.len(), 3, "{lines:?}");
    drop(dir);

    // A balanced name outside every zone: the line of its name in gslb.toml.
    let balance = "\n[datacenters.dc1]\n\n[[balance]]\nname = \"app.example.org\"\n\
                   policy = \"failover\"\nendpoints = [{ address = \"192.0.2.10\", datacenter = \"dc1\" }]\n";
    let (_dir, config) = setup(
        "listen = [\"127.0.0.1:0\"]",
        balance,
        &[("example.com.zone", &zone(1, ""))],
    );
    let lines = problems(&config);
    let want = format!("{}:13:8: balanced name app.example.org.", config.display());
    assert!(lines[0].starts_with(&want), "{lines:?}");
    assert!(lines[0].contains("not inside any served zone"), "{lines:?}");
}

/// A `gslb serve` process and everything it has logged so far.
struct Served {
    child: Guard,
    log: Arc<Mutex<Vec<String>>>,
}

impl Served {
    fn start(config: &Path) -> Served {
        let (child, log) = spawn_logged(serve_command(config));
        Served { child, log }
    }

    /// Waits (at most 20 s) until `count` logged lines satisfy `f`; returns them.
    fn wait_log(&self, count: usize, f: impl Fn(&str) -> bool) -> Vec<String> {
        eventually(PATIENCE, &format!("{count} matching log lines"), || {
            let log = self.log.lock().unwrap();
            let hits: Vec<String> = log.iter().filter(|l| f(l)).cloned().collect();
            if hits.len() >= count {
                Ok(hits)
            } else {
                Err(format!("the log so far:\n{}", log.join("\n")))
            }
        })
    }

    /// The addresses of the `listening` lines for `proto`, once `count` are logged, and then
    /// the `serving` line (logged once the signal handlers are about to be installed).
    fn addrs(&self, proto: &str, count: usize) -> Vec<SocketAddr> {
        let marker = format!("listening proto={proto} addr=");
        let lines = self.wait_log(count, |l| l.contains(&marker));
        self.wait_log(1, |l| l.contains(" serving"));
        lines
            .iter()
            .map(|l| {
                let a = l.split(&marker).nth(1).unwrap();
                a.split_whitespace().next().unwrap().parse().unwrap()
            })
            .collect()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.0.id().to_string())
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{sig}");
    }

    /// Waits (at most 20 s) for the process to exit; returns its exit code.
    fn wait_exit(&mut self) -> Option<i32> {
        self.child
            .wait_exit(PATIENCE, "gslb to exit after SIGTERM")
            .code()
    }
}

/// Whether this host can bind the IPv6 loopback.
fn has_ipv6_loopback() -> bool {
    std::net::UdpSocket::bind("[::1]:0").is_ok()
}

#[test]
fn serve_answers_on_every_address_and_stops_on_sigterm() {
    let v6 = has_ipv6_loopback();
    let listen = if v6 {
        "listen = [\"127.0.0.1:0\", \"[::1]:0\"]"
    } else {
        eprintln!("no IPv6 loopback on this host: serving 127.0.0.1 only");
        "listen = [\"127.0.0.1:0\"]"
    };
    let (_dir, config) = setup(
        &format!("{listen}\nthreads = 2"),
        "",
        &[("example.com.zone", &zone(1, ""))],
    );
    let mut s = Served::start(&config);
    let n = if v6 { 2 } else { 1 };
    let udp_addrs = s.addrs("udp", n);
    let tcp_addrs = s.addrs("tcp", n);
    assert!(udp_addrs.iter().any(|a| a.ip().is_ipv4()), "{udp_addrs:?}");
    assert_eq!(
        udp_addrs.iter().any(|a| a.ip().is_ipv6()),
        v6,
        "{udp_addrs:?}"
    );
    for addr in &udp_addrs {
        // Many source ports, so the kernel spreads them over both SO_REUSEPORT sockets: every
        // one must be answered.
        for _ in 0..16 {
            let q = query("www.example.com.", A, true);
            let r = udp(*addr, &q);
            assert_eq!(r.metadata.response_code, ResponseCode::NoError, "{addr}");
            assert!(r.metadata.authoritative);
            assert_eq!(addrs(&r), vec!["192.0.2.80"], "{addr}");
        }
    }
    for addr in &tcp_addrs {
        let r = tcp(*addr, &query("www.example.com.", A, false));
        assert_eq!(addrs(&r), vec!["192.0.2.80"], "{addr}");
    }
    s.signal("TERM");
    assert_eq!(s.wait_exit(), Some(0));
    s.wait_log(1, |l| l.contains("stopped"));
}

fn serial(addr: SocketAddr) -> String {
    let r = udp(addr, &query("example.com.", SOA, false));
    answers(&r, SOA).first().cloned().unwrap_or_default()
}

#[test]
fn sighup_reloads_zones_and_keeps_serving_when_the_new_ones_are_broken() {
    let (dir, config) = setup(
        "listen = [\"127.0.0.1:0\"]",
        "",
        &[("example.com.zone", &zone(1, ""))],
    );
    let zone_file = dir.path().join("zones").join("example.com.zone");
    let mut s = Served::start(&config);
    let addr = s.addrs("udp", 1)[0];
    let new = || query("new.example.com.", A, false);
    assert_eq!(
        udp(addr, &new()).metadata.response_code,
        ResponseCode::NXDomain
    );
    assert!(serial(addr).contains(" 1 3600 "), "{}", serial(addr));

    std::fs::write(&zone_file, zone(2, "new IN A 192.0.2.99\n")).unwrap();
    s.signal("HUP");
    eventually(PATIENCE, "the reloaded zone to be served", || {
        seen(addrs(&udp(addr, &new())), |a| a == &["192.0.2.99"])
    });
    assert!(serial(addr).contains(" 2 3600 "), "{}", serial(addr));
    s.wait_log(1, |l| l.contains("configuration reloaded"));

    // Line 8 is broken: the reload is refused with the place of the problem, and the data of
    // serial 2 stays.
    std::fs::write(
        &zone_file,
        zone(3, "new IN A 192.0.2.99\nbroken IN A 192.0.2.300\n"),
    )
    .unwrap();
    s.signal("HUP");
    let place = format!(
        "{}:8:13: 192.0.2.300 is not an IPv4 address",
        zone_file.display()
    );
    s.wait_log(1, |l| l.contains(&place));
    s.wait_log(1, |l| l.contains("reload rejected"));
    assert_eq!(addrs(&udp(addr, &new())), vec!["192.0.2.99"]);
    assert!(serial(addr).contains(" 2 3600 "), "{}", serial(addr));
    let r = udp(addr, &query("broken.example.com.", A, false));
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);

    s.signal("TERM");
    assert_eq!(s.wait_exit(), Some(0));
}

#[test]
fn logs_say_what_happened_in_plain_key_value_lines() {
    // A port nothing listens on: the check of 127.0.0.41 fails from the first round.
    let closed = std::net::TcpListener::bind("127.0.0.41:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let state = tempfile::tempdir().unwrap();
    std::fs::write(
        state.path().join("drained.json"),
        r#"{"endpoints": ["127.0.0.42"], "datacenters": []}"#,
    )
    .unwrap();
    let rest = format!(
        r#"[checks.web]
protocol = "tcp"
port = {port}
interval = "200ms"
timeout = "100ms"
rise = 1
fall = 1
[datacenters.a]
[[balance]]
name = "app.example.com"
policy = "all"
when_all_down = "all"
check = "web"
endpoints = [
  {{ address = "127.0.0.41", datacenter = "a" }},
  {{ address = "127.0.0.42", datacenter = "a" }},
]
"#
    );
    let server = format!(
        "listen = [\"127.0.0.1:0\"]\nstate_directory = {:?}",
        state.path()
    );
    let (dir, config) = setup(&server, &rest, &[("example.com.zone", &zone(1, ""))]);
    let s = Served::start(&config);
    s.addrs("udp", 1);
    let starting = s.wait_log(1, |l| l.contains(" starting "));
    assert!(
        starting[0].contains(&format!("version=\"{}", env!("CARGO_PKG_VERSION")))
            || starting[0].contains(&format!("version={}", env!("CARGO_PKG_VERSION"))),
        "{starting:?}"
    );
    assert!(
        starting[0].contains(&format!("config={}", config.display())),
        "{starting:?}"
    );
    let restored = s.wait_log(1, |l| l.contains("drains restored"));
    assert!(restored[0].contains("endpoints=127.0.0.42"), "{restored:?}");
    let open = s.wait_log(1, |l| l.contains("failing open"));
    assert!(open[0].contains("name=app.example.com."), "{open:?}");

    // A reload says what changed.
    std::fs::write(dir.path().join("zones/example.com.zone"), zone(2, "")).unwrap();
    s.signal("HUP");
    let reloaded = s.wait_log(1, |l| l.contains("configuration reloaded"));
    assert!(
        reloaded[0].contains("zones_changed=\"example.com. (serial 1 -> 2)\""),
        "{reloaded:?}"
    );
    assert!(reloaded[0].contains("names_changed=0"), "{reloaded:?}");

    // Plain values only: no Rust debug formatting anywhere.
    let log = s.log.lock().unwrap().clone();
    for line in &log {
        for debug in ["Some(", "None", "(\"", "Ok(", "Err(", " { ", "\\\""] {
            assert!(!line.contains(debug), "debug syntax {debug:?} in: {line}");
        }
    }
}
