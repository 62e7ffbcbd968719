//! The dnstap protobuf messages (dnstap.proto: `Dnstap` wrapping one `Message`), encoded by
//! hand: the few field kinds dnstap uses (varint, fixed32, length-delimited bytes) are a dozen
//! lines, and writing them straight into the writer's buffer needs no generated code, no
//! `protoc` at build time and no allocation per message.
//!
//! Owns: the field numbers and enum values of dnstap.proto that gslb writes. Must not: do I/O.

use std::net::{IpAddr, SocketAddr};

use crate::wire::Transport;

/// `Dnstap.identity` (bytes).
const DNSTAP_IDENTITY: u32 = 1;
/// `Dnstap.version` (bytes).
const DNSTAP_VERSION: u32 = 2;
/// `Dnstap.message` (Message).
const DNSTAP_MESSAGE: u32 = 14;
/// `Dnstap.type` (Dnstap.Type).
const DNSTAP_TYPE: u32 = 15;
/// `Dnstap.Type.MESSAGE`.
const TYPE_MESSAGE: u64 = 1;

/// `Message` fields.
mod field {
    pub(super) const TYPE: u32 = 1;
    pub(super) const SOCKET_FAMILY: u32 = 2;
    pub(super) const SOCKET_PROTOCOL: u32 = 3;
    pub(super) const QUERY_ADDRESS: u32 = 4;
    pub(super) const RESPONSE_ADDRESS: u32 = 5;
    pub(super) const QUERY_PORT: u32 = 6;
    pub(super) const RESPONSE_PORT: u32 = 7;
    pub(super) const QUERY_TIME_SEC: u32 = 8;
    pub(super) const QUERY_TIME_NSEC: u32 = 9;
    pub(super) const QUERY_MESSAGE: u32 = 10;
    pub(super) const RESPONSE_TIME_SEC: u32 = 12;
    pub(super) const RESPONSE_TIME_NSEC: u32 = 13;
    pub(super) const RESPONSE_MESSAGE: u32 = 14;
}

/// `SocketFamily`.
const INET: u64 = 1;
const INET6: u64 = 2;
/// `SocketProtocol`.
const UDP: u64 = 1;
const TCP: u64 = 2;

/// Protobuf wire types.
const VARINT: u32 = 0;
const LEN: u32 = 2;
const FIXED32: u32 = 5;

/// What an authoritative server taps (`Message.Type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A query received (`AUTH_QUERY` = 1).
    Query = 1,
    /// A response sent (`AUTH_RESPONSE` = 2).
    Response = 2,
}

/// A wall-clock time, as dnstap carries it: seconds and nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Timestamp {
    /// Seconds.
    pub sec: u64,
    /// Nanoseconds within the second.
    pub nsec: u32,
}

impl Timestamp {
    /// Now (a vDSO clock read: no system call, no allocation).
    pub fn now() -> Timestamp {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp {
            sec: d.as_secs(),
            nsec: d.subsec_nanos(),
        }
    }
}

/// Everything a dnstap `Message` says besides the wire bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    /// Query or response.
    pub kind: Kind,
    /// UDP or TCP.
    pub transport: Transport,
    /// The client.
    pub client: SocketAddr,
    /// Our address the query came to.
    pub server: SocketAddr,
    /// When the query was received.
    pub query_time: Timestamp,
    /// When the response was sent (responses only).
    pub response_time: Timestamp,
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(out: &mut Vec<u8>, field: u32, wire: u32) {
    varint(out, u64::from(field << 3 | wire));
}

fn uint(out: &mut Vec<u8>, field: u32, v: u64) {
    key(out, field, VARINT);
    varint(out, v);
}

fn fixed32(out: &mut Vec<u8>, field: u32, v: u32) {
    key(out, field, FIXED32);
    out.extend_from_slice(&v.to_le_bytes());
}

fn bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    key(out, field, LEN);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn address(out: &mut Vec<u8>, field: u32, ip: IpAddr) {
    // An IPv4-mapped client of a dual-stack socket is logged as the IPv4 address it is.
    match ip {
        IpAddr::V4(v4) => bytes(out, field, &v4.octets()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => bytes(out, field, &v4.octets()),
            None => bytes(out, field, &v6.octets()),
        },
    }
}

fn is_v4(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(_) => true,
        IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some(),
    }
}

/// Appends the `Message` of `m` carrying `wire` (the query for a query, the response for a
/// response).
fn message(out: &mut Vec<u8>, m: &Meta, wire: &[u8]) {
    uint(out, field::TYPE, m.kind as u64);
    let family = if is_v4(m.client.ip()) { INET } else { INET6 };
    uint(out, field::SOCKET_FAMILY, family);
    let protocol = match m.transport {
        Transport::Udp => UDP,
        Transport::Tcp => TCP,
    };
    uint(out, field::SOCKET_PROTOCOL, protocol);
    address(out, field::QUERY_ADDRESS, m.client.ip());
    // A wildcard listener without packet info knows no better address than "any": leave it out.
    if !m.server.ip().is_unspecified() && is_v4(m.server.ip()) == (family == INET) {
        address(out, field::RESPONSE_ADDRESS, m.server.ip());
    }
    uint(out, field::QUERY_PORT, u64::from(m.client.port()));
    uint(out, field::RESPONSE_PORT, u64::from(m.server.port()));
    uint(out, field::QUERY_TIME_SEC, m.query_time.sec);
    fixed32(out, field::QUERY_TIME_NSEC, m.query_time.nsec);
    match m.kind {
        Kind::Query => bytes(out, field::QUERY_MESSAGE, wire),
        Kind::Response => {
            uint(out, field::RESPONSE_TIME_SEC, m.response_time.sec);
            fixed32(out, field::RESPONSE_TIME_NSEC, m.response_time.nsec);
            bytes(out, field::RESPONSE_MESSAGE, wire);
        }
    }
}

