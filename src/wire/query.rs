//! Parsing a query packet without allocating: the header, the one question, and the OPT record
//! with its Client Subnet, COOKIE and NSID options.
//!
//! Owns: what counts as a query we answer, which malformed packets get FORMERR or NOTIMP and
//! which are dropped unanswered, and the validation RFC 6891, RFC 7871 and RFC 7873 ask of an
//! OPT.
//! Must not: allocate, write any response bytes (see `response`), or know about zones.

use std::net::IpAddr;

use super::name::{MAX_NAME, NameBuf};
use super::{HEADER_LEN, POINTER, edns, flags, rcode, rtype};

/// An EDNS Client Subnet option as received (RFC 7871 §6), already validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientSubnet {
    /// The client network's address, bits beyond `source_prefix` zero.
    pub addr: IpAddr,
    /// SOURCE PREFIX-LENGTH as received.
    pub source_prefix: u8,
}

/// The OPT record of a query (RFC 6891 §6.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edns {
    /// Requestor's UDP payload size.
    pub payload: u16,
    /// EDNS version.
    pub version: u8,
    /// The DNSSEC OK bit, copied into the response (RFC 3225 §3).
    pub dnssec_ok: bool,
    /// The CO bit (RFC 9824 §3.4): compact denial may say NXDOMAIN in the RCODE.
    pub compact_ok: bool,
    /// Client Subnet, when present.
    pub ecs: Option<ClientSubnet>,
    /// The COOKIE option, when present.
    pub cookie: Option<Cookie>,
    /// Whether the query asks for our NSID (an empty NSID option, RFC 5001 §2.1).
    pub nsid: bool,
}

/// A COOKIE option as received (RFC 7873 §4), its length already checked (§5.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cookie {
    /// The client cookie.
    pub client: [u8; 8],
    /// The server cookie, when it has the 16 octets of an RFC 9018 cookie. One of any other
    /// valid length (8–32 octets) cannot be one we issued and reads as absent: the query is then
    /// answered as one with a client cookie only (RFC 7873 §5.2.4).
    pub server: Option<[u8; 16]>,
}

/// A parsed query. The question's raw bytes stay in the packet and are echoed from there, so the
/// letter case goes back as it came; the ID and flags are echoed from the packet too.
#[derive(Clone, Debug)]
pub struct Query {
    /// The question name, lower-cased, in uncompressed wire form.
    pub qname: NameBuf,
    /// QTYPE.
    pub qtype: u16,
    /// QCLASS.
    pub qclass: u16,
    /// Offset just past the question in the packet.
    pub question_end: usize,
    /// The OPT record, when present.
    pub edns: Option<Edns>,
}

/// Why a packet could not be answered normally.
#[derive(Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Not worth a reply: shorter than a header, or itself a response.
    Drop,
    /// Answer with this header-only error (FORMERR, NOTIMP), echoing the question when it parsed.
    Reply {
        /// RCODE to send.
        rcode: u16,
        /// Offset past the question when it parsed, to echo it.
        question_end: Option<usize>,
        /// The query's EDNS, when it parsed, so the error still carries an OPT.
        edns: Option<Edns>,
    },
}

fn u16_at(packet: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*packet.get(at)?, *packet.get(at + 1)?]))
}

/// Reads an uncompressed name at `pos` into `out` (lower-cased). Returns the offset after it.
/// Compression pointers are not accepted in a question (no sane client sends one).
fn read_question_name(packet: &[u8], pos: usize, out: &mut NameBuf) -> Option<usize> {
    Some(pos + out.set_wire(packet.get(pos..)?)?)
}

/// Skips a possibly compressed name; returns the offset after it and whether it was the root.
fn skip_name(packet: &[u8], mut pos: usize) -> Option<(usize, bool)> {
    let mut root = true;
    let mut total = 0usize;
    loop {
        let len = *packet.get(pos)? as usize;
        match len as u8 & POINTER {
            0x00 if len == 0 => return Some((pos + 1, root)),
            0x00 => {
                root = false;
                total += len + 1;
                if total > MAX_NAME {
                    return None;
                }
                pos += 1 + len;
            }
            POINTER => {
                packet.get(pos + 1)?;
                return Some((pos + 2, false));
            }
            // 0x40 and 0x80: extended label types (RFC 6891 §5), none of which we accept.
            _ => return None,
        }
    }
}

