//! The health publisher's cost with many targets changing: 100,000 endpoints (25,000 balanced
//! names × 4) over 10,000 probed targets, every target flapping (down, then up, every 2 s of
//! simulated time), against the same configuration with every target steady. Probe results come
//! from a script under tokio's paused clock, so a simulated minute runs as fast as the CPU
//! allows and the process CPU it takes is the health side's work: probe tasks, trackers and the
//! publisher; the flapping run minus the steady run is what publishing the changes costs.
//!
//! Run: `cargo bench --bench publish` (prints a table; nothing is asserted).
//! `PUBLISH_SECONDS=N` sets the simulated time (default 60).

// Bench code: an unwrap that fails is a failed run, with its message.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use gslb::health::{Source, TargetKey, start_with};
use gslb::metrics::Metrics;
use gslb::state::{ProbeFailure, ProbePass, ProbeResult};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const NAMES: usize = 25_000;
const TARGETS: usize = 10_000;
/// Simulated time per run (`PUBLISH_SECONDS` overrides it: the old full-rebuild publisher needs
/// minutes of CPU per simulated minute).
fn simulated() -> Duration {
    let secs = std::env::var("PUBLISH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    Duration::from_secs(secs)
}

fn config(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("zones")).unwrap();
    std::fs::write(
        dir.join("zones/bench.example.zone"),
        "$ORIGIN bench.example.\n$TTL 300\n@ SOA ns1 h 1 3600 600 604800 60\n@ NS ns1\nns1 A 192.0.2.1\n",
    )
    .unwrap();
    let mut c = String::from(
        "[server]\nlisten = [\"127.0.0.1:0\"]\n[zones]\ndirectory = \"zones\"\n[checks.web]\nprotocol = \"tcp\"\nport = 80\ninterval = \"1s\"\ntimeout = \"500ms\"\nrise = 1\nfall = 1\n",
    );
    for d in 0..4 {
        c.push_str(&format!("[datacenters.dc{d}]\n"));
    }
    // Name i uses targets 4i .. 4i+3 (mod TARGETS): each target serves 10 endpoints.
    for i in 0..NAMES {
        c.push_str(&format!(
            "[[balance]]\nname = \"n{i}.bench.example\"\npolicy = \"all\"\ncheck = \"web\"\nendpoints = ["
        ));
        for k in 0..4 {
            let t = (4 * i + k) % TARGETS;
            c.push_str(&format!(
                "{{ address = \"10.0.{}.{}\", datacenter = \"dc{k}\" }},",
                t / 250,
                t % 250 + 1
            ));
        }
        c.push_str("]\n");
    }
    let path = dir.join("gslb.toml");
    std::fs::write(&path, c).unwrap();
    path
}

fn cpu_seconds() -> f64 {
    gslb::process::stats().cpu_seconds
}

fn result(ok: bool) -> ProbeResult {
    ProbeResult {
        outcome: if ok {
            Ok(ProbePass::Connected)
        } else {
            Err(ProbeFailure::Refused)
        },
        latency: 0.001,
    }
}

/// Runs the health side for `simulated()` of paused time; returns (CPU seconds, publications).
fn run(served: Arc<gslb::snapshot::Served>, flapping: bool) -> (f64, u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async move {
        let start = tokio::time::Instant::now();
        let script = move |key: &TargetKey, at: tokio::time::Instant| {
            let stagger = match key.addr {
                std::net::IpAddr::V4(a) => u64::from(a.octets()[3] % 2),
                std::net::IpAddr::V6(_) => 0,
            };
            let phase = at.duration_since(start).as_secs() / 2 + stagger;
            result(!flapping || phase.is_multiple_of(2))
        };
        let cancel = CancellationToken::new();
        let tasks = TaskTracker::new();
        let metrics = Arc::new(Metrics::default());
        let (state, _handle) = start_with(
            served,
            metrics,
            cancel.clone(),
            &tasks,
            Source::Scripted(Arc::new(script)),
        )
        .await
        .unwrap();
        let g0 = state.load().health.generation;
        let cpu0 = cpu_seconds();
        tokio::time::sleep(simulated()).await;
        let cpu = cpu_seconds() - cpu0;
        let published = state.load().health.generation - g0;
        cancel.cancel();
        tasks.close();
        tasks.wait().await;
        (cpu, published)
    })
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let served = Arc::new(gslb::load::from_file(&config(dir.path())).unwrap());
    println!(
        "{NAMES} names, {} endpoints, {TARGETS} targets, {} s simulated",
        NAMES * 4,
        simulated().as_secs()
    );
    let (steady, p_steady) = run(served.clone(), false);
    let (flap, p_flap) = run(served, true);
    println!("steady:   {steady:.2} s CPU, {p_steady} publications");
    println!(
        "flapping: {flap:.2} s CPU, {p_flap} publications ({} target changes)",
        TARGETS as u64 * simulated().as_secs() / 2
    );
    println!(
        "publishing the changes: {:.3} s CPU per simulated second",
        (flap - steady) / simulated().as_secs_f64()
    );
}
