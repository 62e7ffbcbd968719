//! The authoritative lookup of RFC 1034 §4.3.2, written straight into a response.
//!
//! Owns: delegations (referrals with glue, AA=0), CNAME chains (a zone's CNAMEs inside their
//! zone, as Knot and NSD answer; a balanced name's CNAME into whichever served zone holds its
//! target), wildcards by the closest-encloser rule (RFC 4592), empty non-terminals (RFC 8020),
//! negative answers with the SOA at min(TTL, MINIMUM) (RFC 2308), minimal ANY (RFC 8482), and
//! handing balanced names to the balancer. Must not: block, allocate per query, or know how
//! balanced answers are chosen.

use super::rrl::ResponseClass;
use crate::wire::name::{NameBuf, is_at_or_below};
use crate::wire::{ResponseWriter, Section, rcode, rtype};
use crate::zone::find::{Found, find};
use crate::zone::{RRset, ServedZone, ZoneSet};

/// Longest CNAME chain followed.
const MAX_CHAIN: usize = 8;

/// What the balancer wrote for a balanced name and query type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Balanced<'a> {
    /// Nothing: the name answers this type from the zone's records (an address name asked for
    /// another type than A, AAAA or ANY).
    Skip,
    /// This many address records; zero means nothing of that type right now (NODATA).
    Records(usize),
    /// One CNAME, to this target (uncompressed, lower-cased wire form), which the lookup
    /// follows into the served zone that holds it, if any.
    Cname(&'a [u8]),
}

/// Writes the answer of a balanced name: `(balance id, qtype, owner, writer)` → what it wrote.
/// `'f` is what the balancer borrows; `'a` what the targets it returns borrow (the snapshot).
pub type Balancer<'f, 'a> =
    dyn FnMut(u32, u16, &[u8], &mut ResponseWriter<'_>) -> Balanced<'a> + 'f;

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

fn negative(zone: &ServedZone, w: &mut ResponseWriter<'_>, rc: u16) {
    w.set_rcode(rc);
    if let Some(soa) = zone.zone.soa() {
        write_set_ttl(
            w,
            Section::Authority,
            zone.origin(),
            soa,
            zone.zone.neg_ttl,
            true,
        );
    }
}

/// Address records of `target` for the additional section, when the zone holds them outside
/// any delegation (or as glue below `cut`, when given).
fn additional(zone: &ServedZone, w: &mut ResponseWriter<'_>, target: &[u8], cut: Option<&[u8]>) {
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

/// What the lookup found, for response rate limiting: it classifies answers by outcome, not
/// by RCODE, and keys each class by a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolved<'a> {
    /// Records answered (also a CNAME chain, however it ends but NXDOMAIN).
    Answer,
    /// The name exists without data of the type.
    NoData,
    /// The name does not exist.
    NxDomain,
    /// A referral; the delegation's name (the zone's origin when the cut was reached through a
    /// CNAME, whose target is not kept).
    Referral(&'a [u8]),
}

impl Resolved<'_> {
    /// The rate-limiting class of this outcome.
    pub fn class(self) -> ResponseClass {
        match self {
            Resolved::Answer => ResponseClass::Answer,
            Resolved::NoData => ResponseClass::NoData,
            Resolved::NxDomain => ResponseClass::NxDomain,
            Resolved::Referral(_) => ResponseClass::Referral,
        }
    }
}

/// What the lookup found and where it ended.
#[derive(Clone, Copy, Debug)]
pub struct Resolution<'a> {
    /// What it found.
    pub resolved: Resolved<'a>,
    /// The zone of the last name looked up: a negative answer's SOA is this zone's.
    pub last: &'a ServedZone,
    /// Whether a balanced name's CNAME took the answer into another zone, so that its records
    /// come from more than one zone.
    pub crossed: bool,
}

impl<'a> Resolution<'a> {
    /// An answer from `zone` alone.
    pub fn within(zone: &'a ServedZone, resolved: Resolved<'a>) -> Self {
        Resolution {
            resolved,
            last: zone,
            crossed: false,
        }
    }
}

