//! One query in, one response out: the checks every query goes through before the lookup.
//!
//! Owns: FORMERR/NOTIMP/REFUSED/BADVERS/BADCOOKIE decisions, the UDP size limit (RFC 6891
//! §6.2.5 with our `udp_payload_max` cap), the OPT and its echoes (ECS, RFC 7871 §7.2; COOKIE,
//! RFC 7873 §5.2; NSID, RFC 5001), the CHAOS identity answers, and picking the zone.
//! Must not: block, lock, or allocate beyond the caller's reusable buffer; it reads one
//! snapshot for the whole query.

use std::net::IpAddr;

use super::lookup::{Resolution, Resolved, resolve};
use super::rrl::{self, ResponseClass};
use crate::cookie::Verdict;
use crate::metrics::Answered;
use crate::snapshot::Snapshot;
pub use crate::wire::Transport;
use crate::wire::{
    self, MIN_UDP_PAYLOAD, OptOut, ParseError, ResponseWriter, Section, parse_query, rcode, rtype,
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
    /// The query sent a client cookie without a valid server cookie, and the OPT carries a
    /// fresh one of ours: a slip is then BADCOOKIE rather than TC (RFC 7873 §5.2.3), so the
    /// client retries over UDP with the cookie, which exempts it.
    pub slip_badcookie: bool,
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

fn opt_for(edns: &wire::Edns, snap: &Snapshot, ext_rcode: u8) -> OptOut<'static> {
    OptOut {
        payload: snap.udp_payload_max(),
        ext_rcode,
        dnssec_ok: edns.dnssec_ok,
        compact_ok: false,
        ecs: edns.ecs.map(|c| (c, 0)),
        cookie: None,
        nsid: None,
    }
}

/// What a query's COOKIE option earns it (RFC 7873 §5.2).
#[derive(Clone, Copy, PartialEq, Eq)]
enum CookieState {
    /// No cookie, or cookies off: answered as if we did not implement them (§5.2.1).
    Absent,
    /// A client cookie only, or a server cookie that is not (or no longer) ours (§5.2.3/§5.2.4):
    /// the answer carries a fresh server cookie.
    Fresh,
    /// A valid server cookie of ours (§5.2.5): never rate limited.
    Valid,
}

/// The COOKIE option to answer `edns` with, and what the query's cookie is worth. One SipHash
/// per query that sends a cookie (two when a valid one is re-issued), none for the others.
fn cookie_for(snap: &Snapshot, edns: &wire::Edns, peer: IpAddr) -> (Option<[u8; 24]>, CookieState) {
    let Some(c) = edns.cookie.filter(|_| snap.served.config.cookies.enabled) else {
        return (None, CookieState::Absent);
    };
    let secrets = &snap.served.cookie_secrets;
    let now = crate::cookie::now();
    let (server, state) = match c
        .server
        .map(|s| (s, secrets.check(&c.client, &s, peer, now)))
    {
        Some((s, Verdict::Valid { reissue: false })) => (s, CookieState::Valid),
        Some((_, Verdict::Valid { reissue: true })) => {
            (secrets.issue(&c.client, peer, now), CookieState::Valid)
        }
        _ => (secrets.issue(&c.client, peer, now), CookieState::Fresh),
    };
    let mut out = [0u8; 24];
    out[..8].copy_from_slice(&c.client);
    out[8..].copy_from_slice(&server);
    (Some(out), state)
}

/// The TXT string a CHAOS query for `qname` is answered with: the identity for `id.server.`
/// and `hostname.bind.`, the version for `version.server.` and `version.bind.` (None when it
/// is hidden with ""). These four names are what NSD, Knot and BIND answer and what `dig`
/// users ask.
fn chaos_text<'s>(snap: &'s Snapshot, qname: &[u8]) -> Option<&'s str> {
    let server = &snap.served.config.server;
    match qname {
        b"\x02id\x06server\x00" | b"\x08hostname\x04bind\x00" => Some(&server.identity),
        b"\x07version\x06server\x00" | b"\x07version\x04bind\x00" => {
            Some(server.version.as_str()).filter(|v| !v.is_empty())
        }
        _ => None,
    }
}

