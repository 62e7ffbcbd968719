//! The timing of health decisions, on paused tokio time with scripted probe results: an
//! endpoint leaves the answers at exactly its `fall`-th consecutive failing probe, returns at
//! its `rise`-th passing one, a flap shorter than `fall` changes nothing, and a drain applies at
//! once and survives passing probes, and a target removed by a reload is never probed again.
//! Virtual time makes the instants exact, so the failover arithmetic is checked, not
//! approximated, and "never again" is a count over known intervals, not a wall-clock wait.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use gslb::health::{DrainTarget, HealthHandle, Source, TargetKey, start_with};
use gslb::metrics::Metrics;
use gslb::snapshot::{Served, Snapshot};
use gslb::state::{EndpointState, ProbeFailure, ProbePass, ProbeResult};
use tokio::time::Instant;

use crate::harness::{config_dir, pass};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const INTERVAL: Duration = Duration::from_secs(1);

const ZONE_T: &str =
    "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 h 1 3600 600 604800 60\n@ NS ns1\nns1 A 192.0.2.1\n";

/// A TCP check every second (rise 2, fall 2) of app.example.com's endpoints at `addresses`.
fn config(addresses: &[&str]) -> String {
    let endpoints: Vec<String> = addresses
        .iter()
        .map(|a| format!("{{ address = \"{a}\", datacenter = \"a\" }}"))
        .collect();
    format!(
        r#"[zones]
directory = "zones"
[checks.web]
protocol = "tcp"
port = 80
interval = "1s"
timeout = "500ms"
rise = 2
fall = 2
[datacenters.a]
[[balance]]
name = "app.example.com"
policy = "all"
check = "web"
endpoints = [ {} ]
"#,
        endpoints.join(", ")
    )
}

/// Loads `config` from a temp dir (kept alive by the caller) as the server would.
fn load(config: &str) -> (tempfile::TempDir, Served) {
    let (dir, path) = config_dir(config, &[("example.com.zone", ZONE_T)]);
    let served = gslb::load::from_file(&path)
        .unwrap_or_else(|e| panic!("test config rejected: {}", gslb::diag::Diagnostics(e)));
    (dir, served)
}

/// A probe result as the script gives it.
fn result(ok: bool) -> ProbeResult {
    ProbeResult {
        outcome: if ok {
            Ok(ProbePass::Connected)
        } else {
            Err(ProbeFailure::Refused)
        },
        latency: 0.0,
    }
}

/// Starts the health side of `served` with probe results from `script`; returns the snapshot
/// cell, the handle, and what stops it.
async fn start_scripted(
    served: Served,
    script: impl Fn(&TargetKey, Instant) -> ProbeResult + Send + Sync + 'static,
) -> (Arc<ArcSwap<Snapshot>>, HealthHandle, Stopper) {
    let cancel = CancellationToken::new();
    let tasks = TaskTracker::new();
    let (state, handle) = start_with(
        Arc::new(served),
        Arc::new(Metrics::default()),
        cancel.clone(),
        &tasks,
        Source::Scripted(Arc::new(script)),
    )
    .await
    .unwrap();
    (state, handle, Stopper { cancel, tasks })
}

