//! The verification state machine, driven by hand with an injected clock:
//! every transition, every deadline, early and late calls, cancel from every
//! state.

use std::time::{Duration, SystemTime};

use motp_core::machine::{
    CallEvent, CallMatch, CallVisibility, Effect, Event, IgnoredCall, Machine, MachineConfig,
    ManualEntryReason, OpId, Reply, VerificationState, DELIVERED_GRACE, REQUEST_GRACE,
    REREAD_WINDOW,
};
use motp_core::protocol::{
    CallerInfo, CheckRequest, CheckResponse, CreateVerificationRequest, Observation, Verification,
    VerificationStatus,
};
use motp_core::Dated;
use motp_core::MatchRejection;
use motp_core::MotpError;
use motp_core::Timestamp;

use VerificationState::{AwaitingCall, Canceled, Expired, Idle, Requesting, Verifying};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const TTL: Duration = Duration::from_secs(300);
const RESEND_AFTER: Duration = Duration::from_secs(60);
const CALL: &str = "+442079460123";
const CALL_NATIONAL: &str = "020 7946 0123";
const OTHER_CALL: &str = "+447700900555";

/// Seconds after a fixed origin.
fn t(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn manual(reason: ManualEntryReason) -> VerificationState {
    VerificationState::ManualEntry { reason }
}

fn verified(token: &str) -> VerificationState {
    VerificationState::Verified {
        token: token.to_owned(),
    }
}

fn failed(error: MotpError) -> VerificationState {
    VerificationState::Failed { error }
}

/// A verification as the server describes it, created at `now`.
fn created_at(now: SystemTime) -> Dated<Verification> {
    Dated {
        value: Verification {
            id: "ver_1".to_owned(),
            status: VerificationStatus::Calling,
            phone_number: "+447700900123".to_owned(),
            caller: CallerInfo {
                prefix: "+442079460".to_owned(),
                code_length: 3,
            },
            expires_at: Timestamp(now + TTL),
            resend_after: Timestamp(now + RESEND_AFTER),
            attempts_left: 3,
            failure_reason: None,
        },
        server_date: Some(now),
    }
}

fn approved(token: &str) -> Result<CheckResponse, MotpError> {
    Ok(CheckResponse {
        status: VerificationStatus::Approved,
        token: token.to_owned(),
    })
}

/// A machine plus bookkeeping, checking invariants after every step.
struct Harness {
    machine: Machine,
    next_op: u64,
}

impl Harness {
    fn new() -> Self {
        Self::new_with(CallVisibility::Numbers)
    }

    fn new_with(call_visibility: CallVisibility) -> Self {
        Self {
            machine: Machine::new(MachineConfig {
                home_country: "GB".to_owned(),
                request_timeout: REQUEST_TIMEOUT,
                call_timeout: CALL_TIMEOUT,
                call_visibility,
            }),
            next_op: 0,
        }
    }

    /// A machine in `Requesting`, started at `t(0)`.
    fn requesting() -> (Self, OpId) {
        let mut h = Self::new();
        let op = h.op();
        h.step(
            Event::Start {
                op,
                phone_number: "+447700900123".to_owned(),
            },
            t(0),
        );
        (h, op)
    }

    /// A machine in `AwaitingCall`, created at `t(1)`.
    fn awaiting() -> Self {
        let (mut h, _) = Self::requesting();
        h.step(Event::Created(Ok(created_at(t(1)))), t(1));
        assert_eq!(h.state(), &AwaitingCall);
        h
    }

    /// A machine in `ManualEntry(CallTimeout)`, after the call timeout.
    fn manual_entry() -> Self {
        let mut h = Self::awaiting();
        h.step(Event::DeadlineReached, t(1) + CALL_TIMEOUT);
        assert_eq!(h.state(), &manual(ManualEntryReason::CallTimeout));
        h
    }

    /// A machine in `Verifying` a matching call observed at `t(5)`.
    fn verifying() -> (Self, OpId) {
        let mut h = Self::awaiting();
        let (op, _) = h.call(CALL, t(5), t(5));
        assert_eq!(h.state(), &Verifying);
        (h, op)
    }

    fn op(&mut self) -> OpId {
        self.next_op += 1;
        OpId(self.next_op)
    }

    fn state(&self) -> &VerificationState {
        self.machine.state()
    }

    fn step(&mut self, event: Event, now: SystemTime) -> Vec<Effect> {
        let effects = self.machine.handle(event, now);
        let state = self.machine.state();
        // No state is stuck: every state after Idle waits with a deadline,
        // and that deadline lies in the future.
        if *state != Idle && !state.is_final() {
            let deadline = self
                .machine
                .deadline()
                .expect("a waiting state has a deadline");
            assert!(deadline > now, "deadline {deadline:?} not after {now:?}");
        }
        if state.is_final() {
            assert_eq!(self.machine.deadline(), None);
        }
        // Notifications always end at the current state.
        if let Some(last) = notified(&effects).last() {
            assert_eq!(last, state);
        }
        effects
    }

    /// Reports an incoming call.
    fn call(
        &mut self,
        number: &str,
        observed_at: SystemTime,
        now: SystemTime,
    ) -> (OpId, Vec<Effect>) {
        let op = self.op();
        let event = Event::IncomingCall {
            op,
            number: number.to_owned(),
            observed_at,
        };
        (op, self.step(event, now))
    }

    /// Types a code.
    fn code(&mut self, code: &str, now: SystemTime) -> (OpId, Vec<Effect>) {
        let op = self.op();
        let event = Event::CodeEntered {
            op,
            code: code.to_owned(),
        };
        (op, self.step(event, now))
    }

    fn resend(&mut self, now: SystemTime) -> (OpId, Vec<Effect>) {
        let op = self.op();
        (op, self.step(Event::ResendRequested { op }, now))
    }

    fn cancel(&mut self, now: SystemTime) -> (OpId, Vec<Effect>) {
        let op = self.op();
        (op, self.step(Event::Cancel { op: Some(op) }, now))
    }
}

type MakeHarness = fn() -> Harness;

fn notified(effects: &[Effect]) -> Vec<VerificationState> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Notify(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn replies(effects: &[Effect]) -> Vec<(OpId, Reply)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Reply { op, reply } => Some((*op, reply.clone())),
            _ => None,
        })
        .collect()
}

fn reply_to(effects: &[Effect], op: OpId) -> Reply {
    let found: Vec<Reply> = replies(effects)
        .into_iter()
        .filter(|(o, _)| *o == op)
        .map(|(_, r)| r)
        .collect();
    assert_eq!(found.len(), 1, "exactly one reply to {op:?} in {effects:?}");
    found.into_iter().next().unwrap()
}

fn requests(effects: &[Effect]) -> Vec<Effect> {
    effects
        .iter()
        .filter(|e| {
            matches!(
                e,
                Effect::SendCreate { .. }
                    | Effect::SendGet { .. }
                    | Effect::SendCheck { .. }
                    | Effect::SendResend { .. }
                    | Effect::SendCancel { .. }
            )
        })
        .cloned()
        .collect()
}

fn deadline_set(effects: &[Effect]) -> Option<Option<SystemTime>> {
    effects.iter().rev().find_map(|e| match e {
        Effect::SetDeadline(d) => Some(*d),
        _ => None,
    })
}

fn ignored(reason: IgnoredCall) -> Reply {
    Reply::Call(Ok(CallMatch::Ignored { reason }))
}

// ---------------------------------------------------------------- start

#[test]
fn start_sends_create_and_waits_with_a_request_deadline() {
    let mut h = Harness::new();
    assert_eq!(h.state(), &Idle);
    assert_eq!(h.machine.deadline(), None);
    let op = h.op();
    let fx = h.step(
        Event::Start {
            op,
            phone_number: " +447700900123 ".to_owned(),
        },
        t(0),
    );
    assert_eq!(h.state(), &Requesting);
    assert_eq!(notified(&fx), [Requesting]);
    assert_eq!(
        requests(&fx),
        [Effect::SendCreate {
            request: CreateVerificationRequest {
                phone_number: "+447700900123".to_owned(),
                country: Some("GB".to_owned()),
            }
        }]
    );
    assert_eq!(
        deadline_set(&fx),
        Some(Some(t(0) + REQUEST_TIMEOUT + REQUEST_GRACE))
    );
    assert!(replies(&fx).is_empty(), "start is answered on creation");
}

