//! Writing one response into a caller-owned, reusable buffer: the header echoed from the query,
//! records section by section with name compression (RFC 1035 §4.1.4), the OPT record last, and
//! RFC 2181 §9 truncation when records do not fit.
//!
//! Owns: the response's bytes and their order, what is compressed against what, and when TC is
//! set. Must not: allocate beyond the caller's buffer (no compression table on the heap, nothing
//! copied to start a response), parse queries (see `query`), or decide which records to write.

use std::net::IpAddr;

use super::query::ClientSubnet;
use super::{HEADER_LEN, POINTER, edns, flags, rtype};

/// The largest offset a compression pointer's 14 bits can reach (RFC 1035 §4.1.4).
const MAX_POINTER_TARGET: usize = 0x3FFF;

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
pub struct OptOut<'a> {
    /// Our UDP payload size, advertised to the client.
    pub payload: u16,
    /// Upper eight bits of an extended RCODE.
    pub ext_rcode: u8,
    /// DO bit, copied from the query.
    pub dnssec_ok: bool,
    /// CO bit (RFC 9824 §3.4), set when a signed zone answered a query that set it.
    pub compact_ok: bool,
    /// Client Subnet to echo, with the scope prefix that decided the answer.
    pub ecs: Option<(ClientSubnet, u8)>,
    /// The COOKIE option: the client's cookie, then our server cookie (RFC 7873 §4).
    pub cookie: Option<[u8; 24]>,
    /// Our NSID, when the query asked for it (RFC 5001 §2.2).
    pub nsid: Option<&'a [u8]>,
}

