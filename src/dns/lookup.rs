//! The authoritative lookup of RFC 1034 §4.3.2 over one zone, written straight into a response.
//!
//! Owns: delegations (referrals with glue, AA=0), CNAME chains inside the zone, wildcards by the
//! closest-encloser rule (RFC 4592), empty non-terminals (RFC 8020), negative answers with the
//! SOA at min(TTL, MINIMUM) (RFC 2308), minimal ANY (RFC 8482), and handing balanced names to
//! the balancer. Must not: block, allocate per query, or know how balanced answers are chosen.

use crate::wire::name::{NameBuf, is_at_or_below};
use crate::wire::{ResponseWriter, Section, rcode, rtype};
use crate::zone::find::{Found, find};
use crate::zone::{RRset, Zone};

/// Longest CNAME chain followed inside a zone.
const MAX_CHAIN: usize = 8;

/// Writes the answer of a balanced name: `(balance id, qtype, owner, writer)` → records written.
/// Zero records means the name has nothing of that type right now (NODATA).
pub type Balancer<'a> = dyn FnMut(u32, u16, &[u8], &mut ResponseWriter<'_>) -> usize + 'a;

fn write_set(w: &mut ResponseWriter<'_>, section: Section, owner: &[u8], set: &RRset) -> bool {
    write_set_ttl(w, section, owner, set, set.ttl, true)
}

fn write_set_ttl(
    w: &mut ResponseWriter<'_>,
    section: Section,
    owner: &[u8],
    set: &RRset,
    ttl: u32,
    required: bool,
) -> bool {
    set.rdatas()
        .all(|r| w.record(section, owner, set.rtype, ttl, r, required))
}

fn negative(zone: &Zone, w: &mut ResponseWriter<'_>, rc: u16) {
    w.set_rcode(rc);
    if let Some(soa) = zone.soa() {
        write_set_ttl(w, Section::Authority, &zone.origin, soa, zone.neg_ttl, true);
    }
}

/// Address records of `target` for the additional section, when the zone holds them outside
/// any delegation (or as glue below `cut`, when given).
fn additional(zone: &Zone, w: &mut ResponseWriter<'_>, target: &[u8], cut: Option<&[u8]>) {
    let required = cut.is_some_and(|c| is_at_or_below(target, c));
    let node = if cut.is_some() {
        zone.node(target)
    } else {
        match find(zone, target, rtype::A) {
            Found::Node(n) if zone.node(target).is_some() => Some(n),
            _ => None,
        }
    };
    let Some(node) = node else { return };
    for t in [rtype::A, rtype::AAAA] {
        if let Some(set) = node.get(t) {
            write_set_ttl(w, Section::Additional, target, set, set.ttl, required);
        }
    }
}

fn hash_name(n: &[u8]) -> u64 {
    // FNV-1a: enough to notice a name seen before in a short chain.
    n.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// Answers `qname`/`qtype` from `zone` into `w`, setting AA and RCODE.
pub fn resolve(
    zone: &Zone,
    qname: &[u8],
    qtype: u16,
    w: &mut ResponseWriter<'_>,
    balancer: &mut Balancer<'_>,
) {
    w.set_aa(true);
    w.set_rcode(rcode::NOERROR);
    // The query name is already lower-cased wire form; a copy is made only to follow a CNAME.
    let mut cur: Option<NameBuf> = None;
    let mut seen = [0u64; MAX_CHAIN];
    for hop in 0..MAX_CHAIN {
        let owner = cur.as_ref().map_or(qname, NameBuf::as_bytes);
        let node = match find(zone, owner, qtype) {
            Found::NxDomain => return negative(zone, w, rcode::NXDOMAIN),
            Found::Cut(cut, node) => {
                if hop == 0 {
                    w.set_aa(false);
                }
                if let Some(ns) = node.get(rtype::NS) {
                    write_set(w, Section::Authority, cut, ns);
                    for t in ns.targets.iter() {
                        additional(zone, w, t, Some(cut));
                    }
                }
                return;
            }
            Found::Node(node) => node,
        };
        // RFC 1034 §4.3.2 step 3a: a CNAME is followed unless QTYPE matches it, and ANY
        // matches every type (RFC 8482 §4.2 then answers with that one RRset).
        if qtype != rtype::CNAME
            && qtype != rtype::ANY
            && let Some(cname) = node.get(rtype::CNAME)
        {
            if !write_set(w, Section::Answer, owner, cname) {
                return;
            }
            let Some(target) = cname.rdatas().next().and_then(NameBuf::from_wire) else {
                return;
            };
            seen[hop] = hash_name(owner);
            let h = hash_name(target.as_bytes());
            if !is_at_or_below(target.as_bytes(), &zone.origin) || seen[..=hop].contains(&h) {
                return;
            }
            cur = Some(target);
            continue;
        }
        if let Some(id) = node.balance
            && (qtype == rtype::A || qtype == rtype::AAAA || qtype == rtype::ANY)
        {
            let written = if qtype == rtype::ANY {
                match balancer(id, rtype::A, owner, w) {
                    0 => balancer(id, rtype::AAAA, owner, w),
                    n => n,
                }
            } else {
                balancer(id, qtype, owner, w)
            };
            if written == 0 {
                negative(zone, w, rcode::NOERROR);
            }
            return;
        }
        let set = if qtype == rtype::ANY {
            // RFC 8482 §4.2: answer with one RRset of those present.
            node.rrsets.first()
        } else {
            node.get(qtype)
        };
        let Some(set) = set else {
            return negative(zone, w, rcode::NOERROR);
        };
        if write_set(w, Section::Answer, owner, set) {
            for t in set.targets.iter() {
                additional(zone, w, t, None);
            }
        }
        return;
    }
}
