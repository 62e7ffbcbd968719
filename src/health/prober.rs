//! Probe tasks: one per target, each probing on its check's interval, spread over the interval
//! by a stable per-target offset so a thousand endpoints of one check do not fire together.
//!
//! Owns: timing and the in-flight cap: a probe that finds no free slot before its next one is
//! due is skipped and reported as a local error (`LocalError::NoSlot`), the prober's overload,
//! not the endpoint's failure. Must not: interpret results (the publisher's tracker does).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::probe::{Probe, http_client, load_ca};
use super::{Msg, TargetKey};
use crate::config::Check;
use crate::policy::{addr_bytes, stable_hash};
use crate::state::{LocalError, ProbeFailure, ProbeResult};

/// What the targets of one check share: its HTTP client and CA, or why they cannot be built.
#[derive(Default)]
struct Shared {
    client: Option<reqwest::Client>,
    ca: Option<reqwest::Certificate>,
    /// The failure every probe of the check reports when it cannot be set up.
    error: Option<ProbeFailure>,
}

/// HTTP clients and CA certificates shared by the targets of one check.
pub(super) struct Clients {
    by_check: HashMap<Arc<Check>, Shared>,
}

impl Clients {
    /// Builds what the checks of `keys` share.
    pub(super) fn for_targets(keys: &[TargetKey]) -> Clients {
        let mut by_check = HashMap::new();
        for k in keys {
            by_check.entry(k.check.clone()).or_insert_with(|| {
                let mut s = Shared::default();
                if k.check.kind.http().is_none() {
                    return s;
                }
                let ca_file = k.check.kind.tls().and_then(|t| t.ca_file.as_deref());
                match ca_file.map(load_ca) {
                    Some(Err(e)) => s.error = Some(ProbeFailure::from(&e)),
                    Some(Ok(c)) => s.ca = Some(c),
                    None => {}
                }
                if s.error.is_none() {
                    match http_client(&k.check, s.ca.as_ref(), None) {
                        Ok(c) => s.client = Some(c),
                        Err(e) => s.error = Some(ProbeFailure::from(&e)),
                    }
                }
                s
            });
        }
        Clients { by_check }
    }

    /// The probe of one target, or the failure its every run reports.
    pub(super) fn probe(&self, key: &TargetKey) -> Result<Probe, ProbeFailure> {
        let s = self
            .by_check
            .get(&key.check)
            .ok_or_else(|| ProbeFailure::Other("no client for check".into()))?;
        if let Some(e) = &s.error {
            return Err(e.clone());
        }
        Probe::new(&key.check, key.addr, s.client.as_ref(), s.ca.as_ref())
            .map_err(|e| ProbeFailure::from(&e))
    }
}

/// A script of probe results: the result of probing a target at an instant.
pub(super) type Script = Arc<dyn Fn(&TargetKey, Instant) -> ProbeResult + Send + Sync>;

/// Where probe results come from.
#[derive(Clone, Default)]
pub enum Source {
    /// The network: HTTP, HTTPS and TCP probes of the real endpoints.
    #[default]
    Network,
    /// A script: the result of probing a target at a (tokio) instant. For simulations and for
    /// testing the timing of rise, fall and drains under paused time.
    Scripted(Script),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::Network => "Network",
            Source::Scripted(_) => "Scripted",
        })
    }
}

/// How one target is probed.
pub(super) enum Runner {
    /// A network probe, or why it cannot be built (every run then fails with that).
    Network(Result<Probe, ProbeFailure>),
    /// A scripted result.
    Scripted(TargetKey, Script),
}

impl Runner {
    /// The runners of `keys`, sharing HTTP clients per check.
    pub(super) fn for_targets(keys: &[TargetKey], source: &Source) -> Vec<Runner> {
        match source {
            Source::Network => {
                let clients = Clients::for_targets(keys);
                keys.iter()
                    .map(|k| Runner::Network(clients.probe(k)))
                    .collect()
            }
            Source::Scripted(f) => keys
                .iter()
                .map(|k| Runner::Scripted(k.clone(), f.clone()))
                .collect(),
        }
    }

    /// Probes once.
    pub(super) async fn run(&self) -> ProbeResult {
        match self {
            Runner::Network(Ok(p)) => p.run().await,
            Runner::Network(Err(e)) => ProbeResult {
                outcome: Err(e.clone()),
                latency: 0.0,
            },
            Runner::Scripted(k, f) => f(k, Instant::now()),
        }
    }
}

