//! Every default of `gslb.toml` in one table, named, with its reason. docs/configuration.md
//! lists the same values; validation reads them from here and nowhere else.
//!
//! Owns: the values a key takes when it is absent. Must not: validate anything.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// `[server] listen`: loopback on an unprivileged port, so a first run needs no root and
/// exposes nothing.
pub const LISTEN: SocketAddr = SocketAddr::new(LOOPBACK, 5353);
/// `[admin] listen`: loopback only (a listener elsewhere needs `token_file`).
pub const ADMIN_LISTEN: SocketAddr = SocketAddr::new(LOOPBACK, 8053);
/// `[server] udp_payload_max`: the DNS Flag Day 2020 size, which avoids IP fragmentation on
/// common paths.
pub const UDP_PAYLOAD_MAX: u16 = 1232;
/// The least `udp_payload_max` may be: the classic DNS message size (RFC 1035 §2.3.4).
pub const UDP_PAYLOAD_MIN: u16 = 512;
/// `[server] tcp_idle_timeout`: RFC 7766 §6.2.3 suggests seconds, not minutes, for servers.
pub const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// `[server] tcp_connections_max`.
pub const TCP_CONNECTIONS_MAX: usize = 1024;
/// `[[balance]] ttl`: short, so a failover reaches clients within half a minute.
pub const TTL: u32 = 30;
/// `[[balance]] answers`: one address per answer.
pub const ANSWERS: usize = 1;
/// An endpoint's `weight`.
pub const WEIGHT: u32 = 1;
/// An endpoint's `priority` (failover: lower first).
pub const PRIORITY: u32 = 1;
/// `[checks.X] path` of HTTP(S) checks.
pub const CHECK_PATH: &str = "/";
/// `[checks.X] expect_status`.
pub const EXPECT_STATUS: [u16; 1] = [200];
/// `[checks.X] interval`.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// `[checks.X] timeout`: this, or half the interval when that is shorter, so a probe ends
/// before the next one starts.
pub const CHECK_TIMEOUT: Duration = Duration::from_millis(500);
/// `[checks.X] rise` and `fall`: two results in a row, so one lost packet moves nothing.
pub const RISE_FALL: u32 = 2;
