//! One query in, one response out: the checks every query goes through before the lookup.
//!
//! Owns: FORMERR/NOTIMP/REFUSED/BADVERS decisions, the UDP size limit (RFC 6891 §6.2.5 with our
//! `udp_payload_max` cap), the OPT and ECS echo (RFC 7871 §7.2), and picking the zone.
//! Must not: block, lock, or allocate beyond the caller's reusable buffer; it reads one
//! snapshot for the whole query.

use std::net::IpAddr;

use super::lookup::{Resolved, resolve};
use super::rrl::{self, ResponseClass};
use crate::metrics::Answered;
use crate::snapshot::Snapshot;
pub use crate::wire::Transport;
use crate::wire::{
    self, MIN_UDP_PAYLOAD, OptOut, ParseError, ResponseWriter, parse_query, rcode, rtype,
};

/// What happened to one query, for metrics and rate limiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// What the query counters count.
    pub answered: Answered,
    /// The rate-limiting bucket of a UDP answer, unless the client is exempt (or RRL is off).
    pub rrl: Option<RrlSubject>,
    /// Where the question ends and how long the OPT record is: what a slipped answer keeps.
    pub keep: (u16, u16),
}

/// An answer as response rate limiting counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RrlSubject {
    /// Its class.
    pub class: ResponseClass,
    /// Its bucket key.
    pub key: u64,
    /// The client block (for the log line of a newly limited block).
    pub block: IpAddr,
}

/// The rate-limiting subject of an answer to `peer`, or None when it is not limited: TCP, RRL
/// off, or an exempt client.
fn rrl_subject(
    snap: &Snapshot,
    transport: Transport,
    peer: IpAddr,
    class: ResponseClass,
    name: &[u8],
    qtype: u16,
    tailored_to: Option<(IpAddr, u8)>,
) -> Option<RrlSubject> {
    let cfg = &snap.served.config.rrl;
    if transport == Transport::Tcp || !cfg.enabled || cfg.rates[class as usize] == 0 {
        return None;
    }
    let peer = match peer {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
        v4 => v4,
    };
    if cfg.exempt.iter().any(|n| n.contains(&peer)) {
        return None;
    }
    let block = rrl::block(peer, cfg.ipv4_prefix, cfg.ipv6_prefix);
    Some(RrlSubject {
        class,
        key: rrl::key(block, class, name, qtype, tailored_to),
        block,
    })
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
            let keep = (w.question_end() as u16, w.opt_len() as u16);
            w.finish();
            return Some(Outcome {
                answered: Answered {
                    qtype: None,
                    rcode: rc,
                    truncated,
                },
                rrl: rrl_subject(snap, transport, peer, ResponseClass::Error, &[], 0, None),
                keep,
            });
        }
    };
    let limit = match transport {
        Transport::Udp => udp_limit(q.edns.as_ref()),
        Transport::Tcp => u16::MAX as usize,
    };
    let mut w = ResponseWriter::new(out, packet, Some(q.question_end), q.qname.as_bytes(), limit);
    let done = |w: ResponseWriter<'_>, rc: u16, rrl: Option<RrlSubject>| {
        let truncated = w.truncated();
        let keep = (w.question_end() as u16, w.opt_len() as u16);
        w.finish();
        Some(Outcome {
            answered: Answered {
                qtype: Some(q.qtype),
                rcode: rc,
                truncated,
            },
            rrl,
            keep,
        })
    };
    let error = || rrl_subject(snap, transport, peer, ResponseClass::Error, &[], 0, None);
    if let Some(e) = &q.edns {
        if e.version > 0 {
            // RFC 6891 §6.1.3: BADVERS, with our highest version (0) in the OPT.
            let mut opt = opt_for(e, snap, 0);
            opt.ecs = None;
            w.set_opt(opt);
            w.set_rcode(rcode::BADVERS);
            return done(w, rcode::BADVERS, error());
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
        return done(w, rc, error());
    }
    let Some(zone) = snap.served.zones.find(q.qname.as_bytes()) else {
        w.set_rcode(rcode::REFUSED);
        return done(w, rcode::REFUSED, error());
    };
    let client = crate::policy::Client::new(peer, q.edns.as_ref().and_then(|e| e.ecs));
    let mut scope = 0u8;
    let mut balancer = |id: u32, qtype: u16, owner: &[u8], w: &mut ResponseWriter<'_>| {
        let (n, s) = super::balanced::write(snap, id, qtype, &client, owner, w);
        scope = scope.max(s);
        n
    };
    let resolved = resolve(zone, q.qname.as_bytes(), q.qtype, &mut w, &mut balancer);
    let mut tailored_to = None;
    if let Some(e) = &q.edns
        && let Some(ecs) = e.ecs
    {
        w.set_ecs_scope(scope);
        if scope > 0 {
            tailored_to = Some((crate::policy::subnet::mask(ecs.addr, scope), scope));
        }
    }
    let name: &[u8] = match resolved {
        Resolved::Answer | Resolved::NoData => q.qname.as_bytes(),
        Resolved::NxDomain => &zone.origin,
        Resolved::Referral(cut) => cut,
    };
    let subject = rrl_subject(
        snap,
        transport,
        peer,
        resolved.class(),
        name,
        q.qtype,
        tailored_to,
    );
    let rc = w.rcode();
    done(w, rc, subject)
}
