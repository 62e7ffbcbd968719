//! The store task: this instance's one session with etcd, and what it keeps there.
//!
//! A session is a lease (renewed every third of `lease_ttl`), this instance's registration and
//! votes under it, and one watch on the prefix from the revision of a fresh read. Losing any of
//! them loses the session: the view freezes (or goes local, `on_store_loss`), and the task
//! reconnects with backoff; a new session re-registers, rewrites every own vote and reads
//! everything anew (a resync). A watch cancelled by compaction resyncs too.
//!
//! Owns: every etcd request gslb makes (drains included, `drain`), the view's members, remote
//! votes and store state. Must not: block the health publisher (events go over a channel;
//! own votes come over an unbounded one), or be waited on by a query.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, EventType, GetOptions, KeyValue,
    LeaseKeepAliveStream, LeaseKeeper, PutOptions, Txn, TxnOp, TxnOpResponse, WatchOptions,
    WatchStream,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::keys::Key;
use super::{
    Event, Member, OwnVotes, REQUEST_TIMEOUT, RemoteVotes, Resync, Seen, Shared, StartError,
    StoreError, StoreState, Subject, Vote, Write,
};
use crate::config::{Cluster, StoreLoss};
use crate::drain::{DrainTarget, Drains};

/// Most operations in one etcd transaction (etcd's `--max-txn-ops` defaults to 128).
const TXN_OPS: usize = 64;
/// The longest wait between reconnection attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// The first wait.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// How a session's loop ended.
enum Ended {
    /// The health side has stopped (the server is stopping): a clean stop.
    Stopped,
    /// The session was lost, and why.
    Lost(String),
}

/// The etcd client options of `[cluster]`: timeouts, HTTP/2 keep-alive (so a dead connection
/// is noticed without waiting for TCP), TLS files, the user and its password.
pub(super) fn options(cfg: &Cluster) -> Result<ConnectOptions, StartError> {
    let read = |key: &'static str, path: &std::path::Path| {
        std::fs::read(path).map_err(|source| StartError::File {
            key,
            path: path.to_path_buf(),
            source,
        })
    };
    let mut o = ConnectOptions::new()
        .with_timeout(REQUEST_TIMEOUT)
        .with_connect_timeout(REQUEST_TIMEOUT)
        .with_keep_alive(Duration::from_secs(1), REQUEST_TIMEOUT)
        .with_keep_alive_while_idle(true)
        .with_require_leader(true);
    let tls = cfg.ca_file.is_some()
        || cfg.client_identity.is_some()
        || cfg.etcd.iter().any(|u| u.starts_with("https://"));
    if tls {
        let mut t = etcd_client::TlsOptions::new();
        if let Some(ca) = &cfg.ca_file {
            t = t.ca_certificate(etcd_client::Certificate::from_pem(read("ca_file", ca)?));
        }
        if let Some((cert, key)) = &cfg.client_identity {
            t = t.identity(etcd_client::Identity::from_pem(
                read("cert_file", cert)?,
                read("key_file", key)?,
            ));
        }
        o = o.with_tls(t);
    }
    if let Some((user, file)) = &cfg.user {
        let password = String::from_utf8_lossy(&read("password_file", file)?)
            .trim_end_matches(['\r', '\n'])
            .to_string();
        o = o.with_user(user.clone(), password);
    }
    Ok(o)
}

/// Why a session could not be opened.
enum OpenError {
    /// Another live instance holds this id.
    Held(String),
    /// etcd could not be reached or refused a request.
    Store(String),
}

impl From<etcd_client::Error> for OpenError {
    fn from(e: etcd_client::Error) -> Self {
        OpenError::Store(short(&e))
    }
}

/// An etcd error in a few words: a gRPC status's message (tonic's own text carries its whole
/// source chain), else the error's text, at most 200 characters.
pub(super) fn short(e: &etcd_client::Error) -> String {
    let text = match e {
        etcd_client::Error::GRpcStatus(s) if !s.message().is_empty() => {
            format!("{}: {}", code(s.code()), s.message())
        }
        etcd_client::Error::GRpcStatus(s) => code(s.code()).to_string(),
        other => other.to_string(),
    };
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

fn code(c: tonic::Code) -> &'static str {
    match c {
        tonic::Code::Unavailable => "unavailable",
        tonic::Code::DeadlineExceeded => "timed out",
        tonic::Code::Unauthenticated => "not authenticated",
        tonic::Code::PermissionDenied => "permission denied",
        tonic::Code::InvalidArgument => "invalid argument",
        tonic::Code::NotFound => "not found",
        tonic::Code::Cancelled => "cancelled",
        tonic::Code::Unknown => "error",
        _ => "etcd error",
    }
}

