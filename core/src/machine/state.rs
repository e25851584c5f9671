//! What an app sees of a verification: its state, why it waits for a typed
//! code, what became of a reported call, and the facts it may show.

use std::time::SystemTime;

use crate::error::MotpError;
use crate::matcher::MatchRejection;
use crate::protocol::CallerInfo;

/// What this device can see of incoming calls. The platform shell reports
/// it; the SDK decides from it whether to wait for the call or to ask the
/// user for the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum CallVisibility {
    /// Incoming numbers can be read (Android with the call-log permissions
    /// or the call-screening role): the SDK waits for the call, and asks
    /// for the code only after the call timeout.
    Numbers,
    /// The app may not read incoming numbers (Android without the
    /// permissions): the user types the code from the start.
    PermissionMissing,
    /// The platform never shows incoming numbers to apps (iOS): the user
    /// types the code from the start.
    Hidden,
}

/// Why the user is asked to type the code instead of the SDK reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ManualEntryReason {
    /// The call was not seen in time: the call timeout passed, or the
    /// server reported the call failed, or delivered while the phone did
    /// not report it (the app's next `CallEvent` says which). It may still
    /// arrive, and still counts.
    CallTimeout,
    /// The app may not read incoming numbers (Android: `READ_PHONE_STATE`
    /// and `READ_CALL_LOG`, or the call-screening role).
    PermissionMissing,
    /// The platform never shows incoming numbers to apps (iOS).
    CallsUnreadable,
}

impl ManualEntryReason {
    /// A stable snake_case name: `call_timeout`, `permission_missing`,
    /// `calls_unreadable`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CallTimeout => "call_timeout",
            Self::PermissionMissing => "permission_missing",
            Self::CallsUnreadable => "calls_unreadable",
        }
    }

    /// The reason to type the code from the start on a device with this
    /// visibility, if any.
    pub(crate) fn for_visibility(visibility: CallVisibility) -> Option<Self> {
        match visibility {
            CallVisibility::Numbers => None,
            CallVisibility::PermissionMissing => Some(Self::PermissionMissing),
            CallVisibility::Hidden => Some(Self::CallsUnreadable),
        }
    }
}

/// Where a verification stands, as the app sees it.
///
/// `Verified`, `Failed`, `Expired` and `Canceled` are final: nothing changes
/// after them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum VerificationState {
    /// Not started yet.
    Idle,
    /// Asking the server to place the call.
    Requesting,
    /// The server is calling; the SDK waits for the phone to report the
    /// incoming number. Show "We are calling you"; the user types nothing.
    AwaitingCall,
    /// Waiting for the user to type the last digits of the calling number.
    /// Show a code field with the caller prefix (`info().caller`).
    ManualEntry {
        /// Why the code is not read automatically.
        reason: ManualEntryReason,
    },
    /// The server is checking a code or a caller ID.
    Verifying,
    /// The phone number is verified. Send `token` to your backend, which
    /// must confirm it with the mOTP server before trusting it.
    Verified {
        /// Proof of the verification, for your backend.
        token: String,
    },
    /// The verification cannot succeed; `error` says why (for example
    /// `CallFailed` or `DestinationNotAllowed`).
    Failed {
        /// The reason, safe to log: it holds no code and no full number.
        error: MotpError,
    },
    /// The verification timed out or ran out of attempts. Start a new one.
    Expired,
    /// The verification was canceled by the app.
    Canceled,
}

impl VerificationState {
    /// A stable snake_case name of the state, without its data (`idle`,
    /// `requesting`, `awaiting_call`, `manual_entry`, `verifying`,
    /// `verified`, `failed`, `expired`, `canceled`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Requesting => "requesting",
            Self::AwaitingCall => "awaiting_call",
            Self::ManualEntry { .. } => "manual_entry",
            Self::Verifying => "verifying",
            Self::Verified { .. } => "verified",
            Self::Failed { .. } => "failed",
            Self::Expired => "expired",
            Self::Canceled => "canceled",
        }
    }
}

#[cfg_attr(feature = "uniffi", uniffi::export)]
impl VerificationState {
    /// Whether nothing can change after this state (`Verified`, `Failed`,
    /// `Expired`, `Canceled`).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::Verified { .. } | Self::Failed { .. } | Self::Expired | Self::Canceled
        )
    }
}

/// What became of an incoming call reported to the SDK.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum CallMatch {
    /// It was the verification call and the server approved it.
    Verified {
        /// Proof of the verification, for your backend.
        token: String,
    },
    /// The call was not used; the state did not change.
    Ignored {
        /// Why it was not used.
        reason: IgnoredCall,
    },
}

/// Why an incoming call was not used for the verification.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum IgnoredCall {
    /// Some other call: the number does not fit the caller pattern.
    NotMatching {
        /// How it failed to match.
        rejection: MatchRejection,
    },
    /// Seen before the verification (or its latest resend) was requested.
    BeforeRequest,
    /// Seen after the verification expired.
    AfterExpiry,
    /// The verification is not waiting for a call (not started, or ended).
    NotAwaitingCall,
    /// The server already refused this very call; checking it again would
    /// only spend an attempt. Platforms often report one call twice.
    AlreadyRejected,
    /// This very call is being checked already (platforms report one call
    /// several times: while it rings, then from the call log). Its outcome
    /// arrives as a state change.
    AlreadyChecking,
}

impl IgnoredCall {
    /// A stable snake_case name (`not_matching`, `before_request`,
    /// `after_expiry`, `not_awaiting_call`, `already_rejected`,
    /// `already_checking`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::NotMatching { .. } => "not_matching",
            Self::BeforeRequest => "before_request",
            Self::AfterExpiry => "after_expiry",
            Self::NotAwaitingCall => "not_awaiting_call",
            Self::AlreadyRejected => "already_rejected",
            Self::AlreadyChecking => "already_checking",
        }
    }
}

/// Facts about a created verification that an app may show. They change
/// after a resend or a wrong code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct VerificationInfo {
    /// The server's identifier of the verification.
    pub id: String,
    /// The number being verified, E.164, as the server normalised it.
    pub phone_number: String,
    /// What the incoming number looks like: `prefix` then `code_length`
    /// secret digits. Show the prefix next to the code field
    /// (`+44 20 7946 0___`).
    pub caller: CallerInfo,
    /// When the verification expires, by this device's clock (corrected
    /// when the device clock disagrees with the server's).
    pub expires_at: SystemTime,
    /// From when a resend is allowed, by this device's clock.
    pub resend_after: SystemTime,
    /// Checks left before the verification is spent.
    pub attempts_left: u32,
}
