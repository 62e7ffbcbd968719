//! The admin HTTP API (axum routes on our own hyper listener): status, explain, drain/undrain,
//! reload, metrics, the status page.
//!
//! Owns: routes, bearer-token auth and the cross-site check of mutating calls, and JSON errors
//! (a message and a status, never a panic). Must not: change state except through `Control`
//! (reload) and the health handle (drains), so the single-writer rule holds. Connection limits
//! and timeouts are `listener`'s.

mod listener;
mod origin;
mod page;
mod prom;
pub mod status;

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::control::Control;
use crate::health::DrainTarget;
use crate::views::{ApiError, DrainDone, ReloadDone};

pub use listener::AdminLimits;

#[derive(Clone)]
struct App {
    control: Arc<Control>,
}

/// A JSON error response.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(ApiError {
            error: message.into(),
        }),
    )
        .into_response()
}

/// Serves the admin API on `listener` within `limits` until `cancel` fires; its connections
/// live in `tracker`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    control: Arc<Control>,
    limits: AdminLimits,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    let counters = control.metrics.clone();
    let app = App { control };
    let mutating = Router::new()
        .route("/v1/endpoints/{address}/{action}", post(drain_endpoint))
        .route("/v1/datacenters/{name}/{action}", post(drain_datacenter))
        .route("/v1/reload", post(reload))
        .route_layer(middleware::from_fn_with_state(app.clone(), auth))
        // Outermost: a cross-site request is refused before the token is looked at.
        .route_layer(middleware::from_fn(origin::same_origin_only));
    let router = Router::new()
        .route("/", get(|| async { Html(page::INDEX) }))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .route("/v1/status", get(status_json))
        .route("/v1/explain", get(explain))
        .route("/v1/cluster", get(cluster))
        .merge(mutating)
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint of the admin API") })
        .method_not_allowed_fallback(|m: Method| async move {
            error(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{m} is not allowed here (see the Allow header)"),
            )
        })
        .with_state(app);
    listener::serve(listener, router, counters, limits, cancel, tracker).await;
}

/// Compares in time independent of where the strings differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn auth(State(app): State<App>, headers: HeaderMap, req: Request, next: Next) -> Response {
    let token = app.control.admin_token.load();
    if let Some(token) = token.as_deref() {
        // RFC 7235 §2.1: the scheme name is case-insensitive.
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map_or("", |(_, t)| t);
        if !same(given.trim().as_bytes(), token.as_bytes()) {
            return error(
                StatusCode::UNAUTHORIZED,
                "this call needs Authorization: Bearer <token>",
            );
        }
    }
    next.run(req).await
}

async fn metrics(State(app): State<App>) -> Response {
    let body = prom::render(&app.control);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

async fn cluster(State(app): State<App>) -> Response {
    match app.control.health.cluster() {
        Some(c) => Json(c.status()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "no [cluster] in the configuration: this instance is a single server",
        ),
    }
}

async fn status_json(State(app): State<App>) -> Response {
    let snap = app.control.state.load_full();
    Json(status::status(&snap, &app.control)).into_response()
}

/// Query of `/v1/explain`.
#[derive(Debug, Deserialize)]
pub struct ExplainQuery {
    /// Balanced name.
    pub name: String,
    /// A or AAAA (default A).
    #[serde(rename = "type")]
    pub qtype: Option<String>,
    /// Client address, or network as `addr/len` (as if sent in ECS).
    pub client: Option<String>,
    /// Comma-separated endpoint addresses or data center names to treat as down.
    pub assume_down: Option<String>,
}

async fn explain(
    State(app): State<App>,
    q: Result<Query<ExplainQuery>, QueryRejection>,
) -> Response {
    let q = match q {
        Ok(Query(q)) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let snap = app.control.state.load_full();
    match status::explain(&snap, &q, app.control.health.cluster()) {
        Ok(v) => Json(v).into_response(),
        Err((code, msg)) => error(code, msg),
    }
}

fn action(a: &str) -> Option<bool> {
    match a {
        "drain" => Some(true),
        "undrain" => Some(false),
        _ => None,
    }
}

fn unknown_action(a: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("unknown action {a:?}: use drain or undrain"),
    )
}

async fn drain(app: &App, what: DrainTarget, drained: bool) -> Response {
    use crate::health::DrainError;
    let label = match &what {
        DrainTarget::Endpoint(a) => format!("endpoint {a}"),
        DrainTarget::Datacenter(d) => format!("datacenter {d}"),
    };
    match app.control.health.drain(what, drained).await {
        Ok(()) => Json(DrainDone {
            ok: true,
            target: label,
            drained,
        })
        .into_response(),
        Err(e @ (DrainError::UnknownEndpoint(_) | DrainError::UnknownDatacenter(_))) => {
            error(StatusCode::NOT_FOUND, e.to_string())
        }
        Err(e @ DrainError::Cluster(_)) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn drain_endpoint(
    State(app): State<App>,
    UrlPath((address, act)): UrlPath<(String, String)>,
) -> Response {
    let Some(drained) = action(&act) else {
        return unknown_action(&act);
    };
    let Ok(addr) = address.parse::<IpAddr>() else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("{address:?} is not an IP address"),
        );
    };
    drain(&app, DrainTarget::Endpoint(addr), drained).await
}

async fn drain_datacenter(
    State(app): State<App>,
    UrlPath((name, act)): UrlPath<(String, String)>,
) -> Response {
    let Some(drained) = action(&act) else {
        return unknown_action(&act);
    };
    drain(&app, DrainTarget::Datacenter(name), drained).await
}

async fn reload(State(app): State<App>) -> Response {
    match app.control.reload().await {
        Ok(()) => Json(ReloadDone {
            ok: true,
            generation: Some(
                app.control
                    .reloads
                    .generation
                    .load(std::sync::atomic::Ordering::Relaxed),
            ),
            error: None,
            errors: None,
        })
        .into_response(),
        Err(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(ReloadDone {
                ok: false,
                generation: None,
                error: Some("the new configuration was rejected; the running one stays".into()),
                errors: Some(errors.iter().map(|e| e.to_string()).collect()),
            }),
        )
            .into_response(),
    }
}
