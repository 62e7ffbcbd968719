//! `least-loaded`: the endpoints reporting the lowest load in their health check response.
//! An endpoint with no load reported yet (or a NaN, which `total_cmp` would sort first when
//! its sign bit is set) sorts last; equal loads rotate.

use super::{Chosen, Input, MAX_ENDPOINTS, Reason};

/// Picks the `answers` lowest-load endpoints.
pub fn select(inp: &Input<'_>, cands: &[u16], out: &mut Chosen) -> (u8, Reason) {
    let load = |i: u16| {
        inp.health
            .get(i as usize)
            .and_then(|h| h.load)
            .filter(|l| !l.is_nan())
            .unwrap_or(f64::INFINITY)
    };
    let mut order = [0u16; MAX_ENDPOINTS];
    let n = cands.len();
    // Start the tie order at the rotation point so equal loads share the traffic.
    let start = if n == 0 {
        0
    } else {
        (inp.counter % n as u64) as usize
    };
    for k in 0..n {
        order[k] = cands[(start + k) % n];
    }
    order[..n].sort_by(|&a, &b| load(a).total_cmp(&load(b)));
    for &i in order[..n].iter().take(inp.answers) {
        out.push(i);
    }
    (0, Reason::LeastLoaded)
}
