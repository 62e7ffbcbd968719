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
use std::sync::Arc;
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
    /// Static RRsets signed at load for the window then current (read by every thread).
    presigned: std::collections::HashMap<u64, Entry, foldhash::fast::RandomState>,
    /// What it counted, shared with the signers of the same zone before and after reloads.
    pub counters: Arc<Counters>,
}

/// A signed zone's counters (relaxed atomics, read by `/metrics`). A reload hands the running
/// zone's to its new signer, so they only grow while the zone is served.
#[derive(Debug, Default)]
pub struct Counters {
    /// Signatures made.
    pub signatures: AtomicU64,
    /// RRsets whose signatures came from the cache.
    pub hits: AtomicU64,
}

/// One cached RRset's signatures.
#[derive(Debug)]
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
    /// A signer for `origin` with `keys` (at least one) and validities in seconds, counting
    /// into `counters`.
    pub fn new(
        origin: &[u8],
        keys: Vec<Key>,
        validity: u64,
        balanced_validity: u64,
        counters: Arc<Counters>,
    ) -> Self {
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
            presigned: Default::default(),
            counters,
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
        let Some((mask, window)) = self.prepare(set, rdatas, balanced, now) else {
            return false;
        };
        let base = set.base;
        let slice = |&(s, l): &(u32, u32)| &base[s as usize..(s + l) as usize];
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            let c = &mut *c;
            let key = self.check(&mut c.check, set, rdatas, window, mask);
            let served = |e: &Entry, each: &mut dyn FnMut(&[u8]) -> bool| {
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
            };
            // Signed when the zone was loaded (static RRsets, this window and key set)?
            if let Some(e) = self.presigned.get(&key).filter(|e| *e.check == c.check[..]) {
                self.counters.hits.fetch_add(1, Ordering::Relaxed);
                return served(e, &mut each);
            }
            let hit = c.map.get(&key).is_some_and(|e| *e.check == c.check[..]);
            if hit {
                self.counters.hits.fetch_add(1, Ordering::Relaxed);
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
            c.map.get(&key).is_some_and(|e| served(e, &mut each))
        })
    }

    /// The keys and window signing `set` at `now`, its RDATA ranges sorted (a fixed order for
    /// the cache). None when no key signs.
    fn prepare(
        &self,
        set: Set<'_>,
        rdatas: &mut [(u32, u32)],
        balanced: bool,
        now: u64,
    ) -> Option<(u64, time::Window)> {
        let mask = self.signing_keys(set.rtype, now);
        if mask == 0 {
            return None;
        }
        let validity = if balanced {
            self.balanced_validity
        } else {
            self.validity
        };
        let base = set.base;
        let slice = |&(s, l): &(u32, u32)| &base[s as usize..(s + l) as usize];
        rdatas.sort_unstable_by(|a, b| slice(a).cmp(slice(b)));
        Some((mask, time::window(now, validity)))
    }

    /// Writes what a cache entry for `set` is checked against into `out`; returns its key.
    fn check(
        &self,
        out: &mut Vec<u8>,
        set: Set<'_>,
        rdatas: &[(u32, u32)],
        window: time::Window,
        mask: u64,
    ) -> u64 {
        out.clear();
        out.extend_from_slice(&self.generation.to_be_bytes());
        out.extend_from_slice(&window.index.to_be_bytes());
        out.extend_from_slice(&(window.expiration - window.inception).to_be_bytes());
        out.extend_from_slice(&mask.to_be_bytes());
        out.extend_from_slice(set.owner);
        out.extend_from_slice(&set.rtype.to_be_bytes());
        out.extend_from_slice(&set.ttl.to_be_bytes());
        for &(s, l) in rdatas {
            let r = &set.base[s as usize..(s + l) as usize];
            out.extend_from_slice(&(r.len() as u16).to_be_bytes());
            out.extend_from_slice(r);
        }
        foldhash::fast::FixedState::with_seed(0x5167_6e65_7273).hash_one(&out[..])
    }

    /// Signs a static RRset for the window of `now` while the zone is loaded, off the answer
    /// path, into the table every thread reads before its own cache. False when no key signs
    /// or signing failed.
    pub fn presign(&mut self, set: Set<'_>, rdatas: &mut [(u32, u32)], now: u64) -> bool {
        let Some((mask, window)) = self.prepare(set, rdatas, false, now) else {
            return false;
        };
        let mut check = Vec::new();
        let key = self.check(&mut check, set, rdatas, window, mask);
        let base = set.base;
        let slice = |&(s, l): &(u32, u32)| &base[s as usize..(s + l) as usize];
        let Some(sigs) = self.sign(set, rdatas.iter().map(slice), mask, window) else {
            return false;
        };
        self.presigned.insert(
            key,
            Entry {
                check: check.into_boxed_slice(),
                sigs,
            },
        );
        true
    }

    /// RRsets signed when the zone was loaded.
    pub fn presigned(&self) -> usize {
        self.presigned.len()
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
            self.counters.signatures.fetch_add(1, Ordering::Relaxed);
        }
        Some(out.into_boxed_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dnssec::keys::{self, Algorithm};

    const ORIGIN: &[u8] = b"\x04gslb\x07example\x03com\x00";

    fn key(dir: &std::path::Path, ksk: bool) -> Key {
        let p = keys::generate(
            "gslb.example.com",
            dir,
            Algorithm::EcdsaP256Sha256,
            ksk,
            1000,
        )
        .unwrap();
        keys::read(&p, ORIGIN).unwrap()
    }

    /// Collects the RRSIG RDATAs for an A RRset at `now`.
    fn sigs(s: &Signer, t: u16, now: u64) -> Vec<Vec<u8>> {
        let base = [192, 0, 2, 1, 192, 0, 2, 2];
        let mut ranges = [(4, 4), (0, 4)];
        let set = Set {
            owner: b"\x03www\x04gslb\x07example\x03com\x00",
            rtype: t,
            ttl: 60,
            base: &base,
        };
        let mut out = Vec::new();
        assert!(s.rrsigs(set, &mut ranges, false, now, |r| {
            out.push(r.to_vec());
            true
        }));
        out
    }

    fn tag_of(rrsig: &[u8]) -> u16 {
        u16::from_be_bytes([rrsig[16], rrsig[17]])
    }

    #[test]
    fn ksks_sign_the_dnskey_set_zsks_the_rest_and_timing_moves_without_a_reload() {
        let d = tempfile::tempdir().unwrap();
        let (ksk, mut zsk1, mut zsk2) = (
            key(d.path(), true),
            key(d.path(), false),
            key(d.path(), false),
        );
        // A ZSK rollover on the fake clock: zsk1 retires at 5000, zsk2 signs from then on
        // (published from 2000), and zsk1 leaves the DNSKEY RRset at 9000.
        zsk1.timing.inactive = Some(5000);
        zsk1.timing.delete = Some(9000);
        zsk2.timing.publish = Some(2000);
        zsk2.timing.activate = Some(5000);
        let tags = (ksk.tag, zsk1.tag, zsk2.tag);
        let s = Signer::new(ORIGIN, vec![ksk, zsk1, zsk2], 86_400, 7200, Arc::default());
        assert_eq!(
            sigs(&s, rtype::DNSKEY, 1500)
                .iter()
                .map(|r| tag_of(r))
                .collect::<Vec<_>>(),
            [tags.0]
        );
        assert_eq!(
            sigs(&s, rtype::A, 1500)
                .iter()
                .map(|r| tag_of(r))
                .collect::<Vec<_>>(),
            [tags.1]
        );
        assert_eq!(s.dnskeys(1500).count(), 2, "zsk2 not yet published");
        assert_eq!(s.dnskeys(2000).count(), 3);
        assert_eq!(
            sigs(&s, rtype::A, 5000)
                .iter()
                .map(|r| tag_of(r))
                .collect::<Vec<_>>(),
            [tags.2]
        );
        assert_eq!(s.dnskeys(9000).count(), 2, "zsk1 deleted");
        // A KSK alone (a combined key) signs everything.
        let alone = Signer::new(
            ORIGIN,
            vec![key(d.path(), true)],
            86_400,
            7200,
            Arc::default(),
        );
        assert_eq!(sigs(&alone, rtype::A, 1500).len(), 1);
        assert!(!alone.any_active(999), "before Activate nothing signs");
    }

    #[test]
    fn presigned_rrsets_are_served_without_signing_until_their_window_passes() {
        let d = tempfile::tempdir().unwrap();
        let mut s = Signer::new(
            ORIGIN,
            vec![key(d.path(), true)],
            86_400,
            7200,
            Arc::default(),
        );
        let base = [192, 0, 2, 2, 192, 0, 2, 1];
        let set = Set {
            owner: b"\x03www\x04gslb\x07example\x03com\x00",
            rtype: rtype::A,
            ttl: 60,
            base: &base,
        };
        let t0 = 1_796_185_800;
        assert!(s.presign(set, &mut [(0, 4), (4, 4)], t0));
        assert_eq!(s.counters.signatures.load(Ordering::Relaxed), 1);
        let before = cached_entries();
        // The answer path's order differs; the same signature comes back, from the table.
        assert_eq!(sigs(&s, rtype::A, t0 + 60).len(), 1);
        assert_eq!(s.counters.signatures.load(Ordering::Relaxed), 1);
        assert_eq!(s.counters.hits.load(Ordering::Relaxed), 1);
        assert_eq!(
            cached_entries(),
            before,
            "nothing added to the thread's cache"
        );
        // A later window signs anew.
        sigs(&s, rtype::A, t0 + 86_400);
        assert_eq!(s.counters.signatures.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn signatures_are_cached_within_a_window_and_remade_before_they_expire() {
        let d = tempfile::tempdir().unwrap();
        let k = key(d.path(), true);
        let public = k.dnskey[4..].to_vec();
        let s = Signer::new(ORIGIN, vec![k], 86_400, 7200, Arc::default());
        let t0 = 1_796_185_800;
        let a = sigs(&s, rtype::A, t0);
        let b = sigs(&s, rtype::A, t0 + 1);
        assert_eq!(a, b, "the same signature serves the whole window");
        assert_eq!(s.counters.signatures.load(Ordering::Relaxed), 1);
        assert_eq!(s.counters.hits.load(Ordering::Relaxed), 1);
        let field = |r: &[u8], at: usize| {
            u32::from_be_bytes([r[at], r[at + 1], r[at + 2], r[at + 3]]) as u64
        };
        let mut now = t0;
        let mut last = a[0].clone();
        // Over two validities, what is served is never expired and never has less than
        // three quarters of its validity left; new windows bring new signatures.
        while now < t0 + 2 * 86_400 {
            let r = sigs(&s, rtype::A, now).remove(0);
            let (exp, inc) = (field(&r, 8), field(&r, 12));
            assert!(
                inc <= now && exp >= now + 86_400 * 3 / 4,
                "{now}: {inc}..{exp}"
            );
            if r != last {
                assert!(field(&r, 8) > field(&last, 8));
                last = r;
            }
            now += 3001;
        }
        assert!(s.counters.signatures.load(Ordering::Relaxed) >= 8);
        // The signature verifies over our signed data with the DNSKEY's public key.
        let r = &a[0];
        let header_len = 18 + ORIGIN.len();
        let header = canon::SigHeader {
            type_covered: rtype::A,
            algorithm: r[2],
            labels: r[3],
            original_ttl: 60,
            expiration: field(r, 8) as u32,
            inception: field(r, 12) as u32,
            key_tag: tag_of(r),
            signer: ORIGIN,
        };
        let set = canon::canonical_set(
            rtype::A,
            [&[192u8, 0, 2, 2][..], &[192, 0, 2, 1]].into_iter(),
        );
        let data = canon::signed_data(&header, b"\x03www\x04gslb\x07example\x03com\x00", &set);
        assert_eq!(&data[..header_len], &r[..header_len]);
        let mut point = vec![4];
        point.extend_from_slice(&public);
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, &point)
            .verify(&data, &r[header_len..])
            .unwrap();
    }
}
