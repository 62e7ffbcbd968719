//! The bytes an RRSIG signs (RFC 4034 §3.1.8.1, §6): the RRSIG RDATA without its signature,
//! then every record of the RRset in canonical form and order.
//!
//! Owns: canonical RDATA (names lower-cased in the types RFC 4034 §6.2 lists, as RFC 6840 §5.1
//! corrects it: not NSEC, not HINFO), canonical order, the Labels count, the signed data.
//! Must not: sign, cache, or know zones; it runs only when a signature is made, never for a
//! cached one.

use crate::wire::rtype;

/// The wire length of the uncompressed name at the start of `b`, if it is one.
fn name_len(b: &[u8]) -> Option<usize> {
    let mut pos = 0;
    loop {
        let l = *b.get(pos)? as usize;
        if l > 63 {
            return None;
        }
        pos += 1 + l;
        if l == 0 {
            return (pos <= 255).then_some(pos);
        }
    }
}

/// Lower-cases the name at `out[at..]`; returns where it ends. Length octets are below 64,
/// never ASCII letters, so lower-casing the whole span is exact.
fn lower_name(out: &mut [u8], at: usize) -> Option<usize> {
    let n = name_len(out.get(at..)?)?;
    out[at..at + n].make_ascii_lowercase();
    Some(at + n)
}

/// Skips one character-string (RFC 1035 §3.3) at `at`.
fn skip_string(b: &[u8], at: usize) -> Option<usize> {
    Some(at + 1 + *b.get(at)? as usize)
}

/// Appends the canonical form of an RDATA of type `t` (RFC 4034 §6.2, RFC 6840 §5.1). An RDATA
/// that does not parse as its type says is appended as it is.
pub fn canonical_rdata(t: u16, rdata: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(rdata);
    let buf = &mut out[start..];
    let lowered = match t {
        // NS MD MF CNAME MB MG MR PTR DNAME: one name.
        2 | 3 | 4 | 5 | 7 | 8 | 9 | 12 | 39 => lower_name(buf, 0).map(|_| ()),
        // SOA, MINFO, RP: two names (SOA's numbers follow).
        6 | 14 | 17 => lower_name(buf, 0)
            .and_then(|e| lower_name(buf, e))
            .map(|_| ()),
        // MX AFSDB RT KX: preference, name.
        15 | 18 | 21 | 36 => lower_name(buf, 2).map(|_| ()),
        // PX: preference, two names.
        26 => lower_name(buf, 2)
            .and_then(|e| lower_name(buf, e))
            .map(|_| ()),
        // SRV: priority, weight, port, target.
        33 => lower_name(buf, 6).map(|_| ()),
        // NAPTR: order, preference, flags, services, regexp, replacement.
        35 => {
            let at = skip_string(buf, 4)
                .and_then(|a| skip_string(buf, a))
                .and_then(|a| skip_string(buf, a));
            at.and_then(|a| lower_name(buf, a)).map(|_| ())
        }
        // SIG, RRSIG: the signer's name after 18 octets.
        24 | 46 => lower_name(buf, 18).map(|_| ()),
        // NXT: next name, then its bitmap.
        30 => lower_name(buf, 0).map(|_| ()),
        _ => Some(()),
    };
    if lowered.is_none() {
        out.truncate(start);
        out.extend_from_slice(rdata);
    }
}

/// The RRSIG Labels field of `owner` (lower-cased wire form): its labels, the root and a
/// leading `*` not counted (RFC 4034 §3.1.3).
pub fn labels(owner: &[u8]) -> u8 {
    let (mut n, mut pos) = (0u8, 0usize);
    while let Some(&l) = owner.get(pos) {
        if l == 0 {
            break;
        }
        n = n.saturating_add(1);
        pos += 1 + l as usize;
    }
    if owner.starts_with(b"\x01*") {
        n.saturating_sub(1)
    } else {
        n
    }
}

/// The fields of an RRSIG RDATA but its signature.
#[derive(Clone, Copy, Debug)]
pub struct SigHeader<'a> {
    /// Type covered.
    pub type_covered: u16,
    /// Algorithm number.
    pub algorithm: u8,
    /// Labels of the owner.
    pub labels: u8,
    /// Original TTL.
    pub original_ttl: u32,
    /// Signature expiration (RRSIG form).
    pub expiration: u32,
    /// Signature inception (RRSIG form).
    pub inception: u32,
    /// The signing key's tag.
    pub key_tag: u16,
    /// The zone's origin, lower-cased wire form.
    pub signer: &'a [u8],
}

impl SigHeader<'_> {
    /// Appends the RRSIG RDATA without its signature.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.type_covered.to_be_bytes());
        out.push(self.algorithm);
        out.push(self.labels);
        out.extend_from_slice(&self.original_ttl.to_be_bytes());
        out.extend_from_slice(&self.expiration.to_be_bytes());
        out.extend_from_slice(&self.inception.to_be_bytes());
        out.extend_from_slice(&self.key_tag.to_be_bytes());
        out.extend_from_slice(self.signer);
    }
}

