//! API errors as RFC 9457 `application/problem+json`, with the stable
//! `type` URIs of `motp_core::protocol::problem_types`.

use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use motp_core::protocol::{problem_types as pt, Problem, PROBLEM_JSON};

use crate::storage::StoreError;
use crate::verify::VerifyError;

/// An error answer of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The `type` slug (appended to `PROBLEM_BASE`).
    pub slug: &'static str,
    /// Short, fixed, human-readable summary.
    pub title: &'static str,
    /// Specifics; never a code or a full phone number.
    pub detail: Option<String>,
    /// On `wrong-code`.
    pub attempts_left: Option<u32>,
    /// On `rate-limited`: seconds, also sent as `Retry-After`.
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, slug: &'static str, title: &'static str) -> Self {
        Self {
            status,
            slug,
            title,
            detail: None,
            attempts_left: None,
            retry_after: None,
        }
    }

    /// Adds a detail line.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// 400: malformed body, wrong types, unknown fields, bad parameters.
    pub fn invalid_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            pt::INVALID_REQUEST,
            "Invalid request",
        )
        .detail(detail)
    }

    /// 400: the phone number cannot be used.
    pub fn invalid_phone_number(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            pt::INVALID_PHONE_NUMBER,
            "Invalid phone number",
        )
        .detail(detail)
    }

    /// 401: missing, unknown or insufficient key.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, pt::UNAUTHORIZED, "Unauthorized").detail(detail)
    }

    /// 403: the destination will not be called.
    pub fn destination_not_allowed(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            pt::DESTINATION_NOT_ALLOWED,
            "Destination not allowed",
        )
        .detail(detail)
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(retry_after_secs: u64, detail: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            pt::RATE_LIMITED,
            "Too many requests",
        )
        .detail(detail);
        e.retry_after = Some(retry_after_secs.max(1));
        e
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, pt::NOT_FOUND, "Not found").detail(detail)
    }

    /// 405.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            pt::INVALID_REQUEST,
            "Method not allowed",
        )
    }

    /// 415.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            pt::INVALID_REQUEST,
            "Unsupported media type",
        )
        .detail("send Content-Type: application/json")
    }

    /// 422: the code is wrong; `attempts_left` checks remain.
    pub fn wrong_code(attempts_left: u32, detail: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            pt::WRONG_CODE,
            "Wrong code",
        )
        .detail(detail);
        e.attempts_left = Some(attempts_left);
        e
    }

    /// 410: expired, canceled or failed.
    pub fn expired(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, pt::EXPIRED, "Verification expired").detail(detail)
    }

    /// 410: the attempt budget is spent.
    pub fn attempts_exhausted() -> Self {
        Self::new(StatusCode::GONE, pt::ATTEMPTS_EXHAUSTED, "No attempts left")
            .detail("start a new verification")
    }

    /// 409: already approved.
    pub fn already_used() -> Self {
        Self::new(StatusCode::CONFLICT, pt::ALREADY_USED, "Already used")
            .detail("the verification was already approved")
    }

    /// 413.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            pt::PAYLOAD_TOO_LARGE,
            "Payload too large",
        )
        .detail(format!("request bodies are limited to {limit} bytes"))
    }

    /// 500: a bug (a panic caught at the edge).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            pt::INTERNAL,
            "Internal error",
        )
    }

    /// 503 with `Retry-After: 1`: storage unavailable; retry shortly.
    pub fn unavailable() -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            pt::UNAVAILABLE,
            "Service unavailable",
        )
        .detail("try again shortly");
        e.retry_after = Some(1);
        e
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        Problem {
            problem_type: format!("{}{}", pt::PROBLEM_BASE, self.slug),
            title: self.title.to_string(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            attempts_left: self.attempts_left,
            retry_after: self.retry_after,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "storage failed");
        Self::unavailable()
    }
}