#[test]
fn start_refuses_an_unusable_number_without_asking_the_server() {
    for number in ["", "   ", "no digits here", &"1".repeat(65)] {
        let mut h = Harness::new();
        let op = h.op();
        let fx = h.step(
            Event::Start {
                op,
                phone_number: number.to_owned(),
            },
            t(0),
        );
        assert!(matches!(
            reply_to(&fx, op),
            Reply::Start(Err(MotpError::InvalidPhoneNumber { .. }))
        ));
        assert!(requests(&fx).is_empty());
        assert_eq!(h.state(), &Idle);
    }
}

#[test]
fn start_twice_is_refused() {
    let (mut h, _) = Harness::requesting();
    let op = h.op();
    let fx = h.step(
        Event::Start {
            op,
            phone_number: "+447700900123".to_owned(),
        },
        t(0),
    );
    assert!(matches!(
        reply_to(&fx, op),
        Reply::Start(Err(MotpError::InvalidState { .. }))
    ));
    assert_eq!(h.state(), &Requesting);
}

#[test]
fn creation_leads_to_awaiting_call_and_answers_start() {
    let (mut h, start) = Harness::requesting();
    let fx = h.step(Event::Created(Ok(created_at(t(1)))), t(1));
    assert_eq!(notified(&fx), [AwaitingCall]);
    assert_eq!(reply_to(&fx, start), Reply::Start(Ok(())));
    // The call timeout comes before the expiry.
    assert_eq!(deadline_set(&fx), Some(Some(t(1) + CALL_TIMEOUT)));
    let info = h.machine.info().unwrap();
    assert_eq!(info.id, "ver_1");
    assert_eq!(info.caller.prefix, "+442079460");
    assert_eq!(info.expires_at, t(1) + TTL);
    assert_eq!(info.attempts_left, 3);
}

#[test]
fn creation_errors_fail_the_verification_with_that_error() {
    for error in [
        MotpError::InvalidPhoneNumber {
            reason: "not a number".to_owned(),
        },
        MotpError::DestinationNotAllowed {
            reason: "country".to_owned(),
        },
        MotpError::RateLimited {
            retry_after_secs: 30,
        },
        MotpError::Unauthorized,
        MotpError::Timeout,
        MotpError::Server { status: 500 },
    ] {
        let (mut h, start) = Harness::requesting();
        let fx = h.step(Event::Created(Err(error.clone())), t(1));
        assert_eq!(notified(&fx), [failed(error.clone())]);
        assert_eq!(reply_to(&fx, start), Reply::Start(Err(error)));
        assert_eq!(deadline_set(&fx), Some(None));
    }
}

#[test]
fn creation_with_a_bad_caller_pattern_is_an_invalid_response() {
    let (mut h, start) = Harness::requesting();
    let mut created = created_at(t(1));
    created.value.caller.prefix = "not a prefix".to_owned();
    let fx = h.step(Event::Created(Ok(created)), t(1));
    assert!(matches!(
        h.state(),
        VerificationState::Failed {
            error: MotpError::InvalidResponse { .. }
        }
    ));
    assert!(matches!(
        reply_to(&fx, start),
        Reply::Start(Err(MotpError::InvalidResponse { .. }))
    ));
}

#[test]
fn creation_status_can_end_the_verification_at_once() {
    let call_failed = MotpError::CallFailed {
        reason: "busy".to_owned(),
    };
    let cases = [
        (VerificationStatus::Failed, failed(call_failed.clone())),
        (VerificationStatus::Expired, Expired),
        (VerificationStatus::Canceled, Canceled),
    ];
    for (status, end) in cases {
        let (mut h, start) = Harness::requesting();
        let mut created = created_at(t(1));
        created.value.status = status;
        created.value.failure_reason = Some("busy".to_owned());
        let fx = h.step(Event::Created(Ok(created)), t(1));
        assert_eq!(h.state(), &end);
        assert!(matches!(reply_to(&fx, start), Reply::Start(Err(_))));
    }
    let (mut h, _) = Harness::requesting();
    let mut created = created_at(t(1));
    created.value.status = VerificationStatus::Approved;
    h.step(Event::Created(Ok(created)), t(1));
    assert!(matches!(
        h.state(),
        VerificationState::Failed {
            error: MotpError::InvalidResponse { .. }
        }
    ));
}

#[test]
fn a_call_failure_reason_never_carries_a_number() {
    let (mut h, _) = Harness::requesting();
    let mut created = created_at(t(1));
    created.value.status = VerificationStatus::Failed;
    created.value.failure_reason = Some("+447700900123 rejected".to_owned());
    h.step(Event::Created(Ok(created)), t(1));
    let VerificationState::Failed { error } = h.state() else {
        panic!("{:?}", h.state())
    };
    assert!(!error.to_string().contains("7700900123"), "{error}");
}

#[test]
fn creation_already_expired_by_the_device_clock_expires() {
    let (mut h, start) = Harness::requesting();
    // The server's Date agrees with the device, but the answer came after
    // the (short) verification was over.
    let mut created = created_at(t(1));
    created.value.expires_at = Timestamp(t(5));
    let fx = h.step(Event::Created(Ok(created)), t(6));
    assert_eq!(h.state(), &Expired);
    assert_eq!(reply_to(&fx, start), Reply::Start(Err(MotpError::Expired)));
}

#[test]
fn requesting_times_out_and_a_late_creation_is_withdrawn() {
    let (mut h, start) = Harness::requesting();
    let deadline = t(0) + REQUEST_TIMEOUT + REQUEST_GRACE;
    // An early timer is harmless.
    let fx = h.step(Event::DeadlineReached, deadline - Duration::from_millis(1));
    assert!(fx.is_empty());
    let fx = h.step(Event::DeadlineReached, deadline);
    assert_eq!(notified(&fx), [failed(MotpError::Timeout)]);
    assert_eq!(reply_to(&fx, start), Reply::Start(Err(MotpError::Timeout)));
    // The server created it after all: cancel it there.
    let fx = h.step(Event::Created(Ok(created_at(deadline))), deadline);
    assert_eq!(
        requests(&fx),
        [Effect::SendCancel {
            op: None,
            id: "ver_1".to_owned()
        }]
    );
    assert_eq!(h.state(), &failed(MotpError::Timeout));
}

// ---------------------------------------------------------------- clock skew

#[test]
fn a_wrong_device_clock_is_corrected_with_the_server_date() {
    // The device is 10 minutes ahead of the server.
    let (mut h, _) = Harness::requesting();
    let server_now = t(1) - Duration::from_secs(600);
    let mut created = created_at(server_now);
    created.server_date = Some(server_now);
    h.step(Event::Created(Ok(created)), t(1));
    assert_eq!(h.state(), &AwaitingCall, "not expired at once");
    let info = h.machine.info().unwrap();
    // Corrected to the device clock, to within the round trip.
    let expected = t(1) + TTL;
    let error = info
        .expires_at
        .duration_since(expected)
        .unwrap_or_else(|e| e.duration());
    assert!(error <= Duration::from_secs(1), "{error:?}");

    // The device is 10 minutes behind: expiry must not be late.
    let (mut h, _) = Harness::requesting();
    let server_now = t(1) + Duration::from_secs(600);
    h.step(Event::Created(Ok(created_at(server_now))), t(1));
    let info = h.machine.info().unwrap();
    let error = info
        .expires_at
        .duration_since(t(1) + TTL)
        .unwrap_or_else(|e| e.duration());
    assert!(error <= Duration::from_secs(1), "{error:?}");
}

#[test]
fn clocks_that_agree_are_left_alone() {
    let (mut h, _) = Harness::requesting();
    // Date has whole seconds: it may read just before the request was sent.
    let mut created = created_at(t(1));
    created.server_date = Some(t(0) - Duration::from_millis(900));
    h.step(Event::Created(Ok(created)), t(1));
    assert_eq!(h.machine.info().unwrap().expires_at, t(1) + TTL);
    // No Date at all.
    let (mut h, _) = Harness::requesting();
    let mut created = created_at(t(1));
    created.server_date = None;
    h.step(Event::Created(Ok(created)), t(1));
    assert_eq!(h.machine.info().unwrap().expires_at, t(1) + TTL);
}

// ---------------------------------------------------------------- calls

