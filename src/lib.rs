//! gslb: an authoritative DNS server that is also a global server load balancer.
//!
//! The shape is collect → decide → answer → observe, in layers that only look down:
//! `wire` (the DNS wire format) and `config` at the bottom; `zone` (zone data, loaded from
//! files) and `policy` (pure choices over endpoint `state`); `snapshot` (the immutable data
//! every query reads) and `load` (building it); then `dns` (answering; `dnstap` logs it),
//! `health` (probing and publishing), `admin` (the HTTP API); `control` and `server` wire them
//! together; `process` holds what concerns the OS process. See `docs/architecture.md`.

/// This build's version: the package version and, when built from a git checkout, the commit
/// (`git describe`), as `gslb --version`, the start-up log line and `gslb_build_info` say.
pub const VERSION: &str = env!("GSLB_VERSION");

/// The commit this build was made from (`git describe`), or `unknown`.
pub const COMMIT: &str = env!("GSLB_COMMIT");

pub mod admin;
pub mod changes;
pub mod cluster;
pub mod config;
pub mod control;
pub mod cookie;
pub mod diag;
pub mod dns;
pub mod dnstap;
pub mod drain;
pub mod explain;
pub mod health;
pub mod load;
pub mod metrics;
pub mod net;
pub mod plan;
pub mod policy;
pub mod process;
pub mod reaper;
pub mod server;
pub mod snapshot;
pub mod state;
pub mod views;
pub mod wire;
pub mod zone;
