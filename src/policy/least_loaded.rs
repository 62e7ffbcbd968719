//! `least-loaded`: the endpoints reporting the lowest load in their health check response.
//! An endpoint with no load reported yet (or a NaN, which `total_cmp` would sort first when
//! its sign bit is set) sorts last; equal loads rotate.

use super::{Chosen, Input, Reason, with_scratch};

/// Picks the `answers` lowest-load endpoints.
pub(crate) fn select(input: &Input<'_>, candidates: &[u16], out: &mut Chosen) -> (u8, Reason) {
    let load = |i: u16| {
        input
            .health
            .get(i as usize)
            .and_then(|h| h.load)
            .filter(|l| !l.is_nan())
            .unwrap_or(f64::INFINITY)
    };
    let n = candidates.len();
    with_scratch(n, |order| {
        // Start the tie order at the rotation point so equal loads share the traffic.
        let start = if n == 0 {
            0
        } else {
            (input.counter % n as u64) as usize
        };
        for (k, slot) in order.iter_mut().enumerate() {
            *slot = candidates[(start + k) % n];
        }
        order.sort_by(|&a, &b| load(a).total_cmp(&load(b)));
        for &i in order.iter().take(input.answers) {
            out.push(i);
        }
    });
    (0, Reason::LeastLoaded)
}
