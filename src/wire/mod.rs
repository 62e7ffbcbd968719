//! The DNS wire format on the answer path: parsing a query without allocating, and writing a
//! response straight into a reusable buffer with name compression and RFC 2181 §9 truncation.
//!
//! Owns: the exact bytes we send. Must not: know about zones, policies or health; it is told what
//! records to write and writes them, or reports that they did not fit.

use std::net::IpAddr;

pub mod name;

use name::{MAX_NAME, NameBuf};

/// Record types and classes this server names in code (RFC 1035 §3.2.2, RFC 6891, RFC 8482).
pub mod rtype {
    pub const A: u16 = 1;
    pub const NS: u16 = 2;
    pub const CNAME: u16 = 5;
    pub const SOA: u16 = 6;
    pub const MX: u16 = 15;
    pub const AAAA: u16 = 28;
    pub const SRV: u16 = 33;
    pub const OPT: u16 = 41;
    pub const DS: u16 = 43;
    pub const IXFR: u16 = 251;
    pub const AXFR: u16 = 252;
    pub const MAILB: u16 = 253;
    pub const MAILA: u16 = 254;
    pub const ANY: u16 = 255;
    pub const CLASS_IN: u16 = 1;
}

/// Response codes (RFC 1035 §4.1.1, RFC 6891 §9 for the extended BADVERS).
pub mod rcode {
    pub const NOERROR: u16 = 0;
    pub const FORMERR: u16 = 1;
    pub const SERVFAIL: u16 = 2;
    pub const NXDOMAIN: u16 = 3;
    pub const NOTIMP: u16 = 4;
    pub const REFUSED: u16 = 5;
    pub const BADVERS: u16 = 16;
}

/// EDNS option code of Client Subnet (RFC 7871 §6).
const OPT_ECS: u16 = 8;
/// The smallest UDP payload every client accepts (RFC 1035 §2.3.4, RFC 6891 §6.2.5).
pub const MIN_UDP_PAYLOAD: u16 = 512;

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
    /// Client Subnet, when present.
    pub ecs: Option<ClientSubnet>,
}

/// A parsed query. The question's raw bytes stay in the packet and are echoed from there, so the
/// letter case goes back as it came.
#[derive(Clone, Debug)]
pub struct Query {
    /// Message ID.
    pub id: u16,
    /// Header flags word as received (QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE).
    pub flags: u16,
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

impl Query {
    /// The query's OPCODE.
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xF) as u8
    }
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

fn u16_at(p: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*p.get(i)?, *p.get(i + 1)?]))
}

/// Reads an uncompressed name at `pos` into `out` (lower-cased). Returns the offset after it.
/// Compression pointers are not accepted in a question (no sane client sends one).
fn read_question_name(p: &[u8], pos: usize, out: &mut NameBuf) -> Option<usize> {
    Some(pos + out.set_wire(p.get(pos..)?)?)
}

/// Skips a possibly compressed name; returns the offset after it and whether it was the root.
fn skip_name(p: &[u8], mut pos: usize) -> Option<(usize, bool)> {
    let mut root = true;
    let mut total = 0usize;
    loop {
        let len = *p.get(pos)? as usize;
        match len & 0xC0 {
            0x00 if len == 0 => return Some((pos + 1, root)),
            0x00 => {
                root = false;
                total += len + 1;
                if total > MAX_NAME {
                    return None;
                }
                pos += 1 + len;
            }
            0xC0 => {
                p.get(pos + 1)?;
                return Some((pos + 2, false));
            }
            _ => return None,
        }
    }
}

