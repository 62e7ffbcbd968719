//! The JSON the admin API returns: status of everything, and the explain trace with health.
//!
//! Owns: the shape of `/v1/status` and `/v1/explain` (documented in docs/admin-api.md).
//! Must not: mutate anything; it reads one snapshot.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use axum::http::StatusCode;

use super::ExplainQuery;
use crate::control::Control;
use crate::policy::Client;
use crate::policy::trace::explain as trace;
use crate::snapshot::{EndpointStatus, Snapshot};
use crate::state::{EndpointHealth, EndpointState};
use crate::views::{
    BalancedStatus, DatacenterStatus, Explain, HealthDetail, LastCheck, Status, StatusEndpoint,
    TransitionView, ZoneStatus,
};
use crate::wire::ClientSubnet;
use crate::wire::name::display;

pub use crate::views::rfc3339;

/// An endpoint's health detail; with `[cluster]`, its vote's arithmetic too. `endpoint` is what
/// the vote is about: the address answered, or a CNAME endpoint's target name.
fn health_detail(
    s: Option<&EndpointStatus>,
    endpoint: &str,
    cluster: Option<&crate::cluster::Handle>,
) -> Option<HealthDetail> {
    let s = s?;
    let votes = match (cluster, &s.check) {
        (Some(c), Some(check)) => Some(
            c.tally(&crate::cluster::Subject::new(check, endpoint))
                .to_string(),
        ),
        _ => None,
    };
    Some(HealthDetail {
        votes,
        since: rfc3339(s.since),
        since_seconds: SystemTime::now()
            .duration_since(s.since)
            .map_or(0, |d| d.as_secs()),
        check: s.check.clone(),
        probe: s.probe.map(|p| p.to_string()),
        last_check: s.last.as_ref().map(|r| LastCheck {
            ok: r.is_ok(),
            result: r.to_string(),
            latency_ms: (r.latency * 1000.0 * 10.0).round() / 10.0,
            at: s.last_at.map(rfc3339),
        }),
    })
}

/// Everything `/v1/status` shows.
pub fn status(snap: &Snapshot, control: &Control) -> Status {
    let served = &snap.served;
    let h = &snap.health;
    let balanced = served
        .balances
        .iter()
        .enumerate()
        .map(|(bi, b)| {
            let rows = h.row(bi);
            let health_of = |ei: usize| rows.get(ei).copied().unwrap_or(EndpointHealth::UP);
            let endpoints = b
                .cfg
                .endpoints
                .iter()
                .enumerate()
                .map(|(ei, e)| StatusEndpoint {
                    address: e.address,
                    target: e.target.as_ref().map(|t| t.name.clone()),
                    datacenter: b.dc_names[ei].clone(),
                    priority: e.priority,
                    weight: e.weight,
                    state: health_of(ei).state,
                    load: health_of(ei).load,
                    health: health_detail(
                        h.status(bi, ei).as_ref(),
                        &e.answer(),
                        control.health.cluster(),
                    ),
                })
                .collect();
            BalancedStatus {
                name: b.cfg.name.clone(),
                policy: b.cfg.policy.to_string(),
                ttl: b.cfg.ttl,
                answers: b.cfg.answers,
                when_all_down: b.cfg.when_all_down.to_string(),
                endpoints_up: (0..b.cfg.endpoints.len())
                    .filter(|&ei| health_of(ei).state == EndpointState::Up)
                    .count(),
                failing_open: crate::policy::failing_open(b, rows),
                endpoints,
            }
        })
        .collect();
    // One pass over every endpoint: (endpoints, up, drained) per data center.
    let mut counts: std::collections::HashMap<&str, (usize, usize, usize)> =
        std::collections::HashMap::new();
    for (bi, b) in served.balances.iter().enumerate() {
        let rows = h.row(bi);
        for (ei, name) in b.dc_names.iter().enumerate() {
            let c = counts.entry(name.as_str()).or_default();
            c.0 += 1;
            match rows.get(ei).map(|e| e.state) {
                Some(EndpointState::Down) => {}
                Some(EndpointState::Drained) => c.2 += 1,
                _ => c.1 += 1,
            }
        }
    }
    let datacenters = served
        .config
        .datacenters
        .iter()
        .enumerate()
        .map(|(di, d)| {
            let (total, up, drained) = counts.get(d.name.as_str()).copied().unwrap_or_default();
            let fate = h.datacenters.get(di).copied().unwrap_or_default();
            DatacenterStatus {
                name: d.name.clone(),
                endpoints: total,
                up,
                drained,
                networks: d.networks.iter().map(|n| n.to_string()).collect(),
                regions: d
                    .subdivisions
                    .iter()
                    .chain(&d.countries)
                    .chain(&d.continents)
                    .cloned()
                    .collect(),
                min_up: d.min_up.map(|m| m.to_string()),
                targets: fate.targets,
                targets_up: fate.targets_up,
                datacenter_up: fate.up,
            }
        })
        .collect();
    let transitions = h
        .transitions
        .iter()
        .rev()
        .map(|t| TransitionView {
            at: rfc3339(t.at),
            endpoint: t.endpoint,
            datacenter: t.datacenter.clone(),
            check: t.check.clone(),
            from: t.from,
            to: t.to,
            reason: t.reason.clone(),
            endpoints: t.endpoints,
            names: t.names,
        })
        .collect();
    Status {
        config_generation: control.reloads.generation.load(Ordering::Relaxed),
        last_reload_ok: control.reloads.last_ok.load(Ordering::Relaxed),
        health_generation: h.generation,
        zones: served
            .zones
            .iter()
            .map(|z| ZoneStatus {
                origin: display(z.origin()),
                serial: z.zone.serial,
                names: z.len(),
                file: z.zone.file.display().to_string(),
            })
            .collect(),
        datacenters,
        balanced,
        transitions,
    }
}

