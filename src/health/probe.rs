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
use crate::state::{ProbeFailure, ProbePass, ProbeResult};

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

/// OS errors that are a shortage of this machine, not a fault of the endpoint.
fn is_local(errno: i32) -> bool {
    [
        libc::EMFILE,
        libc::ENFILE,
        libc::ENOBUFS,
        libc::ENOMEM,
        libc::EADDRNOTAVAIL,
    ]
    .contains(&errno)
}

/// The failure an I/O error is. An I/O error wrapping another (hyper-rustls wraps tokio-rustls's)
/// is the one it wraps.
fn io_failure(mut e: &std::io::Error) -> ProbeFailure {
    while let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<std::io::Error>()) {
        e = inner;
    }
    if let Some(errno) = e.raw_os_error().filter(|n| is_local(*n)) {
        return ProbeFailure::Local { errno };
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

/// The failure a reqwest error is, from its innermost cause; `timeout` is the check's.
fn http_failure(e: &reqwest::Error, timeout: Duration) -> ProbeFailure {
    if e.is_timeout() {
        return ProbeFailure::Timeout {
            after: Some(timeout),
        };
    }
    let mut cur: &(dyn std::error::Error + 'static) = e;
    loop {
        if let Some(tls) = cur.downcast_ref::<rustls::Error>() {
            return ProbeFailure::Tls(tls.to_string());
        }
        match cur.source() {
            Some(next) => cur = next,
            None => break,
        }
    }
    match cur.downcast_ref::<std::io::Error>() {
        Some(io) => io_failure(io),
        None => ProbeFailure::Other(cur.to_string()),
    }
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
        let (client, url, spec) = match &self.request {
            Request::Connect => {
                return match TcpStream::connect(self.socket).await {
                    Ok(_) => Ok(ProbePass::Connected),
                    Err(e) => Err(io_failure(&e)),
                };
            }
            Request::Get { client, url, spec } => (client, url, spec),
        };
        let failure = |e: reqwest::Error| http_failure(&e, self.timeout);
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

    #[test]
    fn io_errors_become_their_failures() {
        use std::io::{Error, ErrorKind};
        assert_eq!(
            io_failure(&Error::from(ErrorKind::ConnectionRefused)),
            ProbeFailure::Refused
        );
        assert_eq!(
            io_failure(&Error::from(ErrorKind::ConnectionReset)),
            ProbeFailure::Reset
        );
        assert_eq!(
            io_failure(&Error::from(ErrorKind::TimedOut)),
            ProbeFailure::Timeout { after: None }
        );
        for errno in [libc::EMFILE, libc::ENOBUFS, libc::EADDRNOTAVAIL] {
            assert_eq!(
                io_failure(&Error::from_raw_os_error(errno)),
                ProbeFailure::Local { errno }
            );
        }
        let tls = Error::new(
            ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert_eq!(io_failure(&tls).class(), "tls");
        let wrapped = Error::other(tls);
        assert_eq!(
            io_failure(&wrapped),
            ProbeFailure::Tls("invalid peer certificate: UnknownIssuer".into())
        );
        assert_eq!(
            io_failure(&Error::other("odd")),
            ProbeFailure::Other("odd".into())
        );
    }
}
