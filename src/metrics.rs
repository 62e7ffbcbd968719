//! Query counters kept by the answer path, rendered in Prometheus text format.
//!
//! Owns: per-query counting with relaxed atomics over fixed arrays (no labels from clients, no
//! hashing, no locks). Must not: grow with what clients send: unknown types and codes land in
//! "other".

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::state::ProbeResult;
use crate::wire::{Transport, rcode, rtype};

/// Query types counted by name; everything else is "other" (the 0 row).
const QTYPES: [(u16, &str); 14] = [
    (rtype::A, "A"),
    (rtype::AAAA, "AAAA"),
    (rtype::NS, "NS"),
    (rtype::CNAME, "CNAME"),
    (rtype::SOA, "SOA"),
    (rtype::PTR, "PTR"),
    (rtype::MX, "MX"),
    (rtype::TXT, "TXT"),
    (rtype::SRV, "SRV"),
    (rtype::DS, "DS"),
    (rtype::HTTPS, "HTTPS"),
    (rtype::CAA, "CAA"),
    (rtype::ANY, "ANY"),
    (0, "other"),
];
/// Response codes counted by name; everything else is "other".
const RCODES: [(u16, &str); 9] = [
    (rcode::NOERROR, "NOERROR"),
    (rcode::FORMERR, "FORMERR"),
    (rcode::SERVFAIL, "SERVFAIL"),
    (rcode::NXDOMAIN, "NXDOMAIN"),
    (rcode::NOTIMP, "NOTIMP"),
    (rcode::REFUSED, "REFUSED"),
    (rcode::BADVERS, "BADVERS"),
    (rcode::BADCOOKIE, "BADCOOKIE"),
    (u16::MAX, "other"),
];
const QTYPE_COUNT: usize = QTYPES.len();
const RCODE_COUNT: usize = RCODES.len();

/// What the counters count of one answered query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answered {
    /// QTYPE, when the question parsed.
    pub qtype: Option<u16>,
    /// The full RCODE sent.
    pub rcode: u16,
    /// Whether TC was set.
    pub truncated: bool,
}

/// Queries counted by one worker between flushes, so a batch of answers costs a few shared
/// atomic adds instead of one per query.
#[derive(Debug, Default)]
pub struct Tally {
    cells: [(usize, u64); 16],
    len: usize,
    truncated: [u64; 2],
}

impl Tally {
    /// Counts one query; flushes into `m` when the tally is full.
    pub fn add(&mut self, m: &Metrics, transport: Transport, answer: Answered) {
        let cell = (transport as usize * QTYPE_COUNT + qtype_index(answer.qtype)) * RCODE_COUNT
            + rcode_index(answer.rcode);
        if answer.truncated {
            self.truncated[transport as usize] += 1;
        }
        if let Some(e) = self.cells[..self.len].iter_mut().find(|e| e.0 == cell) {
            e.1 += 1;
            return;
        }
        if self.len == self.cells.len() {
            m.flush(self);
        }
        self.cells[self.len] = (cell, 1);
        self.len += 1;
    }
}

/// Upper bounds (seconds) of the check latency histogram buckets.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Latency and failures of one probe target, labelled by config (check name, probed address).
#[derive(Debug, Default, Clone)]
pub struct ProbeStats {
    /// Cumulative counts per bucket of LATENCY_BUCKETS (plus +Inf at the end).
    pub buckets: [u64; LATENCY_BUCKETS.len() + 1],
    /// Sum of latencies.
    pub sum: f64,
    /// Probes.
    pub count: u64,
    /// Failures by reason class (`ProbeFailure::class`).
    pub failures: BTreeMap<&'static str, u64>,
}

/// Why the server closed a DNS-over-TCP connection (the reasons it counts; a client that hangs
/// up, or a shutdown, is not counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpClosed {
    /// The source address already held `tcp_connections_per_client` connections.
    PerClient = 0,
    /// The table was full: the longest-idle connection made room for a new one (RFC 9210 §4).
    Evicted = 1,
    /// A query arrived, or an answer was taken, slower than `tcp_io_timeout`.
    IoTimeout = 2,
    /// No query for `tcp_idle_timeout`.
    Idle = 3,
}

impl TcpClosed {
    const ALL: [TcpClosed; 4] = [
        TcpClosed::PerClient,
        TcpClosed::Evicted,
        TcpClosed::IoTimeout,
        TcpClosed::Idle,
    ];

    /// The `reason` label.
    pub fn as_str(self) -> &'static str {
        match self {
            TcpClosed::PerClient => "per_client",
            TcpClosed::Evicted => "evicted",
            TcpClosed::IoTimeout => "io_timeout",
            TcpClosed::Idle => "idle",
        }
    }
}