/// Where in its interval a target's probes fall: stable per target.
fn offset(key: &TargetKey, interval: Duration) -> Duration {
    let (b, l) = addr_bytes(&key.addr);
    let h = stable_hash(&[
        &b[..l],
        key.check.name.as_bytes(),
        &key.check.port.to_be_bytes(),
    ]);
    let frac = (h >> 11) as f64 / (1u64 << 53) as f64;
    interval.mul_f64(frac)
}

/// Spawns the probe tasks of `keys` for `epoch`; they stop when `cancel` fires.
pub(super) fn spawn(
    keys: &[TargetKey],
    epoch: u64,
    tx: &mpsc::Sender<Msg>,
    cancel: &CancellationToken,
    tasks: &tokio_util::task::TaskTracker,
    slots: &Arc<Semaphore>,
    source: &Source,
) {
    let runners = Runner::for_targets(keys, source);
    for ((target, key), probe) in keys.iter().enumerate().zip(runners) {
        let interval = key.check.interval;
        let first = Instant::now() + offset(key, interval);
        let (tx, cancel, slots) = (tx.clone(), cancel.clone(), slots.clone());
        tasks.spawn(async move {
            let mut next = first;
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep_until(next) => {}
                }
                // Wait for a slot until the next probe is due, no longer.
                let asked = Instant::now();
                let slot = tokio::select! {
                    _ = cancel.cancelled() => return,
                    s = tokio::time::timeout_at(next + interval, slots.acquire()) => s,
                };
                let result = match slot {
                    Ok(Ok(_slot)) => tokio::select! {
                        _ = cancel.cancelled() => return,
                        r = probe.run() => r,
                    },
                    // No slot in time (or the semaphore closed): the prober is overloaded.
                    Ok(Err(_)) | Err(_) => ProbeResult {
                        outcome: Err(LocalError::NoSlot {
                            waited: asked.elapsed(),
                        }
                        .into()),
                        latency: 0.0,
                    },
                };
                let msg = Msg::Outcome {
                    epoch,
                    target,
                    result,
                    at: SystemTime::now(),
                };
                if tx.send(msg).await.is_err() {
                    return;
                }
                next += interval;
                let now = Instant::now();
                if next <= now {
                    // Fell behind (a slow probe, a busy machine): skip, don't burst.
                    next = now + interval;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CheckKind;
    use crate::state::ProbePass;

    /// With every in-flight slot taken, a due probe waits until the next one is due, then is
    /// reported as a local error (no slot) instead of running late or failing the endpoint.
    #[tokio::test(start_paused = true)]
    async fn a_probe_without_a_slot_is_a_local_error() {
        let check = Arc::new(Check {
            name: "web".into(),
            port: 80,
            address: None,
            interval: Duration::from_secs(1),
            timeout: Duration::from_millis(500),
            rise: 2,
            fall: 2,
            kind: CheckKind::Tcp,
        });
        let key = TargetKey {
            check,
            addr: "192.0.2.1".parse().unwrap(),
        };
        let script: Script = Arc::new(|_, _| ProbeResult {
            outcome: Ok(ProbePass::Connected),
            latency: 0.0,
        });
        let (tx, mut rx) = mpsc::channel(16);
        let (cancel, tasks) = (
            CancellationToken::new(),
            tokio_util::task::TaskTracker::new(),
        );
        let slots = Arc::new(Semaphore::new(1));
        let held = slots.clone().try_acquire_owned().unwrap();
        spawn(
            std::slice::from_ref(&key),
            1,
            &tx,
            &cancel,
            &tasks,
            &slots,
            &Source::Scripted(script),
        );
        let Some(Msg::Outcome { result, .. }) = rx.recv().await else {
            panic!("no outcome");
        };
        assert!(result.is_local(), "{result}");
        // It waited one interval: from when it was due until the next one was.
        assert_eq!(
            result.outcome,
            Err(LocalError::NoSlot {
                waited: Duration::from_secs(1)
            }
            .into())
        );
        // A slot free again: the next probe runs.
        drop(held);
        let Some(Msg::Outcome { result, .. }) = rx.recv().await else {
            panic!("no outcome");
        };
        assert!(result.is_ok(), "{result}");
        cancel.cancel();
    }
}
