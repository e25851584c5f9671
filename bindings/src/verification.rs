//! One running verification, its states and its listener.

use std::sync::Arc;
use std::time::SystemTime;

use motp_core::driver::{StateListener, VerificationHandle};
use motp_core::machine;

use crate::error::MotpError;
use crate::matcher::{CallerPattern, MatchRejection};
use crate::runtime;

/// Where a verification stands. `Verified`, `Failed`, `Expired` and
/// `Canceled` are final: nothing changes after them.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum VerificationState {
    /// Not started yet.
    Idle,
    /// Asking the server to place the call.
    Requesting,
    /// The server is calling; the SDK waits for the phone to report the
    /// incoming number. Show "We are calling you"; the user types nothing.
    AwaitingCall,
    /// The user types the last digits of the calling number. Show a code
    /// field with the caller prefix (`Verification.caller()`).
    ManualEntry { reason: ManualEntryReason },
    /// The server is checking a code or a caller ID.
    Verifying,
    /// The number is verified. Send `token` to your backend, which must
    /// confirm it with the mOTP server before trusting it.
    Verified { token: String },
    /// The verification cannot succeed; `error` says why (e.g. `CallFailed`).
    Failed { error: MotpError },
    /// The code's time ran out or the attempts were spent. Start again.
    Expired,
    /// The app canceled the verification.
    Canceled,
}

#[uniffi::export]
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

impl From<machine::VerificationState> for VerificationState {
    fn from(state: machine::VerificationState) -> Self {
        use machine::VerificationState as Core;
        match state {
            Core::Idle => Self::Idle,
            Core::Requesting => Self::Requesting,
            Core::AwaitingCall => Self::AwaitingCall,
            Core::ManualEntry { reason } => Self::ManualEntry {
                reason: reason.into(),
            },
            Core::Verifying => Self::Verifying,
            Core::Verified { token } => Self::Verified { token },
            Core::Failed { error } => Self::Failed {
                error: error.into(),
            },
            Core::Expired => Self::Expired,
            Core::Canceled => Self::Canceled,
        }
    }
}

/// Why the user is asked to type the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ManualEntryReason {
    /// The call was not seen within `MotpConfig.call_timeout`. It may still
    /// arrive, and still counts.
    CallTimeout,
    /// The app may not read incoming numbers (Android: `READ_PHONE_STATE`
    /// and `READ_CALL_LOG`).
    PermissionMissing,
    /// The platform never shows incoming numbers to apps (iOS).
    CallsUnreadable,
}

impl From<machine::ManualEntryReason> for ManualEntryReason {
    fn from(reason: machine::ManualEntryReason) -> Self {
        use machine::ManualEntryReason as Core;
        match reason {
            Core::CallTimeout => Self::CallTimeout,
            Core::PermissionMissing => Self::PermissionMissing,
            Core::CallsUnreadable => Self::CallsUnreadable,
        }
    }
}

impl From<ManualEntryReason> for machine::ManualEntryReason {
    fn from(reason: ManualEntryReason) -> Self {
        match reason {
            ManualEntryReason::CallTimeout => Self::CallTimeout,
            ManualEntryReason::PermissionMissing => Self::PermissionMissing,
            ManualEntryReason::CallsUnreadable => Self::CallsUnreadable,
        }
    }
}

/// What became of an incoming call reported with `on_incoming_call`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum CallMatch {
    /// It was the verification call and the server approved it.
    Verified { token: String },
    /// The call was not used; the state did not change.
    Ignored { reason: IgnoredCall },
}

/// Why an incoming call was not used.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum IgnoredCall {
    /// Some other call: the number does not fit the caller pattern.
    NotMatching { rejection: MatchRejection },
    /// Seen before the verification was requested.
    BeforeRequest,
    /// Seen after the verification expired.
    AfterExpiry,
    /// The verification is not waiting for a call (checking, or ended).
    NotAwaitingCall,
    /// The server already refused this very number; platforms often report
    /// one call twice.
    AlreadyRejected,
}

impl From<machine::CallMatch> for CallMatch {
    fn from(outcome: machine::CallMatch) -> Self {
        use machine::IgnoredCall as Core;
        match outcome {
            machine::CallMatch::Verified { token } => Self::Verified { token },
            machine::CallMatch::Ignored { reason } => Self::Ignored {
                reason: match reason {
                    Core::NotMatching { rejection } => IgnoredCall::NotMatching {
                        rejection: rejection.into(),
                    },
                    Core::BeforeRequest => IgnoredCall::BeforeRequest,
                    Core::AfterExpiry => IgnoredCall::AfterExpiry,
                    Core::NotAwaitingCall => IgnoredCall::NotAwaitingCall,
                    Core::AlreadyRejected => IgnoredCall::AlreadyRejected,
                },
            },
        }
    }
}

/// Facts about a verification an app may show. They change after a resend
/// or a wrong code.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VerificationInfo {
    /// The server's identifier of the verification.
    pub id: String,
    /// The number being verified, E.164, as the server normalised it.
    pub phone_number: String,
    /// What the calling number looks like.
    pub caller: CallerPattern,
    /// When the verification expires, by this device's clock.
    pub expires_at: SystemTime,
    /// From when `resend()` is allowed, by this device's clock.
    pub resend_after: SystemTime,
    /// Checks left before the verification is spent.
    pub attempts_left: u32,
}

