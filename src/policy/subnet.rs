//! A longest-prefix-match map from IP networks to values, for the geo policy.
//!
//! One hash map per prefix length in use, probed from the longest length down: a lookup costs
//! one masked hash probe per distinct length, whatever the number of networks.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

/// Networks → values; IPv4 and IPv6 kept apart.
#[derive(Debug, Clone)]
pub struct SubnetMap<T> {
    v4: Vec<(u8, HashMap<u32, T>)>,
    v6: Vec<(u8, HashMap<u128, T>)>,
}

impl<T> Default for SubnetMap<T> {
    fn default() -> Self {
        SubnetMap {
            v4: Vec::new(),
            v6: Vec::new(),
        }
    }
}

fn m4(a: u32, p: u8) -> u32 {
    if p == 0 {
        0
    } else {
        a & (u32::MAX << (32 - p))
    }
}

fn m6(a: u128, p: u8) -> u128 {
    if p == 0 {
        0
    } else {
        a & (u128::MAX << (128 - p))
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
                self.v4[i]
                    .1
                    .entry(m4(u32::from(n.network()), p))
                    .or_insert(value);
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
                self.v6[i]
                    .1
                    .entry(m6(u128::from(n.network()), p))
                    .or_insert(value);
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

    /// Whether no network is present.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
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
}
