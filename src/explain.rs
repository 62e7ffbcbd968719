//! `gslb explain`: asks a running server's admin API for a decision trace and prints it for
//! people (or as JSON for scripts).
//!
//! Owns: the request and the table. Must not: compute answers itself; the server's own trace is
//! the truth.

use crate::views::{ApiError, Explain};

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

/// Why the trace could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// `--admin` is not a URL.
    #[error("--admin {url:?}: {detail}")]
    BadUrl {
        /// What was given.
        url: String,
        /// Why it does not parse.
        detail: String,
    },
    /// The HTTP client could not be built, or the server could not be reached.
    #[error("cannot reach the admin API at {base}: {source}")]
    Unreachable {
        /// The admin API's base URL.
        base: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// The server answered something that is not the expected JSON.
    #[error("the admin API answered {status} with no trace: {detail}")]
    BadAnswer {
        /// HTTP status.
        status: reqwest::StatusCode,
        /// What was wrong.
        detail: String,
    },
    /// The server refused, with its reason.
    #[error("{message} ({status})")]
    Refused {
        /// HTTP status.
        status: reqwest::StatusCode,
        /// The server's `error`.
        message: String,
    },
}

/// Fetches the trace. Errors carry the server's message when it gave one.
pub async fn fetch(ask: &Ask) -> Result<Explain, FetchError> {
    let base = ask.admin.trim_end_matches('/').to_string();
    let mut url =
        reqwest::Url::parse(&format!("{base}/v1/explain")).map_err(|e| FetchError::BadUrl {
            url: ask.admin.clone(),
            detail: e.to_string(),
        })?;
    url.query_pairs_mut()
        .append_pair("name", &ask.name)
        .append_pair("type", &ask.qtype)
        .append_pair("client", &ask.client);
    if !ask.assume_down.is_empty() {
        url.query_pairs_mut()
            .append_pair("assume_down", &ask.assume_down.join(","));
    }
    let unreachable = |source| FetchError::Unreachable {
        base: base.clone(),
        source,
    };
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(unreachable)?;
    let resp = client.get(url).send().await.map_err(unreachable)?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|e| FetchError::BadAnswer {
        status,
        detail: e.to_string(),
    })?;
    if !status.is_success() {
        let message = serde_json::from_slice::<ApiError>(&bytes)
            .map_or_else(|_| "unknown error".to_string(), |e| e.error);
        return Err(FetchError::Refused { status, message });
    }
    serde_json::from_slice(&bytes).map_err(|e| FetchError::BadAnswer {
        status,
        detail: e.to_string(),
    })
}

/// Formats a trace as a short report with one line per endpoint.
pub fn render(t: &Explain) -> String {
    let mut out = String::new();
    let ecs = if t.client_from_ecs {
        "as sent in EDNS Client Subnet"
    } else {
        "the resolver's address"
    };
    out.push_str(&format!(
        "{} {} for client {} ({ecs})\n",
        t.name, t.qtype, t.client
    ));
    if !t.assumed_down.is_empty() {
        out.push_str(&format!(
            "what if down: {} (live state untouched)\n",
            t.assumed_down.join(", ")
        ));
    }
    out.push_str(&format!(
        "policy {} · ttl {} · ECS scope /{}\n",
        t.policy, t.ttl, t.scope
    ));
    let mut answer: Vec<String> = t.answer.iter().map(ToString::to_string).collect();
    if let Some(c) = &t.cname {
        answer.push(format!("CNAME {c}"));
    }
    out.push_str(&format!(
        "answer: {}\n",
        if answer.is_empty() {
            "(none: NODATA)".to_string()
        } else {
            answer.join(" ")
        }
    ));
    out.push_str(&format!("why:    {}\n", t.reason));
    for d in &t.datacenters_down {
        out.push_str(&format!("shared fate: {d}\n"));
    }
    if t.signed {
        out.push_str("dnssec: signed (DO=1 answers carry RRSIGs; NODATA a compact-denial NSEC)\n");
    }
    out.push('\n');
    let rows: Vec<[String; 7]> = t
        .endpoints
        .iter()
        .map(|row| {
            let e = &row.endpoint;
            let mark = if row.chosen { "*" } else { " " };
            let state = if row.family {
                e.state.to_string()
            } else {
                "(other family)".to_string()
            };
            let health = e.health.as_ref();
            let since = health
                .map(|h| format!("{}s ago", h.since_seconds))
                .unwrap_or_default();
            let last = match health.and_then(|h| h.last_check.as_ref()) {
                Some(c) => format!(
                    "{}: {} ({} ms)",
                    if c.ok { "ok" } else { "failed" },
                    c.result,
                    c.latency_ms
                ),
                None if health.is_none_or(|h| h.check.is_none()) => "no check".into(),
                None => String::new(),
            };
            [
                format!(
                    "{mark} {}",
                    e.target
                        .as_deref()
                        .map_or_else(|| e.address.to_string(), str::to_string)
                ),
                e.datacenter.clone(),
                e.priority.to_string(),
                e.weight.to_string(),
                state,
                since,
                last,
            ]
        })
        .collect();
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
    let votes: Vec<(String, &str)> = t
        .endpoints
        .iter()
        .filter_map(|row| {
            let v = row.endpoint.health.as_ref()?.votes.as_deref()?;
            Some((row.endpoint.address.to_string(), v))
        })
        .collect();
    if !votes.is_empty() {
        out.push_str("\nhealth by vote of the NS set:\n");
        for (a, v) in votes {
            out.push_str(&format!("  {a}  votes: {v}\n"));
        }
    }
    out
}
