//! Request extractors whose every rejection is a problem+json answer
//! (axum's own rejections are plain text).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::problem::ApiError;
use crate::keys::{self, KeyKind};
use crate::state::AppState;

/// A JSON body. Requires `Content-Type: application/json`; unknown fields
/// are rejected by the request types themselves (`deny_unknown_fields`).
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::unsupported_media_type());
        }
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map(|l| l.0)
            .unwrap_or(4096);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large(limit)
            } else {
                ApiError::invalid_request("the request body could not be read")
            }
        })?;
        parse_body(&bytes).map(ApiJson)
    }
}

/// Reads a JSON request body into `T`. Every failure is a 400
/// `invalid-request` whose detail is short and safe to send back.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::invalid_request(json_error(&e)))
}

/// The configured body limit, put in request extensions for error messages.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || (essence.len() > 5 && essence[essence.len() - 5..].eq_ignore_ascii_case("+json"))
}

/// A short, safe description of a JSON error. serde's messages name the
/// field and the expected type; the position helps with syntax errors.
fn json_error(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => format!(
            "malformed JSON at line {} column {}",
            error.line(),
            error.column()
        ),
        Category::Data => {
            let mut text = error.to_string();
            // serde appends " at line L column C"; keep it, but never a huge
            // echo. Cut on a character boundary: the message may quote
            // multi-byte input, and `truncate` panics inside a character.
            if text.len() > 200 {
                let mut cut = 200;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
            }
            text
        }
    }
}

/// The `{id}` path segment.
pub struct IdPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found("no such verification"))?;
        if id.is_empty() || id.len() > 64 {
            return Err(ApiError::not_found("no such verification"));
        }
        Ok(IdPath(id))
    }
}

/// The authenticated caller: the app and the kind of key it used.
#[derive(Debug, Clone)]
pub struct AppKey {
    /// The app's id.
    pub app_id: String,
    /// Publishable or secret.
    pub kind: KeyKind,
}

impl FromRequestParts<Arc<AppState>> for AppKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("send Authorization: Bearer <key>"))?;
        let key = header
            .to_str()
            .ok()
            .and_then(|h| {
                let (scheme, key) = h.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
            })
            .ok_or_else(|| ApiError::unauthorized("send Authorization: Bearer <key>"))?;
        if KeyKind::of(key).is_none() || key.len() > 128 {
            return Err(ApiError::unauthorized("unknown key"));
        }
        let hash = keys::hash(key);
        let now = state.now();
        if let Some((app_id, kind)) = state.key_cache.get(&hash, now) {
            return Ok(AppKey { app_id, kind });
        }
        match state.db(state.store.find_key(&hash)).await? {
            Some((app_id, kind)) => {
                state.key_cache.put(hash, app_id.clone(), kind, now);
                Ok(AppKey { app_id, kind })
            }
            None => Err(ApiError::unauthorized("unknown key")),
        }
    }
}

/// A secret key (`sk_…`), for app backends.
pub struct SecretKey(pub AppKey);

impl FromRequestParts<Arc<AppState>> for SecretKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let key = AppKey::from_request_parts(parts, state).await?;
        if key.kind != KeyKind::Secret {
            return Err(ApiError::unauthorized(
                "this call needs a secret key (sk_…)",
            ));
        }
        Ok(SecretKey(key))
    }
}

/// The client's address: the configured proxy header's rightmost entry,
/// else the TCP peer.
pub fn client_ip(
    headers: &HeaderMap,
    parts_ext: &axum::http::Extensions,
    header: Option<&str>,
) -> IpAddr {
    if let Some(name) = header {
        let from_header = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .next_back();
        if let Some(ip) = from_header {
            return ip;
        }
    }
    parts_ext
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use motp_core::protocol::CreateVerificationRequest;

    #[test]
    fn a_body_that_reads_is_the_request() {
        let request: CreateVerificationRequest =
            parse_body(br#"{"phone_number":"+447400123456"}"#).unwrap();
        assert_eq!(request.phone_number, "+447400123456");
    }

    #[test]
    fn a_long_multi_byte_field_name_is_cut_on_a_character_boundary() {
        // serde quotes the unknown field in its message; 'é' is two bytes,
        // so byte 200 falls inside a character at some offset.
        for pad in 0..4 {
            let name = format!("{}{}", "x".repeat(pad), "é".repeat(300));
            let body = format!(r#"{{"{name}":1}}"#);
            let error = parse_body::<CreateVerificationRequest>(body.as_bytes()).unwrap_err();
            assert_eq!(error.status, StatusCode::BAD_REQUEST);
            let detail = error.detail.unwrap();
            assert!(detail.len() <= 200, "{} bytes", detail.len());
            assert!(detail.starts_with("unknown field"), "{detail}");
        }
    }

    #[test]
    fn malformed_json_names_the_position_not_the_input() {
        let error =
            parse_body::<CreateVerificationRequest>(b"{\"phone_number\": +4474").unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        let detail = error.detail.unwrap();
        assert!(
            detail.starts_with("malformed JSON at line 1 column"),
            "{detail}"
        );
        assert!(!detail.contains("4474"), "{detail}");
    }
}
