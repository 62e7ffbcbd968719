//! Several instances as one NS set, on etcd v3 (`[cluster]`, docs/deployment.md "Running an NS
//! set"): drains are cluster-wide operator intent, health is a vote of the live instances.
//!
//! ```text
//! health publisher ──OwnVotes──▶ store task (the ONE etcd client session: lease, member key,
//!        ▲                        votes, watch) ──Event (others' votes, drained set)──┐
//!        └───────────────────────────────────────────────────────────────────────────┘
//! admin API ── Handle::drain (a CAS on the drained set in etcd) ── Handle::status (the view)
//! ```
//! Owns: the session with etcd and everything stored there (keys.rs), the watched view of the
//! other instances (members, votes) for the admin API, the `down_quorum` arithmetic
//! (quorum.rs), the configuration hash members compare. Must not: be on the answer path (the
//! publisher turns votes into the snapshot; a query never waits on etcd), or write health.

mod keys;
pub mod quorum;
mod store;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Cluster, DownQuorum};
use crate::drain::{DrainTarget, Drains};
use crate::snapshot::Served;
pub use quorum::{Tally, Vote};

/// What a vote is about: one endpoint as one check sees it. Every instance probing that
/// endpoint with that check votes on the same subject, whatever address it probes
/// (`check_address` is its own business).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject {
    /// The check's name.
    pub check: Arc<str>,
    /// The endpoint: the address it answers (or, for an endpoint answering a CNAME, its target).
    pub endpoint: Arc<str>,
}

impl Subject {
    /// The subject of `endpoint` (an address or a target name) under `check`.
    pub fn new(check: &str, endpoint: &str) -> Subject {
        Subject {
            check: Arc::from(check),
            endpoint: Arc::from(endpoint),
        }
    }
}

/// Other instances' votes on each subject, by instance.
pub type RemoteVotes = HashMap<Subject, BTreeMap<Arc<str>, Vote>>;

/// From the store task to the health publisher.
#[derive(Debug)]
pub enum Event {
    /// Other instances' votes changed: (subject, instance, the vote, or None: withdrawn).
    Votes(Vec<(Subject, Arc<str>, Option<Vote>)>),
    /// Every other instance's vote, replacing what was known: a resynchronisation, or an empty
    /// set when the shared view is given up (`on_store_loss`).
    AllVotes(RemoteVotes),
    /// The cluster-wide drained set, as of etcd revision `revision`.
    Drains {
        /// The set.
        drains: Drains,
        /// Its `mod_revision` (a newer set never gives way to an older one).
        revision: i64,
    },
}

/// From the health publisher to the store task: this instance's own verdicts.
#[derive(Debug)]
pub enum OwnVotes {
    /// Every verdict of the current plan (at start and after a reload): any subject not in it
    /// is withdrawn.
    All(HashMap<Subject, Vote>),
    /// One subject's verdict (None: this instance abstains).
    Set(Subject, Option<Vote>),
}

/// What the health publisher is handed: the rule, the first shared view, its two channels.
#[derive(Debug)]
pub struct Link {
    /// `down_quorum`.
    pub rule: DownQuorum,
    /// The shared view read at start (empty when etcd could not be reached).
    pub initial_votes: RemoteVotes,
    /// The drained set read at start, when etcd could be reached.
    pub initial_drains: Option<(Drains, i64)>,
    /// Events from the store task.
    pub events: mpsc::Receiver<Event>,
    /// Where own verdicts go.
    pub own: mpsc::UnboundedSender<OwnVotes>,
}

/// The state of the session with etcd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreState {
    /// Not connected yet since start.
    Connecting,
    /// Connected: lease renewed, watch running.
    Up,
    /// Lost; the last shared view is kept (until `freeze_max`).
    Frozen,
    /// Lost; only this instance's probes decide.
    Local,
}

impl StoreState {
    /// Its name in `/v1/cluster` and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreState::Connecting => "connecting",
            StoreState::Up => "up",
            StoreState::Frozen => "frozen",
            StoreState::Local => "local",
        }
    }
}

