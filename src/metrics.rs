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

use crate::dns::handler::{Outcome, Transport};
use crate::dns::rrl::{Action, ResponseClass};
use crate::state::ProbeResult;
use crate::wire::{rcode, rtype};

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

/// Queries counted by one worker between flushes, so a batch of answers costs a few shared
/// atomic adds instead of one per query.
#[derive(Debug, Default)]
pub struct Tally {
    cells: [(usize, u64); 16],
    len: usize,
    truncated: [u64; 2],
    /// Rate-limited UDP answers, by action and class.
    rrl: [[u64; 5]; 3],
}

impl Tally {
    /// Counts one answer that response rate limiting looked at.
    pub fn rrl(&mut self, action: Action, class: ResponseClass) {
        self.rrl[action as usize][class as usize] += 1;
    }

    /// Counts one query; flushes into `m` when the tally is full.
    pub fn add(&mut self, m: &Metrics, transport: Transport, o: &Outcome) {
        let cell = (transport as usize * QTYPE_COUNT + qtype_index(o.qtype)) * RCODE_COUNT
            + rcode_index(o.rcode);
        if o.truncated {
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
pub const LATENCY_BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Latency and failures of one probe target, labelled by config (check name, probed address).
#[derive(Debug, Default, Clone)]
pub struct ProbeStats {
    /// Cumulative counts per bucket of LATENCY_BUCKETS (plus +Inf at the end).
    pub buckets: [u64; 12],
    /// Sum of latencies.
    pub sum: f64,
    /// Probes.
    pub count: u64,
    /// Failures by reason class (`ProbeFailure::class`).
    pub failures: BTreeMap<&'static str, u64>,
}

/// Counters of the DNS side and of the prober.
pub struct Metrics {
    queries: [[[AtomicU64; RCODE_COUNT]; QTYPE_COUNT]; 2],
    truncated: [AtomicU64; 2],
    rrl: [[AtomicU64; 5]; 3],
    /// Per (check, probed address): written by the health publisher only, read by /metrics.
    probes: Mutex<BTreeMap<String, BTreeMap<SocketAddr, ProbeStats>>>,
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
            rrl: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            probes: Mutex::new(BTreeMap::new()),
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
    pub fn query(&self, transport: Transport, o: &Outcome) {
        let t = transport as usize;
        self.queries[t][qtype_index(o.qtype)][rcode_index(o.rcode)].fetch_add(1, Ordering::Relaxed);
        if o.truncated {
            self.truncated[t].fetch_add(1, Ordering::Relaxed);
        }
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
        for (a, row) in tally.rrl.iter().enumerate() {
            for (c, n) in row.iter().enumerate() {
                if *n > 0 {
                    self.rrl[a][c].fetch_add(*n, Ordering::Relaxed);
                }
            }
        }
        *tally = Tally::default();
    }

    /// Records one probe result (called by the health side, never on the answer path).
    pub fn probe(&self, check: &str, target: SocketAddr, result: &ProbeResult) {
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
        out.push_str("# HELP gslb_rrl_responses_total UDP answers response rate limiting counted, by what it did (sent in full, slipped as TC=1 or BADCOOKIE, dropped) and response class; with log_only, what it would have done.\n");
        out.push_str("# TYPE gslb_rrl_responses_total counter\n");
        for action in Action::ALL {
            for class in ResponseClass::ALL {
                let _ = writeln!(
                    out,
                    "gslb_rrl_responses_total{{action=\"{}\",class=\"{}\"}} {}",
                    action.as_str(),
                    class.as_str(),
                    self.rrl[action as usize][class as usize].load(Ordering::Relaxed)
                );
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
    }
}
