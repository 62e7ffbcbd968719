//! Response rate limiting (RRL) for UDP answers, as BIND and Knot define it: token buckets per
//! (client block, response class, name), so a spoofed flood of identical answers cannot use the
//! server as an amplifier while other clients, and TCP, are untouched.
//!
//! Owns: the bucket arithmetic and a fixed-size, set-associative table of buckets that every UDP
//! worker updates lock-free (one compare-and-swap per answer; no allocation per query), the
//! slip counter, and the key of an answer. Must not: decide what the answer is, see TCP
//! queries, or block: a bucket lost to contention or eviction errs towards answering.
//!
//! A bucket holds a balance of answers. Each second it regains `rate` (never above `rate`);
//! each answer costs one; below zero the answer is limited. The balance can fall to
//! `-window · rate`, so a source stays limited for up to `window` seconds after its flood ends,
//! which is what makes the limit hold against an attacker who pauses (BIND's "window").

use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::config::Rrl;
use crate::config::defaults::RRL_MAX_RATE;

/// What kind of answer a bucket counts. Classified by the lookup's outcome, not the RCODE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseClass {
    /// Records answered (keyed by query name and type).
    Answer,
    /// The name does not exist (keyed by zone).
    NxDomain,
    /// The name exists without data of the type (keyed by name).
    NoData,
    /// A referral to a child zone (keyed by the delegation).
    Referral,
    /// FORMERR, REFUSED, NOTIMP, BADVERS, SERVFAIL (keyed by client block alone).
    Error,
}

impl ResponseClass {
    /// Every class, in metric order.
    pub const ALL: [ResponseClass; 5] = [
        ResponseClass::Answer,
        ResponseClass::NxDomain,
        ResponseClass::NoData,
        ResponseClass::Referral,
        ResponseClass::Error,
    ];

    /// The metric label and log value.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseClass::Answer => "answer",
            ResponseClass::NxDomain => "nxdomain",
            ResponseClass::NoData => "nodata",
            ResponseClass::Referral => "referral",
            ResponseClass::Error => "error",
        }
    }
}

/// What to do with one UDP answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send it as written.
    Send,
    /// Limited: send a truncated answer instead (TC=1, or BADCOOKIE to a client with a cookie),
    /// so a real client behind a spoofed address can still get through over TCP.
    Slip,
    /// Limited: send nothing.
    Drop,
}

impl Action {
    /// Every action, in metric order.
    pub const ALL: [Action; 3] = [Action::Send, Action::Slip, Action::Drop];

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Send => "sent",
            Action::Slip => "slipped",
            Action::Drop => "dropped",
        }
    }
}

/// The verdict on one answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// What to do.
    pub action: Action,
    /// Whether this answer is the first its bucket limits since it last recovered: the moment
    /// to log, once per episode rather than per query.
    pub newly_limited: bool,
}

/// Buckets in the table; a power of two.
const ENTRIES: usize = 1 << 16;
/// Buckets one key may occupy (a set); a key lives in one of them.
const WAYS: usize = 4;
/// Largest balance a packed bucket holds (and so the highest rate and debt).
const MAX_BALANCE: i64 = RRL_MAX_RATE as i64;

/// A bucket packed in 64 bits: tag (20) | second last touched (20) | balance (24, signed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Bucket {
    tag: u32,
    second: u32,
    balance: i32,
}

const MASK20: u64 = (1 << 20) - 1;
const MASK24: u64 = (1 << 24) - 1;

impl Bucket {
    fn pack(self) -> u64 {
        (u64::from(self.tag) & MASK20) << 44
            | (u64::from(self.second) & MASK20) << 24
            | (self.balance as u32 as u64 & MASK24)
    }

    fn unpack(v: u64) -> Bucket {
        // Sign-extend the 24-bit balance.
        let b = (v & MASK24) as u32;
        Bucket {
            tag: ((v >> 44) & MASK20) as u32,
            second: ((v >> 24) & MASK20) as u32,
            balance: ((b << 8) as i32) >> 8,
        }
    }
}

/// Seconds between two 20-bit second stamps (wrapping every ~12 days).
fn age(now: u32, then: u32) -> u32 {
    now.wrapping_sub(then) & MASK20 as u32
}

