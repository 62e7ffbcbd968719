//! Choosing the addresses of a balanced name: the rules every policy shares, then the policy.
//!
//! Owns: the shared select step (address family, health and drain, `when_all_down`, the
//! `answers` cap, ECS scope bookkeeping) and dispatch to the policy, a pure function of
//! (balanced name, client, health, counter, random draw). Must not: do I/O, lock, allocate, or
//! read anything but its arguments; health comes in, it is never measured here.

pub mod geo;
pub mod geoip;
mod hashed;
mod least_loaded;
mod nearest;
mod rotation;
pub mod subnet;
pub mod trace;
mod weighted;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::{Balance, Config, Location, PolicyKind, WhenAllDown};
use crate::state::{EndpointHealth, EndpointState};
use crate::wire::ClientSubnet;
use geo::{Region, Regions};
use geoip::GeoIp;
use subnet::SubnetMap;

pub use crate::config::defaults::{MAX_ANSWERS, MAX_ENDPOINTS};
/// ECS source prefixes longer than these are cut before use (RFC 7871 §11.1, privacy).
const ECS_MAX_V4: u8 = 24;
const ECS_MAX_V6: u8 = 56;

/// The client a decision is for: the ECS network when the resolver sent one, else the
/// resolver's own address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Client {
    /// Network address (bits past `prefix` zero).
    pub addr: IpAddr,
    /// Prefix length that identifies the client network.
    pub prefix: u8,
    /// Whether it came from an ECS option.
    pub from_ecs: bool,
}

impl Client {
    /// The client of a query from `peer`, with the query's ECS option if any. A source prefix of
    /// 0 carries no client information (RFC 7871 §7.1.2): the resolver's address is used.
    pub fn new(peer: IpAddr, ecs: Option<ClientSubnet>) -> Client {
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
            v4 => v4,
        };
        match ecs {
            Some(c) if c.source_prefix > 0 => {
                let cap = if c.addr.is_ipv4() {
                    ECS_MAX_V4
                } else {
                    ECS_MAX_V6
                };
                let prefix = c.source_prefix.min(cap);
                Client {
                    addr: subnet::mask(c.addr, prefix),
                    prefix,
                    from_ecs: true,
                }
            }
            _ => Client {
                addr: peer,
                prefix: if peer.is_ipv4() { 32 } else { 128 },
                from_ecs: false,
            },
        }
    }
}

/// A balanced name ready to answer: its config plus the tables its policy needs.
#[derive(Debug)]
pub struct BalancedName {
    /// The configuration.
    pub cfg: Balance,
    /// Data center name of each endpoint.
    pub dc_names: Vec<String>,
    /// Location of each endpoint's data center.
    pub locations: Vec<Option<Location>>,
    /// Client networks → data center index; built for the geo policy only (no other reads it),
    /// empty for the rest.
    pub subnets: SubnetMap<usize>,
    /// GeoIP regions → data center index; built for the geo policy only.
    pub regions: Regions,
    /// The GeoIP database (nearest, geo by region).
    pub geoip: Option<Arc<GeoIp>>,
    /// Rotation counter; the only mutable part, advanced once per answer.
    counter: AtomicU64,
}

impl BalancedName {
    /// Builds the tables of `cfg`, a balance of `config`.
    pub fn new(config: &Config, cfg: &Balance, geoip: Option<Arc<GeoIp>>) -> Self {
        let mut subnets = SubnetMap::default();
        let mut regions = Regions::default();
        // Only geo reads the tables: the other policies skip the per-name copy of their data
        // centers' networks (a large part of building 100,000 names).
        if cfg.policy == PolicyKind::Geo {
            let mut dcs_used: Vec<usize> = cfg.endpoints.iter().map(|e| e.datacenter).collect();
            dcs_used.sort_unstable();
            dcs_used.dedup();
            for &d in &dcs_used {
                for n in &config.datacenters[d].networks {
                    subnets.insert(*n, d);
                }
            }
            regions = Regions::of(&config.datacenters, &dcs_used);
        }
        BalancedName {
            dc_names: cfg
                .endpoints
                .iter()
                .map(|e| config.datacenters[e.datacenter].name.clone())
                .collect(),
            locations: cfg
                .endpoints
                .iter()
                .map(|e| config.datacenters[e.datacenter].location)
                .collect(),
            subnets,
            regions,
            geoip,
            counter: AtomicU64::new(0),
            cfg: cfg.clone(),
        }
    }

