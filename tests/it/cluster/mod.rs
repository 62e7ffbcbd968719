//! Several gslb instances as one NS set on etcd (issue #13): real `gslb` binaries, each on its
//! own 127.0.0.x with its own admin port, real HTTP backends, and a real 3-member etcd cluster
//! (harness::etcd) they share; a TCP proxy (harness::tcp_proxy) for partitions. What is asserted
//! is what an operator sees: DNS answers, `/v1/cluster`, `/v1/status`, metrics, log lines, exit
//! codes, and the keys in etcd read with etcdctl.
//!
//! This file holds the instances' fixture ([`Conf`], [`Node`]) and the waits the tests share;
//! each test module is one area of the contract. Every test uses its own 127.0.N.0/24 (N is the
//! test's `net`), so tests running side by side never share an address.

mod compose;
mod drains;
mod fixtures;
mod identity;
mod partition;
mod quorum;
mod security;
mod votes;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hickory_proto::rr::RecordType;
use tempfile::TempDir;

use crate::harness::*;

/// The balanced name every cluster test queries.
const NAME: &str = "app.example.com.";
/// The prefix of every key in these tests.
const PREFIX: &str = "/gslb/test";
/// The lease of every instance: short, so a dead instance leaves the vote quickly.
const LEASE: &str = "2s";
/// How long a change has to show everywhere (probes, leases and propagation included): a
/// deadline, never a wait.
const WITHIN: Duration = Duration::from_secs(15);

/// The zone: the balanced name lives in it.
const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 604800 60\n\
                    @ NS ns1\n@ NS ns2\n@ NS ns3\nns1 A 192.0.2.1\nns2 A 192.0.2.2\nns3 A 192.0.2.3\n";

/// The three backends' addresses of test `net`: 127.0.N.11 and .12 in data center `us`,
/// 127.0.N.13 in `eu`.
fn endpoints(net: u8) -> [String; 3] {
    [11, 12, 13].map(|h| format!("127.0.{net}.{h}"))
}

/// Instance `i`'s address (i = 1, 2, 3…) in test `net`.
fn node_ip(net: u8, i: u8) -> String {
    format!("127.0.{net}.{i}")
}

/// Backends for test `net`, answering 200 on one port.
async fn backends(net: u8) -> Vec<backend::Backend> {
    let eps = endpoints(net);
    backend::start(&eps.iter().map(String::as_str).collect::<Vec<_>>()).await
}

/// One instance's configuration.
#[derive(Clone)]
struct Conf {
    /// `[cluster] instance` (and `[server] identity`).
    instance: String,
    /// The address it serves DNS and its admin API on (port 0 each).
    ip: String,
    /// The backends' port.
    port: u16,
    /// The test's net (its endpoints).
    net: u8,
    /// `[cluster] etcd`.
    etcd: Vec<String>,
    /// More lines of `[cluster]` (TLS files, on_store_loss…).
    cluster: String,
    /// `(endpoint, check_address)`: this instance probes that endpoint at another address.
    check_address: Option<(String, String)>,
    /// Extra zone records (to make one instance's configuration differ).
    zone_extra: String,
}

impl Conf {
    /// Instance `ns{i}` of test `net` on 127.0.N.i, probing backends on `port`.
    fn new(net: u8, i: u8, port: u16, etcd: Vec<String>) -> Conf {
        Conf {
            instance: format!("ns{i}"),
            ip: node_ip(net, i),
            port,
            net,
            etcd,
            cluster: String::new(),
            check_address: None,
            zone_extra: String::new(),
        }
    }

    fn text(&self) -> String {
        let endpoints: Vec<String> = endpoints(self.net)
            .iter()
            .zip(["us", "us", "eu"])
            .map(|(a, dc)| {
                let check = match &self.check_address {
                    Some((e, c)) if e == a => format!(", check_address = \"{c}\""),
                    _ => String::new(),
                };
                format!("  {{ address = \"{a}\", datacenter = \"{dc}\"{check} }},")
            })
            .collect();
        let etcd: Vec<String> = self.etcd.iter().map(|u| format!("\"{u}\"")).collect();
        format!(
            r#"[server]
listen = ["{ip}:0"]
threads = 1
identity = "{instance}"
state_directory = "state"

[admin]
listen = "{ip}:0"

[zones]
directory = "zones"

[checks.web]
protocol = "http"
port = {port}
path = "/health"
interval = "300ms"
timeout = "250ms"
rise = 2
fall = 2

[datacenters.us]
[datacenters.eu]

[[balance]]
name = "app.example.com"
policy = "all"
answers = 8
ttl = 20
check = "web"
when_all_down = "none"
endpoints = [
{endpoints}
]

[cluster]
instance = "{instance}"
etcd = [{etcd}]
prefix = "{PREFIX}"
lease_ttl = "{LEASE}"
down_quorum = "majority"
{cluster}
"#,
            ip = self.ip,
            instance = self.instance,
            port = self.port,
            endpoints = endpoints.join("\n"),
            etcd = etcd.join(", "),
            cluster = self.cluster,
        )
    }

