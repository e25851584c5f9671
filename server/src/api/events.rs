//! `GET /v1/verifications/{id}/events` (server-sent events) and
//! `POST /v1/verifications/{id}/report`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use motp_core::protocol::{Problem, ReportRequest};

use super::extract::{ApiJson, AppKey, IdPath};
use super::problem::ApiError;
use crate::state::AppState;
use crate::verify;
use crate::verify::events::{Change, Follow};

/// A comment line sent when nothing else was, so that proxies and the SDK
/// can tell a quiet stream from a dead one.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// What a browser-style client waits before reconnecting (`retry:`).
const RECONNECT_MS: u64 = 1000;

#[utoipa::path(
    get, path = "/v1/verifications/{id}/events", tag = "verifications",
    params(
        ("id" = String, Path, description = "Verification id"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id"),
    ),
    responses(
        (status = 200, content_type = "text/event-stream", description = "Server-sent events, one per change: \
`event` is the new status (`calling`, `ringing`, `delivered`, `failed`, `approved`, `expired`, `canceled`) \
or `caller` when only the caller prefix changed (trunk failover); `data` is the verification as GET returns it \
(with `failure_reason` when failed, and the new `caller` after a resend); `id` increases with every change. \
The first event is the current state (unless `Last-Event-ID` names it already). A `: heartbeat` comment \
every 15 s. The stream closes after a final state."),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "Rate limited (Retry-After)", headers(("Retry-After" = u64, description = "Whole seconds, rounded up"))),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "The database does not answer; retry (Retry-After)", headers(("Retry-After" = u64, description = "Whole seconds, rounded up"))),
    ),
    security(("bearer" = []))
)]
pub async fn verification_events(
    State(state): State<Arc<AppState>>,
    key: AppKey,
    IdPath(id): IdPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let follow = Follow::start(state, &key.app_id, &id, last_event_id).await?;
    let first = std::sync::atomic::AtomicBool::new(true);
    let stream = futures_util::stream::unfold(follow, move |mut follow| async move {
        let change = follow.next().await?;
        Some((change, follow))
    });
    let stream = futures_util::StreamExt::map(stream, move |change: Change| {
        let mut event = Event::default()
            .id(change.id.to_string())
            .event(change.name)
            .json_data(&change.verification)
            .unwrap_or_else(|_| Event::default().comment("unencodable"));
        if first.swap(false, std::sync::atomic::Ordering::Relaxed) {
            event = event.retry(Duration::from_millis(RECONNECT_MS));
        }
        Ok::<_, Infallible>(event)
    });
    let sse = Sse::new(stream).keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat"));
    let mut response = sse.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Asks nginx-style proxies not to buffer the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

#[utoipa::path(
    post, path = "/v1/verifications/{id}/report", tag = "verifications",
    params(("id" = String, Path, description = "Verification id")),
    request_body = ReportRequest,
    responses(
        (status = 204, description = "Stored (a later report replaces it)"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json", description = "Body too large"),
        (status = 415, body = Problem, content_type = "application/problem+json", description = "Not application/json"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "Rate limited (Retry-After)", headers(("Retry-After" = u64, description = "Whole seconds, rounded up"))),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "The database does not answer; retry (Retry-After)", headers(("Retry-After" = u64, description = "Whole seconds, rounded up"))),
    ),
    security(("bearer" = []))
)]
pub async fn report_verification(
    State(state): State<Arc<AppState>>,
    key: AppKey,
    IdPath(id): IdPath,
    ApiJson(request): ApiJson<ReportRequest>,
) -> Result<Response, ApiError> {
    verify::report(&state, &key.app_id, &id, request).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
