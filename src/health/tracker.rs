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
    /// changed.
    pub fn observe(
        &mut self,
        r: ProbeResult,
        at: SystemTime,
        rise: u32,
        fall: u32,
    ) -> Option<Verdict> {
        let ok = r.is_ok();
        let seen = if ok { Verdict::Up } else { Verdict::Down };
        if let Some(load) = r.load() {
            self.load = Some(load);
        }
        self.last = Some(r);
        self.last_at = Some(at);
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
    use crate::state::{ProbeFailure, ProbePass};

    fn r(ok: bool) -> ProbeResult {
        ProbeResult {
            outcome: if ok {
                Ok(ProbePass::Connected)
            } else {
                Err(ProbeFailure::Refused)
            },
            latency: 0.0,
        }
    }

    /// Truth table: (rise, fall, results in order as '+'/'-', verdicts after each, '.' = no
    /// change, 'U' = became up, 'D' = became down).
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
        ];
        for (rise, fall, input, want) in table {
            let mut t = Tracker::default();
            let got: String = input
                .chars()
                .map(
                    |c| match t.observe(r(c == '+'), SystemTime::now(), rise, fall) {
                        Some(Verdict::Up) => 'U',
                        Some(Verdict::Down) => 'D',
                        Some(Verdict::Unknown) => '?',
                        None => '.',
                    },
                )
                .collect();
            assert_eq!(got, want, "rise={rise} fall={fall} input={input}");
        }
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