/// A live session.
struct Session {
    client: Client,
    lease: i64,
    keeper: LeaseKeeper,
    keepalive: LeaseKeepAliveStream,
    watch: WatchStream,
}

/// What a fresh read of the prefix found.
struct Read {
    revision: i64,
    members: BTreeMap<String, Seen>,
    remote: RemoteVotes,
    drains: Option<(Drains, i64)>,
}

/// The store task.
pub(super) struct Task {
    shared: Arc<Shared>,
    options: ConnectOptions,
    me: Member,
    local: Drains,
    events: mpsc::Sender<Event>,
    own_rx: mpsc::UnboundedReceiver<OwnVotes>,
    /// Own verdicts as the publisher last said.
    own: HashMap<Subject, Vote>,
    /// Own votes as stored in etcd in this session.
    written: HashMap<Subject, Vote>,
    session: Option<Session>,
    /// The lease of the last session, which a new one may find still holding our keys.
    prev_lease: Option<i64>,
    /// When the last session was lost.
    lost_at: Option<Instant>,
    /// Whether a configuration mismatch has been warned of (once per change).
    mismatch_warned: bool,
}

impl Task {
    pub(super) fn new(
        shared: Arc<Shared>,
        options: ConnectOptions,
        me: Member,
        local: Drains,
        events: mpsc::Sender<Event>,
        own_rx: mpsc::UnboundedReceiver<OwnVotes>,
    ) -> Task {
        Task {
            shared,
            options,
            me,
            local,
            events,
            own_rx,
            own: HashMap::new(),
            written: HashMap::new(),
            session: None,
            prev_lease: None,
            lost_at: None,
            mismatch_warned: false,
        }
    }

    fn instance(&self) -> &str {
        &self.shared.cfg.instance
    }

    /// The first session, at start: the shared view it read, or None when etcd cannot be
    /// reached (the instance starts on its cached drained set and the task keeps trying). A
    /// live holder of this instance id is the one error.
    pub(super) async fn first_session(
        &mut self,
    ) -> Result<Option<(RemoteVotes, Option<(Drains, i64)>)>, StartError> {
        match self.open(true).await {
            Ok(read) => {
                tracing::info!(instance = %self.instance(), etcd = %self.shared.cfg.etcd.join(","), members = read.members.len(), "cluster store connected");
                let drains = read.drains.clone();
                let remote = read.remote.clone();
                self.take(read);
                Ok(Some((remote, drains)))
            }
            Err(OpenError::Held(holder)) => Err(StartError::Held {
                instance: self.instance().to_string(),
                holder,
            }),
            Err(OpenError::Store(reason)) => {
                tracing::warn!(etcd = %self.shared.cfg.etcd.join(","), reason = %reason, "cluster store unreachable at start; serving on this instance's probes and its cached drained set until it is reached");
                self.set_reason(&reason);
                Ok(None)
            }
        }
    }

    fn set_reason(&self, reason: &str) {
        self.shared.view().reason = reason.to_string();
    }

    /// Puts a fresh read into the view.
    fn take(&mut self, read: Read) {
        let mut v = self.shared.view();
        v.store = StoreState::Up;
        v.since = SystemTime::now();
        v.members = read.members;
        v.remote = read.remote;
        if let Some((d, _)) = read.drains {
            v.drains = d;
        }
        v.client = self.session.as_ref().map(|s| s.client.clone());
        v.lease = self.session.as_ref().map(|s| s.lease);
        v.own = self.own.clone();
    }

    /// The member registration as it is now (its hash follows reloads).
    fn member_json(&self) -> Vec<u8> {
        let mut m = self.me.clone();
        m.config_hash = self.shared.view().config_hash.clone();
        serde_json::to_vec(&m).unwrap_or_default()
    }

