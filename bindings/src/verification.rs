//! One running verification.

use motp_core::{
    CallEvent, CallMatch, CallVisibility, CallerInfo, MotpError, VerificationHandle,
    VerificationInfo, VerificationState,
};

use crate::runtime;

/// One running verification, returned by `MotpClient.start_verification`.
///
/// Feed it every incoming call (Android) or the code the user types; watch
/// its state with a `VerificationListener` or `next_state()`, the call with
/// `next_call_event()`.
///
/// Keep a reference while it runs: closing it (Kotlin `close()`, or the
/// object being collected) or releasing it (Swift) cancels a verification
/// that has not ended. Safe to use from any thread.
#[derive(Debug, uniffi::Object)]
pub struct Verification {
    pub(crate) handle: VerificationHandle,
}

#[uniffi::export]
impl Verification {
    /// The server's identifier of this verification.
    pub fn id(&self) -> String {
        self.handle.id()
    }

    /// The current state.
    pub fn state(&self) -> VerificationState {
        self.handle.state()
    }

    /// What the calling number looks like: show its prefix beside the code
    /// field (`+44 20 7946 0___`).
    pub fn caller(&self) -> CallerInfo {
        self.handle.caller()
    }

    /// Id, caller pattern, expiry, when a resend is allowed, attempts left.
    pub fn info(&self) -> VerificationInfo {
        self.handle.info()
    }

    /// Reports an incoming call: `number` exactly as the platform shows it,
    /// `observed_at` when it rang or was logged. Report every sighting
    /// (ringing, call log, screening), even the same call twice: the SDK
    /// decides which counts, skips a call being checked or refused, and
    /// retries a check lost in transit. Returns `Verified` (token) or
    /// `Ignored` (reason); throws the server's verdict (`WrongCode`…) or a
    /// network error, and the state tells the outcome of any retry.
    pub async fn on_incoming_call(
        &self,
        number: String,
        observed_at: std::time::SystemTime,
    ) -> Result<CallMatch, MotpError> {
        let handle = self.handle.clone();
        runtime::run(async move { handle.on_incoming_call(&number, observed_at).await }).await
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
        runtime::run(async move { handle.submit_code(&code).await }).await
    }

    /// Asks for a new call with a new code, allowed from
    /// `info().resend_after` on. Earlier it throws `RateLimited` saying how
    /// long to wait. The verification then awaits the new call.
    pub async fn resend(&self) -> Result<(), MotpError> {
        let handle = self.handle.clone();
        runtime::run(async move { handle.resend().await }).await
    }

    /// Cancels the verification: the state becomes `Canceled` at once and
    /// the server is told. Throws only when the server could not be told
    /// (the verification then expires there by itself). No effect once the
    /// verification has ended.
    pub async fn cancel(&self) -> Result<(), MotpError> {
        let handle = self.handle.clone();
        runtime::run(async move { handle.cancel().await }).await
    }

    /// Tells the SDK that what the device can see of incoming calls changed
    /// (a permission granted or revoked while the verification runs). The
    /// SDK decides what follows: without visibility `AwaitingCall` becomes
    /// `ManualEntry`; with it again, manual entry for want of a permission
    /// goes back to `AwaitingCall`.
    pub fn set_call_visibility(&self, visibility: CallVisibility) {
        self.handle.set_call_visibility(visibility);
    }

    /// Waits for the next state change and returns it. Changes are never
    /// skipped: each call returns the change after the one the previous
    /// call returned. After a final state it returns that state at once,
    /// so `while (!final) nextState()` always ends. Cancel the coroutine or
    /// task to stop waiting.
    pub async fn next_state(&self) -> Result<VerificationState, MotpError> {
        let handle = self.handle.clone();
        runtime::run(async move { Ok(handle.next_state().await) }).await
    }

    /// The next `CallEvent` (see its docs); null/nil once the verification ended.
    pub async fn next_call_event(&self) -> Result<Option<CallEvent>, MotpError> {
        let handle = self.handle.clone();
        runtime::run(async move { Ok(handle.next_call_event().await) }).await
    }
}
