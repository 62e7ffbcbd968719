//! Tests of the reader over whole files: each directive, escapes, parentheses, `$GENERATE`,
//! RFC 3597, the TTL rules, and each error with its exact line, column and wording.

use std::path::{Path, PathBuf};

use crate::diag::Diagnostic;
use crate::wire::name::NameBuf;
use crate::wire::rtype;
use crate::zone::Zone;
use crate::zone::file::load_file;

const APEX: &str = "$TTL 300\n@ SOA ns h 1 2 3 4 60\n@ NS ns\n";

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().unwrap())
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// `example.zone` holding `text`.
fn load(text: &str) -> Result<Zone, Vec<Diagnostic>> {
    let d = Dir::new();
    load_file(&d.write("example.zone", text))
}

fn key(s: &str) -> Vec<u8> {
    let mut n = NameBuf::new();
    for l in s.trim_end_matches('.').split('.').filter(|l| !l.is_empty()) {
        n.push_label(l.as_bytes()).unwrap();
    }
    n.push_root().unwrap();
    n.as_bytes().to_vec()
}

/// The RDATAs and TTL of `name`'s set of type `t`.
fn set(z: &Zone, name: &str, t: u16) -> (u32, Vec<Vec<u8>>) {
    let node = z.node(&key(name)).unwrap_or_else(|| panic!("no {name}"));
    let s = node
        .get(t)
        .unwrap_or_else(|| panic!("no type {t} at {name}"));
    (s.ttl, s.rdatas().map(<[u8]>::to_vec).collect())
}

/// The errors of `text` as `(line, col, message)`.
fn errors(text: &str) -> Vec<(usize, usize, String)> {
    load(text)
        .unwrap_err()
        .into_iter()
        .map(|d| (d.line, d.col, d.message))
        .collect()
}

fn one(line: usize, col: usize, m: &str) -> Vec<(usize, usize, String)> {
    vec![(line, col, m.to_string())]
}

#[test]
fn origin_ttl_and_omitted_owner_ttl_and_class() {
    let z = load(&format!(
        "{APEX}www 60 IN A 192.0.2.1\n  IN 70 A 192.0.2.2\n\tAAAA 2001:db8::1\n\
         $ORIGIN sub.example.\nx CLASS1 A 192.0.2.3\n@ TXT t\n$TTL 1h30m\ny A 192.0.2.4\n"
    ))
    .unwrap();
    assert_eq!(set(&z, "www.example.", rtype::A).1.len(), 2);
    assert_eq!(set(&z, "www.example.", rtype::A).0, 60);
    assert_eq!(set(&z, "www.example.", rtype::AAAA).0, 300, "$TTL");
    assert!(z.node(&key("x.sub.example.")).is_some());
    assert_eq!(set(&z, "sub.example.", rtype::TXT).1, [b"\x01t".to_vec()]);
    assert_eq!(set(&z, "y.sub.example.", rtype::A).0, 5400);
}

#[test]
fn without_ttl_the_last_one_given_and_else_the_soas_minimum() {
    let z = load("@ SOA ns h 1 2 3 4 90\n@ NS ns\nwww 50 A 192.0.2.1\nftp A 192.0.2.2\n").unwrap();
    assert_eq!(set(&z, "example.", rtype::SOA).0, 90, "the SOA's MINIMUM");
    assert_eq!(set(&z, "example.", rtype::NS).0, 90);
    assert_eq!(
        set(&z, "ftp.example.", rtype::A).0,
        50,
        "the last TTL written"
    );
    let e = errors("www A 192.0.2.1\n@ SOA ns h 1 2 3 4 90\n@ NS ns\n");
    assert_eq!(
        e,
        one(
            1,
            5,
            "this record has no TTL and none comes before it: give it one, or set $TTL at the top of the file"
        )
    );
}

#[test]
fn parentheses_comments_and_quoted_strings() {
    let z = load(
        "$TTL 300\n@ IN SOA ns h (\n  1 ; serial\n  2 3 4\n  60 )\n@ NS ns\n\
         t TXT \"a ; b\" ( \"c\"\n \"d\\\"e\" ) ; done\n",
    )
    .unwrap();
    let (_, t) = set(&z, "t.example.", rtype::TXT);
    assert_eq!(t, [b"\x05a ; b\x01c\x03d\"e".to_vec()]);
}

#[test]
fn escapes_in_names_and_strings() {
    let z = load(&format!(
        "{APEX}a\\.b A 192.0.2.1\nc\\099 A 192.0.2.2\nt TXT \"\\065\\\\\" x\\ y\n"
    ))
    .unwrap();
    assert!(z.node(&key("a.example.")).is_none());
    assert!(z.node(b"\x03a.b\x07example\x00").is_some(), "one label a.b");
    assert!(z.node(&key("cc.example.")).is_some());
    assert_eq!(
        set(&z, "t.example.", rtype::TXT).1,
        [b"\x02A\\\x03x y".to_vec()]
    );
}