impl std::fmt::Display for StoreState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An instance's registration, stored under `members/{instance}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Its `[cluster] instance`.
    pub instance: String,
    /// Its build (`gslb --version`).
    pub version: String,
    /// The DNS addresses it serves.
    pub listen: Vec<String>,
    /// Its configuration hash (`config_hash`).
    pub config_hash: String,
    /// When it started, RFC 3339.
    pub started: String,
}

/// A member as seen from here.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) member: Member,
    pub(crate) lease: i64,
    /// Seconds since its lease was last renewed, as last asked of etcd.
    pub(crate) lease_age: Option<f64>,
}

/// Why a resynchronisation happened (`gslb_cluster_resyncs_total{reason}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resync {
    /// The session was re-established.
    Reconnect = 0,
    /// The watch fell behind etcd's compaction.
    Compacted = 1,
}

/// What is written to etcd (`gslb_cluster_writes_total{kind}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// Own votes.
    Vote = 0,
    /// The drained set.
    Drain = 1,
    /// The member registration.
    Member = 2,
}

/// The view the admin API reads: written by the store task only.
pub(crate) struct View {
    pub(crate) store: StoreState,
    pub(crate) since: SystemTime,
    /// The last reason the store was lost.
    pub(crate) reason: String,
    pub(crate) members: BTreeMap<String, Seen>,
    pub(crate) remote: RemoteVotes,
    pub(crate) own: HashMap<Subject, Vote>,
    pub(crate) drains: Drains,
    pub(crate) config_hash: String,
    /// The etcd client of the current session (None while there is none).
    pub(crate) client: Option<etcd_client::Client>,
    /// The current session's lease.
    pub(crate) lease: Option<i64>,
    /// This instance's registration.
    pub(crate) me: Option<Member>,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    /// Resynchronisations, by `Resync`.
    pub resyncs: [AtomicU64; 2],
    /// Writes, by `Write`.
    pub writes: [AtomicU64; 3],
    /// Watch events received.
    pub events: AtomicU64,
}

/// What the store task and the handles share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) cfg: Cluster,
    pub(crate) layout: keys::Layout,
    pub(crate) view: Mutex<View>,
    pub(crate) counters: Counters,
}

impl std::fmt::Debug for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View")
            .field("store", &self.store)
            .field("members", &self.members.len())
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn view(&self) -> std::sync::MutexGuard<'_, View> {
        self.view.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The way into the cluster side for the admin API and the health handle.
#[derive(Debug, Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

/// Why a drain could not be written to etcd (the admin API answers 503: nothing changed).
#[derive(Debug, thiserror::Error)]
#[error("the cluster store cannot take the write: {0}")]
pub struct StoreError(pub String);

/// Why the cluster side could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A file named in `[cluster]` cannot be read.
    #[error("[cluster] {key} {}: {source}", path.display())]
    File {
        /// The key.
        key: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// etcd rejected the client's options (a bad URL or certificate).
    #[error("cannot set up the etcd client: {0}")]
    Client(String),
    /// Another live instance holds this instance id.
    #[error(
        "instance id {instance:?} is held by a live instance (its lease is being renewed): {holder}; give each instance its own [cluster] instance"
    )]
    Held {
        /// The id.
        instance: String,
        /// The holder's registration, as stored.
        holder: String,
    },
}

/// The configuration hash members compare: the shared tables of the configuration
/// (`Config::shared_digest`: balanced names, checks, data centers, without per-instance keys)
/// and every zone's origin and content digest, in zone order.
pub fn config_hash(served: &Served) -> String {
    use std::hash::Hasher;
    let mut h = siphasher::sip::SipHasher13::new_with_keys(0, 0);
    h.write_u64(served.config.shared_digest);
    let mut zones: Vec<(Vec<u8>, Vec<u64>)> = served
        .zones
        .iter()
        .map(|z| {
            (
                z.origin().to_vec(),
                z.zone.sources.iter().map(|s| s.digest).collect(),
            )
        })
        .collect();
    zones.sort();
    for (origin, digests) in zones {
        h.write(&origin);
        for d in digests {
            h.write_u64(d);
        }
    }
    format!("{:016x}", h.finish())
}

