//! The cross-site check of mutating calls: a web page the operator happens to open can make
//! the browser POST to a loopback admin API that has no token, so a POST whose `Origin` names
//! another origin than the listener's own, or whose `Sec-Fetch-Site` is `cross-site` or
//! `same-site`, is refused with 403. Requests with neither header (curl, the CLI, scripts) pass.
//!
//! Owns: that decision. Must not: look at the token (that is `auth`, which runs after it).

use std::net::{IpAddr, SocketAddr};

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::listener::Local;

/// Middleware: refuses cross-site requests, passes the rest on.
pub(crate) async fn same_origin_only(req: Request, next: Next) -> Response {
    let local = req.extensions().get::<Local>().map(|l| l.0);
    if let Some(why) = cross_site(req.headers(), local) {
        return super::error(StatusCode::FORBIDDEN, why);
    }
    next.run(req).await
}

/// Why the request is cross-site, or `None` when it is not (or cannot be told).
fn cross_site(h: &HeaderMap, local: Option<SocketAddr>) -> Option<String> {
    // Fetch Metadata: sent by every current browser, never forged by a page.
    if let Some(site) = h.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("?");
        if site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site") {
            return Some(format!(
                "cross-site request refused (Sec-Fetch-Site: {site}); call the admin API from its own page, curl or the CLI"
            ));
        }
    }
    let origin = h.get(header::ORIGIN)?;
    let origin = origin.to_str().unwrap_or("?");
    if local.is_some_and(|l| is_own(origin, l)) {
        return None;
    }
    Some(format!(
        "cross-site request refused (Origin: {origin} is not this admin API's own)"
    ))
}

/// Whether `origin` (RFC 6454 serialization: `http://host[:port]`) is the listener's own: its
/// address and port, or `localhost` and its port when it listens on loopback.
fn is_own(origin: &str, local: SocketAddr) -> bool {
    let Some(hostport) = origin.strip_prefix("http://") else {
        return false;
    };
    let (host, port) = match hostport.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, rest)) => (h, rest),
            None => return false,
        },
        None => match hostport.rfind(':') {
            Some(i) => (&hostport[..i], &hostport[i..]),
            None => (hostport, ""),
        },
    };
    let port = match port {
        "" => 80,
        p => match p.strip_prefix(':').and_then(|p| p.parse::<u16>().ok()) {
            Some(p) => p,
            None => return false,
        },
    };
    if port != local.port() {
        return false;
    }
    let ip = local.ip().to_canonical();
    match host.parse::<IpAddr>() {
        Ok(h) => h.to_canonical() == ip,
        Err(_) => host.eq_ignore_ascii_case("localhost") && ip.is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origins_and_fetch_metadata() {
        let v4: SocketAddr = "127.0.0.1:8053".parse().unwrap();
        let v6: SocketAddr = "[::1]:8053".parse().unwrap();
        let wide: SocketAddr = "192.0.2.7:80".parse().unwrap();
        // (headers, local, refused)
        type Headers<'a> = &'a [(&'a str, &'a str)];
        let table: &[(Headers, SocketAddr, bool)] = &[
            (&[], v4, false),
            (&[("origin", "http://127.0.0.1:8053")], v4, false),
            (&[("origin", "http://localhost:8053")], v4, false),
            (&[("origin", "http://LOCALHOST:8053")], v4, false),
            (&[("origin", "http://[::1]:8053")], v6, false),
            (&[("origin", "http://192.0.2.7")], wide, false),
            (&[("origin", "http://localhost")], wide, true),
            (&[("origin", "http://127.0.0.1:8054")], v4, true),
            (&[("origin", "https://127.0.0.1:8053")], v4, true),
            (&[("origin", "http://evil.example")], v4, true),
            (
                &[("origin", "http://127.0.0.1.evil.example:8053")],
                v4,
                true,
            ),
            (&[("origin", "null")], v4, true),
            (&[("sec-fetch-site", "cross-site")], v4, true),
            (&[("sec-fetch-site", "same-site")], v4, true),
            (&[("sec-fetch-site", "same-origin")], v4, false),
            (&[("sec-fetch-site", "none")], v4, false),
            (
                &[
                    ("sec-fetch-site", "same-origin"),
                    ("origin", "http://127.0.0.1:8053"),
                ],
                v4,
                false,
            ),
        ];
        for (pairs, local, refused) in table {
            let got = cross_site(&headers(pairs), Some(*local));
            assert_eq!(got.is_some(), *refused, "{pairs:?} on {local}: {got:?}");
        }
    }
}
