//! `/metrics`: Prometheus text format (version 0.0.4), written by hand from our counters.
//!
//! Labels come from configuration only (balanced names, endpoint addresses, data centers, check
//! names), never from clients, so the series count is bounded by the config.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::control::Control;
use crate::dns::rrl::{Action, ResponseClass};
use crate::metrics::LATENCY_BUCKETS;
use crate::state::EndpointState;

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A metric with no labels: its header and its one sample.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    head(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// Renders every metric.
pub(crate) fn render(control: &Control) -> String {
    let mut out = String::with_capacity(8192);
    control.metrics.render(&mut out);
    head(
        &mut out,
        "gslb_rrl_responses_total",
        "counter",
        "UDP answers response rate limiting counted, by what it did (sent in full, slipped as TC=1 or BADCOOKIE, dropped) and response class; with log_only, what it would have done.",
    );
    for action in Action::ALL {
        for class in ResponseClass::ALL {
            let _ = writeln!(
                out,
                "gslb_rrl_responses_total{{action=\"{}\",class=\"{}\"}} {}",
                action.as_str(),
                class.as_str(),
                control.limiter.count(action, class)
            );
        }
    }
    let snap = control.state.load_full();
    let served = &snap.served;

    head(
        &mut out,
        "gslb_balance_answers_total",
        "counter",
        "Addresses answered per balanced name and endpoint (\"fallback\" for fallback addresses); reset by a reload.",
    );
    for (bi, b) in served.balances.iter().enumerate() {
        let n = esc(&b.cfg.name);
        for (ei, e) in b.cfg.endpoints.iter().enumerate() {
            let v = served.answered[bi][ei].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "gslb_balance_answers_total{{name=\"{n}\",endpoint=\"{}\",datacenter=\"{}\"}} {v}",
                esc(&e.answer()),
                esc(&b.dc_names[ei])
            );
        }
        let fb = served.answered[bi][b.cfg.endpoints.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "gslb_balance_answers_total{{name=\"{n}\",endpoint=\"fallback\",datacenter=\"\"}} {fb}"
        );
    }

    head(
        &mut out,
        "gslb_endpoint_state",
        "gauge",
        "1 for the state each endpoint of each balanced name is in (up, down, drained).",
    );
    for (bi, b) in served.balances.iter().enumerate() {
        let n = esc(&b.cfg.name);
        for (ei, e) in b.cfg.endpoints.iter().enumerate() {
            let cur = snap
                .health
                .row(bi)
                .get(ei)
                .map_or(EndpointState::Up, |h| h.state);
            for s in [
                EndpointState::Up,
                EndpointState::Down,
                EndpointState::Drained,
            ] {
                let _ = writeln!(
                    out,
                    "gslb_endpoint_state{{name=\"{n}\",endpoint=\"{}\",datacenter=\"{}\",state=\"{}\"}} {}",
                    esc(&e.answer()),
                    esc(&b.dc_names[ei]),
                    s.as_str(),
                    u8::from(cur == s)
                );
            }
        }
    }

    head(
        &mut out,
        "gslb_balance_failing_open",
        "gauge",
        "1 while every endpoint of an address family of a balanced name is down (none up, not all drained) and, with when_all_down = \"all\", it answers them as if they were up.",
    );
    for (bi, b) in served.balances.iter().enumerate() {
        let rows = snap.health.row(bi);
        let open = crate::policy::failing_open(b, rows);
        let _ = writeln!(
            out,
            "gslb_balance_failing_open{{name=\"{}\"}} {}",
            esc(&b.cfg.name),
            u8::from(open)
        );
    }

    head(
        &mut out,
        "gslb_datacenter_up",
        "gauge",
        "1 while a data center counts as up; 0 while fewer of its probed targets are up than its min_up, and every endpoint of it counts as down.",
    );
    for (di, d) in served.config.datacenters.iter().enumerate() {
        let up = snap.health.datacenters.get(di).is_none_or(|f| f.up);
        let _ = writeln!(
            out,
            "gslb_datacenter_up{{datacenter=\"{}\"}} {}",
            esc(&d.name),
            u8::from(up)
        );
    }

    let stats = control.metrics.probe_stats();
    head(
        &mut out,
        "gslb_check_duration_seconds",
        "histogram",
        "Health check latency per check and probed address.",
    );
    for ((check, target), s) in &stats {
        let l = format!("check=\"{}\",target=\"{target}\"", esc(check));
        let mut cum = 0;
        for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
            cum += s.buckets[i];
            let _ = writeln!(
                out,
                "gslb_check_duration_seconds_bucket{{{l},le=\"{b}\"}} {cum}"
            );
        }
        let _ = writeln!(
            out,
            "gslb_check_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}",
            s.count
        );
        let _ = writeln!(out, "gslb_check_duration_seconds_sum{{{l}}} {}", s.sum);
        let _ = writeln!(out, "gslb_check_duration_seconds_count{{{l}}} {}", s.count);
    }
    head(
        &mut out,
        "gslb_check_failures_total",
        "counter",
        "Failed health checks by reason (refused, timeout, status, tls, content, other); probes that could not run here are in gslb_probe_errors_total.",
    );
    for ((check, target), s) in &stats {
        for (reason, v) in &s.failures {
            let _ = writeln!(
                out,
                "gslb_check_failures_total{{check=\"{}\",target=\"{target}\",reason=\"{reason}\"}} {v}",
                esc(check)
            );
        }
    }

    head(
        &mut out,
        "gslb_probe_errors_total",
        "counter",
        "Probes that could not run because of this machine (kind=local: no file descriptors, memory, buffers, local port or route, no in-flight slot); they never move an endpoint toward down.",
    );
    let _ = writeln!(
        out,
        "gslb_probe_errors_total{{kind=\"local\"}} {}",
        control.metrics.probe_errors_local()
    );

    single(
        &mut out,
        "gslb_config_generation",
        "gauge",
        "Configuration generation: 1 at start, +1 per successful reload.",
        control.reloads.generation.load(Ordering::Relaxed),
    );
    single(
        &mut out,
        "gslb_config_last_reload_success",
        "gauge",
        "1 if the last reload succeeded (or none was tried).",
        u8::from(control.reloads.last_ok.load(Ordering::Relaxed)),
    );
    single(
        &mut out,
        "gslb_config_reload_failures_total",
        "counter",
        "Reloads rejected because the new configuration or a zone had errors.",
        control.reloads.failures.load(Ordering::Relaxed),
    );
    single(
        &mut out,
        "gslb_zone_file_missing_total",
        "counter",
        "Zones a reload found without their file and went on serving from the running copy.",
        control.reloads.zone_files_missing.load(Ordering::Relaxed),
    );
    single(
        &mut out,
        "gslb_zones_reused_total",
        "counter",
        "Zones reloads served on without reading them again, their files unchanged.",
        control.reloads.zones_reused.load(Ordering::Relaxed),
    );
    single(
        &mut out,
        "gslb_zones_loaded_total",
        "counter",
        "Zones reloads read from their files because they were new or changed.",
        control.reloads.zones_loaded.load(Ordering::Relaxed),
    );
    single(
        &mut out,
        "gslb_zones_stale",
        "gauge",
        "Zones served from the running copy because their file vanished before the last reload.",
        served.stale.len(),
    );
    single(
        &mut out,
        "gslb_health_generation",
        "gauge",
        "Health snapshot generation (increases with every published change).",
        snap.health.generation,
    );
    head(
        &mut out,
        "gslb_zone_serial",
        "gauge",
        "SOA serial of each zone served.",
    );
    for z in snap.served.zones.iter() {
        let _ = writeln!(
            out,
            "gslb_zone_serial{{zone=\"{}\"}} {}",
            esc(&crate::wire::name::display(z.origin())),
            z.zone.serial
        );
    }
    let signers = &snap.served.signers;
    if !signers.is_empty() {
        let now = crate::dnssec::time::now();
        let per_zone = |out: &mut String,
                        name: &str,
                        kind: &str,
                        help: &str,
                        v: &dyn Fn(&crate::dnssec::Signer) -> u64| {
            head(out, name, kind, help);
            for s in signers {
                let _ = writeln!(out, "{name}{{zone=\"{}\"}} {}", esc(&s.zone), v(s));
            }
        };
        per_zone(
            &mut out,
            "gslb_dnssec_signatures_total",
            "counter",
            "RRSIGs made (each a cache miss: an RRset, window and key set not signed before on that thread).",
            &|s| s.counters.signatures.load(Ordering::Relaxed),
        );
        per_zone(
            &mut out,
            "gslb_dnssec_cache_hits_total",
            "counter",
            "RRsets answered with signatures from the cache.",
            &|s| s.counters.hits.load(Ordering::Relaxed),
        );
        per_zone(
            &mut out,
            "gslb_dnssec_signature_expiry_seconds",
            "gauge",
            "Unix time of the earliest expiration among the signatures served now.",
            &|s| s.earliest_expiry(now),
        );
    }
    head(
        &mut out,
        "gslb_build_info",
        "gauge",
        "Always 1; the labels say which build runs.",
    );
    let _ = writeln!(
        out,
        "gslb_build_info{{version=\"{}\",commit=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION"),
        esc(crate::COMMIT)
    );
    let p = crate::process::stats();
    single(
        &mut out,
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
        p.cpu_seconds,
    );
    single(
        &mut out,
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        p.resident_bytes,
    );
    single(
        &mut out,
        "process_open_fds",
        "gauge",
        "Number of open file descriptors.",
        p.open_fds,
    );
    single(
        &mut out,
        "process_max_fds",
        "gauge",
        "Maximum number of open file descriptors.",
        p.max_fds,
    );
    single(
        &mut out,
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
        p.start_time_seconds,
    );
    if let Some(c) = control.health.cluster() {
        cluster(&mut out, c);
    }
    out
}

