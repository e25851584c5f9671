//! The HTTP API (axum): routes, middleware, and the mapping of the
//! verification rules onto the protocol's status codes.

pub mod events;
pub mod extract;
pub mod openapi;
pub mod problem;
pub mod stats;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use motp_core::protocol::{
    CheckRequest, CheckResponse, CreateVerificationRequest, IntrospectRequest, IntrospectResponse,
    Problem, Verification,
};
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi as _;

use crate::clock::seconds_until;
use crate::state::AppState;
use crate::verify;
use extract::{client_ip, ApiJson, AppKey, BodyLimit, IdPath, SecretKey};
use problem::ApiError;

/// The router with every route and layer.
pub fn router(state: Arc<AppState>) -> Router {
    let body_limit = state.config.server.body_limit_bytes;
    let mut v1 = Router::new()
        .route("/v1/verifications", post(create_verification))
        .route(
            "/v1/verifications/{id}",
            get(get_verification).delete(cancel_verification),
        )
        .route("/v1/verifications/{id}/check", post(check_verification))
        .route("/v1/verifications/{id}/resend", post(resend_verification))
        .route(
            "/v1/verifications/{id}/events",
            get(events::verification_events),
        )
        .route(
            "/v1/verifications/{id}/report",
            post(events::report_verification),
        )
        .route("/v1/tokens/introspect", post(introspect_token))
        .route("/v1/stats", get(stats::stats));
    if state.config.telephony.dev_expose_calls && state.recorder.is_some() {
        v1 = v1
            .route("/v1/dev/calls", get(dev_calls))
            .route("/v1/dev/calls/{id}", get(dev_last_call));
    }
    let v1 = v1.layer(middleware::from_fn_with_state(
        Arc::clone(&state),
        limit_client_ip,
    ));
    Router::new()
        .merge(v1)
        .route("/v1/keys", get(jwks))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/v1/openapi.json", get(openapi_document))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(Extension(BodyLimit(body_limit)))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a request handler panicked");
            ApiError::internal().into_response()
        }))
        .with_state(state)
}

/// Per-client-IP limit over all of `/v1` (in memory, per instance).
async fn limit_client_ip(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let ip = client_ip(
        request.headers(),
        request.extensions(),
        state.config.server.client_ip_header.as_deref(),
    );
    if let Err(wait_ms) = state.ip_limiter.check(ip, state.now()) {
        state.metrics.limited("ip");
        return ApiError::rate_limited(
            seconds_until(0, wait_ms),
            "too many requests from this address",
        )
        .into_response();
    }
    next.run(request).await
}

#[utoipa::path(
    post, path = "/v1/verifications", tag = "verifications",
    request_body = CreateVerificationRequest,
    responses(
        (status = 201, body = Verification, description = "Created; the call is being placed"),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "Invalid number or request"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "Bad key"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "Destination not allowed"),
        (status = 413, body = Problem, content_type = "application/problem+json", description = "Body too large"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "Rate limited (Retry-After)", headers(("Retry-After" = u64, description = "Whole seconds, rounded up"))),
        (status = 415, body = Problem, content_type = "application/problem+json", description = "Not application/json"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "The database does not answer; retry (Retry-After)", headers(("Retry-After" = u64, description = "Whole seconds, rounded up"))),
    ),
    security(("bearer" = []))
)]
async fn create_verification(
    State(state): State<Arc<AppState>>,
    key: AppKey,
    ApiJson(request): ApiJson<CreateVerificationRequest>,
) -> Result<Response, ApiError> {
    let created = verify::create(&state, &key.app_id, request).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(
    get, path = "/v1/verifications/{id}", tag = "verifications",
    params(("id" = String, Path, description = "Verification id")),
    responses(
        (status = 200, body = Verification),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "Rate limited (Retry-After)", headers(("Retry-After" = u64, description = "Whole seconds, rounded up"))),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "The database does not answer; retry (Retry-After)", headers(("Retry-After" = u64, description = "Whole seconds, rounded up"))),
    ),
    security(("bearer" = []))
)]
async fn get_verification(
    State(state): State<Arc<AppState>>,
    key: AppKey,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    Ok(Json(verify::get(&state, &key.app_id, &id).await?).into_response())
}

