//! One signed zone's signer: its keys, which of them sign what at a given time, and the
//! per-thread cache of signatures the answer path reads.
//!
//! Owns: choosing the signing keys (KSKs sign the DNSKEY RRset, ZSKs the rest; a zone with
//! keys of one kind signs everything with them), making RRSIGs on a cache miss, the cache
//! (per thread: a query never locks; bounded by `DNSSEC_CACHE_ENTRIES`), and the counters.
//! Must not: read the clock (callers pass `now`), write responses, or decide what is signed.
//!
//! A cached signature is found by its RRset (owner, type, TTL, RDATAs in a fixed order), its
//! window (`time::window`) and the set of keys signing: a new window or a key event makes
//! new signatures, so nothing expired or signed by a retired key is ever served, and a
//! reload (a new `Signer`, a new generation) never serves its predecessor's.

use std::cell::RefCell;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use super::canon::{self, SigHeader};
use super::keys::Key;
use super::time;
use crate::config::defaults;
use crate::wire::rtype;

/// Every `Signer` made gets the next generation, so cache entries of a replaced one never match.
static GENERATION: AtomicU64 = AtomicU64::new(1);

/// An RRset to sign, as ranges of RDATAs in a buffer (so callers keep them in reusable storage).
#[derive(Clone, Copy)]
pub struct Set<'a> {
    /// The owner, lower-cased wire form.
    pub owner: &'a [u8],
    /// Its type.
    pub rtype: u16,
    /// Its TTL.
    pub ttl: u32,
    /// The buffer the RDATAs are in.
    pub base: &'a [u8],
}

/// A signed zone's keys and signing state.
#[derive(Debug)]
pub struct Signer {
    /// The zone's origin, lower-cased wire form (the RRSIG signer name).
    pub origin: Box<[u8]>,
    /// The zone in presentation form, for metrics and logs.
    pub zone: String,
    /// The keys, as read.
    pub keys: Vec<Key>,
    /// Seconds of validity of static RRsets' signatures.
    pub validity: u64,
    /// Seconds of validity of balanced answers' (and their denials') signatures.
    pub balanced_validity: u64,
    /// TTL of the DNSKEY RRset.
    pub dnskey_ttl: u32,
    generation: u64,
    /// Signatures made.
    pub signatures: AtomicU64,
    /// Signatures served from the cache.
    pub hits: AtomicU64,
}

/// One cached RRset's signatures.
struct Entry {
    /// What the entry is for (generation, window, keys, RRset): compared on every hit.
    check: Box<[u8]>,
    /// `(u16 length, RRSIG RDATA)` for each signing key.
    sigs: Box<[u8]>,
}

struct Cache {
    map: std::collections::HashMap<u64, Entry, foldhash::fast::RandomState>,
    /// The check bytes of the RRset being looked up (reused).
    check: Vec<u8>,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache {
        map: Default::default(),
        check: Vec::with_capacity(512),
    });
}

/// Entries a thread's cache holds now (for tests and the memory figure).
pub fn cached_entries() -> usize {
    CACHE.with(|c| c.borrow().map.len())
}

impl Signer {
    /// A signer for `origin` with `keys` (at least one) and validities in seconds.
    pub fn new(origin: &[u8], keys: Vec<Key>, validity: u64, balanced_validity: u64) -> Self {
        let dnskey_ttl = keys
            .iter()
            .find_map(|k| k.ttl)
            .unwrap_or(defaults::DNSSEC_DNSKEY_TTL);
        Signer {
            origin: origin.into(),
            zone: crate::wire::name::display(origin),
            keys,
            validity,
            balanced_validity,
            dnskey_ttl,
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
            signatures: AtomicU64::new(0),
            hits: AtomicU64::new(0),
        }
    }

    /// The keys that sign an RRset of type `t` at `now`, as a bit mask over `keys`: active KSKs
    /// sign the DNSKEY RRset and active ZSKs the rest; with only one kind active, it signs all.
    pub fn signing_keys(&self, t: u16, now: u64) -> u64 {
        let (mut ksk, mut zsk) = (0u64, 0u64);
        for (i, k) in self.keys.iter().enumerate().take(64) {
            if k.timing.active(now) {
                if k.is_ksk() {
                    ksk |= 1 << i;
                } else {
                    zsk |= 1 << i;
                }
            }
        }
        let (first, other) = if t == rtype::DNSKEY {
            (ksk, zsk)
        } else {
            (zsk, ksk)
        };
        if first != 0 { first } else { other }
    }

    /// Whether some key signs at `now` (else answers would be bogus).
    pub fn any_active(&self, now: u64) -> bool {
        self.signing_keys(rtype::A, now) != 0
    }

