//! `weighted`: endpoints in proportion to their weight.
//!
//! Each answer is a fresh weighted draw (without replacement when `answers` > 1), so even with
//! `answers = 1` and resolvers that reorder lists, the shares follow the weights.

use super::{Chosen, Input, Reason, stable_hash};

/// Picks up to `answers` endpoints, each with probability proportional to its weight among
/// those not yet picked.
pub(crate) fn select(input: &Input<'_>, candidates: &[u16], out: &mut Chosen) -> (u8, Reason) {
    let w = |i: u16| input.b.cfg.endpoints[i as usize].weight as u64;
    let mut total: u64 = candidates.iter().map(|&i| w(i)).sum();
    let mut draw = input.random;
    let want = input.answers.min(candidates.len());
    while out.len() < want && total > 0 {
        let mut r = draw % total;
        for &i in candidates {
            if out.as_slice().contains(&i) {
                continue;
            }
            if r < w(i) {
                out.push(i);
                total -= w(i);
                break;
            }
            r -= w(i);
        }
        draw = stable_hash(&[&draw.to_le_bytes()]);
    }
    (0, Reason::Weighted)
}
