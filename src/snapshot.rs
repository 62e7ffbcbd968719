//! The immutable state every query reads: what is served (config, zones, balanced names) and the
//! health of every endpoint, swapped as a whole by their single writers.
//!
//! Owns: building `Served` from a config file (config + zones + balanced names, validated
//! together) and writing a balanced answer from one snapshot. Must not: mutate anything a query
//! can see, except the rotation counters.

use std::cell::Cell;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use crate::config::Config;
use crate::diag::Diagnostic;
use crate::dns::name::display;
use crate::dns::wire::{ResponseWriter, Section, rtype};
use crate::dns::zone::ZoneSet;
use crate::dns::zonefile;
use crate::health::tracker::ProbeResult;
use crate::policy::geoip::GeoIp;
use crate::policy::{BalancedName, Client, EpHealth, State, decide};

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
}

/// Health of every endpoint of every balanced name, as the tracker last published it.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// Increases with every publication.
    pub generation: u64,
    /// Per balanced name (same index as `Served::balances`), per endpoint: what policies read.
    pub balances: Vec<Vec<EpHealth>>,
    /// The same shape, with what people read: since when, the last check result.
    pub status: Vec<Vec<EndpointStatus>>,
    /// Recent state changes, oldest first (bounded).
    pub transitions: Arc<Vec<Transition>>,
}

/// What the status page and explain show of one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointStatus {
    /// Current state.
    pub state: State,
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

/// One change of an endpoint's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// When.
    pub at: SystemTime,
    /// Endpoint address.
    pub endpoint: IpAddr,
    /// Its data center.
    pub datacenter: String,
    /// State before.
    pub from: State,
    /// State after.
    pub to: State,
    /// Why (the last check result, or "drained by operator").
    pub reason: String,
}

impl Health {
    /// Every endpoint of `served` up: the state of names whose endpoints have no check, and the
    /// starting point before any check has run.
    pub fn all_up(served: &Served) -> Health {
        let now = SystemTime::now();
        Health {
            generation: 0,
            balances: served
                .balances
                .iter()
                .map(|b| vec![EpHealth::UP; b.cfg.endpoints.len()])
                .collect(),
            status: served
                .balances
                .iter()
                .map(|b| {
                    vec![
                        EndpointStatus {
                            state: State::Up,
                            since: now,
                            check: None,
                            probe: None,
                            last: None,
                            last_at: None,
                        };
                        b.cfg.endpoints.len()
                    ]
                })
                .collect(),
            transitions: Arc::default(),
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

    /// Writes the answer of balanced name `id` for `qtype` (A or AAAA) into the answer section.
    /// Returns the records written and the ECS scope the decision used.
    pub fn balance_answer(
        &self,
        id: u32,
        qtype: u16,
        client: &Client,
        owner: &[u8],
        w: &mut ResponseWriter<'_>,
    ) -> (usize, u8) {
        let Some(b) = self.served.balances.get(id as usize) else {
            return (0, 0);
        };
        let health = self
            .health
            .balances
            .get(id as usize)
            .map_or(&[][..], Vec::as_slice);
        let v4 = qtype == rtype::A;
        let d = decide(b, v4, client, health, b.tick(), random());
        let mut n = 0;
        let mut put = |addr: &IpAddr| {
            let ok = match addr {
                IpAddr::V4(a) => w.record(
                    Section::Answer,
                    owner,
                    rtype::A,
                    b.cfg.ttl,
                    &a.octets(),
                    true,
                ),
                IpAddr::V6(a) => w.record(
                    Section::Answer,
                    owner,
                    rtype::AAAA,
                    b.cfg.ttl,
                    &a.octets(),
                    true,
                ),
            };
            n += ok as usize;
            ok
        };
        // Relaxed counters: one add per address answered, read only by /metrics.
        let counts = &self.served.answered[id as usize];
        if d.fallback {
            for a in b
                .cfg
                .fallback
                .iter()
                .filter(|a| a.is_ipv4() == v4)
                .take(b.cfg.answers)
            {
                if put(a) {
                    counts[b.cfg.endpoints.len()].fetch_add(1, Ordering::Relaxed);
                }
            }
        } else {
            for &i in d.chosen.as_slice() {
                if put(&b.cfg.endpoints[i as usize].address) {
                    counts[i as usize].fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        (n, d.scope)
    }
}

thread_local! {
    static RNG: Cell<u64> = Cell::new({
        use std::hash::{BuildHasher, RandomState};
        RandomState::new().hash_one(std::thread::current().id()) | 1
    });
}

/// A per-thread xorshift64* draw: cheap, lock-free, good enough to spread weighted answers.
fn random() -> u64 {
    RNG.with(|s| {
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        x.wrapping_mul(0x2545F4914F6CDD1D)
    })
}

impl Served {
    /// Loads the configuration at `path`, its zones and its balanced names, and checks them
    /// against each other. Every problem is returned, each with its file and position.
    pub fn load(path: &Path) -> Result<Served, Vec<Diagnostic>> {
        let config = Config::load(path)?;
        Self::build(config)
    }

    /// Builds from an already validated configuration.
    pub fn build(config: Config) -> Result<Served, Vec<Diagnostic>> {
        let mut errors = Vec::new();
        let zones = match zonefile::load_dir(&config.zones_directory) {
            Ok(z) => z,
            Err(mut e) => {
                errors.append(&mut e);
                Vec::new()
            }
        };
        let mut zones = ZoneSet::new(zones);
        let geoip = match &config.geoip {
            Some(p) => match GeoIp::open(p) {
                Ok(g) => Some(Arc::new(g)),
                Err(e) => {
                    errors.push(Diagnostic::new(&config.file, 0, 0, e));
                    None
                }
            },
            None => None,
        };
        let mut balances = Vec::new();
        for b in &config.balances {
            let here = |m: String| Diagnostic::new(&config.file, b.pos.line, b.pos.col, m);
            match zones.find_origin(&b.key) {
                None if !errors.is_empty() && zones.is_empty() => {}
                None => errors.push(here(format!(
                    "balanced name {} is not inside any served zone (zones: {})",
                    b.name,
                    zones
                        .iter()
                        .map(|z| display(&z.origin))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
                Some(origin) => {
                    let Some(zone) = zones.get_mut(&origin) else {
                        continue;
                    };
                    if let Some(node) = zone.node(&b.key) {
                        for t in [rtype::A, rtype::AAAA, rtype::CNAME] {
                            if node.get(t).is_some() {
                                errors.push(here(format!(
                                    "balanced name {} also has {} records in zone file {}; remove them or the balance",
                                    b.name,
                                    hickory_proto::rr::RecordType::from(t),
                                    zone.file.display()
                                )));
                            }
                        }
                    }
                    if let Some(cut) = crate::dns::lookup::cut_above(zone, &b.key) {
                        errors.push(here(format!(
                            "balanced name {} lies below the delegation {} in zone {}",
                            b.name,
                            display(cut),
                            zone.file.display()
                        )));
                    }
                    zone.attach_balance(&b.key, balances.len() as u32);
                    balances.push(BalancedName::new(&config, b, geoip.clone()));
                }
            }
        }
        if errors.is_empty() {
            let answered = balances
                .iter()
                .map(|b| {
                    (0..=b.cfg.endpoints.len())
                        .map(|_| AtomicU64::new(0))
                        .collect()
                })
                .collect();
            Ok(Served {
                config: Arc::new(config),
                zones,
                balances,
                answered,
            })
        } else {
            Err(errors)
        }
    }
}