    /// Writes gslb.toml and the zone into a new temp dir.
    fn write(&self) -> (TempDir, PathBuf) {
        config_dir(
            &self.text(),
            &[("example.com.zone", &format!("{ZONE}{}", self.zone_extra))],
        )
    }
}

/// A running `gslb serve` of the NS set.
struct Node {
    /// Its instance id.
    id: String,
    /// Its DNS address (UDP).
    dns: SocketAddr,
    /// Its admin API address.
    admin: SocketAddr,
    /// Its directory (config, zones, state).
    dir: TempDir,
    child: Guard,
    log: Log,
}

/// The address in the first logged `listening proto=<proto> addr=…` line of `log`.
fn listening(log: &[String], proto: &str) -> Option<SocketAddr> {
    let marker = format!("listening proto={proto} addr=");
    log.iter().find_map(|l| {
        l.split(&marker)
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })
}

impl Node {
    /// Starts an instance and waits until it serves.
    fn start(conf: &Conf) -> Node {
        let (dir, path) = conf.write();
        Self::start_in(conf, dir, &path)
    }

    /// Starts an instance from a config already written in `dir`, and waits until it serves.
    fn start_in(conf: &Conf, dir: TempDir, path: &Path) -> Node {
        let (mut child, log) = spawn_logged(serve_command(path));
        let what = format!("{} to serve", conf.instance);
        let (dns, admin) = eventually(WITHIN, &what, || {
            let l = log.lock().unwrap();
            if let Some(status) = child.0.try_wait().unwrap() {
                panic!("{} exited ({status}):\n{}", conf.instance, l.join("\n"));
            }
            if l.iter().any(|x| x.contains(" serving"))
                && let (Some(d), Some(a)) = (listening(&l, "udp"), listening(&l, "http"))
            {
                return Ok((d, a));
            }
            Err(l.join("\n"))
        });
        Node {
            id: conf.instance.clone(),
            dns,
            admin,
            dir,
            child,
            log,
        }
    }

    /// The process id.
    fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// Sends `sig` to the process.
    fn signal(&self, sig: libc::c_int) {
        let pid = libc::pid_t::try_from(self.pid()).unwrap();
        // SAFETY: kill(2) on our own child, not reaped yet (so its PID is not reused).
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(rc, 0, "kill {pid}: {}", std::io::Error::last_os_error());
    }

    /// SIGKILL: a crash (the lease is not revoked; it lapses).
    fn kill(&mut self) {
        self.signal(libc::SIGKILL);
        self.child.wait_exit(WITHIN, "gslb to die of SIGKILL");
    }

    /// SIGTERM, and the process gone: a clean stop.
    fn stop(&mut self) {
        self.signal(libc::SIGTERM);
        self.child.wait_exit(WITHIN, "gslb to exit after SIGTERM");
    }

