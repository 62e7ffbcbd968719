//! Where superseded snapshots are freed: off the answer path, once nobody else holds them.
//!
//! Owns: one background thread (started on first use) that holds every `Arc` handed to it
//! until it is the last holder, then drops it and returns the freed pages to the system.
//! Freeing a 1,000,000-record zone takes about 100 ms; without this, whichever UDP worker or
//! TCP task happened to drop the last reference would do it inside its loop, and the queries
//! behind it would wait. Must not: know what it frees, or be waited on by anyone.

use std::any::Any;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How often the reaper looks again at what it holds while others still hold it too: readers
/// keep a snapshot for one batch or one query, far less than this.
const POLL: Duration = Duration::from_millis(20);

/// Something held, and whether freeing it is worth handing pages back to the system (a
/// replaced configuration and its zones), which costs a walk of the heap: not after a health
/// publication, which frees a few chunks and may come hundreds of times a second.
type Held = (Arc<dyn Any + Send + Sync>, bool);

static REAPER: OnceLock<Option<Sender<Held>>> = OnceLock::new();

/// Hands `old` to the reaper: it is dropped on the reaper's thread once no one else holds it.
/// Called by whoever replaces a snapshot (the health publisher, for every snapshot it swaps
/// out). If the thread could not be started, `old` is dropped here, as it would have been.
pub fn keep<T: Send + Sync + 'static>(old: Arc<T>, trim: bool) {
    let reaper = REAPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        match std::thread::Builder::new()
            .name("gslb-reaper".into())
            .spawn(move || run(rx))
        {
            Ok(_) => Some(tx),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the reaper thread; old snapshots are freed where they are dropped");
                None
            }
        }
    });
    if let Some(tx) = reaper {
        // The thread never ends while the process runs, so the send only fails if it panicked:
        // then `old` comes back and is dropped here.
        let _ = tx.send((old, trim));
    }
}

fn run(rx: Receiver<Held>) {
    let mut held: Vec<Held> = Vec::new();
    loop {
        let next = if held.is_empty() {
            rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            rx.recv_timeout(POLL)
        };
        match next {
            Ok(old) => held.push(old),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if release(&mut held) {
            crate::process::release_freed_memory();
        }
    }
}

/// Drops what only `held` still holds; repeated, since dropping a snapshot can leave the
/// reaper the last holder of something else it holds (the `Served` a snapshot shared).
/// Whether something dropped asked for the pages to be handed back.
fn release(held: &mut Vec<Held>) -> bool {
    let mut trim = false;
    loop {
        let n = held.len();
        held.retain(|(a, t)| {
            let keep = Arc::strong_count(a) > 1;
            trim |= !keep && *t;
            keep
        });
        if held.len() == n {
            return trim;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the thread it is dropped on.
    struct Probe(std::sync::mpsc::Sender<String>);

    impl Drop for Probe {
        fn drop(&mut self) {
            let name = std::thread::current().name().unwrap_or("").to_string();
            let _ = self.0.send(name);
        }
    }

    #[test]
    fn the_last_reference_is_dropped_on_the_reaper_thread() {
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Probe(tx));
        let reader = shared.clone();
        keep(shared, true);
        // Still held by a reader: not dropped.
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
        // The reader lets go (as a worker at the end of its batch): it does not free it.
        drop(reader);
        let dropped_on = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(dropped_on, "gslb-reaper");
    }

    #[test]
    fn what_a_held_snapshot_shares_waits_for_it() {
        let (tx, rx) = mpsc::channel();
        let served = Arc::new(Probe(tx));
        let snapshot = Arc::new(served.clone());
        let mut held: Vec<Held> = vec![(served, true), (snapshot.clone(), false)];
        assert!(!release(&mut held));
        drop(snapshot);
        // The snapshot goes first, then what only it shared with the reaper, which asks for a
        // trim.
        assert!(release(&mut held));
        assert!(held.is_empty());
        assert!(rx.try_recv().is_ok());
    }

    #[test]
    fn only_what_asks_for_it_is_trimmed_after() {
        let mut held: Vec<Held> = vec![(Arc::new(1u8), false)];
        assert!(!release(&mut held), "a health publication's table: no trim");
        assert!(held.is_empty());
    }
}
