//! `gslb explain`: asks a running server's admin API for a decision trace and prints it for
//! people (or as JSON for scripts).
//!
//! Owns: the request and the table. Must not: compute answers itself; the server's own trace is
//! the truth.

use serde_json::Value;

/// What to ask.
#[derive(Debug, Clone)]
pub struct Ask {
    /// Balanced name.
    pub name: String,
    /// A or AAAA.
    pub qtype: String,
    /// Client address or network.
    pub client: String,
    /// Admin API base URL.
    pub admin: String,
    /// Endpoints or data centers to assume down.
    pub assume_down: Vec<String>,
}

/// Fetches the trace. Errors carry the server's message when it gave one.
pub async fn fetch(ask: &Ask) -> Result<Value, String> {
    let base = ask.admin.trim_end_matches('/');
    let mut url = reqwest::Url::parse(&format!("{base}/v1/explain"))
        .map_err(|e| format!("--admin {:?}: {e}", ask.admin))?;
    url.query_pairs_mut()
        .append_pair("name", &ask.name)
        .append_pair("type", &ask.qtype)
        .append_pair("client", &ask.client);
    if !ask.assume_down.is_empty() {
        url.query_pairs_mut()
            .append_pair("assume_down", &ask.assume_down.join(","));
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("cannot reach the admin API at {base}: {e}"))?;
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| format!("the admin API answered {status}, then failed: {e}"))?;
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("the admin API answered {status} with no JSON: {e}"))?;
    if !status.is_success() {
        let msg = body["error"].as_str().unwrap_or("unknown error");
        return Err(format!("{msg} ({status})"));
    }
    Ok(body)
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(x) => x.clone(),
        other => other.to_string(),
    }
}

/// Formats a trace as a short report with one line per endpoint.
pub fn render(t: &Value) -> String {
    let mut out = String::new();
    let ecs = if t["client_from_ecs"].as_bool() == Some(true) {
        "as sent in EDNS Client Subnet"
    } else {
        "the resolver's address"
    };
    out.push_str(&format!(
        "{} {} for client {} ({ecs})\n",
        s(&t["name"]),
        s(&t["qtype"]),
        s(&t["client"])
    ));
    let assumed = t["assumed_down"]
        .as_array()
        .map(|a| a.iter().map(s).collect::<Vec<_>>().join(", "))
        .unwrap_or_default();
    if !assumed.is_empty() {
        out.push_str(&format!("what if down: {assumed} (live state untouched)\n"));
    }
    let answer: Vec<String> = t["answer"]
        .as_array()
        .map(|a| a.iter().map(s).collect())
        .unwrap_or_default();
    out.push_str(&format!(
        "policy {} · ttl {} · ECS scope /{}\n",
        s(&t["policy"]),
        s(&t["ttl"]),
        s(&t["scope"])
    ));
    out.push_str(&format!(
        "answer: {}\n",
        if answer.is_empty() {
            "(none: NODATA)".to_string()
        } else {
            answer.join(" ")
        }
    ));
    out.push_str(&format!("why:    {}\n\n", s(&t["reason"])));
    let rows: Vec<[String; 7]> = t["endpoints"]
        .as_array()
        .map(|eps| {
            eps.iter()
                .map(|e| {
                    let mark = if e["chosen"].as_bool() == Some(true) {
                        "*"
                    } else {
                        " "
                    };
                    let state = if e["family"].as_bool() == Some(false) {
                        "(other family)".to_string()
                    } else {
                        s(&e["state"])
                    };
                    let since = e["since_seconds"]
                        .as_u64()
                        .map(|x| format!("{x}s ago"))
                        .unwrap_or_default();
                    let last = match &e["last_check"] {
                        Value::Object(c) => format!(
                            "{}: {} ({} ms)",
                            if c.get("ok").and_then(Value::as_bool) == Some(true) {
                                "ok"
                            } else {
                                "failed"
                            },
                            c.get("result").map(s).unwrap_or_default(),
                            c.get("latency_ms").map(s).unwrap_or_default()
                        ),
                        _ if e["check"].is_null() => "no check".into(),
                        _ => String::new(),
                    };
                    [
                        format!("{mark} {}", s(&e["address"])),
                        s(&e["datacenter"]),
                        s(&e["priority"]),
                        s(&e["weight"]),
                        state,
                        since,
                        last,
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    let head = [
        "  endpoint",
        "datacenter",
        "prio",
        "weight",
        "state",
        "since",
        "last check",
    ];
    let mut width = head.map(str::len);
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<w$}  ", w = width[i]));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    out.push_str(&line(&head.map(String::from)));
    for r in &rows {
        out.push_str(&line(r));
    }
    out.push_str("(* = in this answer)\n");
    out
}
