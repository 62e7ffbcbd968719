//! The zone store: every name of a zone keyed by its lower-cased wire form, with its RRsets
//! pre-encoded for the wire, and every empty non-terminal present as a node of its own.
//!
//! Owns: the in-memory shape of a zone and the rules a zone must satisfy to be served (one SOA at
//! the apex, NS at the apex, CNAME alone at its name, nothing outside the origin).
//! Must not: read files (see `zonefile`) or decide answers (see `lookup`).
//!
//! Because every ancestor of every name down to the apex is a node, "does this name exist",
//! "which ancestor is the closest encloser" and "is there a delegation cut above it" are each a
//! walk over the query name's suffixes with one hash lookup per label: the cost does not grow
//! with the zone's size, for hits and misses alike.

use std::collections::HashMap;

/// The zone maps' hasher: foldhash is several times faster than SipHash on short keys; the keys
/// are the operator's zone names, so flooding resistance is not needed here.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
use std::path::PathBuf;

use hickory_proto::rr::{DNSClass, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

use super::name::{display, is_at_or_below, key_of, parent};
use super::wire::rtype;

/// One RRset, encoded once at load time.
#[derive(Clone, Debug)]
pub struct RRset {
    /// Record type.
    pub rtype: u16,
    /// TTL of the set (the smallest of its records, RFC 2181 §5.2).
    pub ttl: u32,
    /// Concatenated `(RDLENGTH, RDATA)` pairs in wire form, names uncompressed.
    data: Box<[u8]>,
    /// Lower-cased names in the RDATA that want additional-section processing (NS, MX, SRV).
    pub targets: Box<[Box<[u8]>]>,
}

impl RRset {
    /// Builds an RRset from raw RDATAs.
    pub fn from_rdatas<'a>(
        rtype: u16,
        ttl: u32,
        rdatas: impl IntoIterator<Item = &'a [u8]>,
    ) -> Self {
        let mut data = Vec::new();
        for r in rdatas {
            data.extend_from_slice(&(r.len() as u16).to_be_bytes());
            data.extend_from_slice(r);
        }
        RRset {
            rtype,
            ttl,
            data: data.into_boxed_slice(),
            targets: Box::new([]),
        }
    }

    /// The RDATAs of the set, in wire form.
    pub fn rdatas(&self) -> impl Iterator<Item = &[u8]> {
        let d = &self.data;
        let mut pos = 0;
        std::iter::from_fn(move || {
            let len = u16::from_be_bytes([*d.get(pos)?, *d.get(pos + 1)?]) as usize;
            let r = &d[pos + 2..pos + 2 + len];
            pos += 2 + len;
            Some(r)
        })
    }
}

/// A name in the zone. A node with no RRsets and no balanced name is an empty non-terminal.
#[derive(Clone, Debug, Default)]
pub struct Node {
    /// RRsets at this name, sorted by type.
    pub rrsets: Vec<RRset>,
    /// The balanced name answered here, as an index into the balance table.
    pub balance: Option<u32>,
}

impl Node {
    /// The RRset of `t`, if any.
    pub fn get(&self, t: u16) -> Option<&RRset> {
        self.rrsets.iter().find(|r| r.rtype == t)
    }
}

/// A loaded, validated zone.
#[derive(Debug)]
pub struct Zone {
    /// The origin (SOA owner) as a wire key.
    pub origin: Box<[u8]>,
    /// The file the zone came from.
    pub file: PathBuf,
    /// SOA serial, for logs.
    pub serial: u32,
    /// TTL of negative answers: min(SOA TTL, SOA MINIMUM) (RFC 2308 §3, §5).
    pub neg_ttl: u32,
    nodes: FastMap<Box<[u8]>, Node>,
}

/// A problem with a zone's content, with the owner name it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneProblem {
    /// The owner the problem is about (presentation form), to find its line in the file.
    pub owner: Option<String>,
    /// What is wrong.
    pub message: String,
}

fn problem(owner: Option<&[u8]>, message: String) -> ZoneProblem {
    ZoneProblem {
        owner: owner.map(display),
        message,
    }
}

/// An RRset being gathered: TTL, RDATAs, additional-section targets.
type PendingSet = (u32, Vec<Vec<u8>>, Vec<Box<[u8]>>);

fn encode_rdata(rdata: &RData) -> Result<Vec<u8>, String> {
    let mut v = Vec::new();
    let mut enc = BinEncoder::new(&mut v);
    enc.set_name_encoding(NameEncoding::Uncompressed);
    rdata.emit(&mut enc).map_err(|e| e.to_string())?;
    Ok(v)
}

fn targets_of(rdata: &RData) -> Option<Box<[u8]>> {
    match rdata {
        RData::NS(ns) => Some(key_of(&ns.0)),
        RData::MX(mx) => Some(key_of(&mx.exchange)),
        RData::SRV(srv) => Some(key_of(&srv.target)),
        _ => None,
    }
}

