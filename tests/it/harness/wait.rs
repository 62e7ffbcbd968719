//! Waiting, the one way: [`eventually`] (and [`eventually_async`] for conditions that need
//! `.await`) polls a condition until it holds or a deadline passes, and on timeout panics with
//! what it waited for and the last value it observed. [`wait_for`] is the same loop without the
//! panic, for callers that have something to do on timeout (kill a process). [`pass`] lets
//! virtual time pass on a paused clock.
//!
//! A condition returns `Ok(value)` when it holds and `Err(observed)` when not yet; [`seen`]
//! turns an observation and a predicate into that.

use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

/// How often a condition is polled.
const POLL: Duration = Duration::from_millis(10);

/// `Ok(v)` when `v` satisfies `ok`, `Err(v)` otherwise: an observation for [`eventually`].
pub(crate) fn seen<T>(v: T, ok: impl FnOnce(&T) -> bool) -> Result<T, T> {
    if ok(&v) { Ok(v) } else { Err(v) }
}

/// Polls `f` until it returns `Ok`, for at most `within`: the value, or the last `Err`.
pub(crate) fn wait_for<T, E>(
    within: Duration,
    mut f: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let deadline = Instant::now() + within;
    loop {
        match f() {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// Polls `f` until it returns `Ok` and returns its value; after `within`, panics with `what`
/// and the last value observed.
#[track_caller]
pub(crate) fn eventually<T, E: Debug>(
    within: Duration,
    what: &str,
    f: impl FnMut() -> Result<T, E>,
) -> T {
    wait_for(within, f).unwrap_or_else(|last| timed_out(within, what, &last))
}

/// [`eventually`] for a condition that is a future.
pub(crate) async fn eventually_async<T, E: Debug, F, Fut>(
    within: Duration,
    what: &str,
    mut f: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = Instant::now() + within;
    loop {
        match f().await {
            Ok(v) => return v,
            Err(e) if Instant::now() >= deadline => timed_out(within, what, &e),
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}

#[track_caller]
fn timed_out(within: Duration, what: &str, last: &dyn Debug) -> ! {
    panic!("timed out after {within:?} waiting for {what}; last observed: {last:?}")
}

/// Lets `d` of virtual time pass on a paused tokio clock (`start_paused = true`): every timer
/// due in it fires, and every task it wakes runs, in order, before this returns (a paused clock
/// only moves when the runtime is idle). Panics if the clock is not paused, so it can never be
/// a wall-clock wait.
pub(crate) async fn pass(d: Duration) {
    // `advance` panics with "time is not frozen" on a running clock.
    tokio::time::advance(Duration::ZERO).await;
    tokio::time::sleep(d).await;
}
