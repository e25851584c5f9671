//! Benchmark floor (issue 16), not part of the product: the smallest axum
//! server that answers `POST /v1/verifications/{id}/check` exactly as mOTP
//! answers a wrong code — 422 with the same `application/problem+json`
//! body, built by the same `ApiError` — after the same request handling
//! (routing, the path id, the Bearer header, a JSON body read into
//! `CheckRequest`), but with no storage, no key lookup, no HMAC and no rate
//! limiter. `scripts/bench/compare.sh` measures it with the same wrk
//! settings as mOTP and prints every mOTP row as a fraction of it.
//!
//! `cargo run --profile release-server -p motp-server --example bench_floor -- 127.0.0.1:PORT`

use std::net::SocketAddr;

use axum::extract::Path;
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use motp_core::protocol::CheckRequest;
use motp_server::api::extract::ApiJson;
use motp_server::api::problem::ApiError;

async fn check(
    Path(_id): Path<String>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<CheckRequest>,
) -> Response {
    if headers.get(AUTHORIZATION).is_none() {
        return ApiError::unauthorized("send Authorization: Bearer <key>").into_response();
    }
    if request.code.is_none() && request.caller_id.is_none() {
        return ApiError::invalid_request("send code or caller_id").into_response();
    }
    ApiError::wrong_code(3_999_999_999, "the code does not match").into_response()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listen: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8089".into())
        .parse()
        .expect("usage: bench_floor ADDR:PORT");
    let app = Router::new()
        .route("/v1/verifications/{id}/check", post(check))
        .route("/healthz", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
