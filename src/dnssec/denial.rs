//! RFC 9824 compact denial of existence: the one NSEC a signed negative answer carries.
//!
//! Owns: the NSEC RDATA (next name `\000.<owner>`, the type bitmap of RFC 4034 §4.1.2) and
//! which types a bitmap lists. Must not: decide that an answer is negative (the lookup did).

use crate::wire::name::MAX_NAME;
use crate::wire::rtype;

/// Appends the NSEC RDATA at `owner` (lower-cased wire form) listing `types` (any order,
/// duplicates allowed): the next name is `\000.owner` (RFC 9824 §2), or the owner itself when
/// that would be longer than a name may be (the NSEC then covers nothing either way).
pub fn nsec_rdata(owner: &[u8], types: &mut [u16], out: &mut Vec<u8>) {
    if owner.len() + 2 <= MAX_NAME {
        out.extend_from_slice(&[1, 0]);
    }
    out.extend_from_slice(owner);
    types.sort_unstable();
    let mut i = 0;
    while i < types.len() {
        let window = (types[i] >> 8) as u8;
        let mut bits = [0u8; 32];
        let mut len = 0;
        while i < types.len() && (types[i] >> 8) as u8 == window {
            let low = (types[i] & 0xFF) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            len = len.max(low / 8 + 1);
            i += 1;
        }
        out.push(window);
        out.push(len as u8);
        out.extend_from_slice(&bits[..len]);
    }
}

/// The types a compact denial lists for a name that does not exist: RRSIG, NSEC, NXNAME.
pub const NXNAME_TYPES: [u16; 3] = [rtype::RRSIG, rtype::NSEC, rtype::NXNAME];

#[cfg(test)]
mod tests {
    use hickory_proto::dnssec::rdata::NSEC;
    use hickory_proto::rr::RData;
    use hickory_proto::rr::RecordType;
    use hickory_proto::serialize::binary::{BinDecoder, Restrict};

    use super::*;

    fn read(rdata: &[u8]) -> NSEC {
        let mut d = BinDecoder::new(rdata);
        let r = RData::read(&mut d, RecordType::NSEC, Restrict::new(rdata.len() as u16)).unwrap();
        match r {
            RData::DNSSEC(hickory_proto::dnssec::rdata::DNSSECRData::NSEC(n)) => n,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bitmaps_read_back_through_hickory() {
        let owner = b"\x03www\x07example\x00";
        let mut out = Vec::new();
        let mut types = [rtype::NSEC, rtype::A, rtype::CAA, rtype::RRSIG, rtype::A];
        nsec_rdata(owner, &mut types, &mut out);
        let n = read(&out);
        assert_eq!(n.next_domain_name().to_ascii(), "\\000.www.example.");
        let listed: Vec<RecordType> = n.type_bit_maps().collect();
        assert_eq!(
            listed,
            [
                RecordType::A,
                RecordType::RRSIG,
                RecordType::NSEC,
                RecordType::CAA
            ]
        );
        let mut out = Vec::new();
        let mut types = NXNAME_TYPES;
        nsec_rdata(owner, &mut types, &mut out);
        // RRSIG (46) and NSEC (47) in octet 5, NXNAME (128) in octet 16 of window 0.
        assert_eq!(&out[out.len() - 19..out.len() - 17], &[0, 17]);
        assert_eq!(out[out.len() - 1], 0x80);
    }
}
