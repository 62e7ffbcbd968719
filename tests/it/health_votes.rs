//! Health by vote as the publisher applies it, without etcd: the store task's side of the link
//! is played by the test (other instances' votes and the cluster's drained set go in, this
//! instance's own verdicts come out), probe results are scripted on paused time. What a user of
//! an NS set relies on: one instance's failing probes do not fail an endpoint over under
//! `majority`, enough down votes do, a withdrawn vote (an instance gone) counts no more, a set
//! from etcd drains here, and this instance's own verdict is what it reports.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use gslb::cluster::{Event, Link, OwnVotes, RemoteVotes, Subject, Vote};
use gslb::config::DownQuorum;
use gslb::drain::Drains;
use gslb::health::{Source, start_clustered};
use gslb::metrics::Metrics;
use gslb::snapshot::Snapshot;
use gslb::state::{EndpointState, ProbeFailure, ProbePass, ProbeResult};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::harness::{config_dir, pass};

const ZONE_T: &str =
    "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 h 1 3600 600 604800 60\n@ NS ns1\nns1 A 192.0.2.1\n";

const CONFIG: &str = r#"[zones]
directory = "zones"
[checks.web]
protocol = "tcp"
port = 80
interval = "1s"
timeout = "500ms"
rise = 1
fall = 1
[datacenters.a]
[datacenters.b]
[[balance]]
name = "app.example.com"
policy = "all"
check = "web"
endpoints = [
  { address = "192.0.2.10", datacenter = "a" },
  { address = "192.0.2.20", datacenter = "b" },
]
"#;

fn subject(a: &str) -> Subject {
    Subject::new("web", a)
}

struct Side {
    state: Arc<ArcSwap<Snapshot>>,
    events: mpsc::Sender<Event>,
    own: mpsc::UnboundedReceiver<OwnVotes>,
    cancel: CancellationToken,
    tasks: TaskTracker,
    _dir: tempfile::TempDir,
}

impl Side {
    fn state_of(&self, ei: usize) -> EndpointState {
        self.state.load().health.row(0)[ei].state
    }

