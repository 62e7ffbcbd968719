//! The decision trace: why a balanced name answers what it does, for one client and family.
//!
//! It runs the same `decide` as the answer path, over the same health, so what it explains is
//! what a query gets (up to rotation and the weighted draw, which it names).

use std::net::IpAddr;

use serde::Serialize;

use super::{BalancedName, Client, Decision, EndpointHealth, Reason, decide};

/// One endpoint as the trace shows it.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointTrace {
    /// Address answered.
    pub address: IpAddr,
    /// Data center.
    pub datacenter: String,
    /// Failover priority.
    pub priority: u32,
    /// Weight.
    pub weight: u32,
    /// up, down or drained.
    pub state: &'static str,
    /// Last reported load, if any.
    pub load: Option<f64>,
    /// Whether it is of the queried family.
    pub family: bool,
    /// Whether this answer includes it.
    pub chosen: bool,
}

/// The whole decision.
#[derive(Debug, Clone, Serialize)]
pub struct Trace {
    /// Balanced name.
    pub name: String,
    /// A or AAAA.
    pub qtype: &'static str,
    /// Policy.
    pub policy: String,
    /// The client network the decision used.
    pub client: String,
    /// Whether that came from EDNS Client Subnet.
    pub client_from_ecs: bool,
    /// Every endpoint.
    pub endpoints: Vec<EndpointTrace>,
    /// The addresses answered, in order.
    pub answer: Vec<IpAddr>,
    /// TTL of the answer.
    pub ttl: u32,
    /// ECS scope prefix length returned.
    pub scope: u8,
    /// Whether every endpoint is down and the answer fails open.
    pub failing_open: bool,
    /// Why, in words.
    pub reason: String,
}

/// Describes a reason in words.
pub fn describe(b: &BalancedName, d: &Decision) -> String {
    let dc = |i: usize| {
        b.cfg
            .endpoints
            .iter()
            .position(|e| e.datacenter == i)
            .map_or_else(|| "?".to_string(), |k| b.dc_names[k].clone())
    };
    let mut s = match d.reason {
        Reason::NoFamily => "no endpoint of this address family: NODATA".to_string(),
        Reason::AllDownNone => "every endpoint is down and when_all_down = \"none\": NODATA".into(),
        Reason::AllDownFallback => {
            "every endpoint is down: answering the fallback addresses".into()
        }
        Reason::AllDrained => "every endpoint is drained: NODATA".into(),
        Reason::Rotation => "endpoints that are up, in rotation".into(),
        Reason::Weighted => "a weighted random draw among endpoints that are up".into(),
        Reason::Priority(p) => format!("priority group {p}, the lowest with an endpoint up"),
        Reason::Hashed => "rendezvous hash of the client network".into(),
        Reason::GeoMatch(i) => format!("the client network lies in data center {}", dc(i)),
        Reason::ByPriority(p) => {
            format!("no data center for this client has an endpoint up: priority group {p}")
        }
        Reason::Nearest(i, km) => format!("data center {} is nearest ({km:.0} km)", dc(i)),
        Reason::LeastLoaded => "the lowest reported load".into(),
    };
    if d.failing_open {
        s.push_str(" (every endpoint is down: failing open, answering as if all were up)");
    }
    s
}

/// Explains what `b` answers for `client` and family (`v4`), given `health`.
pub fn explain(b: &BalancedName, v4: bool, client: &Client, health: &[EndpointHealth]) -> Trace {
    let d = decide(b, v4, client, health, 0, 0);
    let answer: Vec<IpAddr> = if d.fallback {
        b.cfg
            .fallback
            .iter()
            .filter(|a| a.is_ipv4() == v4)
            .take(b.cfg.answers)
            .copied()
            .collect()
    } else {
        d.chosen
            .as_slice()
            .iter()
            .map(|&i| b.cfg.endpoints[i as usize].address)
            .collect()
    };
    Trace {
        name: b.cfg.name.clone(),
        qtype: if v4 { "A" } else { "AAAA" },
        policy: b.cfg.policy.to_string(),
        client: format!("{}/{}", client.addr, client.prefix),
        client_from_ecs: client.from_ecs,
        endpoints: b
            .cfg
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let h = health.get(i).copied().unwrap_or(EndpointHealth::UP);
                EndpointTrace {
                    address: e.address,
                    datacenter: b.dc_names[i].clone(),
                    priority: e.priority,
                    weight: e.weight,
                    state: h.state.as_str(),
                    load: h.load,
                    family: e.address.is_ipv4() == v4,
                    chosen: !d.fallback && d.chosen.as_slice().contains(&(i as u16)),
                }
            })
            .collect(),
        answer,
        ttl: b.cfg.ttl,
        scope: d.scope,
        failing_open: d.failing_open,
        reason: describe(b, &d),
    }
}