/// Parses `addr` (resolver address) or `addr/len` (as if sent in ECS).
pub(crate) fn parse_client(s: &str) -> Result<Client, String> {
    match s.split_once('/') {
        None => {
            let a: IpAddr = s
                .parse()
                .map_err(|_| format!("client {s:?} is not an IP address"))?;
            Ok(Client::new(a, None))
        }
        Some((a, l)) => {
            let a: IpAddr = a
                .parse()
                .map_err(|_| format!("client {s:?} is not an IP network"))?;
            let l: u8 = l
                .parse()
                .map_err(|_| format!("client {s:?} has a bad prefix length"))?;
            let max = if a.is_ipv4() { 32 } else { 128 };
            if l > max {
                return Err(format!("client {s:?}: prefix longer than {max}"));
            }
            Ok(Client::new(
                a,
                Some(ClientSubnet {
                    addr: a,
                    source_prefix: l,
                }),
            ))
        }
    }
}

/// What `/v1/explain` returns: the decision trace plus each endpoint's health detail.
pub fn explain(
    snap: &Snapshot,
    q: &ExplainQuery,
    cluster: Option<&crate::cluster::Handle>,
) -> Result<Explain, (StatusCode, String)> {
    let Some(bi) = snap.balance_index(&q.name) else {
        return Err((
            StatusCode::NOT_FOUND,
            format!("{} is not a balanced name", q.name),
        ));
    };
    let b = &snap.served.balances[bi];
    let v4 = match q.qtype.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("A") => true,
        Some("AAAA") => false,
        Some(t) => {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("type {t:?}: use A or AAAA"),
            ));
        }
    };
    let client = parse_client(q.client.as_deref().unwrap_or("127.0.0.1"))
        .map_err(|e| (StatusCode::BAD_REQUEST, e))?;
    let mut health: Vec<EndpointHealth> = snap.health.row(bi).to_vec();
    health.resize(b.cfg.endpoints.len(), EndpointHealth::UP);
    let mut assumed = Vec::new();
    for what in q
        .assume_down
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let addr = what.parse::<IpAddr>().ok();
        let mut hit = false;
        for (i, e) in b.cfg.endpoints.iter().enumerate() {
            let target = e.target.as_ref().map(|t| t.name.trim_end_matches('.'));
            if Some(e.address) == addr
                || b.dc_names[i] == what
                || target.is_some_and(|t| t == what.trim_end_matches('.'))
            {
                // A what-if takes endpoints down; it never undrains one (a drained endpoint
                // assumed down would become a fail-open candidate the real answer never has).
                if health[i].state != EndpointState::Drained {
                    health[i].state = EndpointState::Down;
                }
                hit = true;
            }
        }
        if !hit {
            return Err((
                StatusCode::BAD_REQUEST,
                format!(
                    "assume_down {what:?} is neither an endpoint nor a data center of {}",
                    b.cfg.name
                ),
            ));
        }
        assumed.push(what.to_string());
    }
    let mut t = trace(b, v4, &client, &health);
    for (i, e) in t.endpoints.iter_mut().enumerate() {
        let subject = e
            .endpoint
            .target
            .clone()
            .unwrap_or_else(|| e.endpoint.address.to_string());
        e.endpoint.health = health_detail(snap.health.status(bi, i).as_ref(), &subject, cluster);
    }
    t.assumed_down = assumed;
    t.health_generation = snap.health.generation;
    let mut dcs: Vec<usize> = b.cfg.endpoints.iter().map(|e| e.datacenter).collect();
    dcs.sort_unstable();
    dcs.dedup();
    for d in dcs {
        let fate = snap.health.datacenters.get(d).copied().unwrap_or_default();
        let cfg = &snap.served.config.datacenters[d];
        if !fate.up
            && let Some(m) = cfg.min_up
        {
            t.datacenters_down.push(format!(
                "{}: {} of {} probed targets up, min_up = {m}: its endpoints count as down",
                cfg.name, fate.targets_up, fate.targets
            ));
        }
    }
    t.signed = snap
        .served
        .zones
        .find(&b.cfg.key)
        .is_some_and(|z| z.signed.is_some());
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn formats_utc_times() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_437_296);
        assert_eq!(rfc3339(t), "2026-11-23T12:34:56Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn clients_parse_as_address_or_network() {
        let c = parse_client("203.0.113.7").unwrap();
        assert!(!c.from_ecs);
        let c = parse_client("203.0.113.7/24").unwrap();
        assert!(c.from_ecs);
        assert_eq!(c.addr.to_string(), "203.0.113.0");
        assert!(parse_client("nope").is_err());
        assert!(parse_client("10.0.0.0/33").is_err());
    }
}