    /// The fallback addresses of family `v4` answered when every endpoint is down and
    /// `when_all_down = "fallback"`: the answer and explain both take them from here.
    pub fn fallback(&self, v4: bool) -> impl Iterator<Item = &IpAddr> {
        self.cfg
            .fallback
            .iter()
            .filter(move |a| a.is_ipv4() == v4)
            .take(self.cfg.answers)
    }

    /// The CNAME target answered when every endpoint is down and `when_all_down = "fallback"`
    /// (a name of CNAME endpoints): the first of `fallback`.
    pub fn fallback_target(&self) -> Option<&crate::config::Target> {
        self.cfg.fallback_targets.first()
    }

    /// Whether the name is degraded under `health`: an endpoint down or drained (failing open
    /// and fallback answers imply one). The one rule `ttl_degraded` follows.
    pub fn degraded(&self, health: &[EndpointHealth]) -> bool {
        health.iter().any(|h| h.state != EndpointState::Up)
    }

    /// The TTL answers carry under `health`: `ttl_degraded` while the name is degraded, else
    /// `ttl`.
    pub fn ttl(&self, health: &[EndpointHealth]) -> u32 {
        match self.cfg.ttl_degraded {
            Some(t) if self.degraded(health) => t,
            _ => self.cfg.ttl,
        }
    }

    /// The next rotation value.
    pub fn tick(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }
}

/// Why the answer is what it is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reason {
    /// No endpoint of the queried address family.
    NoFamily,
    /// Every endpoint down, `when_all_down = "none"`.
    AllDownNone,
    /// Every endpoint down, `when_all_down = "fallback"`.
    AllDownFallback,
    /// Every endpoint drained: nothing to fail open to.
    AllDrained,
    /// Round robin / all: in rotation.
    Rotation,
    /// Weighted random pick.
    Weighted,
    /// Failover: the lowest priority group with an endpoint up.
    Priority(u32),
    /// Hashed on the client network.
    Hashed,
    /// Geo: the client's network matched this data center.
    GeoMatch(usize),
    /// Geo: the GeoIP database placed the client (its record's network of this prefix length)
    /// in region `code` (packed, `geoip::code`) of kind `rule`, listed by data center `dc`.
    GeoRegion {
        /// The data center.
        dc: usize,
        /// Which kind of region matched.
        rule: Region,
        /// The region's packed code.
        code: u64,
        /// Prefix length of the GeoIP record's network.
        prefix: u8,
    },
    /// Geo or nearest: no data center for the client (or its one is down): by priority.
    ByPriority(u32),
    /// Nearest: the data center closest to the client's location, at this distance (km).
    Nearest(usize, f64),
    /// Least loaded.
    LeastLoaded,
}

/// The chosen endpoints (indices into the balance's endpoints), in answer order.
#[derive(Clone, Copy, Debug)]
pub struct Chosen {
    idx: [u16; MAX_ANSWERS],
    len: usize,
}

impl Default for Chosen {
    fn default() -> Self {
        Chosen {
            idx: [0; MAX_ANSWERS],
            len: 0,
        }
    }
}

impl Chosen {
    /// Adds an endpoint; ignored past the capacity.
    pub fn push(&mut self, i: u16) {
        if self.len < MAX_ANSWERS {
            self.idx[self.len] = i;
            self.len += 1;
        }
    }

    /// The chosen indices.
    pub fn as_slice(&self) -> &[u16] {
        &self.idx[..self.len]
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The outcome of one selection.
#[derive(Clone, Copy, Debug)]
pub struct Decision {
    /// Endpoints answered.
    pub chosen: Chosen,
    /// Whether the balance's `fallback` addresses are answered instead.
    pub fallback: bool,
    /// Whether every endpoint was down and the answer fails open.
    pub failing_open: bool,
    /// ECS scope prefix length the decision depended on (0: not on the client).
    pub scope: u8,
    /// Why.
    pub reason: Reason,
}

/// How the endpoints of one address family of a balanced name stand before any policy runs:
/// the one home of the `when_all_down` rule, which the answer, explain, `/v1/status`,
/// `gslb_balance_failing_open` and the status page all read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Availability {
    /// The name has no endpoint of this family: NODATA, whatever the health.
    NoFamily,
    /// At least one endpoint is up: the policy chooses among those.
    Up,
    /// None up, `when_all_down = "none"`: NODATA.
    AllDownNone,
    /// None up, `when_all_down = "fallback"`: the fallback addresses.
    AllDownFallback,
    /// None up, `when_all_down = "all"`, and some are down rather than drained: fail open,
    /// answering the endpoints that are down as if they were up.
    FailingOpen,
    /// None up and every one drained: nothing to fail open to (NODATA). An operator's drain is
    /// never overridden, even by `when_all_down = "all"`.
    AllDrained,
}

impl Availability {
    /// The rule, from counts over the family's endpoints: how many there are, how many are up,
    /// and how many are not drained (up or down).
    pub fn of(family: usize, up: usize, not_drained: usize, when_all_down: WhenAllDown) -> Self {
        if family == 0 {
            return Availability::NoFamily;
        }
        if up > 0 {
            return Availability::Up;
        }
        match when_all_down {
            WhenAllDown::None => Availability::AllDownNone,
            WhenAllDown::Fallback => Availability::AllDownFallback,
            WhenAllDown::All if not_drained > 0 => Availability::FailingOpen,
            WhenAllDown::All => Availability::AllDrained,
        }
    }

