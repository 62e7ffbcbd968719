//! Building a `Zone` from parsed records: encoding every RDATA once for the wire, merging the
//! records of each RRset wherever they arrive, and checking the rules a zone must satisfy to be
//! served (one SOA at the apex, NS at the apex, CNAME alone at its name, nothing outside the
//! origin, class IN only).
//!
//! Owns: that encoding, those rules, and the memory layout of a freshly built zone (see the
//! two passes in `Zone::build`). Must not: read files or know where a record was in its text
//! (see `file` and `locate`), or answer queries.

use std::collections::HashSet;
use std::path::PathBuf;

use hickory_proto::rr::{DNSClass, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

use super::{FastMap, Node, RRset, Zone};
use crate::process::release_freed_memory;
use crate::wire::name::{display, is_at_or_below, key_of, parent, write_key};
use crate::wire::rtype;

/// A problem with a zone's content, with the owner name it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneProblem {
    /// The owner the problem is about (presentation form), to find its line in the file.
    pub owner: Option<String>,
    /// Which of the owner's records the problem is about.
    pub at: ProblemAt,
    /// What is wrong.
    pub message: String,
}

/// Which record of its owner a problem points at in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemAt {
    /// The owner's first record.
    First,
    /// The record that made a CNAME share its name with other data: the first other record after
    /// a CNAME, or the CNAME after other data.
    CnameConflict,
}

fn problem(owner: Option<&[u8]>, message: String) -> ZoneProblem {
    ZoneProblem {
        owner: owner.map(display),
        at: ProblemAt::First,
        message,
    }
}

/// Types that may share a name with a CNAME: the DNSSEC records about the CNAME itself (RFC 2181
/// §10.1, RFC 4035 §2.5). None is served yet; they are not rejected for being next to one.
pub(super) const CNAME_COMPANIONS: [u16; 2] = [46, 47];

/// Whether records of type `t` may share a name with a CNAME.
pub(super) fn may_share_with_cname(t: u16) -> bool {
    t == rtype::CNAME || CNAME_COMPANIONS.contains(&t)
}

