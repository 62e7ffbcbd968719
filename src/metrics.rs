//! Query counters kept by the answer path, rendered in Prometheus text format.
//!
//! Owns: per-query counting with relaxed atomics over fixed arrays (no labels from clients, no
//! hashing, no locks). Must not: grow with what clients send: unknown types and codes land in
//! "other".

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::dns::handler::{Outcome, Transport};

/// Query types counted by name; everything else is "other".
const QTYPES: [(u16, &str); 14] = [
    (1, "A"),
    (28, "AAAA"),
    (2, "NS"),
    (5, "CNAME"),
    (6, "SOA"),
    (12, "PTR"),
    (15, "MX"),
    (16, "TXT"),
    (33, "SRV"),
    (43, "DS"),
    (65, "HTTPS"),
    (257, "CAA"),
    (255, "ANY"),
    (0, "other"),
];
/// Response codes counted by name.
const RCODES: [(u16, &str); 8] = [
    (0, "NOERROR"),
    (1, "FORMERR"),
    (2, "SERVFAIL"),
    (3, "NXDOMAIN"),
    (4, "NOTIMP"),
    (5, "REFUSED"),
    (16, "BADVERS"),
    (u16::MAX, "other"),
];
const NQ: usize = QTYPES.len();
const NR: usize = RCODES.len();

/// Counters of the DNS side.
pub struct Metrics {
    queries: [[[AtomicU64; NR]; NQ]; 2],
    truncated: [AtomicU64; 2],
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
        }
    }
}

fn qtype_index(t: Option<u16>) -> usize {
    t.and_then(|t| QTYPES.iter().position(|(v, _)| *v == t))
        .unwrap_or(NQ - 1)
}

fn rcode_index(r: u16) -> usize {
    RCODES.iter().position(|(v, _)| *v == r).unwrap_or(NR - 1)
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

    /// Queries counted for a transport, type name and rcode name.
    pub fn queries(&self, transport: Transport, qtype: &str, rcode: &str) -> u64 {
        let q = QTYPES.iter().position(|(_, n)| *n == qtype);
        let r = RCODES.iter().position(|(_, n)| *n == rcode);
        match (q, r) {
            (Some(q), Some(r)) => self.queries[transport as usize][q][r].load(Ordering::Relaxed),
            _ => 0,
        }
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
    }
}