#[test]
fn a_matching_call_is_checked_by_caller_id_and_verifies() {
    let mut h = Harness::awaiting();
    let (op, fx) = h.call(CALL_NATIONAL, t(5), t(5));
    assert_eq!(notified(&fx), [Verifying]);
    assert_eq!(
        requests(&fx),
        [Effect::SendCheck {
            op,
            id: "ver_1".to_owned(),
            request: CheckRequest::with_caller_id(CALL_NATIONAL, Some("GB".to_owned())),
        }]
    );
    assert!(replies(&fx).is_empty(), "answered when the server decides");
    assert_eq!(
        deadline_set(&fx),
        Some(Some(t(5) + REQUEST_TIMEOUT + REQUEST_GRACE))
    );
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: approved("tok"),
        },
        t(6),
    );
    assert_eq!(notified(&fx), [verified("tok")]);
    assert_eq!(
        reply_to(&fx, op),
        Reply::Call(Ok(CallMatch::Verified {
            token: "tok".to_owned()
        }))
    );
    assert_eq!(deadline_set(&fx), Some(None));
}

#[test]
fn other_calls_are_ignored_with_the_matcher_reason() {
    let mut h = Harness::awaiting();
    let (op, fx) = h.call(OTHER_CALL, t(5), t(5));
    match reply_to(&fx, op) {
        Reply::Call(Ok(CallMatch::Ignored {
            reason: IgnoredCall::NotMatching { rejection },
        })) => assert_eq!(rejection, MatchRejection::WrongPrefix),
        other => panic!("{other:?}"),
    }
    assert!(notified(&fx).is_empty());
    assert!(requests(&fx).is_empty());
    assert_eq!(h.state(), &AwaitingCall);
    for withheld in ["", "-1", "Private"] {
        let (op, fx) = h.call(withheld, t(5), t(5));
        assert!(matches!(
            reply_to(&fx, op),
            Reply::Call(Ok(CallMatch::Ignored {
                reason: IgnoredCall::NotMatching { .. }
            }))
        ));
    }
    assert_eq!(h.state(), &AwaitingCall);
}

#[test]
fn calls_observed_before_the_request_are_ignored() {
    let mut h = Harness::awaiting();
    // The request was sent at t(0).
    let (op, fx) = h.call(CALL, t(0) - Duration::from_millis(1), t(5));
    assert_eq!(reply_to(&fx, op), ignored(IgnoredCall::BeforeRequest));
    assert_eq!(h.state(), &AwaitingCall);
    // Observed at the very instant the request was sent: it counts.
    let (_, fx) = h.call(CALL, t(0), t(5));
    assert_eq!(notified(&fx), [Verifying]);
}

#[test]
fn calls_observed_after_expiry_are_ignored() {
    let mut h = Harness::manual_entry();
    let expires_at = t(1) + TTL;
    // Reported before the machine noticed the expiry, but observed after it.
    let (op, fx) = h.call(CALL, expires_at, expires_at - Duration::from_secs(1));
    assert_eq!(reply_to(&fx, op), ignored(IgnoredCall::AfterExpiry));
    assert!(requests(&fx).is_empty());
    // Reported after the expiry: the verification is over.
    let (op, fx) = h.call(CALL, expires_at - Duration::from_secs(2), expires_at);
    assert_eq!(notified(&fx), [Expired]);
    assert_eq!(reply_to(&fx, op), ignored(IgnoredCall::NotAwaitingCall));
}

#[test]
fn calls_before_creation_are_not_awaited() {
    let mut h = Harness::new();
    let (op, fx) = h.call(CALL, t(0), t(0));
    assert_eq!(reply_to(&fx, op), ignored(IgnoredCall::NotAwaitingCall));
    let (mut h, _) = Harness::requesting();
    let (op, fx) = h.call(CALL, t(0), t(0));
    assert_eq!(reply_to(&fx, op), ignored(IgnoredCall::NotAwaitingCall));
    assert_eq!(h.state(), &Requesting);
}

#[test]
fn a_call_arriving_after_the_call_timeout_still_verifies() {
    let mut h = Harness::manual_entry();
    let (op, fx) = h.call(CALL, t(40), t(40));
    assert_eq!(notified(&fx), [Verifying]);
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: approved("tok"),
        },
        t(41),
    );
    assert_eq!(h.state(), &verified("tok"));
    assert!(matches!(
        reply_to(&fx, op),
        Reply::Call(Ok(CallMatch::Verified { .. }))
    ));
}

#[test]
fn a_wrong_caller_id_returns_to_awaiting_call_and_is_not_checked_twice() {
    let (mut h, op) = Harness::verifying();
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: Err(MotpError::WrongCode { attempts_left: 2 }),
        },
        t(6),
    );
    assert_eq!(notified(&fx), [AwaitingCall]);
    assert_eq!(
        reply_to(&fx, op),
        Reply::Call(Err(MotpError::WrongCode { attempts_left: 2 }))
    );
    assert_eq!(h.machine.info().unwrap().attempts_left, 2);
    // The call log reports the same call again: no second check.
    let (op, fx) = h.call(CALL, t(5), t(7));
    assert_eq!(reply_to(&fx, op), ignored(IgnoredCall::AlreadyRejected));
    assert!(requests(&fx).is_empty());
    // Typing the refused code is refused locally, without spending an attempt.
    let (op, fx) = h.code("123", t(8));
    assert_eq!(
        reply_to(&fx, op),
        Reply::Code(Err(MotpError::WrongCode { attempts_left: 2 }))
    );
    assert!(requests(&fx).is_empty());
    // Another code is checked.
    let (_, fx) = h.code("124", t(8));
    assert_eq!(notified(&fx), [Verifying]);
}

#[test]
fn a_wrong_code_after_the_call_timeout_goes_to_manual_entry() {
    let (mut h, op) = Harness::verifying();
    let after = t(1) + CALL_TIMEOUT + Duration::from_secs(1);
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: Err(MotpError::WrongCode { attempts_left: 1 }),
        },
        after,
    );
    assert_eq!(notified(&fx), [manual(ManualEntryReason::CallTimeout)]);
}

#[test]
fn the_last_wrong_code_expires_the_verification() {
    let (mut h, op) = Harness::verifying();
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: Err(MotpError::WrongCode { attempts_left: 0 }),
        },
        t(6),
    );
    assert_eq!(notified(&fx), [Expired]);
    assert_eq!(
        reply_to(&fx, op),
        Reply::Call(Err(MotpError::WrongCode { attempts_left: 0 }))
    );
}

#[test]
fn check_errors_end_or_resume_by_their_kind() {
    let cases = [
        (MotpError::Expired, Expired),
        (MotpError::AlreadyUsed, failed(MotpError::AlreadyUsed)),
        (MotpError::NotFound, failed(MotpError::NotFound)),
        (MotpError::Unauthorized, failed(MotpError::Unauthorized)),
        (MotpError::Timeout, AwaitingCall),
        (
            MotpError::Network {
                reason: "down".to_owned(),
            },
            AwaitingCall,
        ),
        (MotpError::Server { status: 503 }, AwaitingCall),
        (
            MotpError::RateLimited {
                retry_after_secs: 5,
            },
            AwaitingCall,
        ),
    ];
    for (error, next) in cases {
        let (mut h, op) = Harness::verifying();
        let fx = h.step(
            Event::CheckFinished {
                op,
                result: Err(error.clone()),
            },
            t(6),
        );
        assert_eq!(notified(&fx), std::slice::from_ref(&next), "{error:?}");
        assert_eq!(reply_to(&fx, op), Reply::Call(Err(error.clone())));
        if next == AwaitingCall {
            // A failure that says nothing about the code: the same call may
            // be reported and checked again.
            let (_, fx) = h.call(CALL, t(5), t(7));
            assert_eq!(notified(&fx), [Verifying], "{error:?}");
        }
    }
}

#[test]
fn verifying_refuses_other_work_until_the_server_answers() {
    let mut h = Harness::manual_entry();
    let now = t(1) + RESEND_AFTER + Duration::from_secs(1);
    h.call(CALL, now, now);
    assert_eq!(h.state(), &Verifying);
    // The same call again (from the call log, say) is being checked already.
    let (op, fx) = h.call(CALL, now, now);
    assert_eq!(reply_to(&fx, op), ignored(IgnoredCall::AlreadyChecking));
    let (op, fx) = h.code("123", now);
    assert!(matches!(
        reply_to(&fx, op),
        Reply::Code(Err(MotpError::InvalidState { .. }))
    ));
    let (op, fx) = h.resend(now);
    assert!(matches!(
        reply_to(&fx, op),
        Reply::Resend(Err(MotpError::InvalidState { .. }))
    ));
    assert_eq!(h.state(), &Verifying);
}