    /// Opens a session: lease, registration, the drained set created if etcd has none, a fresh
    /// read, every own vote written, keep-alive and watch started.
    async fn open(&mut self, first: bool) -> Result<Read, OpenError> {
        let cfg = &self.shared.cfg;
        let mut client = Client::connect(&cfg.etcd, Some(self.options.clone())).await?;
        let ttl = cfg.lease_ttl.as_secs().max(1) as i64;
        let lease = client.lease_grant(ttl, None).await?.id();
        // Renewed from the start: registering may wait up to lease_ttl for a crashed holder,
        // and a loaded machine may take a while over the requests below; the lease must not
        // lapse meanwhile (it would take the registration with it).
        let (mut keeper, mut keepalive) = client.lease_keep_alive(lease).await?;
        if let Err(e) = self
            .register(&mut client, lease, first, &mut keeper, &mut keepalive)
            .await
        {
            let _ = client.lease_revoke(lease).await;
            return Err(e);
        }
        let layout = &self.shared.layout;
        let key = layout.drains();
        let local = serde_json::to_vec(&self.local).unwrap_or_default();
        let created = client
            .txn(
                Txn::new()
                    .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
                    .and_then([TxnOp::put(key, local, None)]),
            )
            .await?
            .succeeded();
        if created {
            self.count(Write::Drain, 1);
            tracing::info!(
                endpoints = %self.local.endpoints_text(),
                datacenters = %self.local.datacenters_text(),
                "cluster drained set created in etcd from this instance's"
            );
        }
        let read = self.read(&mut client).await?;
        while let Ok(m) = self.own_rx.try_recv() {
            self.own_update(m);
        }
        self.written.clear();
        write_votes(
            &self.shared,
            &mut client,
            lease,
            &self.own,
            &mut self.written,
        )
        .await?;
        // Our keys of a lost session still under its lease are rewritten under the new one by
        // now; revoking the old lease only removes what is no longer ours (no vote vanishes
        // for a moment in the other instances' view).
        if let Some(old) = self.prev_lease.take()
            && old != lease
        {
            let _ = client.lease_revoke(old).await;
        }
        renew_once(&mut keeper, &mut keepalive).await?;
        let watch = self.watch(&mut client, read.revision).await?;
        self.session = Some(Session {
            client,
            lease,
            keeper,
            keepalive,
            watch,
        });
        Ok(read)
    }

    async fn watch(&self, client: &mut Client, revision: i64) -> Result<WatchStream, OpenError> {
        Ok(client
            .watch(
                self.shared.layout.root(),
                Some(
                    WatchOptions::new()
                        .with_prefix()
                        .with_start_revision(revision + 1),
                ),
            )
            .await?)
    }

