//! What a reload changed, for its log line: balanced names and zones added, removed and changed,
//! with the serials of changed zones.
//!
//! Owns: comparing two `Served` by name and origin (a balanced name "changed" when anything
//! that decides its answers differs: policy, TTL, answers, all-down rule, fallback, endpoints,
//! their data centers and checks; where it is written in the file does not count). Must not:
//! decide whether a reload is applied.

use std::collections::HashMap;
use std::fmt;

use crate::policy::BalancedName;
use crate::snapshot::Served;
use crate::wire::name::display;

/// The differences between the configuration in service and the one a reload brings.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Balanced names only the new configuration has.
    pub names_added: usize,
    /// Balanced names only the old one had.
    pub names_removed: usize,
    /// Balanced names in both whose answers may differ.
    pub names_changed: usize,
    /// Zones only the new configuration serves, with their serial.
    pub zones_added: Vec<(String, u32)>,
    /// Zones no longer served.
    pub zones_removed: Vec<String>,
    /// Zones whose data changed: origin, old serial, new serial.
    pub zones_changed: Vec<(String, u32, u32)>,
}

/// The check an endpoint's check index names in `s`.
fn check(s: &Served, i: Option<usize>) -> Option<&crate::config::Check> {
    i.and_then(|i| s.config.checks.get(i))
}

/// Whether `a` (of `old`) and `b` (of `new`) answer alike.
fn same_name(old: &Served, a: &BalancedName, new: &Served, b: &BalancedName) -> bool {
    let (x, y) = (&a.cfg, &b.cfg);
    x.policy == y.policy
        && x.ttl == y.ttl
        && x.answers == y.answers
        && x.when_all_down == y.when_all_down
        && x.fallback == y.fallback
        && a.dc_names == b.dc_names
        && x.endpoints.len() == y.endpoints.len()
        && x.endpoints.iter().zip(&y.endpoints).all(|(e, f)| {
            e.address == f.address
                && e.priority == f.priority
                && e.weight == f.weight
                && e.check_address == f.check_address
                && check(old, e.check) == check(new, f.check)
        })
}

/// What changes from `old` to `new`.
pub fn between(old: &Served, new: &Served) -> Changes {
    let mut c = Changes::default();
    let before: HashMap<&str, &BalancedName> = old
        .balances
        .iter()
        .map(|b| (b.cfg.name.as_str(), b))
        .collect();
    let mut kept = 0;
    for b in &new.balances {
        match before.get(b.cfg.name.as_str()) {
            None => c.names_added += 1,
            Some(a) => {
                kept += 1;
                if !same_name(old, a, new, b) {
                    c.names_changed += 1;
                }
            }
        }
    }
    c.names_removed = old.balances.len() - kept;
    let zones_before: HashMap<&[u8], &crate::zone::Zone> = old
        .zones
        .iter()
        .map(|z| (&z.zone.origin[..], &*z.zone))
        .collect();
    let zones_after: HashMap<&[u8], &crate::zone::Zone> = new
        .zones
        .iter()
        .map(|z| (&z.zone.origin[..], &*z.zone))
        .collect();
    for (origin, z) in &zones_after {
        match zones_before.get(origin) {
            None => c.zones_added.push((display(origin), z.serial)),
            Some(o) if o.serial != z.serial || o.sources != z.sources => {
                c.zones_changed.push((display(origin), o.serial, z.serial));
            }
            Some(_) => {}
        }
    }
    for origin in zones_before.keys() {
        if !zones_after.contains_key(origin) {
            c.zones_removed.push(display(origin));
        }
    }
    c.zones_added.sort();
    c.zones_removed.sort();
    c.zones_changed.sort();
    c
}

/// Zones as a log value: `a.example. (7), b.example. (3)`; `-` for none.
pub struct ZoneList<'a, T>(
    pub &'a [T],
    pub fn(&T, &mut fmt::Formatter<'_>) -> fmt::Result,
);

impl<T> fmt::Display for ZoneList<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("-");
        }
        for (i, z) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            (self.1)(z, f)?;
        }
        Ok(())
    }
}

impl Changes {
    /// Logs the reload's summary: one line, with how many zones were reused unread and how
    /// many were read.
    pub fn log(&self, zones_reused: usize, zones_loaded: usize) {
        tracing::info!(
            names_added = self.names_added,
            names_removed = self.names_removed,
            names_changed = self.names_changed,
            zones_added = %ZoneList(&self.zones_added, |(z, s), f| write!(f, "{z} (serial {s})")),
            zones_removed = %ZoneList(&self.zones_removed, |z, f| f.write_str(z)),
            zones_changed = %ZoneList(&self.zones_changed, |(z, a, b), f| write!(f, "{z} (serial {a} -> {b})")),
            zones_reused,
            zones_loaded,
            "configuration reloaded"
        );
    }
}
