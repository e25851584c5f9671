//! The verification lifecycle as a pure, deterministic state machine.
//!
//! [`Machine`] does no I/O and reads no clock: each call to
//! [`Machine::handle`] takes one [`Event`] and the current time, and returns
//! the [`Effect`]s the caller must carry out (send a request, arm a timer,
//! tell the app about a new state, answer an operation). The
//! [`MotpClient`](crate::MotpClient) does exactly that on tokio; tests drive the
//! machine by hand.
//!
//! | From | On | To |
//! |---|---|---|
//! | `Idle` | start | `Requesting` |
//! | `Requesting` | created | `AwaitingCall` (`ManualEntry` when the device cannot see incoming numbers) |
//! | `Requesting` | refused, or no answer in time | `Failed` |
//! | `AwaitingCall` | a call matching the caller pattern | `Verifying` (by caller ID) |
//! | `AwaitingCall` | call timeout, or the device can no longer see numbers | `ManualEntry` |
//! | `ManualEntry` (permission missing) | the device can see numbers again | `AwaitingCall` |
//! | `AwaitingCall`, `ManualEntry` | a typed code | `Verifying` (by code) |
//! | `ManualEntry` | a late matching call | `Verifying` (by caller ID) |
//! | `Verifying` | approved | `Verified` |
//! | `Verifying` | wrong code, network error, no answer in time | back where it came from (a call's check is retried, see below) |
//! | `Verifying` | last attempt spent, or expired on the server | `Expired` |
//! | `Verifying` | verification unusable (already used, gone, key revoked) | `Failed` |
//! | `AwaitingCall`, `ManualEntry` | resend done | the same wait again, re-announced (`AwaitingCall` after a call timeout) |
//! | any state after creation | `expires_at` passed | `Expired` |
//! | any state that is not final | cancel | `Canceled` |
//! | `AwaitingCall` | the server reports the call failed | `ManualEntry` at once (with [`CallEvent::Failed`]) |
//! | `AwaitingCall` | the server reports the call delivered, and no matching call within [`DELIVERED_GRACE`], then none within [`REREAD_WINDOW`] of [`CallEvent::RereadCallLog`] | `ManualEntry` |
//! | any state after creation | the server reports it expired or canceled | `Expired`, `Canceled` |
//!
//! Every state the machine waits in has a deadline, so nothing is ever
//! stuck: `Requesting` and `Verifying` end when a request overruns its
//! timeout, `AwaitingCall` turns into `ManualEntry` when the call does not
//! arrive in time, and every state after creation ends in `Expired` when the
//! verification's `expires_at` passes.
//!
//! # Which sighting of a call counts
//!
//! The platform shells report every incoming number they observe, as often
//! as they observe it; the machine alone decides (see `calls.rs`). A number
//! that does not fit the caller pattern, or was seen before the request or
//! after expiry, is ignored. A call whose check is under way, or whose code
//! the server refused, is not checked again. A call whose check failed in
//! transit (no network, a timeout, a 5xx) is checked again with backoff for
//! as long as the verification lives, and a later sighting of it is checked
//! at once. A call seen while another check runs waits for that check.
//!
//! # Following the call on the server
//!
//! From creation (and again after each resend) until the call's outcome is
//! known, the machine asks its driver to follow the server's events of the
//! verification ([`Effect::Follow`]) and hears them as
//! [`Event::ServerUpdate`]. It tells the app what happened to the call
//! ([`Effect::Tell`] with a [`CallEvent`]: ringing, delivered, failed) and
//! stops waiting for a call that will not come: a failed call moves to
//! manual entry at once; a delivered call that the phone did not report
//! within [`DELIVERED_GRACE`] makes it ask the app to read the call log
//! again, once, and then moves to manual entry.
//!
//! When the verification ends without an automatic match, the machine
//! reports what it saw ([`Effect::SendReport`], an [`Observation`]).

use std::time::{Duration, SystemTime};

use std::collections::VecDeque;

use crate::error::MotpError;
use crate::matcher::CallerIdMatcher;
use crate::pattern::CallerPattern;
use crate::protocol::{
    CheckRequest, CheckResponse, CreateVerificationRequest, Observation, Verification,
    VerificationStatus,
};
use crate::redact::redact_numbers;
use crate::time::Dated;

mod calls;
mod clock_skew;
mod progress;
mod state;

use calls::{SeenCalls, Verdict};
use clock_skew::ClockSkew;
pub use progress::{CallEvent, DELIVERED_GRACE, REREAD_WINDOW};
use progress::{CallProgress, Reread, Sightings};
pub use state::{
    CallMatch, CallVisibility, IgnoredCall, ManualEntryReason, VerificationInfo, VerificationState,
};

/// Extra time a request gets, beyond the HTTP client's own timeout, before
/// the machine gives up on it. The HTTP timeout normally fires first; this is
/// the backstop that keeps a lost response from leaving a state stuck.
pub const REQUEST_GRACE: Duration = Duration::from_secs(1);

/// Longest phone number accepted before asking the server (E.164 has at
/// most 15 digits; this leaves room for spaces and punctuation).
const MAX_PHONE_NUMBER_CHARS: usize = 64;

/// Identifies one operation started by the app (start, an incoming call, a
/// typed code, resend, cancel), so that its answer reaches the right caller.
///
/// The machine starts some operations on its own (a retried check); their
/// ids have the top bit set, and no [`Effect::Reply`] is ever made for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(pub u64);

impl OpId {
    const INTERNAL: u64 = 1 << 63;

    /// Whether the machine started this operation itself.
    pub fn is_internal(self) -> bool {
        self.0 & Self::INTERNAL != 0
    }
}

