//! A longest-prefix-match map from IP networks to values, for the geo policy.
//!
//! One hash map per prefix length in use, probed from the longest length down: a lookup costs
//! one masked hash probe per distinct length, whatever the number of networks. Beside it, the
//! set of blocks that hold a longer network, so an ECS scope never covers a nested network
//! that answers differently (RFC 7871 §7.3.1: resolvers reuse an answer for its whole scope).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use ipnet::IpNet;

/// Networks → values; IPv4 and IPv6 kept apart.
#[derive(Debug, Clone)]
pub struct SubnetMap<T> {
    v4: Vec<(u8, HashMap<u32, T>)>,
    v6: Vec<(u8, HashMap<u128, T>)>,
    /// (length, masked address) of every block that holds a longer network.
    above4: HashSet<(u8, u32)>,
    above6: HashSet<(u8, u128)>,
}

impl<T> Default for SubnetMap<T> {
    fn default() -> Self {
        SubnetMap {
            v4: Vec::new(),
            v6: Vec::new(),
            above4: HashSet::new(),
            above6: HashSet::new(),
        }
    }
}

fn m4(a: u32, p: u8) -> u32 {
    match p {
        0 => 0,
        p => a & (u32::MAX << (32 - p.min(32))),
    }
}

fn m6(a: u128, p: u8) -> u128 {
    match p {
        0 => 0,
        p => a & (u128::MAX << (128 - p.min(128))),
    }
}

/// `addr` with every bit past `prefix` cleared (a prefix past the family's length keeps every
/// bit): the one masking rule for client networks, ECS and geo lookups.
pub fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => IpAddr::from(m4(u32::from(a), prefix).to_be_bytes()),
        IpAddr::V6(a) => IpAddr::from(m6(u128::from(a), prefix).to_be_bytes()),
    }
}

impl<T> SubnetMap<T> {
    /// Adds a network; a network already present keeps its first value.
    pub fn insert(&mut self, net: IpNet, value: T) {
        let p = net.prefix_len();
        match net {
            IpNet::V4(n) => {
                let i = match self.v4.iter().position(|(l, _)| *l == p) {
                    Some(i) => i,
                    None => {
                        self.v4.push((p, HashMap::new()));
                        self.v4.sort_by_key(|e| std::cmp::Reverse(e.0));
                        self.v4.iter().position(|(l, _)| *l == p).unwrap_or(0)
                    }
                };
                let a = u32::from(n.network());
                self.above4.extend((0..p).map(|l| (l, m4(a, l))));
                self.v4[i].1.entry(m4(a, p)).or_insert(value);
            }
            IpNet::V6(n) => {
                let i = match self.v6.iter().position(|(l, _)| *l == p) {
                    Some(i) => i,
                    None => {
                        self.v6.push((p, HashMap::new()));
                        self.v6.sort_by_key(|e| std::cmp::Reverse(e.0));
                        self.v6.iter().position(|(l, _)| *l == p).unwrap_or(0)
                    }
                };
                let a = u128::from(n.network());
                self.above6.extend((0..p).map(|l| (l, m6(a, l))));
                self.v6[i].1.entry(m6(a, p)).or_insert(value);
            }
        }
    }

    /// The value of the longest network holding `addr`, with that network's prefix length.
    pub fn lookup(&self, addr: IpAddr) -> Option<(&T, u8)> {
        match addr {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                self.v4
                    .iter()
                    .find_map(|(p, m)| m.get(&m4(a, *p)).map(|v| (v, *p)))
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                self.v6
                    .iter()
                    .find_map(|(p, m)| m.get(&m6(a, *p)).map(|v| (v, *p)))
            }
        }
    }

    /// The shortest prefix length, at least `from`, whose block around `addr` holds no network
    /// longer than itself: every address in that block has the same longest match as `addr`,
    /// so an answer decided by that match holds for the whole block.
    pub fn scope(&self, addr: IpAddr, from: u8) -> u8 {
        match addr {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                (from.min(32)..32)
                    .find(|&l| !self.above4.contains(&(l, m4(a, l))))
                    .unwrap_or(32)
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                (from.min(128)..128)
                    .find(|&l| !self.above6.contains(&(l, m6(a, l))))
                    .unwrap_or(128)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        let mut m = SubnetMap::default();
        m.insert("10.0.0.0/8".parse().unwrap(), "wide");
        m.insert("10.1.0.0/16".parse().unwrap(), "narrow");
        m.insert("2001:db8::/32".parse().unwrap(), "v6");
        m.insert("0.0.0.0/0".parse().unwrap(), "default");
        let l = |s: &str| m.lookup(s.parse().unwrap()).map(|(v, p)| (*v, p));
        assert_eq!(l("10.1.2.3"), Some(("narrow", 16)));
        assert_eq!(l("10.2.2.3"), Some(("wide", 8)));
        assert_eq!(l("192.0.2.1"), Some(("default", 0)));
        assert_eq!(l("2001:db8::1"), Some(("v6", 32)));
        assert_eq!(l("2001:db9::1"), None);
    }

    #[test]
    fn scopes_stop_short_of_nested_networks() {
        let mut m = SubnetMap::default();
        m.insert("10.0.0.0/8".parse().unwrap(), "a");
        m.insert("10.1.0.0/16".parse().unwrap(), "b");
        m.insert("10.1.2.0/24".parse().unwrap(), "c");
        m.insert("2001:db8::/32".parse().unwrap(), "v6");
        let s = |a: &str, from: u8| m.scope(a.parse().unwrap(), from);
        // (address, from, scope)
        let cases = [
            ("10.9.9.0", 8, 13),  // 10.8.0.0/13: clear of 10.1.0.0/16
            ("10.128.0.0", 8, 9), // 10.128.0.0/9
            ("10.1.9.0", 16, 21), // 10.1.8.0/21: clear of 10.1.2.0/24
            ("10.1.2.0", 24, 24), // nothing inside
            ("10.1.0.0", 16, 23), // 10.1.0.0/23: clear of 10.1.2.0/24
            ("192.0.2.0", 24, 24),
            ("192.0.0.0", 4, 4),
            ("2001:db8:1::", 32, 32),
            ("2001::", 16, 21), // 2001::/21 ends before 2001:db8::
        ];
        for (a, from, want) in cases {
            assert_eq!(s(a, from), want, "{a} from {from}");
        }
    }
}
