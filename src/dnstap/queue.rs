//! The bounded, preallocated queue between the answer path and the dnstap writer: a ring of
//! fixed-size slots with a sequence number each (D. Vyukov's bounded MPMC queue), so any number
//! of UDP workers and TCP tasks push and the one writer pops without a lock.
//!
//! Owns: the slots and the atomics that hand them over. Must not: allocate after `new`, block,
//! or wait: a push that finds the ring full fails at once (the caller counts the drop).

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fixed-capacity ring of `slots` messages of at most `bytes` bytes each, plus a `T` of
/// metadata per message.
pub(crate) struct Ring<T: Copy> {
    mask: usize,
    bytes: usize,
    /// The next position a producer claims.
    head: Padded<AtomicUsize>,
    /// The next position the consumer takes.
    tail: Padded<AtomicUsize>,
    seqs: Box<[Padded<AtomicUsize>]>,
    meta: Box<[UnsafeCell<Option<T>>]>,
    lens: Box<[UnsafeCell<usize>]>,
    /// `slots * bytes` bytes, slot `i` at `i * bytes`.
    data: *mut [u8],
}

/// Keeps the atomics producers and the consumer write on cache lines of their own.
#[repr(align(64))]
struct Padded<A>(A);

// SAFETY: a slot's metadata, length and bytes are written only by the producer that claimed its
// position (its sequence equals the position) and read only by the consumer after the
// producer's release store of position + 1; the sequence numbers order every hand-over.
unsafe impl<T: Copy + Send> Send for Ring<T> {}
// SAFETY: as above.
unsafe impl<T: Copy + Send> Sync for Ring<T> {}

impl<T: Copy> Ring<T> {
    /// A ring of `slots` (rounded up to a power of two) messages of at most `bytes` bytes. The
    /// bytes are zeroed memory the allocator maps lazily: pages cost memory once used.
    pub(crate) fn new(slots: usize, bytes: usize) -> Ring<T> {
        let slots = slots.max(2).next_power_of_two();
        let data = Box::into_raw(vec![0u8; slots * bytes].into_boxed_slice());
        Ring {
            mask: slots - 1,
            bytes,
            head: Padded(AtomicUsize::new(0)),
            tail: Padded(AtomicUsize::new(0)),
            seqs: (0..slots).map(|i| Padded(AtomicUsize::new(i))).collect(),
            meta: (0..slots).map(|_| UnsafeCell::new(None)).collect(),
            lens: (0..slots).map(|_| UnsafeCell::new(0)).collect(),
            data,
        }
    }

    /// The largest message a slot holds.
    pub(crate) fn slot_bytes(&self) -> usize {
        self.bytes
    }

    /// Slots in the ring.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.mask + 1
    }

    fn slot_ptr(&self, i: usize) -> *mut u8 {
        // In bounds: i <= mask, and the buffer holds (mask + 1) * bytes.
        self.data.cast::<u8>().wrapping_add(i * self.bytes)
    }

    /// Copies `meta` and `msg` into a free slot: `Some(position)` (the caller may use it to pace
    /// wake-ups), or `None` when the ring is full or `msg` is longer than a slot. Never waits.
    pub(crate) fn push(&self, meta: T, msg: &[u8]) -> Option<usize> {
        if msg.len() > self.bytes {
            return None;
        }
        let mut pos = self.head.0.load(Ordering::Relaxed);
        let i = loop {
            let i = pos & self.mask;
            let seq = self.seqs[i].0.load(Ordering::Acquire);
            let diff = seq as isize - pos as isize;
            if diff == 0 {
                match self.head.0.compare_exchange_weak(
                    pos,
                    pos.wrapping_add(1),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => break i,
                    Err(now) => pos = now,
                }
            } else if diff < 0 {
                // The slot still holds the message of one lap ago: full.
                return None;
            } else {
                pos = self.head.0.load(Ordering::Relaxed);
            }
        };
        // SAFETY: position `pos` is ours alone (the CAS above); the consumer does not touch slot
        // `i` until the release store below; `msg.len() <= bytes` keeps the copy in the slot.
        unsafe {
            *self.meta[i].get() = Some(meta);
            *self.lens[i].get() = msg.len();
            std::ptr::copy_nonoverlapping(msg.as_ptr(), self.slot_ptr(i), msg.len());
        }
        self.seqs[i].0.store(pos.wrapping_add(1), Ordering::Release);
        Some(pos)
    }

    /// Hands the oldest message to `f` and frees its slot; `None` when the ring is empty (or
    /// the oldest slot is still being written). Only one thread may pop.
    pub(crate) fn pop<R>(&self, f: impl FnOnce(T, &[u8]) -> R) -> Option<R> {
        let pos = self.tail.0.load(Ordering::Relaxed);
        let i = pos & self.mask;
        let seq = self.seqs[i].0.load(Ordering::Acquire);
        if seq != pos.wrapping_add(1) {
            return None;
        }
        // SAFETY: the producer of `pos` finished (its release store, acquired above) and no
        // producer reuses slot `i` before the release store below; one consumer only.
        let r = unsafe {
            let meta = (*self.meta[i].get())?;
            let len = *self.lens[i].get();
            f(meta, std::slice::from_raw_parts(self.slot_ptr(i), len))
        };
        self.tail.0.store(pos.wrapping_add(1), Ordering::Relaxed);
        self.seqs[i]
            .0
            .store(pos.wrapping_add(self.mask + 1), Ordering::Release);
        Some(r)
    }
}

