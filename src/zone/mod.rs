//! The zone store: every name of a zone keyed by its lower-cased wire form, with its RRsets
//! pre-encoded for the wire, and every empty non-terminal present as a node of its own.
//!
//! Owns: the in-memory shape of a served zone and the lookups on it. Must not: read files (see
//! `file`), build or validate zones from records (see `build`), or decide answers (see
//! `dns::lookup`).
//!
//! Because every ancestor of every name down to the apex is a node, "does this name exist",
//! "which ancestor is the closest encloser" and "is there a delegation cut above it" are each a
//! walk over the query name's suffixes with one hash lookup per label: the cost does not grow
//! with the zone's size, for hits and misses alike.

mod build;
pub mod file;
pub mod find;
mod reader;
mod reuse;
mod served;

use std::collections::HashMap;
use std::path::PathBuf;

use crate::wire::rtype;

pub use reuse::unchanged;
pub use served::ServedZone;

/// The zone maps' hasher: foldhash is several times faster than SipHash on short keys; the keys
/// are the operator's zone names, so flooding resistance is not needed here.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

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
    /// The RDATAs of the set, in wire form.
    pub fn rdatas(&self) -> impl Iterator<Item = &[u8]> {
        Self::rdatas_of(&self.data)
    }

    /// The RDATAs of `(RDLENGTH, RDATA)` pairs.
    fn rdatas_of(data: &[u8]) -> impl Iterator<Item = &[u8]> {
        let mut pos = 0;
        std::iter::from_fn(move || {
            let len = u16::from_be_bytes([*data.get(pos)?, *data.get(pos + 1)?]) as usize;
            let rdata = data.get(pos + 2..pos + 2 + len)?;
            pos += 2 + len;
            Some(rdata)
        })
    }
}

/// A name in the zone. A node with no RRsets and no balanced name is an empty non-terminal.
/// Nodes a zone file builds never have a balanced name; a configuration's balanced names are
/// nodes of a `ServedZone`'s overlay.
#[derive(Clone, Debug, Default)]
pub struct Node {
    /// RRsets at this name, sorted by type.
    pub rrsets: Vec<RRset>,
    /// The balanced name answered here, as an index into the balance table (overlay nodes only).
    pub balance: Option<u32>,
}

impl Node {
    /// The RRset of `t`, if any.
    pub fn get(&self, t: u16) -> Option<&RRset> {
        self.rrsets.iter().find(|r| r.rtype == t)
    }
}

/// One file a zone was read from, and the digest of the bytes that were parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The file.
    pub path: PathBuf,
    /// `digest` of its bytes as read.
    pub digest: u64,
}

/// The digest a zone's sources are compared by: SipHash-1-3 with fixed keys, so it is the same
/// in every process (it detects change; it is not a defence against a chosen collision, which
/// only the operator who writes the files could make).
pub fn digest(bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = siphasher::sip::SipHasher13::new_with_keys(0, 0);
    h.write(bytes);
    h.finish()
}

/// A loaded, validated zone, as its files built it: never changed afterwards, and shared
/// (`Arc`) by every configuration that serves those files (see `ServedZone`).
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
    /// Every file the zone was read from (the zone file first, then what it `$INCLUDE`s), with
    /// the digest of the bytes parsed: a reload reuses the zone when all of them still match.
    pub sources: Vec<Source>,
    nodes: FastMap<Box<[u8]>, Node>,
}

impl Zone {
    /// The node at exactly `name`.
    pub fn node(&self, name: &[u8]) -> Option<&Node> {
        self.nodes.get(name)
    }

    /// Every name and its node, in no order.
    pub fn nodes(&self) -> impl Iterator<Item = (&[u8], &Node)> {
        self.nodes.iter().map(|(k, n)| (&k[..], n))
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
    zones: FastMap<Box<[u8]>, ServedZone>,
    /// Wire length of the longest origin: longer suffixes of a query name need no probe.
    longest: usize,
}

impl ZoneSet {
    /// A set of zones; the caller guarantees distinct origins.
    pub fn new(zones: Vec<ServedZone>) -> Self {
        let longest = zones.iter().map(|z| z.origin().len()).max().unwrap_or(0);
        ZoneSet {
            zones: zones
                .into_iter()
                .map(|z| (z.zone.origin.clone(), z))
                .collect(),
            longest,
        }
    }

    /// The most specific zone at or above `name`.
    pub fn find(&self, name: &[u8]) -> Option<&ServedZone> {
        crate::wire::name::suffixes(name)
            .skip_while(|s| s.len() > self.longest)
            .find_map(|s| self.zones.get(s))
    }

    /// The zone that answers `qtype` at `name`: the most specific one, except that a DS query
    /// at the apex of a served zone is answered by the zone above it when that is served too
    /// (RFC 4035 §3.1.4.1: the DS lives on the parent side of the cut).
    pub fn answering(&self, name: &[u8], qtype: u16) -> Option<&ServedZone> {
        let zone = self.find(name)?;
        if qtype == crate::wire::rtype::DS
            && zone.origin() == name
            && let Some(parent) = crate::wire::name::parent(name).and_then(|p| self.find(p))
        {
            return Some(parent);
        }
        Some(zone)
    }

    /// The zone with exactly this origin.
    pub fn get_mut(&mut self, origin: &[u8]) -> Option<&mut ServedZone> {
        self.zones.get_mut(origin)
    }

    /// The origin of the zone enclosing `name`, to reach that zone with `get_mut` while the
    /// set is borrowed mutably.
    pub fn find_origin(&self, name: &[u8]) -> Option<Box<[u8]>> {
        self.find(name).map(|z| z.zone.origin.clone())
    }

    /// All zones.
    pub fn iter(&self) -> impl Iterator<Item = &ServedZone> {
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
