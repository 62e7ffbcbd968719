//! Building what is served from a configuration file: config, zones and balanced names, loaded
//! and checked against each other.
//!
//! Owns: the cross-checks between the configuration and the zones (a balanced name inside a
//! served zone, not below a delegation, without A/AAAA/CNAME of its own in the zone file), the
//! GeoIP database opened for the policies, and the DNS cookie secrets read. Must not: touch the
//! running server; it returns a `Served` or every problem found, each with its file and
//! position, and the caller swaps.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::config::Config;
use crate::cookie::Secrets;
use crate::diag::Diagnostic;
use crate::policy::BalancedName;
use crate::policy::geoip::GeoIp;
use crate::snapshot::Served;
use crate::wire::name::display;
use crate::wire::rtype;
use crate::zone::{self, ZoneSet};

/// Loads the configuration at `path`, its zones and its balanced names, and checks them
/// against each other. Every problem is returned, each with its file and position.
pub fn from_file(path: &Path) -> Result<Served, Vec<Diagnostic>> {
    let config = Config::load(path)?;
    from_config(config)
}

/// Builds from an already validated configuration.
pub fn from_config(config: Config) -> Result<Served, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let zones = match zone::file::load_dir(&config.zones_directory) {
        Ok(z) => z,
        Err(mut e) => {
            errors.append(&mut e);
            Vec::new()
        }
    };
    let mut zones = ZoneSet::new(zones);
    let geoip = match &config.geoip {
        Some(p) => match GeoIp::open(p) {
            Ok(g) => Some(Arc::new(g)),
            Err(e) => {
                errors.push(Diagnostic::new(&config.file, 0, 0, e));
                None
            }
        },
        None => None,
    };
    // Read whenever cookies are on, so a reload picks up a rotated secret file and a missing
    // or malformed one fails `gslb check`, the start and the reload alike.
    let cookie_secrets = if config.cookies.enabled {
        match Secrets::load(&config.cookies) {
            Ok(s) => Some(s),
            Err(e) => {
                errors.push(Diagnostic::new(&config.file, 0, 0, e.to_string()));
                None
            }
        }
    } else {
        None
    };
    let mut balances = Vec::new();
    for b in &config.balances {
        let here = |m: String| Diagnostic::new(&config.file, b.pos.line, b.pos.col, m);
        match zones.find_origin(&b.key) {
            None if !errors.is_empty() && zones.is_empty() => {}
            None => errors.push(here(format!(
                "balanced name {} is not inside any served zone (zones: {})",
                b.name,
                zones
                    .iter()
                    .map(|z| display(&z.origin))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
            Some(origin) => {
                let Some(zone) = zones.get_mut(&origin) else {
                    continue;
                };
                if let Some(node) = zone.node(&b.key) {
                    for t in [rtype::A, rtype::AAAA, rtype::CNAME] {
                        if node.get(t).is_some() {
                            errors.push(here(format!(
                                "balanced name {} also has {} records in zone file {}; remove them or the balance",
                                b.name,
                                hickory_proto::rr::RecordType::from(t),
                                zone.file.display()
                            )));
                        }
                    }
                }
                if let Some(cut) = zone.cut_above(&b.key) {
                    errors.push(here(format!(
                        "balanced name {} lies below the delegation {} in zone {}",
                        b.name,
                        display(cut),
                        zone.file.display()
                    )));
                }
                zone.attach_balance(&b.key, balances.len() as u32);
                balances.push(BalancedName::new(&config, b, geoip.clone()));
            }
        }
    }
    if errors.is_empty() {
        // Cookies off: never used, so no random draw can fail.
        let cookie_secrets = cookie_secrets.unwrap_or_else(|| Secrets::from_keys(&[]));
        let answered = balances
            .iter()
            .map(|b| {
                (0..=b.cfg.endpoints.len())
                    .map(|_| AtomicU64::new(0))
                    .collect()
            })
            .collect();
        Ok(Served {
            config: Arc::new(config),
            zones,
            balances,
            answered,
            cookie_secrets,
        })
    } else {
        Err(errors)
    }
}