/// The bucket arithmetic: `balance` last touched `age` seconds ago, one more answer now.
/// Returns the new balance (floored at the window's debt).
fn spend(balance: i32, age: u32, rate: u32, window: u32) -> i32 {
    let rate = i64::from(rate).min(MAX_BALANCE);
    let refilled = (i64::from(balance) + i64::from(age) * rate).min(rate);
    let floor = -(i64::from(window) * rate).min(MAX_BALANCE);
    (refilled - 1).max(floor) as i32
}

/// The table of buckets every UDP worker shares.
pub struct Limiter {
    table: Box<[AtomicU64]>,
    slips: AtomicU64,
    epoch: Instant,
    /// Log lines allowed: (second, lines in it), packed.
    logged: AtomicU64,
    /// Answers counted, by action and class (`gslb_rrl_responses_total`).
    counts: [[AtomicU64; 5]; 3],
}

/// Answers counted by one worker between flushes, by action and class.
#[derive(Debug, Default)]
pub struct Tally([[u64; 5]; 3]);

impl Tally {
    /// Counts one answer.
    pub fn add(&mut self, action: Action, class: ResponseClass) {
        self.0[action as usize][class as usize] += 1;
    }
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limiter")
    }
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter {
            table: (0..ENTRIES).map(|_| AtomicU64::new(0)).collect(),
            slips: AtomicU64::new(0),
            epoch: Instant::now(),
            logged: AtomicU64::new(0),
            counts: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
        }
    }
}

/// Most "newly limited" log lines per second, over every bucket: a flood from many blocks
/// logs a few lines a second, not one per block.
const LOG_LINES_PER_SECOND: u64 = 10;

impl Limiter {
    /// Adds a worker's tally to the shared counters and clears it (one atomic add per cell used).
    pub fn flush(&self, tally: &mut Tally) {
        for (a, row) in tally.0.iter().enumerate() {
            for (c, n) in row.iter().enumerate() {
                if *n > 0 {
                    self.counts[a][c].fetch_add(*n, Ordering::Relaxed);
                }
            }
        }
        *tally = Tally::default();
    }

    /// Answers counted so far under `action` and `class`.
    pub fn count(&self, action: Action, class: ResponseClass) -> u64 {
        self.counts[action as usize][class as usize].load(Ordering::Relaxed)
    }

    /// Seconds since the limiter was made: the clock buckets are kept in.
    pub fn now(&self) -> u32 {
        self.epoch.elapsed().as_secs() as u32
    }

    /// Whether a "newly limited" line may be logged at second `now`.
    pub fn may_log(&self, now: u32) -> bool {
        let now = u64::from(now);
        let mut cur = self.logged.load(Ordering::Relaxed);
        loop {
            let (second, lines) = (cur >> 32, cur & 0xFFFF_FFFF);
            let next = if second == now {
                if lines >= LOG_LINES_PER_SECOND {
                    return false;
                }
                cur + 1
            } else {
                (now << 32) | 1
            };
            match self
                .logged
                .compare_exchange(cur, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(v) => cur = v,
            }
        }
    }

    /// Counts one answer of `class` under `key` at second `now` and says what to do with it.
    pub fn check(&self, limits: &Rrl, class: ResponseClass, key: u64, now: u32) -> Verdict {
        let rate = limits.rates[class as usize];
        let set = (key as usize) & (ENTRIES - 1) & !(WAYS - 1);
        // Tag 0 marks an empty bucket.
        let tag = ((key >> 44) as u32 & MASK20 as u32).max(1);
        let now = now & MASK20 as u32;
        let ways = &self.table[set..set + WAYS];
        // Up to a few tries under contention; then answer (never limit on a lost race).
        for _ in 0..4 {
            let mut slot = None;
            let mut oldest = (0usize, 0u32);
            for (i, w) in ways.iter().enumerate() {
                let v = w.load(Ordering::Relaxed);
                let b = Bucket::unpack(v);
                if v != 0 && b.tag == tag {
                    slot = Some((i, v, b));
                    break;
                }
                let a = if v == 0 { u32::MAX } else { age(now, b.second) };
                if a >= oldest.1 {
                    oldest = (i, a);
                }
            }
            let (i, old, before) = match slot {
                Some(s) => s,
                None => {
                    // Evict the least recently touched bucket of the set (an empty one first).
                    let i = oldest.0;
                    let v = ways[i].load(Ordering::Relaxed);
                    let fresh = Bucket {
                        tag,
                        second: now,
                        balance: rate.min(MAX_BALANCE as u32) as i32,
                    };
                    (i, v, fresh)
                }
            };
            let after = spend(before.balance, age(now, before.second), rate, limits.window);
            let new = Bucket {
                tag,
                second: now,
                balance: after,
            };
            if ways[i]
                .compare_exchange(old, new.pack(), Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            if after >= 0 {
                return Verdict {
                    action: Action::Send,
                    newly_limited: false,
                };
            }
            // The bucket's last answer was sent: this one starts a limiting episode.
            let recovered = before.balance >= 0;
            let action = match limits.slip {
                0 => Action::Drop,
                n if self
                    .slips
                    .fetch_add(1, Ordering::Relaxed)
                    .is_multiple_of(u64::from(n)) =>
                {
                    Action::Slip
                }
                _ => Action::Drop,
            };
            return Verdict {
                action,
                newly_limited: recovered,
            };
        }
        Verdict {
            action: Action::Send,
            newly_limited: false,
        }
    }
}

/// The per-process key of the table's hash, so nobody outside can aim names at one set.
fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| std::hash::RandomState::new().hash_one(0x5eed_u64))
}