/// Parses the ECS option data (RFC 7871 §6), rejecting what §7.1.1 calls malformed.
fn parse_ecs(d: &[u8]) -> Option<ClientSubnet> {
    let family = u16_at(d, 0)?;
    let source = *d.get(2)?;
    let scope = *d.get(3)?;
    let addr_bytes = &d[4..];
    let max = match family {
        1 => 32,
        2 => 128,
        _ => return None,
    };
    if source > max || scope > max || addr_bytes.len() != (source as usize).div_ceil(8) {
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
    let addr = if family == 1 {
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
pub fn parse_query(p: &[u8]) -> Result<Query, ParseError> {
    let formerr = |question_end, edns| ParseError::Reply {
        rcode: rcode::FORMERR,
        question_end,
        edns,
    };
    if p.len() < 12 {
        return Err(ParseError::Drop);
    }
    let id = u16::from_be_bytes([p[0], p[1]]);
    let flags = u16::from_be_bytes([p[2], p[3]]);
    if flags & 0x8000 != 0 {
        return Err(ParseError::Drop);
    }
    let qd = u16::from_be_bytes([p[4], p[5]]);
    let an = u16::from_be_bytes([p[6], p[7]]);
    let ns = u16::from_be_bytes([p[8], p[9]]);
    let ar = u16::from_be_bytes([p[10], p[11]]);
    let opcode = (flags >> 11) & 0xF;
    if qd != 1 {
        let rcode = if opcode != 0 {
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
    let pos = read_question_name(p, 12, &mut qname).ok_or(formerr(None, None))?;
    let qtype = u16_at(p, pos).ok_or(formerr(None, None))?;
    let qclass = u16_at(p, pos + 2).ok_or(formerr(None, None))?;
    let question_end = pos + 4;
    let mut pos = question_end;
    // Answer and authority sections of a query carry nothing we use; skip them soundly.
    for _ in 0..(an as usize + ns as usize) {
        let (after, _) = skip_name(p, pos).ok_or(formerr(Some(question_end), None))?;
        let rdlen = u16_at(p, after + 8).ok_or(formerr(Some(question_end), None))? as usize;
        pos = after + 10 + rdlen;
        if pos > p.len() {
            return Err(formerr(Some(question_end), None));
        }
    }
    let mut edns: Option<Edns> = None;
    for _ in 0..ar {
        let (after, root) = skip_name(p, pos).ok_or(formerr(Some(question_end), edns))?;
        let t = u16_at(p, after).ok_or(formerr(Some(question_end), edns))?;
        let class = u16_at(p, after + 2).ok_or(formerr(Some(question_end), edns))?;
        let ttl_hi = u16_at(p, after + 4).ok_or(formerr(Some(question_end), edns))?;
        let ttl_lo = u16_at(p, after + 6).ok_or(formerr(Some(question_end), edns))?;
        let rdlen = u16_at(p, after + 8).ok_or(formerr(Some(question_end), edns))? as usize;
        let rd_start = after + 10;
        let rdata = p
            .get(rd_start..rd_start + rdlen)
            .ok_or(formerr(Some(question_end), edns))?;
        pos = rd_start + rdlen;
        if t != rtype::OPT {
            continue;
        }
        // RFC 6891 §6.1.1: one OPT, owned by the root.
        if edns.is_some() || !root {
            return Err(formerr(Some(question_end), None));
        }
        let mut e = Edns {
            payload: class,
            version: (ttl_hi & 0xFF) as u8,
            dnssec_ok: ttl_lo & 0x8000 != 0,
            ecs: None,
        };
        let mut i = 0;
        while i < rdata.len() {
            let code = u16_at(rdata, i).ok_or(formerr(Some(question_end), None))?;
            let len = u16_at(rdata, i + 2).ok_or(formerr(Some(question_end), None))? as usize;
            let data = rdata
                .get(i + 4..i + 4 + len)
                .ok_or(formerr(Some(question_end), None))?;
            if code == OPT_ECS && e.version == 0 {
                if e.ecs.is_some() {
                    return Err(formerr(Some(question_end), Some(e)));
                }
                e.ecs = Some(parse_ecs(data).ok_or(formerr(Some(question_end), Some(e)))?);
            }
            i += 4 + len;
        }
        edns = Some(e);
    }
    if opcode != 0 {
        return Err(ParseError::Reply {
            rcode: rcode::NOTIMP,
            question_end: Some(question_end),
            edns,
        });
    }
    Ok(Query {
        id,
        flags,
        qname,
        qtype,
        qclass,
        question_end,
        edns,
    })
}

/// Sections of a response, in the order they must be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// The answer section.
    Answer = 0,
    /// The authority section.
    Authority = 1,
    /// The additional section.
    Additional = 2,
}

/// The OPT record a response carries.
#[derive(Clone, Copy, Debug)]
pub struct OptOut {
    /// Our UDP payload size, advertised to the client.
    pub payload: u16,
    /// Upper eight bits of an extended RCODE.
    pub ext_rcode: u8,
    /// DO bit, copied from the query.
    pub dnssec_ok: bool,
    /// Client Subnet to echo, with the scope prefix that decided the answer.
    pub ecs: Option<(ClientSubnet, u8)>,
}

impl OptOut {
    fn wire_len(&self) -> usize {
        11 + self
            .ecs
            .map_or(0, |(c, _)| 8 + (c.source_prefix as usize).div_ceil(8))
    }

    fn write(&self, buf: &mut Vec<u8>) {
        buf.push(0);
        buf.extend_from_slice(&rtype::OPT.to_be_bytes());
        buf.extend_from_slice(&self.payload.to_be_bytes());
        buf.push(self.ext_rcode);
        buf.push(0);
        buf.extend_from_slice(&(if self.dnssec_ok { 0x8000u16 } else { 0 }).to_be_bytes());
        match self.ecs {
            None => buf.extend_from_slice(&[0, 0]),
            Some((c, scope)) => {
                let n = (c.source_prefix as usize).div_ceil(8);
                buf.extend_from_slice(&((8 + n) as u16).to_be_bytes());
                buf.extend_from_slice(&OPT_ECS.to_be_bytes());
                buf.extend_from_slice(&((4 + n) as u16).to_be_bytes());
                let (family, octets): (u16, [u8; 16]) = match c.addr {
                    IpAddr::V4(a) => {
                        let mut o = [0u8; 16];
                        o[..4].copy_from_slice(&a.octets());
                        (1, o)
                    }
                    IpAddr::V6(a) => (2, a.octets()),
                };
                buf.extend_from_slice(&family.to_be_bytes());
                buf.push(c.source_prefix);
                buf.push(scope);
                buf.extend_from_slice(&octets[..n]);
            }
        }
    }
}

/// Names already in the packet that later names may point at (RFC 1035 §4.1.4).
///
/// Only offsets are kept: a candidate is compared against the packet itself (following the
/// pointers written there), so starting a response copies nothing.
struct Compressor {
    /// (offset in the packet, wire length of the name written there once uncompressed).
    entries: [(u16, u8); 32],
    count: usize,
}

impl Compressor {
    fn new() -> Self {
        Compressor {
            entries: [(0, 0); 32],
            count: 0,
        }
    }

    /// The offset of a name in the packet equal to `suffix` (lower-cased, uncompressed).
    fn find(&self, view: View<'_>, suffix: &[u8]) -> Option<u16> {
        self.entries[..self.count]
            .iter()
            .find(|&&(off, len)| len as usize == suffix.len() && same_name(view, off, suffix))
            .map(|e| e.0)
    }

    fn add(&mut self, offset: usize, len: usize) {
        if self.count < self.entries.len() && offset <= 0x3FFF {
            self.entries[self.count] = (offset as u16, len as u8);
            self.count += 1;
        }
    }
}

/// The packet being written as name comparisons see it: every name we write is lower-cased,
/// but the question keeps the client's letter case, so its name is read from the lower-cased
/// copy the parser made.
#[derive(Clone, Copy)]
struct View<'a> {
    buf: &'a [u8],
    qname: &'a [u8],
}

impl View<'_> {
    /// The bytes from offset `at` on.
    fn at(&self, at: usize) -> &[u8] {
        if (12..12 + self.qname.len()).contains(&at) {
            &self.qname[at - 12..]
        } else {
            self.buf.get(at..).unwrap_or(&[])
        }
    }
}

/// Whether the name at `at` (possibly ending in a pointer) equals `name` (lower-cased,
/// uncompressed). Pointers must lead strictly backwards, as every pointer this writer makes
/// does; anything else compares unequal.
fn same_name(view: View<'_>, at: u16, name: &[u8]) -> bool {
    let (mut at, mut i) = (at as usize, 0);
    loop {
        let src = view.at(at);
        let Some(&len) = src.first() else {
            return false;
        };
        if len & 0xC0 == 0xC0 {
            let Some(&lo) = src.get(1) else {
                return false;
            };
            let to = (((len & 0x3F) as usize) << 8) | lo as usize;
            if to >= at {
                return false;
            }
            at = to;
            continue;
        }
        let step = 1 + len as usize;
        match (src.get(..step), name.get(i..i + step)) {
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
        if len == 0 {
            return true;
        }
        at += step;
        i += step;
    }
}

/// Writes one response into a caller-owned buffer, section by section.
///
/// Records that do not fit within `limit` are handled per RFC 2181 §9: an optional additional
/// record is left out; anything else truncates the response to its question with TC set.
pub struct ResponseWriter<'b> {
    buf: &'b mut Vec<u8>,
    /// The question's name, lower-cased (empty when not compressed against).
    qname: &'b [u8],
    limit: usize,
    question_end: usize,
    counts: [u16; 3],
    section: Section,
    truncated: bool,
    compress: Compressor,
    opt: Option<OptOut>,
}

impl<'b> ResponseWriter<'b> {
    /// Starts a response to `packet` (whose question ends at `question_end`, when it has one),
    /// echoing ID, opcode, RD and CD, and the question bytes as received. `qname` is the
    /// question's name lower-cased, exactly as the parser gives it for this packet; later names
    /// are compressed against it. Empty when unknown (an error reply): then nothing points at
    /// the question.
    pub fn new(
        buf: &'b mut Vec<u8>,
        packet: &[u8],
        question_end: Option<usize>,
        qname: &'b [u8],
        limit: usize,
    ) -> Self {
        buf.clear();
        let flags = u16::from_be_bytes([packet[2], packet[3]]);
        // QR=1; keep OPCODE, RD (0x0100) and CD (0x0010).
        let out_flags = 0x8000 | (flags & 0x7800) | (flags & 0x0100) | (flags & 0x0010);
        buf.extend_from_slice(&packet[0..2]);
        buf.extend_from_slice(&out_flags.to_be_bytes());
        let qd: u16 = if question_end.is_some() { 1 } else { 0 };
        buf.extend_from_slice(&qd.to_be_bytes());
        buf.extend_from_slice(&[0; 6]);
        let mut compress = Compressor::new();
        let mut qname_used: &[u8] = &[];
        if let Some(end) = question_end {
            buf.extend_from_slice(&packet[12..end]);
            if !qname.is_empty() {
                debug_assert!(packet[12..end - 4].eq_ignore_ascii_case(qname));
                // Every suffix of the question name can be pointed at.
                qname_used = qname;
                let mut pos = 0;
                while pos < qname.len() && qname[pos] != 0 {
                    compress.add(12 + pos, qname.len() - pos);
                    pos += 1 + qname[pos] as usize;
                }
            }
        }
        ResponseWriter {
            buf,
            qname: qname_used,
            limit: limit.max(12),
            question_end: question_end.unwrap_or(12),
            counts: [0; 3],
            section: Section::Answer,
            truncated: false,
            compress,
            opt: None,
        }
    }

    /// Sets the RCODE (values above 15 go to the OPT's extended RCODE).
    pub fn set_rcode(&mut self, rc: u16) {
        self.buf[3] = (self.buf[3] & 0xF0) | (rc & 0xF) as u8;
        if let Some(o) = self.opt.as_mut() {
            o.ext_rcode = (rc >> 4) as u8;
        }
    }

    /// The RCODE set so far (low four bits).
    pub fn rcode(&self) -> u16 {
        (self.buf[3] & 0xF) as u16
    }

    /// Sets or clears the AA bit.
    pub fn set_aa(&mut self, aa: bool) {
        if aa {
            self.buf[2] |= 0x04;
        } else {
            self.buf[2] &= !0x04;
        }
    }

    /// Whether the response had to be truncated.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Attaches the OPT record; its size is reserved from the limit from now on.
    pub fn set_opt(&mut self, opt: OptOut) {
        let rc_hi = self.opt.map_or(0, |o| o.ext_rcode);
        self.opt = Some(OptOut {
            ext_rcode: opt.ext_rcode.max(rc_hi),
            ..opt
        });
    }

    /// Sets the SCOPE PREFIX-LENGTH of the echoed Client Subnet option (RFC 7871 §7.2.1).
    pub fn set_ecs_scope(&mut self, scope: u8) {
        if let Some((_, s)) = self.opt.as_mut().and_then(|o| o.ecs.as_mut()) {
            *s = scope;
        }
    }

    /// Records already written in `section`.
    pub fn count(&self, section: Section) -> u16 {
        self.counts[section as usize]
    }

    fn budget(&self) -> usize {
        self.limit
            .saturating_sub(self.opt.as_ref().map_or(0, OptOut::wire_len))
    }

    /// Writes a name, compressing against what the packet already holds.
    fn write_name(&mut self, key: &[u8]) {
        let mut pos = 0;
        while pos < key.len() && key[pos] != 0 {
            let suffix = &key[pos..];
            let view = View {
                buf: self.buf,
                qname: self.qname,
            };
            if let Some(off) = self.compress.find(view, suffix) {
                self.buf.extend_from_slice(&(0xC000 | off).to_be_bytes());
                return;
            }
            let here = self.buf.len();
            self.compress.add(here, suffix.len());
            let l = key[pos] as usize;
            self.buf.extend_from_slice(&key[pos..pos + 1 + l]);
            pos += 1 + l;
        }
        self.buf.push(0);
    }

    /// Writes one record. `owner` is lower-cased wire form; `rdata` is uncompressed wire form.
    /// `required` says whether a truncated response must carry TC when it does not fit (always
    /// true outside the additional section; in it, true only for glue RFC 9471 requires).
    /// Returns false when the response is (now) truncated.
    pub fn record(
        &mut self,
        section: Section,
        owner: &[u8],
        rtype: u16,
        ttl: u32,
        rdata: &[u8],
        required: bool,
    ) -> bool {
        if self.truncated {
            return false;
        }
        debug_assert!(section >= self.section, "sections are written in order");
        self.section = section;
        let mark = self.buf.len();
        let saved = self.compress.count;
        self.write_name(owner);
        self.buf.extend_from_slice(&rtype.to_be_bytes());
        self.buf.extend_from_slice(&rtype::CLASS_IN.to_be_bytes());
        self.buf.extend_from_slice(&ttl.to_be_bytes());
        self.buf
            .extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        self.buf.extend_from_slice(rdata);
        if self.buf.len() <= self.budget() {
            self.counts[section as usize] += 1;
            return true;
        }
        self.buf.truncate(mark);
        self.compress.count = saved;
        if section == Section::Additional && !required {
            return true;
        }
        self.truncate();
        false
    }

    /// Cuts the response back to its question and sets TC.
    pub fn truncate(&mut self) {
        self.buf.truncate(self.question_end);
        self.counts = [0; 3];
        self.buf[2] |= 0x02;
        self.truncated = true;
    }

    /// Finishes the header counts and appends the OPT record. Returns the message length.
    pub fn finish(self) -> usize {
        let mut ar = self.counts[2];
        if let Some(opt) = self.opt {
            opt.write(self.buf);
            ar += 1;
        }
        self.buf[6..8].copy_from_slice(&self.counts[0].to_be_bytes());
        self.buf[8..10].copy_from_slice(&self.counts[1].to_be_bytes());
        self.buf[10..12].copy_from_slice(&ar.to_be_bytes());
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &[u8], qtype: u16, extra: &[u8], arcount: u16) -> Vec<u8> {
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
        assert_eq!((q.qtype, q.qclass, q.id), (1, 1, 0x1234));
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
    fn two_opts_are_formerr() {
        let mut extra = opt(1232, 0, &[]);
        extra.extend(opt(1232, 0, &[]));
        let p = query(b"\x00", 1, &extra, 2);
        assert!(matches!(
            parse_query(&p),
            Err(ParseError::Reply { rcode: 1, .. })
        ));
    }

    /// Writes `records` (section, owner, type, rdata) as the response to a query for `qname`;
    /// returns the packet and whether every record fitted in `limit`.
    fn respond(
        qname: &[u8],
        records: &[(Section, &[u8], u16, &[u8])],
        limit: usize,
    ) -> (Vec<u8>, bool) {
        let p = query(qname, 1, &[], 0);
        let q = parse_query(&p).unwrap();
        let mut buf = Vec::new();
        let mut w = ResponseWriter::new(
            &mut buf,
            &p,
            Some(q.question_end),
            q.qname.as_bytes(),
            limit,
        );
        let fitted = records
            .iter()
            .all(|&(section, owner, t, rdata)| w.record(section, owner, t, 60, rdata, true));
        w.finish();
        (buf, fitted)
    }

    #[test]
    fn writer_compresses_against_question_and_truncates() {
        let (buf, fitted) = respond(
            b"\x03WWW\x07example\x00",
            &[
                (Section::Answer, b"\x03www\x07example\x00", 1, &[1, 2, 3, 4]),
                (
                    Section::Authority,
                    b"\x07example\x00",
                    2,
                    b"\x02ns\x07example\x00",
                ),
            ],
            512,
        );
        assert!(fitted);
        let len = buf.len();
        // header 12 + question 17 + answer (2+10+4) + authority (2+10+12)
        assert_eq!(len, 12 + 17 + 16 + 24);
        assert_eq!(&buf[29..31], &[0xC0, 12]);
        assert_eq!(&buf[45..47], &[0xC0, 16]);

        let (buf, fitted) = respond(
            b"\x03WWW\x07example\x00",
            &[(Section::Answer, b"\x00", 16, &[0; 30])],
            40,
        );
        assert!(!fitted);
        assert_eq!(buf.len(), 29);
        assert_eq!(buf[2] & 0x02, 0x02);
    }

    #[test]
    fn writer_compresses_through_pointers_it_wrote() {
        // The answer's owner `a.www.example` is written as `a` + pointer to the question; the
        // next owner `b.a.www.example` must then point at that `a` label, reached through it.
        let (buf, fitted) = respond(
            b"\x03wWw\x07EXAMPLE\x00",
            &[
                (Section::Answer, b"\x01a\x03www\x07example\x00", 1, &[1; 4]),
                (
                    Section::Answer,
                    b"\x01b\x01a\x03www\x07example\x00",
                    1,
                    &[2; 4],
                ),
                (Section::Answer, b"\x01c\x03www\x07exampla\x00", 1, &[3; 4]),
            ],
            512,
        );
        assert!(fitted);
        // a: label at 29, then a pointer to the question (12).
        assert_eq!(&buf[29..33], &[1, b'a', 0xC0, 12]);
        // b: its label at 47, then a pointer to 29.
        assert_eq!(&buf[47..51], &[1, b'b', 0xC0, 29]);
        // c.www.exampla shares no suffix but the root: written in full.
        assert_eq!(&buf[65..67], &[1, b'c']);
        assert_eq!(&buf[67..80], b"\x03www\x07exampla\x00");
        // An independent decoder reads back every owner as written.
        let m = hickory_proto::op::Message::from_vec(&buf).unwrap();
        let owners: Vec<String> = m.answers.iter().map(|r| r.name.to_ascii()).collect();
        assert_eq!(
            owners,
            ["a.wWw.EXAMPLE.", "b.a.wWw.EXAMPLE.", "c.www.exampla."]
        );
    }
}