impl From<machine::VerificationInfo> for VerificationInfo {
    fn from(info: machine::VerificationInfo) -> Self {
        Self {
            id: info.id,
            phone_number: info.phone_number,
            caller: info.caller.into(),
            expires_at: info.expires_at,
            resend_after: info.resend_after,
            attempts_left: info.attempts_left,
        }
    }
}

/// Hears every state change of a verification, in order.
///
/// Called on an SDK background thread: return quickly (post to your UI
/// thread) and do not block. An exception thrown here is logged and
/// otherwise ignored.
#[uniffi::export(foreign)]
pub trait VerificationListener: Send + Sync {
    /// The verification entered `state`.
    fn on_state_changed(&self, state: VerificationState) -> Result<(), MotpError>;
}

/// Adapts a foreign listener to the core's.
pub(crate) struct ListenerBridge(Arc<dyn VerificationListener>);

impl ListenerBridge {
    pub(crate) fn wrap(listener: Arc<dyn VerificationListener>) -> Arc<dyn StateListener> {
        Arc::new(Self(listener))
    }
}

impl StateListener for ListenerBridge {
    fn on_state_changed(&self, state: machine::VerificationState) {
        if let Err(error) = self.0.on_state_changed(state.into()) {
            log::warn!("the VerificationListener failed: {error}");
        }
    }
}

/// One running verification, returned by `MotpClient.start_verification`.
///
/// Feed it every incoming call (Android) or the code the user types
/// (iOS, or Android without permissions), and watch its state with a
/// `VerificationListener` or `next_state()`.
///
/// Keep a reference while it runs: closing it (Kotlin `close()`, or the
/// object being collected) or releasing it (Swift) cancels a verification
/// that has not ended. Safe to use from any thread.
#[derive(Debug, uniffi::Object)]
pub struct Verification {
    handle: VerificationHandle,
}

impl Verification {
    pub(crate) fn new(handle: VerificationHandle) -> Self {
        Self { handle }
    }
}

#[uniffi::export]
impl Verification {
    /// The server's identifier of this verification.
    pub fn id(&self) -> String {
        self.handle.id()
    }

    /// The current state.
    pub fn state(&self) -> VerificationState {
        self.handle.state().into()
    }

    /// What the calling number looks like: show its prefix beside the code
    /// field (`+44 20 7946 0___`).
    pub fn caller(&self) -> CallerPattern {
        self.handle.caller().into()
    }

    /// Id, caller pattern, expiry, when a resend is allowed, attempts left.
    pub fn info(&self) -> VerificationInfo {
        self.handle.info().into()
    }

    /// Reports an incoming call: `number` exactly as the platform shows it,
    /// `observed_at` when it rang or was logged, `sim_slot` the SIM it came
    /// in on when known.
    ///
    /// Report every incoming number while the verification runs, even
    /// twice; the SDK decides. A number that fits the caller pattern is
    /// checked by the server: returns `Verified` with the token, or
    /// `Ignored` with the reason. Throws the server's verdict (`WrongCode`,
    /// `Expired`…) or a network error; the verification then keeps waiting
    /// unless it ended.
    #[uniffi::method(default(sim_slot = None))]
    pub async fn on_incoming_call(
        &self,
        number: String,
        observed_at: SystemTime,
        sim_slot: Option<u32>,
    ) -> Result<CallMatch, MotpError> {
        let handle = self.handle.clone();
        runtime::run(async move {
            Ok(handle
                .on_incoming_call(&number, observed_at, sim_slot)
                .await?
                .into())
        })
        .await
    }

    /// Checks a code the user typed (the last digits of the calling number;
    /// spaces and dashes are ignored) and returns the token when the server
    /// approves it.
    ///
    /// Throws `InvalidInput` when it is not `caller().code_length` digits
    /// (nothing is sent), `WrongCode` with the attempts left, `Expired`,
    /// `InvalidState` while another check runs or after the end, or a
    /// network error.
    pub async fn submit_code(&self, code: String) -> Result<String, MotpError> {
        let handle = self.handle.clone();
        runtime::run(async move { Ok(handle.submit_code(&code).await?) }).await
    }

    /// Asks for a new call with a new code, allowed from
    /// `info().resend_after` on. Earlier it throws `RateLimited` saying how
    /// long to wait. The verification then awaits the new call.
    pub async fn resend(&self) -> Result<(), MotpError> {
        let handle = self.handle.clone();
        runtime::run(async move { Ok(handle.resend().await?) }).await
    }

    /// Cancels the verification: the state becomes `Canceled` at once and
    /// the server is told. Throws only when the server could not be told
    /// (the verification then expires there by itself). No effect once the
    /// verification has ended.
    pub async fn cancel(&self) -> Result<(), MotpError> {
        let handle = self.handle.clone();
        runtime::run(async move { Ok(handle.cancel().await?) }).await
    }

    /// Tells the SDK that incoming calls cannot be read, so `AwaitingCall`
    /// becomes `ManualEntry` with `reason`. Call it when the permissions
    /// are missing or denied, and on iOS.
    pub fn switch_to_manual_entry(&self, reason: ManualEntryReason) {
        self.handle.switch_to_manual_entry(reason.into());
    }

    /// Waits for the next state change and returns it. Changes are never
    /// skipped: each call returns the change after the one the previous
    /// call returned. After a final state it returns that state at once,
    /// so `while (!final) nextState()` always ends. Cancel the coroutine or
    /// task to stop waiting.
    pub async fn next_state(&self) -> Result<VerificationState, MotpError> {
        let handle = self.handle.clone();
        runtime::run(async move { Ok(handle.next_state().await.into()) }).await
    }
}