/// Parses the COOKIE option data: a client cookie of 8 octets, then optionally a server cookie
/// of 8 to 32 (RFC 7873 §4). Any other length is malformed (§5.2.2).
fn parse_cookie(data: &[u8]) -> Option<Cookie> {
    let client: [u8; 8] = data.get(..8)?.try_into().ok()?;
    let server = match data.len() - 8 {
        0 => None,
        16 => data[8..].try_into().ok(),
        8..=32 => None,
        _ => return None,
    };
    Some(Cookie { client, server })
}

/// Parses the ECS option data (RFC 7871 §6), rejecting what §7.1.1 calls malformed, and a
/// SCOPE PREFIX-LENGTH other than 0, which §6 forbids in queries.
fn parse_ecs(data: &[u8]) -> Option<ClientSubnet> {
    let family = u16_at(data, 0)?;
    let source = *data.get(2)?;
    let scope = *data.get(3)?;
    let addr_bytes = &data[4..];
    let max = match family {
        edns::FAMILY_IPV4 => 32,
        edns::FAMILY_IPV6 => 128,
        _ => return None,
    };
    if source > max || scope != 0 || addr_bytes.len() != (source as usize).div_ceil(8) {
        return None;
    }
    let mut full = [0u8; 16];
    full[..addr_bytes.len()].copy_from_slice(addr_bytes);
    // Bits beyond the source prefix must be zero.
    if source % 8 != 0 {
        let last = addr_bytes[addr_bytes.len() - 1];
        if last & (0xFFu8 >> (source % 8)) != 0 {
            return None;
        }
    }
    let addr = if family == edns::FAMILY_IPV4 {
        IpAddr::from([full[0], full[1], full[2], full[3]])
    } else {
        IpAddr::from(full)
    };
    Some(ClientSubnet {
        addr,
        source_prefix: source,
    })
}