#[test]
fn a_check_without_answer_times_out_and_a_late_approval_still_counts() {
    let (mut h, op) = Harness::verifying();
    let deadline = t(5) + REQUEST_TIMEOUT + REQUEST_GRACE;
    let fx = h.step(Event::DeadlineReached, deadline);
    assert_eq!(notified(&fx), [AwaitingCall]);
    assert_eq!(reply_to(&fx, op), Reply::Call(Err(MotpError::Timeout)));
    // A late refusal is ignored…
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: Err(MotpError::WrongCode { attempts_left: 2 }),
        },
        deadline,
    );
    assert!(fx.is_empty());
    // …but a late approval is an approval: the code is spent either way.
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: approved("late"),
        },
        deadline,
    );
    assert_eq!(notified(&fx), [verified("late")]);
}

#[test]
fn a_check_timing_out_after_the_call_timeout_goes_to_manual_entry() {
    let mut h = Harness::awaiting();
    let late = t(1) + CALL_TIMEOUT - Duration::from_secs(2);
    let (op, _) = h.call(CALL, late, late);
    let fx = h.step(
        Event::DeadlineReached,
        late + REQUEST_TIMEOUT + REQUEST_GRACE,
    );
    assert_eq!(notified(&fx), [manual(ManualEntryReason::CallTimeout)]);
    assert_eq!(reply_to(&fx, op), Reply::Call(Err(MotpError::Timeout)));
}

// ---------------------------------------------------------------- manual entry

#[test]
fn the_call_timeout_switches_to_manual_entry() {
    let mut h = Harness::awaiting();
    let fx = h.step(
        Event::DeadlineReached,
        t(1) + CALL_TIMEOUT - Duration::from_secs(1),
    );
    assert!(fx.is_empty(), "early timers do nothing");
    let fx = h.step(Event::DeadlineReached, t(1) + CALL_TIMEOUT);
    assert_eq!(notified(&fx), [manual(ManualEntryReason::CallTimeout)]);
    assert_eq!(deadline_set(&fx), Some(Some(t(1) + TTL)));
}

#[test]
fn a_typed_code_verifies() {
    let mut h = Harness::manual_entry();
    let (op, fx) = h.code(" 1 2-3 ", t(40));
    assert_eq!(notified(&fx), [Verifying]);
    assert_eq!(
        requests(&fx),
        [Effect::SendCheck {
            op,
            id: "ver_1".to_owned(),
            request: CheckRequest::with_code("123"),
        }]
    );
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: approved("tok"),
        },
        t(41),
    );
    assert_eq!(reply_to(&fx, op), Reply::Code(Ok("tok".to_owned())));
    assert_eq!(h.state(), &verified("tok"));
}

#[test]
fn a_code_may_be_typed_while_awaiting_the_call() {
    let mut h = Harness::awaiting();
    let (_, fx) = h.code("123", t(5));
    assert_eq!(notified(&fx), [Verifying]);
}

#[test]
fn malformed_codes_are_refused_without_a_request() {
    let mut h = Harness::manual_entry();
    for code in ["", "12", "1234", "12a", "١٢٣", "+123"] {
        let (op, fx) = h.code(code, t(40));
        assert!(
            matches!(
                reply_to(&fx, op),
                Reply::Code(Err(MotpError::InvalidInput { .. }))
            ),
            "{code:?}"
        );
        assert!(requests(&fx).is_empty());
    }
    assert_eq!(h.state(), &manual(ManualEntryReason::CallTimeout));
}

#[test]
fn a_wrong_typed_code_returns_to_manual_entry() {
    let mut h = Harness::manual_entry();
    let (op, _) = h.code("999", t(40));
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: Err(MotpError::WrongCode { attempts_left: 2 }),
        },
        t(41),
    );
    assert_eq!(notified(&fx), [manual(ManualEntryReason::CallTimeout)]);
    assert_eq!(
        reply_to(&fx, op),
        Reply::Code(Err(MotpError::WrongCode { attempts_left: 2 }))
    );
}

fn visibility(visibility: CallVisibility) -> Event {
    Event::CallVisibilityChanged { visibility }
}

#[test]
fn losing_sight_of_calls_switches_to_manual_entry_and_back() {
    let mut h = Harness::awaiting();
    let fx = h.step(visibility(CallVisibility::PermissionMissing), t(2));
    let reason = ManualEntryReason::PermissionMissing;
    assert_eq!(notified(&fx), [manual(reason)]);
    assert_eq!(deadline_set(&fx), Some(Some(t(1) + TTL)));
    // The same visibility again changes nothing.
    let fx = h.step(visibility(CallVisibility::PermissionMissing), t(3));
    assert!(fx.is_empty());
    // Another one is reported.
    let fx = h.step(visibility(CallVisibility::Hidden), t(3));
    assert_eq!(notified(&fx), [manual(ManualEntryReason::CallsUnreadable)]);
    // The permission granted again: back to waiting for the call.
    let fx = h.step(visibility(CallVisibility::Numbers), t(4));
    assert_eq!(notified(&fx), [AwaitingCall]);
    // Granted after the call timeout: typing it is.
    let fx = h.step(visibility(CallVisibility::PermissionMissing), t(5));
    assert_eq!(notified(&fx), [manual(reason)]);
    let fx = h.step(visibility(CallVisibility::Numbers), t(1) + CALL_TIMEOUT);
    assert_eq!(notified(&fx), [manual(ManualEntryReason::CallTimeout)]);
    // Seeing numbers does not undo a call timeout.
    let fx = h.step(visibility(CallVisibility::Numbers), t(1) + CALL_TIMEOUT);
    assert!(fx.is_empty());
}

#[test]
fn without_visibility_the_code_is_typed_from_the_start() {
    for (seen, reason) in [
        (
            CallVisibility::PermissionMissing,
            ManualEntryReason::PermissionMissing,
        ),
        (CallVisibility::Hidden, ManualEntryReason::CallsUnreadable),
    ] {
        let mut h = Harness::new_with(seen);
        let start = h.op();
        let phone_number = "+447700900123".to_owned();
        h.step(
            Event::Start {
                op: start,
                phone_number,
            },
            t(0),
        );
        let fx = h.step(Event::Created(Ok(created_at(t(1)))), t(1));
        assert_eq!(notified(&fx), [manual(reason)]);
        assert_eq!(reply_to(&fx, start), Reply::Start(Ok(())));
    }
}

#[test]
fn a_visibility_change_before_creation_decides_the_first_wait() {
    let (mut h, start) = Harness::requesting();
    let fx = h.step(visibility(CallVisibility::Hidden), t(0));
    assert!(fx.is_empty());
    let fx = h.step(Event::Created(Ok(created_at(t(1)))), t(1));
    assert_eq!(notified(&fx), [manual(ManualEntryReason::CallsUnreadable)]);
    assert_eq!(reply_to(&fx, start), Reply::Start(Ok(())));
}

#[test]
fn a_visibility_change_while_verifying_takes_effect_after_the_check() {
    let (mut h, op) = Harness::verifying();
    let reason = ManualEntryReason::PermissionMissing;
    let fx = h.step(visibility(CallVisibility::PermissionMissing), t(6));
    assert!(fx.is_empty());
    assert_eq!(h.state(), &Verifying);
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: Err(MotpError::WrongCode { attempts_left: 2 }),
        },
        t(7),
    );
    assert_eq!(notified(&fx), [manual(reason)]);
}

// ---------------------------------------------------------------- expiry

#[test]
fn every_waiting_state_expires() {
    let expires_at = t(1) + TTL;
    // ManualEntry.
    let mut h = Harness::manual_entry();
    let fx = h.step(Event::DeadlineReached, expires_at);
    assert_eq!(notified(&fx), [Expired]);
    assert_eq!(deadline_set(&fx), Some(None));
    // Verifying: the pending check is answered.
    let mut h = Harness::manual_entry();
    let check_at = expires_at - Duration::from_secs(2);
    let (op, _) = h.code("123", check_at);
    let fx = h.step(Event::DeadlineReached, expires_at);
    assert_eq!(notified(&fx), [Expired]);
    assert_eq!(reply_to(&fx, op), Reply::Code(Err(MotpError::Expired)));
    // AwaitingCall, when the verification lives shorter than the call timeout.
    let (mut h, _) = Harness::requesting();
    let mut created = created_at(t(1));
    created.value.expires_at = Timestamp(t(9));
    let fx = h.step(Event::Created(Ok(created)), t(1));
    assert_eq!(deadline_set(&fx), Some(Some(t(9))));
    let fx = h.step(Event::DeadlineReached, t(9));
    assert_eq!(notified(&fx), [Expired]);
}

#[test]
fn expiry_is_noticed_on_any_event_even_without_the_timer() {
    let mut h = Harness::awaiting();
    let (op, fx) = h.code("123", t(1) + TTL + Duration::from_secs(5));
    // The state passes through ManualEntry? No: expiry comes first.
    assert_eq!(notified(&fx), [Expired]);
    assert_eq!(reply_to(&fx, op), Reply::Code(Err(MotpError::Expired)));
}

