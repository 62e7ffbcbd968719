//! Reading back the records of a response this server wrote: owners decompressed and
//! lower-cased, RDATA as written (uncompressed, as `ResponseWriter` takes it).
//!
//! Owns: that walk over the answer, authority and additional sections. Must not: allocate
//! (the caller's reusable buffers receive the names and records), or accept pointers that do
//! not lead strictly backwards.

use super::response::Section;
use super::{HEADER_LEN, POINTER};

/// One record read back: ranges into the caller's name buffer and the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rec {
    /// Its section.
    pub section: Section,
    /// The owner, lower-cased: `(start, len)` in the names buffer.
    pub owner: (u32, u32),
    /// Type.
    pub rtype: u16,
    /// Class.
    pub class: u16,
    /// TTL.
    pub ttl: u32,
    /// RDATA: `(start, len)` in the message.
    pub rdata: (u32, u32),
}

/// Appends the name at `at` in `msg`, decompressed and lower-cased, to `out`; returns where
/// the name ends in place (after its pointer, if any).
fn read_name(msg: &[u8], mut at: usize, out: &mut Vec<u8>) -> Option<usize> {
    let (start, mut end) = (out.len(), None);
    loop {
        let l = *msg.get(at)?;
        if l & POINTER == POINTER {
            let to = (usize::from(l & !POINTER) << 8) | usize::from(*msg.get(at + 1)?);
            end.get_or_insert(at + 2);
            if to >= at {
                return None;
            }
            at = to;
            continue;
        }
        let label = msg.get(at..at + 1 + l as usize)?;
        out.extend(label.iter().map(u8::to_ascii_lowercase));
        if out.len() - start > super::name::MAX_NAME {
            return None;
        }
        at += 1 + l as usize;
        if l == 0 {
            return Some(end.unwrap_or(at));
        }
    }
}

/// Reads the records after the question (which ends at `question_end`) of `msg`, whose
/// sections hold `counts` records, into `out`; owners go to `names`. False when the message
/// is not as written by `ResponseWriter`.
pub fn read_records(
    msg: &[u8],
    question_end: usize,
    counts: [u16; 3],
    names: &mut Vec<u8>,
    out: &mut Vec<Rec>,
) -> bool {
    let mut at = question_end.max(HEADER_LEN);
    for (section, n) in [Section::Answer, Section::Authority, Section::Additional]
        .into_iter()
        .zip(counts)
    {
        for _ in 0..n {
            let start = names.len();
            let Some(after) = read_name(msg, at, names) else {
                return false;
            };
            let Some(fixed) = msg.get(after..after + 10) else {
                return false;
            };
            let rdlen = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
            let rd = after + 10;
            if rd + rdlen > msg.len() {
                return false;
            }
            out.push(Rec {
                section,
                owner: (start as u32, (names.len() - start) as u32),
                rtype: u16::from_be_bytes([fixed[0], fixed[1]]),
                class: u16::from_be_bytes([fixed[2], fixed[3]]),
                ttl: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
                rdata: (rd as u32, rdlen as u32),
            });
            at = rd + rdlen;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ResponseWriter;
    use crate::wire::parse_query;
    use crate::wire::query::tests::query;

    #[test]
    fn records_read_back_as_written_through_compression() {
        let p = query(b"\x03WWW\x07Example\x00", 1, &[], 0);
        let q = parse_query(&p).unwrap();
        let mut buf = Vec::new();
        let mut w =
            ResponseWriter::new(&mut buf, &p, Some(q.question_end), q.qname.as_bytes(), 1232);
        assert!(w.record(
            Section::Answer,
            b"\x03www\x07example\x00",
            1,
            60,
            &[1, 2, 3, 4],
            true
        ));
        assert!(w.record(
            Section::Authority,
            b"\x07example\x00",
            2,
            70,
            b"\x02ns\x07example\x00",
            true
        ));
        assert!(w.record(
            Section::Additional,
            b"\x02ns\x07example\x00",
            1,
            80,
            &[5, 6, 7, 8],
            true
        ));
        let (msg, counts) = w.written();
        let (mut names, mut recs) = (Vec::new(), Vec::new());
        assert!(read_records(
            msg,
            q.question_end,
            counts,
            &mut names,
            &mut recs
        ));
        let owner = |r: &Rec| &names[r.owner.0 as usize..(r.owner.0 + r.owner.1) as usize];
        assert_eq!(recs.len(), 3);
        assert_eq!(owner(&recs[0]), b"\x03www\x07example\x00");
        assert_eq!(owner(&recs[1]), b"\x07example\x00");
        assert_eq!(owner(&recs[2]), b"\x02ns\x07example\x00");
        assert_eq!((recs[1].rtype, recs[1].ttl), (2, 70));
        let rd = recs[2].rdata;
        assert_eq!(&msg[rd.0 as usize..(rd.0 + rd.1) as usize], &[5, 6, 7, 8]);
        assert_eq!(recs[2].section, Section::Additional);
    }
}
