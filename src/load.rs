//! Building what is served from a configuration file: config, zones and balanced names, loaded
//! and checked against each other.
//!
//! Owns: the cross-checks between the configuration and the zones (a balanced name inside a
//! served zone, not below a delegation, without A/AAAA/CNAME of its own in the zone file), the
//! files the configuration names (GeoIP database, admin token, DNS cookie secrets: read here,
//! so `gslb check` finds what `serve` would), and which running zones a reload keeps when their
//! file vanished or reuse unread because their files are unchanged. Must not: touch the running
//! server or log; it returns a `Served` or every problem found, each with its file and
//! position, and the caller swaps.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::config::secret::{Secret, read_cookie_secrets, read_token};
use crate::config::{Config, Pos};
use crate::cookie::Secrets;
use crate::diag::Diagnostic;
use crate::policy::BalancedName;
use crate::policy::geoip::GeoIp;
use crate::snapshot::{Served, StaleZone};
use crate::wire::name::{display, is_at_or_below};
use crate::wire::rtype;
use crate::zone::{self, ServedZone, Zone, ZoneSet};

/// Loads the configuration at `path`, its zones and its balanced names, and checks them
/// against each other. Every problem is returned, each with its file and position.
pub fn from_file(path: &Path) -> Result<Served, Vec<Diagnostic>> {
    let config = Config::load(path)?;
    from_config(config)
}

/// Builds from an already validated configuration.
pub fn from_config(config: Config) -> Result<Served, Vec<Diagnostic>> {
    build(config, None).map(|r| r.served)
}

/// What a reload built, and what it did with the running zones.
#[derive(Debug)]
pub struct Reloaded {
    /// The new configuration and zones.
    pub served: Served,
    /// Zones no longer served because their file was still missing at this second reload.
    pub dropped: Vec<StaleZone>,
    /// Zones whose files were unchanged, served on from the running copy without being read.
    pub zones_reused: usize,
    /// Zones read and built from their files (new or changed).
    pub zones_loaded: usize,
}

/// Loads the configuration at `path` to replace `running`, as `from_file` does, except for a
/// zone `running` serves whose file is gone (an editor's rename, a deployment half done): it is
/// served on from the running copy and listed in `Served::stale`, unless it was already stale
/// in `running` — then it is dropped and listed in `Reloaded::dropped`. A new configuration
/// that no longer reads that file (another zones directory) drops the zone as usual. A zone
/// file `running` serves whose files (it and every file it `$INCLUDE`s) all hold the bytes
/// the running zone was built from is not read again: the running `Zone` is shared.
pub fn reload_from_file(path: &Path, running: &Served) -> Result<Reloaded, Vec<Diagnostic>> {
    let config = Config::load(path)?;
    build(config, Some(running))
}

