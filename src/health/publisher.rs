//! The health publisher: the single writer of endpoint health.
//!
//! Owns: the trackers of every target, the drained set and its file, the log of transitions, and
//! building the `Health` every query reads. It takes probe results, drains and reloads from one
//! channel, applies a batch, and publishes once if anything changed. A publication costs what
//! changed: a probe result that moves nothing publishes nothing; a target's change rewrites the
//! endpoints that read it (`Plan::users`) in a copy of the chunks holding them, and is logged
//! once, with how many endpoints and names it moved. Drains and reloads rebuild the table.
//! Must not: probe, or be written to by anyone else.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::datacenter::SharedFate;
use super::drain::{DrainStoreError, Drains};
use super::local::LocalLog;
use super::tracker::{Tracker, Verdict};
use super::votes::{Votes, own_vote};
use super::{DrainTarget, MAX_IN_FLIGHT, Msg, TargetKey, prober};
use crate::metrics::Metrics;
use crate::plan::Plan;
use crate::snapshot::{
    Change, DatacenterHealth, Health, LastResults, Served, Snapshot, Transition,
};
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
    /// etcd could not take the write (`[cluster]`); nothing changed anywhere.
    #[error(transparent)]
    Cluster(#[from] crate::cluster::StoreError),
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

/// How far a reported load must move from the value last published before least-loaded answers
/// see it: 5 % of that value (at least 0.01), so a load drifting in small steps is republished
/// once the steps add up, and a load that jitters is not republished on every probe.
pub(super) const LOAD_CHANGE: f64 = 0.05;

/// Whether a load moved enough from `shown` to be republished.
fn material(shown: Option<f64>, now: Option<f64>) -> bool {
    match (shown, now) {
        (Some(a), Some(b)) => {
            (a - b).abs() > (a.abs() * LOAD_CHANGE).max(0.01) || a.is_nan() != b.is_nan()
        }
        (None, None) => false,
        _ => true,
    }
}

/// What a target was last published as.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Shown {
    /// Up (or not yet known, read as up) or down.
    state: EndpointState,
    /// The load its endpoints carry.
    load: Option<f64>,
}

