//! Reloads and checks that bad or missing input cannot hurt the running server.
//!
//! Covers: `gslb check` (the real binary) failing with the gslb.toml position of a missing or
//! empty `token_file` and a malformed cookie `secret_file`, as `serve` would; a running `gslb
//! serve` whose zone file is renamed away keeping that zone (balanced name included) through
//! one reload, logging and counting it, serving the file again once it is back, and dropping
//! the zone when it is still missing at the next reload; reloads of a zone with an over-long
//! line or a 1 GiB (sparse) file refused with the file's place while answers go on.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::harness::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType::A;

/// How long the binary gets to start, log or reload.
const PATIENCE: Duration = Duration::from_secs(20);

fn zone(www: &str) -> String {
    format!(
        "$ORIGIN example.com.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 604800 60\n\
         @ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A {www}\n"
    )
}

const OTHER_ZONE: &str = "$ORIGIN example.net.\n$TTL 300\n@ IN SOA ns1 h 1 3600 600 604800 60\n\
                          @ IN NS ns1\nns1 IN A 192.0.2.1\n";

#[tokio::test]
async fn check_reports_secret_files_where_gslb_toml_names_them() {
    let config = "[server]\nlisten = [\"127.0.0.1:0\"]\n\n[admin]\nlisten = \"127.0.0.1:0\"\n\
                  token_file = \"token\"\n\n[cookies]\nsecret_file = \"cookie-secret\"\n\n\
                  [zones]\ndirectory = \"zones\"\n";
    let (dir, path) = config_dir(config, &[("example.com.zone", &zone("192.0.2.80"))]);
    let check = || {
        run_gslb(vec![
            "check".into(),
            "-c".into(),
            path.display().to_string(),
        ])
    };

    // Neither file exists: both reported, each at its value in gslb.toml, exit 1.
    let (code, out, _) = check().await;
    assert_eq!(code, 1, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let token_at = format!("{}:6:14: cannot read admin token_file ", path.display());
    let secret_at = format!("{}:9:15: cannot read cookies secret_file ", path.display());
    assert!(lines.iter().any(|l| l.starts_with(&token_at)), "{out}");
    assert!(lines.iter().any(|l| l.starts_with(&secret_at)), "{out}");

    // An empty token, a secret of 31 digits: still refused, saying what is wrong.
    std::fs::write(dir.path().join("token"), "  \n").unwrap();
    let short = "0123456789abcdef0123456789abcde";
    std::fs::write(dir.path().join("cookie-secret"), format!("{short}\n")).unwrap();
    let (code, out, _) = check().await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(":6:14: admin token_file "), "{out}");
    assert!(out.contains("is empty"), "{out}");
    assert!(
        out.contains(":9:15: cookies secret_file ") && out.contains("found 31 hex digits"),
        "{out}"
    );
    assert!(!out.contains(short), "the secret is not printed: {out}");

    // Both good: check passes, as serve would start.
    std::fs::write(dir.path().join("token"), "t0ken\n").unwrap();
    let secrets = "0123456789abcdef0123456789abcdef\nFEDCBA9876543210FEDCBA9876543210\n";
    std::fs::write(dir.path().join("cookie-secret"), secrets).unwrap();
    let (code, out, err) = check().await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(": ok (1 zones"), "{out}");
}

/// A `gslb serve` process, what it logged, and its addresses.
struct Serve {
    _child: Guard,
    log: Arc<Mutex<Vec<String>>>,
    udp: SocketAddr,
    admin: SocketAddr,
}

impl Serve {
    fn start(config: &Path) -> Serve {
        let (child, log) = spawn_logged(serve_command(config));
        let mut s = Serve {
            _child: child,
            log,
            udp: "0.0.0.0:0".parse().unwrap(),
            admin: "0.0.0.0:0".parse().unwrap(),
        };
        s.udp = s.addr("udp");
        s.admin = s.addr("http");
        s.wait_log(1, |l| l.contains(" serving"));
        s
    }

    fn addr(&self, proto: &str) -> SocketAddr {
        let marker = format!("listening proto={proto} addr=");
        let line = self.wait_log(1, |l| l.contains(&marker)).remove(0);
        let a = line.split(&marker).nth(1).unwrap();
        a.split_whitespace().next().unwrap().parse().unwrap()
    }

    /// Waits until `count` logged lines satisfy `f`; returns them.
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

    async fn reload(&self) -> (u16, serde_json::Value) {
        let r = http()
            .post(format!("http://{}/v1/reload", self.admin))
            .send()
            .await
            .unwrap();
        let code = r.status().as_u16();
        (code, json(&r.text().await.unwrap()))
    }

    async fn metric(&self, series: &str) -> Option<f64> {
        let r = http()
            .get(format!("http://{}/metrics", self.admin))
            .send()
            .await
            .unwrap();
        metric(&r.text().await.unwrap(), series)
    }

    fn www(&self) -> (ResponseCode, Vec<String>) {
        self.ask("www.example.com.")
    }

