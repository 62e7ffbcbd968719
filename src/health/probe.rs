//! One probe of one target: an HTTP(S) GET or a TCP connect, with a hard timeout.
//!
//! Owns: how a check is performed and which `ProbeFailure` its failure is. Must not: decide up
//! or down (the tracker does), retry, or keep connections between probes (a pooled connection
//! can hide a dead listener).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use crate::config::{Check, CheckKind, HttpCheck};
use crate::state::{LocalError, ProbeFailure, ProbePass, ProbeResult};

/// How much of a body is read looking for `expect_body`.
const BODY_MAX: usize = 64 * 1024;

/// Why the probe of a check cannot even be built. Every probe of its targets then fails with
/// it (see `ProbeFailure::from`).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The CA bundle could not be read.
    #[error("cannot read ca_file {}: {source}", path.display())]
    ReadCa {
        /// The `ca_file`.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The CA bundle is not PEM.
    #[error("ca_file {} is not a PEM certificate: {source}", path.display())]
    CaNotPem {
        /// The `ca_file`.
        path: PathBuf,
        /// Why.
        source: reqwest::Error,
    },
    /// reqwest refused the client configuration.
    #[error("cannot build HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

impl From<&SetupError> for ProbeFailure {
    /// The failure every probe of a check that cannot be set up reports: the setup error's text,
    /// classed `tls` for a CA bundle that is not a certificate, `other` otherwise.
    fn from(e: &SetupError) -> Self {
        match e {
            SetupError::CaNotPem { .. } => ProbeFailure::Tls(e.to_string()),
            SetupError::ReadCa { .. } | SetupError::Client(_) => ProbeFailure::Other(e.to_string()),
        }
    }
}

/// What a probe does.
#[derive(Debug, Clone)]
enum Request {
    /// Connects.
    Connect,
    /// GETs `url` with `client` and judges the response by `spec`.
    Get {
        client: reqwest::Client,
        url: String,
        spec: HttpCheck,
    },
}

/// A ready-to-run probe of one address with one check.
#[derive(Debug, Clone)]
pub struct Probe {
    socket: SocketAddr,
    timeout: Duration,
    request: Request,
}

/// OS errors that are always a shortage of this machine, raised before a packet leaves:
/// creating the socket (EMFILE, ENFILE, ENOMEM, ENOBUFS) or finding it a local port or address
/// (EADDRNOTAVAIL). They say nothing of the endpoint.
const LOCAL_ERRNOS: [i32; 5] = [
    libc::EMFILE,
    libc::ENFILE,
    libc::ENOMEM,
    libc::ENOBUFS,
    libc::EADDRNOTAVAIL,
];

/// Whether this machine has no route to `ip`: a UDP socket's `connect()` looks the route up
/// and sends nothing. Asked only when a probe saw ENETUNREACH, which is either that (no local
/// route: a local problem) or a router's ICMP "network unreachable" for a connect in flight (the
/// endpoint is unreachable: its failure). When even that socket cannot be made, the machine is
/// short of something and the probe could not tell: local.
fn no_local_route(ip: IpAddr) -> bool {
    let any = match ip {
        IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    };
    match std::net::UdpSocket::bind(SocketAddr::new(any, 0)) {
        // The discard port: nothing is sent, only the route is looked up.
        Ok(s) => s.connect(SocketAddr::new(ip, 9)).is_err(),
        Err(_) => true,
    }
}

/// The failure an I/O error is. An I/O error wrapping another (hyper-rustls wraps tokio-rustls's)
/// is the one it wraps. `no_route` answers, for ENETUNREACH only, whether this machine lacks a
/// route to the endpoint (`no_local_route`).
fn io_failure(mut e: &std::io::Error, no_route: &dyn Fn() -> bool) -> ProbeFailure {
    while let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<std::io::Error>()) {
        e = inner;
    }
    match e.raw_os_error() {
        Some(errno) if LOCAL_ERRNOS.contains(&errno) => return LocalError::Os { errno }.into(),
        Some(errno) if errno == libc::ENETUNREACH && no_route() => {
            return LocalError::Os { errno }.into();
        }
        _ => {}
    }
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => ProbeFailure::Refused,
        std::io::ErrorKind::ConnectionReset => ProbeFailure::Reset,
        std::io::ErrorKind::TimedOut => ProbeFailure::Timeout { after: None },
        // tokio-rustls reports TLS errors as I/O errors wrapping the rustls error.
        _ if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => {
            ProbeFailure::Tls(e.to_string())
        }
        _ => ProbeFailure::Other(e.to_string()),
    }
}

