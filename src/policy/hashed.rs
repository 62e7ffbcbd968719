//! `hashed`: a stable endpoint per client network by rendezvous (highest random weight)
//! hashing. Every endpoint scores every client network; the highest scores win. When an
//! endpoint goes away only the networks it won move, and they come back when it returns.
//! Weights bias the scores (weighted rendezvous: score = -weight / ln(u)).

use super::{Chosen, Input, Reason, addr_bytes, stable_hash};

fn score(client: &[u8], prefix: u8, endpoint: &[u8], weight: u32) -> f64 {
    let h = stable_hash(&[client, &[prefix], endpoint]);
    // u in (0, 1): never 0, so ln(u) is finite and negative.
    let u = ((h >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    -(weight as f64) / u.ln()
}

/// Picks the `answers` highest-scoring endpoints for the client network.
pub(crate) fn select(input: &Input<'_>, candidates: &[u16], out: &mut Chosen) -> (u8, Reason) {
    let (cb, cl) = addr_bytes(&input.client.addr);
    let want = input.answers.min(candidates.len());
    while out.len() < want {
        let mut best: Option<(f64, u16)> = None;
        for &i in candidates {
            if out.as_slice().contains(&i) {
                continue;
            }
            let e = &input.b.cfg.endpoints[i as usize];
            let (eb, el) = addr_bytes(&e.address);
            // A CNAME endpoint is known by its target name.
            let key = e.target.as_ref().map_or(&eb[..el], |t| &t.key[..]);
            let s = score(&cb[..cl], input.client.prefix, key, e.weight);
            if best.is_none_or(|(bs, _)| s > bs) {
                best = Some((s, i));
            }
        }
        match best {
            Some((_, i)) => out.push(i),
            None => break,
        }
    }
    (input.client.prefix, Reason::Hashed)
}
