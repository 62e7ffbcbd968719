//! The DNS side: wire format, zones, lookup, the per-query handler and the listeners.
//!
//! hickory-proto's types appear only in `zone` and `zonefile` (loading); the answer path works
//! on bytes so a hickory upgrade touches loading alone.

pub mod handler;
pub mod lookup;
pub mod name;
pub mod tcp;
pub mod udp;
#[cfg(target_os = "linux")]
pub mod udp_batch;
pub mod wire;
pub mod zone;
pub mod zonefile;
