//! `geo`: the endpoints of the data center whose `networks` hold the client (longest prefix
//! wins); when none matches, or the matching one has nothing up, the lowest priority group.
//! The scope is that of the network that decided, lengthened until it holds no nested network
//! of another data center, so a resolver never reuses the answer for a client it does not fit.

use super::{Chosen, Input, Reason, by_priority, rotate_where};

/// Picks by client network; the scope is the matched network's prefix length, or longer when
/// networks nest inside it.
pub(crate) fn select(input: &Input<'_>, candidates: &[u16], out: &mut Chosen) -> (u8, Reason) {
    let subnets = &input.b.subnets;
    if let Some((dc, prefix)) = subnets.lookup(input.client.addr) {
        let in_dc = |i: u16| input.b.cfg.endpoints[i as usize].datacenter == *dc;
        if rotate_where(input, candidates, in_dc, out) > 0 {
            return (
                subnets.scope(input.client.addr, prefix),
                Reason::GeoMatch(*dc),
            );
        }
    }
    let p = by_priority(input, candidates, out);
    // The answer holds for the client network as the resolver sent it, less any network inside.
    (
        subnets.scope(input.client.addr, input.client.prefix),
        Reason::ByPriority(p),
    )
}
