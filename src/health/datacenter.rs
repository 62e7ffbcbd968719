//! Data-center health (shared fate): whether each data center counts as up under its `min_up`.
//!
//! Owns: the rule. A data center with `min_up` counts as down while fewer of its distinct probed
//! targets (check × address, over every name) are up than `min_up` asks (a count, or p % of n
//! meaning ⌈p·n/100⌉); a drained target counts as not up; a data center none of whose endpoints
//! is probed is exempt. Which targets each data center has is worked out once per plan; judging
//! them is a pure function of the trackers' verdicts and the drains. Must not: probe, publish,
//! log, or decide an endpoint's own state (the publisher's `cell` applies what this says).

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::config::{Config, MinUp};
use crate::plan::Plan;
use crate::policy::BalancedName;
use crate::snapshot::DatacenterHealth;

/// One data center with a `min_up` rule and its targets.
#[derive(Debug, Clone)]
struct Rule {
    /// Index into `Config::datacenters`.
    dc: usize,
    /// Its name (drains are by data center name).
    name: String,
    /// The rule.
    min_up: MinUp,
    /// Its distinct targets, each with the endpoint addresses of this data center reading it
    /// (a drain of any of them takes the target out).
    targets: Vec<(usize, Box<[IpAddr]>)>,
}

/// The `min_up` rules of one plan.
#[derive(Debug, Clone, Default)]
pub(super) struct SharedFate {
    rules: Vec<Rule>,
    /// How many data centers the configuration has.
    datacenters: usize,
}

