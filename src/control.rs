//! What the listeners, the admin API and the signal handler share: the snapshot cell, the
//! counters, the health handle, the admin token, and reloading.
//!
//! Owns: reload (load and validate off the answer path, then one swap through the health
//! publisher), the reload bookkeeping, and reading the admin token file. Must not: answer
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

/// Why the admin token could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The file could not be read.
    #[error("cannot read admin token_file {path}: {source}")]
    Read {
        /// The token file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file holds nothing but white space.
    #[error("admin token_file {path} is empty")]
    Empty {
        /// The token file.
        path: PathBuf,
    },
}

/// Reads the bearer token from `token_file` (surrounding white space trimmed).
pub fn read_token(path: &Path) -> Result<String, TokenError> {
    let t = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let t = t.trim();
    if t.is_empty() {
        return Err(TokenError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(t.into())
}

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
            },
            reload_lock: tokio::sync::Mutex::new(()),
            admin_token: ArcSwap::from_pointee(admin_token),
        }
    }

    /// Reloads the configuration and zones from `config_path`. On any error the running
    /// snapshot stays and the errors are returned. Loading runs on a blocking thread, off the
    /// answer path; the swap is one atomic store.
    pub async fn reload(&self) -> Result<(), Vec<Diagnostic>> {
        let _one = self.reload_lock.lock().await;
        let path = self.config_path.clone();
        let loaded = tokio::task::spawn_blocking(move || load::from_file(&path))
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
        // A token file that cannot be read rejects the reload like any other error.
        let loaded = loaded.and_then(|served| match &served.config.admin.token_file {
            None => Ok((served, None)),
            Some(p) => read_token(p)
                .map(|t| (served, Some(t)))
                .map_err(|e| vec![Diagnostic::new(&self.config_path, 0, 0, e.to_string())]),
        });
        let result = match loaded {
            Ok((served, token)) => {
                self.admin_token.store(Arc::new(token));
                let current = self.state.load_full();
                self.health.reload(Arc::new(served), &current).await;
                drop(current);
                self.reloads.generation.fetch_add(1, Ordering::Relaxed);
                self.reloads.last_ok.store(true, Ordering::Relaxed);
                tracing::info!("configuration reloaded");
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
        // The previous (or the rejected) zones are freed by now: hand their pages back, or every
        // reload of a large zone leaves the process twice its size.
        let _ = tokio::task::spawn_blocking(crate::process::release_freed_memory).await;
        result
    }
}
