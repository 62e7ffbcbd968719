//! The health publisher: the single writer of endpoint health.
//!
//! Owns: the trackers of every target, the drained set and its file, the log of transitions, and
//! building the `Health` every query reads. It takes probe results, drains and reloads from one
//! channel, applies a batch, and publishes once if anything changed.
//! Must not: probe, or be written to by anyone else.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::drain::{DrainStoreError, Drains};
use super::local::LocalLog;
use super::tracker::{Tracker, Verdict};
use super::{DrainTarget, MAX_IN_FLIGHT, Msg, Plan, TargetKey, prober};
use crate::metrics::Metrics;
use crate::snapshot::{EndpointStatus, Health, Served, Snapshot, Transition};
use crate::state::{EndpointHealth, EndpointState};

/// Transitions kept for the status page.
const TRANSITIONS_KEPT: usize = 200;

/// Why a drain was refused.
#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    /// No balanced name lists that endpoint.
    #[error("no endpoint has address {0}")]
    UnknownEndpoint(IpAddr),
    /// No such data center.
    #[error("no datacenter named {0:?}")]
    UnknownDatacenter(String),
    /// The state file could not be written; nothing changed.
    #[error(transparent)]
    Store(#[from] DrainStoreError),
    /// The health side has stopped.
    #[error("the server is stopping")]
    Stopped,
}

/// What the publisher is wired to: the cell it publishes into and the runtime it probes with.
pub(super) struct Wiring {
    /// The snapshot cell the answer path reads.
    pub state: Arc<ArcSwap<Snapshot>>,
    /// Where probe results are counted.
    pub metrics: Arc<Metrics>,
    /// Its own channel, handed to the probe tasks it starts.
    pub tx: mpsc::Sender<Msg>,
    /// Fires when the server stops.
    pub cancel: CancellationToken,
    /// Where its probe tasks are spawned.
    pub tasks: TaskTracker,
    /// Where probe results come from.
    pub source: prober::Source,
}

/// The single writer of health: trackers, drains, transitions, and the snapshot they make.
pub(super) struct Publisher {
    wiring: Wiring,
    served: Arc<Served>,
    plan: Plan,
    trackers: Vec<Tracker>,
    drains: Drains,
    epoch: u64,
    generation: u64,
    transitions: VecDeque<Transition>,
    /// What each endpoint was last published as, to log changes once.
    published: Vec<Vec<EndpointState>>,
    probers: CancellationToken,
    slots: Arc<Semaphore>,
    /// The rate-limited warnings of probes that could not run.
    local: LocalLog,
}

impl Publisher {
    /// A publisher for `served`, starting from the first round's `trackers` (in `plan`'s order)
    /// and the drained set.
    pub(super) fn new(
        wiring: Wiring,
        served: Arc<Served>,
        plan: Plan,
        trackers: Vec<Tracker>,
        drains: Drains,
    ) -> Self {
        let probers = wiring.cancel.child_token();
        Publisher {
            wiring,
            served,
            plan,
            trackers,
            drains,
            epoch: 0,
            generation: 0,
            transitions: VecDeque::new(),
            published: Vec::new(),
            probers,
            slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            local: LocalLog::default(),
        }
    }

    /// Starts probe tasks for the current plan (stopping those of the previous one).
    pub(super) fn start_probers(&mut self) {
        self.probers.cancel();
        self.probers = self.wiring.cancel.child_token();
        self.epoch += 1;
        prober::spawn(
            &self.plan.targets,
            self.epoch,
            &self.wiring.tx,
            &self.probers,
            &self.wiring.tasks,
            &self.slots,
            &self.wiring.source,
        );
    }

