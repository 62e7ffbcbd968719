//! Every default of `gslb.toml` in one table, named, with its reason. docs/configuration.md
//! lists the same values; validation reads them from here and nowhere else.
//!
//! Owns: the values a key takes when it is absent. Must not: validate anything.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;
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
/// Most addresses one answer carries (the config's `answers` is capped to this).
pub const MAX_ANSWERS: usize = 64;
/// Most endpoints one balanced name may list.
pub const MAX_ENDPOINTS: usize = 1024;
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
/// `[server] tcp_connections_per_client`: enough for a resolver's pipelined connections,
/// far below `tcp_connections_max`, so one client cannot fill the table.
pub const TCP_CONNECTIONS_PER_CLIENT: usize = 32;
/// `[server] tcp_io_timeout`: a query or answer of at most 64 KiB takes milliseconds; a client
/// that needs seconds is stalling (RFC 9210 §4).
pub const TCP_IO_TIMEOUT: Duration = Duration::from_secs(2);
/// `[admin] connections_max`.
pub const ADMIN_CONNECTIONS_MAX: usize = 256;
/// `[admin] request_timeout`.
pub const ADMIN_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// `[rrl]` rates per second, in `ResponseClass::ALL` order (answer, nxdomain, nodata,
/// referral, error): BIND's and Knot's order of magnitude. A resolver asks for one name and
/// type a few times a second at most (it caches for the TTL); a flood asks thousands of times.
pub const RRL_RATES: [u32; 5] = [100, 20, 50, 50, 10];
/// The highest `[rrl]` rate (and debt) a bucket holds: 24 signed bits.
pub const RRL_MAX_RATE: u32 = (1 << 23) - 1;
/// `[rrl] slip`: every second limited answer goes out truncated, so a real client behind a
/// spoofed address retries over TCP, while the reflected bytes are halved and no larger than
/// the query.
pub const RRL_SLIP: u32 = 2;
/// `[rrl] window`, seconds.
pub const RRL_WINDOW: Duration = Duration::from_secs(15);
/// `[rrl] ipv4_prefix`: one /24 is one client block.
pub const RRL_IPV4_PREFIX: u8 = 24;
/// `[rrl] ipv6_prefix`: one /56 is one client block (a site's usual allocation).
pub const RRL_IPV6_PREFIX: u8 = 56;
/// `[rrl] exempt`: loopback, so local monitoring and benchmarks are never limited.
pub const RRL_EXEMPT: [IpNet; 2] = [
    IpNet::new_assert(LOOPBACK_NET, 8),
    IpNet::new_assert(IpAddr::V6(Ipv6Addr::LOCALHOST), 128),
];
const LOOPBACK_NET: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0));
/// `[dnstap] queries` and `responses`: both logged, as the collectors (and BIND, Knot, NSD)
/// expect of an authoritative server's tap.
pub const DNSTAP_QUERIES: bool = true;
/// See `DNSTAP_QUERIES`.
pub const DNSTAP_RESPONSES: bool = true;
/// The longest `[dnstap] socket` path: a unix socket address holds 108 bytes with its NUL
/// (`sun_path`, unix(7)).
pub const DNSTAP_SOCKET_PATH_MAX: usize = 107;
/// `[cluster] prefix`.
pub const CLUSTER_PREFIX: &str = "/gslb";
/// `[cluster] lease_ttl`: etcd's own default session TTL is 60 s; an NS set wants a dead
/// instance out of the vote sooner, and renewals every third of it are cheap.
pub const CLUSTER_LEASE_TTL: Duration = Duration::from_secs(10);
/// The shortest `lease_ttl`: etcd's minimum lease TTL is derived from its election timeout
/// (1.5 × it, 1.5 s with etcd's defaults); shorter leases are raised by etcd anyway.
pub const CLUSTER_LEASE_TTL_MIN: Duration = Duration::from_secs(1);
/// `[cluster] freeze_max`: long enough to ride out an etcd leader election or a brief
/// partition, short enough that a lasting one is decided locally.
pub const CLUSTER_FREEZE_MAX: Duration = Duration::from_secs(300);
/// `[server] version`: what `version.server.` answers unless the operator hides it with "".
pub const VERSION: &str = concat!("gslb ", env!("CARGO_PKG_VERSION"));

/// `[server] identity`: the host name, as NSD and Knot answer `id.server.` ("gslb" when the
/// host name cannot be read).
pub fn identity() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`, which outlives the call.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..len]) {
        Ok(h) if rc == 0 && !h.is_empty() => h.to_string(),
        _ => "gslb".to_string(),
    }
}
