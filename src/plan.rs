//! The probe plan of a configuration: which targets exist (a check against an address), which
//! endpoint of which balanced name reads which target, and the reverse: which endpoints each
//! target serves. Pure data, built once per (re)load in one pass over the endpoints.
//!
//! Owns: the rule for the address a target probes, and the indices the health publisher uses to
//! touch only the endpoints a change concerns. Must not: probe, decide health, or hold state
//! that changes between reloads.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use crate::config::{Check, CheckKind, PolicyKind};
use crate::policy::BalancedName;

/// One thing probed: a check against an address. Balanced names that share it share its probes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetKey {
    /// The check, by value: a changed check is a new target.
    pub check: Arc<Check>,
    /// The address probed.
    pub addr: IpAddr,
}

impl TargetKey {
    /// Address and port probed.
    pub fn socket(&self) -> SocketAddr {
        SocketAddr::new(self.addr, self.check.port)
    }
}

/// An endpoint of a balanced name: (name index, endpoint index).
pub type EndpointRef = (u32, u32);

/// Every target of a configuration, and which target each endpoint reads.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Distinct targets.
    pub targets: Vec<TargetKey>,
    /// Per balanced name, per endpoint: its target (None = no check, always up).
    pub map: Vec<Box<[Option<u32>]>>,
    /// Per target: the endpoints reading it, in name order.
    pub users: Vec<Box<[EndpointRef]>>,
    /// Per target: whether a least-loaded name reads it (only those answers use loads).
    pub load_matters: Vec<bool>,
}

impl Plan {
    /// The targets of a configuration's balanced names. The probed address is, in order of
    /// precedence: the endpoint's `check_address`, the check's `address`, the endpoint's
    /// `address` (a CNAME endpoint has none: validation requires one of the first two). An HTTP(S)
    /// check of a CNAME endpoint without `host` sends the target name as Host and SNI.
    pub fn of(checks: &[Check], balances: &[BalancedName]) -> Plan {
        let checks: Vec<Arc<Check>> = checks.iter().cloned().map(Arc::new).collect();
        let mut index: HashMap<TargetKey, u32> = HashMap::new();
        let mut plan = Plan::default();
        let mut users: Vec<Vec<EndpointRef>> = Vec::new();
        for (bi, b) in balances.iter().enumerate() {
            let least_loaded = b.cfg.policy == PolicyKind::LeastLoaded;
            let mut row = Vec::with_capacity(b.cfg.endpoints.len());
            for (ei, e) in b.cfg.endpoints.iter().enumerate() {
                let target = e.check.and_then(|ci| checks.get(ci)).map(|check| {
                    let addr = e.check_address.or(check.address).unwrap_or(e.address);
                    let key = TargetKey {
                        check: match &e.target {
                            Some(t) => with_host(check, &t.name),
                            None => check.clone(),
                        },
                        addr,
                    };
                    let t = *index.entry(key).or_insert_with_key(|key| {
                        plan.targets.push(key.clone());
                        plan.load_matters.push(false);
                        users.push(Vec::new());
                        (plan.targets.len() - 1) as u32
                    });
                    users[t as usize].push((bi as u32, ei as u32));
                    plan.load_matters[t as usize] |= least_loaded;
                    t
                });
                row.push(target);
            }
            plan.map.push(row.into_boxed_slice());
        }
        plan.users = users.into_iter().map(Vec::into_boxed_slice).collect();
        plan
    }

    /// The target endpoint `ei` of name `bi` reads, if it is probed.
    pub fn target_of(&self, bi: usize, ei: usize) -> Option<usize> {
        self.map
            .get(bi)?
            .get(ei)
            .copied()
            .flatten()
            .map(|t| t as usize)
    }
}

/// `check` as it probes a CNAME endpoint's `target`: an HTTP(S) check without `host` sends the
/// target name (without its trailing dot), as the CDN behind it expects.
fn with_host(check: &Arc<Check>, target: &str) -> Arc<Check> {
    let mut c = (**check).clone();
    match &mut c.kind {
        CheckKind::Http(h) | CheckKind::Https { http: h, .. } if h.host.is_none() => {
            h.host = Some(target.trim_end_matches('.').to_string());
            Arc::new(c)
        }
        _ => check.clone(),
    }
}
