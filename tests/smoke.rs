mod common;
use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

#[tokio::test(flavor = "multi_thread")]
async fn serves_the_example_zone_over_udp_and_tcp() {
    let s = start().await;
    for r in both(&s, &query("www.example.com.", RecordType::A, true)) {
        assert_eq!(r.metadata.response_code, ResponseCode::NoError);
        assert!(r.metadata.authoritative);
        assert_eq!(addrs(&r), vec!["192.0.2.80"]);
    }
    s.stop().await;
}