#[utoipa::path(
    post, path = "/v1/verifications/{id}/check", tag = "verifications",
    params(("id" = String, Path, description = "Verification id")),
    request_body = CheckRequest,
    responses(
        (status = 200, body = CheckResponse, description = "Approved"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "Already used"),
        (status = 410, body = Problem, content_type = "application/problem+json", description = "Expired, canceled, failed or out of attempts"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "Wrong code (attempts_left)"),
        (status = 413, body = Problem, content_type = "application/problem+json", description = "Body too large"),
        (status = 415, body = Problem, content_type = "application/problem+json", description = "Not application/json"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "Rate limited (Retry-After)", headers(("Retry-After" = u64, description = "Whole seconds, rounded up"))),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "The database does not answer; retry (Retry-After)", headers(("Retry-After" = u64, description = "Whole seconds, rounded up"))),
    ),
    security(("bearer" = []))
)]
async fn check_verification(
    State(state): State<Arc<AppState>>,
    key: AppKey,
    IdPath(id): IdPath,
    ApiJson(request): ApiJson<CheckRequest>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let checked = verify::check(&state, &key.app_id, &id, request)
        .await
        .map_err(ApiError::from);
    state
        .metrics
        .check_seconds
        .observe(started.elapsed().as_secs_f64());
    // Counted by the problem type the client is answered with, so the
    // figures read like the API's own vocabulary (`wrong-code`, `expired`).
    state.metrics.check(match &checked {
        Ok(_) => "approved",
        Err(e) => e.slug,
    });
    Ok(Json(checked?).into_response())
}

#[utoipa::path(
    post, path = "/v1/verifications/{id}/resend", tag = "verifications",
    params(("id" = String, Path, description = "Verification id")),
    responses(
        (status = 202, body = Verification, description = "A new call with a new code"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 410, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "Before resend_after, or a cap (Retry-After)", headers(("Retry-After" = u64, description = "Whole seconds, rounded up"))),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "The database does not answer; retry (Retry-After)", headers(("Retry-After" = u64, description = "Whole seconds, rounded up"))),
    ),
    security(("bearer" = []))
)]
async fn resend_verification(
    State(state): State<Arc<AppState>>,
    key: AppKey,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    let resent = verify::resend(&state, &key.app_id, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(resent)).into_response())
}

#[utoipa::path(
    delete, path = "/v1/verifications/{id}", tag = "verifications",
    params(("id" = String, Path, description = "Verification id")),
    responses(
        (status = 204, description = "Canceled (or already over)"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "Already approved"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "Rate limited (Retry-After)", headers(("Retry-After" = u64, description = "Whole seconds, rounded up"))),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "The database does not answer; retry (Retry-After)", headers(("Retry-After" = u64, description = "Whole seconds, rounded up"))),
    ),
    security(("bearer" = []))
)]
async fn cancel_verification(
    State(state): State<Arc<AppState>>,
    key: AppKey,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    verify::cancel(&state, &key.app_id, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    post, path = "/v1/tokens/introspect", tag = "tokens",
    request_body = IntrospectRequest,
    responses(
        (status = 200, body = IntrospectResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "Not a secret key"),
        (status = 413, body = Problem, content_type = "application/problem+json", description = "Body too large"),
        (status = 415, body = Problem, content_type = "application/problem+json", description = "Not application/json"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "Rate limited (Retry-After)", headers(("Retry-After" = u64, description = "Whole seconds, rounded up"))),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "The database does not answer; retry (Retry-After)", headers(("Retry-After" = u64, description = "Whole seconds, rounded up"))),
    ),
    security(("bearer" = []))
)]
async fn introspect_token(
    State(state): State<Arc<AppState>>,
    SecretKey(key): SecretKey,
    ApiJson(request): ApiJson<IntrospectRequest>,
) -> Result<Response, ApiError> {
    Ok(Json(verify::introspect(&state, &key.app_id, &request.token)).into_response())
}