impl SharedFate {
    /// The rules of `config`'s data centers over `plan`'s targets.
    pub(super) fn new(config: &Config, balances: &[BalancedName], plan: &Plan) -> SharedFate {
        let mut by_dc: BTreeMap<usize, BTreeMap<usize, Vec<IpAddr>>> = BTreeMap::new();
        let has_rule = |d: usize| {
            config
                .datacenters
                .get(d)
                .is_some_and(|d| d.min_up.is_some())
        };
        for (t, users) in plan.users.iter().enumerate() {
            for &(bi, ei) in users.iter() {
                let Some(e) = balances
                    .get(bi as usize)
                    .and_then(|b| b.cfg.endpoints.get(ei as usize))
                else {
                    continue;
                };
                if has_rule(e.datacenter) {
                    let addrs = by_dc.entry(e.datacenter).or_default().entry(t).or_default();
                    if !addrs.contains(&e.address) {
                        addrs.push(e.address);
                    }
                }
            }
        }
        let rules = config
            .datacenters
            .iter()
            .enumerate()
            .filter_map(|(d, dc)| {
                Some(Rule {
                    dc: d,
                    name: dc.name.clone(),
                    min_up: dc.min_up?,
                    targets: by_dc
                        .remove(&d)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(t, a)| (t, a.into_boxed_slice()))
                        .collect(),
                })
            })
            .collect();
        SharedFate {
            rules,
            datacenters: config.datacenters.len(),
        }
    }

    /// Each data center's standing, given whether target `t` is up (`up(t)`) and whether an
    /// endpoint address is drained in a data center (`drained(address, datacenter)`).
    pub(super) fn judge(
        &self,
        up: impl Fn(usize) -> bool,
        drained: impl Fn(&IpAddr, &str) -> bool,
    ) -> Vec<DatacenterHealth> {
        let mut out = vec![DatacenterHealth::default(); self.datacenters];
        for r in &self.rules {
            let n = r.targets.len();
            let targets_up = r
                .targets
                .iter()
                .filter(|(t, addrs)| up(*t) && !addrs.iter().any(|a| drained(a, &r.name)))
                .count();
            if let Some(slot) = out.get_mut(r.dc) {
                *slot = DatacenterHealth {
                    targets: n,
                    targets_up,
                    up: n == 0 || targets_up >= r.min_up.needed(n),
                };
            }
        }
        out
    }

    /// The name and rule of data center `d`, when it has one (for the log).
    pub(super) fn rule(&self, d: usize) -> Option<(&str, MinUp)> {
        self.rules
            .iter()
            .find(|r| r.dc == d)
            .map(|r| (r.name.as_str(), r.min_up))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::Path;

    /// Data center `a` (min_up as given) with `n` probed backends in one name, and `b` without
    /// a rule; judged with the backends up as `ups` says (`U` up, `D` down, `R` drained).
    fn judge(min_up: &str, ups: &str) -> DatacenterHealth {
        let mut text = format!(
            "[zones]\ndirectory = \"z\"\n[checks.c]\nprotocol = \"tcp\"\nport = 1\n\
             [datacenters.a]\nmin_up = {min_up}\n[datacenters.b]\n\
             [[balance]]\nname = \"n.example\"\npolicy = \"all\"\ncheck = \"c\"\nendpoints = [\n"
        );
        for i in 0..ups.len() {
            text.push_str(&format!(
                "{{ address = \"192.0.2.{}\", datacenter = \"a\" }},\n",
                i + 1
            ));
        }
        text.push_str("{ address = \"198.51.100.1\", datacenter = \"b\" },\n]\n");
        let c = Config::from_str(Path::new("t.toml"), &text).expect("config");
        let balances: Vec<BalancedName> = c
            .balances
            .iter()
            .map(|b| BalancedName::new(&c, b, None))
            .collect();
        let plan = Plan::of(&c.checks, &balances);
        let fate = SharedFate::new(&c, &balances, &plan);
        let states: Vec<char> = ups.chars().collect();
        let addr_state = |a: &IpAddr| match a {
            IpAddr::V4(v) if v.octets()[0] == 192 => states[v.octets()[3] as usize - 1],
            _ => 'U',
        };
        let out = fate.judge(
            |t| addr_state(&plan.targets[t].addr) != 'D',
            |a, _| addr_state(a) == 'R',
        );
        assert!(out[1].up, "a data center without min_up is always up");
        out[0]
    }

    #[test]
    fn min_up_counts_and_percentages() {
        // (min_up, backends, targets up, data center up)
        let cases = [
            ("2", "UU", 2, true),
            ("2", "UD", 1, false),
            ("1", "UD", 1, true),
            ("\"50%\"", "UD", 1, true),
            ("\"50%\"", "UDD", 1, false),  // ⌈1.5⌉ = 2
            ("\"34%\"", "UDD", 1, false),  // ⌈1.02⌉ = 2
            ("\"33%\"", "UDD", 1, true),   // ⌈0.99⌉ = 1
            ("\"100%\"", "UUR", 2, false), // drained is not up
            ("2", "UR", 1, false),
            ("3", "UU", 2, false),
        ];
        for (min_up, ups, want_up, want) in cases {
            let h = judge(min_up, ups);
            assert_eq!(
                (h.targets, h.targets_up, h.up),
                (ups.len(), want_up, want),
                "min_up {min_up} with {ups}"
            );
        }
    }

    #[test]
    fn a_data_center_without_probed_targets_is_exempt() {
        let text = "[zones]\ndirectory = \"z\"\n[datacenters.a]\nmin_up = 2\n\
                    [[balance]]\nname = \"n.example\"\npolicy = \"all\"\n\
                    endpoints = [{ address = \"192.0.2.1\", datacenter = \"a\" }]\n";
        let c = Config::from_str(Path::new("t.toml"), text).expect("config");
        let balances: Vec<BalancedName> = c
            .balances
            .iter()
            .map(|b| BalancedName::new(&c, b, None))
            .collect();
        let plan = Plan::of(&c.checks, &balances);
        let out = SharedFate::new(&c, &balances, &plan).judge(|_| false, |_, _| false);
        assert_eq!(
            out[0],
            DatacenterHealth {
                targets: 0,
                targets_up: 0,
                up: true
            }
        );
    }
}
