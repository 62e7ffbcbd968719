//! The immutable state every query reads: what is served (config, zones, balanced names) and the
//! health of every endpoint, swapped as a whole by their single writers.
//!
//! Owns: the shapes of `Served`, `Health` (per-name rows in chunks shared between publications,
//! so a publication copies only what changed) and `Snapshot`; `LastResults`, the latest probe
//! result of each target, which the publisher writes on every probe and only the admin API
//! reads. Must not: build them (`load`, the health publisher do), or mutate anything a query
//! can see, except the rotation counters.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::config::Config;
use crate::config::secret::Secret;
use crate::cookie::Secrets;
use crate::zone::ZoneSet;

use crate::plan::{Plan, TargetKey};
use crate::policy::BalancedName;
use crate::state::{EndpointHealth, EndpointState, ProbeResult};

/// Everything the configuration and zone files define, built once per (re)load.
#[derive(Debug)]
pub struct Served {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Zones, with balanced names attached to their nodes.
    pub zones: ZoneSet,
    /// Balanced names; a node's `balance` indexes this.
    pub balances: Vec<BalancedName>,
    /// Addresses answered, per balanced name, per endpoint (then one for fallback addresses).
    pub answered: Vec<Box<[AtomicU64]>>,
    /// The admin bearer token read from `[admin] token_file` by this load.
    pub admin_token: Option<Secret>,
    /// Zones served from the previous snapshot's copy because their file vanished before this
    /// reload (docs/configuration.md, "Reloading"); dropped at the next reload if still absent.
    pub stale: Vec<StaleZone>,
    /// What DNS cookies are keyed with: the `secret_file` as read at this (re)load, or the
    /// process's random secret, which every reload shares.
    pub cookie_secrets: Secrets,
    /// The signers of the zones `[dnssec]` signs; a `ServedZone::signed` indexes this.
    pub signers: Vec<crate::dnssec::Signer>,
}

/// A zone whose file was missing at a reload, kept from the running copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleZone {
    /// The zone's origin, presentation form.
    pub zone: String,
    /// The file it was loaded from, which was absent.
    pub file: PathBuf,
}

/// Balanced names per chunk of the health table: a publication copies only the chunks that hold
/// a changed name, and the list of chunk pointers (one per `CHUNK` names).
const CHUNK: usize = 256;

/// The health of `CHUNK` consecutive balanced names, flat.
#[derive(Debug, Clone)]
struct Chunk {
    /// Where each name's endpoints start in `cells`; one entry more than names.
    starts: Box<[u32]>,
    /// Per endpoint: what policies read.
    cells: Box<[EndpointHealth]>,
    /// Per endpoint: since when it has been in its state.
    since: Box<[SystemTime]>,
}

impl Chunk {
    fn range(&self, i: usize) -> Option<std::ops::Range<usize>> {
        let (a, b) = (*self.starts.get(i)?, *self.starts.get(i + 1)?);
        Some(a as usize..b as usize)
    }
}

/// The last probe result of every target, as the publisher saw it: written on every result
/// (not only on changes, which are all a publication carries), read by the admin API. Never
/// read by the answer path.
#[derive(Debug, Default)]
pub struct LastResults(Box<[Mutex<Option<LastResult>>]>);

/// A probe result and when it came.
pub type LastResult = (ProbeResult, SystemTime);

impl LastResults {
    /// Room for `targets` targets, none probed yet.
    pub fn new(targets: usize) -> Self {
        LastResults((0..targets).map(|_| Mutex::new(None)).collect())
    }

    /// Records target `t`'s latest result.
    pub fn set(&self, t: usize, result: &ProbeResult, at: SystemTime) {
        if let Some(slot) = self.0.get(t) {
            *slot
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((result.clone(), at));
        }
    }