/// Parses a query packet. Allocation-free.
pub fn parse_query(packet: &[u8]) -> Result<Query, ParseError> {
    let formerr = |question_end, edns| ParseError::Reply {
        rcode: rcode::FORMERR,
        question_end,
        edns,
    };
    if packet.len() < HEADER_LEN {
        return Err(ParseError::Drop);
    }
    let header = u16::from_be_bytes([packet[2], packet[3]]);
    if header & flags::QR != 0 {
        return Err(ParseError::Drop);
    }
    let qdcount = u16::from_be_bytes([packet[4], packet[5]]);
    let ancount = u16::from_be_bytes([packet[6], packet[7]]);
    let nscount = u16::from_be_bytes([packet[8], packet[9]]);
    let arcount = u16::from_be_bytes([packet[10], packet[11]]);
    let opcode = flags::opcode(header);
    if qdcount != 1 {
        let rcode = if opcode != flags::OPCODE_QUERY {
            rcode::NOTIMP
        } else {
            rcode::FORMERR
        };
        return Err(ParseError::Reply {
            rcode,
            question_end: None,
            edns: None,
        });
    }
    let mut qname = NameBuf::new();
    let pos = read_question_name(packet, HEADER_LEN, &mut qname).ok_or(formerr(None, None))?;
    let qtype = u16_at(packet, pos).ok_or(formerr(None, None))?;
    let qclass = u16_at(packet, pos + 2).ok_or(formerr(None, None))?;
    let question_end = pos + 4;
    let mut pos = question_end;
    // Answer and authority sections of a query carry nothing we use; skip them soundly.
    for _ in 0..(ancount as usize + nscount as usize) {
        let (after, _) = skip_name(packet, pos).ok_or(formerr(Some(question_end), None))?;
        let rdlen = u16_at(packet, after + 8).ok_or(formerr(Some(question_end), None))? as usize;
        pos = after + 10 + rdlen;
        if pos > packet.len() {
            return Err(formerr(Some(question_end), None));
        }
    }
    let mut found: Option<Edns> = None;
    for _ in 0..arcount {
        let bad = || formerr(Some(question_end), found);
        let (after, root) = skip_name(packet, pos).ok_or_else(bad)?;
        let t = u16_at(packet, after).ok_or_else(bad)?;
        let class = u16_at(packet, after + 2).ok_or_else(bad)?;
        let ttl_hi = u16_at(packet, after + 4).ok_or_else(bad)?;
        let ttl_lo = u16_at(packet, after + 6).ok_or_else(bad)?;
        let rdlen = u16_at(packet, after + 8).ok_or_else(bad)? as usize;
        let rd_start = after + 10;
        let rdata = packet.get(rd_start..rd_start + rdlen).ok_or_else(bad)?;
        pos = rd_start + rdlen;
        if t != rtype::OPT {
            continue;
        }
        // RFC 6891 §6.1.1: one OPT, owned by the root.
        if found.is_some() || !root {
            return Err(formerr(Some(question_end), None));
        }
        // RFC 6891 §6.1.3: the TTL field holds EXTENDED-RCODE, VERSION, then the flags.
        let mut e = Edns {
            payload: class,
            version: (ttl_hi & 0xFF) as u8,
            dnssec_ok: ttl_lo & edns::DO != 0,
            compact_ok: ttl_lo & edns::CO != 0,
            ecs: None,
            cookie: None,
            nsid: false,
        };
        let mut i = 0;
        while i < rdata.len() {
            let code = u16_at(rdata, i).ok_or(formerr(Some(question_end), None))?;
            let len = u16_at(rdata, i + 2).ok_or(formerr(Some(question_end), None))? as usize;
            let data = rdata
                .get(i + 4..i + 4 + len)
                .ok_or(formerr(Some(question_end), None))?;
            if code == edns::OPTION_ECS && e.version == 0 {
                if e.ecs.is_some() {
                    return Err(formerr(Some(question_end), Some(e)));
                }
                e.ecs = Some(parse_ecs(data).ok_or(formerr(Some(question_end), Some(e)))?);
            } else if code == edns::OPTION_COOKIE && e.version == 0 {
                // A second COOKIE is as malformed as a second ECS: which one would we echo?
                if e.cookie.is_some() {
                    return Err(formerr(Some(question_end), Some(e)));
                }
                e.cookie = Some(parse_cookie(data).ok_or(formerr(Some(question_end), Some(e)))?);
            } else if code == edns::OPTION_NSID && data.is_empty() {
                e.nsid = true;
            }
            i += 4 + len;
        }
        found = Some(e);
    }
    if opcode != flags::OPCODE_QUERY {
        return Err(ParseError::Reply {
            rcode: rcode::NOTIMP,
            question_end: Some(question_end),
            edns: found,
        });
    }
    Ok(Query {
        qname,
        qtype,
        qclass,
        question_end,
        edns: found,
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A query for `name`/`qtype` with RD set, followed by `extra` records counted in ARCOUNT.
    pub(in crate::wire) fn query(name: &[u8], qtype: u16, extra: &[u8], arcount: u16) -> Vec<u8> {
        let mut p = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0];
        p.extend_from_slice(&arcount.to_be_bytes());
        p.extend_from_slice(name);
        p.extend_from_slice(&qtype.to_be_bytes());
        p.extend_from_slice(&1u16.to_be_bytes());
        p.extend_from_slice(extra);
        p
    }

    fn opt(payload: u16, version: u8, options: &[u8]) -> Vec<u8> {
        let mut o = vec![0, 0, 41];
        o.extend_from_slice(&payload.to_be_bytes());
        o.extend_from_slice(&[0, version, 0x80, 0]);
        o.extend_from_slice(&(options.len() as u16).to_be_bytes());
        o.extend_from_slice(options);
        o
    }

    #[test]
    fn parses_question_case_insensitively() {
        let p = query(b"\x03WwW\x07Example\x00", 1, &[], 0);
        let q = parse_query(&p).unwrap();
        assert_eq!(q.qname.as_bytes(), b"\x03www\x07example\x00");
        assert_eq!((q.qtype, q.qclass), (1, 1));
        assert!(q.edns.is_none());
    }

    #[test]
    fn short_and_response_packets_are_dropped() {
        assert_eq!(parse_query(&[0; 5]).unwrap_err(), ParseError::Drop);
        let mut p = query(b"\x00", 1, &[], 0);
        p[2] |= 0x80;
        assert_eq!(parse_query(&p).unwrap_err(), ParseError::Drop);
    }

    #[test]
    fn malformed_questions_are_formerr() {
        let cases: Vec<Vec<u8>> = vec![
            query(b"\x03www", 1, &[], 0)[..15].to_vec(),
            query(b"\xC0\x0C", 1, &[], 0),
            query(b"\x40abc\x00", 1, &[], 0),
        ];
        for p in cases {
            assert!(
                matches!(parse_query(&p), Err(ParseError::Reply { rcode: 1, .. })),
                "{p:?}"
            );
        }
        let mut two = query(b"\x00", 1, &[], 0);
        two[5] = 2;
        assert!(matches!(
            parse_query(&two),
            Err(ParseError::Reply {
                rcode: 1,
                question_end: None,
                ..
            })
        ));
    }

    #[test]
    fn other_opcodes_are_notimp() {
        // OPCODE 4 (NOTIFY) in the flags' high byte.
        let mut p = query(b"\x00", 1, &[], 0);
        p[2] = 4 << 3;
        assert!(matches!(
            parse_query(&p),
            Err(ParseError::Reply {
                rcode: 4,
                question_end: Some(17),
                ..
            })
        ));
    }

    #[test]
    fn edns_and_ecs_parse() {
        let ecs = [0, 8, 0, 7, 0, 1, 24, 0, 198, 51, 100];
        let p = query(b"\x00", 1, &opt(4096, 0, &ecs), 1);
        let e = parse_query(&p).unwrap().edns.unwrap();
        assert_eq!(e.payload, 4096);
        assert!(e.dnssec_ok);
        let c = e.ecs.unwrap();
        assert_eq!(c.addr, "198.51.100.0".parse::<IpAddr>().unwrap());
        assert_eq!(c.source_prefix, 24);
    }

    #[test]
    fn malformed_ecs_is_formerr() {
        let bad: [&[u8]; 4] = [
            &[0, 8, 0, 8, 0, 1, 24, 0, 198, 51, 100, 1], // too many address octets
            &[0, 8, 0, 7, 0, 1, 23, 0, 198, 51, 101],    // bits past the prefix
            &[0, 8, 0, 4, 0, 3, 0, 0],                   // unknown family
            &[0, 8, 0, 5, 0, 1, 33, 0, 1],               // prefix too long
        ];
        for ecs in bad {
            let p = query(b"\x00", 1, &opt(1232, 0, ecs), 1);
            assert!(
                matches!(parse_query(&p), Err(ParseError::Reply { rcode: 1, .. })),
                "{ecs:?}"
            );
        }
    }

    #[test]
    fn ecs_with_a_scope_is_formerr() {
        let ecs = [0, 8, 0, 7, 0, 1, 24, 16, 198, 51, 100];
        let p = query(b"\x00", 1, &opt(1232, 0, &ecs), 1);
        assert!(matches!(
            parse_query(&p),
            Err(ParseError::Reply { rcode: 1, .. })
        ));
    }

    fn cookie_option(len: usize) -> Vec<u8> {
        let mut o = vec![0, 10];
        o.extend_from_slice(&(len as u16).to_be_bytes());
        o.extend((1..=len).map(|i| i as u8));
        o
    }

    #[test]
    fn cookies_parse_by_length() {
        let parsed = |len| parse_query(&query(b"\x00", 1, &opt(1232, 0, &cookie_option(len)), 1));
        let c = parsed(8).unwrap().edns.unwrap().cookie.unwrap();
        assert_eq!(c.client, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(c.server, None);
        let c = parsed(24).unwrap().edns.unwrap().cookie.unwrap();
        assert_eq!(c.server.unwrap()[0], 9);
        // Valid lengths that cannot be an RFC 9018 cookie of ours: a client cookie only.
        for len in [16, 23, 25, 40] {
            let c = parsed(len).unwrap().edns.unwrap().cookie.unwrap();
            assert_eq!(c.server, None, "{len}");
        }
        // RFC 7873 §5.2.2: shorter than 8, 9–15, or longer than 40 octets are FORMERR.
        for len in [0, 1, 5, 7, 9, 15, 41, 48] {
            assert!(
                matches!(parsed(len), Err(ParseError::Reply { rcode: 1, .. })),
                "{len}"
            );
        }
        let mut two = cookie_option(8);
        two.extend(cookie_option(8));
        assert!(matches!(
            parse_query(&query(b"\x00", 1, &opt(1232, 0, &two), 1)),
            Err(ParseError::Reply { rcode: 1, .. })
        ));
    }

    #[test]
    fn only_an_empty_nsid_option_asks_for_it() {
        let ask = parse_query(&query(b"\x00", 1, &opt(1232, 0, &[0, 3, 0, 0]), 1));
        assert!(ask.unwrap().edns.unwrap().nsid);
        let odd = parse_query(&query(b"\x00", 1, &opt(1232, 0, &[0, 3, 0, 1, 7]), 1));
        assert!(!odd.unwrap().edns.unwrap().nsid);
    }

    #[test]
    fn two_opts_are_formerr() {
        let mut extra = opt(1232, 0, &[]);
        extra.extend(opt(1232, 0, &[]));
        let p = query(b"\x00", 1, &extra, 2);
        assert!(matches!(
            parse_query(&p),
            Err(ParseError::Reply { rcode: 1, .. })
        ));
    }
}