    /// Registers this instance: created if absent; taken over from our own previous lease; a
    /// holder on another lease is waited for at start (a crashed predecessor's lease lapses
    /// within `lease_ttl`) and refused once its lease is seen renewed.
    async fn register(
        &mut self,
        client: &mut Client,
        lease: i64,
        first: bool,
        keeper: &mut LeaseKeeper,
        keepalive: &mut LeaseKeepAliveStream,
    ) -> Result<(), OpenError> {
        let key = self.shared.layout.member(&self.me.instance);
        let value = self.member_json();
        let started = Instant::now();
        let mut last_ttl: Option<i64> = None;
        let mut told = false;
        loop {
            let r = client
                .txn(
                    Txn::new()
                        .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
                        .and_then([TxnOp::put(
                            key.clone(),
                            value.clone(),
                            Some(PutOptions::new().with_lease(lease)),
                        )])
                        .or_else([TxnOp::get(key.clone(), None)]),
                )
                .await?;
            if r.succeeded() {
                self.count(Write::Member, 1);
                if told {
                    tracing::info!(instance = %self.me.instance, "instance id released; registered");
                }
                return Ok(());
            }
            let holder = r.op_responses().into_iter().find_map(|o| match o {
                TxnOpResponse::Get(g) => g.kvs().first().cloned(),
                _ => None,
            });
            let Some(holder) = holder else { continue };
            let holder_lease = holder.lease();
            if holder_lease == lease || Some(holder_lease) == self.prev_lease {
                // Our own key from the session that was lost: take it over.
                client
                    .put(
                        key.clone(),
                        value.clone(),
                        Some(PutOptions::new().with_lease(lease)),
                    )
                    .await?;
                self.count(Write::Member, 1);
                return Ok(());
            }
            let who = String::from_utf8_lossy(holder.value()).into_owned();
            if !first {
                return Err(OpenError::Store(format!(
                    "instance id {:?} is held by another live instance: {who}",
                    self.me.instance
                )));
            }
            let remaining = client.lease_time_to_live(holder_lease, None).await?.ttl();
            if last_ttl.is_some_and(|t| remaining > t)
                || started.elapsed() > self.shared.cfg.lease_ttl + Duration::from_secs(1)
            {
                return Err(OpenError::Held(who));
            }
            if !told {
                tracing::warn!(instance = %self.me.instance, holder = %who, lease_ttl = %humantime(self.shared.cfg.lease_ttl), "waiting for instance id to be released (a previous holder's lease lapses within lease_ttl)");
                told = true;
            }
            if remaining > 0 {
                last_ttl = Some(remaining);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            renew_once(keeper, keepalive).await?;
        }
    }

    /// Everything under the prefix, at one revision.
    async fn read(&self, client: &mut Client) -> Result<Read, OpenError> {
        let r = client
            .get(
                self.shared.layout.root(),
                Some(GetOptions::new().with_prefix()),
            )
            .await?;
        let revision = r.header().map_or(0, |h| h.revision());
        let mut read = Read {
            revision,
            members: BTreeMap::new(),
            remote: HashMap::new(),
            drains: None,
        };
        for kv in r.kvs() {
            match self.shared.layout.parse(kv.key()) {
                Some(Key::Member(i)) => {
                    if let Some(s) = seen(kv) {
                        read.members.insert(i, s);
                    }
                }
                Some(Key::Vote(s, i)) if i != self.instance() => {
                    if let Some(v) = Vote::parse(kv.value()) {
                        read.remote.entry(s).or_default().insert(Arc::from(i), v);
                    }
                }
                Some(Key::Drains) => read.drains = drains_of(kv),
                _ => {}
            }
        }
        Ok(read)
    }

    fn own_update(&mut self, m: OwnVotes) {
        match m {
            OwnVotes::All(all) => self.own = all,
            OwnVotes::Set(s, Some(v)) => {
                self.own.insert(s, v);
            }
            OwnVotes::Set(s, None) => {
                self.own.remove(&s);
            }
        }
    }

    fn count(&self, w: Write, n: u64) {
        self.shared.counters.writes[w as usize].fetch_add(n, Ordering::Relaxed);
    }

    /// Runs until the server stops: the session's loop, and reconnecting when it is lost.
    pub(super) async fn run(mut self, cancel: CancellationToken) {
        let mut backoff = BACKOFF_MIN;
        loop {
            if self.session.is_some() {
                let reason = tokio::select! {
                    _ = cancel.cancelled() => {
                        self.close().await;
                        return;
                    }
                    r = self.serve() => r,
                };
                // The publisher gone means the server is stopping (its channel may close
                // before the cancellation is seen): a clean stop, not a lost store.
                let reason = match reason {
                    Ended::Lost(r) if !cancel.is_cancelled() => r,
                    _ => {
                        self.close().await;
                        return;
                    }
                };
                self.lost(&reason).await;
                backoff = BACKOFF_MIN;
                continue;
            }
            let freeze_end = self.freeze_end();
            tokio::select! {
                _ = cancel.cancelled() => return,
                m = self.own_rx.recv() => match m {
                    Some(m) => {
                        self.own_update(m);
                        self.shared.view().own = self.own.clone();
                    }
                    None => return,
                },
                _ = sleep_until(freeze_end) => self.unfreeze().await,
                _ = tokio::time::sleep(backoff) => {
                    match self.open(false).await {
                        Ok(read) => self.resynced(read, Resync::Reconnect).await,
                        Err(OpenError::Store(reason) | OpenError::Held(reason)) => {
                            // Said once per distinct reason, not at every attempt.
                            if self.shared.view().reason != reason {
                                tracing::warn!(reason = %reason, "cluster store still unreachable; retrying");
                            }
                            self.set_reason(&reason);
                            backoff = (backoff * 2).min(BACKOFF_MAX);
                        }
                    }
                }
            }
        }
    }

    /// When a frozen view gives way to local probes.
    fn freeze_end(&self) -> Option<Instant> {
        let frozen = self.shared.view().store == StoreState::Frozen;
        self.lost_at
            .filter(|_| frozen)
            .map(|t| t + self.shared.cfg.freeze_max)
    }

    /// The frozen view has lasted `freeze_max`: only local probes decide from now on.
    async fn unfreeze(&mut self) {
        {
            let mut v = self.shared.view();
            v.store = StoreState::Local;
            v.since = SystemTime::now();
            v.remote.clear();
        }
        tracing::warn!(freeze_max = %humantime(self.shared.cfg.freeze_max), "cluster view frozen for freeze_max; deciding on this instance's probes only");
        let _ = self.events.send(Event::AllVotes(HashMap::new())).await;
    }

    /// A new session after a loss, or a watch that fell behind compaction: the fresh read
    /// replaces the view, and the publisher gets all of it.
    async fn resynced(&mut self, read: Read, why: Resync) {
        self.shared.counters.resyncs[why as usize].fetch_add(1, Ordering::Relaxed);
        let reason = match why {
            Resync::Reconnect => "reconnect",
            Resync::Compacted => "compacted",
        };
        if why == Resync::Reconnect {
            tracing::info!(instance = %self.instance(), members = read.members.len(), "cluster store connected");
        }
        tracing::info!(reason = %reason, revision = read.revision, "cluster view resynchronised");
        let remote = read.remote.clone();
        let drains = read.drains.clone();
        self.lost_at = None;
        self.take(read);
        let _ = self.events.send(Event::AllVotes(remote)).await;
        if let Some((drains, revision)) = drains {
            let _ = self.events.send(Event::Drains { drains, revision }).await;
        }
    }

    /// The session is gone: freeze or go local, and say so.
    async fn lost(&mut self, reason: &str) {
        if let Some(s) = self.session.take() {
            self.prev_lease = Some(s.lease);
        }
        self.lost_at = Some(Instant::now());
        let loss = self.shared.cfg.on_store_loss;
        {
            let mut v = self.shared.view();
            v.client = None;
            v.lease = None;
            v.reason = reason.to_string();
            v.since = SystemTime::now();
            v.store = match loss {
                StoreLoss::Freeze => StoreState::Frozen,
                StoreLoss::Local => StoreState::Local,
            };
            if loss == StoreLoss::Local {
                v.remote.clear();
            }
        }
        tracing::warn!(reason = %reason, on_store_loss = %loss, "cluster store lost");
        if loss == StoreLoss::Local {
            let _ = self.events.send(Event::AllVotes(HashMap::new())).await;
        }
    }

    /// SIGTERM: the lease is revoked, so this instance's votes and registration go at once and
    /// a restart never waits for its own id.
    async fn close(&mut self) {
        if let Some(mut s) = self.session.take() {
            let revoked =
                tokio::time::timeout(REQUEST_TIMEOUT, s.client.lease_revoke(s.lease)).await;
            match revoked {
                Ok(Ok(_)) => tracing::info!(instance = %self.instance(), "cluster lease revoked"),
                _ => {
                    tracing::warn!(instance = %self.instance(), "cluster lease could not be revoked; it lapses within lease_ttl")
                }
            }
        }
    }

    /// One session's loop: renewals, watch events, own votes. Returns how it ended.
    async fn serve(&mut self) -> Ended {
        let every = (self.shared.cfg.lease_ttl / 3).max(Duration::from_millis(200));
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let Some(s) = self.session.as_mut() else {
                return Ended::Lost("no session".into());
            };
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(e) = self.renew(every).await {
                        return Ended::Lost(e);
                    }
                }
                m = s.watch.message() => match m {
                    Ok(Some(resp)) => {
                        if resp.canceled() {
                            if resp.compact_revision() > 0 {
                                tracing::info!(compact_revision = resp.compact_revision(), "cluster watch fell behind etcd's compaction");
                                if let Err(e) = self.resync_compacted().await {
                                    return Ended::Lost(e);
                                }
                                continue;
                            }
                            return Ended::Lost(format!("watch cancelled: {}", resp.cancel_reason()));
                        }
                        self.events_of(resp.events()).await;
                    }
                    Ok(None) => return Ended::Lost("watch ended".into()),
                    Err(e) => return Ended::Lost(format!("watch: {}", short(&e))),
                },
                m = self.own_rx.recv() => {
                    let Some(m) = m else { return Ended::Stopped };
                    self.own_update(m);
                    while let Ok(m) = self.own_rx.try_recv() {
                        self.own_update(m);
                    }
                    self.shared.view().own = self.own.clone();
                    let Some(s) = self.session.as_mut() else { continue };
                    if let Err(e) = write_votes(&self.shared, &mut s.client, s.lease, &self.own, &mut self.written).await {
                        return Ended::Lost(format!("writing votes: {}", short(&e)));
                    }
                }
            }
        }
    }

    /// Renews the lease and refreshes the members' lease ages.
    async fn renew(&mut self, every: Duration) -> Result<(), String> {
        let Some(s) = self.session.as_mut() else {
            return Err("no session".into());
        };
        s.keeper
            .keep_alive()
            .await
            .map_err(|e| format!("lease renewal: {}", short(&e)))?;
        match tokio::time::timeout(every, s.keepalive.message()).await {
            Ok(Ok(Some(r))) if r.ttl() > 0 => {}
            Ok(Ok(Some(_))) => return Err("the lease expired".into()),
            Ok(Ok(None)) => return Err("lease renewal stream ended".into()),
            Ok(Err(e)) => return Err(format!("lease renewal: {}", short(&e))),
            Err(_) => return Err(format!("lease renewal unanswered for {every:?}")),
        }
        let leases: Vec<(String, i64)> = self
            .shared
            .view()
            .members
            .iter()
            .map(|(i, m)| (i.clone(), m.lease))
            .collect();
        let mut ages = Vec::with_capacity(leases.len());
        for (i, lease) in leases {
            if let Ok(r) = s.client.lease_time_to_live(lease, None).await
                && r.ttl() >= 0
            {
                ages.push((i, (r.granted_ttl() - r.ttl()).max(0) as f64));
            }
        }
        let mismatch = {
            let mut v = self.shared.view();
            for (i, age) in ages {
                if let Some(m) = v.members.get_mut(&i) {
                    m.lease_age = Some(age);
                }
            }
            let hash = v.config_hash.clone();
            v.members
                .values()
                .find(|m| m.member.config_hash != hash)
                .map(|m| {
                    (
                        m.member.instance.clone(),
                        m.member.config_hash.clone(),
                        hash,
                    )
                })
        };
        match mismatch {
            Some((other, theirs, ours)) if !self.mismatch_warned => {
                tracing::warn!(instance = %other, config_hash = %theirs, ours = %ours, "configuration differs between live instances of the NS set (balanced names, checks, data centers or zones): answers may differ until they agree");
                self.mismatch_warned = true;
            }
            None if self.mismatch_warned => {
                tracing::info!("live instances agree on the configuration again");
                self.mismatch_warned = false;
            }
            _ => {}
        }
        Ok(())
    }

    async fn resync_compacted(&mut self) -> Result<(), String> {
        let Some(mut client) = self.session.as_ref().map(|s| s.client.clone()) else {
            return Err("no session".into());
        };
        let read = match self.read(&mut client).await {
            Ok(r) => r,
            Err(OpenError::Store(e) | OpenError::Held(e)) => return Err(e),
        };
        let watch = match self.watch(&mut client, read.revision).await {
            Ok(w) => w,
            Err(OpenError::Store(e) | OpenError::Held(e)) => return Err(e),
        };
        if let Some(s) = self.session.as_mut() {
            s.watch = watch;
        }
        self.resynced(read, Resync::Compacted).await;
        Ok(())
    }

    /// Applies watch events to the view and tells the publisher what it must know.
    async fn events_of(&mut self, events: &[etcd_client::Event]) {
        let mut votes = Vec::new();
        let mut drains = None;
        {
            let me = self.shared.cfg.instance.clone();
            let mut v = self.shared.view();
            for ev in events {
                self.shared.counters.events.fetch_add(1, Ordering::Relaxed);
                let Some(kv) = ev.kv() else { continue };
                let put = ev.event_type() == EventType::Put;
                match self.shared.layout.parse(kv.key()) {
                    Some(Key::Member(i)) if put => {
                        if let Some(s) = seen(kv) {
                            if !v.members.contains_key(&i) {
                                tracing::info!(instance = %i, version = %s.member.version, config_hash = %s.member.config_hash, "cluster member joined");
                            }
                            v.members.insert(i, s);
                        }
                    }
                    Some(Key::Member(i)) if v.members.remove(&i).is_some() => {
                        tracing::info!(instance = %i, "cluster member left");
                    }
                    Some(Key::Vote(s, i)) if i != me => {
                        let i: Arc<str> = Arc::from(i);
                        let vote = if put { Vote::parse(kv.value()) } else { None };
                        match vote {
                            Some(x) => {
                                v.remote.entry(s.clone()).or_default().insert(i.clone(), x);
                            }
                            None => {
                                if let Some(m) = v.remote.get_mut(&s) {
                                    m.remove(&i);
                                    if m.is_empty() {
                                        v.remote.remove(&s);
                                    }
                                }
                            }
                        }
                        votes.push((s, i, vote));
                    }
                    Some(Key::Drains) => {
                        let d = if put {
                            drains_of(kv)
                        } else {
                            Some((Drains::default(), kv.mod_revision()))
                        };
                        if let Some((d, rev)) = d {
                            v.drains = d.clone();
                            drains = Some((d, rev));
                        }
                    }
                    _ => {}
                }
            }
        }
        if !votes.is_empty() {
            let _ = self.events.send(Event::Votes(votes)).await;
        }
        if let Some((drains, revision)) = drains {
            let _ = self.events.send(Event::Drains { drains, revision }).await;
        }
    }
}