// ---------------------------------------------------------------- resend

#[test]
fn resend_before_resend_after_is_refused_locally() {
    let mut h = Harness::awaiting();
    let (op, fx) = h.resend(t(1) + RESEND_AFTER - Duration::from_millis(1500));
    assert_eq!(
        reply_to(&fx, op),
        Reply::Resend(Err(MotpError::RateLimited {
            retry_after_secs: 2
        }))
    );
    assert!(requests(&fx).is_empty());
}

#[test]
fn resend_renews_the_verification_and_awaits_the_new_call() {
    let mut h = Harness::manual_entry();
    // A wrong call first, so there is a refused code to forget.
    let (op, _) = h.call(CALL, t(40), t(40));
    h.step(
        Event::CheckFinished {
            op,
            result: Err(MotpError::WrongCode { attempts_left: 2 }),
        },
        t(41),
    );
    let sent = t(1) + RESEND_AFTER;
    let (op, fx) = h.resend(sent);
    assert_eq!(
        requests(&fx),
        [Effect::SendResend {
            op,
            id: "ver_1".to_owned()
        }]
    );
    assert!(notified(&fx).is_empty(), "the state waits for the answer");
    // The resend's own deadline comes before the expiry.
    assert_eq!(
        deadline_set(&fx),
        Some(Some(sent + REQUEST_TIMEOUT + REQUEST_GRACE))
    );
    // A second resend while the first is in flight is refused.
    let (op2, fx) = h.resend(sent);
    assert!(matches!(
        reply_to(&fx, op2),
        Reply::Resend(Err(MotpError::InvalidState { .. }))
    ));
    let mut renewed = created_at(sent + Duration::from_secs(1));
    renewed.value.attempts_left = 3;
    let answered = sent + Duration::from_secs(1);
    let fx = h.step(
        Event::ResendFinished {
            op,
            result: Ok(renewed),
        },
        answered,
    );
    assert_eq!(notified(&fx), [AwaitingCall]);
    assert_eq!(reply_to(&fx, op), Reply::Resend(Ok(())));
    assert_eq!(deadline_set(&fx), Some(Some(answered + CALL_TIMEOUT)));
    let info = h.machine.info().unwrap();
    assert_eq!(info.attempts_left, 3);
    assert_eq!(info.expires_at, answered + TTL);
    // The old call no longer counts, the number is checked again if it rings
    // again after the resend.
    let (op, fx) = h.call(CALL, t(40), answered);
    assert_eq!(reply_to(&fx, op), ignored(IgnoredCall::BeforeRequest));
    let (_, fx) = h.call(CALL, answered, answered);
    assert_eq!(notified(&fx), [Verifying]);
}

#[test]
fn resend_keeps_manual_entry_when_calls_cannot_be_read() {
    let mut h = Harness::awaiting();
    let reason = ManualEntryReason::CallsUnreadable;
    h.step(visibility(CallVisibility::Hidden), t(2));
    let sent = t(1) + RESEND_AFTER;
    let (op, _) = h.resend(sent);
    let fx = h.step(
        Event::ResendFinished {
            op,
            result: Ok(created_at(sent)),
        },
        sent,
    );
    // Re-entered, so the app can reset its countdown.
    assert_eq!(notified(&fx), [manual(reason)]);
}

#[test]
fn resend_errors_keep_or_end_the_verification_by_kind() {
    let cases = [
        (
            MotpError::RateLimited {
                retry_after_secs: 9,
            },
            None,
        ),
        (MotpError::Timeout, None),
        (MotpError::Expired, Some(Expired)),
        (MotpError::NotFound, Some(failed(MotpError::NotFound))),
    ];
    for (error, end) in cases {
        let mut h = Harness::manual_entry();
        let sent = t(1) + RESEND_AFTER;
        let (op, _) = h.resend(sent);
        let fx = h.step(
            Event::ResendFinished {
                op,
                result: Err(error.clone()),
            },
            sent,
        );
        assert_eq!(reply_to(&fx, op), Reply::Resend(Err(error.clone())));
        match end {
            None => {
                assert!(notified(&fx).is_empty());
                assert_eq!(h.state(), &manual(ManualEntryReason::CallTimeout));
            }
            Some(end) => assert_eq!(notified(&fx), [end]),
        }
    }
}

#[test]
fn a_resend_without_answer_times_out() {
    let mut h = Harness::manual_entry();
    let sent = t(1) + RESEND_AFTER;
    let (op, fx) = h.resend(sent);
    let deadline = sent + REQUEST_TIMEOUT + REQUEST_GRACE;
    assert_eq!(deadline_set(&fx), Some(Some(deadline)));
    let fx = h.step(Event::DeadlineReached, deadline);
    assert_eq!(reply_to(&fx, op), Reply::Resend(Err(MotpError::Timeout)));
    assert_eq!(h.state(), &manual(ManualEntryReason::CallTimeout));
    // A late answer is ignored; another resend may be tried.
    let fx = h.step(
        Event::ResendFinished {
            op,
            result: Ok(created_at(deadline)),
        },
        deadline,
    );
    assert!(fx.is_empty());
    let (_, fx) = h.resend(deadline);
    assert_eq!(requests(&fx).len(), 1);
}

#[test]
fn a_check_answered_after_a_resend_does_not_blacklist_the_new_code() {
    let mut h = Harness::awaiting();
    let sent = t(1) + RESEND_AFTER;
    let (resend, _) = h.resend(sent);
    let (check, _) = h.code("123", sent);
    h.step(
        Event::ResendFinished {
            op: resend,
            result: Ok(created_at(sent)),
        },
        sent,
    );
    assert_eq!(h.state(), &Verifying);
    let fx = h.step(
        Event::CheckFinished {
            op: check,
            result: Err(MotpError::WrongCode { attempts_left: 2 }),
        },
        sent,
    );
    // Back to awaiting the new call (it was ManualEntry-less).
    assert_eq!(notified(&fx), [AwaitingCall]);
    // "123" may be the new code: it is checked, not refused locally.
    let (_, fx) = h.code("123", sent);
    assert_eq!(requests(&fx).len(), 1);
}

// ---------------------------------------------------------------- cancel

#[test]
fn cancel_from_idle() {
    let mut h = Harness::new();
    let (op, fx) = h.cancel(t(0));
    assert_eq!(notified(&fx), [Canceled]);
    assert_eq!(reply_to(&fx, op), Reply::Cancel(Ok(())));
    assert!(requests(&fx).is_empty());
}

#[test]
fn cancel_while_requesting_withdraws_the_late_creation() {
    let (mut h, start) = Harness::requesting();
    let (op, fx) = h.cancel(t(0));
    assert_eq!(notified(&fx), [Canceled]);
    assert_eq!(reply_to(&fx, op), Reply::Cancel(Ok(())));
    assert_eq!(reply_to(&fx, start), Reply::Start(Err(MotpError::Canceled)));
    assert_eq!(deadline_set(&fx), Some(None));
    let fx = h.step(Event::Created(Ok(created_at(t(1)))), t(1));
    assert_eq!(
        requests(&fx),
        [Effect::SendCancel {
            op: None,
            id: "ver_1".to_owned()
        }]
    );
    assert_eq!(h.state(), &Canceled);
}

#[test]
fn cancel_while_waiting_or_verifying_tells_the_server() {
    let machines: [(&str, MakeHarness, SystemTime); 3] = [
        ("awaiting", Harness::awaiting, t(10)),
        ("manual", Harness::manual_entry, t(50)),
        ("verifying", || Harness::verifying().0, t(10)),
    ];
    for (name, make, now) in machines {
        let mut h = make();
        let was_verifying = h.state() == &Verifying;
        let (op, fx) = h.cancel(now);
        assert_eq!(notified(&fx), [Canceled], "{name}");
        assert_eq!(
            requests(&fx),
            [Effect::SendCancel {
                op: Some(op),
                id: "ver_1".to_owned()
            }],
            "{name}"
        );
        if was_verifying {
            // The check's caller learns of the cancel.
            assert!(replies(&fx)
                .iter()
                .any(|(_, r)| *r == Reply::Call(Err(MotpError::Canceled))));
        }
        assert!(
            replies(&fx).iter().all(|(o, _)| *o != op),
            "{name}: answered when the server is told"
        );
        let fx = h.step(
            Event::CancelFinished {
                op: Some(op),
                result: Ok(()),
            },
            now,
        );
        assert_eq!(reply_to(&fx, op), Reply::Cancel(Ok(())));
        // Later answers to earlier requests change nothing.
        let fx = h.step(
            Event::CheckFinished {
                op: OpId(999),
                result: approved("tok"),
            },
            now,
        );
        assert!(fx.is_empty(), "{name}");
        assert_eq!(h.state(), &Canceled);
    }
}