/// Answers a CHAOS query: TXT for the identity names, with AA, class CH and TTL 0 as NSD and
/// Knot answer; REFUSED for anything else. Returns the RCODE.
fn chaos(snap: &Snapshot, qname: &[u8], qtype: u16, w: &mut ResponseWriter<'_>) -> u16 {
    let Some(text) = chaos_text(snap, qname).filter(|_| qtype == rtype::TXT) else {
        w.set_rcode(rcode::REFUSED);
        return rcode::REFUSED;
    };
    // One character-string (RFC 1035 §3.3.14); the config allows at most 255 bytes.
    let text = &text.as_bytes()[..text.len().min(255)];
    let mut rdata = [0u8; 256];
    rdata[0] = text.len() as u8;
    rdata[1..=text.len()].copy_from_slice(text);
    w.set_aa(true);
    let rdata = &rdata[..=text.len()];
    w.record_in_class(
        Section::Answer,
        qname,
        rtype::TXT,
        rtype::CLASS_CH,
        0,
        rdata,
        true,
    );
    w.rcode()
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
                slip_badcookie: false,
            });
        }
    };
    let limit = match transport {
        Transport::Udp => udp_limit(q.edns.as_ref()),
        Transport::Tcp => u16::MAX as usize,
    };
    let (cookie, cookie_state) = match &q.edns {
        Some(e) => cookie_for(snap, e, peer),
        None => (None, CookieState::Absent),
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
            // RFC 7873 §5.3 and the contract: a valid server cookie proves the address is
            // not spoofed, so there is nothing to reflect and no reason to limit.
            rrl: rrl.filter(|_| cookie_state != CookieState::Valid),
            keep,
            slip_badcookie: cookie_state == CookieState::Fresh,
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
        let mut opt = opt_for(e, snap, 0);
        opt.cookie = cookie;
        if e.nsid {
            opt.nsid = Some(snap.served.config.server.identity.as_bytes());
        }
        w.set_opt(opt);
        if cookie_state == CookieState::Fresh
            && transport == Transport::Udp
            && snap.served.config.cookies.require
        {
            // RFC 7873 §5.2.3/§5.4: no answer, our fresh cookie to retry with.
            w.set_rcode(rcode::BADCOOKIE);
            return done(w, rcode::BADCOOKIE, error());
        }
    }
    if q.qclass == rtype::CLASS_CH {
        let rc = chaos(snap, q.qname.as_bytes(), q.qtype, &mut w);
        let subject = if rc == rcode::NOERROR {
            let name = q.qname.as_bytes();
            rrl_subject(
                snap,
                transport,
                peer,
                ResponseClass::Answer,
                name,
                q.qtype,
                None,
            )
        } else {
            error()
        };
        return done(w, rc, subject);
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
    let Some(zone) = snap.served.zones.answering(q.qname.as_bytes(), q.qtype) else {
        w.set_rcode(rcode::REFUSED);
        return done(w, rcode::REFUSED, error());
    };
    if q.qtype == rtype::NXNAME && zone.signed.is_some() {
        // RFC 9824 §3.5: NXNAME is a meta-type of compact denial, not a type to ask for.
        w.set_rcode(rcode::FORMERR);
        return done(w, rcode::FORMERR, error());
    }
    let client = crate::policy::Client::new(peer, q.edns.as_ref().and_then(|e| e.ecs));
    let mut scope = 0u8;
    let mut balancer = |id: u32, qtype: u16, owner: &[u8], w: &mut ResponseWriter<'_>| {
        let (written, s) = super::balanced::write(snap, id, qtype, &client, owner, w);
        scope = scope.max(s);
        written
    };
    // A signed zone (docs/dnssec.md): the clock is read once, for key timing and windows, and
    // only when the answer carries keys or signatures (a DNSKEY query, or DO=1).
    let signer = zone
        .signed
        .and_then(|i| snap.served.signers.get(i as usize));
    let dnssec_ok = q.edns.as_ref().is_some_and(|e| e.dnssec_ok);
    let mut now = match signer {
        Some(_) if dnssec_ok || q.qtype == rtype::DNSKEY => crate::dnssec::time::now(),
        _ => 0,
    };
    let zones = &snap.served.zones;
    let res = match signer {
        Some(s)
            if super::signed::dnskey_answer(zone, s, q.qname.as_bytes(), q.qtype, &mut w, now) =>
        {
            Resolution::within(zone, Resolved::Answer)
        }
        _ => resolve(
            zones,
            zone,
            q.qname.as_bytes(),
            q.qtype,
            &mut w,
            &mut balancer,
        ),
    };
    // An answer that a balanced name's CNAME took into other zones is signed RRset by RRset
    // with the keys of the zone each comes from, when any zone is signed.
    let crossed = res.crossed && !snap.served.signers.is_empty();
    if let Some(e) = q.edns.as_ref().filter(|e| e.dnssec_ok)
        && (signer.is_some() || crossed)
    {
        if now == 0 {
            now = crate::dnssec::time::now();
        }
        let origin = super::signed::Origin {
            start: zone,
            last: res.last,
            crossed: res.crossed,
            zones,
            signers: &snap.served.signers,
        };
        super::signed::sign(
            &origin,
            q.qname.as_bytes(),
            q.qtype,
            e.compact_ok,
            &mut w,
            now,
        );
    }
    let resolved = res.resolved;
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
        Resolved::NxDomain => res.last.origin(),
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
