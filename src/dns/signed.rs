//! DO=1 answers from a signed zone: the unsigned answer the lookup wrote, written again with
//! an RRSIG after every authoritative RRset, the compact-denial NSEC (RFC 9824) of a negative
//! answer, and the signed DS or signed NSEC proving no DS after a referral's NS.
//!
//! Owns: where signatures and denial records go (answer and authority signed, each RRset by
//! the zone it comes from when a balanced name's CNAME led into another zone; a referral's NS
//! and glue unsigned; other additional RRsets signed when they fit with their RRSIG, left out
//! whole otherwise), the NODATA type bitmap (never the query type), the NXDOMAIN/NOERROR
//! choice of compact denial (the CO bit), and the apex DNSKEY RRset. Must not: decide what
//! the answer is (the lookup did), make signatures (`dnssec::Signer`), lock or allocate per
//! query (its buffers are per thread and reused).

use std::cell::RefCell;

use crate::dnssec::{Set, Signer, denial};
use crate::wire::name::is_at_or_below;
use crate::wire::records::{Rec, read_records};
use crate::wire::{ResponseWriter, Section, rcode, rtype};
use crate::zone::find::{Found, find};
use crate::zone::{ServedZone, ZoneSet};

/// Where an answer's records come from, and the signers of those zones.
pub struct Origin<'a> {
    /// The zone of the query name.
    pub start: &'a ServedZone,
    /// The zone the lookup ended in: a negative answer's or a referral's.
    pub last: &'a ServedZone,
    /// Whether the answer holds records of other zones than `start`.
    pub crossed: bool,
    /// Every zone served.
    pub zones: &'a ZoneSet,
    /// Their signers (`ServedZone::signed` indexes them).
    pub signers: &'a [Signer],
}

impl<'a> Origin<'a> {
    /// The zone an answer or additional record of type `t` at `owner` comes from.
    fn zone_of(&self, owner: &[u8], t: u16) -> &'a ServedZone {
        if !self.crossed {
            return self.start;
        }
        self.zones.answering(owner, t).unwrap_or(self.last)
    }

    /// The signer of `zone`, when it is signed.
    fn signer(&self, zone: &ServedZone) -> Option<&'a Signer> {
        zone.signed.and_then(|i| self.signers.get(i as usize))
    }
}

