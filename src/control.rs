//! What the listeners, the admin API and the signal handler share: the snapshot cell, the
//! counters, the health handle, the admin token, and reloading.
//!
//! Owns: reload (load and validate off the answer path, then one swap through the health
//! publisher), the reload bookkeeping and its logs (zones kept or dropped for a vanished
//! file). The admin token file is read by the load (`config::secret`). Must not: answer
//! queries, bind sockets, or write health itself (drains and reloads go through the publisher).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arc_swap::ArcSwap;

use crate::diag::Diagnostic;
use crate::dns::rrl::Limiter;
use crate::health::HealthHandle;
use crate::load;
use crate::metrics::Metrics;
use crate::snapshot::Snapshot;

pub use crate::config::secret::{TokenError, read_token};

/// What the server and the admin API share: the snapshot cell, counters, the health handle,
/// and reloading.
pub struct Control {
    /// The snapshot every query reads.
    pub state: Arc<ArcSwap<Snapshot>>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// The response rate limiter the UDP workers share (and its counters).
    pub limiter: Arc<Limiter>,
    /// Drains and reloads of endpoint health.
    pub health: HealthHandle,
    /// The configuration file, for reloads.
    pub config_path: PathBuf,
    /// Reloads so far and how the last one went.
    pub reloads: ReloadStats,
    /// The admin bearer token (from `token_file`), re-read on every reload.
    pub admin_token: ArcSwap<Option<String>>,
    /// One reload at a time.
    reload_lock: tokio::sync::Mutex<()>,
}

/// Reload bookkeeping for metrics and the status page.
#[derive(Debug, Default)]
pub struct ReloadStats {
    /// Configuration generation: 1 at start, +1 per successful reload.
    pub generation: AtomicU64,
    /// Reloads rejected.
    pub failures: AtomicU64,
    /// Whether the last reload succeeded (true before any).
    pub last_ok: AtomicBool,
    /// Zones a reload found without their file and kept serving from the running copy, summed
    /// over reloads (`gslb_zone_file_missing_total`).
    pub zone_files_missing: AtomicU64,
    /// Zones successful reloads served on without reading them, their files unchanged, summed
    /// over reloads (`gslb_zones_reused_total`).
    pub zones_reused: AtomicU64,
    /// Zones successful reloads read from their files (new or changed), summed over reloads
    /// (`gslb_zones_loaded_total`).
    pub zones_loaded: AtomicU64,
}

impl Control {
    /// The shared state of a server that has just started: configuration generation 1.
    pub fn new(
        state: Arc<ArcSwap<Snapshot>>,
        metrics: Arc<Metrics>,
        limiter: Arc<Limiter>,
        health: HealthHandle,
        config_path: &Path,
        admin_token: Option<String>,
    ) -> Control {
        Control {
            state,
            metrics,
            limiter,
            health,
            config_path: config_path.to_path_buf(),
            reloads: ReloadStats {
                generation: AtomicU64::new(1),
                failures: AtomicU64::new(0),
                last_ok: AtomicBool::new(true),
                zone_files_missing: AtomicU64::new(0),
                zones_reused: AtomicU64::new(0),
                zones_loaded: AtomicU64::new(0),
            },
            reload_lock: tokio::sync::Mutex::new(()),
            admin_token: ArcSwap::from_pointee(admin_token),
        }
    }

    /// Reloads the configuration and zones from `config_path`. On any error the running
    /// snapshot stays and the errors are returned. Loading runs on a blocking thread, off the
    /// answer path (zones whose files are unchanged are shared, not read); the swap is one
    /// atomic store, and the snapshot it replaces is freed by the reaper (`crate::reaper`),
    /// never by a worker.
    pub async fn reload(&self) -> Result<(), Vec<Diagnostic>> {
        let _one = self.reload_lock.lock().await;
        let path = self.config_path.clone();
        let running = self.state.load_full();
        let loaded =
            tokio::task::spawn_blocking(move || load::reload_from_file(&path, &running.served))
                .await
                .map_err(|e| {
                    vec![Diagnostic::new(
                        &self.config_path,
                        0,
                        0,
                        format!("reload task failed: {e}"),
                    )]
                })
                .and_then(|r| r);
        let result = match loaded {
            Ok(load::Reloaded {
                served,
                dropped,
                zones_reused,
                zones_loaded,
            }) => {
                // The token was read by the load: a token file that cannot be read rejects the
                // reload like any other error, with its place in the configuration.
                self.admin_token
                    .store(Arc::new(served.admin_token.clone().map(|t| t.0)));
                for s in &served.stale {
                    tracing::warn!(
                        zone = %s.zone,
                        file = %s.file.display(),
                        "zone file vanished; still serving the running copy"
                    );
                }
                for s in &dropped {
                    tracing::warn!(
                        zone = %s.zone,
                        file = %s.file.display(),
                        "zone file still missing at a second reload; zone no longer served"
                    );
                }
                self.reloads
                    .zone_files_missing
                    .fetch_add(served.stale.len() as u64, Ordering::Relaxed);
                self.reloads
                    .zones_reused
                    .fetch_add(zones_reused as u64, Ordering::Relaxed);
                self.reloads
                    .zones_loaded
                    .fetch_add(zones_loaded as u64, Ordering::Relaxed);
                let current = self.state.load_full();
                let changes = crate::changes::between(&current.served, &served);
                if current.served.config.dnstap != served.config.dnstap {
                    tracing::warn!(
                        "[dnstap] changed; it is read at start only: restart to apply the change"
                    );
                }
                if current.served.config.cluster != served.config.cluster {
                    tracing::warn!(
                        "[cluster] changed; it is read at start only: restart to apply the change"
                    );
                }
                let served = Arc::new(served);
                self.health.reload(served.clone(), &current).await;
                if let Some(c) = self.health.cluster() {
                    c.reloaded(&served).await;
                }
                drop(current);
                self.reloads.generation.fetch_add(1, Ordering::Relaxed);
                self.reloads.last_ok.store(true, Ordering::Relaxed);
                changes.log(zones_reused, zones_loaded);
                Ok(())
            }
            Err(errors) => {
                self.reloads.failures.fetch_add(1, Ordering::Relaxed);
                self.reloads.last_ok.store(false, Ordering::Relaxed);
                for e in &errors {
                    tracing::error!("{e}");
                }
                tracing::error!("reload rejected; still serving the previous configuration");
                Err(errors)
            }
        };
        // The rejected zones, and the parser's memory, are freed by now (the replaced snapshot is
        // the reaper's, which hands its pages back itself): hand their pages back, or every
        // reload of a large zone leaves the process twice its size.
        let _ = tokio::task::spawn_blocking(crate::process::release_freed_memory).await;
        result
    }
}