/// Renews `keeper`'s lease once and waits for etcd's answer (a lease gone is an error).
async fn renew_once(
    keeper: &mut LeaseKeeper,
    keepalive: &mut LeaseKeepAliveStream,
) -> Result<(), OpenError> {
    keeper.keep_alive().await?;
    match tokio::time::timeout(REQUEST_TIMEOUT, keepalive.message()).await {
        Ok(Ok(Some(r))) if r.ttl() > 0 => Ok(()),
        Ok(Ok(Some(_))) => Err(OpenError::Store("the lease expired".into())),
        Ok(Ok(None)) => Err(OpenError::Store("lease renewal stream ended".into())),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(OpenError::Store("lease renewal unanswered".into())),
    }
}

/// A member key's value as a registration (a value that is not one is logged and skipped).
fn seen(kv: &KeyValue) -> Option<Seen> {
    match serde_json::from_slice::<Member>(kv.value()) {
        Ok(member) => Some(Seen {
            member,
            lease: kv.lease(),
            lease_age: None,
        }),
        Err(e) => {
            tracing::warn!(key = %String::from_utf8_lossy(kv.key()), error = %e, "not a member registration in etcd; ignored");
            None
        }
    }
}

/// The drained set's value, with its revision (a value that is not one is logged and skipped).
fn drains_of(kv: &KeyValue) -> Option<(Drains, i64)> {
    match serde_json::from_slice::<Drains>(kv.value()) {
        Ok(d) => Some((d, kv.mod_revision())),
        Err(e) => {
            tracing::error!(key = %String::from_utf8_lossy(kv.key()), error = %e, "the drained set in etcd is not valid; keeping the last one");
            None
        }
    }
}

