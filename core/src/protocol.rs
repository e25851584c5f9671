//! The `/v1` wire protocol: JSON bodies exchanged between the SDK and the
//! verification server. The server and the client both use these types, so
//! the contract lives in one place.
//!
//! Unknown fields are rejected in requests (the server must not silently
//! ignore a misspelt field) and tolerated in responses (an older SDK must
//! keep working when the server adds a field).

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// Media type of every error body (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// `POST /v1/verifications`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateVerificationRequest {
    /// The number to verify, E.164 (`+447400123456`) or national with `country`.
    pub phone_number: String,
    /// ISO 3166 alpha-2 country used to read a national `phone_number`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// Where the verification stands on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VerificationStatus {
    /// The call is being placed.
    Calling,
    /// The phone network reports the phone is ringing.
    Ringing,
    /// The call rang and was hung up: the caller ID reached the phone.
    Delivered,
    /// The right code was checked; a token was issued.
    Approved,
    /// The time to live ran out, or the attempt budget was spent.
    Expired,
    /// The call could not be delivered (busy, rejected, unreachable…).
    Failed,
    /// The app canceled the verification.
    Canceled,
}

impl VerificationStatus {
    /// Whether no further change can happen.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Approved | Self::Expired | Self::Failed | Self::Canceled
        )
    }

    /// The wire name (`"calling"`, `"ringing"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Calling => "calling",
            Self::Ringing => "ringing",
            Self::Delivered => "delivered",
            Self::Approved => "approved",
            Self::Expired => "expired",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }
}

/// What the phone will see as the calling number: `prefix` followed by
/// `code_length` secret digits. The client is never told the digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CallerInfo {
    /// E.164 prefix with `+`, e.g. `+442079460`.
    pub prefix: String,
    /// How many code digits follow the prefix.
    pub code_length: u8,
}

/// Body of `POST /v1/verifications` (201), `GET /v1/verifications/{id}` (200)
/// and `POST /v1/verifications/{id}/resend` (202).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verification {
    /// Opaque identifier.
    pub id: String,
    pub status: VerificationStatus,
    /// The number being verified, E.164.
    pub phone_number: String,
    pub caller: CallerInfo,
    /// After this instant no code is accepted.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: Timestamp,
    /// Before this instant a resend is refused with 429.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub resend_after: Timestamp,
    /// Checks left before the verification is spent.
    pub attempts_left: u32,
    /// Why the call failed, when `status` is `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}

/// `POST /v1/verifications/{id}/check`: exactly one of `code` or `caller_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// The digits the user typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The raw incoming number as the phone presented it; the server matches it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
    /// The handset's home country (ISO 3166 alpha-2), needed to read a
    /// national-format `caller_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_country: Option<String>,
}

impl CheckRequest {
    /// A check with a typed code.
    pub fn with_code(code: impl Into<String>) -> Self {
        Self {
            code: Some(code.into()),
            caller_id: None,
            home_country: None,
        }
    }

    /// A check with the raw caller ID the phone observed.
    pub fn with_caller_id(caller_id: impl Into<String>, home_country: Option<String>) -> Self {
        Self {
            code: None,
            caller_id: Some(caller_id.into()),
            home_country,
        }
    }
}

/// 200 body of a successful check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckResponse {
    /// Always `approved`.
    pub status: VerificationStatus,
    /// Proof for the app's backend that the number was verified; check it
    /// there with `POST /v1/tokens/introspect` or the published key.
    pub token: String,
}

/// What the SDK saw of a verification that ended without the phone reading
/// the call by itself in time: why the user had to type, or gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Observation {
    /// The device could not read incoming numbers (Android without the
    /// permissions or the call-screening role; iOS).
    NoPermission,
    /// The device could read numbers but never saw the verification call.
    CallNotSeen,
    /// The call was seen, but only after the SDK had fallen back to manual
    /// entry.
    CallSeenLate,
    /// The user typed the code while the SDK was still waiting for the call.
    UserTyped,
}

impl Observation {
    /// The wire name (`"no_permission"`, `"call_not_seen"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoPermission => "no_permission",
            Self::CallNotSeen => "call_not_seen",
            Self::CallSeenLate => "call_seen_late",
            Self::UserTyped => "user_typed",
        }
    }
}

/// `POST /v1/verifications/{id}/report`: sent by the SDK once, when a
/// verification ends without an automatic match, for the conversion figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    pub observation: Observation,
}

/// Names of the server-sent events of `GET /v1/verifications/{id}/events`.
/// Every event's `data` is the [`Verification`] as `GET` returns it, and its
/// `id` the row's version (send it back as `Last-Event-ID` to resume). The
/// event is named after the new `status`, or [`CALLER_CHANGED`] when only
/// the caller prefix changed (the call was moved to another trunk).
pub mod events {
    /// The caller prefix changed while the status did not.
    pub const CALLER_CHANGED: &str = "caller";
}

/// `POST /v1/tokens/introspect` (secret key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IntrospectRequest {
    pub token: String,
}

/// 200 body of introspection. Only `active` is present when the token is not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntrospectResponse {
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub verified_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_id: Option<String>,
}

/// An RFC 9457 problem document. `type` is stable and is what clients match on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A stable URI such as `https://motp.dev/problems/wrong-code`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Checks left, on `wrong-code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// Seconds to wait, on `rate-limited` (mirrors the `Retry-After` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// The stable problem types. The URI is `PROBLEM_BASE` + the slug.
pub mod problem_types {
    pub const PROBLEM_BASE: &str = "https://motp.dev/problems/";
    pub const INVALID_REQUEST: &str = "invalid-request";
    pub const INVALID_PHONE_NUMBER: &str = "invalid-phone-number";
    pub const UNAUTHORIZED: &str = "unauthorized";
    pub const DESTINATION_NOT_ALLOWED: &str = "destination-not-allowed";
    pub const RATE_LIMITED: &str = "rate-limited";
    pub const NOT_FOUND: &str = "not-found";
    pub const WRONG_CODE: &str = "wrong-code";
    pub const EXPIRED: &str = "expired";
    pub const ATTEMPTS_EXHAUSTED: &str = "attempts-exhausted";
    pub const ALREADY_USED: &str = "already-used";
    pub const PAYLOAD_TOO_LARGE: &str = "payload-too-large";
    pub const INTERNAL: &str = "internal";
    pub const UNAVAILABLE: &str = "unavailable";
}
