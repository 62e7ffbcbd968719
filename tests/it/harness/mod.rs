//! The shared harness of the integration tests, in one place:
//!
//! - [`start`], [`start_with`], [`start_config`]: a gslb server in this process, built from
//!   config and zone text in a temp dir, on 127.0.0.1 port 0 (DNS and admin API);
//! - [`dns`]: a DNS client over real UDP and TCP sockets that builds queries and parses answers
//!   with hickory-proto (an independent reading of what we put on the wire);
//! - [`admin`]: an HTTP client for the admin API;
//! - [`backend`]: HTTP(S) backends on 127.0.0.x that a test starts, fails, hangs and stops;
//! - [`wait`]: `eventually`, the one way a test waits for a condition, and `pass` for virtual
//!   time;
//! - [`process`]: the real `gslb` binary and child processes that die with the test;
//! - [`etcd`]: a real 3-member etcd cluster on loopback (kill, restart, compact, TLS);
//! - [`tcp_proxy`]: a TCP proxy a test cuts and restores, for partitions.

pub(crate) mod admin;
pub(crate) mod backend;
pub(crate) mod dns;
pub(crate) mod etcd;
pub(crate) mod process;
pub(crate) mod tcp_proxy;
pub(crate) mod wait;

use std::path::PathBuf;
use std::sync::Arc;

use gslb::server::{Bound, Server};
use tempfile::TempDir;

pub(crate) use admin::*;
pub(crate) use dns::*;
pub(crate) use process::*;
pub(crate) use wait::*;

/// The example zone most DNS tests use.
pub(crate) const ZONE: &str = r#"$ORIGIN example.com.
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
pub(crate) struct TestServer {
    /// UDP address (the first one).
    pub udp: std::net::SocketAddr,
    /// TCP address (the first one).
    pub tcp: std::net::SocketAddr,
    /// Admin API address.
    pub admin: std::net::SocketAddr,
    /// Directory holding gslb.toml and zones/.
    pub dir: TempDir,
    server: Server,
}

impl TestServer {
    /// Path of the config file.
    pub(crate) fn config_path(&self) -> PathBuf {
        self.dir.path().join("gslb.toml")
    }

    /// The running server.
    pub(crate) fn server(&self) -> &Server {
        &self.server
    }

    /// Stops the server and waits for every worker.
    pub(crate) async fn stop(self) {
        self.server.shutdown().await;
    }
}

/// A new temp dir holding `config` as gslb.toml and `zones` under zones/ (a zone name may hold
/// `/` to put a file in a subdirectory, for `$INCLUDE`d pieces); returns it and the config path.
pub(crate) fn config_dir(config: &str, zones: &[(&str, &str)]) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let zones_dir = dir.path().join("zones");
    std::fs::create_dir(&zones_dir).unwrap();
    for (name, text) in zones {
        let path = zones_dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, text).unwrap();
    }
    let path = dir.path().join("gslb.toml");
    std::fs::write(&path, config).unwrap();
    (dir, path)
}

/// Starts a server in this process from the whole text of gslb.toml (zones in "zones"), with
/// the admin API on 127.0.0.1:0.
pub(crate) async fn start_config(config: &str, zones: &[(&str, &str)]) -> TestServer {
    let (dir, path) = config_dir(config, zones);
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
        server,
        dir,
    }
}

/// A server on 127.0.0.1:0 with one thread: `server_extra` is added to [server], `extra` is
/// the rest of the config (everything but [server] and [zones]).
pub(crate) async fn start_with(
    server_extra: &str,
    extra: &str,
    zones: &[(&str, &str)],
) -> TestServer {
    let config = format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\nthreads = 1\n{server_extra}\n[zones]\ndirectory = \"zones\"\n{extra}\n"
    );
    start_config(&config, zones).await
}

/// A server for the example zone only.
pub(crate) async fn start() -> TestServer {
    start_with("", "", &[("example.com.zone", ZONE)]).await
}

/// The balanced name of `balanced_config`.
pub(crate) const APP: &str = "app.example.com.";
/// Its endpoints, in config order: two in us-east, one in eu-west.
pub(crate) const EPS: [&str; 3] = ["127.0.0.21", "127.0.0.22", "127.0.0.23"];

/// Two data centers; app.example.com has two endpoints in us-east (priority 1) and one in
/// eu-west (priority 2), all probed over HTTP on the backends' port.
pub(crate) fn balanced_config(
    port: u16,
    policy: &str,
    answers: usize,
    when_all_down: &str,
) -> String {
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
pub(crate) async fn start_balanced(
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
