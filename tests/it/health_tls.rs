//! HTTPS checks against a local server with a self-signed certificate: verification on (the
//! default) fails, a configured `ca_file` passes, `tls_verify = false` passes; `host` sets SNI.

use std::sync::Arc;

use crate::harness::*;
use gslb::state::ProbeFailure;
use hickory_proto::rr::RecordType;
use tokio_rustls::rustls;

const ZONE_T: &str =
    "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 h 1 3600 600 604800 60\n@ NS ns1\nns1 A 192.0.2.1\n";

/// A TLS acceptor with a self-signed certificate for `backend.test`, and that certificate's PEM.
fn self_signed() -> (tokio_rustls::TlsAcceptor, String) {
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
    (tokio_rustls::TlsAcceptor::from(Arc::new(cfg)), pem)
}

fn balance(name: &str, check: &str) -> String {
    format!(
        "[[balance]]\nname = \"{name}.example.com\"\npolicy = \"all\"\ncheck = \"{check}\"\nwhen_all_down = \"none\"\nendpoints = [ {{ address = \"127.0.0.21\", datacenter = \"a\" }} ]\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn https_verifies_certificates_unless_told_otherwise() {
    let (tls, pem) = self_signed();
    let b = backend::start_tls(&["127.0.0.21"], Some(tls)).await;
    let port = b[0].addr.port();
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
    let snap = s.server().control.state.load_full();
    let i = snap.balance_index("strict.example.com").unwrap();
    let last = snap.health.status(i, 0).unwrap().last.unwrap();
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