#[test]
fn cancel_reports_whether_the_server_was_told() {
    for (result, expected) in [
        (Err(MotpError::NotFound), Ok(())),
        (Err(MotpError::Expired), Ok(())),
        (Err(MotpError::Timeout), Err(MotpError::Timeout)),
    ] {
        let mut h = Harness::awaiting();
        let (op, _) = h.cancel(t(5));
        let fx = h.step(
            Event::CancelFinished {
                op: Some(op),
                result,
            },
            t(6),
        );
        assert_eq!(reply_to(&fx, op), Reply::Cancel(expected));
        assert_eq!(h.state(), &Canceled);
    }
}

#[test]
fn cancel_in_a_final_state_changes_nothing() {
    let finals: [fn() -> Harness; 4] = [
        || {
            let (mut h, op) = Harness::verifying();
            h.step(
                Event::CheckFinished {
                    op,
                    result: approved("tok"),
                },
                t(6),
            );
            h
        },
        || {
            let (mut h, _) = Harness::requesting();
            h.step(Event::Created(Err(MotpError::Unauthorized)), t(1));
            h
        },
        || {
            let mut h = Harness::awaiting();
            h.step(Event::DeadlineReached, t(1) + TTL);
            h
        },
        || {
            let mut h = Harness::awaiting();
            h.cancel(t(2));
            h
        },
    ];
    for make in finals {
        let mut h = make();
        let before = h.state().clone();
        assert!(before.is_final());
        let (op, fx) = h.cancel(t(400));
        assert_eq!(
            fx,
            [Effect::Reply {
                op,
                reply: Reply::Cancel(Ok(()))
            }]
        );
        assert_eq!(h.state(), &before);
    }
}

#[test]
fn the_abandoning_sdk_cancels_without_an_operation() {
    let mut h = Harness::awaiting();
    let fx = h.step(Event::Cancel { op: None }, t(5));
    assert_eq!(notified(&fx), [Canceled]);
    assert_eq!(
        requests(&fx),
        [Effect::SendCancel {
            op: None,
            id: "ver_1".to_owned()
        }]
    );
    let fx = h.step(
        Event::CancelFinished {
            op: None,
            result: Ok(()),
        },
        t(6),
    );
    assert!(fx.is_empty());
}

// ---------------------------------------------------------------- final states

#[test]
fn operations_after_the_end_say_why() {
    let mut h = Harness::awaiting();
    h.step(Event::DeadlineReached, t(1) + TTL);
    let now = t(1) + TTL;
    let (op, fx) = h.code("123", now);
    assert_eq!(reply_to(&fx, op), Reply::Code(Err(MotpError::Expired)));
    let (op, fx) = h.resend(now);
    assert_eq!(reply_to(&fx, op), Reply::Resend(Err(MotpError::Expired)));
    let (op, fx) = h.call(CALL, now, now);
    assert_eq!(reply_to(&fx, op), ignored(IgnoredCall::NotAwaitingCall));
    let fx = h.step(visibility(CallVisibility::PermissionMissing), now);
    assert!(fx.is_empty());

    let (mut h, op) = Harness::verifying();
    h.step(
        Event::CheckFinished {
            op,
            result: approved("tok"),
        },
        t(6),
    );
    let (op, fx) = h.code("123", t(7));
    assert!(matches!(
        reply_to(&fx, op),
        Reply::Code(Err(MotpError::InvalidState { .. }))
    ));
    let (op, fx) = h.cancel(t(7));
    assert_eq!(reply_to(&fx, op), Reply::Cancel(Ok(())));
    assert_eq!(h.state(), &verified("tok"));
}

#[test]
fn state_names_and_finality() {
    let states = [
        (Idle, "idle", false),
        (Requesting, "requesting", false),
        (AwaitingCall, "awaiting_call", false),
        (
            manual(ManualEntryReason::CallTimeout),
            "manual_entry",
            false,
        ),
        (Verifying, "verifying", false),
        (verified("t"), "verified", true),
        (failed(MotpError::Timeout), "failed", true),
        (Expired, "expired", true),
        (Canceled, "canceled", true),
    ];
    for (state, name, is_final) in states {
        assert_eq!(state.name(), name);
        assert_eq!(state.is_final(), is_final, "{name}");
    }
    assert_eq!(
        ManualEntryReason::CallsUnreadable.as_str(),
        "calls_unreadable"
    );
    assert_eq!(IgnoredCall::BeforeRequest.as_str(), "before_request");
}

// Which sighting of a call counts: the core decides, not the shells.

/// The checks sent among `effects`, as (op, caller ID or code).
fn checks_sent(effects: &[Effect]) -> Vec<(OpId, CheckRequest)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::SendCheck { op, request, .. } => Some((*op, request.clone())),
            _ => None,
        })
        .collect()
}

fn network_down() -> MotpError {
    MotpError::Network {
        reason: "connection reset".to_owned(),
    }
}

#[test]
fn a_network_error_then_the_call_log_row_of_the_same_call_verifies() {
    // The ringing broadcast is checked, and the check fails in transit.
    let (mut h, ringing) = Harness::verifying();
    let fx = h.step(
        Event::CheckFinished {
            op: ringing,
            result: Err(network_down()),
        },
        t(6),
    );
    assert_eq!(reply_to(&fx, ringing), Reply::Call(Err(network_down())));
    assert_eq!(notified(&fx), [AwaitingCall]);
    // The call-log row of the same call, in another presentation, is not a
    // repeat to drop: it is checked at once.
    let (row, fx) = h.call(CALL_NATIONAL, t(5), t(8));
    assert_eq!(notified(&fx), [Verifying]);
    let sent = checks_sent(&fx);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, row);
    assert_eq!(sent[0].1.caller_id.as_deref(), Some(CALL_NATIONAL));
    let fx = h.step(
        Event::CheckFinished {
            op: row,
            result: approved("tok"),
        },
        t(9),
    );
    assert_eq!(notified(&fx), [verified("tok")]);
    assert_eq!(
        reply_to(&fx, row),
        Reply::Call(Ok(CallMatch::Verified {
            token: "tok".to_owned()
        }))
    );
}

#[test]
fn a_check_that_failed_in_transit_is_retried_with_backoff() {
    let (mut h, op) = Harness::verifying();
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: Err(MotpError::Server { status: 503 }),
        },
        t(6),
    );
    // The first retry one second later is the machine's next deadline.
    assert_eq!(deadline_set(&fx), Some(Some(t(7))));
    let fx = h.step(Event::DeadlineReached, t(7));
    assert_eq!(notified(&fx), [Verifying]);
    let sent = checks_sent(&fx);
    assert_eq!(sent.len(), 1);
    let (retry, request) = &sent[0];
    assert!(retry.is_internal(), "nobody waits for a retry's reply");
    assert_eq!(request.caller_id.as_deref(), Some(CALL));
    // It fails again: the next wait is two seconds.
    let fx = h.step(
        Event::CheckFinished {
            op: *retry,
            result: Err(network_down()),
        },
        t(8),
    );
    assert!(replies(&fx).is_empty());
    assert_eq!(notified(&fx), [AwaitingCall]);
    assert_eq!(deadline_set(&fx), Some(Some(t(10))));
    assert!(checks_sent(&h.step(Event::DeadlineReached, t(9))).is_empty());
    let fx = h.step(Event::DeadlineReached, t(10));
    let (retry, _) = checks_sent(&fx)[0].clone();
    let fx = h.step(
        Event::CheckFinished {
            op: retry,
            result: approved("tok"),
        },
        t(11),
    );
    assert_eq!(notified(&fx), [verified("tok")]);
    assert!(replies(&fx).is_empty());
}

#[test]
fn a_check_timing_out_is_retried_and_its_late_approval_still_counts() {
    let (mut h, op) = Harness::verifying();
    let gave_up = t(5) + REQUEST_TIMEOUT + REQUEST_GRACE;
    let fx = h.step(Event::DeadlineReached, gave_up);
    assert_eq!(reply_to(&fx, op), Reply::Call(Err(MotpError::Timeout)));
    assert_eq!(notified(&fx), [AwaitingCall]);
    let fx = h.step(Event::DeadlineReached, gave_up + Duration::from_secs(1));
    assert_eq!(notified(&fx), [Verifying]);
    // The first check's approval arrives late: the verification is done.
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: approved("tok"),
        },
        gave_up + Duration::from_secs(2),
    );
    assert_eq!(notified(&fx), [verified("tok")]);
}

