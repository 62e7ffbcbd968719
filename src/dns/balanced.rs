//! Writing a balanced name's answer: the policy's decision over one snapshot, as records.
//!
//! Owns: turning a `Decision` into A/AAAA records (or the fallback addresses), counting the
//! addresses answered, and the per-thread random draw weighted policies use. Must not: decide
//! which endpoints are chosen (that is `policy::decide`) or allocate.

use std::cell::Cell;
use std::net::IpAddr;
use std::sync::atomic::Ordering;

use crate::policy::{Client, decide};
use crate::snapshot::Snapshot;
use crate::wire::{ResponseWriter, Section, rtype};

/// Writes the answer of balanced name `id` for `qtype` (A or AAAA) into the answer section.
/// Returns the records written and the ECS scope the decision used.
pub fn write(
    snap: &Snapshot,
    id: u32,
    qtype: u16,
    client: &Client,
    owner: &[u8],
    w: &mut ResponseWriter<'_>,
) -> (usize, u8) {
    let Some(b) = snap.served.balances.get(id as usize) else {
        return (0, 0);
    };
    let health = snap.health.row(id as usize);
    let v4 = qtype == rtype::A;
    let d = decide(b, v4, client, health, b.tick(), random());
    let mut n = 0;
    let mut put = |addr: &IpAddr| {
        let ok = match addr {
            IpAddr::V4(a) => w.record(
                Section::Answer,
                owner,
                rtype::A,
                b.cfg.ttl,
                &a.octets(),
                true,
            ),
            IpAddr::V6(a) => w.record(
                Section::Answer,
                owner,
                rtype::AAAA,
                b.cfg.ttl,
                &a.octets(),
                true,
            ),
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