/// Writes the difference between `own` and what is stored (`written`), in transactions of at
/// most `TXN_OPS`, under `lease`.
async fn write_votes(
    shared: &Shared,
    client: &mut Client,
    lease: i64,
    own: &HashMap<Subject, Vote>,
    written: &mut HashMap<Subject, Vote>,
) -> Result<(), etcd_client::Error> {
    let me = &shared.cfg.instance;
    let mut ops: Vec<(Subject, Option<Vote>)> = own
        .iter()
        .filter(|(s, v)| written.get(*s) != Some(*v))
        .map(|(s, v)| (s.clone(), Some(*v)))
        .collect();
    ops.extend(
        written
            .keys()
            .filter(|s| !own.contains_key(*s))
            .map(|s| (s.clone(), None)),
    );
    for chunk in ops.chunks(TXN_OPS) {
        let txn: Vec<TxnOp> = chunk
            .iter()
            .map(|(s, v)| {
                let key = shared.layout.vote(s, me);
                match v {
                    Some(v) => {
                        TxnOp::put(key, v.as_str(), Some(PutOptions::new().with_lease(lease)))
                    }
                    None => TxnOp::delete(key, None),
                }
            })
            .collect();
        client.txn(Txn::new().and_then(txn)).await?;
        shared.counters.writes[Write::Vote as usize]
            .fetch_add(chunk.len() as u64, Ordering::Relaxed);
        for (s, v) in chunk {
            match v {
                Some(v) => {
                    written.insert(s.clone(), *v);
                }
                None => {
                    written.remove(s);
                }
            }
        }
    }
    Ok(())
}