/// Settings of the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineConfig {
    /// The handset's home country (ISO 3166 alpha-2), for national-format
    /// numbers.
    pub home_country: String,
    /// Time allowed for one request to the server.
    pub request_timeout: Duration,
    /// Time to wait for the call before falling back to manual entry.
    pub call_timeout: Duration,
    /// What the device can see of incoming calls when the verification
    /// starts; [`Event::CallVisibilityChanged`] updates it.
    pub call_visibility: CallVisibility,
}

/// Something that happened. `now` is passed alongside, not inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The app asked to verify `phone_number`. `Idle` → `Requesting`.
    Start { op: OpId, phone_number: String },
    /// The app picks up verification `id`, which it requested at
    /// `started_at` in a process that has since died. `Idle` →
    /// `Requesting`; the server's answer arrives as [`Event::Created`].
    Resume {
        op: OpId,
        id: String,
        started_at: SystemTime,
    },
    /// The answer to [`Effect::SendCreate`]. `Requesting` → `AwaitingCall`
    /// (or `ManualEntry` when the app already said calls can't be read), or
    /// `Failed`/`Expired`.
    Created(Result<Dated<Verification>, MotpError>),
    /// The phone saw an incoming call from `number` (raw, as the platform
    /// shows it) at `observed_at`. The same call may be reported again.
    IncomingCall {
        op: OpId,
        number: String,
        observed_at: SystemTime,
    },
    /// The user typed `code`.
    CodeEntered { op: OpId, code: String },
    /// The answer to [`Effect::SendCheck`] number `op`.
    CheckFinished {
        op: OpId,
        result: Result<CheckResponse, MotpError>,
    },
    /// What the device can see of incoming calls changed (a permission was
    /// granted or revoked).
    CallVisibilityChanged { visibility: CallVisibility },
    /// The app asked for a new call with a new code.
    ResendRequested { op: OpId },
    /// The answer to [`Effect::SendResend`] number `op`.
    ResendFinished {
        op: OpId,
        result: Result<Dated<Verification>, MotpError>,
    },
    /// The app (or, with `op: None`, the SDK itself) canceled.
    Cancel { op: Option<OpId> },
    /// The answer to [`Effect::SendCancel`].
    CancelFinished {
        op: Option<OpId>,
        result: Result<(), MotpError>,
    },
    /// The time announced by [`Effect::SetDeadline`] has come. Harmless when
    /// early or stale: the machine looks at `now`.
    DeadlineReached,
    /// The server's view of the verification, from the events followed
    /// since [`Effect::Follow`] number `generation` (or from polling it).
    /// Repeats are harmless.
    ServerUpdate {
        generation: u32,
        verification: Verification,
    },
}

/// Something the caller of [`Machine::handle`] must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// `POST /v1/verifications`; report the answer as [`Event::Created`].
    SendCreate { request: CreateVerificationRequest },
    /// `GET /v1/verifications/{id}` to resume it; report the answer as
    /// [`Event::Created`].
    SendGet { id: String },
    /// `POST /v1/verifications/{id}/check`; report [`Event::CheckFinished`].
    SendCheck {
        op: OpId,
        id: String,
        request: CheckRequest,
    },
    /// `POST /v1/verifications/{id}/resend`; report [`Event::ResendFinished`].
    SendResend { op: OpId, id: String },
    /// `DELETE /v1/verifications/{id}`; report [`Event::CancelFinished`].
    SendCancel { op: Option<OpId>, id: String },
    /// Deliver [`Event::DeadlineReached`] at this time (`None`: no timer).
    /// Replaces any earlier deadline.
    SetDeadline(Option<SystemTime>),
    /// The state changed (or was re-entered, after a resend): tell the app.
    Notify(VerificationState),
    /// The outcome of operation `op`.
    Reply { op: OpId, reply: Reply },
    /// Follow the server's events of verification `id` (replacing any
    /// stream followed so far) and report them as [`Event::ServerUpdate`]
    /// with this `generation`.
    Follow { id: String, generation: u32 },
    /// Stop following the server's events.
    StopFollowing,
    /// Tell the app what happened to the call, or ask it to read the call
    /// log again.
    Tell(CallEvent),
    /// `POST /v1/verifications/{id}/report`; nothing is reported back.
    SendReport {
        id: String,
        observation: Observation,
    },
}

/// The outcome of an operation, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Of [`Event::Start`]: `Ok` once the call is on its way.
    Start(Result<(), MotpError>),
    /// Of [`Event::IncomingCall`].
    Call(Result<CallMatch, MotpError>),
    /// Of [`Event::CodeEntered`]: the token when approved.
    Code(Result<String, MotpError>),
    /// Of [`Event::ResendRequested`].
    Resend(Result<(), MotpError>),
    /// Of [`Event::Cancel`].
    Cancel(Result<(), MotpError>),
}

/// The state a check returns to when it does not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    Call,
    Manual(ManualEntryReason),
}