/// `[cluster]`'s metrics (docs/observability.md).
fn cluster(out: &mut String, c: &crate::cluster::Handle) {
    use std::sync::atomic::Ordering::Relaxed;
    let (store, members, mismatch) = c.gauges();
    single(
        out,
        "gslb_cluster_store_up",
        "gauge",
        "1 while this instance holds a live session with etcd (lease renewed, watch running).",
        u8::from(store == crate::cluster::StoreState::Up),
    );
    single(
        out,
        "gslb_cluster_members",
        "gauge",
        "Live instances of the NS set registered in etcd, this one included (as last seen).",
        members,
    );
    single(
        out,
        "gslb_cluster_config_mismatch",
        "gauge",
        "1 while a live instance's configuration hash differs from this one's.",
        u8::from(mismatch),
    );
    let k = c.counters();
    head(
        out,
        "gslb_cluster_resyncs_total",
        "counter",
        "Fresh reads of the shared view: after a new session (reconnect) or a watch behind etcd's compaction (compacted).",
    );
    for (i, reason) in ["reconnect", "compacted"].iter().enumerate() {
        let _ = writeln!(
            out,
            "gslb_cluster_resyncs_total{{reason=\"{reason}\"}} {}",
            k.resyncs[i].load(Relaxed)
        );
    }
    head(
        out,
        "gslb_cluster_writes_total",
        "counter",
        "Keys written to etcd: own votes (on transitions, not per probe), the drained set, the member registration.",
    );
    for (i, kind) in ["vote", "drain", "member"].iter().enumerate() {
        let _ = writeln!(
            out,
            "gslb_cluster_writes_total{{kind=\"{kind}\"}} {}",
            k.writes[i].load(Relaxed)
        );
    }
    single(
        out,
        "gslb_cluster_watch_events_total",
        "counter",
        "Changes under the prefix received from etcd's watch.",
        k.events.load(Relaxed),
    );
}
