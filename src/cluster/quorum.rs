//! The `down_quorum` rule: the one place that turns the live instances' verdicts on an endpoint
//! into its state. Every instance computes it the same way from the same watched votes, so
//! deterministic policies answer the same everywhere.
//!
//! Owns: the arithmetic (n voters, k needed) and its sentence for explain and `/v1/cluster`.
//! Must not: know where votes come from, or do I/O.

use std::fmt;

use crate::config::DownQuorum;
use crate::state::EndpointState;

/// One instance's verdict on one endpoint, after its own rise/fall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vote {
    /// The instance's probes say up.
    Up,
    /// The instance's probes say down.
    Down,
}

impl Vote {
    /// The value stored in etcd.
    pub fn as_str(self) -> &'static str {
        match self {
            Vote::Up => "up",
            Vote::Down => "down",
        }
    }

    /// The vote a stored value means (None: not a vote).
    pub fn parse(v: &[u8]) -> Option<Vote> {
        match v {
            b"up" => Some(Vote::Up),
            b"down" => Some(Vote::Down),
            _ => None,
        }
    }
}

impl fmt::Display for Vote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The count behind one endpoint's state: of `voters` instances holding a verdict, `down` say
/// down, and the rule needs `needed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// The rule.
    pub rule: DownQuorum,
    /// Instances holding a verdict (abstaining ones are not counted).
    pub voters: u32,
    /// Of them, those that see it down.
    pub down: u32,
}

impl Tally {
    /// Counts `votes` (one per live instance with a verdict) under `rule`.
    pub fn of(rule: DownQuorum, votes: impl IntoIterator<Item = Vote>) -> Tally {
        let (mut voters, mut down) = (0u32, 0u32);
        for v in votes {
            voters += 1;
            down += u32::from(v == Vote::Down);
        }
        Tally { rule, voters, down }
    }

    /// How many down votes make it down: ⌊n/2⌋+1 for majority, n for all, 1 for any, k capped
    /// at n. With no voter at all it is up (0 needed would mean down; nobody said so).
    pub fn needed(&self) -> u32 {
        let n = self.voters;
        match self.rule {
            DownQuorum::Majority => n / 2 + 1,
            DownQuorum::All => n,
            DownQuorum::Any => 1,
            DownQuorum::Count(k) => k.min(n),
        }
    }

    /// The endpoint's state by the rule.
    pub fn state(&self) -> EndpointState {
        if self.voters > 0 && self.down >= self.needed() {
            EndpointState::Down
        } else {
            EndpointState::Up
        }
    }
}

impl fmt::Display for Tally {
    /// "1 of 3 instances sees it down; majority needs 2: up".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.voters == 0 {
            return write!(f, "no instance holds a verdict yet: up");
        }
        let noun = if self.voters == 1 {
            "instance"
        } else {
            "instances"
        };
        let verb = if self.down == 1 { "sees" } else { "see" };
        write!(
            f,
            "{} of {} {noun} {verb} it down; {} needs {}: {}",
            self.down,
            self.voters,
            self.rule,
            self.needed(),
            self.state()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DownQuorum::*;
    use Vote::{Down as D, Up as U};

    #[test]
    fn the_rule_counts_live_verdicts() {
        // (rule, votes, needed, state)
        let table: &[(DownQuorum, &[Vote], u32, EndpointState)] = &[
            (Majority, &[], 1, EndpointState::Up),
            (Majority, &[D], 1, EndpointState::Down),
            (Majority, &[D, U], 2, EndpointState::Up),
            (Majority, &[D, D], 2, EndpointState::Down),
            (Majority, &[D, U, U], 2, EndpointState::Up),
            (Majority, &[D, D, U], 2, EndpointState::Down),
            (Majority, &[D, D, U, U], 3, EndpointState::Up),
            (All, &[D, D, U], 3, EndpointState::Up),
            (All, &[D, D, D], 3, EndpointState::Down),
            (All, &[], 0, EndpointState::Up),
            (Any, &[U, U, D], 1, EndpointState::Down),
            (Any, &[U, U], 1, EndpointState::Up),
            (Count(2), &[D, U, U], 2, EndpointState::Up),
            (Count(2), &[D, D, U], 2, EndpointState::Down),
            (Count(5), &[D, D], 2, EndpointState::Down),
            (Count(5), &[D, U], 2, EndpointState::Up),
        ];
        for (rule, votes, needed, state) in table {
            let t = Tally::of(*rule, votes.iter().copied());
            assert_eq!(t.needed(), *needed, "{rule} {votes:?}");
            assert_eq!(t.state(), *state, "{rule} {votes:?}");
        }
    }

    #[test]
    fn the_arithmetic_reads_as_a_sentence() {
        let t = Tally::of(Majority, [D, U, U]);
        assert_eq!(
            t.to_string(),
            "1 of 3 instances sees it down; majority needs 2: up"
        );
        let t = Tally::of(All, [D, D]);
        assert_eq!(
            t.to_string(),
            "2 of 2 instances see it down; all needs 2: down"
        );
        let t = Tally::of(Majority, []);
        assert_eq!(t.to_string(), "no instance holds a verdict yet: up");
    }
}
