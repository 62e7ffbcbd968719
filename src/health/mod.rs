//! Health: probers measure, the tracker decides, one publisher writes the snapshot.
//!
//! ```text
//! probe tasks (one per distinct check × address) ──ProbeResult──▶ channel ◀── drain / reload
//!                                                                    │
//!                      publisher: the ONE writer of health; rise/fall per target, drains
//!                                                                    │ ArcSwap::store(Snapshot)
//!                                                                 answer path
//! ```
//! Owns: the probe plan (which targets exist, which endpoints each serves), the startup round,
//! and the handle others use to drain, undrain and reload. Must not: let a query wait on a probe.

mod datacenter;
pub use crate::drain;
mod local;
pub mod probe;
mod prober;
mod publisher;
pub mod tracker;
mod votes;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::metrics::Metrics;
pub use crate::plan::{Plan, TargetKey};
use crate::snapshot::{Served, Snapshot};
use drain::Drains;
pub use prober::Source;
pub use publisher::DrainError;
use tracker::Tracker;

/// Why the health side could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The drained set in the state directory cannot be read.
    #[error(transparent)]
    Drains(#[from] drain::DrainStoreError),
}

/// Most probes in flight at once, over all targets.
pub const MAX_IN_FLIGHT: usize = 1024;

/// Messages to the publisher.
enum Msg {
    /// A probe task's result for `target` of the plan of `epoch` (stale epochs are dropped).
    Outcome {
        epoch: u64,
        target: usize,
        result: tracker::ProbeResult,
        at: std::time::SystemTime,
    },
    /// A new configuration, its plan and the first-round trackers of its new targets.
    Reload {
        served: Arc<Served>,
        plan: Plan,
        fresh: HashMap<TargetKey, Tracker>,
        done: oneshot::Sender<()>,
    },
    /// An operator's drain or undrain.
    Drain {
        what: DrainTarget,
        drained: bool,
        done: oneshot::Sender<Result<(), DrainError>>,
    },
    /// Whether a drain names something known (`[cluster]`: asked before etcd is written).
    CheckDrain {
        what: DrainTarget,
        done: oneshot::Sender<Result<(), DrainError>>,
    },
    /// A drain written to etcd by this instance: its resulting set and revision.
    ClusterDrains {
        drains: Drains,
        revision: i64,
        what: (DrainTarget, bool),
        done: oneshot::Sender<()>,
    },
    /// Other instances' votes, or the cluster's drained set, from the store task.
    Cluster(crate::cluster::Event),
}

pub use crate::drain::DrainTarget;

/// The way into the health side for the server and the admin API.
#[derive(Clone, Debug)]
pub struct HealthHandle {
    tx: mpsc::Sender<Msg>,
    metrics: Arc<Metrics>,
    source: Source,
    /// With `[cluster]`: drains go through etcd.
    cluster: Option<crate::cluster::Handle>,
}

/// Probes every target in `keys` once, concurrently, and returns the trackers it leaves: the
/// startup round, bounded by the longest timeout while there are fewer than MAX_IN_FLIGHT. A
/// target whose probe could not run (a local error) is left unknown, read as up, for its next
/// probe to decide; the round warns of such errors once per check.
async fn first_round(keys: &[TargetKey], metrics: &Metrics, source: &Source) -> Vec<Tracker> {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let mut set = tokio::task::JoinSet::new();
    for (i, probe) in prober::Runner::for_targets(keys, source)
        .into_iter()
        .enumerate()
    {
        let slots = slots.clone();
        set.spawn(async move {
            let _slot = slots.acquire_owned().await;
            (i, probe.run().await)
        });
    }
    let mut trackers = vec![Tracker::default(); keys.len()];
    let mut local = local::LocalLog::default();
    while let Some(joined) = set.join_next().await {
        // A probe task that panicked reports nothing: its target stays unknown (read as up).
        let Ok((i, r)) = joined else { continue };
        let key = &keys[i];
        metrics.probe(&key.check.name, key.socket(), &r);
        if r.is_local() {
            local.note(key, &r);
        } else if let Err(reason) = &r.outcome {
            tracing::warn!(probe = %key.socket(), check = %key.check.name, reason = %reason, "endpoint starts down");
        }
        trackers[i].observe(
            r,
            std::time::SystemTime::now(),
            key.check.rise,
            key.check.fall,
        );
    }
    trackers
}

/// Starts the health side for `served`: runs the first round of checks, publishes the first
/// snapshot, then keeps probing. Returns the snapshot cell the answer path reads.
pub async fn start(
    served: Arc<Served>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
    tasks: &TaskTracker,
) -> Result<(Arc<ArcSwap<Snapshot>>, HealthHandle), StartError> {
    start_with(served, metrics, cancel, tasks, Source::Network).await
}

/// `start`, with probe results from `source`.
pub async fn start_with(
    served: Arc<Served>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
    tasks: &TaskTracker,
    source: Source,
) -> Result<(Arc<ArcSwap<Snapshot>>, HealthHandle), StartError> {
    start_clustered(served, metrics, cancel, tasks, source, None, None).await
}