impl OptOut<'_> {
    fn rdata_len(&self) -> usize {
        self.ecs
            .map_or(0, |(c, _)| 8 + (c.source_prefix as usize).div_ceil(8))
            + self.cookie.map_or(0, |c| 4 + c.len())
            + self.nsid.map_or(0, |n| 4 + n.len())
    }

    fn wire_len(&self) -> usize {
        11 + self.rdata_len()
    }

    fn write(&self, buf: &mut Vec<u8>) {
        buf.push(0);
        buf.extend_from_slice(&rtype::OPT.to_be_bytes());
        buf.extend_from_slice(&self.payload.to_be_bytes());
        buf.push(self.ext_rcode);
        buf.push(0);
        let flags =
            if self.dnssec_ok { edns::DO } else { 0 } | if self.compact_ok { edns::CO } else { 0 };
        buf.extend_from_slice(&flags.to_be_bytes());
        buf.extend_from_slice(&(self.rdata_len() as u16).to_be_bytes());
        if let Some((c, scope)) = self.ecs {
            let n = (c.source_prefix as usize).div_ceil(8);
            buf.extend_from_slice(&edns::OPTION_ECS.to_be_bytes());
            buf.extend_from_slice(&((4 + n) as u16).to_be_bytes());
            let (family, octets): (u16, [u8; 16]) = match c.addr {
                IpAddr::V4(a) => {
                    let mut o = [0u8; 16];
                    o[..4].copy_from_slice(&a.octets());
                    (edns::FAMILY_IPV4, o)
                }
                IpAddr::V6(a) => (edns::FAMILY_IPV6, a.octets()),
            };
            buf.extend_from_slice(&family.to_be_bytes());
            buf.push(c.source_prefix);
            buf.push(scope);
            buf.extend_from_slice(&octets[..n]);
        }
        if let Some(c) = &self.cookie {
            buf.extend_from_slice(&edns::OPTION_COOKIE.to_be_bytes());
            buf.extend_from_slice(&(c.len() as u16).to_be_bytes());
            buf.extend_from_slice(c);
        }
        if let Some(n) = self.nsid {
            buf.extend_from_slice(&edns::OPTION_NSID.to_be_bytes());
            buf.extend_from_slice(&(n.len() as u16).to_be_bytes());
            buf.extend_from_slice(n);
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
        if self.count < self.entries.len() && offset <= MAX_POINTER_TARGET {
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
        if (HEADER_LEN..HEADER_LEN + self.qname.len()).contains(&at) {
            &self.qname[at - HEADER_LEN..]
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
        if len & POINTER == POINTER {
            let Some(&lo) = src.get(1) else {
                return false;
            };
            let to = (((len & !POINTER) as usize) << 8) | lo as usize;
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
    /// Compression entries the question made (what `clear_records` keeps).
    question_entries: usize,
    opt: Option<OptOut<'b>>,
}

/// A point in a response to come back to (`ResponseWriter::rollback`).
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    len: usize,
    counts: [u16; 3],
    compress: usize,
    section: Section,
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
        let query_flags = u16::from_be_bytes([packet[2], packet[3]]);
        // RFC 1035 §4.1.1 copies OPCODE and RD into the response; RFC 4035 §3.1.6 copies CD.
        let out_flags = flags::QR | (query_flags & (flags::OPCODE_MASK | flags::RD | flags::CD));
        buf.extend_from_slice(&packet[0..2]);
        buf.extend_from_slice(&out_flags.to_be_bytes());
        let qd: u16 = if question_end.is_some() { 1 } else { 0 };
        buf.extend_from_slice(&qd.to_be_bytes());
        buf.extend_from_slice(&[0; 6]);
        let mut compress = Compressor::new();
        let mut qname_used: &[u8] = &[];
        if let Some(end) = question_end {
            buf.extend_from_slice(&packet[HEADER_LEN..end]);
            if !qname.is_empty() {
                debug_assert!(packet[HEADER_LEN..end - 4].eq_ignore_ascii_case(qname));
                // Every suffix of the question name can be pointed at.
                qname_used = qname;
                let mut pos = 0;
                while pos < qname.len() && qname[pos] != 0 {
                    compress.add(HEADER_LEN + pos, qname.len() - pos);
                    pos += 1 + qname[pos] as usize;
                }
            }
        }
        let question_entries = compress.count;
        ResponseWriter {
            buf,
            qname: qname_used,
            limit: limit.max(HEADER_LEN),
            question_end: question_end.unwrap_or(HEADER_LEN),
            counts: [0; 3],
            section: Section::Answer,
            truncated: false,
            compress,
            question_entries,
            opt: None,
        }
    }

    /// Sets the RCODE (values above 15 go to the OPT's extended RCODE).
    pub fn set_rcode(&mut self, rc: u16) {
        let word = self.header_flags();
        self.set_header_flags((word & !flags::RCODE_MASK) | (rc & flags::RCODE_MASK));
        if let Some(o) = self.opt.as_mut() {
            o.ext_rcode = (rc >> 4) as u8;
        }
    }

    /// The RCODE set so far (low four bits).
    pub fn rcode(&self) -> u16 {
        self.header_flags() & flags::RCODE_MASK
    }

    /// Sets or clears the AA bit.
    pub fn set_aa(&mut self, aa: bool) {
        let word = self.header_flags();
        self.set_header_flags(if aa {
            word | flags::AA
        } else {
            word & !flags::AA
        });
    }

    /// Whether the response had to be truncated.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Attaches the OPT record; its size is reserved from the limit from now on.
    pub fn set_opt(&mut self, opt: OptOut<'b>) {
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

    /// The header's flags word as written so far.
    fn header_flags(&self) -> u16 {
        u16::from_be_bytes([self.buf[2], self.buf[3]])
    }

    fn set_header_flags(&mut self, word: u16) {
        self.buf[2..4].copy_from_slice(&word.to_be_bytes());
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
                self.buf
                    .extend_from_slice(&((u16::from(POINTER) << 8) | off).to_be_bytes());
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
        self.record_in_class(section, owner, rtype, rtype::CLASS_IN, ttl, rdata, required)
    }

    /// `record` in another class than IN (the CHAOS identity answers).
    #[allow(clippy::too_many_arguments)]
    pub fn record_in_class(
        &mut self,
        section: Section,
        owner: &[u8],
        rtype: u16,
        class: u16,
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
        self.buf.extend_from_slice(&class.to_be_bytes());
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

    /// Cuts the response back to its question and sets TC (RFC 2181 §9).
    fn truncate(&mut self) {
        self.buf.truncate(self.question_end);
        self.counts = [0; 3];
        let word = self.header_flags();
        self.set_header_flags(word | flags::TC);
        self.truncated = true;
    }

    /// Whether AA is set.
    pub fn aa(&self) -> bool {
        self.header_flags() & flags::AA != 0
    }

    /// The message written so far (header, question, records; no OPT yet) and the records
    /// in each section.
    pub fn written(&self) -> (&[u8], [u16; 3]) {
        (self.buf, self.counts)
    }

    /// Removes every record written (header flags and the question stay), to write them
    /// again in another form.
    pub fn clear_records(&mut self) {
        self.buf.truncate(self.question_end);
        self.counts = [0; 3];
        self.compress.count = self.question_entries;
        self.section = Section::Answer;
    }

    /// Where the response is now.
    pub fn mark(&self) -> Mark {
        Mark {
            len: self.buf.len(),
            counts: self.counts,
            compress: self.compress.count,
            section: self.section,
        }
    }

    /// Removes what was written after `mark` (nothing once the response is truncated).
    pub fn rollback(&mut self, mark: Mark) {
        if self.truncated {
            return;
        }
        self.buf.truncate(mark.len);
        self.counts = mark.counts;
        self.compress.count = mark.compress;
        self.section = mark.section;
    }

    /// Sets the OPT's CO bit (RFC 9824 §3.4), when there is an OPT.
    pub fn set_compact_ok(&mut self) {
        if let Some(o) = self.opt.as_mut() {
            o.compact_ok = true;
        }
    }

    /// Bytes the OPT record will take at the end of the message (0 without one).
    pub fn opt_len(&self) -> usize {
        self.opt.as_ref().map_or(0, OptOut::wire_len)
    }

    /// Where the question ends (the header's end when there is none).
    pub fn question_end(&self) -> usize {
        self.question_end
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

/// Cuts a finished response, in place, back to its header, question and OPT record (the last
/// `opt_len` bytes). False when the buffer is not such a response.
fn keep_question_and_opt(buf: &mut Vec<u8>, question_end: usize, opt_len: usize) -> bool {
    if buf.len() < question_end + opt_len || question_end < HEADER_LEN {
        return false;
    }
    let opt_start = buf.len() - opt_len;
    buf.copy_within(opt_start.., question_end);
    buf.truncate(question_end + opt_len);
    buf[6..10].fill(0);
    buf[10..12].copy_from_slice(&u16::from(opt_len > 0).to_be_bytes());
    true
}

/// Rewrites a finished response, in place, as its truncated form (RFC 2181 §9): header and
/// question kept, the OPT record (the last `opt_len` bytes) kept, every other record dropped,
/// TC set. What a rate limiter "slips" instead of the full answer: no larger than the query (but for the OPT's cookie and NSID, which the client asked for), so
/// nothing is amplified, and a real client behind the address retries over TCP.
pub fn truncate_in_place(buf: &mut Vec<u8>, question_end: usize, opt_len: usize) {
    if keep_question_and_opt(buf, question_end, opt_len) {
        let word = u16::from_be_bytes([buf[2], buf[3]]) | flags::TC;
        buf[2..4].copy_from_slice(&word.to_be_bytes());
    }
}

/// Rewrites a finished response, in place, as an error `rc` without records: header, question
/// and OPT record kept (the extended RCODE's upper bits written into the OPT). What a rate
/// limiter slips to a client that sent a cookie: BADCOOKIE, whose OPT already carries a fresh
/// server cookie for the retry (RFC 7873 §5.2.3). Without an OPT only the low four bits fit.
pub fn rcode_in_place(buf: &mut Vec<u8>, question_end: usize, opt_len: usize, rc: u16) {
    if keep_question_and_opt(buf, question_end, opt_len) {
        let word =
            (u16::from_be_bytes([buf[2], buf[3]]) & !flags::RCODE_MASK) | (rc & flags::RCODE_MASK);
        buf[2..4].copy_from_slice(&word.to_be_bytes());
        if opt_len >= 11 {
            // OPT: root name (1), TYPE (2), CLASS (2), then EXTENDED-RCODE (RFC 6891 §6.1.3).
            buf[question_end + 5] = (rc >> 4) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::parse_query;
    use crate::wire::query::tests::query;

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
        assert_ne!(u16::from_be_bytes([buf[2], buf[3]]) & flags::TC, 0);
    }

    #[test]
    fn a_finished_answer_truncates_in_place_to_question_and_opt() {
        let p = query(b"\x03www\x07example\x00", 1, &[], 0);
        let q = parse_query(&p).unwrap();
        let mut buf = Vec::new();
        let mut w =
            ResponseWriter::new(&mut buf, &p, Some(q.question_end), q.qname.as_bytes(), 1232);
        w.set_aa(true);
        w.set_opt(OptOut {
            payload: 1232,
            ext_rcode: 0,
            dnssec_ok: true,
            compact_ok: false,
            ecs: None,
            cookie: Some([7; 24]),
            nsid: Some(b"ns1"),
        });
        for _ in 0..3 {
            assert!(w.record(
                Section::Answer,
                b"\x03www\x07example\x00",
                1,
                60,
                &[1; 4],
                true
            ));
        }
        let (question_end, opt_len) = (w.question_end(), w.opt_len());
        w.finish();
        let opt = buf[buf.len() - opt_len..].to_vec();
        truncate_in_place(&mut buf, question_end, opt_len);
        assert_eq!(buf.len(), question_end + opt_len);
        assert_eq!(
            &buf[question_end..],
            &opt[..],
            "the OPT record, DO bit included"
        );
        let word = u16::from_be_bytes([buf[2], buf[3]]);
        assert_ne!(word & flags::TC, 0);
        assert_ne!(word & flags::AA, 0, "AA kept");
        assert_eq!(
            &buf[4..12],
            &[0, 1, 0, 0, 0, 0, 0, 1],
            "QD 1, AN 0, NS 0, AR 1 (OPT)"
        );
        // An independent decoder reads the options back.
        let m = hickory_proto::op::Message::from_vec(&buf).unwrap();
        let e = m.edns.unwrap();
        assert!(
            e.option(hickory_proto::rr::rdata::opt::EdnsCode::Cookie)
                .is_some()
        );
        assert!(
            e.option(hickory_proto::rr::rdata::opt::EdnsCode::NSID)
                .is_some()
        );

        let mut bad = buf.clone();
        rcode_in_place(&mut bad, question_end, opt_len, 23);
        let m = hickory_proto::op::Message::from_vec(&bad).unwrap();
        assert_eq!(
            u16::from(m.response_code),
            23,
            "BADCOOKIE, its upper bits in the OPT"
        );
        assert!(m.answers.is_empty());
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