impl<T: Copy> Drop for Ring<T> {
    fn drop(&mut self) {
        // SAFETY: `data` came from Box::into_raw in `new` and is freed once, here.
        drop(unsafe { Box::from_raw(self.data) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn pops_in_order_and_refuses_when_full() {
        let r: Ring<u32> = Ring::new(4, 8);
        assert_eq!(r.capacity(), 4);
        for n in 0..4u32 {
            assert!(r.push(n, &n.to_be_bytes()).is_some());
        }
        assert_eq!(r.push(9, b"x"), None, "full");
        assert_eq!(r.pop(|m, b| (m, b.to_vec())), Some((0, vec![0, 0, 0, 0])));
        assert!(r.push(4, b"four").is_some(), "a popped slot is free again");
        let got: Vec<u32> = std::iter::from_fn(|| r.pop(|m, _| m)).collect();
        assert_eq!(got, vec![1, 2, 3, 4]);
        assert_eq!(r.pop(|m, _| m), None, "empty");
    }

    #[test]
    fn a_message_longer_than_a_slot_is_refused_whole() {
        let r: Ring<()> = Ring::new(2, 4);
        assert_eq!(r.push((), b"12345"), None);
        assert!(r.push((), b"1234").is_some());
        assert_eq!(r.pop(|_, b| b.len()), Some(4));
    }

    #[test]
    fn many_producers_lose_nothing_they_were_told_was_queued() {
        let r: Arc<Ring<(u8, u32)>> = Arc::new(Ring::new(64, 16));
        let producers: Vec<_> = (0..4u8)
            .map(|p| {
                let r = r.clone();
                std::thread::spawn(move || {
                    let mut queued = 0u32;
                    for n in 0..20_000u32 {
                        let mut msg = [p; 16];
                        msg[..4].copy_from_slice(&n.to_be_bytes());
                        if r.push((p, n), &msg[..4 + usize::from(p)]).is_some() {
                            queued += 1;
                        }
                    }
                    queued
                })
            })
            .collect();
        let mut seen = [0u32; 4];
        let mut last = [None::<u32>; 4];
        let mut check = |(p, n): (u8, u32), b: &[u8]| {
            assert_eq!(b.len(), 4 + usize::from(p), "length kept");
            assert_eq!(&b[..4], &n.to_be_bytes(), "bytes kept");
            assert!(b[4..].iter().all(|&x| x == p));
            assert!(last[p as usize] < Some(n), "one producer's order kept");
            last[p as usize] = Some(n);
            seen[p as usize] += 1;
        };
        while !producers.iter().all(|h| h.is_finished()) {
            r.pop(&mut check);
        }
        while r.pop(&mut check).is_some() {}
        let queued: Vec<u32> = producers.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(seen.to_vec(), queued);
    }
}