/// Reused per thread: the unsigned message, its records, and what signing needs.
#[derive(Default)]
struct Scratch {
    msg: Vec<u8>,
    names: Vec<u8>,
    recs: Vec<Rec>,
    ranges: Vec<(u32, u32)>,
    extra: Vec<u8>,
    types: Vec<u16>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Answers a DNSKEY query at the apex of a signed zone with the keys published at `now`
/// (whatever DO says: the keys are zone data). False when `qname`/`qtype` is not that.
pub fn dnskey_answer(
    zone: &ServedZone,
    signer: &Signer,
    qname: &[u8],
    qtype: u16,
    w: &mut ResponseWriter<'_>,
    now: u64,
) -> bool {
    if qtype != rtype::DNSKEY || qname != zone.origin() {
        return false;
    }
    w.set_aa(true);
    w.set_rcode(rcode::NOERROR);
    for k in signer.dnskeys(now) {
        if !w.record(
            Section::Answer,
            qname,
            rtype::DNSKEY,
            signer.dnskey_ttl,
            k,
            true,
        ) {
            break;
        }
    }
    true
}

/// How writing one RRset with its signatures went.
#[derive(PartialEq, Eq)]
enum Put {
    Done,
    /// The response is truncated now (TC): stop.
    Full,
    /// No signature could be made: the answer must not go out.
    Failed,
}

/// The types a NODATA's NSEC at `name` lists (RFC 9824 §3.2): those present at the node, a
/// balanced name's A and AAAA, the apex DNSKEY, RRSIG and NSEC; never `qtype`. A name that
/// does not exist lists NXNAME.
fn nodata_types(zone: &ServedZone, name: &[u8], qtype: u16, types: &mut Vec<u16>) {
    types.clear();
    match find(zone, name, qtype) {
        Found::Node(node) => {
            types.extend(node.rrsets.iter().map(|s| s.rtype));
            if node.balance.is_some() {
                types.extend([rtype::A, rtype::AAAA]);
            }
            if name == zone.origin() {
                types.push(rtype::DNSKEY);
            }
            types.retain(|&t| t != qtype);
            types.extend([rtype::RRSIG, rtype::NSEC]);
        }
        _ => types.extend(denial::NXNAME_TYPES),
    }
}

fn is_balanced(zone: &ServedZone, owner: &[u8], t: u16) -> bool {
    matches!(t, rtype::A | rtype::AAAA | rtype::CNAME)
        && zone.node(owner).is_some_and(|n| n.balance.is_some())
}

/// Writes one RRset, followed by its signatures when `signer` is given.
#[allow(clippy::too_many_arguments)]
fn put_set(
    w: &mut ResponseWriter<'_>,
    signer: Option<&Signer>,
    section: Section,
    set: Set<'_>,
    ranges: &mut [(u32, u32)],
    balanced: bool,
    required: bool,
    now: u64,
) -> Put {
    for &(s, l) in ranges.iter() {
        let rdata = &set.base[s as usize..(s + l) as usize];
        if !w.record(section, set.owner, set.rtype, set.ttl, rdata, required) {
            return Put::Full;
        }
    }
    let Some(signer) = signer else {
        return Put::Done;
    };
    let mut full = false;
    let ok = signer.rrsigs(set, ranges, balanced, now, |sig| {
        let fits = w.record(section, set.owner, rtype::RRSIG, set.ttl, sig, required);
        full |= !fits;
        fits
    });
    match (ok, full) {
        (_, true) => Put::Full,
        (true, false) => Put::Done,
        (false, false) => Put::Failed,
    }
}

/// Writes the compact-denial NSEC at `name` listing `types` (with its signature).
#[allow(clippy::too_many_arguments)]
fn put_nsec(
    w: &mut ResponseWriter<'_>,
    zone: &ServedZone,
    signer: &Signer,
    name: &[u8],
    types: &mut [u16],
    extra: &mut Vec<u8>,
    ranges: &mut Vec<(u32, u32)>,
    now: u64,
) -> Put {
    extra.clear();
    denial::nsec_rdata(name, types, extra);
    ranges.clear();
    ranges.push((0, extra.len() as u32));
    let balanced = zone.node(name).is_some_and(|n| n.balance.is_some());
    let set = Set {
        owner: name,
        rtype: rtype::NSEC,
        ttl: zone.zone.neg_ttl,
        base: extra,
    };
    put_set(
        w,
        Some(signer),
        Section::Authority,
        set,
        ranges,
        balanced,
        true,
        now,
    )
}

/// Rewrites the answer in `w` (to `qname`/`qtype` from `origin`'s zones, as the lookup wrote
/// it) in its signed form for a DO=1 query; `compact_ok` is the query's CO bit. A response
/// that is already truncated stays as it is. When no signature can be made (no active key),
/// the answer becomes SERVFAIL rather than go out unsigned from a signed zone.
pub fn sign(
    origin: &Origin<'_>,
    qname: &[u8],
    qtype: u16,
    compact_ok: bool,
    w: &mut ResponseWriter<'_>,
    now: u64,
) {
    if w.truncated() {
        return;
    }
    if compact_ok {
        w.set_compact_ok();
    }
    let failed = SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        let Scratch {
            msg,
            names,
            recs,
            ranges,
            extra,
            types,
        } = &mut *s;
        msg.clear();
        names.clear();
        recs.clear();
        let (written, counts) = w.written();
        msg.extend_from_slice(written);
        if !read_records(msg, w.question_end(), counts, names, recs) {
            return true;
        }
        let name_of = |r: &Rec| &names[r.owner.0 as usize..(r.owner.0 + r.owner.1) as usize];
        let nx = w.rcode() == rcode::NXDOMAIN;
        // Negative answers and referrals come from the zone the lookup ended in.
        let zone = origin.last;
        let last_signer = origin.signer(zone);
        // The name a negative answer denies: the last CNAME's target inside that zone, else
        // the query name.
        let mut denied: &[u8] = qname;
        let mut target = crate::wire::name::NameBuf::new();
        if let Some(last) = recs.iter().rev().find(|r| r.section == Section::Answer)
            && last.rtype == rtype::CNAME
            && let Some(len) = target.set_wire(&msg[last.rdata.0 as usize..])
            && len > 0
            && is_at_or_below(target.as_bytes(), zone.origin())
        {
            denied = target.as_bytes();
        }
        w.clear_records();
        let mut cut: Option<&[u8]> = None;
        let mut i = 0;
        while i < recs.len() {
            let r = recs[i];
            let owner = name_of(&r);
            let mut j = i + 1;
            while j < recs.len()
                && recs[j].section == r.section
                && recs[j].rtype == r.rtype
                && name_of(&recs[j]) == owner
            {
                j += 1;
            }
            ranges.clear();
            ranges.extend(recs[i..j].iter().map(|x| x.rdata));
            let set = Set {
                owner,
                rtype: r.rtype,
                ttl: r.ttl,
                base: msg,
            };
            let delegation = r.section == Section::Authority && r.rtype == rtype::NS;
            let put = match r.section {
                Section::Answer => {
                    let z = origin.zone_of(owner, r.rtype);
                    let b = is_balanced(z, owner, r.rtype);
                    put_set(w, origin.signer(z), r.section, set, ranges, b, true, now)
                }
                Section::Authority if delegation => {
                    cut = Some(owner);
                    let put = put_set(w, None, r.section, set, ranges, false, true, now);
                    match (put, last_signer) {
                        (Put::Done, None) => Put::Done,
                        (Put::Done, Some(signer)) => match zone
                            .node(owner)
                            .and_then(|n| n.get(rtype::DS))
                        {
                            Some(ds) => {
                                extra.clear();
                                ranges.clear();
                                for rd in ds.rdatas() {
                                    ranges.push((extra.len() as u32, rd.len() as u32));
                                    extra.extend_from_slice(rd);
                                }
                                let set = Set {
                                    owner,
                                    rtype: rtype::DS,
                                    ttl: ds.ttl,
                                    base: extra,
                                };
                                put_set(w, Some(signer), r.section, set, ranges, false, true, now)
                            }
                            None => {
                                types.clear();
                                types.extend([rtype::NS, rtype::RRSIG, rtype::NSEC]);
                                put_nsec(w, zone, signer, owner, types, extra, ranges, now)
                            }
                        },
                        (other, _) => other,
                    }
                }
                Section::Authority => {
                    let soa = r.rtype == rtype::SOA;
                    match (
                        put_set(w, last_signer, r.section, set, ranges, false, true, now),
                        last_signer,
                    ) {
                        (Put::Done, Some(signer)) if soa => {
                            if nx {
                                types.clear();
                                types.extend(denial::NXNAME_TYPES);
                            } else {
                                nodata_types(zone, denied, qtype, types);
                            }
                            put_nsec(w, zone, signer, denied, types, extra, ranges, now)
                        }
                        (other, _) => other,
                    }
                }
                Section::Additional => match cut {
                    Some(c) => {
                        let glue = is_at_or_below(owner, c);
                        put_set(w, None, r.section, set, ranges, false, glue, now)
                    }
                    None => {
                        let mark = w.mark();
                        let before = w.written().1[2] as usize;
                        let signer = origin.signer(origin.zone_of(owner, r.rtype));
                        let n = j - i + usize::from(signer.is_some());
                        let put = put_set(w, signer, r.section, set, ranges, false, false, now);
                        // Optional: all of the RRset and its signatures, or none of it.
                        if put != Put::Done || (w.written().1[2] as usize) < before + n {
                            w.rollback(mark);
                        }
                        if put == Put::Failed {
                            Put::Failed
                        } else {
                            Put::Done
                        }
                    }
                },
            };
            match put {
                Put::Done => {}
                Put::Full => return false,
                Put::Failed => return true,
            }
            i = j;
        }
        if nx && !compact_ok && last_signer.is_some() {
            // RFC 9824 §3.4: NOERROR unless the query said it understands compact answers.
            w.set_rcode(rcode::NOERROR);
        }
        false
    });
    if failed {
        w.clear_records();
        w.set_aa(false);
        w.set_rcode(rcode::SERVFAIL);
    }
}