#[test]
fn a_wrong_code_is_never_retried_nor_checked_again() {
    let (mut h, op) = Harness::verifying();
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: Err(MotpError::WrongCode { attempts_left: 2 }),
        },
        t(6),
    );
    // The next deadline is the call timeout's, not a retry.
    assert_eq!(deadline_set(&fx), Some(Some(t(1) + CALL_TIMEOUT)));
    let (op, fx) = h.call(CALL_NATIONAL, t(5), t(7));
    assert_eq!(reply_to(&fx, op), ignored(IgnoredCall::AlreadyRejected));
    assert!(checks_sent(&fx).is_empty());
}

#[test]
fn retries_stop_when_the_verification_expires() {
    let (mut h, op) = Harness::verifying();
    h.step(
        Event::CheckFinished {
            op,
            result: Err(network_down()),
        },
        t(6),
    );
    // Every retry fails until the verification expires.
    let mut now = t(6);
    while h.state() != &Expired {
        now = h.machine.deadline().expect("a deadline while waiting");
        let fx = h.step(Event::DeadlineReached, now);
        for (retry, _) in checks_sent(&fx) {
            h.step(
                Event::CheckFinished {
                    op: retry,
                    result: Err(network_down()),
                },
                now,
            );
        }
    }
    assert_eq!(now, t(1) + TTL);
    assert_eq!(h.machine.deadline(), None);
}

#[test]
fn a_call_seen_while_a_typed_code_is_checked_follows_it() {
    let mut h = Harness::manual_entry();
    let now = t(1) + CALL_TIMEOUT;
    let (typed, _) = h.code("999", now);
    assert_eq!(h.state(), &Verifying);
    // The call arrives late, while the typed code is being checked.
    let (call, fx) = h.call(CALL, now, now);
    assert!(
        replies(&fx).is_empty(),
        "the call waits for the typed check"
    );
    assert!(checks_sent(&fx).is_empty());
    // The typed code was wrong: the call is checked next, on the same step.
    let fx = h.step(
        Event::CheckFinished {
            op: typed,
            result: Err(MotpError::WrongCode { attempts_left: 2 }),
        },
        now,
    );
    assert_eq!(
        notified(&fx),
        [manual(ManualEntryReason::CallTimeout), Verifying]
    );
    let sent = checks_sent(&fx);
    assert_eq!(sent[0].0, call);
    assert_eq!(sent[0].1.caller_id.as_deref(), Some(CALL));
}

#[test]
fn a_call_waiting_behind_an_approved_check_is_answered() {
    let mut h = Harness::manual_entry();
    let now = t(1) + CALL_TIMEOUT;
    let (typed, _) = h.code("999", now);
    let (call, _) = h.call(CALL, now, now);
    let fx = h.step(
        Event::CheckFinished {
            op: typed,
            result: approved("tok"),
        },
        now,
    );
    assert_eq!(notified(&fx), [verified("tok")]);
    assert_eq!(reply_to(&fx, call), ignored(IgnoredCall::NotAwaitingCall));
    assert!(checks_sent(&fx).is_empty());
}

#[test]
fn a_typed_code_the_server_refused_makes_its_call_a_repeat() {
    let mut h = Harness::manual_entry();
    let now = t(1) + CALL_TIMEOUT;
    let (typed, _) = h.code("123", now);
    h.step(
        Event::CheckFinished {
            op: typed,
            result: Err(MotpError::WrongCode { attempts_left: 2 }),
        },
        now,
    );
    let (op, fx) = h.call(CALL, now, now);
    assert_eq!(reply_to(&fx, op), ignored(IgnoredCall::AlreadyRejected));
}

#[test]
fn a_typed_code_that_failed_in_transit_is_not_retried_behind_the_users_back() {
    let mut h = Harness::manual_entry();
    let now = t(1) + CALL_TIMEOUT;
    let (typed, _) = h.code("123", now);
    let fx = h.step(
        Event::CheckFinished {
            op: typed,
            result: Err(network_down()),
        },
        now,
    );
    assert_eq!(reply_to(&fx, typed), Reply::Code(Err(network_down())));
    // The next deadline is expiry's, not a retry.
    assert_eq!(deadline_set(&fx), Some(Some(t(1) + TTL)));
    // The user may type it again at once.
    let (_, fx) = h.code("123", now);
    assert_eq!(notified(&fx), [Verifying]);
}

// ------------------------------------------- the call, as the server sees it

/// The server's view of the verification created at `t(1)`, now `status`.
fn server_says(status: VerificationStatus, reason: Option<&str>, generation: u32) -> Event {
    let mut verification = created_at(t(1)).value;
    verification.status = status;
    verification.failure_reason = reason.map(str::to_owned);
    Event::ServerUpdate {
        generation,
        verification,
    }
}

fn told(effects: &[Effect]) -> Vec<CallEvent> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Tell(event) => Some(event.clone()),
            _ => None,
        })
        .collect()
}

fn follows(effects: &[Effect]) -> Vec<Effect> {
    effects
        .iter()
        .filter(|e| matches!(e, Effect::Follow { .. } | Effect::StopFollowing))
        .cloned()
        .collect()
}

fn reported(effects: &[Effect]) -> Vec<Observation> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::SendReport { id, observation } => {
                assert_eq!(id, "ver_1");
                Some(*observation)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn the_server_is_followed_from_creation_until_the_end() {
    let (mut h, _) = Harness::requesting();
    let fx = h.step(Event::Created(Ok(created_at(t(1)))), t(1));
    assert_eq!(
        follows(&fx),
        [Effect::Follow {
            id: "ver_1".to_owned(),
            generation: 0
        }]
    );
    let (_, fx) = h.cancel(t(3));
    assert_eq!(follows(&fx), [Effect::StopFollowing]);
    // Canceled while waiting for a call the phone never saw.
    assert_eq!(reported(&fx), [Observation::CallNotSeen]);
}

#[test]
fn a_failed_call_moves_to_manual_entry_at_once_with_the_reason() {
    let mut h = Harness::awaiting();
    let fx = h.step(server_says(VerificationStatus::Ringing, None, 0), t(2));
    assert_eq!(told(&fx), [CallEvent::Ringing]);
    assert!(notified(&fx).is_empty());
    let fx = h.step(
        server_says(VerificationStatus::Failed, Some("busy"), 0),
        t(3),
    );
    assert_eq!(
        told(&fx),
        [CallEvent::Failed {
            reason: "busy".to_owned()
        }]
    );
    // Long before the call timeout (t(31)).
    assert_eq!(notified(&fx), [manual(ManualEntryReason::CallTimeout)]);
    assert_eq!(follows(&fx), [Effect::StopFollowing]);
    // Told once, however often the server repeats it.
    let fx = h.step(
        server_says(VerificationStatus::Failed, Some("busy"), 0),
        t(4),
    );
    assert!(told(&fx).is_empty() && notified(&fx).is_empty());
    // A resend places a new call, which is followed and awaited again.
    let answered = t(1) + RESEND_AFTER;
    let (op, _) = h.resend(answered);
    let fx = h.step(
        Event::ResendFinished {
            op,
            result: Ok(created_at(answered)),
        },
        answered,
    );
    assert_eq!(notified(&fx), [AwaitingCall]);
    assert_eq!(
        follows(&fx),
        [Effect::Follow {
            id: "ver_1".to_owned(),
            generation: 1
        }]
    );
    // What the old stream still says of the old call is not news.
    let fx = h.step(
        server_says(VerificationStatus::Failed, Some("busy"), 0),
        answered,
    );
    assert!(told(&fx).is_empty() && notified(&fx).is_empty());
    assert_eq!(h.state(), &AwaitingCall);
    // The new call's own failure is.
    let fx = h.step(
        server_says(VerificationStatus::Failed, Some("unreachable"), 1),
        answered,
    );
    assert_eq!(
        told(&fx),
        [CallEvent::Failed {
            reason: "unreachable".to_owned()
        }]
    );
    assert_eq!(notified(&fx), [manual(ManualEntryReason::CallTimeout)]);
}

#[test]
fn a_failed_call_during_a_check_leads_to_manual_entry_if_the_check_fails() {
    let (mut h, op) = Harness::verifying();
    let fx = h.step(
        server_says(VerificationStatus::Failed, Some("busy"), 0),
        t(6),
    );
    assert_eq!(told(&fx).len(), 1);
    assert!(notified(&fx).is_empty(), "the check decides first");
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: Err(MotpError::WrongCode { attempts_left: 2 }),
        },
        t(7),
    );
    assert_eq!(notified(&fx), [manual(ManualEntryReason::CallTimeout)]);
}