    /// Processes messages until the server stops.
    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        loop {
            let msg = tokio::select! {
                _ = self.wiring.cancel.cancelled() => return,
                m = rx.recv() => match m { Some(m) => m, None => return },
            };
            let mut dirty = self.apply(msg);
            // Apply whatever else is already queued, then publish once.
            while let Ok(m) = rx.try_recv() {
                dirty |= self.apply(m);
            }
            if dirty {
                self.publish();
            }
        }
    }

    fn apply(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Outcome {
                epoch,
                target,
                result,
                at,
            } => {
                if epoch != self.epoch {
                    return false;
                }
                let Some(key) = self.plan.targets.get(target) else {
                    return false;
                };
                let (rise, fall) = (key.check.rise, key.check.fall);
                let Some(t) = self.trackers.get_mut(target) else {
                    return false;
                };
                if result.is_local() {
                    self.local.note(key, &result);
                } else {
                    tracing::debug!(probe = %key.socket(), check = %key.check.name, ok = result.is_ok(), reason = %result, "probe");
                }
                self.wiring
                    .metrics
                    .probe(&key.check.name, key.socket(), &result);
                let load_before = t.load;
                let changed = t.observe(result, at, rise, fall).is_some();
                // Loads feed least-loaded answers: publish them too.
                changed || t.load != load_before
            }
            Msg::Reload {
                served,
                plan,
                mut fresh,
                done,
            } => {
                let old: HashMap<&TargetKey, &Tracker> =
                    self.plan.targets.iter().zip(&self.trackers).collect();
                let trackers = plan
                    .targets
                    .iter()
                    .map(|k| {
                        old.get(k)
                            .map(|t| (*t).clone())
                            .or_else(|| fresh.remove(k))
                            .unwrap_or_default()
                    })
                    .collect();
                self.trackers = trackers;
                self.plan = plan;
                self.served = served;
                self.published.clear();
                self.start_probers();
                self.publish();
                let _ = done.send(());
                false
            }
            Msg::Drain {
                what,
                drained,
                done,
            } => {
                let r = self.drain(what, drained);
                let ok = r.is_ok();
                if ok {
                    self.publish();
                }
                let _ = done.send(r);
                false
            }
        }
    }

    fn drain(&mut self, what: DrainTarget, drained: bool) -> Result<(), DrainError> {
        let mut next = self.drains.clone();
        match &what {
            DrainTarget::Endpoint(a) => {
                let known = self
                    .served
                    .balances
                    .iter()
                    .any(|b| b.cfg.endpoints.iter().any(|e| e.address == *a));
                if !known && !next.endpoints.contains(a) {
                    return Err(DrainError::UnknownEndpoint(*a));
                }
                if drained {
                    next.endpoints.insert(*a);
                } else {
                    next.endpoints.remove(a);
                }
            }
            DrainTarget::Datacenter(d) => {
                let known = self.served.config.datacenters.iter().any(|x| x.name == *d);
                if !known && !next.datacenters.contains(d) {
                    return Err(DrainError::UnknownDatacenter(d.clone()));
                }
                if drained {
                    next.datacenters.insert(d.clone());
                } else {
                    next.datacenters.remove(d);
                }
            }
        }
        // The state directory of the configuration in service (it may change with a reload).
        if let Some(dir) = &self.served.config.server.state_directory {
            next.store(dir)?;
        }
        match &what {
            DrainTarget::Endpoint(a) => {
                tracing::info!(endpoint = %a, drained, "drain changed by operator");
            }
            DrainTarget::Datacenter(d) => {
                tracing::info!(datacenter = %d, drained, "drain changed by operator");
            }
        }
        self.drains = next;
        Ok(())
    }

    /// Builds and stores a new health snapshot; logs each endpoint whose state changed.
    pub(super) fn publish(&mut self) {
        self.generation += 1;
        let now = SystemTime::now();
        let mut balances = Vec::with_capacity(self.served.balances.len());
        let mut status = Vec::with_capacity(self.served.balances.len());
        let first = self.published.is_empty();
        let mut published = Vec::with_capacity(self.served.balances.len());
        let mut logged: Vec<(IpAddr, EndpointState)> = Vec::new();
        let served = self.served.clone();
        for (bi, b) in served.balances.iter().enumerate() {
            let mut health_row = Vec::with_capacity(b.cfg.endpoints.len());
            let mut status_row = Vec::with_capacity(b.cfg.endpoints.len());
            let mut state_row = Vec::with_capacity(b.cfg.endpoints.len());
            for (ei, e) in b.cfg.endpoints.iter().enumerate() {
                let target = self
                    .plan
                    .map
                    .get(bi)
                    .and_then(|r| r.get(ei))
                    .copied()
                    .flatten();
                let tracker = target.and_then(|t| self.trackers.get(t));
                let dc = &b.dc_names[ei];
                let probed_up = tracker.is_none_or(|t| t.verdict != Verdict::Down);
                let state = if self.drains.is_drained(&e.address, dc) {
                    EndpointState::Drained
                } else if probed_up {
                    EndpointState::Up
                } else {
                    EndpointState::Down
                };
                let before = if first {
                    None
                } else {
                    self.published.get(bi).and_then(|r| r.get(ei)).copied()
                };
                let since = match (before, tracker) {
                    (Some(s), _) if s != state => now,
                    (_, Some(t)) if state != EndpointState::Drained => t.since,
                    _ => self
                        .wiring
                        .state
                        .load()
                        .health
                        .status
                        .get(bi)
                        .and_then(|r| r.get(ei))
                        .map_or(now, |s| s.since),
                };
                if let Some(from) = before.filter(|s| *s != state)
                    && !logged.contains(&(e.address, state))
                {
                    logged.push((e.address, state));
                    let reason = match (state, tracker.and_then(|t| t.last.as_ref())) {
                        (EndpointState::Drained, _) => "drained by operator".to_string(),
                        (_, Some(r)) if from != EndpointState::Drained => r.to_string(),
                        _ => "undrained by operator".to_string(),
                    };
                    log_transition(
                        &mut self.transitions,
                        e.address,
                        dc,
                        from,
                        state,
                        reason,
                        now,
                    );
                }
                health_row.push(EndpointHealth {
                    state,
                    load: tracker.and_then(|t| t.load),
                });
                status_row.push(EndpointStatus {
                    state,
                    since,
                    check: target.map(|t| self.plan.targets[t].check.name.clone()),
                    probe: target.map(|t| self.plan.targets[t].socket()),
                    last: tracker.and_then(|t| t.last.clone()),
                    last_at: tracker.and_then(|t| t.last_at),
                });
                state_row.push(state);
            }
            balances.push(health_row);
            status.push(status_row);
            published.push(state_row);
        }
        self.published = published;
        let health = Health {
            generation: self.generation,
            balances,
            status,
            transitions: Arc::new(self.transitions.iter().cloned().collect()),
        };
        crate::reaper::keep(self.wiring.state.swap(Arc::new(Snapshot {
            served: self.served.clone(),
            health: Arc::new(health),
        })));
    }
}

fn log_transition(
    transitions: &mut VecDeque<Transition>,
    endpoint: IpAddr,
    dc: &str,
    from: EndpointState,
    to: EndpointState,
    reason: String,
    at: SystemTime,
) {
    tracing::info!(endpoint = %endpoint, datacenter = %dc, from = %from, to = %to, reason = %reason, "endpoint state changed");
    if transitions.len() == TRANSITIONS_KEPT {
        transitions.pop_front();
    }
    transitions.push_back(Transition {
        at,
        endpoint,
        datacenter: dc.to_string(),
        from,
        to,
        reason,
    });
}