    /// The DNSKEY RDATAs published at `now`.
    pub fn dnskeys(&self, now: u64) -> impl Iterator<Item = &[u8]> {
        self.keys
            .iter()
            .filter(move |k| k.timing.published(now))
            .map(|k| &k.dnskey[..])
    }

    /// The earliest expiration of a signature served at `now` (Unix seconds).
    pub fn earliest_expiry(&self, now: u64) -> u64 {
        time::window(now, self.validity)
            .expiration
            .min(time::window(now, self.balanced_validity).expiration)
    }

    /// Calls `each` with the RRSIG RDATA of every key signing `set` at `now` (with the short
    /// validity when `balanced`), from the cache or freshly made. `rdatas` are ranges of
    /// `set.base`; their order is changed. False when `each` returned false, or no key
    /// signs, or signing failed: then the caller must not send the answer as signed.
    pub fn rrsigs(
        &self,
        set: Set<'_>,
        rdatas: &mut [(u32, u32)],
        balanced: bool,
        now: u64,
        mut each: impl FnMut(&[u8]) -> bool,
    ) -> bool {
        let mask = self.signing_keys(set.rtype, now);
        if mask == 0 {
            return false;
        }
        let validity = if balanced {
            self.balanced_validity
        } else {
            self.validity
        };
        let window = time::window(now, validity);
        let base = set.base;
        let slice = |&(s, l): &(u32, u32)| &base[s as usize..(s + l) as usize];
        rdatas.sort_unstable_by(|a, b| slice(a).cmp(slice(b)));
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            let c = &mut *c;
            c.check.clear();
            c.check.extend_from_slice(&self.generation.to_be_bytes());
            c.check.extend_from_slice(&window.index.to_be_bytes());
            c.check.extend_from_slice(&validity.to_be_bytes());
            c.check.extend_from_slice(&mask.to_be_bytes());
            c.check.extend_from_slice(set.owner);
            c.check.extend_from_slice(&set.rtype.to_be_bytes());
            c.check.extend_from_slice(&set.ttl.to_be_bytes());
            for r in rdatas.iter() {
                let r = slice(r);
                c.check.extend_from_slice(&(r.len() as u16).to_be_bytes());
                c.check.extend_from_slice(r);
            }
            let key =
                foldhash::fast::FixedState::with_seed(0x5167_6e65_7273).hash_one(&c.check[..]);
            let hit = c.map.get(&key).is_some_and(|e| *e.check == c.check[..]);
            if hit {
                self.hits.fetch_add(1, Ordering::Relaxed);
            } else {
                let Some(sigs) = self.sign(set, rdatas.iter().map(slice), mask, window) else {
                    return false;
                };
                if c.map.len() >= defaults::DNSSEC_CACHE_ENTRIES {
                    c.map.clear();
                }
                c.map.insert(
                    key,
                    Entry {
                        check: c.check.as_slice().into(),
                        sigs,
                    },
                );
            }
            let Some(e) = c.map.get(&key) else {
                return false;
            };
            let mut pos = 0;
            while let Some(len) = e.sigs.get(pos..pos + 2) {
                let len = u16::from_be_bytes([len[0], len[1]]) as usize;
                let Some(rdata) = e.sigs.get(pos + 2..pos + 2 + len) else {
                    return false;
                };
                if !each(rdata) {
                    return false;
                }
                pos += 2 + len;
            }
            true
        })
    }

    /// Signs `set` with every key of `mask` for `window`: `(u16 length, RRSIG RDATA)` each.
    fn sign<'a>(
        &self,
        set: Set<'_>,
        rdatas: impl Iterator<Item = &'a [u8]>,
        mask: u64,
        window: time::Window,
    ) -> Option<Box<[u8]>> {
        let canonical = canon::canonical_set(set.rtype, rdatas);
        let mut out = Vec::new();
        for (i, k) in self.keys.iter().enumerate().take(64) {
            if mask & (1 << i) == 0 {
                continue;
            }
            let header = SigHeader {
                type_covered: set.rtype,
                algorithm: k.algorithm.number(),
                labels: canon::labels(set.owner),
                original_ttl: set.ttl,
                expiration: time::rrsig_time(window.expiration),
                inception: time::rrsig_time(window.inception),
                key_tag: k.tag,
                signer: &self.origin,
            };
            let data = canon::signed_data(&header, set.owner, &canonical);
            let sig = k.sign(&data)?;
            let mut rdata = Vec::with_capacity(18 + self.origin.len() + sig.len());
            header.write(&mut rdata);
            rdata.extend_from_slice(&sig);
            out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            out.extend_from_slice(&rdata);
            self.signatures.fetch_add(1, Ordering::Relaxed);
        }
        Some(out.into_boxed_slice())
    }
}
