//! The verification lifecycle as a pure, deterministic state machine.
//!
//! [`Machine`] does no I/O and reads no clock: each call to
//! [`Machine::handle`] takes one [`Event`] and the current time, and returns
//! the [`Effect`]s the caller must carry out (send a request, arm a timer,
//! tell the app about a new state, answer an operation). The
//! [`driver`](crate::driver) does exactly that on tokio; tests drive the
//! machine by hand.
//!
//! | From | On | To |
//! |---|---|---|
//! | `Idle` | start | `Requesting` |
//! | `Requesting` | created | `AwaitingCall` (`ManualEntry` if calls can't be read) |
//! | `Requesting` | refused, or no answer in time | `Failed` |
//! | `AwaitingCall` | a call matching the caller pattern | `Verifying` (by caller ID) |
//! | `AwaitingCall` | call timeout, or calls can't be read | `ManualEntry` |
//! | `AwaitingCall`, `ManualEntry` | a typed code | `Verifying` (by code) |
//! | `ManualEntry` | a late matching call | `Verifying` (by caller ID) |
//! | `Verifying` | approved | `Verified` |
//! | `Verifying` | wrong code, network error, no answer in time | back where it came from |
//! | `Verifying` | last attempt spent, or expired on the server | `Expired` |
//! | `Verifying` | verification unusable (already used, gone, key revoked) | `Failed` |
//! | `AwaitingCall`, `ManualEntry` | resend done | the same wait again, re-announced (`AwaitingCall` after a call timeout) |
//! | any state after creation | `expires_at` passed | `Expired` |
//! | any state that is not final | cancel | `Canceled` |
//!
//! Every state the machine waits in has a deadline, so nothing is ever
//! stuck: `Requesting` and `Verifying` end when a request overruns its
//! timeout, `AwaitingCall` turns into `ManualEntry` when the call does not
//! arrive in time, and every state after creation ends in `Expired` when the
//! verification's `expires_at` passes.

use std::time::{Duration, SystemTime};

use crate::client::Dated;
use crate::error::MotpError;
use crate::matcher::{CallerIdMatcher, MatchRejection};
use crate::pattern::CallerPattern;
use crate::protocol::{
    CallerInfo, CheckRequest, CheckResponse, CreateVerificationRequest, Verification,
    VerificationStatus,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(pub u64);

/// Why the user is asked to type the code instead of the SDK reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ManualEntryReason {
    /// The call was not seen within the configured call timeout. It may
    /// still arrive: an incoming call is still taken into account.
    CallTimeout,
    /// The app lacks the permission to read incoming numbers (on Android,
    /// `READ_PHONE_STATE` and `READ_CALL_LOG`).
    PermissionMissing,
    /// The platform never lets apps read incoming numbers (iOS).
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
}

/// Where a verification stands, as the app sees it.
///
/// `Verified`, `Failed`, `Expired` and `Canceled` are final: nothing changes
/// after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerificationState {
    /// Not started yet.
    Idle,
    /// Asking the server to place the call.
    Requesting,
    /// The server is calling; waiting for the phone to report the incoming
    /// number. Show a "waiting for the call" screen; the user types nothing.
    AwaitingCall,
    /// Waiting for the user to type the last digits of the calling number.
    /// Show a code field with the caller prefix (see
    /// [`VerificationInfo::caller`]).
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
    /// [`MotpError::CallFailed`] or [`MotpError::DestinationNotAllowed`]).
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
    /// Whether this state is final (`Verified`, `Failed`, `Expired`,
    /// `Canceled`).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::Verified { .. } | Self::Failed { .. } | Self::Expired | Self::Canceled
        )
    }

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

/// What became of an incoming call reported to the SDK.
#[derive(Debug, Clone, PartialEq, Eq)]
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
pub enum IgnoredCall {
    /// The number does not fit the verification caller pattern: it is some
    /// other call.
    NotMatching {
        /// How it failed to match.
        rejection: MatchRejection,
    },
    /// The call was observed before the verification was requested.
    BeforeRequest,
    /// The call was observed after the verification expired.
    AfterExpiry,
    /// The verification is not waiting for a call (not started, already
    /// checking, or ended).
    NotAwaitingCall,
    /// The server already refused this very number; checking it again
    /// would only spend an attempt. Platforms often report one call twice.
    AlreadyRejected,
}

impl IgnoredCall {
    /// A stable snake_case name (`not_matching`, `before_request`,
    /// `after_expiry`, `not_awaiting_call`, `already_rejected`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::NotMatching { .. } => "not_matching",
            Self::BeforeRequest => "before_request",
            Self::AfterExpiry => "after_expiry",
            Self::NotAwaitingCall => "not_awaiting_call",
            Self::AlreadyRejected => "already_rejected",
        }
    }
}

