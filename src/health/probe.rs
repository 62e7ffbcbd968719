//! One probe of one target: an HTTP(S) GET or a TCP connect, with a hard timeout.
//!
//! Owns: how a check is performed and how its failure is worded. Must not: decide up or down
//! (the tracker does), retry, or keep connections between probes (a pooled connection can hide
//! a dead listener).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::tracker::ProbeResult;
use crate::config::{Check, Protocol};

/// How much of a body is read looking for `expect_body`.
const BODY_MAX: usize = 64 * 1024;

/// A ready-to-run probe of one address with one check.
#[derive(Debug, Clone)]
pub struct Probe {
    check: Arc<Check>,
    addr: SocketAddr,
    http: Option<(reqwest::Client, String)>,
}

fn ms(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// The innermost cause of an error, for a short reason.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    if let Some(io) = cur.downcast_ref::<std::io::Error>() {
        return io_reason(io);
    }
    cur.to_string()
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connect refused".into(),
        std::io::ErrorKind::ConnectionReset => "connection reset".into(),
        std::io::ErrorKind::TimedOut => "timeout".into(),
        _ => e.to_string(),
    }
}

/// Builds the HTTP client a check uses: no pooling, no proxies, no redirects.
pub fn http_client(
    check: &Check,
    ca: Option<&reqwest::Certificate>,
    resolve: Option<(&str, SocketAddr)>,
) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(check.timeout)
        .connect_timeout(check.timeout)
        .user_agent(concat!("gslb/", env!("CARGO_PKG_VERSION"), " health check"));
    if check.protocol == Protocol::Https {
        b = b.use_rustls_tls().https_only(true);
        if !check.tls_verify {
            b = b.danger_accept_invalid_certs(true);
        }
        if let Some(ca) = ca {
            b = b.add_root_certificate(ca.clone());
        }
    }
    if let Some((host, addr)) = resolve {
        b = b.resolve(host, addr);
    }
    b.build()
        .map_err(|e| format!("cannot build HTTP client: {e}"))
}

/// Reads a CA bundle (PEM) for `ca_file`.
pub fn load_ca(path: &std::path::Path) -> Result<reqwest::Certificate, String> {
    let pem =
        std::fs::read(path).map_err(|e| format!("cannot read ca_file {}: {e}", path.display()))?;
    reqwest::Certificate::from_pem(&pem)
        .map_err(|e| format!("ca_file {} is not a PEM certificate: {e}", path.display()))
}

impl Probe {
    /// A probe of `addr` with `check`; `client` is the check's shared HTTP client, used when the
    /// check has no `host` (with a `host`, each target needs its own resolve override).
    pub fn new(
        check: Arc<Check>,
        addr: IpAddr,
        client: Option<&reqwest::Client>,
        ca: Option<&reqwest::Certificate>,
    ) -> Result<Probe, String> {
        let sa = SocketAddr::new(addr, check.port);
        let http = match check.protocol {
            Protocol::Tcp => None,
            Protocol::Http | Protocol::Https => {
                let scheme = if check.protocol == Protocol::Https {
                    "https"
                } else {
                    "http"
                };
                let (client, authority) = match &check.host {
                    Some(h) => (
                        http_client(&check, ca, Some((h, sa)))?,
                        format!("{h}:{}", check.port),
                    ),
                    None => {
                        let c = match client {
                            Some(c) => c.clone(),
                            None => http_client(&check, ca, None)?,
                        };
                        (c, sa.to_string())
                    }
                };
                Some((client, format!("{scheme}://{authority}{}", check.path)))
            }
        };
        Ok(Probe {
            check,
            addr: sa,
            http,
        })
    }

    /// The address probed.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Runs the probe once. Never takes longer than the check's timeout (plus scheduling).
    pub async fn run(&self) -> ProbeResult {
        let start = Instant::now();
        let t = self.check.timeout;
        let outcome = match tokio::time::timeout(t, self.attempt()).await {
            Ok(r) => r,
            Err(_) => Err(format!("timeout after {}", ms(t))),
        };
        let latency = start.elapsed().as_secs_f64();
        match outcome {
            Ok((detail, load)) => ProbeResult {
                ok: true,
                detail,
                latency,
                load,
            },
            Err(detail) => ProbeResult {
                ok: false,
                detail,
                latency,
                load: None,
            },
        }
    }

    async fn attempt(&self) -> Result<(String, Option<f64>), String> {
        let Some((client, url)) = &self.http else {
            return match TcpStream::connect(self.addr).await {
                Ok(_) => Ok(("connected".into(), None)),
                Err(e) => Err(io_reason(&e)),
            };
        };
        let resp = client.get(url).send().await.map_err(|e| {
            if e.is_timeout() {
                format!("timeout after {}", ms(self.check.timeout))
            } else {
                root_cause(&e)
            }
        })?;
        let status = resp.status().as_u16();
        if !self.check.expect_status.contains(&status) {
            return Err(format!("status {status}"));
        }
        let load = match &self.check.load_header {
            None => None,
            Some(h) => {
                let v = resp
                    .headers()
                    .get(h.as_str())
                    .ok_or_else(|| format!("no {h} header"))?;
                let n: f64 = v
                    .to_str()
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .filter(|n: &f64| n.is_finite())
                    .ok_or_else(|| format!("{h} header is not a number"))?;
                Some(n)
            }
        };
        if let Some(want) = &self.check.expect_body {
            let mut resp = resp;
            let mut body: Vec<u8> = Vec::new();
            let found = loop {
                if find(&body, want.as_bytes()) {
                    break true;
                }
                if body.len() >= BODY_MAX {
                    break false;
                }
                match resp.chunk().await.map_err(|e| root_cause(&e))? {
                    Some(c) => {
                        let room = BODY_MAX - body.len();
                        body.extend_from_slice(&c[..c.len().min(room)]);
                    }
                    None => break find(&body, want.as_bytes()),
                }
            };
            if !found {
                return Err(format!("body lacks {want:?}"));
            }
        }
        Ok((format!("status {status}"), load))
    }
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}