/// A drain or undrain as a compare-and-swap on etcd's drained set.
pub(super) async fn drain(
    shared: &Shared,
    what: &DrainTarget,
    drained: bool,
) -> Result<(Drains, i64), StoreError> {
    let (client, state, reason) = {
        let v = shared.view();
        (v.client.clone(), v.store, v.reason.clone())
    };
    let Some(mut client) = client.filter(|_| state == StoreState::Up) else {
        let why = if reason.is_empty() {
            format!("not connected to etcd (store {state})")
        } else {
            format!("not connected to etcd (store {state}: {reason})")
        };
        return Err(StoreError(why));
    };
    let key = shared.layout.drains();
    let cas = async {
        for _ in 0..8 {
            let r = client.get(key.clone(), None).await.map_err(|e| short(&e))?;
            let (current, rev) = match r.kvs().first() {
                Some(kv) => match serde_json::from_slice::<Drains>(kv.value()) {
                    Ok(d) => (d, kv.mod_revision()),
                    Err(e) => {
                        return Err(format!("the drained set in etcd is not valid: {e}"));
                    }
                },
                None => (Drains::default(), 0),
            };
            let next = current.with(what, drained);
            let cmp = if rev == 0 {
                Compare::create_revision(key.clone(), CompareOp::Equal, 0)
            } else {
                Compare::mod_revision(key.clone(), CompareOp::Equal, rev)
            };
            let value = serde_json::to_vec(&next).map_err(|e| e.to_string())?;
            let t = client
                .txn(
                    Txn::new()
                        .when([cmp])
                        .and_then([TxnOp::put(key.clone(), value, None)]),
                )
                .await
                .map_err(|e| short(&e))?;
            if t.succeeded() {
                shared.counters.writes[Write::Drain as usize].fetch_add(1, Ordering::Relaxed);
                return Ok((next, t.header().map_or(0, |h| h.revision())));
            }
        }
        Err("the drained set kept changing under this write; try again".to_string())
    };
    match tokio::time::timeout(REQUEST_TIMEOUT * 2, cas).await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(e)) => Err(StoreError(e)),
        Err(_) => Err(StoreError(format!(
            "etcd did not answer within {:?}",
            REQUEST_TIMEOUT * 2
        ))),
    }
}

/// Rewrites this instance's registration (its configuration hash changed with a reload).
pub(super) async fn reregister(shared: &Shared) {
    let (client, lease, member) = {
        let v = shared.view();
        (v.client.clone(), v.lease, v.me.clone())
    };
    let (Some(mut client), Some(lease), Some(mut member)) = (client, lease, member) else {
        return;
    };
    member.config_hash = shared.view().config_hash.clone();
    let key = shared.layout.member(&shared.cfg.instance);
    let value = serde_json::to_vec(&member).unwrap_or_default();
    match tokio::time::timeout(
        REQUEST_TIMEOUT,
        client.put(key, value, Some(PutOptions::new().with_lease(lease))),
    )
    .await
    {
        Ok(Ok(_)) => {
            shared.counters.writes[Write::Member as usize].fetch_add(1, Ordering::Relaxed);
        }
        _ => tracing::warn!(
            "cluster registration not updated after the reload; the next session writes it"
        ),
    }
}

fn humantime(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
        None => std::future::pending().await,
    }
}