#[test]
fn a_delivered_call_not_seen_asks_for_the_call_log_once_then_manual_entry() {
    let mut h = Harness::awaiting();
    let fx = h.step(server_says(VerificationStatus::Delivered, None, 0), t(5));
    assert_eq!(told(&fx), [CallEvent::Delivered]);
    assert_eq!(follows(&fx), [Effect::StopFollowing]);
    assert_eq!(deadline_set(&fx), Some(Some(t(5) + DELIVERED_GRACE)));
    // Not yet.
    let fx = h.step(
        Event::DeadlineReached,
        t(5) + DELIVERED_GRACE - Duration::from_millis(1),
    );
    assert!(told(&fx).is_empty());
    let asked = t(5) + DELIVERED_GRACE;
    let fx = h.step(Event::DeadlineReached, asked);
    assert_eq!(told(&fx), [CallEvent::RereadCallLog]);
    assert_eq!(h.state(), &AwaitingCall);
    assert_eq!(deadline_set(&fx), Some(Some(asked + REREAD_WINDOW)));
    let fx = h.step(Event::DeadlineReached, asked + REREAD_WINDOW);
    assert!(told(&fx).is_empty(), "asked once only");
    assert_eq!(notified(&fx), [manual(ManualEntryReason::CallTimeout)]);
    // The user types the code: the report says the call was not seen.
    let (op, _) = h.code("123", t(12));
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: approved("tok"),
        },
        t(13),
    );
    assert_eq!(reported(&fx), [Observation::CallNotSeen]);
}

#[test]
fn the_call_log_read_again_verifies_without_typing() {
    let mut h = Harness::awaiting();
    h.step(server_says(VerificationStatus::Delivered, None, 0), t(5));
    let fx = h.step(Event::DeadlineReached, t(5) + DELIVERED_GRACE);
    assert_eq!(told(&fx), [CallEvent::RereadCallLog]);
    let (op, fx) = h.call(CALL, t(6), t(9));
    assert_eq!(notified(&fx), [Verifying]);
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: approved("tok"),
        },
        t(10),
    );
    assert_eq!(notified(&fx), [verified("tok")]);
    assert!(
        reported(&fx).is_empty(),
        "an automatic match is not reported"
    );
}

#[test]
fn a_delivered_call_seen_in_time_needs_nothing_more() {
    let mut h = Harness::awaiting();
    let (op, _) = h.call(CALL, t(4), t(4));
    let fx = h.step(server_says(VerificationStatus::Delivered, None, 0), t(5));
    assert_eq!(told(&fx), [CallEvent::Delivered]);
    // The check fails in transit: back to waiting, and the grace still runs.
    h.step(
        Event::CheckFinished {
            op,
            result: Err(MotpError::Timeout),
        },
        t(6),
    );
    assert_eq!(h.state(), &AwaitingCall);
    let (_, fx) = h.call(CALL, t(7), t(7));
    assert_eq!(notified(&fx), [Verifying]);
    let fx = h.step(Event::DeadlineReached, t(5) + DELIVERED_GRACE);
    assert!(
        told(&fx).is_empty(),
        "no call-log request while a check runs"
    );
}

#[test]
fn without_visibility_the_call_is_told_but_nothing_is_awaited() {
    let (mut h, _) = {
        let mut h = Harness::new_with(CallVisibility::PermissionMissing);
        let op = h.op();
        h.step(
            Event::Start {
                op,
                phone_number: "+447700900123".to_owned(),
            },
            t(0),
        );
        (h, op)
    };
    let fx = h.step(Event::Created(Ok(created_at(t(1)))), t(1));
    assert_eq!(
        notified(&fx),
        [manual(ManualEntryReason::PermissionMissing)]
    );
    assert_eq!(follows(&fx).len(), 1, "followed for the ringing nudge");
    let fx = h.step(server_says(VerificationStatus::Ringing, None, 0), t(2));
    assert_eq!(told(&fx), [CallEvent::Ringing]);
    let fx = h.step(server_says(VerificationStatus::Ringing, None, 0), t(2));
    assert!(told(&fx).is_empty(), "ringing is told once");
    let fx = h.step(server_says(VerificationStatus::Delivered, None, 0), t(3));
    assert_eq!(told(&fx), [CallEvent::Delivered]);
    assert!(notified(&fx).is_empty());
    assert_eq!(deadline_set(&fx), None, "no call-log request");
    let (op, _) = h.code("123", t(9));
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: approved("tok"),
        },
        t(10),
    );
    assert_eq!(reported(&fx), [Observation::NoPermission]);
}

#[test]
fn reports_say_what_the_phone_saw() {
    // Typed while the SDK still waited for the call.
    let mut h = Harness::awaiting();
    let (op, _) = h.code("123", t(5));
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: approved("tok"),
        },
        t(6),
    );
    assert_eq!(reported(&fx), [Observation::UserTyped]);
    // The call came after the fall-back to manual entry.
    let mut h = Harness::manual_entry();
    let (op, _) = h.call(CALL, t(40), t(40));
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: approved("tok"),
        },
        t(41),
    );
    assert_eq!(reported(&fx), [Observation::CallSeenLate]);
    // Read in time: nothing to report.
    let (mut h, op) = Harness::verifying();
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: approved("tok"),
        },
        t(6),
    );
    assert!(reported(&fx).is_empty());
    // Expired without ever seeing the call.
    let mut h = Harness::manual_entry();
    let fx = h.step(Event::DeadlineReached, t(1) + TTL);
    assert_eq!(notified(&fx), [Expired]);
    assert_eq!(reported(&fx), [Observation::CallNotSeen]);
    // A verification that failed is not reported: the server knows why.
    let (mut h, op) = Harness::verifying();
    let fx = h.step(
        Event::CheckFinished {
            op,
            result: Err(MotpError::AlreadyUsed),
        },
        t(6),
    );
    assert!(matches!(h.state(), VerificationState::Failed { .. }));
    assert!(reported(&fx).is_empty());
}

#[test]
fn a_new_caller_prefix_from_the_server_is_matched() {
    let mut h = Harness::awaiting();
    let mut verification = created_at(t(1)).value;
    verification.caller.prefix = "+442079461".to_owned();
    h.step(
        Event::ServerUpdate {
            generation: 0,
            verification,
        },
        t(2),
    );
    assert_eq!(h.machine.info().unwrap().caller.prefix, "+442079461");
    let (op, fx) = h.call(CALL, t(3), t(3));
    assert!(matches!(
        reply_to(&fx, op),
        Reply::Call(Ok(CallMatch::Ignored {
            reason: IgnoredCall::NotMatching { .. }
        }))
    ));
    let (_, fx) = h.call("+442079461123", t(3), t(3));
    assert_eq!(notified(&fx), [Verifying]);
}

#[test]
fn the_server_can_end_the_verification() {
    let mut h = Harness::awaiting();
    let fx = h.step(server_says(VerificationStatus::Expired, None, 0), t(2));
    assert_eq!(notified(&fx), [Expired]);
    assert_eq!(follows(&fx), [Effect::StopFollowing]);
    let mut h = Harness::awaiting();
    let fx = h.step(server_says(VerificationStatus::Canceled, None, 0), t(2));
    assert_eq!(notified(&fx), [Canceled]);
    assert!(requests(&fx).is_empty(), "nothing to withdraw");
}

#[test]
fn a_resumed_verification_whose_call_failed_asks_for_the_code() {
    let mut h = Harness::new();
    let op = h.op();
    let fx = h.step(
        Event::Resume {
            op,
            id: "ver_1".to_owned(),
            started_at: t(0),
        },
        t(100),
    );
    assert_eq!(
        requests(&fx),
        [Effect::SendGet {
            id: "ver_1".to_owned()
        }]
    );
    let mut failed = created_at(t(1));
    failed.value.status = VerificationStatus::Failed;
    failed.value.failure_reason = Some("busy".to_owned());
    let fx = h.step(Event::Created(Ok(failed)), t(101));
    assert_eq!(notified(&fx), [manual(ManualEntryReason::CallTimeout)]);
    assert_eq!(reply_to(&fx, op), Reply::Start(Ok(())));
    // A call seen before the process died still counts.
    let (_, fx) = h.call(CALL, t(5), t(102));
    assert_eq!(notified(&fx), [Verifying]);
}
