//! Building a `Zone` from the records the reader staged: encoding nothing more (the reader
//! wrote every RDATA in wire form), merging the records of each RRset wherever they arrive, and
//! checking the rules a zone must satisfy to be served (one SOA, NS at the apex, a CNAME alone
//! at its name and only one of it, nothing outside the origin).
//!
//! Owns: the staged buffer's layout (records with their positions), those rules, and the memory
//! layout of a freshly built zone (see the two passes in `Zone::build`). Must not: read files
//! or text (see `reader`), or answer queries.

use std::collections::HashSet;
use std::path::PathBuf;

use super::reader::type_name;
use super::{FastMap, Node, RRset, Zone};
use crate::process::release_freed_memory;
use crate::wire::name::{display, is_at_or_below, parent};
use crate::wire::rtype;

/// Where a record was written: the file (an index into the zone's files, the zone file 0), the
/// line and the column of its first token, from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    /// Index into the files the zone was read from.
    pub(crate) file: u16,
    /// Line, from 1.
    pub(crate) line: u32,
    /// Column, from 1.
    pub(crate) col: u32,
}

/// A problem with a zone's content, at the record it is about (None: the zone as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The record.
    pub(crate) pos: Option<Pos>,
    /// What is wrong.
    pub(crate) message: String,
}

/// Types that may share a name with a CNAME: the DNSSEC records about the CNAME itself (RFC 2181
/// §10.1, RFC 4035 §2.5). None is served yet; they are not rejected for being next to one.
pub(super) const CNAME_COMPANIONS: [u16; 2] = [46, 47];

/// Whether records of type `t` may share a name with a CNAME.
pub(super) fn may_share_with_cname(t: u16) -> bool {
    t == rtype::CNAME || CNAME_COMPANIONS.contains(&t)
}

/// Length of the uncompressed wire name at the start of `b`.
fn name_len(b: &[u8]) -> Option<usize> {
    let mut pos = 0;
    loop {
        let l = *b.get(pos)? as usize;
        pos += 1 + l;
        if l == 0 {
            return (pos <= b.len()).then_some(pos);
        }
    }
}

/// The lower-cased name in an NS, MX or SRV RDATA that wants additional-section processing.
fn target_of(rtype: u16, rdata: &[u8]) -> Option<Box<[u8]>> {
    let from = match rtype {
        rtype::NS => 0,
        rtype::MX => 2,
        rtype::SRV => 6,
        _ => return None,
    };
    let mut t: Box<[u8]> = rdata.get(from..)?.into();
    t.make_ascii_lowercase();
    Some(t)
}

/// The SOA's serial and MINIMUM from its RDATA.
fn soa_fields(rdata: &[u8]) -> Option<(u32, u32)> {
    let m = name_len(rdata)?;
    let r = name_len(&rdata[m..])?;
    let f = rdata.get(m + r..m + r + 20)?;
    let word = |i: usize| u32::from_be_bytes([f[i], f[i + 1], f[i + 2], f[i + 3]]);
    Some((word(0), word(16)))
}

/// Checked records in one buffer, in the order they were read. Each record: the owner's length
/// and the owner, lower-cased (length 0: the previous record's owner), its position (file 2
/// octets, line 4, column 2), type (2), TTL (4), RDLENGTH (2) and RDATA.
#[derive(Default)]
pub(crate) struct Staged {
    buf: Vec<u8>,
    last_owner: Vec<u8>,
    /// Number of owner changes: an upper bound on the names.
    owners: usize,
    /// Number of records.
    records: usize,
}

/// One record read back from `Staged`.
struct StagedRecord<'a> {
    owner: &'a [u8],
    pos: Pos,
    rtype: u16,
    ttl: u32,
    rdata: &'a [u8],
}

