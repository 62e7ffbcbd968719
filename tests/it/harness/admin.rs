//! An HTTP client for the admin API, and readers of what it returns (JSON, Prometheus text).

use std::time::Duration;

use super::TestServer;

/// An HTTP client for the admin API: no proxy (loopback only), 10 s timeout.
pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

/// `GET http://<admin><path>`: status code and body.
pub(crate) async fn admin_get(s: &TestServer, path: &str) -> (u16, String) {
    let r = http()
        .get(format!("http://{}{path}", s.admin))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let code = r.status().as_u16();
    (code, r.text().await.expect("body"))
}

/// `POST http://<admin><path>`, with `Authorization: <auth>` when given: status code and body.
pub(crate) async fn admin_post(s: &TestServer, path: &str, auth: Option<&str>) -> (u16, String) {
    let mut req = http().post(format!("http://{}{path}", s.admin));
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    let r = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let code = r.status().as_u16();
    (code, r.text().await.expect("body"))
}

/// Parses a body as JSON, failing with the body when it is not.
pub(crate) fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// `GET /v1/status`, which must answer 200 with JSON.
pub(crate) async fn status_json(s: &TestServer) -> serde_json::Value {
    let (code, body) = admin_get(s, "/v1/status").await;
    assert_eq!(code, 200, "{body}");
    json(&body)
}

/// The state (`up`, `down`, `drained`) `/v1/status` shows for an endpoint of a balanced name.
pub(crate) fn status_state(st: &serde_json::Value, name: &str, endpoint: &str) -> Option<String> {
    st["balanced"]
        .as_array()?
        .iter()
        .find(|b| b["name"] == name)?["endpoints"]
        .as_array()?
        .iter()
        .find(|e| e["address"] == endpoint)?["state"]
        .as_str()
        .map(String::from)
}

/// Waits (5 s at most) until `/v1/status` shows `endpoint` of `name` in `state`.
pub(crate) async fn until_status_state(s: &TestServer, name: &str, endpoint: &str, state: &str) {
    let what = format!("{endpoint} of {name} to show as {state} in /v1/status");
    super::eventually_async(Duration::from_secs(5), &what, || async {
        super::seen(status_state(&status_json(s).await, name, endpoint), |st| {
            st.as_deref() == Some(state)
        })
    })
    .await;
}

/// The value of one series (`name{labels}` exactly as rendered) in Prometheus text.
pub(crate) fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The response-rate-limiting counters of `class` in /metrics: (sent, slipped, dropped).
pub(crate) async fn rrl_counts(s: &TestServer, class: &str) -> (u64, u64, u64) {
    let (_, text) = admin_get(s, "/metrics").await;
    let get = |action: &str| {
        metric(
            &text,
            &format!("gslb_rrl_responses_total{{action=\"{action}\",class=\"{class}\"}}"),
        )
        .unwrap_or(0.0) as u64
    };
    (get("sent"), get("slipped"), get("dropped"))
}

/// Asserts a JSON error body `{"error": "<message>"}` whose message contains `contains`.
pub(crate) fn assert_error(body: &str, contains: &str) {
    let v = json(body);
    let msg = v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error: {body}"));
    assert!(msg.contains(contains), "{msg:?} lacks {contains:?}");
}