/// The block a client address belongs to: the address cut to the configured prefix.
pub fn block(addr: IpAddr, ipv4_prefix: u8, ipv6_prefix: u8) -> IpAddr {
    let addr = match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    };
    let prefix = if addr.is_ipv4() {
        ipv4_prefix
    } else {
        ipv6_prefix
    };
    crate::policy::subnet::mask(addr, prefix)
}

/// The bucket key of an answer: client block, class, and what the class is keyed by (`name`
/// in lower-cased wire form and `qtype` for answers; the ECS network an answer was tailored
/// to, so resolvers that forward many subnets get a bucket per subnet).
pub fn key(
    block: IpAddr,
    class: ResponseClass,
    name: &[u8],
    qtype: u16,
    tailored_to: Option<(IpAddr, u8)>,
) -> u64 {
    use std::hash::Hasher;
    let mut h = foldhash::fast::FixedState::with_seed(seed()).build_hasher();
    match block {
        IpAddr::V4(a) => h.write(&a.octets()),
        IpAddr::V6(a) => h.write(&a.octets()),
    }
    h.write_u8(class as u8);
    match class {
        ResponseClass::Error => {}
        ResponseClass::Answer => {
            h.write(name);
            h.write_u16(qtype);
        }
        _ => h.write(name),
    }
    if let Some((net, len)) = tailored_to {
        match net {
            IpAddr::V4(a) => h.write(&a.octets()),
            IpAddr::V6(a) => h.write(&a.octets()),
        }
        h.write_u8(len);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rate: u32, slip: u32, window: u32) -> Rrl {
        Rrl {
            enabled: true,
            rates: [rate; 5],
            slip,
            window,
            ipv4_prefix: 24,
            ipv6_prefix: 56,
            exempt: Vec::new(),
            log_only: false,
        }
    }

    #[test]
    fn buckets_pack_and_unpack() {
        for b in [
            Bucket {
                tag: 1,
                second: 0,
                balance: 0,
            },
            Bucket {
                tag: 0xFFFFF,
                second: 0xFFFFF,
                balance: -(MAX_BALANCE as i32),
            },
            Bucket {
                tag: 7,
                second: 123,
                balance: MAX_BALANCE as i32,
            },
        ] {
            assert_eq!(Bucket::unpack(b.pack()), b);
        }
    }

    /// Truth table of the bucket arithmetic: (balance, age, rate, window) → new balance.
    #[test]
    fn spending_refills_per_second_caps_at_rate_and_floors_at_the_window() {
        for (balance, age, rate, window, want) in [
            (5, 0, 5, 15, 4),     // an answer costs one
            (0, 0, 5, 15, -1),    // below zero: limited
            (-1, 1, 5, 15, 3),    // a second later: refilled by rate
            (3, 100, 5, 15, 4),   // never above rate
            (-75, 0, 5, 15, -75), // owes at most window × rate
            (-75, 15, 5, 15, -1), // 15 s of silence pay the debt back to zero
            (-75, 16, 5, 15, 4),  // one more second and it answers again
        ] {
            assert_eq!(
                spend(balance, age, rate, window),
                want,
                "balance={balance} age={age} rate={rate} window={window}"
            );
        }
    }

    #[test]
    fn a_flood_gets_rate_answers_per_second_and_slips_every_nth_limited() {
        let l = Limiter::default();
        let lim = limits(10, 2, 15);
        let k = key(
            "192.0.2.0".parse().unwrap(),
            ResponseClass::Answer,
            b"\x01a\x00",
            1,
            None,
        );
        let mut counts = [0; 3];
        let mut first_limited = Vec::new();
        for i in 0..100 {
            let v = l.check(&lim, ResponseClass::Answer, k, 1000);
            counts[v.action as usize] += 1;
            if v.newly_limited {
                first_limited.push(i);
            }
        }
        assert_eq!(counts, [10, 45, 45], "sent/slipped/dropped");
        assert_eq!(
            first_limited,
            [10],
            "logged once, at the first limited answer"
        );
        // Another key (another name) is a bucket of its own.
        let other = key(
            "192.0.2.0".parse().unwrap(),
            ResponseClass::Answer,
            b"\x01b\x00",
            1,
            None,
        );
        assert_eq!(
            l.check(&lim, ResponseClass::Answer, other, 1000).action,
            Action::Send
        );
        // The flood owes 90; at 10 a second it answers again 10 s later, not before.
        assert_ne!(
            l.check(&lim, ResponseClass::Answer, k, 1009).action,
            Action::Send
        );
        assert_eq!(
            l.check(&lim, ResponseClass::Answer, k, 1020).action,
            Action::Send
        );
    }

    #[test]
    fn slip_zero_drops_every_limited_answer() {
        let l = Limiter::default();
        let lim = limits(1, 0, 15);
        let k = key("::".parse().unwrap(), ResponseClass::Error, b"", 0, None);
        assert_eq!(
            l.check(&lim, ResponseClass::Error, k, 5).action,
            Action::Send
        );
        for _ in 0..10 {
            assert_eq!(
                l.check(&lim, ResponseClass::Error, k, 5).action,
                Action::Drop
            );
        }
    }

    #[test]
    fn log_lines_are_capped_per_second() {
        let l = Limiter::default();
        let allowed = (0..50).filter(|_| l.may_log(7)).count();
        assert_eq!(allowed as u64, LOG_LINES_PER_SECOND);
        assert!(l.may_log(8), "a new second allows lines again");
    }

    #[test]
    fn keys_follow_the_class_rules() {
        let b: IpAddr = "192.0.2.0".parse().unwrap();
        let zone = b"\x07example\x00";
        // Errors are keyed by block alone; answers by name and type.
        assert_eq!(
            key(b, ResponseClass::Error, b"\x01a\x00", 1, None),
            key(b, ResponseClass::Error, b"\x01b\x00", 28, None)
        );
        assert_ne!(
            key(b, ResponseClass::Answer, zone, 1, None),
            key(b, ResponseClass::Answer, zone, 28, None)
        );
        assert_eq!(
            key(b, ResponseClass::NxDomain, zone, 1, None),
            key(b, ResponseClass::NxDomain, zone, 28, None)
        );
        // An answer tailored to one ECS network is another bucket than one for another.
        let n1 = Some(("198.51.100.0".parse().unwrap(), 24));
        let n2 = Some(("203.0.113.0".parse().unwrap(), 24));
        assert_ne!(
            key(b, ResponseClass::Answer, zone, 1, n1),
            key(b, ResponseClass::Answer, zone, 1, n2)
        );
    }

    #[test]
    fn blocks_cut_addresses_to_the_prefix() {
        assert_eq!(
            block("192.0.2.77".parse().unwrap(), 24, 56),
            "192.0.2.0".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            block("2001:db8:1:2ff::1".parse().unwrap(), 24, 56),
            "2001:db8:1:200::".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            block("::ffff:192.0.2.77".parse().unwrap(), 24, 56),
            "192.0.2.0".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_full_set_evicts_its_least_recently_touched_bucket() {
        let l = Limiter::default();
        let lim = limits(1, 0, 15);
        // Five keys in one set (same low bits, different tags): the fifth evicts the oldest.
        let keys: Vec<u64> = (1..=5u64).map(|t| (t << 44) | 8).collect();
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(
                l.check(&lim, ResponseClass::Answer, k, 100 + i as u32)
                    .action,
                Action::Send
            );
        }
        // The first key was evicted: it starts afresh and answers.
        assert_eq!(
            l.check(&lim, ResponseClass::Answer, keys[0], 104).action,
            Action::Send
        );
        // The last is still tracked and owes: limited.
        assert_eq!(
            l.check(&lim, ResponseClass::Answer, keys[4], 104).action,
            Action::Drop
        );
    }
}
