//! A zone as one configuration serves it: the file-built `Zone`, shared (`Arc`) and never
//! changed, plus an overlay of the balanced names this configuration answers inside it.
//!
//! Owns: the overlay (each balanced name's node, and the empty non-terminals a balanced name
//! creates that the zone file does not have) and the lookup that consults it before the zone.
//! Must not: change the shared `Zone` (other configurations, the running one among them, serve
//! the same copy), read files, or decide answers.
//!
//! The overlay is probed only for names whose wire length some overlay key has (a 256-bit set),
//! so a name that is not balanced costs one bit test per label beside the zone's own probe.

use std::sync::Arc;

use super::{FastMap, Node, Zone};
use crate::wire::name::parent;

/// A zone with the balanced names one configuration attaches to it.
#[derive(Debug, Clone)]
pub struct ServedZone {
    /// The zone as its files built it; shared with every configuration that serves those files.
    pub zone: Arc<Zone>,
    overlay: FastMap<Box<[u8]>, Node>,
    /// Bit `n` set: some overlay key is `n` octets long (wire names are at most 255).
    lengths: [u64; 4],
    /// The zone's signer in `Served::signers`, when `[dnssec]` signs it.
    pub signed: Option<u32>,
}

impl ServedZone {
    /// `zone` with no balanced names.
    pub fn new(zone: Arc<Zone>) -> Self {
        ServedZone {
            zone,
            overlay: FastMap::default(),
            lengths: [0; 4],
            signed: None,
        }
    }

    /// The zone's origin, as a wire key.
    pub fn origin(&self) -> &[u8] {
        &self.zone.origin
    }

    fn insert(&mut self, name: &[u8], node: Node) {
        let n = name.len().min(255);
        self.lengths[n >> 6] |= 1 << (n & 63);
        self.overlay.insert(name.into(), node);
    }

    /// Marks `name` (inside this zone) as the balanced name answered by balance table entry
    /// `id`. Its node keeps whatever RRsets the zone file has at that name; the ancestors it
    /// needs down to the apex become empty non-terminals (RFC 8020) where the zone lacks them.
    pub fn attach_balance(&mut self, name: &[u8], id: u32) {
        let rrsets = self
            .node(name)
            .map(|n| n.rrsets.clone())
            .unwrap_or_default();
        self.insert(
            name,
            Node {
                rrsets,
                balance: Some(id),
            },
        );
        let mut ancestor = parent(name);
        while let Some(p) = ancestor {
            if p.len() < self.zone.origin.len() || self.node(p).is_some() {
                break;
            }
            self.insert(p, Node::default());
            ancestor = parent(p);
        }
    }

    /// The node at exactly `name`: the overlay's, else the zone's.
    #[inline]
    pub fn node(&self, name: &[u8]) -> Option<&Node> {
        let n = name.len();
        if n < 256
            && self.lengths[n >> 6] & (1 << (n & 63)) != 0
            && let Some(node) = self.overlay.get(name)
        {
            return Some(node);
        }
        self.zone.node(name)
    }

    /// Number of names served: the zone's and the overlay's new ones.
    pub fn len(&self) -> usize {
        let added = self
            .overlay
            .keys()
            .filter(|k| self.zone.node(k).is_none())
            .count();
        self.zone.len() + added
    }

    /// Whether no name is served (never true for a built zone: the apex exists).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_proto::rr::Name;

    use super::*;
    use crate::wire::name::key_of;
    use crate::wire::rtype;

    fn key(s: &str) -> Box<[u8]> {
        key_of(&Name::from_str(s).unwrap())
    }

    fn zone() -> Arc<Zone> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("example.zone");
        std::fs::write(
            &p,
            "$TTL 300\nexample. SOA ns.example. h.example. 1 2 3 4 60\n\
             example. NS ns.example.\nns.example. A 192.0.2.1\nwww.example. TXT hi\n",
        )
        .unwrap();
        Arc::new(super::super::file::load_file(&p).unwrap())
    }

    #[test]
    fn balanced_names_and_their_ancestors_live_in_the_overlay_not_the_zone() {
        let z = zone();
        let names = z.len();
        let mut s = ServedZone::new(z.clone());
        s.attach_balance(&key("app.x.y.example."), 0);
        s.attach_balance(&key("www.example."), 1);
        assert_eq!(s.len(), names + 3);
        assert_eq!(s.node(&key("app.x.y.example.")).unwrap().balance, Some(0));
        let ent = s.node(&key("x.y.example.")).unwrap();
        assert!(ent.rrsets.is_empty() && ent.balance.is_none());
        let www = s.node(&key("www.example.")).unwrap();
        assert_eq!(www.balance, Some(1));
        assert!(www.get(rtype::TXT).is_some(), "the file's records stay");
        // The shared zone is as its file built it.
        assert_eq!(z.len(), names);
        assert!(z.node(&key("x.y.example.")).is_none());
        assert!(z.node(&key("www.example.")).unwrap().balance.is_none());
        // A second configuration over the same zone sees none of the first's names.
        let other = ServedZone::new(z);
        assert!(other.node(&key("app.x.y.example.")).is_none());
    }

    #[test]
    fn names_of_an_overlay_keys_length_still_find_the_zone() {
        let mut s = ServedZone::new(zone());
        // "app.example." has the wire length of "www.example.", which is not balanced here.
        s.attach_balance(&key("app.example."), 0);
        assert!(s.node(&key("www.example.")).unwrap().balance.is_none());
        assert!(s.node(&key("ns.example.")).is_some());
        assert!(s.node(&key("no.example.")).is_none());
    }
}
