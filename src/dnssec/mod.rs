//! DNSSEC online signing (docs/dnssec.md): key files, the bytes signatures cover, the
//! quantized validity windows, compact denial, and each signed zone's `Signer` with its
//! per-thread signature cache.
//!
//! Owns: everything cryptographic and every DNSSEC rule that is not about where records go in
//! a response (that is `dns::signed`). Must not: read the clock on its own (callers pass
//! `now`), lock or block on the answer path, or know gslb.toml's syntax.

pub mod canon;
pub mod cli;
pub mod denial;
pub mod keys;
pub mod signer;
pub mod time;

pub use keys::{Algorithm, Key, KeyError};
pub use signer::{Set, Signer};