#[test]
fn at_and_relative_names_in_rdata() {
    let z = load(&format!("{APEX}@ MX 10 @\nm MX 20 Mail\n")).unwrap();
    assert_eq!(
        set(&z, "example.", rtype::MX).1,
        [b"\x00\x0a\x07example\x00".to_vec()]
    );
    assert_eq!(
        set(&z, "m.example.", rtype::MX).1,
        [b"\x00\x14\x04Mail\x07example\x00".to_vec()]
    );
    let mx = z.node(&key("m.example.")).unwrap().get(rtype::MX).unwrap();
    assert_eq!(
        &*mx.targets[0],
        &key("mail.example.")[..],
        "targets are lower-cased"
    );
}

#[test]
fn rfc_3597_unknown_types_and_known_ones() {
    let z = load(&format!(
        "{APEX}u TYPE65534 \\# 4 0A000001\na TYPE1 \\# 4 C0000201\nb A \\# 4 C0000202\nz TYPE65000 \\# 0\n"
    ))
    .unwrap();
    assert_eq!(set(&z, "u.example.", 65534).1, [vec![10, 0, 0, 1]]);
    assert_eq!(set(&z, "a.example.", rtype::A).1, [vec![192, 0, 2, 1]]);
    assert_eq!(set(&z, "b.example.", rtype::A).1, [vec![192, 0, 2, 2]]);
    assert_eq!(set(&z, "z.example.", 65000).1, [Vec::<u8>::new()]);
}

#[test]
fn generate_makes_one_record_per_value() {
    let z = load(&format!(
        "{APEX}$GENERATE 1-3 host$ A 192.0.2.$\n$GENERATE 0-4/2 p${{10,3}} 60 IN CNAME t${{0,2,x}}\n\
         $GENERATE 10-11 txt$ TXT \"v=$ \\$\"\n"
    ))
    .unwrap();
    for i in 1..=3 {
        assert_eq!(
            set(&z, &format!("host{i}.example."), rtype::A).1,
            [vec![192, 0, 2, i]]
        );
    }
    let (ttl, c) = set(&z, "p014.example.", rtype::CNAME);
    assert_eq!((ttl, c), (60, vec![b"\x03t04\x07example\x00".to_vec()]));
    assert!(z.node(&key("p011.example.")).is_none(), "step 2");
    assert_eq!(
        set(&z, "txt11.example.", rtype::TXT).1,
        [b"\x06v=11 $".to_vec()]
    );
    let e = errors(&format!("{APEX}$GENERATE 1-300 h$ A 192.0.2.$\n"));
    assert_eq!(
        e,
        one(4, 22, "192.0.2.256 is not an IPv4 address"),
        "the first bad one only"
    );
    let e = errors(&format!("{APEX}$GENERATE 5-1 h$ A 192.0.2.$\n"));
    assert_eq!(
        e,
        one(4, 11, "$GENERATE range 5-1: the start is above the stop")
    );
}

#[test]
fn include_reads_under_the_given_origin_and_restores_the_owner() {
    let d = Dir::new();
    d.write("parts/h.inc", "$ORIGIN elsewhere.example.\nx A 192.0.2.1\n");
    d.write("parts/o.inc", "y A 192.0.2.2\n");
    let p = d.write(
        "example.zone",
        &format!("{APEX}w A 192.0.2.9\n$INCLUDE parts/h.inc\n  A 192.0.2.8\n$INCLUDE \"parts/o.inc\" sub\nz A 192.0.2.3\n"),
    );
    let z = load_file(&p).unwrap();
    assert_eq!(
        set(&z, "w.example.", rtype::A).1.len(),
        2,
        "the owner before the $INCLUDE"
    );
    assert!(z.node(&key("x.elsewhere.example.")).is_some());
    assert!(z.node(&key("y.sub.example.")).is_some());
    assert!(
        z.node(&key("z.example.")).is_some(),
        "its $ORIGIN did not leak back"
    );
    let files: Vec<&Path> = z.sources.iter().map(|s| s.path.as_path()).collect();
    assert_eq!(files.len(), 3);
    assert_eq!(files[0], p);
    assert!(files[1].ends_with("parts/h.inc") && files[2].ends_with("parts/o.inc"));
    assert_eq!(z.sources[2].digest, crate::zone::digest(b"y A 192.0.2.2\n"));
}

