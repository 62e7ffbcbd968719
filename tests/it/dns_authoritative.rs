//! Authoritative DNS behaviour as a user checking with dig sees it, over real UDP and TCP
//! sockets, with and without EDNS: AA/RA/RCODE, every section and every TTL.
//!
//! Covers: positive answers and additional-section processing (NS, MX), negative answers with
//! the SOA at min(TTL, MINIMUM) (RFC 2308), question case echo (and case-insensitive matching),
//! CNAME chains, loops, dangling and out-of-zone targets (RFC 1034 §4.3.2, RFC 6604), wildcards
//! by the closest-encloser rule (RFC 4592), empty non-terminals (RFC 8020), referrals with glue
//! and DS on the parent side, minimal ANY (RFC 8482), REFUSED outside our zones and classes,
//! NOTIMP/FORMERR on odd headers, and zone loading ($INCLUDE from a subdirectory, with and
//! without an origin argument, $TTL, relative names, origin from the file name).

use crate::harness::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType::{self, A, AAAA, ANY, CNAME, DS, MX, NS, SOA, TXT};

type Rows = Vec<(String, RecordType, u32, String)>;

/// What one question must get, whatever the transport and whether EDNS was used.
struct Want {
    rcode: ResponseCode,
    aa: bool,
    answer: Rows,
    authority: Rows,
    additional: Rows,
}

fn ok(answer: Rows) -> Want {
    Want {
        rcode: ResponseCode::NoError,
        aa: true,
        answer,
        authority: vec![],
        additional: vec![],
    }
}

fn nodata() -> Want {
    Want {
        authority: vec![neg_soa()],
        ..ok(vec![])
    }
}

fn nxdomain() -> Want {
    Want {
        rcode: ResponseCode::NXDomain,
        ..nodata()
    }
}

/// Asks `name`/`qtype` over UDP and TCP, each with and without EDNS, and checks every section.
#[track_caller]
fn check(s: &TestServer, name: &str, qtype: RecordType, want: &Want) {
    for edns in [false, true] {
        let q = query(name, qtype, edns);
        for (transport, r) in ["udp", "tcp"].into_iter().zip(both(s, &q)) {
            let ctx = format!("{name} {qtype} over {transport}, edns {edns}");
            assert_reply(&q, &r, want.rcode, want.aa);
            assert!(!r.metadata.truncation, "{ctx}: TC");
            assert_eq!(r.edns.is_some(), edns, "{ctx}: OPT iff the query had one");
            assert_eq!(rrs(&r.answers), want.answer, "{ctx}: answer");
            assert_eq!(rrs(&r.authorities), want.authority, "{ctx}: authority");
            assert_eq!(rrs(&r.additionals), want.additional, "{ctx}: additional");
        }
    }
}

fn www_a() -> (String, RecordType, u32, String) {
    rr("www.example.com.", A, 3600, "192.0.2.80")
}

