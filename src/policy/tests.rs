//! Table-driven tests of the shared select step and of each policy, as pure functions.

use std::net::IpAddr;
use std::path::Path;

use super::*;
use crate::config::Config;

/// Builds the balanced names of a config text (zones are not needed for policies).
pub(crate) fn balances(toml: &str) -> (Config, Vec<BalancedName>) {
    let c = Config::from_str(Path::new("test.toml"), toml).expect("valid test config");
    let geoip = c
        .geoip
        .as_ref()
        .map(|p| Arc::new(GeoIp::open(p).expect("test geoip database")));
    let b = c
        .balances
        .iter()
        .map(|b| BalancedName::new(&c, b, geoip.clone()))
        .collect();
    (c, b)
}

pub(crate) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn chosen(b: &BalancedName, d: &Decision) -> Vec<IpAddr> {
    d.chosen
        .as_slice()
        .iter()
        .map(|&i| b.cfg.endpoints[i as usize].address)
        .collect()
}

const FAILOVER: &str = r#"
[zones]
directory = "zones"
[datacenters.a]
[datacenters.b]
[[balance]]
name = "app.example.com"
policy = "failover"
endpoints = [
  { address = "192.0.2.1", datacenter = "a", priority = 1 },
  { address = "192.0.2.2", datacenter = "b", priority = 2 },
  { address = "2001:db8::1", datacenter = "a", priority = 1 },
]
"#;

#[test]
fn failover_uses_the_lowest_priority_group_up() {
    let (_, bs) = balances(FAILOVER);
    let b = &bs[0];
    let client = Client::new(ip("192.0.2.200"), None);
    let up = EpHealth::UP;
    let down = EpHealth {
        state: State::Down,
        load: None,
    };
    // (health of the three endpoints, family v4, expected answer)
    let cases: Vec<([EpHealth; 3], bool, Vec<&str>)> = vec![
        ([up, up, up], true, vec!["192.0.2.1"]),
        ([down, up, up], true, vec!["192.0.2.2"]),
        ([up, up, up], false, vec!["2001:db8::1"]),
        ([down, down, up], true, vec!["192.0.2.1"]), // all v4 down: fail open, priority 1
    ];
    for (health, v4, want) in cases {
        let d = decide(b, v4, &client, &health, 0, 0);
        let want: Vec<IpAddr> = want.iter().map(|s| ip(s)).collect();
        assert_eq!(chosen(b, &d), want, "{health:?} v4={v4}");
    }
}