/// Whether a zone's file is absent (a dangling symbolic link counts as absent).
fn vanished(file: &Path) -> bool {
    matches!(std::fs::metadata(file), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
}

fn build(config: Config, running: Option<&Served>) -> Result<Reloaded, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let reused = std::cell::Cell::new(0usize);
    let reuse = |file: &Path| -> Option<Arc<Zone>> {
        let z = running?
            .zones
            .iter()
            .find(|z| z.zone.file == file && zone::unchanged(&z.zone))?;
        reused.set(reused.get() + 1);
        Some(z.zone.clone())
    };
    let loaded = zone::file::load_dir_reusing(&config.zones_directory, &reuse);
    let zones_reused = reused.get();
    let mut zones = match loaded {
        Ok(z) => z,
        Err(mut e) => {
            errors.append(&mut e);
            Vec::new()
        }
    };
    let (mut stale, mut dropped) = (Vec::new(), Vec::new());
    if let Some(running) = running.filter(|_| errors.is_empty()) {
        for z in running.zones.iter().map(|s| &s.zone) {
            if zones.iter().any(|n| n.origin == z.origin) || !vanished(&z.file) {
                continue;
            }
            let s = StaleZone {
                zone: display(&z.origin),
                file: z.file.clone(),
            };
            if running.stale.contains(&s) {
                dropped.push((z.origin.clone(), s));
            } else {
                zones.push(z.clone());
                stale.push(s);
            }
        }
    }
    let zones_loaded = zones.len().saturating_sub(zones_reused + stale.len());
    let mut zones = ZoneSet::new(zones.into_iter().map(ServedZone::new).collect());
    let geoip = match &config.geoip {
        Some(p) => match GeoIp::open(p) {
            Ok(g) => Some(Arc::new(g)),
            Err(e) => {
                errors.push(Diagnostic::new(&config.file, 0, 0, e.to_string()));
                None
            }
        },
        None => None,
    };
    // Read at every load, so a reload picks up a rotated secret file and a missing or malformed
    // one fails `gslb check`, the start and the reload alike, at its place in gslb.toml.
    let cookie_secrets = match &config.cookies.secret_file {
        Some(p) => match read_cookie_secrets(p) {
            Ok(keys) => Some(Secrets::from_keys(&keys)),
            Err(e) => {
                errors.push(at(&config, config.cookies.secret_file_pos, e.to_string()));
                None
            }
        },
        None if config.cookies.enabled => match Secrets::random() {
            Ok(s) => Some(s),
            Err(e) => {
                errors.push(Diagnostic::new(&config.file, 0, 0, e.to_string()));
                None
            }
        },
        None => None,
    };
    let mut balances = Vec::new();
    for b in &config.balances {
        let here = |m: String| Diagnostic::new(&config.file, b.pos.line, b.pos.col, m);
        match zones.find_origin(&b.key) {
            None if !errors.is_empty() && zones.is_empty() => {}
            None => {
                let why = dropped
                    .iter()
                    .find(|(origin, _)| is_at_or_below(&b.key, origin))
                    .map(|(_, d)| {
                        format!(
                            "; zone {} is no longer served: its file {} is still missing",
                            d.zone,
                            d.file.display()
                        )
                    })
                    .unwrap_or_default();
                errors.push(here(format!(
                    "balanced name {} is not inside any served zone (zones: {}){why}",
                    b.name,
                    zones
                        .iter()
                        .map(|z| display(z.origin()))
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
            Some(origin) => {
                let Some(zone) = zones.get_mut(&origin) else {
                    continue;
                };
                // The zone file's own records at the name (an earlier balanced name cannot be
                // here: names are unique).
                if let Some(node) = zone.zone.node(&b.key) {
                    // A CNAME owns its name (RFC 1034 §3.6.2): a name of CNAME endpoints has
                    // no other data, and the apex (SOA, NS) cannot be one.
                    let owned = b.answers_cname() && !node.rrsets.is_empty();
                    if let Some(set) = node.rrsets.first().filter(|_| owned) {
                        errors.push(here(format!(
                            "balanced name {} answers a CNAME but has {} records in zone file {}; a CNAME owner holds no other data",
                            b.name,
                            hickory_proto::rr::RecordType::from(set.rtype),
                            zone.zone.file.display()
                        )));
                    }
                    for t in [rtype::A, rtype::AAAA, rtype::CNAME]
                        .into_iter()
                        .filter(|_| !owned)
                    {
                        if node.get(t).is_some() {
                            errors.push(here(format!(
                                "balanced name {} also has {} records in zone file {}; remove them or the balance",
                                b.name,
                                hickory_proto::rr::RecordType::from(t),
                                zone.zone.file.display()
                            )));
                        }
                    }
                }
                if let Some(cut) = zone.cut_above(&b.key) {
                    errors.push(here(format!(
                        "balanced name {} lies below the delegation {} in zone {}",
                        b.name,
                        display(cut),
                        zone.zone.file.display()
                    )));
                }
                if b.policy == crate::config::PolicyKind::Nearest
                    && let Some(g) = geoip.as_ref().filter(|g| !g.has_locations())
                {
                    errors.push(here(format!(
                        "{}: nearest needs a GeoIP database with coordinates (a City edition); {} is a {} database",
                        b.name,
                        config.geoip.as_deref().map_or_else(String::new, |p| p.display().to_string()),
                        g.database_type()
                    )));
                }
                zone.attach_balance(&b.key, balances.len() as u32);
                balances.push(BalancedName::new(&config, b, geoip.clone()));
            }
        }
    }
    let signers = signers(
        &config,
        &mut zones,
        &mut errors,
        running,
        crate::dnssec::time::now(),
    );
    let admin_token = config.admin.token_file.as_ref().and_then(|p| {
        read_token(p)
            .map(Secret)
            .map_err(|e| errors.push(at(&config, config.admin.token_file_pos, e.to_string())))
            .ok()
    });
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
        let served = Served {
            config: Arc::new(config),
            zones,
            balances,
            answered,
            admin_token,
            stale,
            cookie_secrets,
            signers,
        };
        Ok(Reloaded {
            served,
            dropped: dropped.into_iter().map(|(_, d)| d).collect(),
            zones_reused,
            zones_loaded,
        })
    } else {
        Err(errors)
    }
}

/// The signers of `[dnssec]`'s zones, their key files read and checked (at `now`: a zone
/// without a key that signs now would be bogus), each attached to its zone. A signed zone's
/// file must not hold DNSSEC records of its own: gslb makes them.
fn signers(
    config: &Config,
    zones: &mut ZoneSet,
    errors: &mut Vec<Diagnostic>,
    running: Option<&Served>,
    now: u64,
) -> Vec<crate::dnssec::Signer> {
    let mut signers = Vec::new();
    for d in &config.dnssec {
        let Some(zone) = zones.get_mut(&d.origin) else {
            if !errors.is_empty() && zones.is_empty() {
                continue;
            }
            errors.push(at(
                config,
                d.pos,
                format!(
                    "[dnssec.\"{}\"]: no zone {} is served (zones: {})",
                    d.zone,
                    display(&d.origin),
                    zones
                        .iter()
                        .map(|z| display(z.origin()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
            continue;
        };
        let mut found = Vec::new();
        for (name, node) in zone.zone.nodes() {
            for set in &node.rrsets {
                let t = set.rtype;
                if matches!(
                    t,
                    rtype::DNSKEY | rtype::RRSIG | rtype::NSEC | rtype::NSEC3 | rtype::NSEC3PARAM
                ) {
                    found.push(format!(
                        "{} {}",
                        display(name),
                        hickory_proto::rr::RecordType::from(t)
                    ));
                }
            }
        }
        if !found.is_empty() {
            found.sort();
            errors.push(Diagnostic::new(
                &zone.zone.file,
                0,
                0,
                format!(
                    "zone {} is signed by gslb ([dnssec] in {}), so its file must not hold DNSSEC records: {}",
                    display(&d.origin),
                    config.file.display(),
                    found.join(", ")
                ),
            ));
        }
        let mut keys = Vec::new();
        for (path, pos) in &d.keys {
            match crate::dnssec::keys::read(path, &d.origin) {
                Ok(k) => keys.push(k),
                Err(e) => errors.push(at(config, *pos, e.to_string())),
            }
        }
        if keys.len() != d.keys.len() {
            continue;
        }
        let counters = running
            .and_then(|r| r.signers.iter().find(|s| s.origin == d.origin))
            .map(|s| s.counters.clone())
            .unwrap_or_default();
        let signer = crate::dnssec::Signer::new(
            &d.origin,
            keys,
            d.signature_validity.as_secs(),
            d.balanced_signature_validity.as_secs(),
            counters,
        );
        if !signer.any_active(now) {
            errors.push(at(
                config,
                d.pos,
                format!(
                    "[dnssec.\"{}\"]: no key is active now (Activate in the future, or Inactive/Delete past): every answer would be bogus",
                    d.zone
                ),
            ));
            continue;
        }
        let mut signer = signer;
        presign(zone, &mut signer, now);
        zone.signed = Some(signers.len() as u32);
        signers.push(signer);
    }
    signers
}

/// Signs the zone's static RRsets (up to `DNSSEC_PRESIGN_MAX`), its negative answers' SOA and
/// its DNSKEY RRset for the current window while it loads, so the first queries for them do
/// not sign: what a referral leaves unsigned (NS at a cut, glue) is skipped.
fn presign(zone: &ServedZone, signer: &mut crate::dnssec::Signer, now: u64) {
    let (mut base, mut ranges) = (Vec::new(), Vec::new());
    let mut one = |signer: &mut crate::dnssec::Signer,
                   owner: &[u8],
                   rtype: u16,
                   ttl: u32,
                   rdatas: &mut dyn Iterator<Item = &[u8]>| {
        base.clear();
        ranges.clear();
        for r in rdatas {
            ranges.push((base.len() as u32, r.len() as u32));
            base.extend_from_slice(r);
        }
        let set = crate::dnssec::Set {
            owner,
            rtype,
            ttl,
            base: &base,
        };
        signer.presign(set, &mut ranges, now);
    };
    let origin = zone.origin().to_vec();
    let keys: Vec<Vec<u8>> = signer.dnskeys(now).map(<[u8]>::to_vec).collect();
    let ttl = signer.dnskey_ttl;
    one(
        signer,
        &origin,
        rtype::DNSKEY,
        ttl,
        &mut keys.iter().map(|k| &k[..]),
    );
    if let Some(soa) = zone.zone.soa() {
        one(
            signer,
            &origin,
            rtype::SOA,
            zone.zone.neg_ttl,
            &mut soa.rdatas(),
        );
    }
    let mut budget = crate::config::defaults::DNSSEC_PRESIGN_MAX;
    for (name, node) in zone.zone.nodes() {
        let cut = zone.cut_above(name);
        if cut.is_some_and(|c| c != name) {
            continue;
        }
        for set in &node.rrsets {
            if budget == 0 {
                return;
            }
            if cut.is_some() && set.rtype != rtype::DS {
                continue;
            }
            budget -= 1;
            one(signer, name, set.rtype, set.ttl, &mut set.rdatas());
        }
    }
}

/// A problem at a position of the configuration file.
fn at(config: &Config, pos: Pos, message: String) -> Diagnostic {
    Diagnostic::new(&config.file, pos.line, pos.col, message)
}