    /// Target `t`'s latest result and when it came.
    pub fn get(&self, t: usize) -> Option<LastResult> {
        self.0
            .get(t)?
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// One endpoint's new health, for `Health::updated`.
#[derive(Debug, Clone, Copy)]
pub struct Change {
    /// The balanced name (index into `Served::balances`).
    pub name: u32,
    /// The endpoint (index into the name's endpoints).
    pub endpoint: u32,
    /// Its health from now on.
    pub health: EndpointHealth,
    /// Since when it has been in that state.
    pub since: SystemTime,
}

/// Health of every endpoint of every balanced name, as the publisher last published it.
///
/// Stored in chunks of `CHUNK` names behind `Arc`s: a publication that changes a few endpoints
/// (`updated`) copies the chunks that hold them and shares every other chunk with the previous
/// publication, so its cost follows the change, not the configuration's size.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// Increases with every publication.
    pub generation: u64,
    /// Which target each endpoint reads (shared until the next reload).
    pub plan: Arc<Plan>,
    /// Every target's last probe result (shared until the next reload).
    pub last: Arc<LastResults>,
    chunks: Vec<Arc<Chunk>>,
    /// Recent state changes, oldest first (bounded).
    pub transitions: Arc<Vec<Transition>>,
    /// Per data center (`Config::datacenters` order): its shared-fate standing (`min_up`).
    pub datacenters: Arc<Vec<DatacenterHealth>>,
}

/// A data center's standing under `min_up`: how many of its distinct probed targets are up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatacenterHealth {
    /// Distinct probed targets of its endpoints.
    pub targets: usize,
    /// Of those, up and not drained.
    pub targets_up: usize,
    /// Whether it counts as up: no `min_up`, none probed, or at least `min_up` up.
    pub up: bool,
}

impl Default for DatacenterHealth {
    fn default() -> Self {
        DatacenterHealth {
            targets: 0,
            targets_up: 0,
            up: true,
        }
    }
}

/// What the status page and explain show of one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointStatus {
    /// Current state.
    pub state: EndpointState,
    /// Since when.
    pub since: SystemTime,
    /// The check probing it, if any.
    pub check: Option<String>,
    /// The address and port probed.
    pub probe: Option<SocketAddr>,
    /// The last probe result.
    pub last: Option<ProbeResult>,
    /// When that result came.
    pub last_at: Option<SystemTime>,
}

/// One change of state: of a probed target (every endpoint reading it), or an operator's drain
/// of an address or a data center.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// When.
    pub at: SystemTime,
    /// The address: the target's probed address, or the drained endpoint address.
    pub endpoint: Option<IpAddr>,
    /// The data center: of the target's first endpoint, or the drained data center.
    pub datacenter: Option<String>,
    /// The check, for a target's change.
    pub check: Option<String>,
    /// State before.
    pub from: EndpointState,
    /// State after.
    pub to: EndpointState,
    /// Why (the last check result, or "drained by operator").
    pub reason: String,
    /// Endpoints whose state changed with it.
    pub endpoints: usize,
    /// Balanced names those endpoints belong to.
    pub names: usize,
}

impl Health {
    /// Every endpoint of `served` up: the state of names whose endpoints have no check, and the
    /// starting point before any check has run.
    pub fn all_up(served: &Served) -> Health {
        let plan = Arc::new(Plan::of(&served.config.checks, &served.balances));
        let last = Arc::new(LastResults::new(plan.targets.len()));
        let now = SystemTime::now();
        Health::build(plan, last, served, |_, _| (EndpointHealth::UP, now))
    }

    /// A table for `served`'s names with `cell(name, endpoint)` as each endpoint's health and
    /// since when (generation 0, no transitions).
    pub fn build(
        plan: Arc<Plan>,
        last: Arc<LastResults>,
        served: &Served,
        cell: impl FnMut(usize, usize) -> (EndpointHealth, SystemTime),
    ) -> Health {
        let sizes: Vec<usize> = served
            .balances
            .iter()
            .map(|b| b.cfg.endpoints.len())
            .collect();
        Health::from_sizes(plan, last, &sizes, cell)
    }

    /// `build` for names with `sizes[i]` endpoints each.
    fn from_sizes(
        plan: Arc<Plan>,
        last: Arc<LastResults>,
        sizes: &[usize],
        mut cell: impl FnMut(usize, usize) -> (EndpointHealth, SystemTime),
    ) -> Health {
        let chunks = sizes
            .chunks(CHUNK)
            .enumerate()
            .map(|(ci, names)| {
                let mut starts = Vec::with_capacity(names.len() + 1);
                let mut cells = Vec::new();
                let mut since = Vec::new();
                starts.push(0u32);
                for (i, &n) in names.iter().enumerate() {
                    for ei in 0..n {
                        let (h, t) = cell(ci * CHUNK + i, ei);
                        cells.push(h);
                        since.push(t);
                    }
                    starts.push(cells.len() as u32);
                }
                Arc::new(Chunk {
                    starts: starts.into(),
                    cells: cells.into(),
                    since: since.into(),
                })
            })
            .collect();
        Health {
            generation: 0,
            plan,
            last,
            chunks,
            transitions: Arc::default(),
            datacenters: Arc::default(),
        }
    }

    /// What policies read of balanced name `bi`: one entry per endpoint (empty if unknown).
    #[inline]
    pub fn row(&self, bi: usize) -> &[EndpointHealth] {
        self.chunks
            .get(bi / CHUNK)
            .and_then(|c| Some(&c.cells[c.range(bi % CHUNK)?]))
            .unwrap_or(&[])
    }

