//! One query in, one response out: the checks every query goes through before the lookup.
//!
//! Owns: FORMERR/NOTIMP/REFUSED/BADVERS decisions, the UDP size limit (RFC 6891 §6.2.5 with our
//! `udp_payload_max` cap), the OPT and ECS echo (RFC 7871 §7.2), and picking the zone.
//! Must not: block, lock, or allocate beyond the caller's reusable buffer; it reads one
//! snapshot for the whole query.

use std::net::IpAddr;

use super::lookup::resolve;
use crate::snapshot::Snapshot;
use crate::wire::{
    self, MIN_UDP_PAYLOAD, OptOut, ParseError, ResponseWriter, parse_query, rcode, rtype,
};

/// How the query arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP: answers are limited by the client's EDNS payload size (or 512).
    Udp,
    /// TCP: answers up to 65535 octets.
    Tcp,
}

impl Transport {
    /// Lower-case name, for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
}

/// What happened to one query, for metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// QTYPE, when the question parsed.
    pub qtype: Option<u16>,
    /// The full RCODE sent.
    pub rcode: u16,
    /// Whether TC was set.
    pub truncated: bool,
}

fn opt_for(edns: &wire::Edns, snap: &Snapshot, ext_rcode: u8) -> OptOut {
    OptOut {
        payload: snap.udp_payload_max(),
        ext_rcode,
        dnssec_ok: edns.dnssec_ok,
        ecs: edns.ecs.map(|c| (c, 0)),
    }
}

/// Answers `packet` from `peer` into `out`. Returns None when nothing should be sent.
pub fn handle(
    snap: &Snapshot,
    packet: &[u8],
    peer: IpAddr,
    transport: Transport,
    out: &mut Vec<u8>,
) -> Option<Outcome> {
    let udp_limit = |edns: Option<&wire::Edns>| match edns {
        None => MIN_UDP_PAYLOAD as usize,
        Some(e) => e
            .payload
            .clamp(MIN_UDP_PAYLOAD, snap.udp_payload_max().max(MIN_UDP_PAYLOAD))
            as usize,
    };
    let q = match parse_query(packet) {
        Ok(q) => q,
        Err(ParseError::Drop) => return None,
        Err(ParseError::Reply {
            rcode: rc,
            question_end,
            edns,
        }) => {
            let limit = match transport {
                Transport::Udp => udp_limit(edns.as_ref()),
                Transport::Tcp => u16::MAX as usize,
            };
            let mut w = ResponseWriter::new(out, packet, question_end, &[], limit);
            if let Some(e) = &edns {
                w.set_opt(opt_for(e, snap, 0));
            }
            w.set_rcode(rc);
            let truncated = w.truncated();
            w.finish();
            return Some(Outcome {
                qtype: None,
                rcode: rc,
                truncated,
            });
        }
    };
    let limit = match transport {
        Transport::Udp => udp_limit(q.edns.as_ref()),
        Transport::Tcp => u16::MAX as usize,
    };
    let mut w = ResponseWriter::new(out, packet, Some(q.question_end), q.qname.as_bytes(), limit);
    let done = |w: ResponseWriter<'_>, rc: u16| {
        let truncated = w.truncated();
        w.finish();
        Some(Outcome {
            qtype: Some(q.qtype),
            rcode: rc,
            truncated,
        })
    };
    if let Some(e) = &q.edns {
        if e.version > 0 {
            // RFC 6891 §6.1.3: BADVERS, with our highest version (0) in the OPT.
            let mut opt = opt_for(e, snap, 0);
            opt.ecs = None;
            w.set_opt(opt);
            w.set_rcode(rcode::BADVERS);
            return done(w, rcode::BADVERS);
        }
        w.set_opt(opt_for(e, snap, 0));
    }
    let early = if q.qclass != rtype::CLASS_IN {
        // Only IN is served; other classes never see IN data.
        Some(rcode::REFUSED)
    } else {
        match q.qtype {
            rtype::OPT => Some(rcode::FORMERR),
            rtype::MAILA | rtype::MAILB => Some(rcode::NOTIMP),
            // No zone transfers are offered.
            rtype::AXFR | rtype::IXFR => Some(rcode::REFUSED),
            _ => None,
        }
    };
    if let Some(rc) = early {
        w.set_rcode(rc);
        return done(w, rc);
    }
    let Some(zone) = snap.served.zones.find(q.qname.as_bytes()) else {
        w.set_rcode(rcode::REFUSED);
        return done(w, rcode::REFUSED);
    };
    let client = crate::policy::Client::new(peer, q.edns.as_ref().and_then(|e| e.ecs));
    let mut scope = 0u8;
    let mut balancer = |id: u32, qtype: u16, owner: &[u8], w: &mut ResponseWriter<'_>| {
        let (n, s) = super::balanced::write(snap, id, qtype, &client, owner, w);
        scope = scope.max(s);
        n
    };
    resolve(zone, q.qname.as_bytes(), q.qtype, &mut w, &mut balancer);
    if let Some(e) = &q.edns
        && e.ecs.is_some()
    {
        w.set_ecs_scope(scope);
    }
    let rc = w.rcode();
    done(w, rc)
}