/// Facts about a created verification that an app may show.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// When a resend becomes possible, by this device's clock.
    pub resend_after: SystemTime,
    /// Checks left before the verification is spent.
    pub attempts_left: u32,
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
}

/// Something that happened. `now` is passed alongside, not inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The app asked to verify `phone_number`. `Idle` → `Requesting`.
    Start { op: OpId, phone_number: String },
    /// The answer to [`Effect::SendCreate`]. `Requesting` → `AwaitingCall`
    /// (or `ManualEntry` when the app already said calls can't be read), or
    /// `Failed`/`Expired`.
    Created(Result<Dated<Verification>, MotpError>),
    /// The phone saw an incoming call from `number` (raw, as the platform
    /// shows it) at `observed_at`, on SIM `sim_slot` when known.
    IncomingCall {
        op: OpId,
        number: String,
        observed_at: SystemTime,
        sim_slot: Option<u32>,
    },
    /// The user typed `code`.
    CodeEntered { op: OpId, code: String },
    /// The answer to [`Effect::SendCheck`] number `op`.
    CheckFinished {
        op: OpId,
        result: Result<CheckResponse, MotpError>,
    },
    /// The app cannot read incoming calls (any more); ask the user instead.
    SwitchToManualEntry { reason: ManualEntryReason },
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
}

/// Something the caller of [`Machine::handle`] must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// `POST /v1/verifications`; report the answer as [`Event::Created`].
    SendCreate { request: CreateVerificationRequest },
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
    op: OpId,
    origin: CheckOrigin,
    code: String,
    generation: u32,
    return_to: Waiting,
    deadline: SystemTime,
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
    /// Codes the server refused since the latest call was placed.
    rejected_codes: Vec<String>,
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
    /// A manual-entry reason given before the verification was created.
    manual_from_start: Option<ManualEntryReason>,
    session: Option<Session>,
    call_deadline: Option<SystemTime>,
    check: Option<PendingCheck>,
    resend: Option<PendingResend>,
    /// The deadline last announced with [`Effect::SetDeadline`].
    announced_deadline: Option<SystemTime>,
}

impl Machine {
    /// A machine in `Idle`.
    pub fn new(config: MachineConfig) -> Self {
        Self {
            config,
            state: VerificationState::Idle,
            requested_at: None,
            request_deadline: None,
            start_op: None,
            manual_from_start: None,
            session: None,
            call_deadline: None,
            check: None,
            resend: None,
            announced_deadline: None,
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
            VerificationState::AwaitingCall => earliest(self.call_deadline, expires_at),
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
            Event::Created(result) => self.on_created(result, now, &mut out),
            Event::IncomingCall {
                op,
                number,
                observed_at,
                sim_slot: _,
            } => self.on_incoming_call(op, &number, observed_at, now, &mut out),
            Event::CodeEntered { op, code } => self.on_code(op, &code, now, &mut out),
            Event::CheckFinished { op, result } => {
                self.on_check_finished(op, result, now, &mut out)
            }
            Event::SwitchToManualEntry { reason } => self.on_switch_to_manual(reason, &mut out),
            Event::ResendRequested { op } => self.on_resend(op, now, &mut out),
            Event::ResendFinished { op, result } => {
                self.on_resend_finished(op, result, now, &mut out)
            }
            Event::Cancel { op } => self.on_cancel(op, &mut out),
            Event::CancelFinished { op, result } => on_cancel_finished(op, result, &mut out),
            Event::DeadlineReached => {}
        }
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
        let (session, status, failure) = match session {
            Ok(parts) => parts,
            Err(error) => return self.end(VerificationState::Failed { error }, out),
        };
        let expires_at = session.info.expires_at;
        self.session = Some(session);
        if let Some(end) = state_for_status(status, failure) {
            return self.end(end, out);
        }
        if now >= expires_at {
            return self.end(VerificationState::Expired, out);
        }
        self.call_deadline = Some(now + self.config.call_timeout);
        let waiting = match self.manual_from_start {
            Some(reason) => Waiting::Manual(reason),
            None => Waiting::Call,
        };
        self.enter(waiting.state(), out);
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
        let Some(waiting) = self.waiting() else {
            return ignored(out, IgnoredCall::NotAwaitingCall);
        };
        let Some(session) = self.session.as_ref() else {
            return ignored(out, IgnoredCall::NotAwaitingCall);
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
        if session.rejected_codes.contains(&code) {
            return ignored(out, IgnoredCall::AlreadyRejected);
        }
        let request =
            CheckRequest::with_caller_id(number.trim(), Some(self.config.home_country.clone()));
        self.start_check(op, CheckOrigin::Call, code, request, waiting, now, out);
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
        if session.rejected_codes.contains(&digits) {
            let attempts_left = session.info.attempts_left;
            return refuse(out, MotpError::WrongCode { attempts_left });
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
                reply(out, check.op, check_reply(check.origin, Ok(token.clone())));
                return self.end(VerificationState::Verified { token }, out);
            }
            Err(error) => error,
        };
        if let (MotpError::WrongCode { attempts_left }, Some(session)) =
            (&error, self.session.as_mut())
        {
            session.info.attempts_left = *attempts_left;
            if session.generation == check.generation {
                session.rejected_codes.push(check.code.clone());
            }
        }
        reply(out, check.op, check_reply(check.origin, Err(error.clone())));
        match disposition(&error) {
            Disposition::Continue => self.resume_waiting(check.return_to, now, out),
            Disposition::Expired => self.end(VerificationState::Expired, out),
            Disposition::Fatal => self.end(VerificationState::Failed { error }, out),
        }
    }

