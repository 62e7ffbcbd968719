//! RDATA from the exact tokens of a record: record type mnemonics, the wire form of the common
//! types written directly (A, AAAA, NS, CNAME, DNAME, PTR, MX, TXT, SPF, SOA, SRV, CAA, HINFO,
//! DS, CDS, DNSKEY, CDNSKEY, RRSIG, NSEC, RP, AFSDB, RT, KX, MB, MG, MR, MINFO, URI, EUI48,
//! EUI64), RFC 3597's generic `\# length hex` for any type, and hickory-proto's parsers for the
//! other types it knows (fed the same tokens, then encoded).
//!
//! Owns: what each type's RDATA must look like and the words for what it does not. Must not:
//! decide owners, TTLs or classes (see `mod`), or check zone-wide rules (see `zone::build`).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use hickory_proto::rr::{Name, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable, BinEncoder, NameEncoding};
use hickory_proto::serialize::txt::Parser;

use super::text::{self, show};
use super::token::Tok;
use crate::wire::rtype;

/// Record types written here without hickory (the most common first: the list is searched).
const NATIVE: [(&str, u16); 30] = [
    ("A", rtype::A),
    ("NS", rtype::NS),
    ("CNAME", rtype::CNAME),
    ("SOA", rtype::SOA),
    ("PTR", 12),
    ("HINFO", 13),
    ("MX", rtype::MX),
    ("TXT", rtype::TXT),
    ("AAAA", rtype::AAAA),
    ("SRV", rtype::SRV),
    ("DNAME", 39),
    ("DS", 43),
    ("SPF", 99),
    ("CAA", 257),
    ("MB", 7),
    ("MG", 8),
    ("MR", 9),
    ("MINFO", 14),
    ("RP", 17),
    ("AFSDB", 18),
    ("RT", 21),
    ("KX", 36),
    ("RRSIG", 46),
    ("NSEC", 47),
    ("DNSKEY", 48),
    ("CDS", 59),
    ("CDNSKEY", 60),
    ("EUI48", 108),
    ("EUI64", 109),
    ("URI", 256),
];

/// Types a zone may not hold: the EDNS pseudo-record, transaction signatures and the query-only
/// types (RFC 6891 §6.1.1, RFC 8945, RFC 1035 §3.2.3).
pub(crate) fn refused(code: u16) -> bool {
    matches!(code, 41 | 249 | 250 | 251 | 252 | 253 | 254 | 255)
}

/// The type code a token names (`A`, `txt`, `TYPE65534`), or None.
pub(crate) fn type_code(tok: &[u8]) -> Option<u16> {
    if tok.len() > 12 {
        return None;
    }
    let mut upper = [0u8; 12];
    let upper = &mut upper[..tok.len()];
    upper.copy_from_slice(tok);
    upper.make_ascii_uppercase();
    if let Some(&(_, code)) = NATIVE.iter().find(|(n, _)| n.as_bytes() == &upper[..]) {
        return Some(code);
    }
    let meta = [
        (&b"OPT"[..], 41),
        (b"TKEY", 249),
        (b"IXFR", 251),
        (b"MAILB", 253),
        (b"MAILA", 254),
    ];
    if let Some(&(_, code)) = meta.iter().find(|(n, _)| *n == &upper[..]) {
        return Some(code);
    }
    if let Some(digits) = upper.strip_prefix(b"TYPE") {
        return text::number(digits, 65535, "type").ok().map(|n| n as u16);
    }
    let s = std::str::from_utf8(upper).ok()?;
    match RecordType::from_str(s) {
        Ok(t) if s != "*" => Some(u16::from(t)),
        _ => None,
    }
}

/// The mnemonic of a type, or `TYPEn` (RFC 3597 §5).
pub(crate) fn type_name(code: u16) -> String {
    if let Some((n, _)) = NATIVE.iter().find(|(_, c)| *c == code) {
        return (*n).into();
    }
    match RecordType::from(code) {
        RecordType::Unknown(_) => format!("TYPE{code}"),
        t => t.to_string(),
    }
}