/// The drained set in the state directory of `served` (empty without one).
pub fn cached_drains(served: &Served) -> Result<Drains, StartError> {
    Ok(match &served.config.server.state_directory {
        Some(d) => Drains::load(d)?,
        None => Drains::default(),
    })
}

/// `start_with`, as one instance of an NS set when `link` is given: endpoint states are the
/// vote, the drained set comes from etcd (the state directory's set is the cache a start
/// without etcd uses); with `handle`, drains are written to etcd first.
pub async fn start_clustered(
    served: Arc<Served>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
    tasks: &TaskTracker,
    source: Source,
    link: Option<crate::cluster::Link>,
    handle: Option<crate::cluster::Handle>,
) -> Result<(Arc<ArcSwap<Snapshot>>, HealthHandle), StartError> {
    let mut drains = cached_drains(&served)?;
    let mut drains_revision = 0;
    if let Some((shared, revision)) = link.as_ref().and_then(|l| l.initial_drains.clone()) {
        if shared != drains
            && let Some(dir) = &served.config.server.state_directory
            && let Err(e) = shared.store(dir)
        {
            tracing::warn!(error = %e, "the cluster's drained set could not be cached in the state directory");
        }
        drains = shared;
        drains_revision = revision;
    } else if !drains.endpoints.is_empty() || !drains.datacenters.is_empty() {
        tracing::info!(
            endpoints = %drains.endpoints_text(),
            datacenters = %drains.datacenters_text(),
            file = %served.config.server.state_directory.as_deref().map(|d| d.join(drain::FILE).display().to_string()).unwrap_or_default(),
            "drains restored from the state directory"
        );
    }
    let plan = Plan::of(&served.config.checks, &served.balances);
    let trackers = first_round(&plan.targets, &metrics, &source).await;
    let state = Arc::new(ArcSwap::from_pointee(Snapshot::new(served.clone())));
    let (tx, rx) = mpsc::channel(4096);
    let wiring = publisher::Wiring {
        state: state.clone(),
        metrics: metrics.clone(),
        tx: tx.clone(),
        cancel,
        tasks: tasks.clone(),
        source: source.clone(),
    };
    let votes = link.map(|l| {
        let forward = tx.clone();
        let mut events = l.events;
        let stop = wiring.cancel.clone();
        tasks.spawn(async move {
            loop {
                let ev = tokio::select! {
                    _ = stop.cancelled() => return,
                    ev = events.recv() => match ev { Some(ev) => ev, None => return },
                };
                if forward.send(Msg::Cluster(ev)).await.is_err() {
                    return;
                }
            }
        });
        votes::Votes::new(l.rule, l.own, l.initial_votes, drains_revision)
    });
    let mut p = publisher::Publisher::new(wiring, served, plan, trackers, drains, votes);
    p.publish();
    p.start_probers();
    tasks.spawn(p.run(rx));
    Ok((
        state,
        HealthHandle {
            tx,
            metrics,
            source,
            cluster: handle,
        },
    ))
}

impl HealthHandle {
    /// Swaps in a new configuration: targets that still exist keep their state; new ones are
    /// probed once first; removed ones stop being probed at once.
    pub async fn reload(&self, served: Arc<Served>, current: &Snapshot) {
        let plan = Plan::of(&served.config.checks, &served.balances);
        let known: HashSet<&TargetKey> = current.health.plan.targets.iter().collect();
        let new: Vec<TargetKey> = plan
            .targets
            .iter()
            .filter(|k| !known.contains(k))
            .cloned()
            .collect();
        let fresh: HashMap<TargetKey, Tracker> = new
            .iter()
            .cloned()
            .zip(first_round(&new, &self.metrics, &self.source).await)
            .collect();
        let (done, wait) = oneshot::channel();
        let msg = Msg::Reload {
            served,
            plan,
            fresh,
            done,
        };
        if self.tx.send(msg).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// The cluster side, with `[cluster]`.
    pub fn cluster(&self) -> Option<&crate::cluster::Handle> {
        self.cluster.as_ref()
    }

    /// Drains (or undrains) an endpoint or a data center; returns once the answer path sees it
    /// and the state file is written. With `[cluster]` the change is written to etcd first
    /// (every instance applies it from there); when etcd cannot take it, nothing changes.
    pub async fn drain(&self, what: DrainTarget, drained: bool) -> Result<(), DrainError> {
        if let Some(cluster) = &self.cluster {
            let (done, wait) = oneshot::channel();
            self.tx
                .send(Msg::CheckDrain {
                    what: what.clone(),
                    done,
                })
                .await
                .map_err(|_| DrainError::Stopped)?;
            wait.await.map_err(|_| DrainError::Stopped)??;
            let (drains, revision) = cluster.drain(&what, drained).await?;
            let (done, wait) = oneshot::channel();
            self.tx
                .send(Msg::ClusterDrains {
                    drains,
                    revision,
                    what: (what, drained),
                    done,
                })
                .await
                .map_err(|_| DrainError::Stopped)?;
            return wait.await.map_err(|_| DrainError::Stopped);
        }
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Msg::Drain {
                what,
                drained,
                done,
            })
            .await
            .map_err(|_| DrainError::Stopped)?;
        wait.await.map_err(|_| DrainError::Stopped)?
    }
}