/// Starts the cluster side: connects to etcd, registers this instance (waiting up to
/// `lease_ttl` for a crashed predecessor's lease to lapse; a live holder is an error), reads
/// the shared view, and spawns the store task. etcd unreachable is not an error: the instance
/// starts from its cached drained set (`local`) and keeps trying.
pub async fn start(
    cfg: &Cluster,
    served: &Served,
    local: Drains,
    cancel: CancellationToken,
    tasks: &TaskTracker,
) -> Result<(Handle, Link), StartError> {
    let options = store::options(cfg)?;
    let shared = Arc::new(Shared {
        cfg: cfg.clone(),
        layout: keys::Layout::new(&cfg.prefix),
        view: Mutex::new(View {
            store: StoreState::Connecting,
            since: SystemTime::now(),
            reason: String::new(),
            members: BTreeMap::new(),
            remote: HashMap::new(),
            own: HashMap::new(),
            drains: local.clone(),
            config_hash: config_hash(served),
            client: None,
            lease: None,
            me: None,
        }),
        counters: Counters::default(),
    });
    let me = Member {
        instance: cfg.instance.clone(),
        version: crate::VERSION.to_string(),
        listen: served
            .config
            .server
            .listen
            .iter()
            .map(ToString::to_string)
            .collect(),
        config_hash: config_hash(served),
        started: crate::views::rfc3339(SystemTime::now()),
    };
    shared.view().me = Some(me.clone());
    let (events_tx, events) = mpsc::channel(1024);
    let (own, own_rx) = mpsc::unbounded_channel();
    let mut task = store::Task::new(shared.clone(), options, me, local, events_tx, own_rx);
    let (initial_votes, initial_drains) = task.first_session().await?.unwrap_or_default();
    tasks.spawn(task.run(cancel));
    Ok((
        Handle { shared },
        Link {
            rule: cfg.down_quorum,
            initial_votes,
            initial_drains,
            events,
            own,
        },
    ))
}

/// One endpoint's row of the vote matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoteRow {
    /// The check.
    pub check: String,
    /// The endpoint (its address, or a CNAME endpoint's target).
    pub endpoint: String,
    /// Each live instance's vote (this one included).
    pub votes: BTreeMap<String, Vote>,
    /// Of them, those saying down.
    pub down: u32,
    /// Instances holding a verdict.
    pub voters: u32,
    /// Down votes the rule needs.
    pub needed: u32,
    /// The state the rule gives.
    pub state: crate::state::EndpointState,
    /// The arithmetic in words.
    pub rule: String,
}

/// A member as `/v1/cluster` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRow {
    /// Its registration.
    #[serde(flatten)]
    pub member: Member,
    /// Seconds since its lease was last renewed (None: not known yet).
    pub lease_age_seconds: Option<f64>,
    /// Whether it is this instance.
    #[serde(rename = "self")]
    pub is_self: bool,
}

/// The session with etcd as `/v1/cluster` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreRow {
    /// connecting, up, frozen, local.
    pub state: StoreState,
    /// Since when, RFC 3339.
    pub since: String,
    /// Why it was last lost ("" if never).
    pub reason: String,
    /// Resynchronisations so far.
    pub resyncs: u64,
    /// The etcd URLs.
    pub endpoints: Vec<String>,
}

/// `GET /v1/cluster`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// This instance.
    pub instance: String,
    /// The rule.
    pub down_quorum: String,
    /// What losing etcd does.
    pub on_store_loss: String,
    /// The session.
    pub store: StoreRow,
    /// This instance's configuration hash.
    pub config_hash: String,
    /// Whether a live member's hash differs.
    pub config_mismatch: bool,
    /// The live members, this one included.
    pub members: Vec<MemberRow>,
    /// Every subject someone votes on.
    pub votes: Vec<VoteRow>,
    /// The cluster-wide drained set (as last read).
    pub drains: Drains,
}

impl Handle {
    /// This instance's id.
    pub fn instance(&self) -> &str {
        &self.shared.cfg.instance
    }

