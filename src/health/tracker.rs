//! The rise/fall state machine of one probe target: the only place that decides up or down.
//!
//! Pure: it is fed probe results in order and says when the verdict changes. Probers measure;
//! this decides (ARCHITECTURE rule 3).
//!
//! Lifecycle: the first result decides directly (gslb checks every target once before it
//! answers, like gdnsd, so `Verdict::Unknown` lasts only until that first result). After that a target goes
//! down after `fall` consecutive failures and up after `rise` consecutive successes; a result
//! that agrees with the current state resets the opposite streak, so a flapping target whose
//! failures never reach `fall` in a row stays up.
//!
//! A local result (`ProbeResult::is_local`: the probe could not run here, out of descriptors or
//! slots) is neither a pass nor a failure: it is kept as the last result, and nothing else
//! moves: not the verdict, not `since`, not the streak (a run of failures interrupted by local
//! results is still a run). A target whose first results are local stays `Unknown` (read as up)
//! until a real result decides.

use std::time::SystemTime;

pub use crate::state::ProbeResult;

/// What the tracker says of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdict {
    /// No result yet (read as up: gslb probes every target once before it answers, so this
    /// lasts only when that first probe could not report).
    #[default]
    Unknown,
    /// Up.
    Up,
    /// Down.
    Down,
}

/// The tracked state of one target.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracker {
    /// Current verdict.
    pub verdict: Verdict,
    /// Consecutive results disagreeing with the verdict.
    streak: u32,
    /// When the verdict last changed.
    pub since: SystemTime,
    /// The last result.
    pub last: Option<ProbeResult>,
    /// When the last result came.
    pub last_at: Option<SystemTime>,
    /// The last load reported by a passing probe.
    pub load: Option<f64>,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker {
            verdict: Verdict::Unknown,
            streak: 0,
            since: SystemTime::now(),
            last: None,
            last_at: None,
            load: None,
        }
    }
}

impl Tracker {
    /// Feeds one result; returns the new verdict (`Up` or `Down`, never `Unknown`) when it
    /// changed. A local result is recorded as the last one and changes nothing else.
    pub fn observe(
        &mut self,
        r: ProbeResult,
        at: SystemTime,
        rise: u32,
        fall: u32,
    ) -> Option<Verdict> {
        let ok = r.is_ok();
        let local = r.is_local();
        let seen = if ok { Verdict::Up } else { Verdict::Down };
        if let Some(load) = r.load() {
            self.load = Some(load);
        }
        self.last = Some(r);
        self.last_at = Some(at);
        if local {
            return None;
        }
        let changed = match self.verdict {
            Verdict::Unknown => true,
            current if current == seen => {
                self.streak = 0;
                false
            }
            _ => {
                self.streak += 1;
                let needed = if ok { rise } else { fall };
                self.streak >= needed
            }
        };
        if !changed {
            return None;
        }
        self.verdict = seen;
        self.streak = 0;
        self.since = at;
        Some(seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{LocalError, ProbeFailure, ProbePass};

    /// A result by its symbol: '+' passed, '-' failed (refused), 'L' could not run (EMFILE).
    fn r(c: char) -> ProbeResult {
        ProbeResult {
            outcome: match c {
                '+' => Ok(ProbePass::Connected),
                '-' => Err(ProbeFailure::Refused),
                'L' => Err(LocalError::Os {
                    errno: libc::EMFILE,
                }
                .into()),
                _ => panic!("no result {c:?}"),
            },
            latency: 0.0,
        }
    }

    /// Truth table: (rise, fall, results in order as '+' pass / '-' fail / 'L' local error,
    /// verdicts after each, '.' = no change, 'U' = became up, 'D' = became down).
    #[test]
    fn rise_fall_truth_table() {
        let table = [
            (2, 2, "+", "U"),
            (2, 2, "-", "D"),
            (2, 2, "+--", "U.D"),
            (2, 2, "+-+-+-", "U....."),
            (2, 2, "+--++", "U.D.U"),
            (3, 1, "+-+++", "UD..U"),
            (1, 3, "----+", "D...U"),
            (1, 3, "+---", "U..D"),
            (2, 2, "++-+--", "U....D"),
            // Local results move nothing: an up target stays up however many come...
            (2, 2, "+LLLLLL", "U......"),
            (1, 1, "+LLLLLL", "U......"),
            // ...a down one stays down...
            (2, 2, "-LLLLLL", "D......"),
            (1, 1, "-LLLL+", "D....U"),
            // ...and a streak is neither counted nor reset by them: two failures in a row with
            // local results between are two in a row; one failure and then local ones is one.
            (2, 2, "+-L-", "U..D"),
            (2, 2, "+-LLL-", "U....D"),
            (2, 2, "+-LLL+-", "U......"),
            (3, 3, "+-L-L+--", "U......."),
            (2, 2, "-+L+", "D..U"),
            (2, 2, "-+LL-+", "D....."),
            // A first result that is local decides nothing: the next real one does.
            (2, 2, "L", "."),
            (2, 2, "LLL+", "...U"),
            (2, 2, "LL-", "..D"),
            (2, 2, "L-L-L+L+", ".D.....U"),
        ];
        for (rise, fall, input, want) in table {
            let mut t = Tracker::default();
            let got: String = input
                .chars()
                .map(|c| match t.observe(r(c), SystemTime::now(), rise, fall) {
                    Some(Verdict::Up) => 'U',
                    Some(Verdict::Down) => 'D',
                    Some(Verdict::Unknown) => '?',
                    None => '.',
                })
                .collect();
            assert_eq!(got, want, "rise={rise} fall={fall} input={input}");
        }
    }

    #[test]
    fn a_local_result_is_shown_but_moves_nothing() {
        let t0 = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(100);
        let t1 = t0 + std::time::Duration::from_secs(1);
        let mut t = Tracker::default();
        assert_eq!(t.observe(r('+'), t0, 2, 1), Some(Verdict::Up));
        let before = t.clone();
        assert_eq!(t.observe(r('L'), t1, 2, 1), None);
        assert_eq!(t.verdict, Verdict::Up);
        assert_eq!(t.since, before.since);
        assert_eq!(t.streak, before.streak);
        assert_eq!(t.load, before.load);
        // The last result is the local one, for the status page to show.
        assert!(t.last.as_ref().is_some_and(ProbeResult::is_local));
        assert_eq!(t.last_at, Some(t1));
        // A first result that is local leaves the target unknown (read as up).
        let mut fresh = Tracker::default();
        assert_eq!(fresh.observe(r('L'), t0, 2, 2), None);
        assert_eq!(fresh.verdict, Verdict::Unknown);
    }

    #[test]
    fn load_comes_from_passing_probes_only() {
        let mut t = Tracker::default();
        // A failing probe carries no load, so the one it saw cannot reach the tracker.
        let with = |ok, l| ProbeResult {
            outcome: if ok {
                Ok(ProbePass::Status {
                    code: 200,
                    load: Some(l),
                })
            } else {
                Err(ProbeFailure::Status(503))
            },
            latency: 0.0,
        };
        t.observe(with(true, 3.0), SystemTime::now(), 1, 1);
        assert_eq!(t.load, Some(3.0));
        t.observe(with(false, 9.0), SystemTime::now(), 1, 1);
        assert_eq!(t.load, Some(3.0));
    }
}