    /// Of the endpoints of `b` with this family (`v4`), under `health` (missing = up).
    pub fn family(b: &BalancedName, v4: bool, health: &[EndpointHealth]) -> Self {
        let (mut family, mut up, mut not_drained) = (0, 0, 0);
        for (i, e) in b.cfg.endpoints.iter().enumerate() {
            if !e.serves(v4) {
                continue;
            }
            family += 1;
            match health.get(i).map_or(EndpointState::Up, |h| h.state) {
                EndpointState::Up => {
                    up += 1;
                    not_drained += 1;
                }
                EndpointState::Down => not_drained += 1,
                EndpointState::Drained => {}
            }
        }
        Availability::of(family, up, not_drained, b.cfg.when_all_down)
    }
}

/// Whether `b` is failing open for A or for AAAA queries under `health`.
pub fn failing_open(b: &BalancedName, health: &[EndpointHealth]) -> bool {
    [true, false]
        .into_iter()
        .any(|v4| Availability::family(b, v4, health) == Availability::FailingOpen)
}

/// What a policy sees: the balanced name, the client and the candidates (up, right family).
pub struct Input<'a> {
    /// The balanced name.
    pub b: &'a BalancedName,
    /// The client.
    pub client: &'a Client,
    /// Health of every endpoint of `b`.
    pub health: &'a [EndpointHealth],
    /// Rotation counter value for this answer.
    pub counter: u64,
    /// A uniformly random draw for this answer.
    pub random: u64,
    /// How many addresses to answer.
    pub answers: usize,
}

/// Runs the policy of `input.b` over `candidates`; returns the scope and reason.
fn run_policy(input: &Input<'_>, candidates: &[u16], out: &mut Chosen) -> (u8, Reason) {
    match input.b.cfg.policy {
        PolicyKind::RoundRobin => rotation::round_robin(input, candidates, out),
        PolicyKind::All => rotation::all(input, candidates, out),
        PolicyKind::Failover => rotation::failover(input, candidates, out),
        PolicyKind::Weighted => weighted::select(input, candidates, out),
        PolicyKind::Hashed => hashed::select(input, candidates, out),
        PolicyKind::Geo => geo::select(input, candidates, out),
        PolicyKind::Nearest => nearest::select(input, candidates, out),
        PolicyKind::LeastLoaded => least_loaded::select(input, candidates, out),
    }
}

