//! Why the verification rules refused a request, in their own terms.
//!
//! The rules know nothing of HTTP: `api::problem` alone turns a
//! [`VerifyError`] into a status and a problem type. Where a variant has
//! something specific to say, its `Display` text is the problem's `detail`,
//! read by app developers: it never holds a code or a whole phone number.

use std::fmt;

use crate::phone::DestinationError;
use crate::storage::StoreError;

/// A refusal of create, get, check, resend or cancel.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The check's `home_country` is not a country code.
    #[error("home_country must be an ISO 3166 alpha-2 code")]
    UnknownHomeCountry,
    /// A check must carry a code or a caller ID, not both, not neither.
    #[error("send exactly one of code or caller_id")]
    NeedsCodeOrCallerId,
    /// The destination is not a usable phone number; says why.
    #[error("{0}")]
    InvalidPhoneNumber(String),
    /// A valid number the policy will not call (allow-list, number type);
    /// says why.
    #[error("{0}")]
    DestinationNotAllowed(String),
    /// A limit is reached; asking again may work after `retry_after_secs`.
    #[error("{limit}")]
    RateLimited {
        /// Which limit.
        limit: Limit,
        /// Whole seconds until the limit lets a request through.
        retry_after_secs: u64,
    },
    /// No verification with this id belongs to the asking app.
    #[error("no such verification")]
    NotFound,
    /// The verification was approved; it cannot be checked, resent or
    /// canceled again.
    #[error("the verification was already approved")]
    AlreadyApproved,
    /// The app canceled the verification.
    #[error("the verification was canceled")]
    Canceled,
    /// The call could not be placed; `reason` is the provider's outcome.
    #[error(
        "the call failed ({}); start a new verification",
        .reason.as_deref().unwrap_or("unknown")
    )]
    CallFailed {
        /// The stored failure reason (`busy`, `timeout`, …).
        reason: Option<String>,
    },
    /// The code's lifetime is over.
    #[error("the verification expired")]
    Expired,
    /// Every attempt was spent on wrong codes.
    #[error("no attempts left; start a new verification")]
    AttemptsExhausted,
    /// The code (or the code read from the caller ID) is wrong.
    #[error("{mismatch}")]
    WrongCode {
        /// Checks that remain.
        attempts_left: u32,
        /// Why the code was refused.
        mismatch: Mismatch,
    },
    /// The database failed.
    #[error("storage failed: {0}")]
    Storage(#[from] StoreError),
    /// Concurrent requests kept changing the verification; retrying later
    /// will find it settled.
    #[error("the verification kept changing under concurrent requests")]
    Contended,
    /// The OS random number generator failed, so no code can be drawn.
    #[error("the OS random number generator failed")]
    NoRandomness,
    /// The server is shutting down and places no new calls.
    #[error("the server is shutting down; retry shortly")]
    ShuttingDown,
}

impl From<DestinationError> for VerifyError {
    fn from(error: DestinationError) -> Self {
        match error {
            DestinationError::Invalid(why) => Self::InvalidPhoneNumber(why),
            DestinationError::NotAllowed(why) => Self::DestinationNotAllowed(why),
        }
    }
}

/// The limit behind a [`VerifyError::RateLimited`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Calls started by one app per minute.
    App,
    /// Calls to one destination per hour or per day.
    Destination,
    /// The cooldown before a verification's next call (`resend_after`).
    Resend,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::App => "too many calls for this app",
            Limit::Destination => "too many calls to this number; try again later",
            Limit::Resend => "resend is not allowed yet; see resend_after",
        })
    }
}

/// Why a submitted code is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// Not `digits` ASCII digits, so it cannot be a code of the range; such
    /// input spends no attempt, since the range is public.
    Malformed {
        /// The range's code length.
        digits: u8,
    },
    /// The caller ID does not fit the caller range (no attempt spent); the
    /// matcher's reason, such as `wrong_prefix`.
    CallerIdMisfit(&'static str),
    /// A well-formed code that is not the one called with (an attempt
    /// spent).
    NotTheCode,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Malformed { digits } => write!(f, "the code has {digits} digits"),
            Mismatch::CallerIdMisfit(reason) => {
                write!(f, "caller_id does not fit the caller range: {reason}")
            }
            Mismatch::NotTheCode => f.write_str("the code does not match"),
        }
    }
}