#[utoipa::path(
    get, path = "/v1/keys", tag = "tokens",
    responses((status = 200, description = "JWKS with the Ed25519 token key (also at /.well-known/jwks.json)"))
)]
async fn jwks(State(state): State<Arc<AppState>>) -> Response {
    Json(state.signer.jwks()).into_response()
}

/// `GET /v1/dev/calls/{id}` (development only, secret key): the last call
/// placed for a verification, calling number included.
async fn dev_last_call(
    State(state): State<Arc<AppState>>,
    SecretKey(key): SecretKey,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    // Only the app's own verifications.
    verify::get(&state, &key.app_id, &id).await?;
    let call = state
        .recorder
        .as_ref()
        .and_then(|r| r.last_for(&id))
        .ok_or_else(|| ApiError::not_found("no call recorded for this verification"))?;
    Ok(Json(call_json(&call)).into_response())
}

/// `GET /v1/dev/calls?limit=N` (development only, secret key): the app's
/// last `N` calls (default 100), oldest first: `{"calls": [...]}`.
async fn dev_calls(
    State(state): State<Arc<AppState>>,
    SecretKey(key): SecretKey,
    uri: axum::http::Uri,
) -> Result<Response, ApiError> {
    let limit = match uri
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("limit="))
    {
        None => 100,
        Some(n) => n
            .parse::<usize>()
            .map_err(|_| ApiError::invalid_request("limit must be a number"))?,
    };
    let all = state.recorder.as_ref().map(|r| r.all()).unwrap_or_default();
    let mine: Vec<_> = all.iter().filter(|c| c.app_id == key.app_id).collect();
    let calls: Vec<_> = mine[mine.len().saturating_sub(limit)..]
        .iter()
        .map(|c| call_json(c))
        .collect();
    Ok(Json(serde_json::json!({ "calls": calls })).into_response())
}

fn call_json(call: &crate::telephony::record::PlacedCall) -> serde_json::Value {
    serde_json::json!({
        "verification_id": call.verification_id,
        "caller": call.caller,
        "callee": call.callee,
        "sequence": call.sequence,
        "placed_at": crate::clock::timestamp(call.placed_at_ms),
    })
}

#[utoipa::path(
    get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Serving; the database answers"), (status = 503, body = Problem, content_type = "application/problem+json", description = "Unhealthy: the database does not answer", headers(("Retry-After" = u64, description = "Whole seconds, rounded up"))))
)]
async fn healthz(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    if let Err(error) = state.db(state.store.ping()).await {
        tracing::warn!(%error, "health check: the database does not answer");
        return Err(ApiError::unavailable().detail("unhealthy: the database does not answer"));
    }
    Ok(
        Json(serde_json::json!({"status": "ok", "database": state.store.backend()}))
            .into_response(),
    )
}

#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus metrics (OpenMetrics text)"))
)]
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

#[utoipa::path(
    get, path = "/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "This document"))
)]
async fn openapi_document() -> Response {
    Json(openapi::document(Paths::openapi())).into_response()
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

/// The handlers' OpenAPI path items, for [`openapi::document`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_verification,
    get_verification,
    check_verification,
    resend_verification,
    cancel_verification,
    events::verification_events,
    events::report_verification,
    introspect_token,
    stats::stats,
    jwks,
    healthz,
    metrics,
    openapi_document
))]
pub struct Paths;

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    use super::{openapi, Paths};

    #[test]
    fn every_route_is_documented() {
        let doc = serde_json::to_value(openapi::document(Paths::openapi())).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/v1/verifications",
            "/v1/verifications/{id}",
            "/v1/verifications/{id}/check",
            "/v1/verifications/{id}/resend",
            "/v1/verifications/{id}/events",
            "/v1/verifications/{id}/report",
            "/v1/tokens/introspect",
            "/v1/stats",
            "/v1/keys",
            "/healthz",
            "/metrics",
            "/v1/openapi.json",
        ] {
            assert!(paths.contains_key(path), "{path}");
        }
    }
}