impl Staged {
    /// Appends a record: `owner` a lower-cased wire name, `rdata` at most 65535 octets.
    pub(crate) fn push(&mut self, owner: &[u8], pos: Pos, rtype: u16, ttl: u32, rdata: &[u8]) {
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
        self.records += 1;
        self.buf.extend_from_slice(&pos.file.to_le_bytes());
        self.buf.extend_from_slice(&pos.line.to_le_bytes());
        self.buf
            .extend_from_slice(&(pos.col.min(u32::from(u16::MAX)) as u16).to_le_bytes());
        self.buf.extend_from_slice(&rtype.to_be_bytes());
        self.buf.extend_from_slice(&ttl.to_be_bytes());
        self.buf
            .extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        self.buf.extend_from_slice(rdata);
    }

    /// Number of records staged.
    pub(crate) fn len(&self) -> usize {
        self.records
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
            let (head, r) = r.split_at(16);
            let pos = Pos {
                file: u16::from_le_bytes([head[0], head[1]]),
                line: u32::from_le_bytes([head[2], head[3], head[4], head[5]]),
                col: u32::from(u16::from_le_bytes([head[6], head[7]])),
            };
            let rtype = u16::from_be_bytes([head[8], head[9]]);
            let ttl = u32::from_be_bytes([head[10], head[11], head[12], head[13]]);
            let (rdata, r) = r.split_at(u16::from_be_bytes([head[14], head[15]]) as usize);
            rest = r;
            Some(StagedRecord {
                owner,
                pos,
                rtype,
                ttl,
                rdata,
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
    /// Builds a zone from the records the reader staged, checking the rules every served zone
    /// obeys; `files` are the files the positions index, for messages that name another record.
    /// The records of one RRset need not be adjacent, but the build is fastest when they are.
    pub(crate) fn build(
        file: PathBuf,
        staged: Staged,
        files: &[PathBuf],
    ) -> Result<Zone, Vec<Problem>> {
        let mut problems = Vec::new();
        // The first SOA: owner, TTL, MINIMUM, serial, place.
        type Soa = (Box<[u8]>, u32, u32, u32, Pos);
        let mut soa: Option<Soa> = None;
        for r in staged.iter().filter(|r| r.rtype == rtype::SOA) {
            match &soa {
                None => {
                    let (serial, minimum) = soa_fields(r.rdata).unwrap_or_default();
                    soa = Some((r.owner.into(), r.ttl, minimum, serial, r.pos));
                }
                Some((.., first)) => problems.push(Problem {
                    pos: Some(r.pos),
                    message: format!(
                        "a second SOA record (the first is at {}:{}); a zone has one",
                        files[first.file as usize].display(),
                        first.line
                    ),
                }),
            }
        }
        // Two passes: the reader staged every record in one flat buffer while its text was
        // freed; only now are the zone's many small allocations made, and they pack densely,
        // whose rest goes back to the system. Made while the text was being read, they would
        // land in its holes all over the heap and keep it resident.
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
                set.push(record.rdata, target_of(record.rtype, record.rdata));
            }
        }
        set.flush(&mut nodes);
        drop(set);
        let Some((origin, soa_ttl, minimum, serial, soa_pos)) = soa else {
            problems.push(Problem {
                pos: None,
                message: "not a zone file (no SOA)".into(),
            });
            return Err(problems);
        };
        // Owners with a problem, found from the nodes; their records are then found in the
        // staged buffer, to report each at its place (only when there is a problem).
        let mut outside: HashSet<Box<[u8]>, foldhash::fast::RandomState> = Default::default();
        nodes.retain(|owner, _| {
            if is_at_or_below(owner, &origin) {
                return true;
            }
            outside.insert(owner.clone());
            false
        });
        let mut cname_owners: HashSet<Box<[u8]>, foldhash::fast::RandomState> = Default::default();
        for (owner, node) in &mut nodes {
            node.rrsets.sort_by_key(|r| r.rtype);
            node.rrsets.shrink_to_fit();
            if let Some(c) = node.get(rtype::CNAME)
                && (c.rdatas().nth(1).is_some()
                    || node.rrsets.iter().any(|r| !may_share_with_cname(r.rtype)))
            {
                cname_owners.insert(owner.clone());
            }
        }
        if !outside.is_empty() || !cname_owners.is_empty() {
            locate(
                &staged,
                files,
                &origin,
                &outside,
                &cname_owners,
                &mut problems,
            );
        }
        drop(staged);
        let mut zone = Zone {
            sources: Vec::new(),
            origin: origin.clone(),
            file,
            serial,
            neg_ttl: soa_ttl.min(minimum),
            nodes,
        };
        match zone.nodes.get(&origin[..]) {
            Some(apex) if apex.get(rtype::NS).is_some() => {}
            _ => problems.push(Problem {
                pos: Some(soa_pos),
                message: format!(
                    "the zone {} has no NS records at its apex",
                    display(&origin)
                ),
            }),
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

/// Finds, in the order the records were read, the records of the owners that have a problem:
/// every record outside the origin; the record that made a CNAME share its name (the first other
/// record after a CNAME, or the CNAME after other data); a second, different CNAME at a name.
fn locate(
    staged: &Staged,
    files: &[PathBuf],
    origin: &[u8],
    outside: &HashSet<Box<[u8]>, foldhash::fast::RandomState>,
    cname_owners: &HashSet<Box<[u8]>, foldhash::fast::RandomState>,
    problems: &mut Vec<Problem>,
) {
    /// What was seen at a CNAME owner so far.
    #[derive(Default)]
    struct Seen<'a> {
        cname: Option<(&'a [u8], Pos)>,
        other: Option<u16>,
        reported: bool,
    }
    let mut seen: FastMap<&[u8], Seen<'_>> = FastMap::default();
    for r in staged.iter() {
        if outside.contains(r.owner) {
            problems.push(Problem {
                pos: Some(r.pos),
                message: format!(
                    "{} lies outside the zone {} named by its SOA",
                    display(r.owner),
                    display(origin)
                ),
            });
            continue;
        }
        if !cname_owners.contains(r.owner) {
            continue;
        }
        let s = seen.entry(r.owner).or_default();
        if r.rtype == rtype::CNAME {
            match s.cname {
                Some((first, _)) if first.eq_ignore_ascii_case(r.rdata) => {}
                Some((_, at)) => problems.push(Problem {
                    pos: Some(r.pos),
                    message: format!(
                        "{} has a second CNAME record (the first is at {}:{}); a name has at most one CNAME (RFC 2181 §10.1)",
                        display(r.owner),
                        files[at.file as usize].display(),
                        at.line
                    ),
                }),
                None => {
                    s.cname = Some((r.rdata, r.pos));
                    if let (Some(other), false) = (s.other, s.reported) {
                        s.reported = true;
                        problems.push(conflict(r.owner, other, r.pos));
                    }
                }
            }
        } else if !may_share_with_cname(r.rtype) {
            if s.cname.is_some() && !s.reported {
                s.reported = true;
                problems.push(conflict(r.owner, r.rtype, r.pos));
            }
            s.other.get_or_insert(r.rtype);
        }
    }
}

/// RFC 1034 §3.6.2 / RFC 2181 §10.1: a CNAME stands alone.
fn conflict(owner: &[u8], other: u16, pos: Pos) -> Problem {
    Problem {
        pos: Some(pos),
        message: format!(
            "{} has a CNAME and other data ({}); a CNAME must be the only record at its name (RFC 2181 §10.1)",
            display(owner),
            type_name(other)
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::wire::name::NameBuf;

    fn key(s: &str) -> Vec<u8> {
        let mut n = NameBuf::new();
        for l in s.trim_end_matches('.').split('.') {
            n.push_label(l.as_bytes()).unwrap();
        }
        n.push_root().unwrap();
        n.as_bytes().to_vec()
    }

    const APEX: &str = "$TTL 300\n@ SOA ns h 1 2 3 4 60\n@ NS ns\n";

    /// The zone `example.` read from `text` after its SOA and NS.
    fn zone(text: &str) -> Result<Zone, Vec<crate::diag::Diagnostic>> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("example.zone");
        let mut f = std::fs::File::create(&p).unwrap();
        write!(f, "{APEX}{text}").unwrap();
        super::super::file::load_file(&p)
    }

    #[test]
    fn records_of_one_set_merge_wherever_they_arrive() {
        let z = zone(
            "www A 192.0.2.1\nns A 192.0.2.9\n\
             WWW.example. 60 A 192.0.2.2\nwww A 192.0.2.1\n@ NS NS2\n@ NS ns\n",
        )
        .unwrap();
        let www = z.node(&key("www.example.")).unwrap();
        assert_eq!(www.rrsets.len(), 1);
        let set = www.get(rtype::A).unwrap();
        assert_eq!(set.ttl, 60, "the lowest TTL of the set");
        let rdatas: Vec<&[u8]> = set.rdatas().collect();
        assert_eq!(rdatas, [&[192, 0, 2, 1][..], &[192, 0, 2, 2]]);
        let ns = z.apex().unwrap().get(rtype::NS).unwrap();
        assert_eq!(ns.rdatas().count(), 2);
        let targets: Vec<Box<[u8]>> = vec![key("ns.example.").into(), key("ns2.example.").into()];
        assert_eq!(&*ns.targets, &targets[..]);
        assert_eq!(
            z.apex().unwrap().rrsets[0].rtype,
            rtype::NS,
            "sorted by type"
        );
        assert_eq!((z.serial, z.neg_ttl), (1, 60));
    }

    #[test]
    fn ancestors_become_empty_non_terminals() {
        let z = zone("a.b.c A 192.0.2.1\nd.c A 192.0.2.2\n").unwrap();
        for ent in ["b.c.example.", "c.example."] {
            let n = z.node(&key(ent)).unwrap();
            assert!(n.rrsets.is_empty() && n.balance.is_none(), "{ent}");
        }
        assert_eq!(z.len(), 5);
    }

    #[test]
    fn a_cname_stands_alone_but_for_its_dnssec_records() {
        let e = zone("www CNAME ns\nwww A 192.0.2.1\n").unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!((e[0].line, e[0].col), (5, 1));
        assert!(
            e[0].message.contains("CNAME and other data (A)"),
            "{}",
            e[0]
        );
        // RRSIG and NSEC may sit next to a CNAME (RFC 4035 §2.5); not served, not refused.
        zone("www CNAME ns\nwww TYPE46 \\# 3 010203\nwww TYPE47 \\# 3 010203\n").unwrap();
    }

    #[test]
    fn two_cnames_at_a_name_are_a_problem_but_the_same_one_twice_is_not() {
        let e = zone("www CNAME ns\nwww CNAME other\n").unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].line, 5);
        assert!(e[0].message.contains("second CNAME"), "{}", e[0]);
        zone("www CNAME ns\nWWW CNAME NS\n").unwrap();
    }

    #[test]
    fn a_second_soa_is_a_problem_at_it() {
        let e = zone("@ SOA ns h 2 2 3 4 60\n").unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].line, 4);
        assert!(
            e[0].message
                .starts_with("a second SOA record (the first is at "),
            "{}",
            e[0]
        );
    }

    #[test]
    fn names_outside_the_origin_are_problems_at_each_record() {
        let e = zone("www.other. A 192.0.2.1\n  A 192.0.2.2\n").unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!((e[0].line, e[1].line, e[1].col), (4, 5, 3));
        assert!(
            e[0].message
                .starts_with("www.other. lies outside the zone example."),
            "{}",
            e[0]
        );
    }
}
