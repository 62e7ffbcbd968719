//! The DNS wire format on the answer path: parsing a query without allocating (`query`), and
//! writing a response straight into a reusable buffer with name compression and RFC 2181 §9
//! truncation (`response`). This file holds the numbers both sides share.
//!
//! Owns: the exact bytes we send, and the names of the protocol's numbers (types, classes,
//! RCODEs, header flag bits, EDNS codes). Must not: know about zones, policies or health; it is
//! told what records to write and writes them, or reports that they did not fit.

pub mod name;
mod query;
pub mod records;
mod response;

pub use query::{ClientSubnet, Cookie, Edns, ParseError, Query, parse_query};
pub use response::{Mark, OptOut, ResponseWriter, Section, rcode_in_place, truncate_in_place};

/// How the query arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP: answers are limited by the client's EDNS payload size (or 512).
    Udp,
    /// TCP: answers up to 65535 octets.
    Tcp,
}

impl Transport {
    /// Lower-case name, for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
}

/// Record types and classes this server names in code (RFC 1035 §3.2.2, RFC 6891, RFC 8482).
pub mod rtype {
    /// A host address (RFC 1035 §3.4.1).
    pub const A: u16 = 1;
    /// An authoritative name server (RFC 1035 §3.3.11).
    pub const NS: u16 = 2;
    /// The canonical name of an alias (RFC 1035 §3.3.1).
    pub const CNAME: u16 = 5;
    /// The start of a zone of authority (RFC 1035 §3.3.13).
    pub const SOA: u16 = 6;
    /// A domain name pointer (RFC 1035 §3.3.12).
    pub const PTR: u16 = 12;
    /// Mail exchange (RFC 1035 §3.3.9).
    pub const MX: u16 = 15;
    /// Text strings (RFC 1035 §3.3.14).
    pub const TXT: u16 = 16;
    /// An IPv6 host address (RFC 3596 §2.1).
    pub const AAAA: u16 = 28;
    /// Service location (RFC 2782).
    pub const SRV: u16 = 33;
    /// The EDNS pseudo-record (RFC 6891 §6.1.1).
    pub const OPT: u16 = 41;
    /// Delegation signer, answered by the parent side of a cut (RFC 4034 §5).
    pub const DS: u16 = 43;
    /// A signature over an RRset (RFC 4034 §3).
    pub const RRSIG: u16 = 46;
    /// Authenticated denial of existence (RFC 4034 §4).
    pub const NSEC: u16 = 47;
    /// A zone's public key (RFC 4034 §2).
    pub const DNSKEY: u16 = 48;
    /// Hashed authenticated denial (RFC 5155).
    pub const NSEC3: u16 = 50;
    /// NSEC3 parameters (RFC 5155 §4).
    pub const NSEC3PARAM: u16 = 51;
    /// The meta-type in a compact denial's NSEC bitmap that says the name does not exist
    /// (RFC 9824 §2); a query for it is a format error (§3.5).
    pub const NXNAME: u16 = 128;
    /// HTTPS service binding (RFC 9460).
    pub const HTTPS: u16 = 65;
    /// Incremental zone transfer (RFC 1995).
    pub const IXFR: u16 = 251;
    /// Full zone transfer (RFC 5936).
    pub const AXFR: u16 = 252;
    /// Obsolete mailbox QTYPE (RFC 1035 §3.2.3).
    pub const MAILB: u16 = 253;
    /// Obsolete mail agent QTYPE (RFC 1035 §3.2.3).
    pub const MAILA: u16 = 254;
    /// Every type, answered minimally (RFC 8482).
    pub const ANY: u16 = 255;
    /// Certification authority authorization (RFC 8659).
    pub const CAA: u16 = 257;
    /// The Internet class, the only one served from zones.
    pub const CLASS_IN: u16 = 1;
    /// The CHAOS class: only the server's identity and version are answered in it (`id.server.`,
    /// `version.server.` and their BIND names), as NSD and Knot do.
    pub const CLASS_CH: u16 = 3;
}