/// Answers `qname`/`qtype`, starting in `zone` (the most specific of `zones` for `qname`),
/// into `w`, setting AA and RCODE; says what it found.
pub fn resolve<'a>(
    zones: &'a ZoneSet,
    zone: &'a ServedZone,
    qname: &'a [u8],
    qtype: u16,
    w: &mut ResponseWriter<'_>,
    balancer: &mut Balancer<'_, 'a>,
) -> Resolution<'a> {
    let mut res = Resolution::within(zone, Resolved::Answer);
    res.resolved = resolve_from(zones, &mut res, qname, qtype, w, balancer);
    res
}

fn resolve_from<'a>(
    zones: &'a ZoneSet,
    res: &mut Resolution<'a>,
    qname: &'a [u8],
    qtype: u16,
    w: &mut ResponseWriter<'_>,
    balancer: &mut Balancer<'_, 'a>,
) -> Resolved<'a> {
    let mut zone = res.last;
    w.set_aa(true);
    w.set_rcode(rcode::NOERROR);
    // The query name is already lower-cased wire form; a lower-cased copy (on the stack) is made
    // only to look up a CNAME's target.
    let mut target_key: Option<NameBuf> = None;
    // The owner of every hop so far: the query name, then each CNAME target as the zone holds
    // it (borrowed, in its file's letter case). Names are compared whole, so only a real repeat
    // ends a chain.
    let mut chain: [&[u8]; MAX_CHAIN] = [&[]; MAX_CHAIN];
    chain[0] = qname;
    for hop in 0..MAX_CHAIN {
        let owner = target_key.as_ref().map_or(qname, NameBuf::as_bytes);
        let node = match find(zone, owner, qtype) {
            Found::NxDomain => {
                negative(zone, w, rcode::NXDOMAIN);
                return Resolved::NxDomain;
            }
            Found::Cut(cut, node) => {
                // At the first hop the cut is a suffix of the query name.
                let delegation = if hop == 0 {
                    w.set_aa(false);
                    &qname[qname.len() - cut.len()..]
                } else {
                    zone.origin()
                };
                if let Some(ns) = node.get(rtype::NS) {
                    write_set(w, Section::Authority, cut, ns);
                    for t in ns.targets.iter() {
                        additional(zone, w, t, Some(cut));
                    }
                }
                return Resolved::Referral(delegation);
            }
            Found::Node(node) => node,
        };
        // A balanced name answers first: addresses, or one CNAME (for every type) followed
        // below as a CNAME of the zone is.
        let mut balanced_target = None;
        if let Some(id) = node.balance {
            match balancer(id, qtype, owner, w) {
                Balanced::Skip => {}
                Balanced::Records(0) => {
                    negative(zone, w, rcode::NOERROR);
                    return Resolved::NoData;
                }
                Balanced::Records(_) => return Resolved::Answer,
                Balanced::Cname(_) if qtype == rtype::CNAME || qtype == rtype::ANY => {
                    return Resolved::Answer;
                }
                Balanced::Cname(target) => balanced_target = Some(target),
            }
        }
        // RFC 1034 §4.3.2 step 3a: a CNAME is followed unless QTYPE matches it, and ANY
        // matches every type (RFC 8482 §4.2 then answers with that one RRset).
        let cname_target = match balanced_target {
            Some(t) => Some(t),
            None if qtype != rtype::CNAME && qtype != rtype::ANY => match node.get(rtype::CNAME) {
                Some(cname) => {
                    if !write_set(w, Section::Answer, owner, cname) {
                        return Resolved::Answer;
                    }
                    // The RDATA of a CNAME is the name alone (RFC 1035 §3.3.1), uncompressed.
                    match cname.rdatas().next() {
                        Some(rdata) => Some(rdata),
                        None => return Resolved::Answer,
                    }
                }
                None => None,
            },
            None => None,
        };
        if let Some(rdata) = cname_target {
            let Some(target) = NameBuf::from_wire(rdata) else {
                return Resolved::Answer;
            };
            let target_wire = &rdata[..target.as_bytes().len()];
            // Case-insensitive on wire form is exact: length octets are below 64, never letters,
            // so equal bytes up to case mean the same labels at the same places.
            let repeats = chain[..=hop]
                .iter()
                .any(|seen| seen.eq_ignore_ascii_case(target_wire));
            if repeats {
                return Resolved::Answer;
            }
            if balanced_target.is_some() {
                // A balanced name's target lies wherever its operator points it: followed into
                // the most specific served zone that holds it (a served child zone included),
                // ending the answer when none does.
                let Some(next) = zones.answering(target.as_bytes(), qtype) else {
                    return Resolved::Answer;
                };
                if !std::ptr::eq(next, zone) {
                    res.crossed = true;
                    zone = next;
                    res.last = next;
                }
            } else if !is_at_or_below(target.as_bytes(), zone.origin()) {
                return Resolved::Answer;
            }
            if let Some(slot) = chain.get_mut(hop + 1) {
                *slot = target_wire;
            }
            target_key = Some(target);
            continue;
        }
        let set = if qtype == rtype::ANY {
            // RFC 8482 §4.2: answer with one RRset of those present.
            node.rrsets.first()
        } else {
            node.get(qtype)
        };
        let Some(set) = set else {
            negative(zone, w, rcode::NOERROR);
            return Resolved::NoData;
        };
        if write_set(w, Section::Answer, owner, set) {
            for t in set.targets.iter() {
                additional(zone, w, t, None);
            }
        }
        return Resolved::Answer;
    }
    // The chain is longer than MAX_CHAIN: what was written is the answer.
    Resolved::Answer
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_proto::rr::Name;

    use super::*;
    use crate::wire::name::key_of;
    use crate::wire::parse_query;

    fn name(s: &str) -> Name {
        Name::from_str(s).unwrap()
    }

    /// A zone `example.` with its SOA and NS plus `records` as `(owner, CNAME target)`, and an
    /// A record at `www.example.`.
    fn zone(cnames: &[(&str, &str)]) -> ZoneSet {
        let mut text = String::from(
            "$TTL 300\nexample. SOA ns.example. h.example. 1 2 3 4 60\n\
             example. NS ns.example.\nwww.example. A 192.0.2.1\n",
        );
        for (owner, target) in cnames {
            // The reader keeps the target's letter case as written.
            text.push_str(&format!("{owner} CNAME {target}\n"));
        }
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("example.zone");
        std::fs::write(&p, text).unwrap();
        ZoneSet::new(vec![ServedZone::new(std::sync::Arc::new(
            crate::zone::file::load_file(&p).unwrap(),
        ))])
    }

    /// Resolves an A query for `qname`; returns ANCOUNT and the RCODE.
    fn answer(zones: &ZoneSet, qname: &str) -> (u16, u16) {
        let key = key_of(&name(qname));
        let mut packet = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        packet.extend_from_slice(&key);
        packet.extend_from_slice(&[0, 1, 0, 1]);
        let q = parse_query(&packet).unwrap();
        let mut buf = Vec::new();
        let mut w = ResponseWriter::new(
            &mut buf,
            &packet,
            Some(q.question_end),
            q.qname.as_bytes(),
            4096,
        );
        let mut no_balancer = |_: u32, _: u16, _: &[u8], _: &mut ResponseWriter<'_>| Balanced::Skip;
        let zone = zones.find(q.qname.as_bytes()).unwrap();
        resolve(
            zones,
            zone,
            q.qname.as_bytes(),
            rtype::A,
            &mut w,
            &mut no_balancer,
        );
        let rcode = w.rcode();
        w.finish();
        (u16::from_be_bytes([buf[6], buf[7]]), rcode)
    }

    #[test]
    fn chains_are_followed_to_the_end() {
        let z = zone(&[
            ("a.example.", "b.example."),
            ("b.example.", "c.example."),
            ("c.example.", "www.example."),
        ]);
        assert_eq!(answer(&z, "a.example."), (4, rcode::NOERROR));
    }

    #[test]
    fn loops_stop_where_a_name_repeats_in_any_case() {
        // The targets are written in another letter case than the owners they name.
        let z = zone(&[
            ("loop1.example.", "LOOP2.example."),
            ("loop2.example.", "Loop1.Example."),
            ("self.example.", "SELF.example."),
        ]);
        assert_eq!(answer(&z, "loop1.example."), (2, rcode::NOERROR));
        assert_eq!(answer(&z, "self.example."), (1, rcode::NOERROR));
    }

    #[test]
    fn chains_longer_than_the_limit_are_cut() {
        let names: Vec<String> = (0..=MAX_CHAIN).map(|i| format!("n{i}.example.")).collect();
        let links: Vec<(&str, &str)> = names
            .windows(2)
            .map(|w| (w[0].as_str(), w[1].as_str()))
            .collect();
        let z = zone(&links);
        assert_eq!(answer(&z, "n0.example.").0, MAX_CHAIN as u16);
    }
}
