//! The one error type of the SDK surface: `MotpException` in Kotlin,
//! `MotpError` in Swift.
//!
//! It mirrors `motp_core::MotpError` variant for variant (the exhaustive
//! `From` below breaks the build when the core adds one), and adds the
//! conversion from a failed foreign callback that UniFFI requires.

/// Why an mOTP operation failed. Every case says what the app can do about
/// it; messages never contain a code or a full phone number.
///
/// In Kotlin each case is a subclass of `MotpException`
/// (`catch (e: MotpException.WrongCode)`); in Swift it is a case of the
/// `MotpError` enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum MotpError {
    /// The phone number is not a valid, dialable number. Ask the user to fix it.
    #[error("invalid phone number: {reason}")]
    InvalidPhoneNumber { reason: String },

    /// An argument other than the phone number is malformed: a caller
    /// pattern, a country code, a typed code with letters, a server URL.
    #[error("invalid input: {reason}")]
    InvalidInput { reason: String },

    /// The publishable key was missing, unknown or revoked. A configuration
    /// bug: check the key you pass in `MotpConfig`.
    #[error("the API key was rejected")]
    Unauthorized,

    /// The server will not call this destination (country not allowed,
    /// premium-rate or other special number). Offer another number.
    #[error("this destination cannot be called: {reason}")]
    DestinationNotAllowed { reason: String },

    /// Too many requests. Try again after the number of seconds given.
    #[error("rate limited, retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },

    /// The code did not match. The given number of further checks is
    /// allowed; let the user type it again.
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

    /// The operation does not fit the current state, e.g. a code submitted
    /// after the verification ended.
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

    /// The server failed (HTTP 5xx). Retry later.
    #[error("server error (HTTP {status})")]
    Server { status: u16 },

    /// The server answered something this SDK does not understand: the
    /// server is probably newer than the SDK, or not an mOTP server.
    #[error("unexpected response: {reason}")]
    InvalidResponse { reason: String },

    /// A bug inside the SDK, or an exception thrown by one of your callbacks
    /// (`VerificationListener`, `Logger`). Please report it.
    #[error("internal error: {reason}")]
    Internal { reason: String },
}

impl From<motp_core::MotpError> for MotpError {
    fn from(error: motp_core::MotpError) -> Self {
        use motp_core::MotpError as Core;
        match error {
            Core::InvalidPhoneNumber { reason } => Self::InvalidPhoneNumber { reason },
            Core::InvalidInput { reason } => Self::InvalidInput { reason },
            Core::Unauthorized => Self::Unauthorized,
            Core::DestinationNotAllowed { reason } => Self::DestinationNotAllowed { reason },
            Core::RateLimited { retry_after_secs } => Self::RateLimited { retry_after_secs },
            Core::WrongCode { attempts_left } => Self::WrongCode { attempts_left },
            Core::Expired => Self::Expired,
            Core::AlreadyUsed => Self::AlreadyUsed,
            Core::NotFound => Self::NotFound,
            Core::CallFailed { reason } => Self::CallFailed { reason },
            Core::InvalidState { reason } => Self::InvalidState { reason },
            Core::Canceled => Self::Canceled,
            Core::Network { reason } => Self::Network { reason },
            Core::Timeout => Self::Timeout,
            Core::Server { status } => Self::Server { status },
            Core::InvalidResponse { reason } => Self::InvalidResponse { reason },
            Core::Internal { reason } => Self::Internal { reason },
        }
    }
}

/// A foreign callback threw something that is not a `MotpException` (or
/// UniFFI could not call it at all).
impl From<uniffi::UnexpectedUniFFICallbackError> for MotpError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Internal {
            reason: format!("callback failed: {}", error.reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_keep_their_fields() {
        let converted: MotpError = motp_core::MotpError::WrongCode { attempts_left: 2 }.into();
        assert_eq!(converted, MotpError::WrongCode { attempts_left: 2 });
        let converted: MotpError = motp_core::MotpError::RateLimited {
            retry_after_secs: 30,
        }
        .into();
        assert_eq!(converted.to_string(), "rate limited, retry in 30 s");
    }

    #[test]
    fn a_failed_callback_is_an_internal_error() {
        let converted: MotpError =
            uniffi::UnexpectedUniFFICallbackError::new("IllegalStateException: boom").into();
        assert!(matches!(converted, MotpError::Internal { reason } if reason.contains("boom")));
    }
}
