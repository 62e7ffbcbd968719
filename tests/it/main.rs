//! The integration tests, as one binary (it compiles and links once): each module is an area
//! of gslb exercised over real UDP/TCP sockets on 127.0.0.x, real HTTP backends, the admin API
//! and the real `gslb` binary; `harness` is what they share.

// Test code: an unwrap that fails is a failed test, with its message.
#![allow(clippy::unwrap_used)]

mod harness;

mod admin;
mod balance;
mod binary;
mod cluster;
mod cookies;
mod dns_authoritative;
mod dns_edns_tcp;
mod dnssec;
mod dnstap;
mod e2e_delegation;
mod fuzz_regressions;
mod health;
mod health_timing;
mod health_tls;
mod health_votes;
mod limits;
mod local_errors;
mod readme;
mod reload_safety;
mod reload_under_queries;
mod routing;
mod rrl;
mod status_page;
mod udp_source;
mod zone_differential;