/// The RDATAs of an RRset of type `t` in canonical form and order, duplicates removed
/// (RFC 4034 §6.3).
pub fn canonical_set<'a>(t: u16, rdatas: impl Iterator<Item = &'a [u8]>) -> Vec<Vec<u8>> {
    let mut set: Vec<Vec<u8>> = rdatas
        .map(|r| {
            let mut c = Vec::with_capacity(r.len());
            canonical_rdata(t, r, &mut c);
            c
        })
        .collect();
    set.sort();
    set.dedup();
    set
}

/// The signed data of an RRSIG with `header` over the RRset `owner` (lower-cased wire form,
/// written as the RRSIG's owner), class IN, whose canonical RDATAs are `set`.
pub fn signed_data(header: &SigHeader<'_>, owner: &[u8], set: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        64 + set
            .iter()
            .map(|r| owner.len() + 10 + r.len())
            .sum::<usize>(),
    );
    header.write(&mut out);
    for r in set {
        out.extend_from_slice(owner);
        out.extend_from_slice(&header.type_covered.to_be_bytes());
        out.extend_from_slice(&rtype::CLASS_IN.to_be_bytes());
        out.extend_from_slice(&header.original_ttl.to_be_bytes());
        out.extend_from_slice(&(r.len() as u16).to_be_bytes());
        out.extend_from_slice(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_proto::dnssec::rdata::sig::SigInput;
    use hickory_proto::dnssec::{Algorithm, TBS};
    use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType, SerialNumber};
    use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

    use super::*;
    use crate::wire::name::key_of;

    fn rdata_wire(r: &RData) -> Vec<u8> {
        let mut v = Vec::new();
        let mut e = BinEncoder::new(&mut v);
        e.set_name_encoding(NameEncoding::Uncompressed);
        r.emit(&mut e).unwrap();
        v
    }

    /// Our signed data against hickory's `TBS`, byte for byte, for RRsets whose RDATA names
    /// carry capitals (as zone files keep them) and for a wildcard-style owner.
    #[test]
    fn signed_data_equals_hickorys_tbs() {
        let cases: &[(&str, &str, &[&str])] = &[
            ("www.Example.com.", "A", &["192.0.2.2", "192.0.2.1"]),
            ("www.example.com.", "AAAA", &["2001:db8::1"]),
            (
                "example.com.",
                "NS",
                &["NS1.Example.com.", "ns2.example.COM."],
            ),
            (
                "example.com.",
                "SOA",
                &["NS1.Example.com. Host.Example.com. 7 3600 600 86400 300"],
            ),
            (
                "example.com.",
                "MX",
                &["10 Mail.Example.com.", "20 mx2.example.com."],
            ),
            ("_s._tcp.example.com.", "SRV", &["0 5 443 Srv.Example.com."]),
            ("alias.example.com.", "CNAME", &["Target.Example.NET."]),
            ("example.com.", "TXT", &["\"Hello World\" \"two\""]),
            ("4.3.2.1.in-addr.arpa.", "PTR", &["Host.Example.com."]),
            ("x.y.example.com.", "A", &["198.51.100.7"]),
        ];
        for &(owner, t, rdatas) in cases {
            let name = Name::from_str(owner).unwrap();
            let rt = RecordType::from_str(t).unwrap();
            let records: Vec<Record> = rdatas
                .iter()
                .map(|r| {
                    let rd = RData::try_from_str(rt, r).unwrap();
                    Record::from_rdata(name.clone(), 300, rd)
                })
                .collect();
            let wires: Vec<Vec<u8>> = records.iter().map(|r| rdata_wire(&r.data)).collect();
            let origin = key_of(&Name::from_str("example.com.").unwrap());
            let key = key_of(&name);
            let header = SigHeader {
                type_covered: u16::from(rt),
                algorithm: 13,
                labels: labels(&key),
                original_ttl: 300,
                expiration: 1_800_000_000,
                inception: 1_700_000_000,
                key_tag: 4711,
                signer: &origin,
            };
            let set = canonical_set(header.type_covered, wires.iter().map(|w| &w[..]));
            let ours = signed_data(&header, &key, &set);
            let input = SigInput {
                type_covered: rt,
                algorithm: Algorithm::ECDSAP256SHA256,
                num_labels: header.labels,
                original_ttl: 300,
                sig_expiration: SerialNumber::new(1_800_000_000),
                sig_inception: SerialNumber::new(1_700_000_000),
                key_tag: 4711,
                signer_name: Name::from_str("example.com.").unwrap(),
            };
            let tbs = TBS::from_input(&name, DNSClass::IN, &input, records.iter()).unwrap();
            assert_eq!(ours, tbs.as_ref(), "{owner} {t}");
        }
    }

    #[test]
    fn canonical_sets_are_sorted_without_duplicates() {
        // RFC 4034 §6.3 (hickory's TBS keeps duplicates, so this is checked on its own).
        let set = canonical_set(
            rtype::NS,
            [&b"\x01B\x00"[..], b"\x01a\x00", b"\x01b\x00"].into_iter(),
        );
        assert_eq!(set, [b"\x01a\x00".to_vec(), b"\x01b\x00".to_vec()]);
    }

    #[test]
    fn labels_skip_root_and_a_leading_star() {
        assert_eq!(labels(b"\x00"), 0);
        assert_eq!(labels(b"\x03www\x07example\x00"), 2);
        assert_eq!(labels(b"\x01*\x07example\x00"), 1);
    }
}
