//! Health by vote (`[cluster]`): what the publisher keeps of the other instances' verdicts,
//! and which endpoints each vote concerns.
//!
//! An endpoint's subject is (its check, its address): every instance probing that endpoint with
//! that check votes on it, whatever address it probes. The state is `cluster::quorum` over this
//! instance's own verdict (its tracker's) and the live others' votes.
//!
//! Owns: the remote votes as the publisher applies them, the plan's subject indices (which
//! targets read a subject, so a remote vote republishes only the names it touches), sending
//! own verdicts to the store task. Must not: talk to etcd, or decide anything but by
//! `cluster::Tally`.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::tracker::{Tracker, Verdict};
use crate::cluster::{OwnVotes, RemoteVotes, Subject, Tally, Vote};
use crate::config::DownQuorum;
use crate::plan::Plan;
use crate::snapshot::Served;
use crate::state::EndpointState;

/// The vote side of the publisher.
#[derive(Debug)]
pub(super) struct Votes {
    rule: DownQuorum,
    own_tx: mpsc::UnboundedSender<OwnVotes>,
    remote: RemoteVotes,
    /// Per name, per endpoint: its subject (None: not probed).
    subject_of: Vec<Box<[Option<u32>]>>,
    subjects: Vec<Subject>,
    index: HashMap<Subject, u32>,
    /// Per subject: the targets whose endpoints read it.
    targets_of: Vec<Vec<u32>>,
    /// Per target: the subjects of the endpoints reading it.
    of_target: Vec<Vec<u32>>,
    /// The revision of the drained set last applied from etcd.
    pub(super) drains_revision: i64,
}

/// A tracker's verdict as a vote (a target not yet decided abstains).
pub(super) fn own_vote(t: Option<&Tracker>) -> Option<Vote> {
    match t.map(|t| t.verdict) {
        Some(Verdict::Up) => Some(Vote::Up),
        Some(Verdict::Down) => Some(Vote::Down),
        _ => None,
    }
}

impl Votes {
    pub(super) fn new(
        rule: DownQuorum,
        own_tx: mpsc::UnboundedSender<OwnVotes>,
        remote: RemoteVotes,
        drains_revision: i64,
    ) -> Votes {
        Votes {
            rule,
            own_tx,
            remote,
            subject_of: Vec::new(),
            subjects: Vec::new(),
            index: HashMap::new(),
            targets_of: Vec::new(),
            of_target: Vec::new(),
            drains_revision,
        }
    }

    /// Indexes the subjects of `plan` and sends every own verdict (the store task withdraws
    /// the votes of subjects no longer probed).
    pub(super) fn for_plan(&mut self, plan: &Plan, served: &Served, trackers: &[Tracker]) {
        self.subject_of.clear();
        self.subjects.clear();
        self.index.clear();
        self.targets_of.clear();
        self.of_target = vec![Vec::new(); plan.targets.len()];
        let mut checks: HashMap<&str, Arc<str>> = HashMap::new();
        for (bi, b) in served.balances.iter().enumerate() {
            let mut row = Vec::with_capacity(b.cfg.endpoints.len());
            for (ei, e) in b.cfg.endpoints.iter().enumerate() {
                let Some(t) = plan.target_of(bi, ei) else {
                    row.push(None);
                    continue;
                };
                let name = plan.targets[t].check.name.as_str();
                let check = checks
                    .entry(name)
                    .or_insert_with(|| Arc::from(name))
                    .clone();
                let subject = Subject {
                    check,
                    // A CNAME endpoint is known by its target name, not its probed address.
                    endpoint: Arc::from(e.answer()),
                };
                let next = self.subjects.len() as u32;
                let si = *self.index.entry(subject.clone()).or_insert(next);
                if si == next {
                    self.subjects.push(subject);
                    self.targets_of.push(Vec::new());
                }
                let ts = &mut self.targets_of[si as usize];
                if !ts.contains(&(t as u32)) {
                    ts.push(t as u32);
                }
                let ss = &mut self.of_target[t];
                if !ss.contains(&si) {
                    ss.push(si);
                }
                row.push(Some(si));
            }
            self.subject_of.push(row.into_boxed_slice());
        }
        let all = self
            .subjects
            .iter()
            .enumerate()
            .filter_map(|(si, s)| {
                let t = *self.targets_of[si].first()?;
                own_vote(trackers.get(t as usize)).map(|v| (s.clone(), v))
            })
            .collect();
        let _ = self.own_tx.send(OwnVotes::All(all));
    }

    /// Target `t`'s verdict changed: its subjects' own votes go to the store task.
    pub(super) fn own_changed(&self, t: usize, tracker: &Tracker) {
        for &si in self.of_target.get(t).map_or(&[][..], |v| &v[..]) {
            let s = self.subjects[si as usize].clone();
            let _ = self.own_tx.send(OwnVotes::Set(s, own_vote(Some(tracker))));
        }
    }

    fn tally_of(&self, si: u32, own: Option<Vote>) -> Tally {
        let remote = self
            .subjects
            .get(si as usize)
            .and_then(|s| self.remote.get(s))
            .into_iter()
            .flat_map(|m| m.values().copied());
        Tally::of(self.rule, remote.chain(own))
    }

    /// The tally of endpoint `ei` of name `bi` with this instance's `own` vote (None: not
    /// probed, always up).
    pub(super) fn endpoint(&self, bi: usize, ei: usize, own: Option<Vote>) -> Option<Tally> {
        let si = self.subject_of.get(bi)?.get(ei).copied().flatten()?;
        Some(self.tally_of(si, own))
    }

    /// The tally target `t`'s first subject has (what its transitions are logged by).
    pub(super) fn target(&self, t: usize, own: Option<Vote>) -> Option<Tally> {
        let si = *self.of_target.get(t)?.first()?;
        Some(self.tally_of(si, own))
    }

    /// The state target `t`'s endpoints are in by the vote.
    pub(super) fn target_state(&self, t: usize, own: Option<Vote>) -> EndpointState {
        self.target(t, own).map_or(EndpointState::Up, |x| x.state())
    }

    /// Applies other instances' vote changes; returns the targets they concern.
    pub(super) fn apply(&mut self, changes: Vec<(Subject, Arc<str>, Option<Vote>)>) -> Vec<u32> {
        let mut touched = Vec::new();
        for (s, i, v) in changes {
            let before = self.remote.get(&s).and_then(|m| m.get(&i)).copied();
            if before == v {
                continue;
            }
            match v {
                Some(v) => {
                    self.remote.entry(s.clone()).or_default().insert(i, v);
                }
                None => {
                    if let Some(m) = self.remote.get_mut(&s) {
                        m.remove(&i);
                        if m.is_empty() {
                            self.remote.remove(&s);
                        }
                    }
                }
            }
            if let Some(&si) = self.index.get(&s) {
                touched.extend_from_slice(&self.targets_of[si as usize]);
            }
        }
        touched
    }

    /// Replaces every other instance's vote; returns the targets whose subjects changed.
    pub(super) fn replace(&mut self, all: RemoteVotes) -> Vec<u32> {
        let mut touched = Vec::new();
        for (s, &si) in &self.index {
            if self.remote.get(s) != all.get(s) {
                touched.extend_from_slice(&self.targets_of[si as usize]);
            }
        }
        self.remote = all;
        touched
    }
}
