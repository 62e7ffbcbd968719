//! The rise/fall state machine of one probe target: the only place that decides up or down.
//!
//! Pure: it is fed probe results in order and says when the verdict changes. Probers measure;
//! this decides (ARCHITECTURE rule 3).
//!
//! Lifecycle: the first result decides directly (gslb checks every target once before it
//! answers, like gdnsd, so there is no "unknown" state to guess about). After that a target goes
//! down after `fall` consecutive failures and up after `rise` consecutive successes; a result
//! that agrees with the current state resets the opposite streak, so a flapping target whose
//! failures never reach `fall` in a row stays up.

use std::time::SystemTime;

pub use crate::state::ProbeResult;

/// A change of verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Now up.
    Up,
    /// Now down.
    Down,
}

/// The tracked state of one target.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracker {
    /// Current verdict; None before the first result.
    pub up: Option<bool>,
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
            up: None,
            streak: 0,
            since: SystemTime::now(),
            last: None,
            last_at: None,
            load: None,
        }
    }
}

impl Tracker {
    /// Feeds one result; returns the new verdict when it changed.
    pub fn observe(
        &mut self,
        r: ProbeResult,
        at: SystemTime,
        rise: u32,
        fall: u32,
    ) -> Option<Verdict> {
        let ok = r.ok;
        if ok && r.load.is_some() {
            self.load = r.load;
        }
        self.last = Some(r);
        self.last_at = Some(at);
        let change = match self.up {
            None => Some(ok),
            Some(up) if up == ok => {
                self.streak = 0;
                None
            }
            Some(_) => {
                self.streak += 1;
                let needed = if ok { rise } else { fall };
                (self.streak >= needed).then_some(ok)
            }
        };
        let now_up = change?;
        self.up = Some(now_up);
        self.streak = 0;
        self.since = at;
        Some(if now_up { Verdict::Up } else { Verdict::Down })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(ok: bool) -> ProbeResult {
        ProbeResult {
            ok,
            detail: String::new(),
            latency: 0.0,
            load: None,
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
        let with = |ok, l| ProbeResult {
            ok,
            detail: String::new(),
            latency: 0.0,
            load: Some(l),
        };
        t.observe(with(true, 3.0), SystemTime::now(), 1, 1);
        assert_eq!(t.load, Some(3.0));
        t.observe(with(false, 9.0), SystemTime::now(), 1, 1);
        assert_eq!(t.load, Some(3.0));
    }
}