    /// Endpoint `ei` of name `bi`: its health and since when.
    pub fn cell(&self, bi: usize, ei: usize) -> Option<(EndpointHealth, SystemTime)> {
        let c = self.chunks.get(bi / CHUNK)?;
        let r = c.range(bi % CHUNK)?;
        let at = r.start + ei;
        (at < r.end).then(|| (c.cells[at], c.since[at]))
    }

    /// What people read of endpoint `ei` of name `bi`: state, since, check, last result.
    pub fn status(&self, bi: usize, ei: usize) -> Option<EndpointStatus> {
        let (h, since) = self.cell(bi, ei)?;
        let target = self.plan.target_of(bi, ei);
        let key = target.and_then(|t| self.plan.targets.get(t));
        let last = target.and_then(|t| self.last.get(t));
        Some(EndpointStatus {
            state: h.state,
            since,
            check: key.map(|k| k.check.name.clone()),
            probe: key.map(TargetKey::socket),
            last_at: last.as_ref().map(|l| l.1),
            last: last.map(|l| l.0),
        })
    }

    /// This table with `changes` applied (sorted here), as publication `generation`: the chunks
    /// they touch are copied, every other chunk is shared.
    pub fn updated(
        &self,
        generation: u64,
        changes: &mut [Change],
        transitions: Arc<Vec<Transition>>,
    ) -> Health {
        changes.sort_unstable_by_key(|c| (c.name, c.endpoint));
        let mut chunks = self.chunks.clone();
        for c in changes.iter() {
            let name = c.name as usize;
            let Some(chunk) = chunks.get_mut(name / CHUNK) else {
                continue;
            };
            let chunk = Arc::make_mut(chunk);
            let Some(r) = chunk.range(name % CHUNK) else {
                continue;
            };
            let at = r.start + c.endpoint as usize;
            if at < r.end {
                chunk.cells[at] = c.health;
                chunk.since[at] = c.since;
            }
        }
        Health {
            generation,
            plan: self.plan.clone(),
            last: self.last.clone(),
            chunks,
            transitions,
            datacenters: self.datacenters.clone(),
        }
    }
}

/// What one query reads: one load of this, for the whole answer.
#[derive(Debug)]
pub struct Snapshot {
    /// Config and zones.
    pub served: Arc<Served>,
    /// Endpoint health.
    pub health: Arc<Health>,
}

impl Snapshot {
    /// A snapshot with every endpoint up.
    pub fn new(served: Arc<Served>) -> Snapshot {
        let health = Arc::new(Health::all_up(&served));
        Snapshot { served, health }
    }

    /// The index of a balanced name (fully qualified, any case).
    pub fn balance_index(&self, name: &str) -> Option<usize> {
        let mut n = name.trim_end_matches('.').to_ascii_lowercase();
        n.push('.');
        self.served.balances.iter().position(|b| b.cfg.name == n)
    }

    /// Largest UDP response.
    pub fn udp_payload_max(&self) -> u16 {
        self.served.config.server.udp_payload_max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_copies_only_the_chunks_it_touches() {
        let t0 = SystemTime::UNIX_EPOCH;
        // 600 names of 3 endpoints: three chunks (256, 256, 88 names).
        let sizes = vec![3; 600];
        let h = Health::from_sizes(Arc::default(), Arc::default(), &sizes, |_, _| {
            (EndpointHealth::UP, t0)
        });
        let down = EndpointHealth {
            state: EndpointState::Down,
            load: None,
        };
        let t1 = t0 + std::time::Duration::from_secs(5);
        let mut changes = [Change {
            name: 300,
            endpoint: 2,
            health: down,
            since: t1,
        }];
        let u = h.updated(1, &mut changes, Arc::default());
        assert_eq!(u.generation, 1);
        assert_eq!(u.row(300)[2], down);
        assert_eq!(u.cell(300, 2), Some((down, t1)));
        assert_eq!(u.row(300)[..2], [EndpointHealth::UP; 2]);
        assert_eq!(
            h.row(300)[2],
            EndpointHealth::UP,
            "the old table is untouched"
        );
        assert!(Arc::ptr_eq(&h.chunks[0], &u.chunks[0]));
        assert!(!Arc::ptr_eq(&h.chunks[1], &u.chunks[1]));
        assert!(Arc::ptr_eq(&h.chunks[2], &u.chunks[2]));
        assert_eq!(u.row(599).len(), 3);
        assert!(u.row(600).is_empty(), "past the last name");
        assert_eq!(u.cell(5, 3), None, "past a name's endpoints");
    }
}