#[tokio::test(flavor = "multi_thread")]
async fn positive_answers_and_additional_processing() {
    let s = start().await;
    check(&s, "www.example.com.", A, &ok(vec![www_a()]));
    check(
        &s,
        "www.example.com.",
        AAAA,
        &ok(vec![rr("www.example.com.", AAAA, 3600, "2001:db8::80")]),
    );
    // A positive SOA answer keeps its own TTL; only negative answers use the MINIMUM.
    let soa = "ns1.example.com. hostmaster.example.com. 2026112301 3600 600 604800 300";
    check(
        &s,
        "example.com.",
        SOA,
        &ok(vec![rr("example.com.", SOA, 3600, soa)]),
    );
    check(
        &s,
        "example.com.",
        NS,
        &Want {
            additional: vec![
                rr("ns1.example.com.", A, 3600, "192.0.2.1"),
                rr("ns2.example.com.", A, 3600, "192.0.2.2"),
            ],
            ..ok(vec![
                rr("example.com.", NS, 3600, "ns1.example.com."),
                rr("example.com.", NS, 3600, "ns2.example.com."),
            ])
        },
    );
    // The exchange's in-zone address rides along in the additional section.
    check(
        &s,
        "example.com.",
        MX,
        &Want {
            additional: vec![rr("mail.example.com.", A, 3600, "192.0.2.25")],
            ..ok(vec![rr("example.com.", MX, 3600, "10 mail.example.com.")])
        },
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn negative_answers_carry_the_soa_at_the_negative_ttl() {
    let s = start().await;
    for name in [
        "nope.example.com.",
        "deep.nope.example.com.",
        "host.www.example.com.",
    ] {
        check(&s, name, A, &nxdomain());
        check(&s, name, MX, &nxdomain());
    }
    check(&s, "www.example.com.", MX, &nodata());
    check(&s, "mail.example.com.", TXT, &nodata());
    check(&s, "example.com.", AAAA, &nodata());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn question_case_is_echoed_and_names_match_case_insensitively() {
    let s = start().await;
    let mixed = "WwW.ExAmple.COM.";
    let q = raw_query(0x5a5a, flag::RD, &[(mixed, 1, 1)]);
    let qlen = q.len() - 12;
    for (transport, reply) in [
        ("udp", udp_raw(s.udp, &q).expect("udp reply")),
        ("tcp", tcp_raw(s.tcp, std::slice::from_ref(&q)).remove(0)),
    ] {
        let (id, flags, counts) = raw_header(&reply);
        assert_eq!(id, 0x5a5a, "{transport}");
        assert_eq!(
            flags & (flag::QR | flag::AA | flag::TC | flag::RD | flag::RA),
            flag::QR | flag::AA | flag::RD,
            "{transport}: QR, AA and RD set, TC and RA clear"
        );
        assert_eq!(counts, [1, 1, 0, 0], "{transport}");
        assert_eq!(
            &reply[12..12 + qlen],
            &q[12..],
            "{transport}: question bytes as sent"
        );
        assert_eq!(rrs(&parse(&reply).answers), vec![www_a()], "{transport}");
    }
    for name in [
        "WWW.EXAMPLE.COM.",
        "alias.EXAMPLE.com.",
        "X.Wild.Example.Com.",
    ] {
        let r = udp(s.udp, &query(name, A, false));
        assert_eq!(r.metadata.response_code, ResponseCode::NoError, "{name}");
        assert!(!addrs(&r).is_empty(), "{name}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cnames_are_followed_inside_the_zone() {
    let s = start().await;
    let alias = || rr("alias.example.com.", CNAME, 3600, "www.example.com.");
    check(&s, "alias.example.com.", A, &ok(vec![alias(), www_a()]));
    check(
        &s,
        "alias.example.com.",
        AAAA,
        &ok(vec![
            alias(),
            rr("www.example.com.", AAAA, 3600, "2001:db8::80"),
        ]),
    );
    check(
        &s,
        "chain1.example.com.",
        A,
        &ok(vec![
            rr("chain1.example.com.", CNAME, 3600, "chain2.example.com."),
            rr("chain2.example.com.", CNAME, 3600, "www.example.com."),
            www_a(),
        ]),
    );
    // The target exists but has no MX: the chain, then NODATA for the last name.
    check(
        &s,
        "alias.example.com.",
        MX,
        &Want {
            authority: vec![neg_soa()],
            ..ok(vec![alias()])
        },
    );
    // Asking for the CNAME itself does not follow it.
    check(&s, "alias.example.com.", CNAME, &ok(vec![alias()]));
    check(
        &s,
        "chain1.example.com.",
        CNAME,
        &ok(vec![rr(
            "chain1.example.com.",
            CNAME,
            3600,
            "chain2.example.com.",
        )]),
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cname_loops_dangling_and_out_of_zone_targets() {
    let s = start().await;
    // A loop ends once a name repeats: both CNAMEs, no hang, no answer records beyond them.
    check(
        &s,
        "loop1.example.com.",
        A,
        &ok(vec![
            rr("loop1.example.com.", CNAME, 3600, "loop2.example.com."),
            rr("loop2.example.com.", CNAME, 3600, "loop1.example.com."),
        ]),
    );
    // RFC 6604: the RCODE is about the last name of the chain.
    check(
        &s,
        "dangling.example.com.",
        A,
        &Want {
            answer: vec![rr(
                "dangling.example.com.",
                CNAME,
                3600,
                "nothere.example.com.",
            )],
            ..nxdomain()
        },
    );
    // Not ours to resolve: the CNAME alone, NOERROR.
    check(
        &s,
        "outside.example.com.",
        A,
        &ok(vec![rr(
            "outside.example.com.",
            CNAME,
            3600,
            "www.example.net.",
        )]),
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wildcards_follow_the_closest_encloser_rule() {
    let s = start().await;
    let wild_a = |owner: &str| rr(owner, A, 3600, "192.0.2.90");
    check(
        &s,
        "x.wild.example.com.",
        A,
        &ok(vec![wild_a("x.wild.example.com.")]),
    );
    check(
        &s,
        "x.wild.example.com.",
        TXT,
        &ok(vec![rr("x.wild.example.com.", TXT, 3600, "wild")]),
    );
    // x.wild does not exist, so wild is the closest encloser and *.wild matches deeper names.
    check(
        &s,
        "a.x.wild.example.com.",
        A,
        &ok(vec![wild_a("a.x.wild.example.com.")]),
    );
    // The wildcard exists but has no AAAA: NODATA, not NXDOMAIN.
    check(&s, "x.wild.example.com.", AAAA, &nodata());
    // The wildcard's parent is an empty non-terminal: it exists, with nothing.
    check(&s, "wild.example.com.", A, &nodata());
    // The wildcard itself is an ordinary name when asked for literally.
    check(
        &s,
        "*.wild.example.com.",
        A,
        &ok(vec![wild_a("*.wild.example.com.")]),
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_non_terminals_are_nodata_and_below_them_nxdomain() {
    let s = start().await;
    check(
        &s,
        "a.b.ent.example.com.",
        TXT,
        &ok(vec![rr("a.b.ent.example.com.", TXT, 3600, "deep")]),
    );
    for name in ["b.ent.example.com.", "ent.example.com."] {
        check(&s, name, TXT, &nodata());
        check(&s, name, A, &nodata());
    }
    for name in [
        "zzz.b.ent.example.com.",
        "x.ent.example.com.",
        "z.a.b.ent.example.com.",
    ] {
        check(&s, name, TXT, &nxdomain());
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn queries_at_or_below_a_cut_get_a_referral_with_glue() {
    let s = start().await;
    let referral = Want {
        rcode: ResponseCode::NoError,
        aa: false,
        answer: vec![],
        authority: vec![
            rr("sub.example.com.", NS, 3600, "ns.sub.example.com."),
            rr("sub.example.com.", NS, 3600, "ns.elsewhere.net."),
        ],
        // Glue for the in-zone server only; the other is not ours to vouch for.
        additional: vec![rr("ns.sub.example.com.", A, 3600, "192.0.2.53")],
    };
    for (name, t) in [
        ("sub.example.com.", A),
        ("sub.example.com.", NS),
        ("sub.example.com.", MX),
        ("host.sub.example.com.", A),
        ("deep.host.sub.example.com.", TXT),
        ("host.sub.example.com.", DS),
        // Glue is never an authoritative answer.
        ("ns.sub.example.com.", A),
        ("ns.sub.example.com.", AAAA),
    ] {
        check(&s, name, t, &referral);
    }
    // DS lives on the parent side of the cut: answered by us, authoritatively.
    check(&s, "sub.example.com.", DS, &nodata());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_child_answers_below_its_cut_and_the_parent_answers_its_ds() {
    let child = "$ORIGIN sub.example.com.\n$TTL 600\n\
                 @ SOA ns hostmaster 7 3600 600 604800 120\n@ NS ns\nns A 192.0.2.53\n\
                 host A 192.0.2.54\n";
    let s = start_with(
        "",
        "",
        &[("example.com.zone", ZONE), ("sub.example.com.zone", child)],
    )
    .await;
    // Below the cut, the child zone answers authoritatively instead of referring.
    check(
        &s,
        "host.sub.example.com.",
        A,
        &ok(vec![rr("host.sub.example.com.", A, 600, "192.0.2.54")]),
    );
    // The DS of the child's apex is the parent's (RFC 4035 §3.1.4.1), as Knot and BIND answer
    // it when they serve both: the parent's NODATA, not the child's.
    check(&s, "sub.example.com.", DS, &nodata());
    s.stop().await;
}

/// Checks that every transport gets `rcode`, no AA, and no records at all.
#[track_caller]
fn bare(s: &TestServer, packet: &[u8], rcode: ResponseCode, ctx: &str) {
    let q = parse(packet);
    for (transport, reply) in [
        ("udp", udp_raw(s.udp, packet).expect("udp reply")),
        ("tcp", tcp_raw(s.tcp, &[packet.to_vec()]).remove(0)),
    ] {
        let r = parse(&reply);
        assert_reply(&q, &r, rcode, false);
        let (_, _, counts) = raw_header(&reply);
        assert_eq!(
            counts,
            [1, 0, 0, 0],
            "{ctx} over {transport}: only the question"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn outside_our_zones_and_classes_is_refused() {
    let s = start().await;
    for name in ["www.example.org.", "com.", ".", "example.com.evil."] {
        bare(
            &s,
            &raw_query(7, flag::RD, &[(name, 1, 1)]),
            ResponseCode::Refused,
            name,
        );
    }
    // Only IN is served: CH, HS, NONE, ANY and unknown classes never see IN data.
    for class in [3u16, 4, 254, 255, 2, 42] {
        let p = raw_query(8, 0, &[("www.example.com.", 1, class)]);
        bare(&s, &p, ResponseCode::Refused, &format!("class {class}"));
    }
    // In CH only the identity names are answered (tests/it/cookies.rs); others are REFUSED.
    let p = raw_query(9, 0, &[("authors.bind.", 16, 3)]);
    bare(&s, &p, ResponseCode::Refused, "CH TXT authors.bind");
    // No zone transfers are offered.
    for t in [252u16, 251] {
        let p = raw_query(10, 0, &[("example.com.", t, 1)]);
        bare(&s, &p, ResponseCode::Refused, &format!("type {t}"));
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn odd_headers_get_notimp_or_formerr() {
    let s = start().await;
    // IQUERY, STATUS, NOTIFY, UPDATE and unassigned opcodes: not implemented, opcode echoed.
    for opcode in [1u16, 2, 4, 5, 6, 15] {
        let p = raw_query(0x1100 + opcode, opcode << 11, &[("www.example.com.", 1, 1)]);
        for reply in [
            udp_raw(s.udp, &p).expect("reply"),
            tcp_raw(s.tcp, std::slice::from_ref(&p)).remove(0),
        ] {
            let (id, flags, counts) = raw_header(&reply);
            assert_eq!(id, 0x1100 + opcode);
            assert_eq!(flags & flag::QR, flag::QR, "opcode {opcode}");
            assert_eq!((flags >> 11) & 0xF, opcode, "opcode echoed");
            assert_eq!(flags & 0xF, 4, "opcode {opcode}: NOTIMP");
            assert_eq!(flags & (flag::AA | flag::RA), 0, "opcode {opcode}");
            assert_eq!(counts[1..], [0, 0, 0], "opcode {opcode}: no records");
        }
    }
    // A query must ask exactly one question.
    for p in [
        raw_query(0x2200, 0, &[]),
        raw_query(
            0x2201,
            0,
            &[("www.example.com.", 1, 1), ("mail.example.com.", 1, 1)],
        ),
    ] {
        for reply in [
            udp_raw(s.udp, &p).expect("reply"),
            tcp_raw(s.tcp, std::slice::from_ref(&p)).remove(0),
        ] {
            let (id, flags, counts) = raw_header(&reply);
            assert_eq!(id, u16::from_be_bytes([p[0], p[1]]));
            assert_eq!(flags & flag::QR, flag::QR);
            assert_eq!(flags & 0xF, 1, "FORMERR for {} questions", p[5]);
            assert_eq!(counts[1..], [0, 0, 0]);
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn any_is_answered_with_one_rrset() {
    let s = start().await;
    for name in ["www.example.com.", "example.com.", "x.wild.example.com."] {
        let q = query(name, ANY, true);
        for r in both(&s, &q) {
            assert_reply(&q, &r, ResponseCode::NoError, true);
            let rows = rrs(&r.answers);
            assert!(!rows.is_empty(), "{name}: an RRset");
            assert!(
                rows.iter().all(|x| x.0 == name && x.1 == rows[0].1),
                "{name}: one RRset only (RFC 8482): {rows:?}"
            );
        }
    }
    // ANY matches a CNAME itself (RFC 1034 §4.3.2 step 3a): it is not followed.
    check(
        &s,
        "alias.example.com.",
        ANY,
        &ok(vec![rr(
            "alias.example.com.",
            CNAME,
            3600,
            "www.example.com.",
        )]),
    );
    check(&s, "nope.example.com.", ANY, &nxdomain());
    s.stop().await;
}

const ORG: &str = r#"$ORIGIN example.org.
$TTL 120
@        IN SOA ns1 hostmaster ( 7 3600 600 604800 3600 )
         IN NS  ns1
ns1      IN A   192.0.2.1
$INCLUDE parts/hosts.inc
$INCLUDE parts/lab.inc
$INCLUDE parts/svc.inc svc
after    IN A   192.0.2.19
"#;
const HOSTS: &str = "host1 IN A 192.0.2.11\nhost2 300 IN A 192.0.2.12\n";
const LAB: &str = "$ORIGIN lab.example.org.\n@ IN TXT \"lab\"\nbench IN A 192.0.2.13\n";
const SVC: &str = "@ IN TXT \"svc\"\napi IN A 192.0.2.14\n";
const NET: &str = r#"$TTL 600
@    IN SOA ns hostmaster 1 3600 600 604800 30
@    IN NS  ns
ns   IN A   192.0.2.7
www  IN A   192.0.2.70
"#;

#[tokio::test(flavor = "multi_thread")]
async fn zone_files_load_includes_relative_names_ttls_and_file_name_origins() {
    let s = start_with(
        "",
        "",
        &[
            ("example.org.zone", ORG),
            ("parts/hosts.inc", HOSTS),
            ("parts/lab.inc", LAB),
            ("parts/svc.inc", SVC),
            ("example.net.zone", NET),
        ],
    )
    .await;
    // (name, type, TTL, data): each answered with exactly that one record.
    let single_answers = [
        ("host1.example.org.", A, 120, "192.0.2.11"),
        ("host2.example.org.", A, 300, "192.0.2.12"),
        ("lab.example.org.", TXT, 120, "lab"),
        ("bench.lab.example.org.", A, 120, "192.0.2.13"),
        // `$INCLUDE file origin`: the file's relative names hang off that origin.
        ("svc.example.org.", TXT, 120, "svc"),
        ("api.svc.example.org.", A, 120, "192.0.2.14"),
        // An $ORIGIN inside an included file does not change the including file's origin.
        ("after.example.org.", A, 120, "192.0.2.19"),
        // No $ORIGIN: example.net.zone is the zone example.net.
        ("www.example.net.", A, 600, "192.0.2.70"),
    ];
    for (name, t, ttl, data) in single_answers {
        check(&s, name, t, &ok(vec![rr(name, t, ttl, data)]));
    }
    let org_soa = rr(
        "example.org.",
        SOA,
        120,
        "ns1.example.org. hostmaster.example.org. 7 3600 600 604800 3600",
    );
    check(
        &s,
        "nope.example.org.",
        A,
        &Want {
            rcode: ResponseCode::NXDomain,
            authority: vec![org_soa],
            ..ok(vec![])
        },
    );
    let net_soa = rr(
        "example.net.",
        SOA,
        30,
        "ns.example.net. hostmaster.example.net. 1 3600 600 604800 30",
    );
    check(
        &s,
        "www.example.net.",
        TXT,
        &Want {
            authority: vec![net_soa],
            ..ok(vec![])
        },
    );
    // The included pieces are not zones of their own, and other names stay refused.
    let p = raw_query(3, 0, &[("www.example.com.", 1, 1)]);
    bare(
        &s,
        &p,
        ResponseCode::Refused,
        "example.com is not served here",
    );
    s.stop().await;
}
