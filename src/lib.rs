//! gslb: an authoritative DNS server that is also a global server load balancer.
//!
//! The shape is collect → decide → answer → observe: `config` and `dns::zonefile` collect,
//! `policy` decides over a health snapshot, `dns` answers from one immutable `snapshot` per
//! query, `metrics` observes. See `docs/architecture.md`.

pub mod admin;
pub mod config;
pub mod diag;
pub mod dns;
pub mod explain;
pub mod health;
pub mod metrics;
pub mod policy;
pub mod server;
pub mod snapshot;
