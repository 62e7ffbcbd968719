//! The decision trace: why a balanced name answers what it does, for one client and family.
//!
//! It runs the same `decide` as the answer path, over the same health, so what it explains is
//! what a query gets (up to rotation and the weighted draw, which it names).

use std::net::IpAddr;

use super::geoip::unpack;
use super::{BalancedName, Client, Decision, Reason, decide};
use crate::state::EndpointHealth;
use crate::views::{Explain, ExplainEndpoint, StatusEndpoint};

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
        Reason::GeoRegion {
            dc: i,
            rule,
            code,
            prefix,
        } => format!(
            "the GeoIP record of the client's /{prefix} network places it in {rule} {}, listed by data center {}",
            unpack(code),
            dc(i)
        ),
        Reason::ByPriority(p) => {
            format!("no data center for this client has an endpoint up: priority group {p}")
        }
        Reason::Nearest(i, km) => format!("data center {} is nearest ({km:.0} km)", dc(i)),
        Reason::LeastLoaded => "the lowest reported load".into(),
    };
    if d.failing_open {
        s.push_str(
            " (every endpoint of this family is down: failing open, answering them as if they were up)",
        );
    }
    s
}

/// Explains what `b` answers for `client` and family (`v4`), given `health`. The admin API adds
/// each endpoint's health detail, the what-if list and the health generation.
pub fn explain(b: &BalancedName, v4: bool, client: &Client, health: &[EndpointHealth]) -> Explain {
    let d = decide(b, v4, client, health, 0, 0);
    let cname = if b.cfg.answers_cname() {
        if d.fallback {
            b.fallback_target().map(|t| t.name.clone())
        } else {
            d.chosen
                .as_slice()
                .first()
                .and_then(|&i| b.cfg.endpoints[i as usize].target.as_ref())
                .map(|t| t.name.clone())
        }
    } else {
        None
    };
    let answer: Vec<IpAddr> = if b.cfg.answers_cname() {
        Vec::new()
    } else if d.fallback {
        b.fallback(v4).copied().collect()
    } else {
        d.chosen
            .as_slice()
            .iter()
            .map(|&i| b.cfg.endpoints[i as usize].address)
            .collect()
    };
    let mut reason = describe(b, &d);
    if let Reason::GeoRegion { .. } = d.reason
        && let Some(g) = &b.geoip
    {
        reason.push_str(&format!(" (database record: {})", record(g, client.addr)));
    }
    Explain {
        name: b.cfg.name.clone(),
        qtype: if v4 { "A" } else { "AAAA" }.to_string(),
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
                ExplainEndpoint {
                    endpoint: StatusEndpoint {
                        address: e.address,
                        target: e.target.as_ref().map(|t| t.name.clone()),
                        datacenter: b.dc_names[i].clone(),
                        priority: e.priority,
                        weight: e.weight,
                        state: h.state,
                        load: h.load,
                        health: None,
                    },
                    family: e.serves(v4),
                    chosen: !d.fallback && d.chosen.as_slice().contains(&(i as u16)),
                }
            })
            .collect(),
        answer,
        cname,
        datacenters_down: Vec::new(),
        ttl: b.ttl(health),
        scope: d.scope,
        failing_open: d.failing_open,
        reason,
        assumed_down: Vec::new(),
        health_generation: 0,
        signed: false,
    }
}

/// The GeoIP record holding `addr`, for people: its network and the regions it names.
fn record(g: &super::geoip::GeoIp, addr: IpAddr) -> String {
    let p = g.place(addr);
    let net = super::subnet::mask(addr, p.prefix);
    let mut parts = vec![format!("{net}/{}", p.prefix)];
    if p.continent != 0 {
        parts.push(format!("continent {}", unpack(p.continent)));
    }
    if p.country != 0 {
        parts.push(format!("country {}", unpack(p.country)));
    }
    for s in p.subdivisions.iter().filter(|&&s| s != 0) {
        parts.push(format!("subdivision {}", unpack(*s)));
    }
    parts.push(format!("from {}", g.database_type()));
    parts.join(", ")
}