    fn ask(&self, name: &str) -> (ResponseCode, Vec<String>) {
        let r = udp(self.udp, &query(name, A, false));
        (r.metadata.response_code, addrs(&r))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zone_whose_file_vanished_is_served_on_for_one_reload() {
    let config = "[server]\nlisten = [\"127.0.0.1:0\"]\nthreads = 1\n\n[admin]\n\
                  listen = \"127.0.0.1:0\"\n\n[zones]\ndirectory = \"zones\"\n\n\
                  [datacenters.dc1]\n\n[[balance]]\nname = \"app.example.com\"\n\
                  policy = \"failover\"\nendpoints = [{ address = \"192.0.2.10\", datacenter = \"dc1\" }]\n";
    let (dir, path) = config_dir(
        config,
        &[
            ("example.com.zone", &zone("192.0.2.80")),
            ("example.net.zone", OTHER_ZONE),
        ],
    );
    let file = dir.path().join("zones/example.com.zone");
    // An editor's save: the file is renamed away, its new content not yet in place.
    let away = dir.path().join("zones/.example.com.zone.swp");
    let s = Serve::start(&path);
    let ok = |a: &str| (ResponseCode::NoError, vec![a.to_string()]);
    assert_eq!(s.www(), ok("192.0.2.80"));
    assert_eq!(s.metric("gslb_zones_stale").await, Some(0.0));

    std::fs::rename(&file, &away).unwrap();
    let (code, body) = s.reload().await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(s.www(), ok("192.0.2.80"), "the running copy is served");
    assert_eq!(
        s.ask("app.example.com."),
        ok("192.0.2.10"),
        "with its balanced name"
    );
    let warned = s.wait_log(1, |l| l.contains("zone file vanished"));
    assert!(
        warned[0].contains("still serving the running copy")
            && warned[0].contains("zone=example.com.")
            && warned[0].contains(&format!("file={}", file.display())),
        "{warned:?}"
    );
    assert_eq!(s.metric("gslb_zone_file_missing_total").await, Some(1.0));
    assert_eq!(s.metric("gslb_zones_stale").await, Some(1.0));

    // Back with new data: served from the file again, and no longer stale.
    std::fs::write(&away, zone("192.0.2.81")).unwrap();
    std::fs::rename(&away, &file).unwrap();
    assert_eq!(s.reload().await.0, 200);
    assert_eq!(s.www(), ok("192.0.2.81"));
    assert_eq!(s.metric("gslb_zones_stale").await, Some(0.0));

    // Gone at two reloads in a row: kept at the first, dropped at the second.
    std::fs::remove_file(&file).unwrap();
    assert_eq!(s.reload().await.0, 200);
    assert_eq!(s.www(), ok("192.0.2.81"));
    assert_eq!(s.metric("gslb_zone_file_missing_total").await, Some(2.0));
    assert!(
        s.log
            .lock()
            .unwrap()
            .iter()
            .all(|l| !l.contains("no longer served"))
    );
    // Its balanced name now lies in no zone: that reload is refused, saying why.
    let (code, body) = s.reload().await;
    assert_eq!(code, 422, "{body}");
    let errors = body["errors"].to_string();
    assert!(
        errors.contains("app.example.com. is not inside any served zone")
            && errors.contains(&format!("its file {} is still missing", file.display())),
        "{errors}"
    );
    assert_eq!(s.www(), ok("192.0.2.81"), "the running copy stays");
    // Without it, the next reload drops the zone.
    let without = &config[..config.find("[datacenters.dc1]").unwrap()];
    std::fs::write(&path, without).unwrap();
    let (code, body) = s.reload().await;
    assert_eq!(code, 200, "{body}");
    let dropped = s.wait_log(1, |l| l.contains("zone no longer served"));
    assert!(dropped[0].contains("zone=example.com."), "{dropped:?}");
    assert_eq!(
        s.www().0,
        ResponseCode::Refused,
        "not a zone of ours any more"
    );
    assert_eq!(s.metric("gslb_zones_stale").await, Some(0.0));
    let r = udp(
        s.udp,
        &query("example.net.", hickory_proto::rr::RecordType::SOA, false),
    );
    assert_eq!(
        r.metadata.response_code,
        ResponseCode::NoError,
        "the other zone stays"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reloads_of_oversized_zones_are_refused_and_answers_go_on() {
    let s = start_with("", "", &[("example.com.zone", &zone("192.0.2.80"))]).await;
    let file = s.dir.path().join("zones/example.com.zone");
    let www = || addrs(&udp(s.udp, &query("www.example.com.", A, false)));

    // One line over 64 KiB, in a zone otherwise fine: refused at that line.
    let long = format!(
        "{}big IN TXT \"{}\"\n",
        zone("192.0.2.99"),
        "x".repeat(100_000)
    );
    std::fs::write(&file, long).unwrap();
    let (code, body) = admin_post(&s, "/v1/reload", None).await;
    assert_eq!(code, 422, "{body}");
    let errors = json(&body)["errors"].to_string();
    assert!(
        errors.contains(&format!(
            "{}:7:1: line is 100013 bytes long",
            file.display()
        )),
        "{errors}"
    );
    assert_eq!(www(), ["192.0.2.80"]);

    // 1 GiB that is one line (sparse, so the test writes nothing): refused from its size
    // alone, before a byte is read.
    std::fs::File::create(&file)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let (code, body) = admin_post(&s, "/v1/reload", None).await;
    assert_eq!(code, 422, "{body}");
    let errors = json(&body)["errors"].to_string();
    assert!(
        errors.contains(&format!(
            "{}:1:1: zone file is 1073741824 bytes",
            file.display()
        )),
        "{errors}"
    );
    assert_eq!(www(), ["192.0.2.80"]);
    let (_, metrics) = admin_get(&s, "/metrics").await;
    assert_eq!(
        metric(&metrics, "gslb_config_reload_failures_total"),
        Some(2.0)
    );
    s.stop().await;
}