/// Stops the health side's tasks.
struct Stopper {
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl Stopper {
    async fn stop(self) {
        self.cancel.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// Probe results by virtual time since start, and the state they must produce.
///
/// | time since start (s) | probe results      | state                                   |
/// |----------------------|--------------------|-----------------------------------------|
/// | 0                    | pass (first round) | up at once: the first result decides    |
/// | [2.5, 3.6)           | fail (a flap)      | up: one failure, fall = 2               |
/// | [3.6, 8.5)           | pass               | up                                      |
/// | [8.5, 14.5)          | fail               | down at the 2nd failing probe           |
/// | [14.5, ∞)            | pass               | up at the 2nd passing probe             |
/// | 20 (drain)           | –                  | drained at once, whatever probes say    |
fn passes(t: f64) -> bool {
    !((2.5..3.6).contains(&t) || (8.5..14.5).contains(&t))
}

#[tokio::test(start_paused = true)]
async fn rise_fall_and_drain_happen_at_exact_probe_instants() {
    let (_dir, served) = load(&config(&["192.0.2.10"]));
    let t0 = Instant::now();
    let probes: Arc<Mutex<Vec<(f64, bool)>>> = Arc::default();
    let log = probes.clone();
    let (state, handle, stopper) = start_scripted(served, move |_key, at| {
        let t = (at - t0).as_secs_f64();
        let ok = passes(t);
        log.lock().unwrap().push((t, ok));
        result(ok)
    })
    .await;
    let now_state = || state.load().health.row(0)[0].state;
    assert_eq!(now_state(), EndpointState::Up, "first round passed");

    // Watch the published state in 1 ms virtual steps, recording every change (so a change is
    // seen at most 1 ms after the probe that caused it).
    let mut changes: Vec<(f64, EndpointState)> = Vec::new();
    let mut last = now_state();
    while Instant::now() - t0 < Duration::from_secs(20) {
        pass(Duration::from_millis(1)).await;
        let s = now_state();
        if s != last {
            changes.push(((Instant::now() - t0).as_secs_f64(), s));
            last = s;
        }
    }
    handle
        .drain(DrainTarget::Endpoint("192.0.2.10".parse().unwrap()), true)
        .await
        .unwrap();
    assert_eq!(
        now_state(),
        EndpointState::Drained,
        "a drain is visible when the call returns"
    );
    pass(INTERVAL * 3).await;
    assert_eq!(
        now_state(),
        EndpointState::Drained,
        "probes passing do not undo a drain"
    );

    let probes = probes.lock().unwrap().clone();
    // Probes run once per interval after the first round, at a stable offset.
    let times: Vec<f64> = probes.iter().map(|p| p.0).collect();
    for w in times[1..].windows(2) {
        assert!(
            (w[1] - w[0] - 1.0).abs() < 1e-6,
            "probes 1 s apart: {times:?}"
        );
    }
    let nth = |from: f64, ok: bool, n: usize| {
        probes
            .iter()
            .filter(|p| p.0 >= from && p.1 == ok)
            .nth(n - 1)
            .map(|p| p.0)
            .unwrap()
    };
    let down_at = nth(8.5, false, 2);
    let up_at = nth(14.5, true, 2);
    assert_eq!(
        changes.len(),
        2,
        "the flap changed nothing; then down, up: {changes:?}"
    );
    assert_eq!(changes[0].1, EndpointState::Down);
    assert!(
        (changes[0].0 - down_at).abs() <= 0.0015,
        "{changes:?} vs {down_at}"
    );
    assert_eq!(changes[1].1, EndpointState::Up);
    assert!(
        (changes[1].0 - up_at).abs() <= 0.0015,
        "{changes:?} vs {up_at}"
    );
    // The arithmetic: failing from 8.5 s, down within ((fall-1)·interval, fall·interval].
    let detect = down_at - 8.5;
    assert!(detect > 1.0 && detect <= 2.0, "detected after {detect} s");
    let recover = up_at - 14.5;
    assert!(
        recover > 1.0 && recover <= 2.0,
        "recovered after {recover} s"
    );
    stopper.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_target_removed_by_a_reload_is_never_probed_again() {
    let (_dir, both) = load(&config(&["192.0.2.10", "192.0.2.11"]));
    let (_dir2, one) = load(&config(&["192.0.2.10"]));
    let probes: Arc<Mutex<Vec<(IpAddr, Instant)>>> = Arc::default();
    let log = probes.clone();
    let (state, handle, stopper) = start_scripted(both, move |key, at| {
        log.lock().unwrap().push((key.addr, at));
        result(true)
    })
    .await;
    let (kept, removed): (IpAddr, IpAddr) =
        ("192.0.2.10".parse().unwrap(), "192.0.2.11".parse().unwrap());
    let count = |addr: IpAddr, after: Instant| {
        let p = probes.lock().unwrap();
        p.iter().filter(|(a, t)| *a == addr && *t >= after).count()
    };

    // Both are probed: the first round (at start, no time having passed), then once per
    // interval.
    let t0 = Instant::now();
    pass(INTERVAL * 3).await;
    assert_eq!((count(kept, t0), count(removed, t0)), (1 + 3, 1 + 3));

    handle.reload(Arc::new(one), &state.load_full()).await;
    let reloaded = Instant::now();
    assert_eq!(
        state.load().health.row(0).len(),
        1,
        "the reload is published when the call returns"
    );
    pass(INTERVAL * 5).await;
    assert_eq!(
        count(kept, reloaded),
        5,
        "the kept target: once per interval"
    );
    assert_eq!(
        count(removed, reloaded),
        0,
        "the removed target: never again"
    );
    stopper.stop().await;
}
