//! The one error type of the SDK. Every variant is something an app can act
//! on; messages never contain a code or a full phone number.
//!
//! The same type crosses the FFI (`MotpException` in Kotlin, `MotpError` in
//! Swift): it holds nothing internal (no `reqwest` or `serde` error, no
//! source chain), only what an app may show or log, so there is no second,
//! public error type to map it to.

use std::time::Duration;

/// Why an mOTP operation failed. Every case says what the app can do about
/// it; messages never contain a code or a full phone number.
///
/// In Kotlin each case is a subclass of `MotpException`
/// (`catch (e: MotpException.WrongCode)`); in Swift it is a case of the
/// `MotpError` enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Error))]
pub enum MotpError {
    /// The phone number is not a valid, dialable number. Ask the user to fix it.
    #[error("invalid phone number: {reason}")]
    InvalidPhoneNumber { reason: String },

    /// An argument other than the phone number is malformed (a caller
    /// pattern, a country code, a typed code with letters…).
    #[error("invalid input: {reason}")]
    InvalidInput { reason: String },

    /// The publishable key was missing, unknown or revoked. A configuration
    /// bug: check the key the client was configured with.
    #[error("the API key was rejected")]
    Unauthorized,

    /// The server will not call this destination (country not allowed,
    /// premium-rate or other special number). Offer another number.
    #[error("this destination cannot be called: {reason}")]
    DestinationNotAllowed { reason: String },

    /// Too many requests. Try again after `retry_after_secs`.
    #[error("rate limited, retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },

    /// The code did not match. `attempts_left` more checks are allowed.
    #[error("wrong code, {attempts_left} attempts left")]
    WrongCode { attempts_left: u32 },

    /// The verification expired or ran out of attempts. Start a new one.
    #[error("the verification expired")]
    Expired,

    /// The verification was already approved; its code cannot be reused.
    #[error("the verification was already used")]
    AlreadyUsed,

    /// The verification does not exist (or belongs to another app).
    #[error("verification not found")]
    NotFound,

    /// The call could not be delivered (busy, rejected, unreachable). Offer
    /// a resend or another number.
    #[error("the verification call failed: {reason}")]
    CallFailed { reason: String },

    /// The operation does not fit the current state (e.g. a code submitted
    /// after the verification ended).
    #[error("not possible now: {reason}")]
    InvalidState { reason: String },

    /// The verification or the wait was canceled.
    #[error("canceled")]
    Canceled,

    /// The server could not be reached. Check connectivity and retry.
    #[error("network error: {reason}")]
    Network { reason: String },

    /// The server did not answer in time. Retry.
    #[error("timed out")]
    Timeout,

    /// The server failed (5xx). Retry later.
    #[error("server error (HTTP {status})")]
    Server { status: u16 },

    /// The server answered something this SDK does not understand: the
    /// server is probably newer than the SDK, or not an mOTP server.
    #[error("unexpected response: {reason}")]
    InvalidResponse { reason: String },

    /// A bug inside the SDK, or an exception thrown by one of the app's
    /// callbacks (a state listener, a logger). Please report it.
    #[error("internal error: {reason}")]
    Internal { reason: String },
}

impl MotpError {
    /// How long to wait before retrying, when the error says so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after_secs } => Some(Duration::from_secs(*retry_after_secs)),
            _ => None,
        }
    }

    /// Whether the same request may succeed if simply tried again later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Network { .. } | Self::Timeout | Self::Server { .. } | Self::RateLimited { .. }
        )
    }
}

/// A foreign callback threw something that is not a `MotpException` (or
/// UniFFI could not call it at all).
#[cfg(feature = "uniffi")]
impl From<uniffi::UnexpectedUniFFICallbackError> for MotpError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Internal {
            reason: format!("callback failed: {}", error.reason),
        }
    }
}