/// The single writer of health: trackers, drains, transitions, and the snapshot they make.
pub(super) struct Publisher {
    wiring: Wiring,
    served: Arc<Served>,
    plan: Arc<Plan>,
    trackers: Vec<Tracker>,
    drains: Drains,
    epoch: u64,
    generation: u64,
    transitions: VecDeque<Transition>,
    /// Per target: what was last published of it.
    shown: Vec<Shown>,
    /// Targets whose verdict or load changed since the last publication (each once).
    dirty: Vec<u32>,
    /// `dirty` as flags, per target.
    is_dirty: Vec<bool>,
    /// The whole table must be rebuilt (a reload, a drain).
    rebuild: bool,
    /// Balanced names failing open as last published (normally none), to log each change once.
    failing: HashSet<String>,
    /// The drain the next rebuild applies, logged with what it moved.
    pending_drain: Option<(DrainTarget, bool)>,
    /// Every target's last result, shared with the snapshots of this plan.
    last: Arc<LastResults>,
    probers: CancellationToken,
    slots: Arc<Semaphore>,
    /// The rate-limited warnings of probes that could not run.
    local: LocalLog,
    /// The `min_up` rules of the current plan.
    fate: SharedFate,
    /// Each data center's standing as last published.
    dc_health: Vec<DatacenterHealth>,
    /// Data centers below `min_up` as last published, to log each change once.
    dc_down: HashSet<String>,
    /// With `[cluster]`: the other instances' votes; the state of a probed endpoint is the vote.
    votes: Option<Votes>,
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
        votes: Option<Votes>,
    ) -> Self {
        let probers = wiring.cancel.child_token();
        let mut p = Publisher {
            wiring,
            served,
            plan: Arc::default(),
            trackers,
            drains,
            epoch: 0,
            generation: 0,
            transitions: VecDeque::new(),
            shown: Vec::new(),
            dirty: Vec::new(),
            is_dirty: Vec::new(),
            rebuild: true,
            pending_drain: None,
            failing: HashSet::new(),
            last: Arc::default(),
            probers,
            slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            local: LocalLog::default(),
            fate: SharedFate::default(),
            dc_health: Vec::new(),
            dc_down: HashSet::new(),
            votes,
        };
        p.set_plan(plan);
        p
    }

    /// Takes `plan` (with `self.trackers` already in its order): fresh per-target bookkeeping,
    /// and a rebuild at the next publication.
    fn set_plan(&mut self, plan: Plan) {
        let n = plan.targets.len();
        self.last = Arc::new(LastResults::new(n));
        for (t, tracker) in self.trackers.iter().enumerate() {
            if let (Some(r), Some(at)) = (&tracker.last, tracker.last_at) {
                self.last.set(t, r, at);
            }
        }
        if let Some(v) = &mut self.votes {
            v.for_plan(&plan, &self.served, &self.trackers);
        }
        self.fate = SharedFate::new(&self.served.config, &self.served.balances, &plan);
        self.plan = Arc::new(plan);
        self.shown = (0..n)
            .map(|t| Shown {
                state: self.target_state(t),
                load: self.trackers[t].load,
            })
            .collect();
        self.dirty.clear();
        self.is_dirty = vec![false; n];
        self.rebuild = true;
    }

    /// The state target `t` puts its endpoints in: its tracker's verdict, or with `[cluster]`
    /// the vote over it and the other instances' verdicts.
    fn target_state(&self, t: usize) -> EndpointState {
        let tracker = self.trackers.get(t);
        match &self.votes {
            Some(v) => v.target_state(t, own_vote(tracker)),
            None => tracker.map_or(EndpointState::Up, verdict_state),
        }
    }

    /// Marks the targets of `touched` dirty; whether there were any.
    fn mark_all(&mut self, touched: Vec<u32>) -> bool {
        let any = !touched.is_empty();
        for t in touched {
            self.mark(t as usize);
        }
        any
    }

    fn mark(&mut self, target: usize) {
        if let Some(d) = self.is_dirty.get_mut(target)
            && !*d
        {
            *d = true;
            self.dirty.push(target as u32);
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
                self.last.set(target, &result, at);
                let changed = t.observe(result, at, rise, fall);
                if let (Some(_), Some(v)) = (changed, &self.votes) {
                    v.own_changed(target, t);
                    let tally = v.target(target, own_vote(Some(t)));
                    tracing::info!(probe = %key.socket(), check = %key.check.name, verdict = %verdict_state(t), votes = %tally.map(|x| x.to_string()).unwrap_or_default(), "this instance's verdict changed");
                }
                let load = t.load;
                let now = Shown {
                    state: self.target_state(target),
                    load,
                };
                let shown = self.shown.get(target).copied().unwrap_or(now);
                // Loads feed least-loaded answers only, and only a material move is published.
                let load_moved = self.plan.load_matters.get(target) == Some(&true)
                    && material(shown.load, now.load);
                if now.state != shown.state || load_moved {
                    self.mark(target);
                    true
                } else {
                    false
                }
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
                self.served = served;
                self.set_plan(plan);
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
                if r.is_ok() {
                    self.rebuild = true;
                    self.publish();
                }
                let _ = done.send(r);
                false
            }
            Msg::CheckDrain { what, done } => {
                let _ = done.send(self.known(&what, &self.drains));
                false
            }
            Msg::ClusterDrains {
                drains,
                revision,
                what,
                done,
            } => {
                // The watch may have brought this very write first, in the batch being
                // applied: its rebuild is then pending, and the call must not return before
                // the publication that answers accordingly.
                if self.cluster_drains(drains, revision) || self.rebuild {
                    self.pending_drain = Some(what);
                    self.publish();
                }
                let _ = done.send(());
                false
            }
            Msg::Cluster(crate::cluster::Event::Drains { drains, revision }) => {
                self.cluster_drains(drains, revision)
            }
            Msg::Cluster(crate::cluster::Event::Votes(changes)) => {
                let touched = match &mut self.votes {
                    Some(v) => v.apply(changes),
                    None => Vec::new(),
                };
                self.mark_all(touched)
            }
            Msg::Cluster(crate::cluster::Event::AllVotes(all)) => {
                let touched = match &mut self.votes {
                    Some(v) => v.replace(all),
                    None => Vec::new(),
                };
                self.mark_all(touched)
            }
        }
    }

    /// Takes the cluster-wide drained set of etcd revision `revision` (an older one than the
    /// last taken is ignored); the state directory keeps it as the cache a start without etcd
    /// reads. Whether it changed anything.
    fn cluster_drains(&mut self, drains: Drains, revision: i64) -> bool {
        if let Some(v) = &mut self.votes {
            if revision < v.drains_revision {
                return false;
            }
            v.drains_revision = revision;
        }
        if drains == self.drains {
            return false;
        }
        if let Some(dir) = &self.served.config.server.state_directory
            && let Err(e) = drains.store(dir)
        {
            tracing::warn!(error = %e, "the cluster's drained set could not be cached in the state directory");
        }
        tracing::info!(
            endpoints = %drains.endpoints_text(),
            datacenters = %drains.datacenters_text(),
            revision,
            "drained set changed in the cluster"
        );
        self.drains = drains;
        self.rebuild = true;
        true
    }

    /// Whether `what` names an endpoint or a data center of the configuration (or one drained
    /// in `drains`, so a drain of something removed since can still be undone).
    fn known(&self, what: &DrainTarget, drains: &Drains) -> Result<(), DrainError> {
        match what {
            DrainTarget::Endpoint(a) => {
                // The unspecified address is no endpoint's: it only stands in for the address
                // of a CNAME endpoint nothing probes, which is drained by its data center.
                let known = !a.is_unspecified()
                    && self
                        .served
                        .balances
                        .iter()
                        .any(|b| b.cfg.endpoints.iter().any(|e| e.address == *a));
                if known || drains.endpoints.contains(a) {
                    Ok(())
                } else {
                    Err(DrainError::UnknownEndpoint(*a))
                }
            }
            DrainTarget::Datacenter(d) => {
                let known = self.served.config.datacenters.iter().any(|x| x.name == *d);
                if known || drains.datacenters.contains(d) {
                    Ok(())
                } else {
                    Err(DrainError::UnknownDatacenter(d.clone()))
                }
            }
        }
    }

    fn drain(&mut self, what: DrainTarget, drained: bool) -> Result<(), DrainError> {
        self.known(&what, &self.drains)?;
        let next = self.drains.with(&what, drained);
        // The state directory of the configuration in service (it may change with a reload).
        if let Some(dir) = &self.served.config.server.state_directory {
            next.store(dir)?;
        }
        self.pending_drain = Some((what, drained));
        self.drains = next;
        Ok(())
    }

    /// Publishes what changed since the last publication: the whole table after a reload or a
    /// drain, else the endpoints of the dirty targets.
    pub(super) fn publish(&mut self) {
        self.generation += 1;
        let now = SystemTime::now();
        let current = self.wiring.state.load().health.clone();
        self.judge_datacenters();
        let (mut health, names) = if self.rebuild || !Arc::ptr_eq(&current.plan, &self.plan) {
            let h = self.rebuilt(&current, now);
            let served = self.served.clone();
            let names: HashSet<&str> = served
                .balances
                .iter()
                .map(|b| b.cfg.name.as_str())
                .collect();
            self.failing.retain(|n| names.contains(n.as_str()));
            self.note_failing_open(&h, 0..self.served.balances.len());
            (h, self.served.balances.len())
        } else {
            let mut changes = self.target_changes(&current, now);
            let transitions = Arc::new(self.transitions.iter().cloned().collect());
            let h = current.updated(self.generation, &mut changes, transitions);
            // Sorted by name now: the distinct names.
            let touched: Vec<usize> = changes
                .iter()
                .enumerate()
                .filter(|(i, c)| *i == 0 || changes[i - 1].name != c.name)
                .map(|(_, c)| c.name as usize)
                .collect();
            self.note_failing_open(&h, touched.iter().copied());
            (h, touched.len())
        };
        health.datacenters = Arc::new(self.dc_health.clone());
        self.rebuild = false;
        for t in self.dirty.drain(..) {
            if let Some(d) = self.is_dirty.get_mut(t as usize) {
                *d = false;
            }
        }
        self.wiring.metrics.health_published(names);
        // The replaced snapshot is freed by the reaper, never by a worker that held it last.
        let old = self.wiring.state.swap(Arc::new(Snapshot {
            served: self.served.clone(),
            health: Arc::new(health),
        }));
        // Hand pages back only when a replaced configuration (and its zones) may go with it.
        let trim = !Arc::ptr_eq(&old.served, &self.served);
        crate::reaper::keep(old, trim);
    }

    /// Logs each of `names` that starts or stops failing open in `health` (policy::failing_open,
    /// the one rule the metric and the status page read too).
    fn note_failing_open(&mut self, health: &Health, names: impl Iterator<Item = usize>) {
        for bi in names {
            let Some(b) = self.served.balances.get(bi) else {
                continue;
            };
            let open = crate::policy::failing_open(b, health.row(bi));
            if open && !self.failing.contains(b.cfg.name.as_str()) {
                self.failing.insert(b.cfg.name.clone());
                tracing::warn!(name = %b.cfg.name, when_all_down = %b.cfg.when_all_down, "failing open: no endpoint of an address family is up; answering them all");
            } else if !open && self.failing.remove(b.cfg.name.as_str()) {
                tracing::info!(name = %b.cfg.name, "no longer failing open");
            }
        }
    }

    /// Judges every data center's `min_up` against the trackers and drains; a data center
    /// that changes standing is logged once and makes the next publication rebuild the table
    /// (its endpoints change in every name).
    fn judge_datacenters(&mut self) {
        let next = self.fate.judge(
            |t| {
                self.trackers
                    .get(t)
                    .is_some_and(|tr| verdict_state(tr) == EndpointState::Up)
            },
            |a, dc| self.drains.is_drained(a, dc),
        );
        for (d, h) in next.iter().enumerate() {
            let Some((name, min_up)) = self.fate.rule(d) else {
                continue;
            };
            let was_down = self.dc_down.contains(name);
            if !h.up && !was_down {
                self.dc_down.insert(name.to_string());
                tracing::warn!(datacenter = %name, targets_up = h.targets_up, targets = h.targets, min_up = %min_up, "datacenter below min_up: every endpoint of it counts as down");
            } else if h.up && was_down {
                self.dc_down.remove(name);
                tracing::info!(datacenter = %name, targets_up = h.targets_up, targets = h.targets, min_up = %min_up, "datacenter back at min_up");
            }
        }
        let names: HashSet<&str> = self
            .served
            .config
            .datacenters
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        self.dc_down.retain(|n| names.contains(n.as_str()));
        let flipped = next.len() != self.dc_health.len()
            || next.iter().zip(&self.dc_health).any(|(a, b)| a.up != b.up);
        if flipped {
            self.rebuild = true;
        }
        self.dc_health = next;
    }

    /// The state endpoint `ei` of name `bi` is in now, with the load it carries: drained by the
    /// operator, else down with its data center below `min_up` (shared fate), else what its
    /// target's tracker says. The one place an endpoint's effective state is decided.
    fn cell(&self, bi: usize, ei: usize) -> EndpointHealth {
        let b = &self.served.balances[bi];
        let e = &b.cfg.endpoints[ei];
        let tracker = self
            .plan
            .target_of(bi, ei)
            .and_then(|t| self.trackers.get(t));
        let state = if self.drains.is_drained(&e.address, &b.dc_names[ei]) {
            EndpointState::Drained
        } else if self.dc_health.get(e.datacenter).is_some_and(|d| !d.up) {
            EndpointState::Down
        } else if let Some(v) = &self.votes {
            v.endpoint(bi, ei, own_vote(tracker))
                .map_or(EndpointState::Up, |t| t.state())
        } else {
            tracker.map_or(EndpointState::Up, verdict_state)
        };
        EndpointHealth {
            state,
            load: tracker.and_then(|t| t.load),
        }
    }

    /// The endpoints of the dirty targets whose health changed; logs each target's change once.
    fn target_changes(&mut self, current: &Health, now: SystemTime) -> Vec<Change> {
        let mut changes = Vec::new();
        let dirty = std::mem::take(&mut self.dirty);
        for &t in &dirty {
            let t = t as usize;
            let Some(tracker) = self.trackers.get(t) else {
                continue;
            };
            let to = Shown {
                state: self.target_state(t),
                load: tracker.load,
            };
            let (mut endpoints, mut names, mut last_name) = (0, 0, None);
            for &(bi, ei) in self.plan.users.get(t).map_or(&[][..], |u| &u[..]) {
                let h = self.cell(bi as usize, ei as usize);
                let Some((old, since)) = current.cell(bi as usize, ei as usize) else {
                    continue;
                };
                if old == h {
                    continue;
                }
                let moved = old.state != h.state;
                if moved {
                    endpoints += 1;
                    if last_name != Some(bi) {
                        names += 1;
                        last_name = Some(bi);
                    }
                }
                changes.push(Change {
                    name: bi,
                    endpoint: ei,
                    health: h,
                    since: if moved { now } else { since },
                });
            }
            let from = self.shown[t];
            if from.state != to.state {
                self.log_target(t, from.state, to.state, endpoints, names, now);
            }
            self.shown[t] = to;
        }
        self.dirty = dirty;
        changes
    }

    /// Logs and records target `t`'s change of state.
    fn log_target(
        &mut self,
        t: usize,
        from: EndpointState,
        to: EndpointState,
        endpoints: usize,
        names: usize,
        at: SystemTime,
    ) {
        let key = &self.plan.targets[t];
        let mut reason = self.trackers[t]
            .last
            .as_ref()
            .map_or_else(String::new, ToString::to_string);
        if let Some(tally) = self
            .votes
            .as_ref()
            .and_then(|v| v.target(t, own_vote(self.trackers.get(t))))
        {
            reason = format!("{reason}; votes: {tally}");
        }
        let datacenter = self.plan.users[t]
            .first()
            .map(|&(bi, ei)| self.served.balances[bi as usize].dc_names[ei as usize].to_string());
        tracing::info!(
            endpoint = %key.addr,
            probe = %key.socket(),
            check = %key.check.name,
            datacenter = %datacenter.as_deref().unwrap_or(""),
            from = %from,
            to = %to,
            reason = %reason,
            endpoints,
            names,
            "endpoint state changed"
        );
        self.record(Transition {
            at,
            endpoint: Some(key.addr),
            datacenter,
            check: Some(key.check.name.clone()),
            from,
            to,
            reason,
            endpoints,
            names,
        });
    }

    fn record(&mut self, t: Transition) {
        if self.transitions.len() == TRANSITIONS_KEPT {
            self.transitions.pop_front();
        }
        self.transitions.push_back(t);
    }

    /// The whole table anew (a reload, a drain): each endpoint keeps its `since` when its state
    /// is what it was at the same place of the current table.
    fn rebuilt(&mut self, current: &Health, now: SystemTime) -> Health {
        let same_plan = Arc::ptr_eq(&current.plan, &self.plan);
        let mut moved = 0;
        let mut moved_names = 0;
        let mut first_moved: Option<(EndpointState, EndpointState)> = None;
        let mut last_name = None;
        let served = self.served.clone();
        let mut health = Health::build(self.plan.clone(), self.last.clone(), &served, |bi, ei| {
            let h = self.cell(bi, ei);
            let tracker = self
                .plan
                .target_of(bi, ei)
                .and_then(|t| self.trackers.get(t));
            let before = current
                .cell(bi, ei)
                .filter(|_| same_plan || current.plan.targets.is_empty());
            let since = match before {
                Some((old, since)) if old.state == h.state => since,
                Some((old, _)) => {
                    moved += 1;
                    if last_name != Some(bi) {
                        moved_names += 1;
                        last_name = Some(bi);
                    }
                    first_moved.get_or_insert((old.state, h.state));
                    now
                }
                None => match tracker {
                    Some(t) if h.state != EndpointState::Drained => t.since,
                    _ => now,
                },
            };
            (h, since)
        });
        for t in 0..self.trackers.len() {
            let now = Shown {
                state: self.target_state(t),
                load: self.trackers[t].load,
            };
            if let Some(s) = self.shown.get_mut(t) {
                *s = now;
            }
        }
        if let Some((what, drained)) = self.pending_drain.take() {
            let (endpoint, datacenter) = match &what {
                DrainTarget::Endpoint(a) => (Some(*a), None),
                DrainTarget::Datacenter(d) => (None, Some(d.clone())),
            };
            match &what {
                DrainTarget::Endpoint(a) => tracing::info!(
                    endpoint = %a,
                    drained,
                    endpoints = moved,
                    names = moved_names,
                    "drain changed by operator"
                ),
                DrainTarget::Datacenter(d) => tracing::info!(
                    datacenter = %d,
                    drained,
                    endpoints = moved,
                    names = moved_names,
                    "drain changed by operator"
                ),
            }
            let reason = if drained {
                "drained by operator"
            } else {
                "undrained by operator"
            };
            if let Some((from, to)) = first_moved {
                self.record(Transition {
                    at: now,
                    endpoint,
                    datacenter,
                    check: None,
                    from,
                    to,
                    reason: reason.into(),
                    endpoints: moved,
                    names: moved_names,
                });
            }
        }
        health.generation = self.generation;
        health.transitions = Arc::new(self.transitions.iter().cloned().collect());
        health
    }
}

/// The state a tracker's verdict puts its endpoints in (not yet known reads as up).
fn verdict_state(t: &Tracker) -> EndpointState {
    if t.verdict == Verdict::Down {
        EndpointState::Down
    } else {
        EndpointState::Up
    }
}

#[cfg(test)]
mod tests {
    use super::material;

    #[test]
    fn only_a_material_load_change_is_republished() {
        assert!(!material(None, None));
        assert!(material(None, Some(3.0)), "a first load is news");
        assert!(material(Some(3.0), None));
        assert!(!material(Some(100.0), Some(104.0)), "4 % of 100");
        assert!(material(Some(100.0), Some(106.0)), "6 % of 100");
        assert!(!material(Some(0.0), Some(0.01)), "the floor: 0.01");
        assert!(material(Some(0.0), Some(0.02)));
    }
}