/// The one place where the rules' refusals become HTTP: status, problem
/// type and title here; the detail is the refusal's own sentence.
impl From<VerifyError> for ApiError {
    fn from(error: VerifyError) -> Self {
        let detail = error.to_string();
        match error {
            VerifyError::UnknownHomeCountry | VerifyError::NeedsCodeOrCallerId => {
                Self::invalid_request(detail)
            }
            VerifyError::InvalidPhoneNumber(_) => Self::invalid_phone_number(detail),
            VerifyError::DestinationNotAllowed(_) => Self::destination_not_allowed(detail),
            VerifyError::RateLimited {
                retry_after_secs, ..
            } => Self::rate_limited(retry_after_secs, detail),
            VerifyError::NotFound => Self::not_found(detail),
            VerifyError::AlreadyApproved => Self::already_used(),
            VerifyError::Canceled | VerifyError::CallFailed { .. } | VerifyError::Expired => {
                Self::expired(detail)
            }
            VerifyError::AttemptsExhausted => Self::attempts_exhausted(),
            VerifyError::WrongCode { attempts_left, .. } => Self::wrong_code(attempts_left, detail),
            VerifyError::Storage(error) => error.into(),
            VerifyError::Contended | VerifyError::NoRandomness => Self::unavailable(),
            VerifyError::ShuttingDown => {
                let mut e = Self::unavailable().detail(detail);
                e.retry_after = Some(1);
                e
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).expect("a problem always serialises");
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{Limit, Mismatch};

    /// Each refusal of the rules, beside the answer the API gave for it
    /// before the rules had an error type of their own.
    #[test]
    fn refusals_keep_their_wire_answers() {
        let cases = [
            (
                VerifyError::UnknownHomeCountry,
                ApiError::invalid_request("home_country must be an ISO 3166 alpha-2 code"),
            ),
            (
                VerifyError::NeedsCodeOrCallerId,
                ApiError::invalid_request("send exactly one of code or caller_id"),
            ),
            (
                VerifyError::InvalidPhoneNumber("phone_number is empty".into()),
                ApiError::invalid_phone_number("phone_number is empty"),
            ),
            (
                VerifyError::DestinationNotAllowed("premium rate".into()),
                ApiError::destination_not_allowed("premium rate"),
            ),
            (
                VerifyError::RateLimited {
                    limit: Limit::App,
                    retry_after_secs: 0,
                },
                ApiError::rate_limited(1, "too many calls for this app"),
            ),
            (
                VerifyError::RateLimited {
                    limit: Limit::Destination,
                    retry_after_secs: 3600,
                },
                ApiError::rate_limited(3600, "too many calls to this number; try again later"),
            ),
            (
                VerifyError::RateLimited {
                    limit: Limit::Resend,
                    retry_after_secs: 30,
                },
                ApiError::rate_limited(30, "resend is not allowed yet; see resend_after"),
            ),
            (
                VerifyError::NotFound,
                ApiError::not_found("no such verification"),
            ),
            (VerifyError::AlreadyApproved, ApiError::already_used()),
            (
                VerifyError::Canceled,
                ApiError::expired("the verification was canceled"),
            ),
            (
                VerifyError::CallFailed {
                    reason: Some("busy".into()),
                },
                ApiError::expired("the call failed (busy); start a new verification"),
            ),
            (
                VerifyError::CallFailed { reason: None },
                ApiError::expired("the call failed (unknown); start a new verification"),
            ),
            (
                VerifyError::Expired,
                ApiError::expired("the verification expired"),
            ),
            (
                VerifyError::AttemptsExhausted,
                ApiError::attempts_exhausted(),
            ),
            (
                VerifyError::WrongCode {
                    attempts_left: 5,
                    mismatch: Mismatch::Malformed { digits: 4 },
                },
                ApiError::wrong_code(5, "the code has 4 digits"),
            ),
            (
                VerifyError::WrongCode {
                    attempts_left: 5,
                    mismatch: Mismatch::CallerIdMisfit("wrong_prefix"),
                },
                ApiError::wrong_code(5, "caller_id does not fit the caller range: wrong_prefix"),
            ),
            (
                VerifyError::WrongCode {
                    attempts_left: 2,
                    mismatch: Mismatch::NotTheCode,
                },
                ApiError::wrong_code(2, "the code does not match"),
            ),
            (
                VerifyError::Storage(StoreError::UnsupportedUrl),
                ApiError::unavailable(),
            ),
            (VerifyError::Contended, ApiError::unavailable()),
            (VerifyError::NoRandomness, ApiError::unavailable()),
        ];
        for (refusal, answer) in cases {
            let shown = format!("{refusal:?}");
            assert_eq!(ApiError::from(refusal), answer, "{shown}");
        }
    }
}