    async fn stop(self) {
        self.cancel.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// One instance under `rule`, whose probes of 192.0.2.10 pass while `ten_up` says so (every
/// other probe passes), with `initial` as the other instances' votes read at start.
async fn start(rule: DownQuorum, ten_up: Arc<AtomicBool>, initial: RemoteVotes) -> Side {
    let (dir, path) = config_dir(CONFIG, &[("example.com.zone", ZONE_T)]);
    let served = gslb::load::from_file(&path).unwrap();
    let (events_tx, events) = mpsc::channel(16);
    let (own_tx, own) = mpsc::unbounded_channel();
    let link = Link {
        rule,
        initial_votes: initial,
        initial_drains: None,
        events,
        own: own_tx,
    };
    let ten: IpAddr = "192.0.2.10".parse().unwrap();
    let script = move |key: &gslb::health::TargetKey, _at| ProbeResult {
        outcome: if key.addr != ten || ten_up.load(Ordering::Relaxed) {
            Ok(ProbePass::Connected)
        } else {
            Err(ProbeFailure::Refused)
        },
        latency: 0.0,
    };
    let cancel = CancellationToken::new();
    let tasks = TaskTracker::new();
    let (state, _handle) = start_clustered(
        Arc::new(served),
        Arc::new(Metrics::default()),
        cancel.clone(),
        &tasks,
        Source::Scripted(Arc::new(script)),
        Some(link),
        None,
    )
    .await
    .unwrap();
    Side {
        state,
        events: events_tx,
        own,
        cancel,
        tasks,
        _dir: dir,
    }
}

fn others(votes: &[(&str, &str, Vote)]) -> RemoteVotes {
    let mut m: RemoteVotes = HashMap::new();
    for (addr, who, v) in votes {
        m.entry(subject(addr))
            .or_default()
            .insert(Arc::from(*who), *v);
    }
    m
}

#[tokio::test(start_paused = true)]
async fn one_instance_alone_seeing_an_endpoint_down_does_not_fail_it_over() {
    let ten_up = Arc::new(AtomicBool::new(true));
    let start_votes = others(&[
        ("192.0.2.10", "ns2", Vote::Up),
        ("192.0.2.10", "ns3", Vote::Up),
    ]);
    let mut s = start(DownQuorum::Majority, ten_up.clone(), start_votes).await;
    // This instance reports its own verdicts at start.
    match s.own.recv().await.unwrap() {
        OwnVotes::All(all) => {
            assert_eq!(all.get(&subject("192.0.2.10")), Some(&Vote::Up));
            assert_eq!(all.get(&subject("192.0.2.20")), Some(&Vote::Up));
        }
        other => panic!("first message is every own verdict, got {other:?}"),
    }
    // Its probes of .10 fail: it votes down, and the endpoint stays up (1 of 3; majority 2).
    ten_up.store(false, Ordering::Relaxed);
    pass(Duration::from_millis(1500)).await;
    match s.own.recv().await.unwrap() {
        OwnVotes::Set(subj, v) => {
            assert_eq!(subj, subject("192.0.2.10"));
            assert_eq!(v, Some(Vote::Down));
        }
        other => panic!("expected this instance's new verdict, got {other:?}"),
    }
    assert_eq!(s.state_of(0), EndpointState::Up, "1 of 3 down: up");
    // ns2 agrees: 2 of 3, down everywhere.
    s.events
        .send(Event::Votes(vec![(
            subject("192.0.2.10"),
            Arc::from("ns2"),
            Some(Vote::Down),
        )]))
        .await
        .unwrap();
    pass(Duration::from_millis(10)).await;
    assert_eq!(s.state_of(0), EndpointState::Down, "2 of 3 down: down");
    assert_eq!(
        s.state_of(1),
        EndpointState::Up,
        "the other endpoint untouched"
    );
    // ns2 goes away (its lease lapsed, its votes deleted): 1 of 2 down, majority needs 2.
    s.events
        .send(Event::Votes(vec![(
            subject("192.0.2.10"),
            Arc::from("ns2"),
            None,
        )]))
        .await
        .unwrap();
    pass(Duration::from_millis(10)).await;
    assert_eq!(s.state_of(0), EndpointState::Up, "1 of 2 down: up");
    // The shared view given up (etcd lost, on_store_loss = local): own probes decide alone.
    s.events
        .send(Event::AllVotes(HashMap::new()))
        .await
        .unwrap();
    pass(Duration::from_millis(10)).await;
    assert_eq!(s.state_of(0), EndpointState::Down, "alone, 1 of 1 down");
    s.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_rule_is_the_configured_one_and_drains_come_from_the_cluster() {
    let ten_up = Arc::new(AtomicBool::new(true));
    // `any`: one instance saying down is enough, this one's probes passing or not.
    let s = start(
        DownQuorum::Any,
        ten_up,
        others(&[("192.0.2.20", "ns2", Vote::Down)]),
    )
    .await;
    assert_eq!(s.state_of(0), EndpointState::Up);
    assert_eq!(
        s.state_of(1),
        EndpointState::Down,
        "the first snapshot already counts the votes read at start"
    );
    let mut d = Drains::default();
    d.endpoints.insert("192.0.2.10".parse().unwrap());
    s.events
        .send(Event::Drains {
            drains: d.clone(),
            revision: 7,
        })
        .await
        .unwrap();
    pass(Duration::from_millis(10)).await;
    assert_eq!(s.state_of(0), EndpointState::Drained, "drained from etcd");
    // An older set (a late event) never replaces a newer one.
    s.events
        .send(Event::Drains {
            drains: Drains::default(),
            revision: 5,
        })
        .await
        .unwrap();
    pass(Duration::from_millis(10)).await;
    assert_eq!(
        s.state_of(0),
        EndpointState::Drained,
        "revision 5 < 7: ignored"
    );
    s.events
        .send(Event::Drains {
            drains: Drains::default(),
            revision: 9,
        })
        .await
        .unwrap();
    pass(Duration::from_millis(10)).await;
    assert_eq!(s.state_of(0), EndpointState::Up, "undrained at revision 9");
    s.stop().await;
}