/// Why the admin API refused or closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminClosed {
    /// `connections_max` connections were open: the new one was closed at once.
    Limit = 0,
    /// Headers, body or the reading of a response took longer than `request_timeout`, or a
    /// keep-alive connection stayed idle that long.
    Timeout = 1,
}

impl AdminClosed {
    const ALL: [AdminClosed; 2] = [AdminClosed::Limit, AdminClosed::Timeout];

    /// The `reason` label.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminClosed::Limit => "limit",
            AdminClosed::Timeout => "timeout",
        }
    }
}

/// Counters of the DNS side and of the prober.
pub struct Metrics {
    queries: [[[AtomicU64; RCODE_COUNT]; QTYPE_COUNT]; 2],
    truncated: [AtomicU64; 2],
    tcp_closed: [AtomicU64; 4],
    admin_closed: [AtomicU64; 2],
    /// Per (check, probed address): written by the health publisher only, read by /metrics.
    probes: Mutex<BTreeMap<String, BTreeMap<SocketAddr, ProbeStats>>>,
    /// Probes that could not run because of a local problem (`ProbeResult::is_local`).
    probe_errors_local: AtomicU64,
    /// Health publications, and balanced names whose health rows they rewrote.
    health_publications: AtomicU64,
    health_names_updated: AtomicU64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            queries: std::array::from_fn(|_| {
                std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0)))
            }),
            truncated: std::array::from_fn(|_| AtomicU64::new(0)),
            tcp_closed: std::array::from_fn(|_| AtomicU64::new(0)),
            admin_closed: std::array::from_fn(|_| AtomicU64::new(0)),
            probes: Mutex::new(BTreeMap::new()),
            probe_errors_local: AtomicU64::new(0),
            health_publications: AtomicU64::new(0),
            health_names_updated: AtomicU64::new(0),
        }
    }
}

fn qtype_index(t: Option<u16>) -> usize {
    t.and_then(|t| QTYPES.iter().position(|(v, _)| *v == t))
        .unwrap_or(QTYPE_COUNT - 1)
}

fn rcode_index(r: u16) -> usize {
    RCODES
        .iter()
        .position(|(v, _)| *v == r)
        .unwrap_or(RCODE_COUNT - 1)
}