/// The failure an error chain is (a reqwest error's causes: hyper-util's `ConnectError` holding
/// the I/O error of `socket()` or `connect()`, rustls errors, ...): the first TLS error, else
/// the first I/O error that carries an OS error number, else the innermost I/O error, else the
/// innermost message. Every link is looked at, since an `io::Error` wrapping another error
/// hides that error from `source()`.
fn chain_failure(
    e: &(dyn std::error::Error + 'static),
    no_route: &dyn Fn() -> bool,
) -> ProbeFailure {
    let mut io: Option<&std::io::Error> = None;
    let mut cur = e;
    loop {
        if let Some(tls) = cur.downcast_ref::<rustls::Error>() {
            return ProbeFailure::Tls(tls.to_string());
        }
        if let Some(i) = cur.downcast_ref::<std::io::Error>() {
            let os = |x: &std::io::Error| x.raw_os_error().is_some();
            if !io.is_some_and(os) {
                io = Some(i);
            }
        }
        match cur.source() {
            Some(next) => cur = next,
            None => break,
        }
    }
    match io {
        Some(io) => io_failure(io, no_route),
        None => ProbeFailure::Other(cur.to_string()),
    }
}

/// The failure a reqwest error is, from its causes; `timeout` is the check's.
fn http_failure(
    e: &reqwest::Error,
    timeout: Duration,
    no_route: &dyn Fn() -> bool,
) -> ProbeFailure {
    if e.is_timeout() {
        return ProbeFailure::Timeout {
            after: Some(timeout),
        };
    }
    chain_failure(e, no_route)
}

/// Builds the HTTP client a check uses: no pooling, no proxies, no redirects.
pub fn http_client(
    check: &Check,
    ca: Option<&reqwest::Certificate>,
    resolve: Option<(&str, SocketAddr)>,
) -> Result<reqwest::Client, SetupError> {
    let mut b = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(check.timeout)
        .connect_timeout(check.timeout)
        .user_agent(concat!("gslb/", env!("CARGO_PKG_VERSION"), " health check"));
    if let Some(tls) = check.kind.tls() {
        b = b.use_rustls_tls().https_only(true);
        if !tls.verify {
            b = b.danger_accept_invalid_certs(true);
        }
        if let Some(ca) = ca {
            b = b.add_root_certificate(ca.clone());
        }
    }
    if let Some((host, addr)) = resolve {
        b = b.resolve(host, addr);
    }
    b.build().map_err(SetupError::Client)
}

/// Reads a CA bundle (PEM) for `ca_file`.
pub fn load_ca(path: &Path) -> Result<reqwest::Certificate, SetupError> {
    let pem = std::fs::read(path).map_err(|source| SetupError::ReadCa {
        path: path.to_path_buf(),
        source,
    })?;
    reqwest::Certificate::from_pem(&pem).map_err(|source| SetupError::CaNotPem {
        path: path.to_path_buf(),
        source,
    })
}

impl Probe {
    /// A probe of `addr` with `check`; `client` is the check's shared HTTP client, used when the
    /// check has no `host` (with a `host`, each target needs its own resolve override).
    pub fn new(
        check: &Check,
        addr: IpAddr,
        client: Option<&reqwest::Client>,
        ca: Option<&reqwest::Certificate>,
    ) -> Result<Probe, SetupError> {
        let socket = SocketAddr::new(addr, check.port);
        let (scheme, spec) = match &check.kind {
            CheckKind::Tcp => {
                return Ok(Probe {
                    socket,
                    timeout: check.timeout,
                    request: Request::Connect,
                });
            }
            CheckKind::Http(h) => ("http", h),
            CheckKind::Https { http, .. } => ("https", http),
        };
        let (client, authority) = match &spec.host {
            Some(h) => (
                http_client(check, ca, Some((h, socket)))?,
                format!("{h}:{}", check.port),
            ),
            None => {
                let c = match client {
                    Some(c) => c.clone(),
                    None => http_client(check, ca, None)?,
                };
                (c, socket.to_string())
            }
        };
        Ok(Probe {
            socket,
            timeout: check.timeout,
            request: Request::Get {
                client,
                url: format!("{scheme}://{authority}{}", spec.path),
                spec: spec.clone(),
            },
        })
    }

    /// Runs the probe once. Never takes longer than the check's timeout (plus scheduling).
    pub async fn run(&self) -> ProbeResult {
        let start = Instant::now();
        let outcome = match tokio::time::timeout(self.timeout, self.attempt()).await {
            Ok(r) => r,
            Err(_) => Err(ProbeFailure::Timeout {
                after: Some(self.timeout),
            }),
        };
        ProbeResult {
            outcome,
            latency: start.elapsed().as_secs_f64(),
        }
    }

    async fn attempt(&self) -> Result<ProbePass, ProbeFailure> {
        let ip = self.socket.ip();
        let no_route = move || no_local_route(ip);
        let (client, url, spec) = match &self.request {
            Request::Connect => {
                return match TcpStream::connect(self.socket).await {
                    Ok(_) => Ok(ProbePass::Connected),
                    Err(e) => Err(io_failure(&e, &no_route)),
                };
            }
            Request::Get { client, url, spec } => (client, url, spec),
        };
        let failure = |e: reqwest::Error| http_failure(&e, self.timeout, &no_route);
        let mut resp = client.get(url).send().await.map_err(failure)?;
        let code = resp.status().as_u16();
        if !spec.expect_status.contains(&code) {
            return Err(ProbeFailure::Status(code));
        }
        let load = match &spec.load_header {
            None => None,
            Some(h) => {
                let v = resp
                    .headers()
                    .get(h.as_str())
                    .ok_or_else(|| ProbeFailure::MissingHeader { header: h.clone() })?;
                let n: f64 = v
                    .to_str()
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .filter(|n: &f64| n.is_finite())
                    .ok_or_else(|| ProbeFailure::BadLoad { header: h.clone() })?;
                Some(n)
            }
        };
        if let Some(want) = &spec.expect_body {
            let mut body: Vec<u8> = Vec::new();
            let found = loop {
                if find(&body, want.as_bytes()) {
                    break true;
                }
                if body.len() >= BODY_MAX {
                    break false;
                }
                match resp.chunk().await.map_err(failure)? {
                    Some(c) => {
                        let room = BODY_MAX - body.len();
                        body.extend_from_slice(&c[..c.len().min(room)]);
                    }
                    None => break find(&body, want.as_bytes()),
                }
            };
            if !found {
                return Err(ProbeFailure::BodyMismatch {
                    expected: want.clone(),
                });
            }
        }
        Ok(ProbePass::Status { code, load })
    }
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Error, ErrorKind};

    /// A `no_route` that must not be asked: only ENETUNREACH needs the routing table.
    fn unasked() -> bool {
        panic!("the routing table was consulted for an error that does not need it")
    }

    fn local(errno: i32) -> ProbeFailure {
        LocalError::Os { errno }.into()
    }

    #[test]
    fn io_errors_become_their_failures() {
        assert_eq!(
            io_failure(&Error::from(ErrorKind::ConnectionRefused), &unasked),
            ProbeFailure::Refused
        );
        assert_eq!(
            io_failure(&Error::from(ErrorKind::ConnectionReset), &unasked),
            ProbeFailure::Reset
        );
        assert_eq!(
            io_failure(&Error::from(ErrorKind::TimedOut), &unasked),
            ProbeFailure::Timeout { after: None }
        );
        let tls = Error::new(
            ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert_eq!(io_failure(&tls, &unasked).class(), "tls");
        let wrapped = Error::other(tls);
        assert_eq!(
            io_failure(&wrapped, &unasked),
            ProbeFailure::Tls("invalid peer certificate: UnknownIssuer".into())
        );
        assert_eq!(
            io_failure(&Error::other("odd"), &unasked),
            ProbeFailure::Other("odd".into())
        );
    }

    /// Each errno, as `socket()` or `connect()` return it: local ones never count against the
    /// endpoint, the endpoint's own stay its failures.
    #[test]
    fn each_errno_is_classified_local_or_the_endpoints() {
        for errno in [
            libc::EMFILE,
            libc::ENFILE,
            libc::ENOMEM,
            libc::ENOBUFS,
            libc::EADDRNOTAVAIL,
        ] {
            let f = io_failure(&Error::from_raw_os_error(errno), &unasked);
            assert_eq!(f, local(errno), "errno {errno}");
            assert!(f.is_local() && f.class() == "local", "errno {errno}: {f}");
        }
        // ENETUNREACH: local only when this machine has no route to the endpoint; with a route
        // it is a router's answer about the endpoint's network.
        let net = Error::from_raw_os_error(libc::ENETUNREACH);
        assert_eq!(io_failure(&net, &|| true), local(libc::ENETUNREACH));
        let routed = io_failure(&net, &|| false);
        assert!(!routed.is_local(), "{routed}");
        assert_eq!(routed.class(), "other");
        // The endpoint's failures, whatever the routing table says.
        let endpoint = [
            (libc::EHOSTUNREACH, "other"),
            (libc::ECONNREFUSED, "refused"),
            (libc::ECONNRESET, "other"),
            (libc::ETIMEDOUT, "timeout"),
            (libc::EPIPE, "other"),
        ];
        for (errno, class) in endpoint {
            let f = io_failure(&Error::from_raw_os_error(errno), &|| true);
            assert!(!f.is_local(), "errno {errno}: {f}");
            assert_eq!(f.class(), class, "errno {errno}: {f}");
        }
    }

    /// hyper-util's connect error, as reqwest nests it: a message and the I/O error as source.
    #[derive(Debug)]
    struct ConnectError(&'static str, Box<dyn std::error::Error + Send + Sync>);

    impl std::fmt::Display for ConnectError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for ConnectError {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&*self.1)
        }
    }

    #[test]
    fn wrapped_io_errors_are_found_in_the_chain() {
        // reqwest → hyper-util → ConnectError("tcp open error") → EMFILE from socket().
        let open = ConnectError(
            "tcp open error",
            Box::new(Error::from_raw_os_error(libc::EMFILE)),
        );
        let outer = ConnectError("client error (Connect)", Box::new(open));
        assert_eq!(chain_failure(&outer, &unasked), local(libc::EMFILE));
        // Behind an io::Error that wraps the connect error (its source() skips a link).
        let boxed = Error::other(ConnectError(
            "tcp open error",
            Box::new(Error::from_raw_os_error(libc::ENFILE)),
        ));
        let outer = ConnectError("client error (Connect)", Box::new(boxed));
        assert_eq!(chain_failure(&outer, &unasked), local(libc::ENFILE));
        // A refused connect stays the endpoint's.
        let refused = ConnectError(
            "tcp connect error",
            Box::new(Error::from_raw_os_error(libc::ECONNREFUSED)),
        );
        assert_eq!(chain_failure(&refused, &unasked), ProbeFailure::Refused);
        // No I/O error at all: the innermost message.
        let plain = ConnectError("outer", Box::new(Error::other("inner")));
        assert_eq!(
            chain_failure(&plain, &unasked),
            ProbeFailure::Other("inner".into())
        );
    }

    #[test]
    fn loopback_has_a_local_route() {
        assert!(!no_local_route("127.0.0.1".parse().unwrap()));
    }

    /// A real probe: a closed port on loopback is refused, the endpoint's failure.
    #[tokio::test]
    async fn a_refused_tcp_probe_is_the_endpoints_failure() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let check = Check {
            name: "tcp".into(),
            port,
            address: None,
            interval: Duration::from_secs(1),
            timeout: Duration::from_millis(500),
            rise: 2,
            fall: 2,
            kind: CheckKind::Tcp,
        };
        let r = Probe::new(&check, "127.0.0.1".parse().unwrap(), None, None)
            .unwrap()
            .run()
            .await;
        assert_eq!(r.outcome, Err(ProbeFailure::Refused));
        assert!(!r.is_local());
    }
}