#[test]
fn each_error_at_its_token_in_plain_words() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "bad IN A 192.0.2.256",
            10,
            "192.0.2.256 is not an IPv4 address",
        ),
        (
            "bad 99999999999 IN A 192.0.2.1",
            5,
            "TTL 99999999999 exceeds 2147483647",
        ),
        ("mx IN MX mail", 7, "MX needs a preference and an exchange"),
        ("foo IN FOO bar", 8, "unknown record type FOO"),
        ("ch CH A 192.0.2.1", 4, "class CH is not served (only IN)"),
        (
            "six IN AAAA 192.0.2.1",
            13,
            "192.0.2.1 is not an IPv6 address",
        ),
        ("opt OPT \\# 0", 5, "OPT is not a record a zone may hold"),
        ("t TXT \"abc", 7, "unterminated quoted string"),
        (
            "p A ( 192.0.2.1",
            5,
            "unbalanced parenthesis: this ( is never closed",
        ),
        ("p A 192.0.2.1 )", 15, "unbalanced parenthesis: ) without ("),
        (
            "$FOO bar",
            1,
            "unknown directive $FOO (there are $ORIGIN, $TTL, $INCLUDE and $GENERATE)",
        ),
        (
            "$TTL 1y",
            6,
            "TTL 1y is not a time: use seconds or units s, m, h, d, w (e.g. 3600 or 1h)",
        ),
        ("a..b A 192.0.2.1", 1, "a..b has an empty label"),
        ("srv SRV 1 2 http t", 13, "SRV port http is not a number"),
        (
            "x TYPE65534 0A000001",
            3,
            "TYPE65534 data can only be written in the RFC 3597 form: \\# <length> <hex>",
        ),
        (
            "x TYPE65534 \\# 5 0A000001",
            16,
            "\\# says 5 bytes of RDATA and 4 follow",
        ),
        ("nothing 300 IN", 13, "a record type is missing after IN"),
        (
            "$ORIGIN sub",
            9,
            "$ORIGIN needs an absolute name, ending in a dot: sub.",
        ),
    ];
    for (line, col, message) in cases {
        assert_eq!(
            errors(&format!("{APEX}{line}\n")),
            one(4, *col, message),
            "{line}"
        );
    }
}

#[test]
fn every_error_of_a_file_in_one_run_each_in_its_file() {
    let d = Dir::new();
    d.write("more.inc", "ok A 192.0.2.1\nbad A 1.2.3\n");
    let p = d.write(
        "example.zone",
        &format!(
            "{APEX}a A 192.0.2.256\nb 99999999999 A 192.0.2.1\n$INCLUDE more.inc\nc MX mail\nd A 192.0.2.4\nd CNAME x\n"
        ),
    );
    let e = load_file(&p).unwrap_err();
    let got: Vec<(String, usize, usize)> = e
        .iter()
        .map(|d| {
            (
                d.file.file_name().unwrap().to_string_lossy().into_owned(),
                d.line,
                d.col,
            )
        })
        .collect();
    let want = [
        ("example.zone", 4, 5),
        ("example.zone", 5, 3),
        ("example.zone", 7, 3),
        ("example.zone", 9, 1),
        ("more.inc", 2, 7),
    ];
    let want: Vec<(String, usize, usize)> = want
        .iter()
        .map(|(f, l, c)| (f.to_string(), *l, *c))
        .collect();
    assert_eq!(got, want, "{e:?}");
    assert!(
        e[3].message.contains("CNAME and other data (A)"),
        "{}",
        e[3]
    );
}

#[test]
fn errors_past_the_cap_are_counted_in_one_line() {
    let bad = "x A 192.0.2.256\n".repeat(150);
    let e = load(&format!("{APEX}{bad}")).unwrap_err();
    assert_eq!(e.len(), super::MAX_ERRORS + 1);
    assert_eq!(e[super::MAX_ERRORS].message, "… and 50 more errors");
}

#[test]
fn a_file_without_an_soa_is_not_a_zone_file() {
    let e = load("This is a README.\nIt is not a zone.\n").unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].message, "not a zone file (no SOA)");
}

#[test]
fn a_blank_start_with_no_owner_before_it_is_an_error() {
    let e = errors(&format!("  A 192.0.2.1\n{APEX}"));
    assert_eq!(
        e,
        one(
            1,
            3,
            "this line starts with a blank, so it continues the previous owner, and there is none"
        )
    );
}

#[test]
fn rdata_over_65535_bytes_is_an_error_not_a_truncation() {
    let strings = format!("\"{}\"\n", "x".repeat(250)).repeat(300);
    let e = errors(&format!("{APEX}big TXT (\n{strings})\n"));
    assert_eq!(
        e,
        one(
            4,
            5,
            "this record's RDATA is 75300 bytes; a record holds at most 65535"
        )
    );
}