/// Appends one whole `Dnstap` message (identity, version, type MESSAGE, the message) to `out`,
/// using `scratch` for the nested message (cleared here; its capacity is kept).
pub(super) fn encode(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    identity: &[u8],
    version: &[u8],
    m: &Meta,
    wire: &[u8],
) {
    scratch.clear();
    message(scratch, m, wire);
    if !identity.is_empty() {
        bytes(out, DNSTAP_IDENTITY, identity);
    }
    if !version.is_empty() {
        bytes(out, DNSTAP_VERSION, version);
    }
    bytes(out, DNSTAP_MESSAGE, scratch);
    uint(out, DNSTAP_TYPE, TYPE_MESSAGE);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_take_seven_bits_a_byte() {
        for (v, want) in [
            (0u64, vec![0u8]),
            (1, vec![1]),
            (127, vec![0x7f]),
            (128, vec![0x80, 0x01]),
            (300, vec![0xac, 0x02]),
            (1_609_664_398, vec![0x8e, 0x8f, 0xc6, 0xff, 0x05]),
        ] {
            let mut out = Vec::new();
            varint(&mut out, v);
            assert_eq!(out, want, "{v}");
        }
    }

    fn meta(kind: Kind, client: &str, server: &str) -> Meta {
        Meta {
            kind,
            transport: Transport::Udp,
            client: client.parse().unwrap(),
            server: server.parse().unwrap(),
            query_time: Timestamp {
                sec: 1_609_664_398,
                nsec: 355_231_260,
            },
            response_time: Timestamp { sec: 1, nsec: 2 },
        }
    }

    #[test]
    fn a_query_encodes_field_by_field() {
        // Worked by hand from dnstap.proto: each line is one field's key, length and value.
        let m = meta(Kind::Query, "10.0.0.210:55142", "10.0.0.1:53");
        let (mut out, mut scratch) = (Vec::new(), Vec::new());
        encode(&mut out, &mut scratch, b"ns1", b"v1", &m, &[0xab, 0xcd]);
        let inner: Vec<u8> = [
            &[0x08, 1][..],                        // type AUTH_QUERY
            &[0x10, 1],                            // socket_family INET
            &[0x18, 1],                            // socket_protocol UDP
            &[0x22, 4, 10, 0, 0, 210],             // query_address
            &[0x2a, 4, 10, 0, 0, 1],               // response_address
            &[0x30, 0xe6, 0xae, 0x03],             // query_port 55142
            &[0x38, 53],                           // response_port
            &[0x40, 0x8e, 0x8f, 0xc6, 0xff, 0x05], // query_time_sec
            &[0x4d],                               // query_time_nsec, fixed32 LE
            &355_231_260u32.to_le_bytes(),
            &[0x52, 2, 0xab, 0xcd], // query_message
        ]
        .concat();
        let mut want = vec![0x0a, 3, b'n', b's', b'1', 0x12, 2, b'v', b'1', 0x72];
        want.push(inner.len() as u8);
        want.extend_from_slice(&inner);
        want.extend_from_slice(&[0x78, 1]); // type MESSAGE
        assert_eq!(out, want);
    }

    #[test]
    fn a_response_carries_both_times_and_the_response_bytes() {
        let m = meta(Kind::Response, "[2001:db8::1]:1000", "[::1]:53");
        let (mut out, mut scratch) = (Vec::new(), Vec::new());
        encode(&mut out, &mut scratch, b"", b"", &m, b"R");
        assert_eq!(
            &out[..2],
            &[0x72, scratch.len() as u8],
            "no identity/version"
        );
        assert_eq!(&scratch[..6], &[0x08, 2, 0x10, 2, 0x18, 1]);
        let tail = [
            &[0x60, 1][..],      // response_time_sec
            &[0x6d, 2, 0, 0, 0], // response_time_nsec
            &[0x72, 1, b'R'],    // response_message
        ]
        .concat();
        assert!(scratch.ends_with(&tail), "{scratch:02x?}");
        assert!(
            scratch.windows(18).any(|w| w[..2] == [0x22, 16]),
            "16-byte query address"
        );
    }

    #[test]
    fn a_mapped_v4_client_is_logged_as_v4_and_a_wildcard_server_left_out() {
        let m = meta(Kind::Query, "[::ffff:192.0.2.7]:5", "0.0.0.0:53");
        let mut out = Vec::new();
        message(&mut out, &m, b"");
        assert_eq!(&out[2..4], &[0x10, 1], "INET");
        assert_eq!(&out[6..12], &[0x22, 4, 192, 0, 2, 7]);
        assert_eq!(out[12], 0x30, "no response_address: the port follows");
    }
}
