//! A real etcd v3 cluster on loopback for the cluster tests: Debian's `etcd` (etcd-server), one
//! process per member on 127.0.0.1 ports picked free, data in a temp dir, each member killed by
//! its PID (SIGKILL) and restarted on the same data dir. `etcdctl` (etcd-client) reads and writes
//! keys and compacts, so tests assert what is stored with the tool an operator uses. Optional
//! TLS: a CA, a server certificate for 127.0.0.1 and a client certificate made here with rcgen,
//! members requiring the client certificate. Fails (never skips) when etcd or etcdctl is missing.
//!
//! Owns the etcd processes and their files; must not know gslb's keys or JSON.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use super::process::{Guard, which};

/// How long a cluster (or a restarted member) has to become healthy.
const START_WITHIN: Duration = Duration::from_secs(30);

/// The certificates of a TLS cluster, as PEM files in the cluster's directory.
pub(crate) struct Tls {
    /// The CA that signed the server and client certificates.
    pub ca: PathBuf,
    /// The members' server certificate (SAN 127.0.0.1 and localhost) and key.
    pub server_cert: PathBuf,
    /// Its private key.
    pub server_key: PathBuf,
    /// A client certificate (CN "gslb") the members accept.
    pub client_cert: PathBuf,
    /// Its private key.
    pub client_key: PathBuf,
}

struct Member {
    name: String,
    client: SocketAddr,
    peer: SocketAddr,
    child: Option<Guard>,
}

/// A running etcd cluster; every member is killed when it drops.
pub(crate) struct Etcd {
    dir: TempDir,
    members: Vec<Member>,
    tls: Option<Tls>,
    user: Option<String>,
    etcd: PathBuf,
    etcdctl: PathBuf,
}

/// A TCP port free on 127.0.0.1 right now (the kernel's pick for port 0).
fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
}

/// The path of a tool the cluster tests need, or a failure naming the package that has it.
fn tool(name: &str, package: &str) -> PathBuf {
    which(name).unwrap_or_else(|| {
        panic!("`{name}` not found: the cluster tests need it (apt-get install {package})")
    })
}

/// A temp dir on tmpfs when the host has one (etcd fsyncs every write), else the default.
fn data_dir() -> TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(d) = tempfile::Builder::new().prefix("etcd-").tempdir_in(shm)
    {
        return d;
    }
    tempfile::Builder::new()
        .prefix("etcd-")
        .tempdir()
        .expect("tempdir")
}

/// Makes the CA, server and client certificates under `dir`.
fn make_tls(dir: &Path) -> Tls {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "gslb test etcd CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();

    let leaf = |sans: Vec<String>, cn: &str, usage: Vec<ExtendedKeyUsagePurpose>| {
        let mut p = CertificateParams::new(sans).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.extended_key_usages = usage;
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &ca, &ca_key).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_pem, server_key_pem) = leaf(
        vec!["127.0.0.1".to_string(), "localhost".to_string()],
        "etcd",
        vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ],
    );
    let (client_pem, client_key_pem) =
        leaf(vec![], "gslb", vec![ExtendedKeyUsagePurpose::ClientAuth]);
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    Tls {
        ca: write("ca.pem", &ca.pem()),
        server_cert: write("server.pem", &server_pem),
        server_key: write("server-key.pem", &server_key_pem),
        client_cert: write("client.pem", &client_pem),
        client_key: write("client-key.pem", &client_key_pem),
    }
}

impl Etcd {
    /// A cluster of `n` members over plain HTTP, once every member reports healthy.
    pub(crate) async fn start(n: usize) -> Etcd {
        Self::start_with(n, false).await
    }

    /// A cluster of `n` members whose client URLs are HTTPS and require a client certificate
    /// signed by the cluster's CA ([`Etcd::tls`]).
    pub(crate) async fn start_tls(n: usize) -> Etcd {
        Self::start_with(n, true).await
    }

    async fn start_with(n: usize, tls: bool) -> Etcd {
        let etcd = tool("etcd", "etcd-server");
        let etcdctl = tool("etcdctl", "etcd-client");
        let dir = data_dir();
        let tls = tls.then(|| make_tls(dir.path()));
        let members = (0..n)
            .map(|i| Member {
                name: format!("m{i}"),
                client: free_port(),
                peer: free_port(),
                child: None,
            })
            .collect();
        let mut c = Etcd {
            dir,
            members,
            tls,
            user: None,
            etcd,
            etcdctl,
        };
        for i in 0..n {
            c.spawn(i);
        }
        c.wait_healthy(&(0..n).collect::<Vec<_>>()).await;
        c
    }

    fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// Starts member `i` (its data dir is reused when it exists: a restart).
    fn spawn(&mut self, i: usize) {
        let initial: Vec<String> = self
            .members
            .iter()
            .map(|m| format!("{}=http://{}", m.name, m.peer))
            .collect();
        let m = &self.members[i];
        let client_url = format!("{}://{}", self.scheme(), m.client);
        let peer_url = format!("http://{}", m.peer);
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("{}.log", m.name)))
            .unwrap();
        let mut cmd = Command::new(&self.etcd);
        cmd.arg("--name")
            .arg(&m.name)
            .arg("--data-dir")
            .arg(self.dir.path().join(&m.name))
            .args(["--listen-client-urls", &client_url])
            .args(["--advertise-client-urls", &client_url])
            .args(["--listen-peer-urls", &peer_url])
            .args(["--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &initial.join(",")])
            .args(["--initial-cluster-state", "new"])
            .args(["--initial-cluster-token", "gslb-test"])
            // Quick elections: a lost leader is replaced within a second.
            .args(["--heartbeat-interval", "50", "--election-timeout", "500"])
            .args(["--logger", "zap", "--log-level", "warn"]);
        if let Some(t) = &self.tls {
            cmd.arg("--client-cert-auth")
                .arg("--trusted-ca-file")
                .arg(&t.ca)
                .arg("--cert-file")
                .arg(&t.server_cert)
                .arg("--key-file")
                .arg(&t.server_key);
        }
        let child = cmd
            .env_remove("ETCD_UNSUPPORTED_ARCH")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.etcd.display()));
        self.members[i].child = Some(Guard(child));
    }

    /// Every member's client URL, in member order.
    pub(crate) fn client_urls(&self) -> Vec<String> {
        (0..self.members.len())
            .map(|i| self.client_url(i))
            .collect()
    }

    /// Member `i`'s client URL.
    pub(crate) fn client_url(&self, i: usize) -> String {
        format!("{}://{}", self.scheme(), self.members[i].client)
    }

    /// Member `i`'s client address (for a proxy in front of it).
    pub(crate) fn client_addr(&self, i: usize) -> SocketAddr {
        self.members[i].client
    }

    /// Makes every later `etcdctl` call authenticate as `user:password` (once a test has
    /// enabled etcd's authentication).
    pub(crate) fn login(&mut self, user_password: &str) {
        self.user = Some(user_password.to_string());
    }

    /// The certificates, for a TLS cluster.
    pub(crate) fn tls(&self) -> Option<&Tls> {
        self.tls.as_ref()
    }

    /// Member `i`'s process id, while it runs.
    pub(crate) fn pid(&self, i: usize) -> Option<u32> {
        self.members[i].child.as_ref().map(|g| g.0.id())
    }

    /// Kills member `i` with SIGKILL (by its PID) and reaps it.
    pub(crate) fn kill(&mut self, i: usize) {
        let mut g = self.members[i]
            .child
            .take()
            .unwrap_or_else(|| panic!("etcd member {i} is not running"));
        let pid = libc::pid_t::try_from(g.0.id()).unwrap();
        // SAFETY: kill(2) on our own child's PID, which is not reaped yet (so not reused).
        let rc = unsafe { libc::kill(pid, libc::SIGKILL) };
        assert_eq!(rc, 0, "kill -9 {pid}: {}", std::io::Error::last_os_error());
        g.0.wait().unwrap();
    }

    /// Starts member `i` again on its data dir and waits until it is healthy.
    pub(crate) async fn restart(&mut self, i: usize) {
        assert!(
            self.members[i].child.is_none(),
            "etcd member {i} is running"
        );
        self.spawn(i);
        self.wait_healthy(&[i]).await;
    }

    /// Members that are running.
    fn live(&self) -> Vec<usize> {
        (0..self.members.len())
            .filter(|&i| self.members[i].child.is_some())
            .collect()
    }

    /// `etcdctl` against the running members (with the client certificate on a TLS cluster).
    fn ctl(&self, endpoints: &[usize]) -> Command {
        let urls: Vec<String> = endpoints.iter().map(|&i| self.client_url(i)).collect();
        self.ctl_urls(&urls)
    }

    /// `etcdctl` against `urls`.
    fn ctl_urls(&self, urls: &[String]) -> Command {
        let mut cmd = Command::new(&self.etcdctl);
        cmd.env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", urls.join(",")))
            .args(["--dial-timeout=2s", "--command-timeout=5s"]);
        if let Some(u) = &self.user {
            cmd.arg(format!("--user={u}"));
        }
        if let Some(t) = &self.tls {
            cmd.arg("--cacert")
                .arg(&t.ca)
                .arg("--cert")
                .arg(&t.client_cert)
                .arg("--key")
                .arg(&t.client_key);
        }
        cmd
    }

    /// Runs `etcdctl args…` against the live members: its stdout, or its stderr as the error.
    pub(crate) async fn etcdctl(&self, args: &[&str]) -> Result<String, String> {
        let mut cmd = self.ctl(&self.live());
        cmd.args(args);
        run(cmd).await
    }

    /// Runs `etcdctl args…` against `url` (a proxy in front of a member, say), with this
    /// cluster's credentials.
    pub(crate) async fn etcdctl_at(&self, url: &str, args: &[&str]) -> Result<String, String> {
        let mut cmd = self.ctl_urls(&[url.to_string()]);
        cmd.args(args);
        run(cmd).await
    }

    /// Waits until each of `members` answers `endpoint health`.
    async fn wait_healthy(&self, members: &[usize]) {
        for &i in members {
            let what = format!("etcd member {i} ({}) healthy", self.client_url(i));
            super::eventually_async(START_WITHIN, &what, || async {
                if let Some(g) = &self.members[i].child {
                    let pid = g.0.id();
                    if !Path::new(&format!("/proc/{pid}")).exists() {
                        return Err(format!("exited; log:\n{}", self.log(i)));
                    }
                }
                let mut cmd = self.ctl(&[i]);
                cmd.args(["endpoint", "health"]);
                run(cmd).await
            })
            .await;
        }
    }

    /// What member `i` has logged (warnings and errors).
    pub(crate) fn log(&self, i: usize) -> String {
        std::fs::read_to_string(
            self.dir
                .path()
                .join(format!("{}.log", self.members[i].name)),
        )
        .unwrap_or_default()
    }

    /// `put key value`.
    pub(crate) async fn put(&self, key: &str, value: &str) {
        self.etcdctl(&["put", key, value])
            .await
            .unwrap_or_else(|e| panic!("etcdctl put {key}: {e}"));
    }

    /// The value at `key`, if any.
    pub(crate) async fn get(&self, key: &str) -> Option<String> {
        self.get_prefix(key)
            .await
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Every key under `prefix` (as a string prefix) with its value, in key order (etcdctl's
    /// simple output: a key line, then a value line; gslb's keys and values are single lines).
    pub(crate) async fn get_prefix(&self, prefix: &str) -> Vec<(String, String)> {
        let out = self
            .etcdctl(&["get", "--prefix", prefix])
            .await
            .unwrap_or_else(|e| panic!("etcdctl get --prefix {prefix}: {e}"));
        let lines: Vec<&str> = out.lines().collect();
        lines
            .chunks(2)
            .map(|kv| (kv[0].to_string(), kv.get(1).unwrap_or(&"").to_string()))
            .collect()
    }

    /// The store's current revision.
    pub(crate) async fn revision(&self) -> i64 {
        let out = self
            .etcdctl(&["get", "--prefix", "/", "--limit=1", "-w", "json"])
            .await
            .unwrap_or_else(|e| panic!("etcdctl get: {e}"));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["header"]["revision"]
            .as_i64()
            .unwrap_or_else(|| panic!("no revision in {out}"))
    }

    /// Compacts the history up to the current revision (a watch from before it is then
    /// cancelled by etcd as compacted); returns that revision.
    pub(crate) async fn compact(&self) -> i64 {
        let rev = self.revision().await;
        self.etcdctl(&["compact", &rev.to_string(), "--physical"])
            .await
            .unwrap_or_else(|e| panic!("etcdctl compact {rev}: {e}"));
        rev
    }
}

/// Runs a command off the async runtime: stdout on success, else status and stderr.
async fn run(mut cmd: Command) -> Result<String, String> {
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