/// Whether `tok` is a class: `IN`, `CH`, `HS`, `CS`, `NONE`, `ANY` or `CLASSn`; Some(is IN).
pub(crate) fn class(tok: &[u8]) -> Option<bool> {
    let named = [&b"IN"[..], b"CH", b"HS", b"CS", b"NONE", b"ANY"];
    if let Some(i) = named.iter().position(|n| n.eq_ignore_ascii_case(tok)) {
        return Some(i == 0);
    }
    let digits = tok
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case(b"CLASS"))
        .and(tok.get(5..))?;
    text::number(digits, 65535, "class").ok().map(|n| n == 1)
}

/// What is wrong with a record's RDATA, and at which of its tokens (None: the type token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RdataError {
    /// Index into the RDATA tokens.
    pub(crate) at: Option<usize>,
    /// The words for it.
    pub(crate) message: String,
}

fn at(i: usize) -> impl FnOnce(String) -> RdataError {
    move |message| RdataError {
        at: Some(i),
        message,
    }
}

fn whole(message: String) -> RdataError {
    RdataError { at: None, message }
}

/// The RDATA tokens of one record, with the text they point into.
struct Fields<'a> {
    text: &'a [u8],
    toks: &'a [Tok],
    origin: Option<&'a [u8]>,
}

impl Fields<'_> {
    fn get(&self, i: usize) -> &[u8] {
        self.toks[i].bytes(self.text)
    }

    /// Exactly `n` tokens, else `shape` as the error (at the first extra token when too many).
    fn expect(&self, n: usize, shape: &str) -> Result<(), RdataError> {
        match self.toks.len() {
            k if k == n => Ok(()),
            k if k < n => Err(whole(shape.into())),
            _ => Err(at(n)(format!(
                "{shape}; {} is one too many",
                show(self.get(n))
            ))),
        }
    }

    fn name(&self, i: usize, out: &mut Vec<u8>, scratch: &mut Vec<u8>) -> Result<(), RdataError> {
        text::name(self.get(i), self.origin, scratch).map_err(at(i))?;
        out.extend_from_slice(scratch);
        Ok(())
    }

    fn number(&self, i: usize, max: u64, what: &str) -> Result<u64, RdataError> {
        text::number(self.get(i), max, what).map_err(at(i))
    }
}