/// The shared select step: family, health, drain, `when_all_down`, then the policy.
pub fn decide(
    b: &BalancedName,
    v4: bool,
    client: &Client,
    health: &[EndpointHealth],
    counter: u64,
    random: u64,
) -> Decision {
    with_scratch(b.cfg.endpoints.len(), |candidates| {
        let mut n = 0;
        let mut family = 0;
        let mut not_drained = 0;
        for (i, e) in b.cfg.endpoints.iter().enumerate().take(candidates.len()) {
            if !e.serves(v4) {
                continue;
            }
            family += 1;
            match health.get(i).map_or(EndpointState::Up, |h| h.state) {
                EndpointState::Up => {
                    candidates[n] = i as u16;
                    n += 1;
                    not_drained += 1;
                }
                EndpointState::Down => not_drained += 1,
                EndpointState::Drained => {}
            }
        }
        let mut d = Decision {
            chosen: Chosen::default(),
            fallback: false,
            failing_open: false,
            scope: 0,
            reason: Reason::NoFamily,
        };
        match Availability::of(family, n, not_drained, b.cfg.when_all_down) {
            Availability::NoFamily => return d,
            Availability::AllDownNone => {
                d.reason = Reason::AllDownNone;
                return d;
            }
            Availability::AllDownFallback => {
                d.reason = Reason::AllDownFallback;
                d.fallback = true;
                return d;
            }
            Availability::AllDrained => {
                d.reason = Reason::AllDrained;
                return d;
            }
            Availability::Up => {}
            Availability::FailingOpen => {
                // Every endpoint that is not drained counts as up.
                for (i, e) in b.cfg.endpoints.iter().enumerate().take(candidates.len()) {
                    if e.serves(v4)
                        && health.get(i).map_or(EndpointState::Up, |h| h.state)
                            == EndpointState::Down
                    {
                        candidates[n] = i as u16;
                        n += 1;
                    }
                }
                d.failing_open = true;
            }
        }
        let input = Input {
            b,
            client,
            health,
            counter,
            random,
            answers: b.cfg.answers.min(MAX_ANSWERS),
        };
        let (scope, reason) = run_policy(&input, &candidates[..n], &mut d.chosen);
        d.scope = if client.from_ecs { scope } else { 0 };
        d.reason = reason;
        d
    })
}

/// Lowest priority among `candidates`.
fn lowest_priority(b: &BalancedName, candidates: &[u16]) -> u32 {
    candidates
        .iter()
        .map(|&i| b.cfg.endpoints[i as usize].priority)
        .min()
        .unwrap_or(0)
}

/// Rotates through `group` starting at the counter, taking up to `answers`.
fn rotate(input: &Input<'_>, group: &[u16], out: &mut Chosen) {
    if group.is_empty() {
        return;
    }
    let start = (input.counter % group.len() as u64) as usize;
    for k in 0..group.len().min(input.answers) {
        out.push(group[(start + k) % group.len()]);
    }
}

/// The fallback for client-dependent policies: the lowest priority group, rotating.
fn by_priority(input: &Input<'_>, candidates: &[u16], out: &mut Chosen) -> u32 {
    let p = lowest_priority(input.b, candidates);
    rotate_where(
        input,
        candidates,
        |i| input.b.cfg.endpoints[i as usize].priority == p,
        out,
    );
    p
}

/// `rotate` over the candidates that `keep` accepts, in their order, without collecting them.
/// Returns how many it accepted.
fn rotate_where(
    input: &Input<'_>,
    candidates: &[u16],
    keep: impl Fn(u16) -> bool,
    out: &mut Chosen,
) -> usize {
    let group = || candidates.iter().copied().filter(|&i| keep(i));
    let m = group().count();
    if m == 0 {
        return 0;
    }
    let start = (input.counter % m as u64) as usize;
    for i in group()
        .skip(start)
        .chain(group())
        .take(m.min(input.answers))
    {
        out.push(i);
    }
    m
}

/// Candidate lists of names with at most this many endpoints live in a small array (zeroing
/// room for `MAX_ENDPOINTS` on every query would cost more than the policy itself).
const SMALL_NAME: usize = 64;

/// Runs `f` on a zeroed scratch slice of `n` candidates (at most `MAX_ENDPOINTS`), on the stack
/// and only as large as a small name needs.
fn with_scratch<R>(n: usize, f: impl FnOnce(&mut [u16]) -> R) -> R {
    if n <= SMALL_NAME {
        f(&mut [0u16; SMALL_NAME][..n])
    } else {
        f(&mut [0u16; MAX_ENDPOINTS][..n.min(MAX_ENDPOINTS)])
    }
}

/// A fast, well-mixed 64-bit hash (splitmix64 finaliser over FNV-1a), stable across runs so
/// hashed answers survive restarts.
pub fn stable_hash(parts: &[&[u8]]) -> u64 {
    let mut h = 0xcbf29ce484222325u64;
    for p in parts {
        for &b in *p {
            h = (h ^ b as u64).wrapping_mul(0x100000001b3);
        }
        h = (h ^ 0xff).wrapping_mul(0x100000001b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58476d1ce4e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d049bb133111eb);
    h ^ (h >> 31)
}

/// Bytes of an address, for hashing.
pub fn addr_bytes(a: &IpAddr) -> ([u8; 16], usize) {
    let mut b = [0u8; 16];
    match a {
        IpAddr::V4(v) => {
            b[..4].copy_from_slice(&v.octets());
            (b, 4)
        }
        IpAddr::V6(v) => (v.octets(), 16),
    }
}

#[cfg(test)]
mod tests;