/// Appends the wire form of `rdata` to `out`, names uncompressed.
fn encode_rdata(rdata: &RData, out: &mut Vec<u8>) -> Result<(), String> {
    match rdata {
        // The bulk of large zones: no encoder needed.
        RData::A(a) => out.extend_from_slice(&a.0.octets()),
        RData::AAAA(a) => out.extend_from_slice(&a.0.octets()),
        _ => {
            let mut enc = BinEncoder::new(out);
            enc.set_name_encoding(NameEncoding::Uncompressed);
            rdata.emit(&mut enc).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn targets_of(rdata: &RData) -> Option<Box<[u8]>> {
    match rdata {
        RData::NS(ns) => Some(key_of(&ns.0)),
        RData::MX(mx) => Some(key_of(&mx.exchange)),
        RData::SRV(srv) => Some(key_of(&srv.target)),
        _ => None,
    }
}

/// Checked records in one buffer, in arrival order. Each record: the owner's length and the
/// owner (length 0: the previous record's owner), type (2 octets), TTL (4), RDLENGTH (2) and
/// RDATA, the target's length (0: none) and the target.
#[derive(Default)]
struct Staged {
    buf: Vec<u8>,
    last_owner: Vec<u8>,
    /// Number of owner changes: an upper bound on the names.
    owners: usize,
}

/// One record read back from `Staged`.
struct StagedRecord<'a> {
    owner: &'a [u8],
    rtype: u16,
    ttl: u32,
    rdata: &'a [u8],
    target: Option<&'a [u8]>,
}

impl Staged {
    fn push(&mut self, owner: &[u8], rtype: u16, ttl: u32, rdata: &[u8], target: Option<&[u8]>) {
        // Keys are at most 255 octets (RFC 1035 §2.3.4) and never empty, so 0 is free.
        if owner == self.last_owner.as_slice() {
            self.buf.push(0);
        } else {
            self.buf.push(owner.len() as u8);
            self.buf.extend_from_slice(owner);
            self.last_owner.clear();
            self.last_owner.extend_from_slice(owner);
            self.owners += 1;
        }
        self.buf.extend_from_slice(&rtype.to_be_bytes());
        self.buf.extend_from_slice(&ttl.to_be_bytes());
        self.buf
            .extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        self.buf.extend_from_slice(rdata);
        let target = target.unwrap_or_default();
        self.buf.push(target.len() as u8);
        self.buf.extend_from_slice(target);
    }

    fn iter(&self) -> impl Iterator<Item = StagedRecord<'_>> {
        let mut rest = &self.buf[..];
        let mut owner: &[u8] = &[];
        std::iter::from_fn(move || {
            let (&len, r) = rest.split_first()?;
            let (o, r) = r.split_at(len as usize);
            if len > 0 {
                owner = o;
            }
            let (head, r) = r.split_at(8);
            let rtype = u16::from_be_bytes([head[0], head[1]]);
            let ttl = u32::from_be_bytes([head[2], head[3], head[4], head[5]]);
            let (rdata, r) = r.split_at(u16::from_be_bytes([head[6], head[7]]) as usize);
            let (&len, r) = r.split_first()?;
            let (target, r) = r.split_at(len as usize);
            rest = r;
            Some(StagedRecord {
                owner,
                rtype,
                ttl,
                rdata,
                target: (len > 0).then_some(target),
            })
        })
    }
}

/// The RRset being gathered while records of one (owner, type) arrive one after another, as the
/// parser hands them over; buffers are reused from one set to the next.
#[derive(Default)]
struct SetBuf {
    owner: Vec<u8>,
    rtype: u16,
    ttl: u32,
    /// `(RDLENGTH, RDATA)` pairs, as in `RRset::data`.
    data: Vec<u8>,
    targets: Vec<Box<[u8]>>,
}

impl SetBuf {
    fn holds(&self, rdata: &[u8]) -> bool {
        RRset::rdatas_of(&self.data).any(|r| r == rdata)
    }

    fn push(&mut self, rdata: &[u8], target: Option<Box<[u8]>>) {
        self.data
            .extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        self.data.extend_from_slice(rdata);
        self.targets.extend(target);
    }

    /// Moves the set into its node (merging with a set of the same type already there, when the
    /// records of one set did not arrive together) and empties the buffer.
    fn flush(&mut self, nodes: &mut FastMap<Box<[u8]>, Node>) {
        if self.data.is_empty() {
            return;
        }
        // One probe of the map per set; the key is allocated even when the node exists
        // (another type at the same name), which costs less than a second probe.
        let node = nodes
            .entry(self.owner.as_slice().into())
            .or_insert_with(|| Node {
                rrsets: Vec::with_capacity(1),
                balance: None,
            });
        match node.rrsets.iter_mut().find(|r| r.rtype == self.rtype) {
            None => node.rrsets.push(RRset {
                rtype: self.rtype,
                ttl: self.ttl,
                data: self.data.as_slice().into(),
                targets: self.targets.drain(..).collect(),
            }),
            Some(set) => {
                set.ttl = set.ttl.min(self.ttl);
                let mut data = std::mem::take(&mut set.data).into_vec();
                let mut targets = std::mem::take(&mut set.targets).into_vec();
                // Targets line up with RDATAs: every NS/MX/SRV RDATA has one, others none.
                for (i, r) in RRset::rdatas_of(&self.data).enumerate() {
                    if !RRset::rdatas_of(&data).any(|x| x == r) {
                        data.extend_from_slice(&(r.len() as u16).to_be_bytes());
                        data.extend_from_slice(r);
                        targets.extend(self.targets.get(i).cloned());
                    }
                }
                set.data = data.into_boxed_slice();
                set.targets = targets.into_boxed_slice();
            }
        }
        self.data.clear();
        self.targets.clear();
    }
}

impl Zone {
    /// Builds a zone from parsed records, checking the rules every served zone obeys. Records
    /// are consumed one by one, each freed once it is checked and encoded; the records of one
    /// RRset need not be adjacent, but the build is fastest when they are.
    pub fn build(
        file: PathBuf,
        records: impl IntoIterator<Item = Record>,
    ) -> Result<Zone, Vec<ZoneProblem>> {
        let mut problems = Vec::new();
        let mut soa: Option<(Box<[u8]>, u32, u32, u32)> = None;
        // Two passes. First every record is checked and encoded into one flat buffer while the
        // parser's copies are freed; only then are the zone's many small allocations made, and
        // they pack densely into the freed space, whose rest goes back to the system. Made while
        // the parser's memory was being freed, they would land in its holes all over the heap
        // and keep it resident (1,000,000 A records: 640 MB resident instead of 220 MB).
        let mut staged = Staged::default();
        let (mut owner, mut rdata) = (Vec::new(), Vec::new());
        for record in records {
            write_key(&record.name, &mut owner);
            if record.dns_class != DNSClass::IN {
                problems.push(problem(
                    Some(&owner[..]),
                    format!("class {} is not served (only IN)", record.dns_class),
                ));
                continue;
            }
            let type_code = u16::from(record.record_type());
            if let RData::SOA(s) = &record.data {
                if soa.is_some() {
                    problems.push(problem(Some(&owner[..]), "a second SOA record".into()));
                    continue;
                }
                soa = Some((owner.as_slice().into(), record.ttl, s.minimum, s.serial));
            }
            if matches!(record.record_type(), RecordType::OPT | RecordType::TSIG) {
                problems.push(problem(
                    Some(&owner[..]),
                    format!("{} is not a record a zone may hold", record.record_type()),
                ));
                continue;
            }
            rdata.clear();
            if let Err(e) = encode_rdata(&record.data, &mut rdata) {
                problems.push(problem(
                    Some(&owner[..]),
                    format!("cannot encode record: {e}"),
                ));
                continue;
            }
            staged.push(
                &owner,
                type_code,
                record.ttl,
                &rdata,
                targets_of(&record.data).as_deref(),
            );
        }
        let mut nodes: FastMap<Box<[u8]>, Node> =
            FastMap::with_capacity_and_hasher(staged.owners, Default::default());
        let mut set = SetBuf::default();
        for record in staged.iter() {
            if set.owner != record.owner || set.rtype != record.rtype {
                set.flush(&mut nodes);
                set.owner.clear();
                set.owner.extend_from_slice(record.owner);
                set.rtype = record.rtype;
                set.ttl = record.ttl;
            }
            set.ttl = set.ttl.min(record.ttl);
            if !set.holds(record.rdata) {
                set.push(record.rdata, record.target.map(Box::from));
            }
        }
        set.flush(&mut nodes);
        drop((set, staged));
        let Some((origin, soa_ttl, minimum, serial)) = soa else {
            problems.push(problem(None, "the zone has no SOA record".into()));
            return Err(problems);
        };
        nodes.retain(|owner, node| {
            if is_at_or_below(owner, &origin) {
                return true;
            }
            for _ in &node.rrsets {
                problems.push(problem(
                    Some(owner),
                    format!(
                        "{} lies outside the zone {} named by its SOA",
                        display(owner),
                        display(&origin)
                    ),
                ));
            }
            false
        });
        for (owner, node) in &mut nodes {
            if node
                .get(rtype::CNAME)
                .is_some_and(|c| c.rdatas().nth(1).is_some())
            {
                problems.push(problem(
                    Some(owner),
                    format!("{} has more than one CNAME", display(owner)),
                ));
            }
            node.rrsets.sort_by_key(|r| r.rtype);
            node.rrsets.shrink_to_fit();
            // RFC 1034 §3.6.2 / RFC 2181 §10.1: a CNAME stands alone.
            if node.get(rtype::CNAME).is_some()
                && let Some(other) = node.rrsets.iter().find(|r| !may_share_with_cname(r.rtype))
            {
                problems.push(ZoneProblem {
                    at: ProblemAt::CnameConflict,
                    ..problem(
                        Some(owner),
                        format!(
                            "{} has a CNAME and other data ({}); a CNAME must be the only record at its name (RFC 2181 §10.1)",
                            display(owner),
                            RecordType::from(other.rtype)
                        ),
                    )
                });
            }
        }
        let mut zone = Zone {
            sources: Vec::new(),
            origin: origin.clone(),
            file,
            serial,
            neg_ttl: soa_ttl.min(minimum),
            nodes,
            attached: Vec::new(),
        };
        match zone.nodes.get(&origin[..]) {
            Some(apex) if apex.get(rtype::NS).is_some() => {}
            _ => problems.push(problem(
                Some(&origin),
                format!(
                    "the zone {} has no NS records at its apex",
                    display(&origin)
                ),
            )),
        }
        zone.add_empty_non_terminals();
        release_freed_memory();
        if problems.is_empty() {
            Ok(zone)
        } else {
            Err(problems)
        }
    }

    /// Makes every ancestor between a name and the apex a node (RFC 8020: an empty
    /// non-terminal exists, so names below it are not NXDOMAIN for that reason).
    fn add_empty_non_terminals(&mut self) {
        let mut missing: HashSet<&[u8], foldhash::fast::RandomState> = Default::default();
        for name in self.nodes.keys() {
            let mut ancestor = parent(name);
            while let Some(p) = ancestor {
                if p.len() < self.origin.len() || self.nodes.contains_key(p) || !missing.insert(p) {
                    break;
                }
                ancestor = parent(p);
            }
        }
        let missing: Vec<Box<[u8]>> = missing.into_iter().map(Box::from).collect();
        for p in missing {
            self.nodes.insert(p, Node::default());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::str::FromStr;

    use hickory_proto::rr::Name;
    use hickory_proto::rr::rdata::{A, NS, SOA};

    use super::*;

    fn name(s: &str) -> Name {
        Name::from_str(s).unwrap()
    }

    fn rec(owner: &str, ttl: u32, data: RData) -> Record {
        Record::from_rdata(name(owner), ttl, data)
    }

    fn a(ip: [u8; 4]) -> RData {
        RData::A(A(Ipv4Addr::from(ip)))
    }

    fn ns(target: &str) -> RData {
        RData::NS(NS(name(target)))
    }

    fn apex() -> Vec<Record> {
        let soa = SOA::new(name("ns.example."), name("h.example."), 1, 2, 3, 4, 60);
        vec![
            rec("example.", 300, RData::SOA(soa)),
            rec("example.", 300, ns("ns.example.")),
        ]
    }

    #[test]
    fn records_of_one_set_merge_wherever_they_arrive() {
        let mut records = apex();
        records.extend([
            rec("www.example.", 300, a([192, 0, 2, 1])),
            rec("ns.example.", 300, a([192, 0, 2, 9])),
            // The same set again, later, in another case, with a lower TTL and a duplicate.
            rec("WWW.example.", 60, a([192, 0, 2, 2])),
            rec("www.example.", 300, a([192, 0, 2, 1])),
            rec("example.", 300, ns("NS2.example.")),
            rec("example.", 300, ns("ns.example.")),
        ]);
        let z = Zone::build("t".into(), records).unwrap();
        let www = z.node(&key_of(&name("www.example."))).unwrap();
        assert_eq!(www.rrsets.len(), 1);
        let set = www.get(rtype::A).unwrap();
        assert_eq!(set.ttl, 60);
        let rdatas: Vec<&[u8]> = set.rdatas().collect();
        assert_eq!(rdatas, [&[192, 0, 2, 1][..], &[192, 0, 2, 2]]);
        let ns = z.apex().unwrap().get(rtype::NS).unwrap();
        assert_eq!(ns.rdatas().count(), 2);
        let targets = [key_of(&name("ns.example.")), key_of(&name("ns2.example."))];
        assert_eq!(&*ns.targets, &targets);
        assert_eq!(
            z.apex().unwrap().rrsets[0].rtype,
            rtype::NS,
            "sorted by type"
        );
    }

    #[test]
    fn ancestors_become_empty_non_terminals() {
        let mut records = apex();
        records.push(rec("a.b.c.example.", 300, a([192, 0, 2, 1])));
        records.push(rec("d.c.example.", 300, a([192, 0, 2, 2])));
        let z = Zone::build("t".into(), records).unwrap();
        for ent in ["b.c.example.", "c.example."] {
            let n = z.node(&key_of(&name(ent))).unwrap();
            assert!(n.rrsets.is_empty() && n.balance.is_none(), "{ent}");
        }
        assert_eq!(z.len(), 5);
    }

    fn cname(target: &str) -> RData {
        RData::CNAME(hickory_proto::rr::rdata::CNAME(name(target)))
    }

    #[test]
    fn a_cname_stands_alone_but_for_its_dnssec_records() {
        let mut records = apex();
        records.push(rec("www.example.", 300, cname("ns.example.")));
        records.push(rec("www.example.", 300, a([192, 0, 2, 1])));
        let p = Zone::build("t".into(), records).unwrap_err();
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].at, ProblemAt::CnameConflict);
        assert!(
            p[0].message.contains("CNAME and other data (A)"),
            "{}",
            p[0].message
        );

        // RRSIG and NSEC may sit next to a CNAME (RFC 4035 §2.5); not served, not refused.
        let mut records = apex();
        records.push(rec("www.example.", 300, cname("ns.example.")));
        for code in CNAME_COMPANIONS {
            let data = RData::Unknown {
                code: RecordType::from(code),
                rdata: hickory_proto::rr::rdata::NULL::with(vec![1, 2, 3]),
            };
            records.push(rec("www.example.", 300, data));
        }
        Zone::build("t".into(), records).unwrap();
    }

    #[test]
    fn two_cnames_at_a_name_are_a_problem() {
        let mut records = apex();
        records.push(rec("www.example.", 300, cname("ns.example.")));
        records.push(rec("www.example.", 300, cname("other.example.")));
        let p = Zone::build("t".into(), records).unwrap_err();
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].message.contains("more than one CNAME"),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn a_copy_without_balances_is_the_zone_as_its_file_built_it() {
        let mut records = apex();
        records.push(rec("www.example.", 300, a([192, 0, 2, 1])));
        let mut z = Zone::build("t".into(), records).unwrap();
        let names = z.len();
        z.attach_balance(&key_of(&name("app.x.y.example.")), 0);
        z.attach_balance(&key_of(&name("www.example.")), 1);
        assert_eq!(z.len(), names + 3);
        let copy = z.without_balances();
        assert_eq!(copy.len(), names);
        assert!(copy.node(&key_of(&name("x.y.example."))).is_none());
        let www = copy.node(&key_of(&name("www.example."))).unwrap();
        assert!(www.balance.is_none() && www.get(rtype::A).is_some());
        assert_eq!(z.len(), names + 3, "the running copy is untouched");
    }

    #[test]
    fn names_outside_the_origin_are_problems() {
        let mut records = apex();
        records.push(rec("www.other.", 300, a([192, 0, 2, 1])));
        let p = Zone::build("t".into(), records).unwrap_err();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].owner.as_deref(), Some("www.other."));
        assert!(p[0].message.contains("lies outside"), "{}", p[0].message);
    }
}