/// Response codes (RFC 1035 §4.1.1, RFC 6891 §9 for the extended BADVERS).
pub mod rcode {
    /// No error.
    pub const NOERROR: u16 = 0;
    /// The query could not be interpreted.
    pub const FORMERR: u16 = 1;
    /// The server failed (counted if ever sent; gslb answers from memory and does not).
    pub const SERVFAIL: u16 = 2;
    /// The name does not exist.
    pub const NXDOMAIN: u16 = 3;
    /// This kind of query is not supported.
    pub const NOTIMP: u16 = 4;
    /// The server will not answer this query.
    pub const REFUSED: u16 = 5;
    /// EDNS version not supported (12 bits: the upper eight go in the OPT).
    pub const BADVERS: u16 = 16;
    /// A missing or invalid server cookie (RFC 7873 §8; extended, like BADVERS).
    pub const BADCOOKIE: u16 = 23;
}

/// Bits of the header's flags word, octets 2–3 read big-endian (RFC 1035 §4.1.1; AD and CD from
/// RFC 4035 §3.2).
pub mod flags {
    /// The message is a response.
    pub const QR: u16 = 0x8000;
    /// The four OPCODE bits.
    pub const OPCODE_MASK: u16 = 0x7800;
    /// How far OPCODE is shifted left within the word.
    pub const OPCODE_SHIFT: u32 = 11;
    /// OPCODE of a standard query, the only one answered.
    pub const OPCODE_QUERY: u8 = 0;
    /// Authoritative answer.
    pub const AA: u16 = 0x0400;
    /// Truncated.
    pub const TC: u16 = 0x0200;
    /// Recursion desired, echoed from the query.
    pub const RD: u16 = 0x0100;
    /// Checking disabled, echoed from the query.
    pub const CD: u16 = 0x0010;
    /// The low four bits of the RCODE (the rest live in the OPT record).
    pub const RCODE_MASK: u16 = 0x000F;

    /// The OPCODE of a flags word.
    pub const fn opcode(flags: u16) -> u8 {
        ((flags & OPCODE_MASK) >> OPCODE_SHIFT) as u8
    }
}

/// EDNS numbers (RFC 6891) and those of its options: NSID (RFC 5001), Client Subnet (RFC 7871),
/// COOKIE (RFC 7873).
pub mod edns {
    /// Option code of the Name Server Identifier (RFC 5001 §2.3).
    pub const OPTION_NSID: u16 = 3;
    /// Option code of DNS cookies (RFC 7873 §4).
    pub const OPTION_COOKIE: u16 = 10;
    /// The DO bit in the OPT record's flags, the low half of its TTL field (RFC 3225 §3).
    pub const DO: u16 = 0x8000;
    /// The CO bit ("compact answers OK", RFC 9824 §3.4): a signer then answers a nonexistent
    /// name with the NXDOMAIN RCODE beside its compact denial, and sets CO in the response.
    pub const CO: u16 = 0x4000;
    /// Option code of Client Subnet (RFC 7871 §6).
    pub const OPTION_ECS: u16 = 8;
    /// Client Subnet FAMILY of IPv4 (IANA address family numbers).
    pub const FAMILY_IPV4: u16 = 1;
    /// Client Subnet FAMILY of IPv6.
    pub const FAMILY_IPV6: u16 = 2;
}

/// Length of the fixed message header; the question starts right after it (RFC 1035 §4.1.1).
const HEADER_LEN: usize = 12;
/// The top two bits of a length octet that make it a compression pointer (RFC 1035 §4.1.4).
const POINTER: u8 = 0xC0;
/// The smallest UDP payload every client accepts (RFC 1035 §2.3.4, RFC 6891 §6.2.5).
pub const MIN_UDP_PAYLOAD: u16 = 512;