impl Zone {
    /// Builds a zone from parsed records, checking the rules every served zone obeys.
    pub fn build(file: PathBuf, records: Vec<Record>) -> Result<Zone, Vec<ZoneProblem>> {
        let mut problems = Vec::new();
        // Group by (owner, type), keeping file order inside each set.
        let mut sets: HashMap<(Box<[u8]>, u16), PendingSet> = HashMap::new();
        let mut soa: Option<(Box<[u8]>, u32, u32, u32)> = None;
        for r in &records {
            let owner = key_of(&r.name);
            if r.dns_class != DNSClass::IN {
                problems.push(problem(
                    Some(&owner),
                    format!("class {} is not served (only IN)", r.dns_class),
                ));
                continue;
            }
            let t = u16::from(r.record_type());
            if let RData::SOA(s) = &r.data {
                if soa.is_some() {
                    problems.push(problem(Some(&owner), "a second SOA record".into()));
                    continue;
                }
                soa = Some((owner.clone(), r.ttl, s.minimum, s.serial));
            }
            if matches!(r.record_type(), RecordType::OPT | RecordType::TSIG) {
                problems.push(problem(
                    Some(&owner),
                    format!("{} is not a record a zone may hold", r.record_type()),
                ));
                continue;
            }
            let rdata = match encode_rdata(&r.data) {
                Ok(d) => d,
                Err(e) => {
                    problems.push(problem(Some(&owner), format!("cannot encode record: {e}")));
                    continue;
                }
            };
            let entry = sets
                .entry((owner, t))
                .or_insert((r.ttl, Vec::new(), Vec::new()));
            entry.0 = entry.0.min(r.ttl);
            if !entry.1.contains(&rdata) {
                entry.1.push(rdata);
                entry.2.extend(targets_of(&r.data));
            }
        }
        let Some((origin, soa_ttl, minimum, serial)) = soa else {
            problems.push(problem(None, "the zone has no SOA record".into()));
            return Err(problems);
        };
        let mut nodes: FastMap<Box<[u8]>, Node> =
            FastMap::with_capacity_and_hasher(sets.len() + 1, Default::default());
        for ((owner, t), (ttl, rdatas, targets)) in sets {
            if !is_at_or_below(&owner, &origin) {
                problems.push(problem(
                    Some(&owner),
                    format!(
                        "{} lies outside the zone {} named by its SOA",
                        display(&owner),
                        display(&origin)
                    ),
                ));
                continue;
            }
            if t == rtype::CNAME && rdatas.len() > 1 {
                problems.push(problem(
                    Some(&owner),
                    format!("{} has more than one CNAME", display(&owner)),
                ));
            }
            let mut set = RRset::from_rdatas(t, ttl, rdatas.iter().map(Vec::as_slice));
            set.targets = targets.into_boxed_slice();
            nodes.entry(owner).or_default().rrsets.push(set);
        }
        let mut zone = Zone {
            origin: origin.clone(),
            file,
            serial,
            neg_ttl: soa_ttl.min(minimum),
            nodes,
        };
        for (owner, node) in &mut zone.nodes {
            node.rrsets.sort_by_key(|r| r.rtype);
            // RFC 1034 §3.6.2 / RFC 2181 §10.1: a CNAME stands alone.
            if node.get(rtype::CNAME).is_some() && node.rrsets.len() > 1 {
                problems.push(problem(
                    Some(owner),
                    format!("{} has a CNAME and other data", display(owner)),
                ));
            }
        }
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
        if problems.is_empty() {
            Ok(zone)
        } else {
            Err(problems)
        }
    }

    /// Makes every ancestor between a name and the apex a node (RFC 8020: an empty
    /// non-terminal exists, so names below it are not NXDOMAIN for that reason).
    fn add_empty_non_terminals(&mut self) {
        let names: Vec<Box<[u8]>> = self.nodes.keys().cloned().collect();
        for n in names {
            self.ensure_ancestors(&n);
        }
    }

    fn ensure_ancestors(&mut self, name: &[u8]) {
        let mut cur = parent(name);
        while let Some(p) = cur {
            if p.len() < self.origin.len() || self.nodes.contains_key(p) {
                break;
            }
            self.nodes.insert(p.into(), Node::default());
            cur = parent(p);
        }
    }

    /// Marks `name` (inside this zone) as a balanced name answered by balance table entry `id`,
    /// creating the node (and its ancestors) when the zone file does not have it.
    pub fn attach_balance(&mut self, name: &[u8], id: u32) {
        self.nodes.entry(name.into()).or_default().balance = Some(id);
        self.ensure_ancestors(name);
    }

    /// The node at exactly `name`.
    pub fn node(&self, name: &[u8]) -> Option<&Node> {
        self.nodes.get(name)
    }

    /// Number of names (nodes, empty non-terminals included).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the zone has no names (never true for a built zone: the apex exists).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The apex node (always present in a built zone).
    pub fn apex(&self) -> Option<&Node> {
        self.nodes.get(&self.origin[..])
    }

    /// The SOA RRset at the apex.
    pub fn soa(&self) -> Option<&RRset> {
        self.apex()?.get(rtype::SOA)
    }
}

/// Every zone served, found by the longest origin that encloses a query name.
#[derive(Debug, Default)]
pub struct ZoneSet {
    zones: FastMap<Box<[u8]>, Zone>,
}

impl ZoneSet {
    /// A set of zones; the caller guarantees distinct origins.
    pub fn new(zones: Vec<Zone>) -> Self {
        ZoneSet {
            zones: zones.into_iter().map(|z| (z.origin.clone(), z)).collect(),
        }
    }

    /// The most specific zone at or above `name`.
    pub fn find(&self, name: &[u8]) -> Option<&Zone> {
        super::name::suffixes(name).find_map(|s| self.zones.get(s))
    }

    /// The zone with exactly this origin.
    pub fn get_mut(&mut self, origin: &[u8]) -> Option<&mut Zone> {
        self.zones.get_mut(origin)
    }

    /// Finds the zone enclosing `name`, mutably.
    pub fn find_origin(&self, name: &[u8]) -> Option<Box<[u8]>> {
        self.find(name).map(|z| z.origin.clone())
    }

    /// All zones.
    pub fn iter(&self) -> impl Iterator<Item = &Zone> {
        self.zones.values()
    }

    /// Number of zones.
    pub fn len(&self) -> usize {
        self.zones.len()
    }

    /// Whether no zone is served.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }
}
