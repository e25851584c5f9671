//! One running verification: the handle an app reports calls and codes to.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::{mpsc, oneshot};

use crate::driver::{stopped, Input, Published, Shared};
use crate::error::MotpError;
use crate::machine::{
    CallEvent, CallMatch, CallVisibility, Event, OpId, Reply, VerificationInfo, VerificationState,
};
use crate::protocol::CallerInfo;

/// One running verification. Cheap to clone; clones control the same
/// verification. Safe to use from any thread.
///
/// Every async method can be abandoned (its future dropped) at any time: the
/// operation still completes in the background and the state stays
/// consistent. Dropping every clone of the handle cancels a verification
/// that has not ended yet.
#[derive(Clone)]
pub struct VerificationHandle {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Input>,
    /// Sequence number of the last state [`next_state`](Self::next_state)
    /// returned; shared by clones.
    cursor: Arc<AtomicU64>,
    /// Number of the next call event
    /// [`next_call_event`](Self::next_call_event) returns; shared by clones.
    call_cursor: Arc<AtomicU64>,
}

impl std::fmt::Debug for VerificationHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationHandle")
            .field("id", &self.id())
            .field("state", &self.state().name())
            .finish()
    }
}

impl VerificationHandle {
    /// The first handle of a verification task started by [`crate::driver::spawn`].
    pub(crate) fn new(shared: Arc<Shared>, commands: mpsc::UnboundedSender<Input>) -> Self {
        Self {
            shared,
            commands,
            cursor: Arc::new(AtomicU64::new(0)),
            call_cursor: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The current state.
    pub fn state(&self) -> VerificationState {
        self.shared.published.borrow().latest().clone()
    }

    /// Facts about the verification: id, caller prefix and code length,
    /// expiry, when a resend is allowed, attempts left. They change after a
    /// resend or a wrong code.
    pub fn info(&self) -> VerificationInfo {
        self.shared
            .published
            .borrow()
            .info
            .clone()
            .unwrap_or_else(placeholder_info)
    }

    /// The server's identifier of this verification.
    pub fn id(&self) -> String {
        self.info().id
    }

    /// What the verification call's number looks like: a prefix and the
    /// number of code digits after it. Show the prefix beside the code field.
    pub fn caller(&self) -> CallerInfo {
        self.info().caller
    }

    /// Reports an incoming call seen by the phone: `number` as the platform
    /// shows it (any format), `observed_at` when it rang or was logged.
    ///
    /// Report every sighting of every incoming number while the verification
    /// runs — the ringing broadcast, the call-log row, the screening
    /// callback, even the same call twice — including calls seen while
    /// [`MotpClient::start_verification`](crate::MotpClient::start_verification) was still in progress. The SDK
    /// decides which sighting counts: `observed_at` must lie between the
    /// request and expiry, the number must fit the caller pattern, and a
    /// call being checked or already refused is not checked again. A check
    /// that fails in transit is retried in the background, and a later
    /// sighting of the same call is checked at once.
    ///
    /// Returns [`CallMatch::Verified`] with the token when this sighting was
    /// approved, or [`CallMatch::Ignored`] with the reason. Errors are the
    /// server's verdict ([`MotpError::WrongCode`], [`MotpError::Expired`]…)
    /// or a network failure; the verification then keeps waiting unless it
    /// ended, and its state tells the outcome of any retry.
    pub async fn on_incoming_call(
        &self,
        number: &str,
        observed_at: SystemTime,
    ) -> Result<CallMatch, MotpError> {
        let number = number.to_owned();
        let event = |op| Event::IncomingCall {
            op,
            number,
            observed_at,
        };
        match self.operate(event).await?.0 {
            Reply::Call(result) => result,
            other => Err(mismatched(&other)),
        }
    }

    /// Checks a code the user typed (the last digits of the calling
    /// number; spaces and dashes are ignored) and returns the token when
    /// the server approves it.
    ///
    /// Errors: [`MotpError::InvalidInput`] when it is not
    /// [`CallerInfo::code_length`] digits (nothing is sent),
    /// [`MotpError::WrongCode`] with the attempts left,
    /// [`MotpError::Expired`], [`MotpError::InvalidState`] while another
    /// check runs or after the verification ended, network errors.
    pub async fn submit_code(&self, code: &str) -> Result<String, MotpError> {
        let code = code.to_owned();
        match self.operate(|op| Event::CodeEntered { op, code }).await?.0 {
            Reply::Code(result) => result,
            other => Err(mismatched(&other)),
        }
    }

    /// Asks for a new call with a new code. Allowed from
    /// [`VerificationInfo::resend_after`] on; earlier it fails with
    /// [`MotpError::RateLimited`] saying how long to wait, without asking
    /// the server. The verification then awaits the new call again.
    pub async fn resend(&self) -> Result<(), MotpError> {
        match self.operate(|op| Event::ResendRequested { op }).await?.0 {
            Reply::Resend(result) => result,
            other => Err(mismatched(&other)),
        }
    }

    /// Cancels the verification: the state becomes
    /// [`VerificationState::Canceled`] at once, and the server is told.
    /// Returns an error only when the server could not be told (it will
    /// expire the verification by itself). No effect once the verification
    /// has ended.
    pub async fn cancel(&self) -> Result<(), MotpError> {
        match self.operate(|op| Event::Cancel { op: Some(op) }).await?.0 {
            Reply::Cancel(result) => result,
            other => Err(mismatched(&other)),
        }
    }

    /// Tells the SDK that what the device can see of incoming calls
    /// changed: a permission was granted or revoked while the verification
    /// ran. The SDK decides what follows: without visibility
    /// [`VerificationState::AwaitingCall`] becomes
    /// [`VerificationState::ManualEntry`]; with it again, manual entry for
    /// want of a permission goes back to waiting for the call.
    pub fn set_call_visibility(&self, visibility: CallVisibility) {
        // The send fails only when the verification task is gone, and then
        // there is nothing left to change.
        let _ = self
            .commands
            .send(Input::Event(Event::CallVisibilityChanged { visibility }));
    }

    /// Waits for the next state change and returns it.
    ///
    /// Changes are never skipped: each call returns the change after the
    /// one the previous call returned (on this handle or a clone), at once
    /// if it already happened. After a final state it returns that state
    /// again without waiting, so a loop until
    /// [`VerificationState::is_final`] always ends. Cancel the wait by
    /// dropping the future.
    pub async fn next_state(&self) -> VerificationState {
        let cursor = self.cursor.load(Ordering::SeqCst);
        let mut published = self.shared.published.subscribe();
        let ready = |p: &Published| p.latest_seq() > cursor || p.latest().is_final();
        // Fails only when the sender is gone, and `self.shared` keeps it.
        let _ = published.wait_for(ready).await;
        let (seq, state) = {
            let snapshot = self.shared.published.borrow();
            let seq = if snapshot.latest_seq() > cursor {
                (cursor + 1).max(snapshot.first_seq)
            } else {
                snapshot.latest_seq()
            };
            (seq, snapshot.at(seq).clone())
        };
        self.cursor.fetch_max(seq, Ordering::SeqCst);
        state
    }

    /// Waits for the next [`CallEvent`] and returns it: what the server
    /// reported about the call (ringing, delivered, failed with the reason)
    /// or a request to read the call log again. `None` once the
    /// verification has ended and every event was returned.
    ///
    /// Events are never skipped (each call returns the one after the
    /// previous call's, on this handle or a clone) and never block the
    /// verification: an app that never asks loses nothing. Cancel the wait
    /// by dropping the future.
    pub async fn next_call_event(&self) -> Option<CallEvent> {
        let cursor = self.call_cursor.load(Ordering::SeqCst);
        let mut published = self.shared.published.subscribe();
        let ready = |p: &Published| p.call_events_total > cursor || p.latest().is_final();
        // Fails only when the sender is gone, and `self.shared` keeps it.
        let _ = published.wait_for(ready).await;
        let snapshot = self.shared.published.borrow();
        if snapshot.call_events_total <= cursor {
            return None;
        }
        let n = cursor.max(snapshot.first_call_event());
        let event = snapshot.call_event(n).cloned();
        self.call_cursor.fetch_max(n + 1, Ordering::SeqCst);
        event
    }

    /// Sends the creation request; `Ok` once the call is on its way.
    pub(crate) async fn start(&self, phone_number: String) -> Result<(), MotpError> {
        let (reply, seq) = self.operate(|op| Event::Start { op, phone_number }).await?;
        match reply {
            Reply::Start(Ok(())) => {
                self.cursor.store(seq, Ordering::SeqCst);
                Ok(())
            }
            Reply::Start(Err(error)) => Err(error),
            other => Err(mismatched(&other)),
        }
    }

    /// Asks for the state of verification `id`, requested at `started_at`
    /// by a process that has since died; `Ok` once it is followed again.
    pub(crate) async fn resume(&self, id: String, started_at: SystemTime) -> Result<(), MotpError> {
        let (reply, seq) = self
            .operate(|op| Event::Resume { op, id, started_at })
            .await?;
        match reply {
            Reply::Start(Ok(())) => {
                self.cursor.store(seq, Ordering::SeqCst);
                Ok(())
            }
            Reply::Start(Err(error)) => Err(error),
            other => Err(mismatched(&other)),
        }
    }

    async fn operate(&self, event: impl FnOnce(OpId) -> Event) -> Result<(Reply, u64), MotpError> {
        let op = OpId(self.shared.next_op.fetch_add(1, Ordering::Relaxed));
        let (reply, answer) = oneshot::channel();
        let input = Input::Operation {
            op,
            event: event(op),
            reply,
        };
        if self.commands.send(input).is_err() {
            return Err(stopped());
        }
        answer.await.map_err(|_| stopped())
    }
}

fn mismatched(reply: &Reply) -> MotpError {
    MotpError::Internal {
        reason: format!("unexpected reply kind {}", reply_kind(reply)),
    }
}

fn reply_kind(reply: &Reply) -> &'static str {
    match reply {
        Reply::Start(_) => "start",
        Reply::Call(_) => "call",
        Reply::Code(_) => "code",
        Reply::Resend(_) => "resend",
        Reply::Cancel(_) => "cancel",
    }
}

fn placeholder_info() -> VerificationInfo {
    VerificationInfo {
        id: String::new(),
        phone_number: String::new(),
        caller: CallerInfo {
            prefix: String::new(),
            code_length: 0,
        },
        expires_at: SystemTime::UNIX_EPOCH,
        resend_after: SystemTime::UNIX_EPOCH,
        attempts_left: 0,
    }
}