/// Appends the RDATA of a `code` record written as `toks` (in `text`) to `out`.
pub(crate) fn rdata(
    code: u16,
    text: &[u8],
    toks: &[Tok],
    origin: Option<&[u8]>,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> Result<(), RdataError> {
    let f = Fields { text, toks, origin };
    if toks
        .first()
        .is_some_and(|t| !t.quoted && t.bytes(text) == b"\\#")
    {
        generic(&f, out)?;
        return check_wire(code, out).map_err(whole);
    }
    let name = type_name(code);
    match code {
        rtype::A => {
            f.expect(1, "A needs one IPv4 address")?;
            let ip = std::str::from_utf8(f.get(0))
                .ok()
                .and_then(|s| Ipv4Addr::from_str(s).ok())
                .ok_or_else(|| at(0)(format!("{} is not an IPv4 address", show(f.get(0)))))?;
            out.extend_from_slice(&ip.octets());
        }
        rtype::AAAA => {
            f.expect(1, "AAAA needs one IPv6 address")?;
            let ip = std::str::from_utf8(f.get(0))
                .ok()
                .and_then(|s| Ipv6Addr::from_str(s).ok())
                .ok_or_else(|| at(0)(format!("{} is not an IPv6 address", show(f.get(0)))))?;
            out.extend_from_slice(&ip.octets());
        }
        rtype::NS | rtype::CNAME | 12 | 39 | 7 | 8 | 9 => {
            f.expect(1, &format!("{name} needs one domain name"))?;
            f.name(0, out, scratch)?;
        }
        14 | 17 => {
            f.expect(2, &format!("{name} needs two domain names"))?;
            f.name(0, out, scratch)?;
            f.name(1, out, scratch)?;
        }
        18 | 21 | 36 => {
            f.expect(2, &format!("{name} needs a number and a domain name"))?;
            let v = f.number(0, 65535, &format!("{name} preference"))?;
            out.extend_from_slice(&(v as u16).to_be_bytes());
            f.name(1, out, scratch)?;
        }
        256 => {
            f.expect(3, "URI needs a priority, a weight and a target")?;
            for (i, what) in ["URI priority", "URI weight"].iter().enumerate() {
                let v = f.number(i, 65535, what)?;
                out.extend_from_slice(&(v as u16).to_be_bytes());
            }
            text::unescape(f.get(2), out).map_err(at(2))?;
        }
        108 | 109 => {
            let groups = if code == 108 { 6 } else { 8 };
            f.expect(
                1,
                &format!("{name} needs one address like 00-00-5e-00-53-2a"),
            )?;
            let b = f.get(0);
            let parts: Vec<&[u8]> = b.split(|&c| c == b'-').collect();
            if parts.len() != groups || parts.iter().any(|p| p.len() != 2) {
                return Err(at(0)(format!("{} is not an {name} address", show(b))));
            }
            for p in parts {
                text::hex(p, out)
                    .map_err(|_| at(0)(format!("{} is not an {name} address", show(b))))?;
            }
        }
        48 | 60 => {
            if toks.len() < 4 {
                return Err(whole(format!(
                    "{name} needs flags, a protocol, an algorithm and a key in base64"
                )));
            }
            let flags = f.number(0, 65535, &format!("{name} flags"))?;
            out.extend_from_slice(&(flags as u16).to_be_bytes());
            out.push(f.number(1, 255, &format!("{name} protocol"))? as u8);
            out.push(f.number(2, 255, &format!("{name} algorithm"))? as u8);
            base64(&f, 3, out)?;
        }
        47 => {
            if toks.is_empty() {
                return Err(whole("NSEC needs the next name and the types".into()));
            }
            f.name(0, out, scratch)?;
            type_bitmap(&f, 1, out)?;
        }
        46 => {
            if toks.len() < 9 {
                return Err(whole(
                    "RRSIG needs a type, an algorithm, labels, a TTL, expiration, inception, a key tag, a signer and a signature".into(),
                ));
            }
            let covered = type_code(f.get(0))
                .ok_or_else(|| at(0)(format!("unknown record type {}", show(f.get(0)))))?;
            out.extend_from_slice(&covered.to_be_bytes());
            out.push(f.number(1, 255, "RRSIG algorithm")? as u8);
            out.push(f.number(2, 255, "RRSIG labels")? as u8);
            let ttl = f.number(3, u64::from(u32::MAX), "RRSIG original TTL")?;
            out.extend_from_slice(&(ttl as u32).to_be_bytes());
            for i in [4, 5] {
                let t = sig_time(f.get(i)).map_err(at(i))?;
                out.extend_from_slice(&t.to_be_bytes());
            }
            let tag = f.number(6, 65535, "RRSIG key tag")?;
            out.extend_from_slice(&(tag as u16).to_be_bytes());
            f.name(7, out, scratch)?;
            base64(&f, 8, out)?;
        }
        rtype::MX => {
            f.expect(2, "MX needs a preference and an exchange")?;
            let pref = f.number(0, 65535, "MX preference")?;
            out.extend_from_slice(&(pref as u16).to_be_bytes());
            f.name(1, out, scratch)?;
        }
        rtype::SRV => {
            f.expect(4, "SRV needs a priority, a weight, a port and a target")?;
            for (i, what) in ["SRV priority", "SRV weight", "SRV port"]
                .iter()
                .enumerate()
            {
                let v = f.number(i, 65535, what)?;
                out.extend_from_slice(&(v as u16).to_be_bytes());
            }
            f.name(3, out, scratch)?;
        }
        rtype::SOA => {
            f.expect(
                7,
                "SOA needs a primary server, a mailbox, a serial and four times (refresh retry expire minimum)",
            )?;
            f.name(0, out, scratch)?;
            f.name(1, out, scratch)?;
            let serial = f.number(2, u64::from(u32::MAX), "SOA serial")?;
            out.extend_from_slice(&(serial as u32).to_be_bytes());
            for (i, what) in ["SOA refresh", "SOA retry", "SOA expire", "SOA minimum"]
                .iter()
                .enumerate()
            {
                let v = text::ttl_named(f.get(3 + i), what).map_err(at(3 + i))?;
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
        rtype::TXT | 99 => {
            if toks.is_empty() {
                return Err(whole(format!("{name} needs at least one string")));
            }
            for i in 0..toks.len() {
                text::char_string(f.get(i), out).map_err(at(i))?;
            }
        }
        13 => {
            f.expect(2, "HINFO needs a CPU and an OS string")?;
            for i in 0..2 {
                text::char_string(f.get(i), out).map_err(at(i))?;
            }
        }
        43 | 59 => {
            if toks.len() < 4 {
                return Err(whole(format!(
                    "{name} needs a key tag, an algorithm, a digest type and a digest"
                )));
            }
            let tag = f.number(0, 65535, "DS key tag")?;
            out.extend_from_slice(&(tag as u16).to_be_bytes());
            out.push(f.number(1, 255, "DS algorithm")? as u8);
            out.push(f.number(2, 255, "DS digest type")? as u8);
            for i in 3..toks.len() {
                text::hex(f.get(i), out).map_err(at(i))?;
            }
        }
        257 => {
            f.expect(3, "CAA needs flags, a tag and a value")?;
            out.push(f.number(0, 255, "CAA flags")? as u8);
            let tag = f.get(1);
            if tag.is_empty() || tag.len() > 255 || !tag.iter().all(u8::is_ascii_alphanumeric) {
                return Err(at(1)(format!(
                    "CAA tag {} must be letters and digits",
                    show(tag)
                )));
            }
            out.push(tag.len() as u8);
            out.extend_from_slice(tag);
            text::unescape(f.get(2), out).map_err(at(2))?;
        }
        _ => via_hickory(code, &f, out)?,
    }
    Ok(())
}

/// Appends the base64 of tokens `from..` (one value written in pieces) to `out`.
fn base64(f: &Fields<'_>, from: usize, out: &mut Vec<u8>) -> Result<(), RdataError> {
    let (mut acc, mut bits) = (0u32, 0u32);
    let mut pad = false;
    for i in from..f.toks.len() {
        for &c in f.get(i) {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b'=' => {
                    pad = true;
                    continue;
                }
                _ => return Err(at(i)(format!("{} is not base64", show(f.get(i))))),
            };
            if pad {
                return Err(at(i)(format!("{} is not base64", show(f.get(i)))));
            }
            acc = (acc << 6) | u32::from(v);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
    }
    Ok(())
}

/// Appends the RFC 4034 §4.1.2 type bitmap of the types named by tokens `from..` to `out`.
fn type_bitmap(f: &Fields<'_>, from: usize, out: &mut Vec<u8>) -> Result<(), RdataError> {
    let mut types = Vec::with_capacity(f.toks.len());
    for i in from..f.toks.len() {
        let t = type_code(f.get(i))
            .ok_or_else(|| at(i)(format!("unknown record type {}", show(f.get(i)))))?;
        types.push(t);
    }
    types.sort_unstable();
    types.dedup();
    let mut k = 0;
    while k < types.len() {
        let window = types[k] >> 8;
        let mut map = [0u8; 32];
        let mut len = 0;
        while k < types.len() && types[k] >> 8 == window {
            let low = (types[k] & 0xff) as usize;
            map[low / 8] |= 0x80 >> (low % 8);
            len = low / 8 + 1;
            k += 1;
        }
        out.push(window as u8);
        out.push(len as u8);
        out.extend_from_slice(&map[..len]);
    }
    Ok(())
}

/// An RRSIG time: `YYYYMMDDHHmmSS` (UTC) or seconds since 1970 (RFC 4034 §3.2).
fn sig_time(tok: &[u8]) -> Result<u32, String> {
    if tok.len() != 14 {
        return text::number(tok, u64::from(u32::MAX), "RRSIG time").map(|v| v as u32);
    }
    let bad = || format!("RRSIG time {} is not YYYYMMDDHHmmSS", show(tok));
    let n = |r: std::ops::Range<usize>| text::number(&tok[r], 9999, "t").map_err(|_| bad());
    let (y, mo, d) = (n(0..4)? as i64, n(4..6)? as i64, n(6..8)? as i64);
    let (h, mi, s) = (n(8..10)?, n(10..12)?, n(12..14)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return Err(bad());
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let (yy, m) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + (h * 3600 + mi * 60 + s) as i64;
    // Serial number arithmetic (RFC 4034 §3.1.5): the value is taken modulo 2^32.
    Ok(secs.rem_euclid(1 << 32) as u32)
}

/// RFC 3597 §5: `\# length hex…`.
fn generic(f: &Fields<'_>, out: &mut Vec<u8>) -> Result<(), RdataError> {
    if f.toks.len() < 2 {
        return Err(whole(
            "\\# needs the RDATA's length and then its bytes in hex (RFC 3597)".into(),
        ));
    }
    let len = f.number(1, 65535, "RDATA length")? as usize;
    let start = out.len();
    for i in 2..f.toks.len() {
        text::hex(f.get(i), out).map_err(at(i))?;
    }
    let got = out.len() - start;
    if got != len {
        return Err(at(1)(format!(
            "\\# says {len} bytes of RDATA and {got} follow"
        )));
    }
    Ok(())
}

/// Length of the uncompressed wire name at the start of `b`.
fn wire_name_len(b: &[u8]) -> Option<usize> {
    let mut pos = 0;
    loop {
        let l = *b.get(pos)? as usize;
        if l > 63 {
            return None;
        }
        pos += 1 + l;
        if pos > 255 {
            return None;
        }
        if l == 0 {
            return (pos <= b.len()).then_some(pos);
        }
    }
}

/// Checks RDATA given in the generic form against what its type must hold (so what the answer
/// path reads from it, names and the SOA's fields, is there).
fn check_wire(code: u16, rdata: &[u8]) -> Result<(), String> {
    let name_at = |from: usize| rdata.get(from..).and_then(wire_name_len).map(|n| from + n);
    let ok = match code {
        rtype::A => rdata.len() == 4,
        rtype::AAAA => rdata.len() == 16,
        rtype::NS | rtype::CNAME | 12 | 39 => name_at(0) == Some(rdata.len()),
        rtype::MX => name_at(2) == Some(rdata.len()),
        rtype::SRV => name_at(6) == Some(rdata.len()),
        rtype::SOA => name_at(0)
            .and_then(name_at)
            .is_some_and(|n| n + 20 == rdata.len()),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "these {} bytes are not {} RDATA",
            rdata.len(),
            type_name(code)
        ))
    }
}

/// Types hickory-proto reads: the same tokens as one record of a tiny zone, under the same
/// origin, then encoded with names uncompressed.
fn via_hickory(code: u16, f: &Fields<'_>, out: &mut Vec<u8>) -> Result<(), RdataError> {
    let name = type_name(code);
    if matches!(
        RecordType::from(code),
        RecordType::Unknown(_) | RecordType::NULL
    ) {
        return Err(whole(format!(
            "{name} data can only be written in the RFC 3597 form: \\# <length> <hex>"
        )));
    }
    let mut line = format!("@ 0 IN {name}");
    for t in f.toks {
        let s = std::str::from_utf8(t.bytes(f.text))
            .map_err(|_| at(0)(format!("{name} data must be text")))?;
        line.push(' ');
        if t.quoted {
            line.push('"');
            line.push_str(s);
            line.push('"');
        } else {
            line.push_str(s);
        }
    }
    line.push('\n');
    let origin = match f.origin {
        Some(o) => Name::from_bytes(o).ok(),
        None => Some(Name::root()),
    };
    let bad = |e: String| whole(format!("cannot read the {name} data: {e}"));
    let (_, sets) = Parser::new(line, None, origin)
        .parse()
        .map_err(|e| bad(e.to_string()))?;
    let record = sets
        .into_values()
        .flat_map(|s| s.into_parts().records)
        .next()
        .ok_or_else(|| bad("no record".into()))?;
    let mut enc = BinEncoder::new(out);
    enc.set_name_encoding(NameEncoding::Uncompressed);
    record.data.emit(&mut enc).map_err(|e| bad(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::token::Lexer;
    use super::*;

    const ORIGIN: &[u8] = b"\x07example\x00";

    fn read(code: u16, text: &str) -> Result<Vec<u8>, RdataError> {
        let mut lx = Lexer::new(text.as_bytes());
        let mut toks = Vec::new();
        if lx.next_entry(&mut toks).is_none() {
            toks.clear();
        }
        let mut out = Vec::new();
        rdata(
            code,
            text.as_bytes(),
            &toks,
            Some(ORIGIN),
            &mut out,
            &mut Vec::new(),
        )
        .map(|()| out)
    }

    #[test]
    fn types_by_name_number_and_case() {
        assert_eq!(type_code(b"a"), Some(1));
        assert_eq!(type_code(b"Caa"), Some(257));
        assert_eq!(type_code(b"TYPE65534"), Some(65534));
        assert_eq!(type_code(b"sshfp"), Some(44));
        assert_eq!(type_code(b"FOO"), None);
        assert_eq!(type_code(b"TYPE65536"), None);
        assert_eq!(type_name(65534), "TYPE65534");
        assert_eq!(type_name(44), "SSHFP");
        assert_eq!(class(b"in"), Some(true));
        assert_eq!(class(b"CLASS1"), Some(true));
        assert_eq!(class(b"CH"), Some(false));
        assert_eq!(class(b"CLASS3"), Some(false));
        assert_eq!(class(b"INX"), None);
    }

    #[test]
    fn common_types_in_wire_form() {
        assert_eq!(read(1, "192.0.2.1").unwrap(), [192, 0, 2, 1]);
        assert_eq!(read(28, "2001:db8::1").unwrap()[..2], [0x20, 0x01]);
        assert_eq!(read(2, "ns").unwrap(), b"\x02ns\x07example\x00");
        assert_eq!(
            read(15, "10 Mail.example.").unwrap(),
            b"\x00\x0a\x04Mail\x07example\x00"
        );
        assert_eq!(
            read(33, "1 2 53 t.").unwrap(),
            b"\x00\x01\x00\x02\x00\x35\x01t\x00"
        );
        assert_eq!(read(16, "\"a b\" c").unwrap(), b"\x03a b\x01c");
        assert_eq!(
            read(257, "0 issue \"ca.example\"").unwrap(),
            b"\x00\x05issueca.example"
        );
        let soa = read(6, "ns h 1 1h 2 3 1d").unwrap();
        assert_eq!(
            &soa[soa.len() - 20..],
            &[
                0, 0, 0, 1, 0, 0, 14, 16, 0, 0, 0, 2, 0, 0, 0, 3, 0, 1, 81, 128
            ]
        );
        assert_eq!(
            read(43, "1 8 2 ABCD ef").unwrap(),
            [0, 1, 8, 2, 0xab, 0xcd, 0xef]
        );
        assert_eq!(read(13, "cpu os").unwrap(), b"\x03cpu\x02os");
        assert_eq!(read(17, "m. t.").unwrap(), b"\x01m\x00\x01t\x00");
        assert_eq!(
            read(256, "1 2 \"ftp://x\"").unwrap(),
            b"\x00\x01\x00\x02ftp://x"
        );
        assert_eq!(
            read(108, "00-00-5e-00-53-2a").unwrap(),
            [0, 0, 0x5e, 0, 0x53, 0x2a]
        );
        assert_eq!(
            read(48, "257 3 13 AQID BA==").unwrap(),
            [1, 1, 3, 13, 1, 2, 3, 4]
        );
        // NSEC: window 0, 1 octet for A (1) and NS (2), then window 0 up to RRSIG (46) and NSEC (47).
        let nsec = read(47, "n. A NS RRSIG NSEC").unwrap();
        assert_eq!(&nsec[..3], b"\x01n\x00");
        assert_eq!(&nsec[3..5], [0, 6]);
        assert_eq!(nsec[5], 0b0110_0000);
        assert_eq!(nsec[10], 0b0000_0011);
        let sig = read(46, "A 13 2 300 20300101000000 1 7 example. AQID").unwrap();
        assert_eq!(&sig[..8], [0, 1, 13, 2, 0, 0, 1, 44]);
        assert_eq!(
            u32::from_be_bytes(sig[8..12].try_into().unwrap()),
            1_893_456_000
        );
    }

    #[test]
    fn other_known_types_go_through_hickory() {
        let r = read(44, "1 1 0123456789abcdef").unwrap();
        assert_eq!(r, [1, 1, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
        // Relative names there are read under the same origin.
        let r = read(35, "100 10 \"u\" \"E2U+sip\" \"\" sip").unwrap();
        assert!(r.ends_with(b"\x03sip\x07example\x00"), "{r:?}");
        let e = read(52, "x").unwrap_err();
        assert!(e.message.starts_with("cannot read the TLSA data"), "{e:?}");
    }

    #[test]
    fn rfc_3597_generic_rdata_for_any_type() {
        assert_eq!(read(65534, "\\# 4 0A000001").unwrap(), [10, 0, 0, 1]);
        assert_eq!(read(65534, "\\# 4 0A00 0001").unwrap(), [10, 0, 0, 1]);
        assert_eq!(read(65534, "\\# 0").unwrap(), b"");
        assert_eq!(read(1, "\\# 4 C0000201").unwrap(), [192, 0, 2, 1]);
        let e = read(1, "\\# 3 C00002").unwrap_err();
        assert_eq!(e.message, "these 3 bytes are not A RDATA");
        let e = read(65534, "\\# 5 0A000001").unwrap_err();
        assert_eq!(
            (e.at, e.message.as_str()),
            (Some(1), "\\# says 5 bytes of RDATA and 4 follow")
        );
        let e = read(65534, "0A000001").unwrap_err();
        assert!(e.message.contains("RFC 3597 form"), "{e:?}");
    }

    #[test]
    fn errors_name_the_token_and_what_was_expected() {
        let e = read(1, "192.0.2.256").unwrap_err();
        assert_eq!(
            (e.at, e.message.as_str()),
            (Some(0), "192.0.2.256 is not an IPv4 address")
        );
        let e = read(15, "mail").unwrap_err();
        assert_eq!(
            (e.at, e.message.as_str()),
            (None, "MX needs a preference and an exchange")
        );
        let e = read(15, "x mail").unwrap_err();
        assert_eq!(
            (e.at, e.message.as_str()),
            (Some(0), "MX preference x is not a number")
        );
        let e = read(1, "192.0.2.1 192.0.2.2").unwrap_err();
        assert_eq!(e.at, Some(1));
        assert!(e.message.ends_with("192.0.2.2 is one too many"), "{e:?}");
        let e = read(33, "1 2 65536 t.").unwrap_err();
        assert_eq!(
            (e.at, e.message.as_str()),
            (Some(2), "SRV port 65536 exceeds 65535")
        );
    }
}
