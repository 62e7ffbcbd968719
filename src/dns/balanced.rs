//! Writing a balanced name's answer: the policy's decision over one snapshot, as records.
//!
//! Owns: turning a `Decision` into A/AAAA records (or the fallback addresses), or for a name of
//! CNAME endpoints into one CNAME record (for every query type) whose target the lookup then
//! follows; the TTL served (`ttl`, or `ttl_degraded` by `BalancedName::ttl`); counting what was
//! answered; the per-thread random draw weighted policies use. Must not: decide which endpoints
//! are chosen (that is `policy::decide`) or allocate.

use std::cell::Cell;
use std::net::IpAddr;
use std::sync::atomic::Ordering;

use super::lookup::Balanced;
use crate::policy::{BalancedName, Client, decide};
use crate::snapshot::Snapshot;
use crate::wire::{ResponseWriter, Section, rtype};

/// Writes the answer of balanced name `id` for `qtype` into the answer section: addresses for
/// A and AAAA (ANY: the A records, else the AAAA ones), one CNAME for any type when the name has
/// CNAME endpoints, nothing (`Balanced::Skip`) for other types of an address name. Returns what
/// was written and the ECS scope the decision used.
pub fn write<'s>(
    snap: &'s Snapshot,
    id: u32,
    qtype: u16,
    client: &Client,
    owner: &[u8],
    w: &mut ResponseWriter<'_>,
) -> (Balanced<'s>, u8) {
    let Some(b) = snap.served.balances.get(id as usize) else {
        return (Balanced::Skip, 0);
    };
    if b.cfg.answers_cname() {
        return cname(snap, b, id, client, owner, w);
    }
    match qtype {
        rtype::A | rtype::AAAA => {
            let (n, scope) = addresses(snap, b, id, qtype == rtype::A, client, owner, w);
            (Balanced::Records(n), scope)
        }
        rtype::ANY => match addresses(snap, b, id, true, client, owner, w) {
            (0, s4) => {
                let (n, s6) = addresses(snap, b, id, false, client, owner, w);
                (Balanced::Records(n), s4.max(s6))
            }
            (n, s4) => (Balanced::Records(n), s4),
        },
        _ => (Balanced::Skip, 0),
    }
}

/// The one CNAME of a name of CNAME endpoints: the chosen endpoint's target, or the fallback
/// target; nothing when every endpoint is down and `when_all_down = "none"` (or all drained).
fn cname<'s>(
    snap: &'s Snapshot,
    b: &'s BalancedName,
    id: u32,
    client: &Client,
    owner: &[u8],
    w: &mut ResponseWriter<'_>,
) -> (Balanced<'s>, u8) {
    let health = snap.health.row(id as usize);
    // A CNAME endpoint serves both families: the family argument does not filter.
    let d = decide(b, true, client, health, b.tick(), random());
    let counts = &snap.served.answered[id as usize];
    let (target, slot) = if d.fallback {
        (b.fallback_target(), b.cfg.endpoints.len())
    } else {
        match d.chosen.as_slice().first() {
            Some(&i) => (b.cfg.endpoints[i as usize].target.as_ref(), i as usize),
            None => (None, 0),
        }
    };
    let Some(t) = target else {
        return (Balanced::Records(0), d.scope);
    };
    let ttl = b.ttl(health);
    if !w.record(Section::Answer, owner, rtype::CNAME, ttl, &t.key, true) {
        return (Balanced::Records(0), d.scope);
    }
    counts[slot].fetch_add(1, Ordering::Relaxed);
    (Balanced::Cname(&t.key), d.scope)
}

/// The A (`v4`) or AAAA records of an address name; returns how many and the ECS scope.
fn addresses(
    snap: &Snapshot,
    b: &BalancedName,
    id: u32,
    v4: bool,
    client: &Client,
    owner: &[u8],
    w: &mut ResponseWriter<'_>,
) -> (usize, u8) {
    let health = snap.health.row(id as usize);
    let d = decide(b, v4, client, health, b.tick(), random());
    let ttl = b.ttl(health);
    let mut n = 0;
    let mut put = |addr: &IpAddr| {
        let ok = match addr {
            IpAddr::V4(a) => w.record(Section::Answer, owner, rtype::A, ttl, &a.octets(), true),
            IpAddr::V6(a) => w.record(Section::Answer, owner, rtype::AAAA, ttl, &a.octets(), true),
        };
        n += ok as usize;
        ok
    };
    // Relaxed counters: one add per address answered, read only by /metrics.
    let counts = &snap.served.answered[id as usize];
    if d.fallback {
        for a in b.fallback(v4) {
            if put(a) {
                counts[b.cfg.endpoints.len()].fetch_add(1, Ordering::Relaxed);
            }
        }
    } else {
        for &i in d.chosen.as_slice() {
            if put(&b.cfg.endpoints[i as usize].address) {
                counts[i as usize].fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    (n, d.scope)
}

thread_local! {
    static RNG: Cell<u64> = Cell::new({
        use std::hash::{BuildHasher, RandomState};
        RandomState::new().hash_one(std::thread::current().id()) | 1
    });
}

/// A per-thread xorshift64* draw: cheap, lock-free, good enough to spread weighted answers.
fn random() -> u64 {
    RNG.with(|s| {
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        x.wrapping_mul(0x2545F4914F6CDD1D)
    })
}
