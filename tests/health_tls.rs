//! HTTPS checks against a local server with a self-signed certificate: verification on (the
//! default) fails, a configured `ca_file` passes, `tls_verify = false` passes; `host` sets SNI.

mod common;

use std::sync::Arc;

use common::*;
use gslb::state::ProbeFailure;
use hickory_proto::rr::RecordType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

const ZONE_T: &str =
    "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 h 1 3600 600 604800 60\n@ NS ns1\nns1 A 192.0.2.1\n";

/// Serves HTTPS on 127.0.0.21:0 with a certificate for `backend.test`; returns port and PEM.
async fn tls_backend() -> (u16, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["backend.test".to_string()]).unwrap();
    let pem = ck.cert.pem();
    let cert = ck.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.key_pair.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let l = tokio::net::TcpListener::bind("127.0.0.21:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = l.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut s) = acceptor.accept(s).await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = s
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK",
                    )
                    .await;
                let _ = s.shutdown().await;
            });
        }
    });
    (port, pem)
}

fn balance(name: &str, check: &str) -> String {
    format!(
        "[[balance]]\nname = \"{name}.example.com\"\npolicy = \"all\"\ncheck = \"{check}\"\nwhen_all_down = \"none\"\nendpoints = [ {{ address = \"127.0.0.21\", datacenter = \"a\" }} ]\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn https_verifies_certificates_unless_told_otherwise() {
    let (port, pem) = tls_backend().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let check = |name: &str, extra: &str| {
        format!(
            "[checks.{name}]\nprotocol = \"https\"\nport = {port}\npath = \"/\"\nhost = \"backend.test\"\ninterval = \"200ms\"\ntimeout = \"150ms\"\n{extra}\n"
        )
    };
    let cfg = [
        check("strict", ""),
        check("private", &format!("ca_file = {ca:?}")),
        check("lax", "tls_verify = false"),
        "[datacenters.a]\n".to_string(),
        balance("strict", "strict"),
        balance("private", "private"),
        balance("lax", "lax"),
    ]
    .concat();
    let s = start_with("", &cfg, &[("example.com.zone", ZONE_T)]).await;
    let a = |n: &str| {
        addrs(&udp(
            s.udp,
            &query(&format!("{n}.example.com."), RecordType::A, false),
        ))
    };
    assert_eq!(a("strict"), Vec::<String>::new(), "unknown CA: down");
    assert_eq!(a("private"), vec!["127.0.0.21"], "CA configured: up");
    assert_eq!(a("lax"), vec!["127.0.0.21"], "verification off: up");
    let snap = s.server().state.load_full();
    let i = snap.balance_index("strict.example.com").unwrap();
    let last = snap.health.status[i][0].last.clone().unwrap();
    assert!(
        matches!(last.outcome, Err(ProbeFailure::Tls(_))),
        "{:?}",
        last.outcome
    );
    assert!(
        last.to_string().to_lowercase().contains("certificate"),
        "{last}"
    );
    s.stop().await;
}
