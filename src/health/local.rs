//! The log of local errors: probes that could not run because of this machine (see
//! `LocalError`), which move no endpoint and so never appear as a transition.
//!
//! Owns: rate limiting their warnings: at most one per check per `WARN_EVERY`, saying how many
//! were left out since the previous one; every one at debug. Must not: count them (the metrics
//! do) or judge them (the tracker ignores them).

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::TargetKey;
use crate::state::ProbeResult;

/// At most one warning per check in this window. Local errors come in bursts (descriptors run
/// out for everything at once): one line per check says it, a line per probe would flood.
pub(super) const WARN_EVERY: Duration = Duration::from_secs(10);

/// One check's window.
#[derive(Debug)]
struct Window {
    /// When it last warned.
    warned_at: Instant,
    /// Local errors since then that were not warned about.
    suppressed: u64,
}

/// The rate limiter of local-error warnings, per check name.
#[derive(Debug, Default)]
pub(super) struct LocalLog {
    by_check: HashMap<String, Window>,
}

impl LocalLog {
    /// Whether a local error of `check` at `now` is warned about: `Some(n)` with the `n` left
    /// out since the previous warning, `None` when it is one of those.
    fn admit(&mut self, check: &str, now: Instant) -> Option<u64> {
        // Look up by &str first: no allocation per error once the check is known.
        let Some(w) = self.by_check.get_mut(check) else {
            self.by_check.insert(
                check.to_string(),
                Window {
                    warned_at: now,
                    suppressed: 0,
                },
            );
            return Some(0);
        };
        if now.saturating_duration_since(w.warned_at) < WARN_EVERY {
            w.suppressed += 1;
            return None;
        }
        let n = w.suppressed;
        w.warned_at = now;
        w.suppressed = 0;
        Some(n)
    }

    /// Logs the local result `r` of `key`'s probe: at debug always, as a warning when the
    /// check's window allows.
    pub(super) fn note(&mut self, key: &TargetKey, r: &ProbeResult) {
        let check = key.check.name.as_str();
        tracing::debug!(probe = %key.socket(), check = %check, reason = %r, "probe could not run (local error)");
        if let Some(suppressed) = self.admit(check, Instant::now()) {
            tracing::warn!(
                probe = %key.socket(),
                check = %check,
                reason = %r,
                suppressed,
                "probe could not run (local error); endpoint state kept"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_per_check_per_window_with_the_count_left_out() {
        let mut log = LocalLog::default();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert_eq!(log.admit("web", at(0)), Some(0));
        // Every probe of a 100 ms interval for ten seconds: none warned.
        for i in 1..100 {
            assert_eq!(log.admit("web", at(i * 100)), None, "at {}ms", i * 100);
        }
        // Another check has its own window.
        assert_eq!(log.admit("tcp", at(500)), Some(0));
        assert_eq!(log.admit("tcp", at(600)), None);
        // The window over: one warning, saying how many were left out.
        assert_eq!(log.admit("web", at(10_000)), Some(99));
        assert_eq!(log.admit("web", at(10_100)), None);
        assert_eq!(log.admit("web", at(25_000)), Some(1));
        assert_eq!(log.admit("tcp", at(10_500)), Some(1));
    }
}