impl Metrics {
    /// Counts one answered query.
    pub fn query(&self, transport: Transport, answer: Answered) {
        let t = transport as usize;
        self.queries[t][qtype_index(answer.qtype)][rcode_index(answer.rcode)]
            .fetch_add(1, Ordering::Relaxed);
        if answer.truncated {
            self.truncated[t].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one DNS-over-TCP connection the server closed, by why.
    pub fn tcp_closed(&self, why: TcpClosed) {
        self.tcp_closed[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one admin connection refused or cut, by why.
    pub fn admin_closed(&self, why: AdminClosed) {
        self.admin_closed[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Adds a worker's tally to the shared counters (one atomic add per distinct cell).
    pub fn flush(&self, tally: &mut Tally) {
        for &(cell, n) in &tally.cells[..tally.len] {
            let (t, rest) = (
                cell / (QTYPE_COUNT * RCODE_COUNT),
                cell % (QTYPE_COUNT * RCODE_COUNT),
            );
            self.queries[t][rest / RCODE_COUNT][rest % RCODE_COUNT].fetch_add(n, Ordering::Relaxed);
        }
        for (t, n) in tally.truncated.iter().enumerate() {
            if *n > 0 {
                self.truncated[t].fetch_add(*n, Ordering::Relaxed);
            }
        }

        *tally = Tally::default();
    }

    /// Records one probe result (called by the health side, never on the answer path). A local
    /// result (the probe could not run here) is counted in `probe_errors_local` only: it is not
    /// a probe of the endpoint, so neither its latency nor a failure of the target.
    pub fn probe(&self, check: &str, target: SocketAddr, result: &ProbeResult) {
        if result.is_local() {
            self.probe_errors_local.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let Ok(mut m) = self.probes.lock() else {
            return;
        };
        // Look up by &str first: no allocation per probe once the check is known.
        if !m.contains_key(check) {
            m.insert(check.to_string(), BTreeMap::new());
        }
        let Some(per_target) = m.get_mut(check) else {
            return;
        };
        let s = per_target.entry(target).or_default();
        let latency = result.latency;
        let i = LATENCY_BUCKETS
            .iter()
            .position(|b| latency <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        s.buckets[i] += 1;
        s.sum += latency;
        s.count += 1;
        if let Err(f) = &result.outcome {
            *s.failures.entry(f.class()).or_default() += 1;
        }
    }

    /// Probes that could not run because of a local problem, since start
    /// (`gslb_probe_errors_total{kind="local"}`).
    pub fn probe_errors_local(&self) -> u64 {
        self.probe_errors_local.load(Ordering::Relaxed)
    }

    /// Counts one health publication that rewrote the rows of `names` balanced names (every
    /// name for a reload or a drain; those a target's change touched otherwise).
    pub fn health_published(&self, names: usize) {
        self.health_publications.fetch_add(1, Ordering::Relaxed);
        self.health_names_updated
            .fetch_add(names as u64, Ordering::Relaxed);
    }

    /// A copy of the probe statistics.
    pub fn probe_stats(&self) -> BTreeMap<(String, SocketAddr), ProbeStats> {
        let Ok(m) = self.probes.lock() else {
            return BTreeMap::new();
        };
        m.iter()
            .flat_map(|(c, t)| t.iter().map(|(a, s)| ((c.clone(), *a), s.clone())))
            .collect()
    }

    /// Appends the counters in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        out.push_str("# HELP gslb_dns_queries_total DNS queries answered, by transport, query type and response code.\n");
        out.push_str("# TYPE gslb_dns_queries_total counter\n");
        for (ti, tn) in [(0, "udp"), (1, "tcp")] {
            for (qi, (_, qn)) in QTYPES.iter().enumerate() {
                for (ri, (_, rn)) in RCODES.iter().enumerate() {
                    let v = self.queries[ti][qi][ri].load(Ordering::Relaxed);
                    if v > 0 {
                        let _ = writeln!(
                            out,
                            "gslb_dns_queries_total{{transport=\"{tn}\",qtype=\"{qn}\",rcode=\"{rn}\"}} {v}"
                        );
                    }
                }
            }
        }
        out.push_str("# HELP gslb_dns_truncated_total Responses sent with TC=1.\n");
        out.push_str("# TYPE gslb_dns_truncated_total counter\n");
        for (ti, tn) in [(0, "udp"), (1, "tcp")] {
            let _ = writeln!(
                out,
                "gslb_dns_truncated_total{{transport=\"{tn}\"}} {}",
                self.truncated[ti].load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP gslb_tcp_closed_total DNS-over-TCP connections the server closed, by reason (per_client, evicted, io_timeout, idle).\n");
        out.push_str("# TYPE gslb_tcp_closed_total counter\n");
        for why in TcpClosed::ALL {
            let _ = writeln!(
                out,
                "gslb_tcp_closed_total{{reason=\"{}\"}} {}",
                why.as_str(),
                self.tcp_closed[why as usize].load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP gslb_admin_closed_total Admin API connections refused or cut, by reason (limit, timeout).\n");
        out.push_str("# TYPE gslb_admin_closed_total counter\n");
        for why in AdminClosed::ALL {
            let _ = writeln!(
                out,
                "gslb_admin_closed_total{{reason=\"{}\"}} {}",
                why.as_str(),
                self.admin_closed[why as usize].load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP gslb_health_publications_total Health snapshots published (a probe result that changes nothing publishes none).\n");
        out.push_str("# TYPE gslb_health_publications_total counter\n");
        let _ = writeln!(
            out,
            "gslb_health_publications_total {}",
            self.health_publications.load(Ordering::Relaxed)
        );
        out.push_str("# HELP gslb_health_names_updated_total Balanced names whose endpoint health a publication rewrote (all of them on a reload or a drain; those a changed target serves otherwise).\n");
        out.push_str("# TYPE gslb_health_names_updated_total counter\n");
        let _ = writeln!(
            out,
            "gslb_health_names_updated_total {}",
            self.health_names_updated.load(Ordering::Relaxed)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{LocalError, ProbeFailure, ProbePass};

    #[test]
    fn local_results_count_apart_from_the_targets_probes() {
        let m = Metrics::default();
        let t: SocketAddr = "192.0.2.1:80".parse().unwrap();
        let with = |outcome| ProbeResult {
            outcome,
            latency: 0.01,
        };
        m.probe("web", t, &with(Ok(ProbePass::Connected)));
        m.probe("web", t, &with(Err(ProbeFailure::Refused)));
        let emfile = LocalError::Os {
            errno: libc::EMFILE,
        };
        m.probe("web", t, &with(Err(emfile.clone().into())));
        m.probe("web", t, &with(Err(emfile.into())));
        assert_eq!(m.probe_errors_local(), 2);
        let stats = m.probe_stats();
        let s = &stats[&("web".to_string(), t)];
        assert_eq!(s.count, 2, "local results are not probes of the target");
        assert_eq!(s.failures.get("refused"), Some(&1));
        assert_eq!(s.failures.get("local"), None);
    }
}