    /// Everything it has logged so far.
    fn logged(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// The sorted addresses it answers for the balanced name now (A over UDP).
    fn answer(&self) -> Vec<String> {
        let mut a = addrs(&udp(self.dns, &query(NAME, RecordType::A, false)));
        a.sort();
        a
    }

    /// `GET path`: status and body.
    async fn get(&self, path: &str) -> (u16, String) {
        let r = http()
            .get(format!("http://{}{path}", self.admin))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path} on {}: {e}", self.id));
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// `POST path`: status and body.
    async fn post(&self, path: &str) -> (u16, String) {
        let r = http()
            .post(format!("http://{}{path}", self.admin))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path} on {}: {e}", self.id));
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// `GET /v1/cluster`, which must answer 200 with JSON.
    async fn cluster(&self) -> serde_json::Value {
        let (code, body) = self.get("/v1/cluster").await;
        assert_eq!(code, 200, "GET /v1/cluster on {}: {body}", self.id);
        json(&body)
    }

    /// The sorted instance ids of the live members `/v1/cluster` lists.
    async fn members(&self) -> Vec<String> {
        let mut m: Vec<String> = self.cluster().await["members"]
            .as_array()
            .unwrap_or(&Vec::new())
            .iter()
            .filter_map(|m| m["instance"].as_str().map(String::from))
            .collect();
        m.sort();
        m
    }

    /// The store's state in `/v1/cluster` (`up`, `connecting`, `frozen`, `local`).
    async fn store_state(&self) -> String {
        self.cluster().await["store"]["state"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The vote row of `/v1/cluster` for endpoint `ep` of check `web`.
    async fn votes(&self, ep: &str) -> Option<serde_json::Value> {
        self.cluster().await["votes"]
            .as_array()?
            .iter()
            .find(|v| v["check"] == "web" && v["endpoint"] == ep)
            .cloned()
    }

    /// One series of `/metrics`.
    async fn metric(&self, series: &str) -> Option<f64> {
        let (code, text) = self.get("/metrics").await;
        assert_eq!(code, 200, "{text}");
        metric(&text, series)
    }

    /// `gslb_cluster_resyncs_total`, over every reason.
    async fn resyncs(&self) -> f64 {
        let (_, text) = self.get("/metrics").await;
        text.lines()
            .filter(|l| l.starts_with("gslb_cluster_resyncs_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

/// The sorted set of `eps` minus `without`.
fn all_but(eps: &[String], without: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = eps
        .iter()
        .filter(|e| !without.contains(&e.as_str()))
        .cloned()
        .collect();
    v.sort();
    v
}

/// Waits until every node answers exactly `want` (sorted).
async fn until_answers(nodes: &[&Node], want: &[String], what: &str) {
    eventually_async(WITHIN, what, || async {
        let got: Vec<(String, Vec<String>)> =
            nodes.iter().map(|n| (n.id.clone(), n.answer())).collect();
        seen(got, |g| g.iter().all(|(_, a)| a == want))
    })
    .await;
}

/// Waits until every node lists exactly `want` as members.
async fn until_members(nodes: &[&Node], want: &[&str]) {
    let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    eventually_async(WITHIN, &format!("members {want:?} everywhere"), || async {
        let mut got = Vec::new();
        for n in nodes {
            got.push((n.id.clone(), n.members().await));
        }
        seen(got, |g| g.iter().all(|(_, m)| *m == want))
    })
    .await;
}

/// Waits until every node's store is `up`.
async fn until_store_up(nodes: &[&Node]) {
    eventually_async(WITHIN, "every store up", || async {
        let mut got = Vec::new();
        for n in nodes {
            got.push((n.id.clone(), n.store_state().await));
        }
        seen(got, |g| g.iter().all(|(_, s)| s == "up"))
    })
    .await;
}

/// The instances that have a vote on `ep` in `node`'s `/v1/cluster`, with what they say.
async fn voters(node: &Node, ep: &str) -> BTreeSet<(String, String)> {
    node.votes(ep)
        .await
        .and_then(|v| {
            Some(
                v["votes"]
                    .as_object()?
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect(),
            )
        })
        .unwrap_or_default()
}

/// The three instances of test `net` on one etcd cluster (`etcd` = its client URLs), each
/// once serving; then every store up, the three members seen everywhere, and every endpoint
/// answered everywhere.
async fn three(net: u8, port: u16, etcd: &[String]) -> Vec<Node> {
    let confs: Vec<Conf> = (1..=3)
        .map(|i| Conf::new(net, i, port, etcd.to_vec()))
        .collect();
    start_all(&confs).await
}

/// Starts every conf, then waits as [`three`] does.
async fn start_all(confs: &[Conf]) -> Vec<Node> {
    let nodes: Vec<Node> = confs.iter().map(Node::start).collect();
    let refs: Vec<&Node> = nodes.iter().collect();
    until_store_up(&refs).await;
    let ids: Vec<&str> = nodes.iter().map(|n| n.id.as_str()).collect();
    until_members(&refs, &ids).await;
    let eps = endpoints(confs[0].net);
    until_answers(
        &refs,
        &all_but(&eps, &[]),
        "every endpoint answered everywhere",
    )
    .await;
    nodes
}

/// Percentile `p` (0–100) of sorted durations, nearest rank.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}
