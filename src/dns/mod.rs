//! Serving DNS: the per-query handler, the RFC 1034 answer over the zones, balanced answers,
//! and the UDP/TCP listeners.
//!
//! Owns: turning one query and one snapshot into one response, and the sockets that carry them.
//! Must not: load or validate anything (that is `load`), or decide health. The wire format is
//! `wire`, the zone data `zone`; hickory-proto's types appear only in `zone` (loading), so a
//! hickory upgrade touches loading alone.

pub mod balanced;
pub mod handler;
pub mod lookup;
pub mod rrl;
pub mod signed;
pub mod tcp;
pub mod udp;
#[cfg(target_os = "linux")]
pub mod udp_batch;
