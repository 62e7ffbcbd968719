//! The immutable state every query reads: what is served (config, zones, balanced names) and the
//! health of every endpoint, swapped as a whole by their single writers.
//!
//! Owns: building `Served` from a config file (config + zones + balanced names, validated
//! together) and writing a balanced answer from one snapshot. Must not: mutate anything a query
//! can see, except the rotation counters.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::SystemTime;

use crate::config::Config;
use crate::config::secret::Secret;
use crate::cookie::Secrets;
use crate::zone::ZoneSet;

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
}

/// A zone whose file was missing at a reload, kept from the running copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleZone {
    /// The zone's origin, presentation form.
    pub zone: String,
    /// The file it was loaded from, which was absent.
    pub file: PathBuf,
}

/// Health of every endpoint of every balanced name, as the tracker last published it.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// Increases with every publication.
    pub generation: u64,
    /// Per balanced name (same index as `Served::balances`), per endpoint: what policies read.
    pub balances: Vec<Vec<EndpointHealth>>,
    /// The same shape, with what people read: since when, the last check result.
    pub status: Vec<Vec<EndpointStatus>>,
    /// Recent state changes, oldest first (bounded).
    pub transitions: Arc<Vec<Transition>>,
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
    pub from: EndpointState,
    /// State after.
    pub to: EndpointState,
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
                .map(|b| vec![EndpointHealth::UP; b.cfg.endpoints.len()])
                .collect(),
            status: served
                .balances
                .iter()
                .map(|b| {
                    vec![
                        EndpointStatus {
                            state: EndpointState::Up,
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
}
