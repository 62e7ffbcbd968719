//! The policies that ignore the client: round robin, all, and failover by priority group.
//!
//! Each rotates its candidates with the per-name counter, so successive answers start at a
//! different endpoint and resolvers that keep the first address still spread the load.

use super::{Chosen, Input, Reason, by_priority, rotate};

/// `round-robin`: the next `answers` endpoints in rotation.
pub(crate) fn round_robin(input: &Input<'_>, candidates: &[u16], out: &mut Chosen) -> (u8, Reason) {
    rotate(input, candidates, out);
    (0, Reason::Rotation)
}

/// `all`: every endpoint that is up, up to `answers`, rotated.
pub(crate) fn all(input: &Input<'_>, candidates: &[u16], out: &mut Chosen) -> (u8, Reason) {
    rotate(input, candidates, out);
    (0, Reason::Rotation)
}

/// `failover`: the lowest priority group that has an endpoint up, rotating inside it.
pub(crate) fn failover(input: &Input<'_>, candidates: &[u16], out: &mut Chosen) -> (u8, Reason) {
    let p = by_priority(input, candidates, out);
    (0, Reason::Priority(p))
}