impl Waiting {
    fn state(self) -> VerificationState {
        match self {
            Self::Call => VerificationState::AwaitingCall,
            Self::Manual(reason) => VerificationState::ManualEntry { reason },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CheckOrigin {
    Call,
    Code,
}

#[derive(Debug)]
struct PendingCheck {
    /// The app's operation, or an internal one for a retry.
    op: OpId,
    origin: CheckOrigin,
    code: String,
    generation: u32,
    return_to: Waiting,
    deadline: SystemTime,
}

/// A matching call seen while another check ran.
#[derive(Debug)]
struct QueuedCall {
    op: OpId,
    code: String,
    number: String,
}

#[derive(Debug)]
struct PendingResend {
    op: OpId,
    sent_at: SystemTime,
    deadline: SystemTime,
}

/// What the machine knows once the server created the verification.
#[derive(Debug)]
struct Session {
    info: VerificationInfo,
    matcher: CallerIdMatcher,
    /// Calls observed before this instant are not ours (the request, or the
    /// latest resend, had not been sent yet).
    calls_from: SystemTime,
    /// The calls seen since the latest call was placed, and codes refused.
    calls: SeenCalls,
    /// Counts resends, so a check answered after a resend is not taken
    /// for a verdict on the new code.
    generation: u32,
}

/// How an error from the server bears on the verification.
enum Disposition {
    /// The verification goes on; the operation may be tried again.
    Continue,
    /// The verification is over: expired or out of attempts.
    Expired,
    /// The verification cannot succeed.
    Fatal,
}

fn disposition(error: &MotpError) -> Disposition {
    match error {
        MotpError::Expired => Disposition::Expired,
        MotpError::WrongCode { attempts_left: 0 } => Disposition::Expired,
        MotpError::Unauthorized
        | MotpError::NotFound
        | MotpError::AlreadyUsed
        | MotpError::DestinationNotAllowed { .. }
        | MotpError::CallFailed { .. }
        | MotpError::InvalidPhoneNumber { .. } => Disposition::Fatal,
        MotpError::WrongCode { .. }
        | MotpError::InvalidInput { .. }
        | MotpError::RateLimited { .. }
        | MotpError::InvalidState { .. }
        | MotpError::Canceled
        | MotpError::Network { .. }
        | MotpError::Timeout
        | MotpError::Server { .. }
        | MotpError::InvalidResponse { .. }
        | MotpError::Internal { .. } => Disposition::Continue,
    }
}

/// The verification lifecycle. See the [module docs](self).
#[derive(Debug)]
pub struct Machine {
    config: MachineConfig,
    state: VerificationState,
    requested_at: Option<SystemTime>,
    request_deadline: Option<SystemTime>,
    start_op: Option<OpId>,
    /// What the device can see of incoming calls.
    visibility: CallVisibility,
    /// When a resumed verification was first requested.
    resumed_from: Option<SystemTime>,
    session: Option<Session>,
    /// Matching calls seen while another check ran, oldest first.
    queued: VecDeque<QueuedCall>,
    /// Counts the operations the machine starts itself.
    internal_ops: u64,
    call_deadline: Option<SystemTime>,
    check: Option<PendingCheck>,
    resend: Option<PendingResend>,
    /// The deadline last announced with [`Effect::SetDeadline`].
    announced_deadline: Option<SystemTime>,
    /// Whether the driver follows the server's events.
    following: bool,
    /// What the server said of the current call.
    progress: CallProgress,
    /// What the phone saw, for the report at the end.
    sightings: Sightings,
}

impl Machine {
    /// A machine in `Idle`.
    pub fn new(config: MachineConfig) -> Self {
        Self {
            state: VerificationState::Idle,
            requested_at: None,
            request_deadline: None,
            start_op: None,
            visibility: config.call_visibility,
            resumed_from: None,
            session: None,
            queued: VecDeque::new(),
            internal_ops: 0,
            call_deadline: None,
            check: None,
            resend: None,
            announced_deadline: None,
            following: false,
            progress: CallProgress::default(),
            sightings: Sightings {
                unreadable: config.call_visibility != CallVisibility::Numbers,
                ..Sightings::default()
            },
            config,
        }
    }

    /// The current state.
    pub fn state(&self) -> &VerificationState {
        &self.state
    }

    /// The verification's details, once the server created it.
    pub fn info(&self) -> Option<&VerificationInfo> {
        self.session.as_ref().map(|s| &s.info)
    }

    /// When the machine next needs [`Event::DeadlineReached`]; `None` in
    /// `Idle` (nothing is awaited yet) and in final states.
    pub fn deadline(&self) -> Option<SystemTime> {
        let expires_at = self.session.as_ref().map(|s| s.info.expires_at);
        let state_deadline = match &self.state {
            VerificationState::Idle => None,
            s if s.is_final() => return None,
            VerificationState::Requesting => self.request_deadline,
            VerificationState::AwaitingCall => earliest(
                earliest(self.call_deadline, expires_at),
                earliest(self.next_retry(), self.progress.reread.map(Reread::until)),
            ),
            VerificationState::ManualEntry { .. } => earliest(expires_at, self.next_retry()),
            VerificationState::Verifying => {
                earliest(self.check.as_ref().map(|c| c.deadline), expires_at)
            }
            _ => expires_at,
        };
        earliest(state_deadline, self.resend.as_ref().map(|r| r.deadline))
    }

    /// Applies `event` at time `now` and returns what must be done, in order.
    pub fn handle(&mut self, event: Event, now: SystemTime) -> Vec<Effect> {
        let mut out = Vec::new();
        self.advance_time(now, &mut out);
        match event {
            Event::Start { op, phone_number } => self.on_start(op, phone_number, now, &mut out),
            Event::Resume { op, id, started_at } => {
                self.on_resume(op, id, started_at, now, &mut out)
            }
            Event::Created(result) => self.on_created(result, now, &mut out),
            Event::IncomingCall {
                op,
                number,
                observed_at,
            } => self.on_incoming_call(op, &number, observed_at, now, &mut out),
            Event::CodeEntered { op, code } => self.on_code(op, &code, now, &mut out),
            Event::CheckFinished { op, result } => {
                self.on_check_finished(op, result, now, &mut out)
            }
            Event::CallVisibilityChanged { visibility } => {
                self.on_visibility_changed(visibility, now, &mut out)
            }
            Event::ResendRequested { op } => self.on_resend(op, now, &mut out),
            Event::ResendFinished { op, result } => {
                self.on_resend_finished(op, result, now, &mut out)
            }
            Event::Cancel { op } => self.on_cancel(op, &mut out),
            Event::CancelFinished { op, result } => on_cancel_finished(op, result, &mut out),
            Event::DeadlineReached => {}
            Event::ServerUpdate {
                generation,
                verification,
            } => self.on_server_update(generation, verification, now, &mut out),
        }
        self.check_next_call(now, &mut out);
        let deadline = self.deadline();
        if deadline != self.announced_deadline {
            self.announced_deadline = deadline;
            out.push(Effect::SetDeadline(deadline));
        }
        out
    }

    fn on_start(&mut self, op: OpId, phone_number: String, now: SystemTime, out: &mut Vec<Effect>) {
        if self.state != VerificationState::Idle {
            let reason = "the verification was already started".to_owned();
            return reply(
                out,
                op,
                Reply::Start(Err(MotpError::InvalidState { reason })),
            );
        }
        let phone_number = phone_number.trim().to_owned();
        let reason = if phone_number.is_empty() {
            Some("the phone number is empty")
        } else if phone_number.chars().count() > MAX_PHONE_NUMBER_CHARS {
            Some("the phone number is too long")
        } else if !phone_number.chars().any(|c| c.is_ascii_digit()) {
            Some("the phone number has no digits")
        } else {
            None
        };
        if let Some(reason) = reason {
            let error = MotpError::InvalidPhoneNumber {
                reason: reason.to_owned(),
            };
            return reply(out, op, Reply::Start(Err(error)));
        }
        self.requested_at = Some(now);
        self.request_deadline = Some(now + self.config.request_timeout + REQUEST_GRACE);
        self.start_op = Some(op);
        out.push(Effect::SendCreate {
            request: CreateVerificationRequest {
                phone_number,
                country: Some(self.config.home_country.clone()),
            },
        });
        self.enter(VerificationState::Requesting, out);
    }

    fn on_resume(
        &mut self,
        op: OpId,
        id: String,
        started_at: SystemTime,
        now: SystemTime,
        out: &mut Vec<Effect>,
    ) {
        if self.state != VerificationState::Idle {
            let reason = "the verification was already started".to_owned();
            let error = MotpError::InvalidState { reason };
            return reply(out, op, Reply::Start(Err(error)));
        }
        self.requested_at = Some(now);
        self.resumed_from = Some(started_at.min(now));
        self.request_deadline = Some(now + self.config.request_timeout + REQUEST_GRACE);
        self.start_op = Some(op);
        out.push(Effect::SendGet { id });
        self.enter(VerificationState::Requesting, out);
    }

    fn on_created(
        &mut self,
        result: Result<Dated<Verification>, MotpError>,
        now: SystemTime,
        out: &mut Vec<Effect>,
    ) {
        if self.state != VerificationState::Requesting {
            // The app canceled, or the request timed out, while the server
            // was already placing the call: withdraw it.
            if let Ok(created) = result {
                if self.session.is_none() {
                    let id = created.value.id;
                    out.push(Effect::SendCancel { op: None, id });
                }
            }
            return;
        }
        let sent_at = self.requested_at.unwrap_or(now);
        let session = result.and_then(|created| {
            let session = new_session(&self.config, created, sent_at, now)?;
            Ok(session)
        });
        let (mut session, status, failure) = match session {
            Ok(parts) => parts,
            Err(error) => return self.end(VerificationState::Failed { error }, out),
        };
        let resumed = self.resumed_from.is_some();
        if let Some(started_at) = self.resumed_from {
            // Calls that came while no process ran still count.
            session.calls_from = started_at;
        }
        let expires_at = session.info.expires_at;
        self.session = Some(session);
        let end = match status {
            // Resumed after approval: the token went to the dead process.
            VerificationStatus::Approved if resumed => Some(VerificationState::Failed {
                error: MotpError::AlreadyUsed,
            }),
            // Resumed after the call failed: the code may still be typed.
            VerificationStatus::Failed if resumed => None,
            _ => state_for_status(status, failure),
        };
        if let Some(end) = end {
            return self.end(end, out);
        }
        if now >= expires_at {
            return self.end(VerificationState::Expired, out);
        }
        self.call_deadline = Some(now + self.config.call_timeout);
        let waiting = match ManualEntryReason::for_visibility(self.visibility) {
            Some(reason) => Waiting::Manual(reason),
            None if resumed && status == VerificationStatus::Failed => {
                Waiting::Manual(ManualEntryReason::CallTimeout)
            }
            None => Waiting::Call,
        };
        self.enter(waiting.state(), out);
        self.follow(out);
        if let Some(op) = self.start_op.take() {
            reply(out, op, Reply::Start(Ok(())));
        }
    }

    fn on_incoming_call(
        &mut self,
        op: OpId,
        number: &str,
        observed_at: SystemTime,
        now: SystemTime,
        out: &mut Vec<Effect>,
    ) {
        let ignored = |out: &mut Vec<Effect>, reason| {
            reply(out, op, Reply::Call(Ok(CallMatch::Ignored { reason })));
        };
        let checking = self.state == VerificationState::Verifying;
        let session = match self.session.as_ref() {
            Some(session) if self.waiting().is_some() || checking => session,
            _ => return ignored(out, IgnoredCall::NotAwaitingCall),
        };
        if observed_at < session.calls_from {
            return ignored(out, IgnoredCall::BeforeRequest);
        }
        if observed_at >= session.info.expires_at {
            return ignored(out, IgnoredCall::AfterExpiry);
        }
        let code = match session.matcher.match_number(number) {
            Ok(code) => code,
            Err(rejection) => return ignored(out, IgnoredCall::NotMatching { rejection }),
        };
        let late = Waiting::Manual(ManualEntryReason::CallTimeout);
        if self.waiting() == Some(late) || self.check.as_ref().is_some_and(|c| c.return_to == late)
        {
            self.sightings.late = true;
        }
        let in_flight = self.check.as_ref().is_some_and(|c| c.code == code)
            || self.queued.iter().any(|q| q.code == code);
        match session.calls.verdict(&code) {
            Some(Verdict::Refused) => return ignored(out, IgnoredCall::AlreadyRejected),
            _ if in_flight => return ignored(out, IgnoredCall::AlreadyChecking),
            // Never checked, or its retry is pending: check it now.
            _ => {}
        }
        let number = number.trim().to_owned();
        if checking {
            // Another check (a typed code, an earlier call) runs: this one
            // follows unless that one succeeds.
            self.queued.push_back(QueuedCall { op, code, number });
            return;
        }
        self.check_call(op, code, number, now, out);
    }

    /// Sends the check of a matching call.
    fn check_call(
        &mut self,
        op: OpId,
        code: String,
        number: String,
        now: SystemTime,
        out: &mut Vec<Effect>,
    ) {
        let Some(waiting) = self.waiting() else {
            return;
        };
        let Some(session) = self.session.as_mut() else {
            return;
        };
        session.calls.checking(&code, &number);
        let request = CheckRequest::with_caller_id(number, Some(self.config.home_country.clone()));
        self.start_check(op, CheckOrigin::Call, code, request, waiting, now, out);
    }

    /// While waiting and no check runs: checks the next queued call, or
    /// retries a call whose check failed in transit.
    fn check_next_call(&mut self, now: SystemTime, out: &mut Vec<Effect>) {
        if self.waiting().is_none() {
            return;
        }
        if let Some(queued) = self.queued.pop_front() {
            let QueuedCall { op, code, number } = queued;
            let refused = self
                .session
                .as_ref()
                .is_some_and(|s| s.calls.verdict(&code) == Some(Verdict::Refused));
            if refused {
                let reason = IgnoredCall::AlreadyRejected;
                reply(out, op, Reply::Call(Ok(CallMatch::Ignored { reason })));
                // The next one, if any, on the same step.
                return self.check_next_call(now, out);
            }
            return self.check_call(op, code, number, now, out);
        }
        let due = self.session.as_ref().and_then(|s| s.calls.due(now));
        if let Some((code, number)) = due {
            self.internal_ops += 1;
            let op = OpId(OpId::INTERNAL | self.internal_ops);
            log::debug!("checking the verification call again after a failure in transit");
            self.check_call(op, code, number, now, out);
        }
    }

    /// When a call's check is next retried.
    fn next_retry(&self) -> Option<SystemTime> {
        self.session.as_ref().and_then(|s| s.calls.next_retry())
    }

    fn on_code(&mut self, op: OpId, code: &str, now: SystemTime, out: &mut Vec<Effect>) {
        let refuse = |out: &mut Vec<Effect>, error| reply(out, op, Reply::Code(Err(error)));
        let waiting = match (&self.state, self.waiting()) {
            (_, Some(waiting)) => waiting,
            (state, None) if state.is_final() => return refuse(out, self.final_error()),
            (VerificationState::Verifying, None) => {
                let reason = "a check is already in progress".to_owned();
                return refuse(out, MotpError::InvalidState { reason });
            }
            (_, None) => {
                let reason = "the verification has not started".to_owned();
                return refuse(out, MotpError::InvalidState { reason });
            }
        };
        let Some(session) = self.session.as_ref() else {
            let reason = "the verification has not started".to_owned();
            return refuse(out, MotpError::InvalidState { reason });
        };
        let length = usize::from(session.info.caller.code_length);
        let digits: String = code
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if digits.len() != length || !digits.bytes().all(|b| b.is_ascii_digit()) {
            let reason = format!("the code must be {length} digits");
            return refuse(out, MotpError::InvalidInput { reason });
        }
        if session.calls.verdict(&digits) == Some(Verdict::Refused) {
            let attempts_left = session.info.attempts_left;
            return refuse(out, MotpError::WrongCode { attempts_left });
        }
        if waiting == Waiting::Call {
            self.sightings.typed_early = true;
        }
        let request = CheckRequest::with_code(digits.clone());
        self.start_check(op, CheckOrigin::Code, digits, request, waiting, now, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn start_check(
        &mut self,
        op: OpId,
        origin: CheckOrigin,
        code: String,
        request: CheckRequest,
        return_to: Waiting,
        now: SystemTime,
        out: &mut Vec<Effect>,
    ) {
        let Some(session) = self.session.as_ref() else {
            return;
        };
        out.push(Effect::SendCheck {
            op,
            id: session.info.id.clone(),
            request,
        });
        let generation = session.generation;
        self.check = Some(PendingCheck {
            op,
            origin,
            code,
            generation,
            return_to,
            deadline: now + self.config.request_timeout + REQUEST_GRACE,
        });
        self.enter(VerificationState::Verifying, out);
    }

    fn on_check_finished(
        &mut self,
        op: OpId,
        result: Result<CheckResponse, MotpError>,
        now: SystemTime,
        out: &mut Vec<Effect>,
    ) {
        let current = self.check.as_ref().is_some_and(|c| c.op == op);
        if !current {
            // A late answer to a check the machine already gave up on. Only
            // an approval still matters: the code is spent either way.
            if let Ok(response) = result {
                if !self.state.is_final() && self.session.is_some() {
                    let token = response.token;
                    if let Some(check) = self.check.take() {
                        reply(out, check.op, check_reply(check.origin, Ok(token.clone())));
                    }
                    self.end(VerificationState::Verified { token }, out);
                }
            }
            return;
        }
        let Some(check) = self.check.take() else {
            return;
        };
        let error = match result {
            Ok(response) => {
                let token = response.token;
                self.sightings.automatic =
                    check.origin == CheckOrigin::Call && check.return_to == Waiting::Call;
                reply(out, check.op, check_reply(check.origin, Ok(token.clone())));
                return self.end(VerificationState::Verified { token }, out);
            }
            Err(error) => error,
        };
        self.record_failed_check(&check, &error, now);
        reply(out, check.op, check_reply(check.origin, Err(error.clone())));
        match disposition(&error) {
            Disposition::Continue => self.resume_waiting(check.return_to, now, out),
            Disposition::Expired => self.end(VerificationState::Expired, out),
            Disposition::Fatal => self.end(VerificationState::Failed { error }, out),
        }
    }

    /// Remembers what a failed check says about its code: refused by the
    /// server, or to be tried again when it failed in transit.
    fn record_failed_check(&mut self, check: &PendingCheck, error: &MotpError, now: SystemTime) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        if let MotpError::WrongCode { attempts_left } = error {
            session.info.attempts_left = *attempts_left;
        }
        if session.generation != check.generation {
            return;
        }
        match error {
            MotpError::WrongCode { .. } => session.calls.refused(&check.code),
            // A typed code is typed again by the user if need be.
            error if error.is_transient() && check.origin == CheckOrigin::Call => {
                session
                    .calls
                    .failed_in_transit(&check.code, now, error.retry_after());
            }
            _ => {}
        }
    }

    fn on_visibility_changed(
        &mut self,
        visibility: CallVisibility,
        now: SystemTime,
        out: &mut Vec<Effect>,
    ) {
        self.visibility = visibility;
        if visibility != CallVisibility::Numbers {
            self.sightings.unreadable = true;
        }
        // Manual entry for want of visibility ends when numbers can be seen
        // again; a call timeout stays a call timeout.
        let waiting = match ManualEntryReason::for_visibility(visibility) {
            Some(reason) => Waiting::Manual(reason),
            None => Waiting::Call,
        };
        let follows_visibility = |current: Waiting| match current {
            Waiting::Manual(ManualEntryReason::CallTimeout) => false,
            current => current != waiting,
        };
        match (self.waiting(), self.check.as_mut()) {
            (Some(current), _) if follows_visibility(current) => {
                self.resume_waiting(waiting, now, out);
            }
            (None, Some(check)) if follows_visibility(check.return_to) => {
                check.return_to = waiting;
            }
            _ => {}
        }
    }

    fn on_resend(&mut self, op: OpId, now: SystemTime, out: &mut Vec<Effect>) {
        let refuse = |out: &mut Vec<Effect>, error| reply(out, op, Reply::Resend(Err(error)));
        if self.state.is_final() {
            return refuse(out, self.final_error());
        }
        let invalid = |reason: &str| MotpError::InvalidState {
            reason: reason.to_owned(),
        };
        let session = match (&self.state, self.session.as_ref()) {
            (VerificationState::Verifying, _) => {
                return refuse(out, invalid("a check is in progress"));
            }
            (_, None) => return refuse(out, invalid("the verification has not started")),
            (_, Some(session)) => session,
        };
        if self.resend.is_some() {
            return refuse(out, invalid("a resend is already in progress"));
        }
        if let Ok(wait) = session.info.resend_after.duration_since(now) {
            if !wait.is_zero() {
                let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                return refuse(out, MotpError::RateLimited { retry_after_secs });
            }
        }
        out.push(Effect::SendResend {
            op,
            id: session.info.id.clone(),
        });
        self.resend = Some(PendingResend {
            op,
            sent_at: now,
            deadline: now + self.config.request_timeout + REQUEST_GRACE,
        });
    }

    fn on_resend_finished(
        &mut self,
        op: OpId,
        result: Result<Dated<Verification>, MotpError>,
        now: SystemTime,
        out: &mut Vec<Effect>,
    ) {
        if self.resend.as_ref().is_none_or(|r| r.op != op) {
            return;
        }
        let Some(resend) = self.resend.take() else {
            return;
        };
        let renewed =
            result.and_then(|renewed| new_session(&self.config, renewed, resend.sent_at, now));
        let (mut session, status, failure) = match renewed {
            Ok(parts) => parts,
            Err(error) => {
                reply(out, op, Reply::Resend(Err(error.clone())));
                return match disposition(&error) {
                    Disposition::Continue => {}
                    Disposition::Expired => self.end(VerificationState::Expired, out),
                    Disposition::Fatal => self.end(VerificationState::Failed { error }, out),
                };
            }
        };
        session.generation = self.session.as_ref().map_or(0, |s| s.generation + 1);
        self.session = Some(session);
        self.progress = CallProgress::default();
        // Calls seen before the resend carry the old code.
        for queued in std::mem::take(&mut self.queued) {
            let reason = IgnoredCall::BeforeRequest;
            reply(
                out,
                queued.op,
                Reply::Call(Ok(CallMatch::Ignored { reason })),
            );
        }
        if let Some(end) = state_for_status(status, failure) {
            reply(out, op, Reply::Resend(Ok(())));
            return self.end(end, out);
        }
        self.call_deadline = Some(now + self.config.call_timeout);
        self.follow(out);
        // A new call is coming: wait for it again, unless the app cannot
        // read calls at all.
        let renewed = |waiting: Waiting| match waiting {
            Waiting::Manual(reason) if reason != ManualEntryReason::CallTimeout => waiting,
            _ => Waiting::Call,
        };
        if let Some(check) = self.check.as_mut() {
            check.return_to = renewed(check.return_to);
        } else if let Some(waiting) = self.waiting() {
            self.enter(renewed(waiting).state(), out);
        }
        reply(out, op, Reply::Resend(Ok(())));
    }

    fn on_cancel(&mut self, op: Option<OpId>, out: &mut Vec<Effect>) {
        if self.state.is_final() {
            if let Some(op) = op {
                reply(out, op, Reply::Cancel(Ok(())));
            }
            return;
        }
        let id = self.session.as_ref().map(|s| s.info.id.clone());
        self.end(VerificationState::Canceled, out);
        match (id, op) {
            (Some(id), op) => out.push(Effect::SendCancel { op, id }),
            // Not created yet: nothing to withdraw now; a late creation is
            // withdrawn when it arrives.
            (None, Some(op)) => reply(out, op, Reply::Cancel(Ok(()))),
            (None, None) => {}
        }
    }

    /// Moves through every deadline that `now` has passed.
    fn advance_time(&mut self, now: SystemTime, out: &mut Vec<Effect>) {
        if self.state.is_final() {
            return;
        }
        if let Some(session) = &self.session {
            if now >= session.info.expires_at {
                return self.end(VerificationState::Expired, out);
            }
        }
        if self.state == VerificationState::Requesting
            && self.request_deadline.is_some_and(|d| now >= d)
        {
            let error = MotpError::Timeout;
            return self.end(VerificationState::Failed { error }, out);
        }
        if let Some(resend) = self.resend.take_if(|r| now >= r.deadline) {
            reply(out, resend.op, Reply::Resend(Err(MotpError::Timeout)));
        }
        if let Some(check) = self.check.take_if(|c| now >= c.deadline) {
            let error = MotpError::Timeout;
            self.record_failed_check(&check, &error, now);
            reply(out, check.op, check_reply(check.origin, Err(error)));
            self.resume_waiting(check.return_to, now, out);
        }
        if self.state == VerificationState::AwaitingCall
            && self.call_deadline.is_some_and(|d| now >= d)
        {
            let reason = ManualEntryReason::CallTimeout;
            self.enter(VerificationState::ManualEntry { reason }, out);
        }
        self.advance_reread(now, out);
    }

    /// After a delivered call the phone did not report: asks the app to
    /// read the call log again, then gives up waiting.
    fn advance_reread(&mut self, now: SystemTime, out: &mut Vec<Effect>) {
        let Some(reread) = self.progress.reread.filter(|r| now >= r.until()) else {
            return;
        };
        if self.state != VerificationState::AwaitingCall {
            // A check runs (its outcome decides) or the wait is over.
            if self.waiting().is_some() {
                self.progress.reread = None;
            }
            return;
        }
        match reread {
            Reread::Grace { .. } => {
                log::debug!("the call was delivered but not reported; asking for the call log");
                out.push(Effect::Tell(CallEvent::RereadCallLog));
                self.progress.reread = Some(Reread::Asked {
                    until: now + REREAD_WINDOW,
                });
            }
            Reread::Asked { .. } => {
                self.progress.reread = None;
                self.call_deadline = Some(now);
                let reason = ManualEntryReason::CallTimeout;
                self.enter(VerificationState::ManualEntry { reason }, out);
            }
        }
    }

    /// Asks the driver to follow the server's events of the current call.
    fn follow(&mut self, out: &mut Vec<Effect>) {
        if let Some(session) = &self.session {
            self.following = true;
            out.push(Effect::Follow {
                id: session.info.id.clone(),
                generation: session.generation,
            });
        }
    }

    fn stop_following(&mut self, out: &mut Vec<Effect>) {
        if std::mem::take(&mut self.following) {
            out.push(Effect::StopFollowing);
        }
    }

    fn on_server_update(
        &mut self,
        generation: u32,
        verification: Verification,
        now: SystemTime,
        out: &mut Vec<Effect>,
    ) {
        if self.state.is_final() || !self.following {
            return;
        }
        let Some(session) = self.session.as_mut() else {
            return;
        };
        if session.generation != generation || verification.id != session.info.id {
            return;
        }
        if verification.caller != session.info.caller {
            // The call moved to another trunk, with another caller prefix.
            let caller = &verification.caller;
            let matcher = CallerPattern::new(&caller.prefix, caller.code_length)
                .ok()
                .and_then(|pattern| CallerIdMatcher::new(pattern, &self.config.home_country).ok());
            match matcher {
                Some(matcher) => {
                    session.matcher = matcher;
                    session.info.caller = caller.clone();
                }
                None => log::warn!("the server sent an invalid caller pattern; kept the old one"),
            }
        }
        match verification.status {
            VerificationStatus::Calling => {}
            VerificationStatus::Ringing => {
                if !std::mem::replace(&mut self.progress.ringing_told, true) {
                    out.push(Effect::Tell(CallEvent::Ringing));
                }
            }
            VerificationStatus::Delivered => {
                self.stop_following(out);
                if !std::mem::replace(&mut self.progress.outcome_told, true) {
                    out.push(Effect::Tell(CallEvent::Delivered));
                }
                let waits_for_call = self.waiting() == Some(Waiting::Call)
                    || self
                        .check
                        .as_ref()
                        .is_some_and(|c| c.return_to == Waiting::Call);
                if waits_for_call && self.visibility == CallVisibility::Numbers {
                    self.progress.reread = Some(Reread::Grace {
                        until: now + DELIVERED_GRACE,
                    });
                }
            }
            VerificationStatus::Failed => {
                self.stop_following(out);
                if !std::mem::replace(&mut self.progress.outcome_told, true) {
                    let reason =
                        redact_numbers(verification.failure_reason.as_deref().unwrap_or("unknown"));
                    out.push(Effect::Tell(CallEvent::Failed { reason }));
                }
                // No call is coming: stop waiting for one.
                self.call_deadline = Some(now);
                self.progress.reread = None;
                let manual = Waiting::Manual(ManualEntryReason::CallTimeout);
                if let Some(check) = self.check.as_mut() {
                    if check.return_to == Waiting::Call {
                        check.return_to = manual;
                    }
                } else if self.waiting() == Some(Waiting::Call) {
                    self.enter(manual.state(), out);
                }
            }
            VerificationStatus::Approved => self.stop_following(out),
            VerificationStatus::Expired => {
                if self.check.is_none() {
                    self.end(VerificationState::Expired, out);
                }
            }
            VerificationStatus::Canceled => self.end(VerificationState::Canceled, out),
        }
    }

    /// Back to waiting after a check that did not succeed; the call timeout
    /// may have passed meanwhile.
    fn resume_waiting(&mut self, to: Waiting, now: SystemTime, out: &mut Vec<Effect>) {
        let to = match to {
            Waiting::Call if self.call_deadline.is_some_and(|d| now >= d) => {
                Waiting::Manual(ManualEntryReason::CallTimeout)
            }
            other => other,
        };
        self.enter(to.state(), out);
    }

    /// The state the machine is waiting in, if it is waiting for a call or a
    /// typed code.
    fn waiting(&self) -> Option<Waiting> {
        match self.state {
            VerificationState::AwaitingCall => Some(Waiting::Call),
            VerificationState::ManualEntry { reason } => Some(Waiting::Manual(reason)),
            _ => None,
        }
    }

    fn enter(&mut self, state: VerificationState, out: &mut Vec<Effect>) {
        self.state = state.clone();
        out.push(Effect::Notify(state));
    }

    /// Enters a final state and answers every operation still waiting.
    fn end(&mut self, state: VerificationState, out: &mut Vec<Effect>) {
        self.stop_following(out);
        self.report(&state, out);
        self.enter(state, out);
        let error = self.final_error();
        if let Some(op) = self.start_op.take() {
            reply(out, op, Reply::Start(Err(error.clone())));
        }
        if let Some(check) = self.check.take() {
            reply(out, check.op, check_reply(check.origin, Err(error.clone())));
        }
        if let Some(resend) = self.resend.take() {
            reply(out, resend.op, Reply::Resend(Err(error)));
        }
        for queued in std::mem::take(&mut self.queued) {
            let reason = IgnoredCall::NotAwaitingCall;
            reply(
                out,
                queued.op,
                Reply::Call(Ok(CallMatch::Ignored { reason })),
            );
        }
    }

    /// Reports what the phone saw when the verification ends without an
    /// automatic match (not when it failed: the server knows why).
    fn report(&mut self, end: &VerificationState, out: &mut Vec<Effect>) {
        let Some(session) = &self.session else {
            return;
        };
        if matches!(end, VerificationState::Failed { .. }) || self.sightings.reported {
            return;
        }
        if let Some(observation) = self.sightings.observation() {
            self.sightings.reported = true;
            out.push(Effect::SendReport {
                id: session.info.id.clone(),
                observation,
            });
        }
    }

    /// The error for an operation attempted in a final state.
    fn final_error(&self) -> MotpError {
        match &self.state {
            VerificationState::Verified { .. } => MotpError::InvalidState {
                reason: "the verification is already approved".to_owned(),
            },
            VerificationState::Failed { error } => error.clone(),
            VerificationState::Expired => MotpError::Expired,
            VerificationState::Canceled => MotpError::Canceled,
            _ => MotpError::InvalidState {
                reason: "the verification is still running".to_owned(),
            },
        }
    }
}

/// The session a create or resend response describes, with its status.
fn new_session(
    config: &MachineConfig,
    dated: Dated<Verification>,
    sent_at: SystemTime,
    now: SystemTime,
) -> Result<(Session, VerificationStatus, Option<String>), MotpError> {
    let verification = dated.value;
    let invalid = |reason: &str| MotpError::InvalidResponse {
        reason: reason.to_owned(),
    };
    let pattern = CallerPattern::new(&verification.caller.prefix, verification.caller.code_length)
        .map_err(|_| invalid("the server sent an invalid caller pattern"))?;
    let matcher = CallerIdMatcher::new(pattern, &config.home_country)?;
    let skew = ClockSkew::measure(sent_at, now, dated.server_date);
    let info = VerificationInfo {
        id: verification.id,
        phone_number: verification.phone_number,
        caller: verification.caller,
        expires_at: skew.to_local(verification.expires_at.0),
        resend_after: skew.to_local(verification.resend_after.0),
        attempts_left: verification.attempts_left,
    };
    let session = Session {
        info,
        matcher,
        calls_from: sent_at,
        calls: SeenCalls::default(),
        generation: 0,
    };
    Ok((session, verification.status, verification.failure_reason))
}

/// The final state a server status implies at creation or resend, if any.
fn state_for_status(
    status: VerificationStatus,
    failure_reason: Option<String>,
) -> Option<VerificationState> {
    match status {
        VerificationStatus::Calling
        | VerificationStatus::Ringing
        | VerificationStatus::Delivered => None,
        VerificationStatus::Expired => Some(VerificationState::Expired),
        VerificationStatus::Canceled => Some(VerificationState::Canceled),
        VerificationStatus::Failed => Some(VerificationState::Failed {
            error: MotpError::CallFailed {
                reason: redact_numbers(failure_reason.as_deref().unwrap_or("unknown")),
            },
        }),
        VerificationStatus::Approved => Some(VerificationState::Failed {
            error: MotpError::InvalidResponse {
                reason: "a new verification cannot be approved already".to_owned(),
            },
        }),
    }
}

fn on_cancel_finished(op: Option<OpId>, result: Result<(), MotpError>, out: &mut Vec<Effect>) {
    let Some(op) = op else {
        return;
    };
    // Already gone on the server is as good as canceled.
    let result = match result {
        Err(MotpError::NotFound | MotpError::Expired) => Ok(()),
        other => other,
    };
    reply(out, op, Reply::Cancel(result));
}

fn check_reply(origin: CheckOrigin, result: Result<String, MotpError>) -> Reply {
    match origin {
        CheckOrigin::Call => Reply::Call(result.map(|token| CallMatch::Verified { token })),
        CheckOrigin::Code => Reply::Code(result),
    }
}

fn reply(out: &mut Vec<Effect>, op: OpId, reply: Reply) {
    if !op.is_internal() {
        out.push(Effect::Reply { op, reply });
    }
}

fn earliest(a: Option<SystemTime>, b: Option<SystemTime>) -> Option<SystemTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}
