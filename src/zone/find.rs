//! Where a name lands inside one zone (RFC 1034 §4.3.2 steps 3a–3c): at a node, below a
//! delegation cut, at a wildcard by the closest-encloser rule (RFC 4592), or nowhere.
//!
//! Owns: that walk, one hash lookup per label from the apex down (the overlay of balanced names
//! adds a bit test per label, and a probe only at a balanced name's length). Must not: write
//! responses (that is `dns::lookup`) or allocate.

use super::{Node, ServedZone};
use crate::wire::name::{NameBuf, suffixes};
use crate::wire::rtype;

/// Where a name lands inside a zone. Nodes borrow from the zone (`'z`), a cut's name from the
/// name looked up (`'n`), so a caller may keep a node after dropping the name it asked with.
pub enum Found<'z, 'n> {
    /// The name exists (or a wildcard stands for it).
    Node(&'z Node),
    /// The name is at or below a delegation cut: refer to the child.
    Cut(&'n [u8], &'z Node),
    /// The name does not exist and no wildcard covers it.
    NxDomain,
}

/// Where `name` lands in `zone` for a query of `qtype` (a DS query at a cut is answered by the parent).
pub fn find<'z, 'n>(zone: &'z ServedZone, name: &'n [u8], qtype: u16) -> Found<'z, 'n> {
    // Label start offsets of `name`, so the walk can go from the apex down.
    let mut starts = [0u8; 128];
    let mut n = 0;
    let mut pos = 0usize;
    while pos < name.len() && name[pos] != 0 && n < starts.len() {
        starts[n] = pos as u8;
        n += 1;
        pos += 1 + name[pos] as usize;
    }
    let apex_len = zone.origin().len();
    let mut closest: &[u8] = zone.origin();
    for &s in starts[..n].iter().rev() {
        let candidate = &name[s as usize..];
        if candidate.len() <= apex_len {
            continue;
        }
        match zone.node(candidate) {
            None => return wildcard(zone, closest),
            Some(node) => {
                // Data at a cut belongs to the child, but DS lives on the parent side.
                if node.get(rtype::NS).is_some() && !(s == 0 && qtype == rtype::DS) {
                    return Found::Cut(candidate, node);
                }
                if s == 0 {
                    // The name itself: found on the way down, no second probe.
                    return Found::Node(node);
                }
                closest = candidate;
            }
        }
    }
    // Only the apex (or a name no longer than it) is left.
    match zone.node(name) {
        Some(node) => Found::Node(node),
        None => wildcard(zone, closest),
    }
}

/// RFC 4592 §3.3.1: only the wildcard child of the closest encloser can match.
fn wildcard<'z, 'n>(zone: &'z ServedZone, closest: &[u8]) -> Found<'z, 'n> {
    let mut w = NameBuf::new();
    if w.push_label(b"*").is_none() {
        return Found::NxDomain;
    }
    let mut ok = true;
    for s in suffixes(closest) {
        let l = s[0] as usize;
        if l == 0 {
            ok = w.push_root().is_some();
            break;
        }
        if w.push_label(&s[1..1 + l]).is_none() {
            ok = false;
            break;
        }
    }
    match (ok, zone.node(w.as_bytes())) {
        (true, Some(node)) => Found::Node(node),
        _ => Found::NxDomain,
    }
}

impl ServedZone {
    /// The delegation cut at or above `name` inside this zone, if any.
    pub fn cut_above<'a>(&'a self, name: &'a [u8]) -> Option<&'a [u8]> {
        match find(self, name, rtype::A) {
            Found::Cut(cut, _) => Some(cut),
            _ => None,
        }
    }
}