    fn on_switch_to_manual(&mut self, reason: ManualEntryReason, out: &mut Vec<Effect>) {
        match &self.state {
            VerificationState::Idle | VerificationState::Requesting => {
                self.manual_from_start = Some(reason);
            }
            VerificationState::AwaitingCall => {
                self.enter(VerificationState::ManualEntry { reason }, out);
            }
            VerificationState::ManualEntry { reason: current } if *current != reason => {
                self.enter(VerificationState::ManualEntry { reason }, out);
            }
            VerificationState::Verifying => {
                if let Some(check) = self.check.as_mut() {
                    check.return_to = Waiting::Manual(reason);
                }
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
        if let Some(end) = state_for_status(status, failure) {
            reply(out, op, Reply::Resend(Ok(())));
            return self.end(end, out);
        }
        self.call_deadline = Some(now + self.config.call_timeout);
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
            reply(
                out,
                check.op,
                check_reply(check.origin, Err(MotpError::Timeout)),
            );
            self.resume_waiting(check.return_to, now, out);
        }
        if self.state == VerificationState::AwaitingCall
            && self.call_deadline.is_some_and(|d| now >= d)
        {
            let reason = ManualEntryReason::CallTimeout;
            self.enter(VerificationState::ManualEntry { reason }, out);
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
        rejected_codes: Vec::new(),
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
                reason: crate::client::redact_numbers(
                    failure_reason.as_deref().unwrap_or("unknown"),
                ),
            },
        }),
        VerificationStatus::Approved => Some(VerificationState::Failed {
            error: MotpError::InvalidResponse {
                reason: "a new verification cannot be approved already".to_owned(),
            },
        }),
    }
}

/// How far the device clock is from the server's, measured from the `Date`
/// of a response. A phone whose clock is minutes off must not expire its
/// verification at once, nor keep it open long after the server gave up.
#[derive(Debug, Clone, Copy)]
struct ClockSkew {
    /// Local minus server time, when the local clock is ahead.
    ahead: Duration,
    /// Server minus local time, when the local clock is behind.
    behind: Duration,
}

impl ClockSkew {
    /// `Date` has whole seconds, so it may read up to a second before the
    /// exchange began; within that, the clocks agree.
    const RESOLUTION: Duration = Duration::from_secs(1);

    fn measure(
        sent_at: SystemTime,
        received_at: SystemTime,
        server_date: Option<SystemTime>,
    ) -> Self {
        let none = Self {
            ahead: Duration::ZERO,
            behind: Duration::ZERO,
        };
        let Some(date) = server_date else {
            return none;
        };
        let earliest = sent_at.checked_sub(Self::RESOLUTION).unwrap_or(sent_at);
        if date >= earliest && date <= received_at {
            return none;
        }
        let round_trip = received_at.duration_since(sent_at).unwrap_or_default();
        let midpoint = sent_at + round_trip / 2;
        match midpoint.duration_since(date) {
            Ok(ahead) => Self {
                ahead,
                behind: Duration::ZERO,
            },
            Err(behind) => Self {
                ahead: Duration::ZERO,
                behind: behind.duration(),
            },
        }
    }

    fn to_local(self, server_time: SystemTime) -> SystemTime {
        let ahead = server_time.checked_add(self.ahead).unwrap_or(server_time);
        ahead.checked_sub(self.behind).unwrap_or(ahead)
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
    out.push(Effect::Reply { op, reply });
}

fn earliest(a: Option<SystemTime>, b: Option<SystemTime>) -> Option<SystemTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}