    /// The rule.
    pub fn rule(&self) -> DownQuorum {
        self.shared.cfg.down_quorum
    }

    /// The counters for `/metrics`.
    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    /// The store's state, the live members' count and whether their hashes differ.
    pub fn gauges(&self) -> (StoreState, usize, bool) {
        let v = self.shared.view();
        (v.store, v.members.len(), mismatch(&v))
    }

    /// Writes a drain or undrain to etcd: a compare-and-swap on the drained set as etcd holds
    /// it now (so two instances draining at once both land). Returns the new set and its
    /// revision; an error when etcd cannot take it (then nothing changed anywhere).
    pub async fn drain(
        &self,
        what: &DrainTarget,
        drained: bool,
    ) -> Result<(Drains, i64), StoreError> {
        store::drain(&self.shared, what, drained).await
    }

    /// A new configuration is in service: its hash goes into this instance's registration.
    pub async fn reloaded(&self, served: &Served) {
        let hash = config_hash(served);
        let changed = {
            let mut v = self.shared.view();
            let changed = v.config_hash != hash;
            v.config_hash = hash;
            changed
        };
        if changed {
            store::reregister(&self.shared).await;
        }
    }

    /// The tally of `subject` as this instance counts it now (own vote included).
    pub fn tally(&self, subject: &Subject) -> Tally {
        let v = self.shared.view();
        tally(&v, self.shared.cfg.down_quorum, subject)
    }

    /// What `/v1/cluster` shows.
    pub fn status(&self) -> ClusterStatus {
        let v = self.shared.view();
        let rule = self.shared.cfg.down_quorum;
        let mut subjects: Vec<&Subject> = v.remote.keys().chain(v.own.keys()).collect();
        subjects.sort();
        subjects.dedup();
        let me = self.shared.cfg.instance.as_str();
        let votes = subjects
            .into_iter()
            .map(|s| {
                let t = tally(&v, rule, s);
                let mut votes: BTreeMap<String, Vote> = v
                    .remote
                    .get(s)
                    .map(|m| m.iter().map(|(i, v)| (i.to_string(), *v)).collect())
                    .unwrap_or_default();
                if let Some(own) = v.own.get(s) {
                    votes.insert(me.to_string(), *own);
                }
                VoteRow {
                    check: s.check.to_string(),
                    endpoint: s.endpoint.to_string(),
                    votes,
                    down: t.down,
                    voters: t.voters,
                    needed: t.needed(),
                    state: t.state(),
                    rule: t.to_string(),
                }
            })
            .collect();
        let c = &self.shared.counters;
        ClusterStatus {
            instance: me.to_string(),
            down_quorum: rule.to_string(),
            on_store_loss: self.shared.cfg.on_store_loss.to_string(),
            store: StoreRow {
                state: v.store,
                since: crate::views::rfc3339(v.since),
                reason: v.reason.clone(),
                resyncs: c.resyncs.iter().map(|r| r.load(Ordering::Relaxed)).sum(),
                endpoints: self.shared.cfg.etcd.clone(),
            },
            config_hash: v.config_hash.clone(),
            config_mismatch: mismatch(&v),
            members: v
                .members
                .iter()
                .map(|(name, s)| MemberRow {
                    member: s.member.clone(),
                    lease_age_seconds: s.lease_age,
                    is_self: name == me,
                })
                .collect(),
            votes,
            drains: v.drains.clone(),
        }
    }
}

/// Whether a live member's configuration hash differs from this instance's.
fn mismatch(v: &View) -> bool {
    v.members
        .values()
        .any(|s| s.member.config_hash != v.config_hash)
}

/// The tally of `subject` in the view: the other instances' votes and this one's.
fn tally(v: &View, rule: DownQuorum, subject: &Subject) -> Tally {
    let remote = v.remote.get(subject).into_iter().flat_map(|m| m.values());
    Tally::of(rule, remote.copied().chain(v.own.get(subject).copied()))
}

/// How long an etcd request may take before the store counts as unreachable for it.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
