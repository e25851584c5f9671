//! The tokio driver against a fake mOTP server on loopback, with tokio's
//! clock paused: the zero-typing path, manual entry, wrong codes, expiry,
//! cancel, resend, listener ordering, and abandoned futures.

mod support;

use std::sync::Arc;
use std::time::Duration;

use motp_core::protocol::VerificationStatus;
use motp_core::{
    CallEvent, CallMatch, CallVisibility, IgnoredCall, ManualEntryReason, VerificationState,
};
use motp_core::{Clock, MotpClient, MotpConfig, VerificationHandle, VerificationListener};
use motp_core::{MatchRejection, MotpError};
use serde_json::json;

use support::{EventsMode, FakeConfig, FakeServer, Recorder, TokioClock};
use VerificationState::{AwaitingCall, Canceled, Expired, Requesting, Verifying};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

fn manual(reason: ManualEntryReason) -> VerificationState {
    VerificationState::ManualEntry { reason }
}

fn verified(token: &str) -> VerificationState {
    VerificationState::Verified {
        token: token.to_owned(),
    }
}

fn config(url: &str) -> MotpConfig {
    MotpConfig {
        request_timeout: Some(REQUEST_TIMEOUT),
        call_timeout: Some(CALL_TIMEOUT),
        ..MotpConfig::new(url, support::PUBLISHABLE_KEY, "gb")
    }
}

struct Setup {
    server: FakeServer,
    client: MotpClient,
    clock: Arc<TokioClock>,
}

async fn setup(fake: FakeConfig) -> Setup {
    let server = FakeServer::start(fake).await;
    let clock = Arc::clone(&server.clock);
    let client = MotpClient::with_clock(config(&server.url), clock.clone()).unwrap();
    Setup {
        server,
        client,
        clock,
    }
}

impl Setup {
    async fn start(&self) -> (VerificationHandle, Arc<Recorder>) {
        let recorder = Arc::new(Recorder::default());
        let listener: Arc<dyn VerificationListener> = recorder.clone();
        let handle = self
            .client
            .start_verification("+447700900123", CallVisibility::Numbers, Some(listener))
            .await
            .unwrap();
        (handle, recorder)
    }

    /// The caller ID of the latest call, as a UK handset shows it.
    fn national_caller(&self) -> String {
        let e164 = self.server.last_call();
        format!("0{}", &e164[3..])
    }
}

/// Collects states with `next_state` until a final one.
async fn states_until_final(handle: &VerificationHandle) -> Vec<VerificationState> {
    let mut states = Vec::new();
    loop {
        let state = handle.next_state().await;
        let done = state.is_final();
        states.push(state);
        if done {
            return states;
        }
    }
}

#[test]
fn the_handle_can_be_shared_across_threads() {
    support::assert_send_sync_clone::<VerificationHandle>();
    support::assert_send_sync_clone::<MotpClient>();
}

#[test]
fn configuration_is_validated_without_a_runtime() {
    let good = MotpConfig::new("https://verify.example.com", "pk_live_1", "GB");
    let client = MotpClient::new(good.clone()).unwrap();
    assert_eq!(client.config().home_country, "GB");
    let bad = [
        MotpConfig {
            home_country: "XX".to_owned(),
            ..good.clone()
        },
        MotpConfig {
            publishable_key: "sk_live_secret".to_owned(),
            ..good.clone()
        },
        MotpConfig {
            server_url: "verify.example.com".to_owned(),
            ..good.clone()
        },
        MotpConfig {
            call_timeout: Some(Duration::ZERO),
            ..good.clone()
        },
        MotpConfig {
            request_timeout: Some(Duration::ZERO),
            ..good
        },
    ];
    for config in bad {
        assert!(matches!(
            MotpClient::new(config),
            Err(MotpError::InvalidInput { .. })
        ));
    }
}

// ---------------------------------------------------------------- happy paths

#[tokio::test(start_paused = true)]
async fn zero_typing_the_incoming_call_verifies() {
    let s = setup(FakeConfig::default()).await;
    s.server.queue_codes(&["042"]);
    let (handle, recorder) = s.start().await;
    assert_eq!(handle.state(), AwaitingCall);
    assert_eq!(handle.id(), "ver_1");
    assert_eq!(handle.caller().prefix, "+442079460");
    assert_eq!(handle.caller().code_length, 3);

    // Some other call first: ignored, no request.
    let other = handle
        .on_incoming_call("+44 7700 900555", s.clock.now())
        .await
        .unwrap();
    assert_eq!(
        other,
        CallMatch::Ignored {
            reason: IgnoredCall::NotMatching {
                rejection: MatchRejection::WrongPrefix
            }
        }
    );
    // The verification call, in national format.
    let outcome = handle
        .on_incoming_call(&s.national_caller(), s.clock.now())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CallMatch::Verified {
            token: "tok_ver_1".to_owned()
        }
    );
    assert_eq!(handle.state(), verified("tok_ver_1"));
    assert_eq!(
        recorder.states(),
        [Requesting, AwaitingCall, Verifying, verified("tok_ver_1")]
    );
    // The server decided from the raw caller ID; no code was sent.
    let checks = s.server.requests_to("POST", "/check");
    assert_eq!(checks.len(), 1);
    assert_eq!(
        checks[0].body,
        json!({ "caller_id": "02079460042", "home_country": "GB" })
    );
    assert_eq!(s.server.status("ver_1"), VerificationStatus::Approved);
}

#[tokio::test(start_paused = true)]
async fn manual_entry_after_the_call_timeout() {
    let s = setup(FakeConfig::default()).await;
    let (handle, recorder) = s.start().await;
    // No call comes: after the call timeout the user is asked for the code.
    let started = tokio::time::Instant::now();
    let state = handle.next_state().await;
    assert_eq!(state, manual(ManualEntryReason::CallTimeout));
    assert_eq!(started.elapsed(), CALL_TIMEOUT);
    let token = handle.submit_code("1 2 3").await.unwrap();
    assert_eq!(token, "tok_ver_1");
    assert_eq!(
        recorder.names(),
        [
            "requesting",
            "awaiting_call",
            "manual_entry",
            "verifying",
            "verified"
        ]
    );
    let checks = s.server.requests_to("POST", "/check");
    assert_eq!(checks[0].body, json!({ "code": "123" }));
}

#[tokio::test(start_paused = true)]
async fn manual_entry_when_calls_cannot_be_read() {
    let s = setup(FakeConfig::default()).await;
    let (handle, _) = s.start().await;
    handle.set_call_visibility(CallVisibility::Hidden);
    assert_eq!(
        handle.next_state().await,
        manual(ManualEntryReason::CallsUnreadable)
    );
    assert_eq!(handle.submit_code("123").await.unwrap(), "tok_ver_1");
    assert_eq!(handle.next_state().await, Verifying);
    assert_eq!(handle.next_state().await, verified("tok_ver_1"));
}

// ---------------------------------------------------------------- wrong codes

#[tokio::test(start_paused = true)]
async fn a_wrong_code_keeps_the_verification_going() {
    let s = setup(FakeConfig::default()).await;
    let (handle, recorder) = s.start().await;
    handle.set_call_visibility(CallVisibility::PermissionMissing);
    assert_eq!(
        handle.submit_code("999").await,
        Err(MotpError::WrongCode { attempts_left: 2 })
    );
    assert_eq!(handle.state(), manual(ManualEntryReason::PermissionMissing));
    assert_eq!(handle.info().attempts_left, 2);
    // The same wrong code again is refused without spending an attempt.
    assert_eq!(
        handle.submit_code("999").await,
        Err(MotpError::WrongCode { attempts_left: 2 })
    );
    assert_eq!(s.server.requests_to("POST", "/check").len(), 1);
    // Malformed input never reaches the server.
    assert!(matches!(
        handle.submit_code("12").await,
        Err(MotpError::InvalidInput { .. })
    ));
    assert_eq!(handle.submit_code("123").await.unwrap(), "tok_ver_1");
    assert_eq!(
        recorder.names(),
        [
            "requesting",
            "awaiting_call",
            "manual_entry",
            "verifying",
            "manual_entry",
            "verifying",
            "verified"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn spending_every_attempt_expires_the_verification() {
    let s = setup(FakeConfig {
        attempts: 2,
        ..FakeConfig::default()
    })
    .await;
    let (handle, _) = s.start().await;
    assert_eq!(
        handle.submit_code("111").await,
        Err(MotpError::WrongCode { attempts_left: 1 })
    );
    assert_eq!(
        handle.submit_code("222").await,
        Err(MotpError::WrongCode { attempts_left: 0 })
    );
    assert_eq!(handle.state(), Expired);
    assert_eq!(handle.submit_code("123").await, Err(MotpError::Expired));
}

#[tokio::test(start_paused = true)]
async fn a_call_the_server_rejects_is_not_checked_twice() {
    let s = setup(FakeConfig::default()).await;
    let (handle, _) = s.start().await;
    // Fits the pattern, but is not the code the server placed.
    let stale = "+442079460777";
    assert_eq!(
        handle.on_incoming_call(stale, s.clock.now()).await,
        Err(MotpError::WrongCode { attempts_left: 2 })
    );
    assert_eq!(handle.state(), AwaitingCall);
    // The call log reports the same call again.
    assert_eq!(
        handle.on_incoming_call(stale, s.clock.now()).await.unwrap(),
        CallMatch::Ignored {
            reason: IgnoredCall::AlreadyRejected
        }
    );
    assert_eq!(s.server.requests_to("POST", "/check").len(), 1);
}

// ---------------------------------------------------------------- time

#[tokio::test(start_paused = true)]
async fn the_verification_expires_on_time() {
    let s = setup(FakeConfig::default()).await;
    let (handle, recorder) = s.start().await;
    let expires_at = handle.info().expires_at;
    let states = states_until_final(&handle).await;
    assert_eq!(
        states,
        [manual(ManualEntryReason::CallTimeout), Expired],
        "every wait ends"
    );
    let now = s.clock.now();
    assert!(now >= expires_at);
    assert!(now < expires_at + Duration::from_secs(1), "on time");
    assert_eq!(
        recorder.names(),
        ["requesting", "awaiting_call", "manual_entry", "expired"]
    );
    // Calls and codes after the end.
    let late = handle
        .on_incoming_call(&s.server.last_call(), now)
        .await
        .unwrap();
    assert_eq!(
        late,
        CallMatch::Ignored {
            reason: IgnoredCall::NotAwaitingCall
        }
    );
    assert_eq!(handle.submit_code("123").await, Err(MotpError::Expired));
    // A final state is returned again at once.
    assert_eq!(handle.next_state().await, Expired);
}

#[tokio::test(start_paused = true)]
async fn calls_observed_before_the_request_or_after_expiry_are_ignored() {
    let s = setup(FakeConfig::default()).await;
    let before = s.clock.now() - Duration::from_secs(1);
    let (handle, _) = s.start().await;
    let call = s.server.last_call();
    assert_eq!(
        handle.on_incoming_call(&call, before).await.unwrap(),
        CallMatch::Ignored {
            reason: IgnoredCall::BeforeRequest
        }
    );
    let after = handle.info().expires_at + Duration::from_secs(1);
    assert_eq!(
        handle.on_incoming_call(&call, after).await.unwrap(),
        CallMatch::Ignored {
            reason: IgnoredCall::AfterExpiry
        }
    );
    assert!(s.server.requests_to("POST", "/check").is_empty());
    assert_eq!(handle.state(), AwaitingCall);
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_check_times_out_and_the_wait_resumes() {
    let s = setup(FakeConfig::default()).await;
    let (handle, _) = s.start().await;
    let _gate = s.server.hold_checks();
    let started = tokio::time::Instant::now();
    let result = handle
        .on_incoming_call(&s.server.last_call(), s.clock.now())
        .await;
    assert_eq!(result, Err(MotpError::Timeout));
    assert!(started.elapsed() >= REQUEST_TIMEOUT);
    assert!(started.elapsed() <= REQUEST_TIMEOUT + Duration::from_secs(1));
    assert_eq!(handle.state(), AwaitingCall);
}

// ---------------------------------------------------------------- resend

#[tokio::test(start_paused = true)]
async fn resend_places_a_new_call_when_allowed() {
    let s = setup(FakeConfig::default()).await;
    s.server.queue_codes(&["111", "222"]);
    let (handle, recorder) = s.start().await;
    // Too early: refused locally, with the wait.
    match handle.resend().await {
        Err(MotpError::RateLimited { retry_after_secs }) => {
            assert!((59..=60).contains(&retry_after_secs), "{retry_after_secs}")
        }
        other => panic!("{other:?}"),
    }
    assert!(s.server.requests_to("POST", "/resend").is_empty());
    assert_eq!(s.server.calls_placed(), 1);

    // After the call timeout and resend_after.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(handle.state(), manual(ManualEntryReason::CallTimeout));
    handle.resend().await.unwrap();
    assert_eq!(s.server.calls_placed(), 2);
    assert_eq!(handle.state(), AwaitingCall, "waiting for the new call");
    let old_call = "+442079460111";
    assert_eq!(
        handle.on_incoming_call(old_call, s.clock.now()).await,
        Err(MotpError::WrongCode { attempts_left: 2 }),
        "the old code no longer works"
    );
    let outcome = handle
        .on_incoming_call("+442079460222", s.clock.now())
        .await
        .unwrap();
    assert!(matches!(outcome, CallMatch::Verified { .. }));
    assert_eq!(
        recorder.names(),
        [
            "requesting",
            "awaiting_call",
            "manual_entry",
            "awaiting_call",
            "verifying",
            "awaiting_call",
            "verifying",
            "verified"
        ]
    );
}

// ---------------------------------------------------------------- cancel

#[tokio::test(start_paused = true)]
async fn cancel_tells_the_server() {
    let s = setup(FakeConfig::default()).await;
    let (handle, recorder) = s.start().await;
    handle.cancel().await.unwrap();
    assert_eq!(handle.state(), Canceled);
    assert_eq!(s.server.status("ver_1"), VerificationStatus::Canceled);
    assert_eq!(
        recorder.names(),
        ["requesting", "awaiting_call", "canceled"]
    );
    // Again: nothing more happens.
    handle.cancel().await.unwrap();
    assert_eq!(s.server.requests_to("DELETE", "/ver_1").len(), 1);
    assert_eq!(handle.resend().await, Err(MotpError::Canceled));
    assert_eq!(handle.next_state().await, Canceled);
}

#[tokio::test(start_paused = true)]
async fn cancel_while_verifying_answers_the_pending_check() {
    let s = setup(FakeConfig::default()).await;
    let (handle, _) = s.start().await;
    let gate = s.server.hold_checks();
    let checking = {
        let handle = handle.clone();
        let call = s.server.last_call();
        let now = s.clock.now();
        tokio::spawn(async move { handle.on_incoming_call(&call, now).await })
    };
    assert_eq!(handle.next_state().await, Verifying);
    handle.cancel().await.unwrap();
    assert_eq!(checking.await.unwrap(), Err(MotpError::Canceled));
    // The server answers the check after all: too late to matter.
    gate.add_permits(1);
    s.server
        .wait_for_requests(|r| r.iter().any(|r| r.method == "DELETE"))
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(handle.state(), Canceled);
}

#[tokio::test(start_paused = true)]
async fn dropping_every_handle_cancels_the_verification() {
    let s = setup(FakeConfig::default()).await;
    let (handle, recorder) = s.start().await;
    let clone = handle.clone();
    drop(handle);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(
        s.server.requests_to("DELETE", "/ver_1").is_empty(),
        "a clone lives"
    );
    drop(clone);
    s.server
        .wait_for_requests(|r| r.iter().any(|r| r.method == "DELETE"))
        .await;
    assert_eq!(recorder.names().last(), Some(&"canceled"));
}

#[tokio::test(start_paused = true)]
async fn abandoning_start_withdraws_the_verification() {
    let s = setup(FakeConfig::default()).await;
    let gate = s.server.hold_creates();
    let recorder = Arc::new(Recorder::default());
    let listener: Arc<dyn VerificationListener> = recorder.clone();
    let start =
        s.client
            .start_verification("+447700900123", CallVisibility::Numbers, Some(listener));
    // The app gives up while the server is still creating it.
    let gave_up = tokio::time::timeout(Duration::from_secs(1), start).await;
    assert!(gave_up.is_err());
    gate.add_permits(1);
    s.server
        .wait_for_requests(|r| r.iter().any(|r| r.method == "DELETE"))
        .await;
    assert_eq!(s.server.status("ver_1"), VerificationStatus::Canceled);
    assert_eq!(recorder.names().last(), Some(&"canceled"));
}

// ---------------------------------------------------------------- failures

#[tokio::test(start_paused = true)]
async fn start_reports_server_refusals_as_typed_errors() {
    let s = setup(FakeConfig::default()).await;
    let cases = [
        ("12345", "invalid_phone_number"),
        ("+88234567890", "destination_not_allowed"),
        ("", "local"),
    ];
    for (number, case) in cases {
        let recorder = Arc::new(Recorder::default());
        let listener: Arc<dyn VerificationListener> = recorder.clone();
        let error = s
            .client
            .start_verification(number, CallVisibility::Numbers, Some(listener))
            .await
            .unwrap_err();
        match case {
            "invalid_phone_number" | "local" => {
                assert!(
                    matches!(error, MotpError::InvalidPhoneNumber { .. }),
                    "{error:?}"
                );
                assert!(!error.to_string().contains("12345"), "{error}");
            }
            _ => assert!(
                matches!(error, MotpError::DestinationNotAllowed { .. }),
                "{error:?}"
            ),
        }
        if case == "local" {
            assert!(recorder.states().is_empty(), "nothing was sent");
        } else {
            assert_eq!(
                recorder.states(),
                [
                    Requesting,
                    VerificationState::Failed {
                        error: error.clone()
                    }
                ]
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_server_fails_the_start() {
    let url = support::refused_url().await;
    let client = MotpClient::with_clock(config(&url), TokioClock::new()).unwrap();
    let error = client
        .start_verification("+447700900123", CallVisibility::Numbers, None)
        .await
        .unwrap_err();
    assert!(matches!(error, MotpError::Network { .. }), "{error:?}");
}

#[tokio::test(start_paused = true)]
async fn a_wrong_key_is_unauthorized() {
    let server = FakeServer::start(FakeConfig::default()).await;
    let mut config = config(&server.url);
    config.publishable_key = "pk_wrong".to_owned();
    let client = MotpClient::with_clock(config, server.clock.clone()).unwrap();
    assert_eq!(
        client
            .start_verification("+447700900123", CallVisibility::Numbers, None)
            .await
            .unwrap_err(),
        MotpError::Unauthorized
    );
}

// ---------------------------------------------------------------- listener

#[tokio::test(start_paused = true)]
async fn listener_and_next_state_see_every_change_once_in_order() {
    let s = setup(FakeConfig::default()).await;
    let (handle, recorder) = s.start().await;
    let watcher = {
        let handle = handle.clone();
        tokio::spawn(async move { states_until_final(&handle).await })
    };
    // A busy verification: wrong code, manual entry, resend, right call.
    handle.submit_code("999").await.unwrap_err();
    handle.set_call_visibility(CallVisibility::PermissionMissing);
    tokio::time::sleep(Duration::from_secs(61)).await;
    handle.resend().await.unwrap();
    handle
        .on_incoming_call(&s.server.last_call(), s.clock.now())
        .await
        .unwrap();
    let seen = watcher.await.unwrap();
    let heard = recorder.states();
    let no_permission = manual(ManualEntryReason::PermissionMissing);
    assert_eq!(
        heard,
        [
            Requesting,
            AwaitingCall,
            Verifying,
            AwaitingCall,
            no_permission.clone(),
            // Re-entered after the resend: a new call is on its way.
            no_permission,
            Verifying,
            verified("tok_ver_1"),
        ]
    );
    // The listener heard everything from Requesting on; next_state
    // everything after the handle was returned.
    assert_eq!(&heard[..2], [Requesting, AwaitingCall]);
    assert_eq!(seen, heard[2..]);
    assert!(heard.last().unwrap().is_final());
}

#[tokio::test(start_paused = true)]
async fn a_panicking_listener_does_not_stop_the_verification() {
    struct Panicky;
    impl VerificationListener for Panicky {
        fn on_state_changed(&self, _: VerificationState) -> Result<(), MotpError> {
            panic!("listener bug");
        }
    }
    let s = setup(FakeConfig::default()).await;
    let handle = s
        .client
        .start_verification(
            "+447700900123",
            CallVisibility::Numbers,
            Some(Arc::new(Panicky)),
        )
        .await
        .unwrap();
    assert_eq!(handle.submit_code("123").await.unwrap(), "tok_ver_1");
}

// ---------------------------------------------------------------- cancellation

#[tokio::test(start_paused = true)]
async fn a_dropped_call_future_still_completes_the_check() {
    let s = setup(FakeConfig::default()).await;
    let (handle, _) = s.start().await;
    let gate = s.server.hold_checks();
    let call = s.server.last_call();
    let now = s.clock.now();
    // The app stops waiting (its screen went away) mid-check.
    let abandoned = tokio::time::timeout(
        Duration::from_millis(100),
        handle.on_incoming_call(&call, now),
    )
    .await;
    assert!(abandoned.is_err());
    assert_eq!(handle.state(), Verifying);
    gate.add_permits(1);
    assert_eq!(handle.next_state().await, Verifying);
    assert_eq!(handle.next_state().await, verified("tok_ver_1"));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_next_state_loses_nothing() {
    let s = setup(FakeConfig::default()).await;
    let (handle, _) = s.start().await;
    let waited = tokio::time::timeout(Duration::from_secs(1), handle.next_state()).await;
    assert!(waited.is_err());
    handle.set_call_visibility(CallVisibility::PermissionMissing);
    assert_eq!(
        handle.next_state().await,
        manual(ManualEntryReason::PermissionMissing)
    );
}

#[tokio::test(start_paused = true)]
async fn two_verifications_run_side_by_side() {
    let s = setup(FakeConfig::default()).await;
    s.server.queue_codes(&["111", "222"]);
    let (first, _) = s.start().await;
    let (second, _) = s.start().await;
    assert_ne!(first.id(), second.id());
    second.set_call_visibility(CallVisibility::Hidden);
    assert_eq!(second.submit_code("222").await.unwrap(), "tok_ver_2");
    assert_eq!(
        first.submit_code("222").await,
        Err(MotpError::WrongCode { attempts_left: 2 })
    );
    assert_eq!(first.submit_code("111").await.unwrap(), "tok_ver_1");
}

// ---------------------------------------------------------------- robustness

#[tokio::test(start_paused = true)]
async fn a_crashed_verification_task_fails_instead_of_hanging() {
    /// A clock that breaks on demand, standing in for any bug in the task.
    struct Breakable {
        inner: Arc<TokioClock>,
        broken: std::sync::atomic::AtomicBool,
    }
    impl Clock for Breakable {
        fn now(&self) -> std::time::SystemTime {
            assert!(
                !self.broken.load(std::sync::atomic::Ordering::SeqCst),
                "clock bug"
            );
            self.inner.now()
        }
    }
    let server = FakeServer::start(FakeConfig::default()).await;
    let clock = Arc::new(Breakable {
        inner: server.clock.clone(),
        broken: false.into(),
    });
    let client = MotpClient::with_clock(config(&server.url), clock.clone()).unwrap();
    let recorder = Arc::new(Recorder::default());
    let listener: Arc<dyn VerificationListener> = recorder.clone();
    let handle = client
        .start_verification("+447700900123", CallVisibility::Numbers, Some(listener))
        .await
        .unwrap();
    clock
        .broken
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(matches!(
        handle.submit_code("123").await,
        Err(MotpError::Internal { .. })
    ));
    let state = handle.next_state().await;
    assert!(
        matches!(
            state,
            VerificationState::Failed {
                error: MotpError::Internal { .. }
            }
        ),
        "{state:?}"
    );
    assert_eq!(handle.state(), state);
    assert_eq!(recorder.states().last(), Some(&state));
}

#[test]
fn starting_outside_a_tokio_runtime_is_an_error_not_a_panic() {
    let client = MotpClient::new(config("https://verify.example.com")).unwrap();
    let start =
        std::pin::pin!(client.start_verification("+447700900123", CallVisibility::Numbers, None));
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match std::future::Future::poll(start, &mut context) {
        std::task::Poll::Ready(Err(MotpError::InvalidState { .. })) => {}
        other => panic!("{:?}", other.map(|r| r.map(|_| ()))),
    }
}

// ---------------------------------------------------------------- sightings

#[tokio::test(start_paused = true)]
async fn a_check_lost_in_transit_is_retried_in_the_background() {
    let s = setup(FakeConfig::default()).await;
    let (handle, _) = s.start().await;
    s.server.fail_next_checks(1);
    assert_eq!(
        handle
            .on_incoming_call(&s.server.last_call(), s.clock.now())
            .await,
        Err(MotpError::Server { status: 503 })
    );
    assert_eq!(handle.state(), AwaitingCall);
    // No new sighting: the SDK checks the same call again by itself.
    let states = states_until_final(&handle).await;
    assert_eq!(states.last(), Some(&verified("tok_ver_1")));
    let checks = s.server.requests_to("POST", "/check");
    assert_eq!(checks.len(), 2);
    assert_eq!(
        checks[0].body, checks[1].body,
        "the same caller ID, sent again"
    );
}

#[tokio::test(start_paused = true)]
async fn the_call_log_row_of_a_call_lost_in_transit_verifies_at_once() {
    let s = setup(FakeConfig::default()).await;
    let (handle, _) = s.start().await;
    s.server.fail_next_checks(1);
    // The ringing broadcast's check fails…
    let ringing = handle
        .on_incoming_call(&s.server.last_call(), s.clock.now())
        .await;
    assert!(ringing.is_err());
    // …and the call-log row of the same call, in its national form, is
    // checked at once rather than dropped as a repeat.
    let row = handle
        .on_incoming_call(&s.national_caller(), s.clock.now())
        .await
        .unwrap();
    assert_eq!(
        row,
        CallMatch::Verified {
            token: "tok_ver_1".to_owned()
        }
    );
    assert_eq!(s.server.requests_to("POST", "/check").len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_call_reported_twice_is_checked_once() {
    let s = setup(FakeConfig::default()).await;
    let (handle, _) = s.start().await;
    let gate = s.server.hold_checks();
    let call = s.server.last_call();
    let first = {
        let (handle, call, now) = (handle.clone(), call.clone(), s.clock.now());
        tokio::spawn(async move { handle.on_incoming_call(&call, now).await })
    };
    s.server
        .wait_for_requests(|r| r.iter().any(|r| r.path.ends_with("/check")))
        .await;
    assert_eq!(
        handle.on_incoming_call(&call, s.clock.now()).await.unwrap(),
        CallMatch::Ignored {
            reason: IgnoredCall::AlreadyChecking
        }
    );
    gate.add_permits(1);
    assert!(matches!(
        first.await.unwrap(),
        Ok(CallMatch::Verified { .. })
    ));
    assert_eq!(s.server.requests_to("POST", "/check").len(), 1);
}

// ------------------------------------------------ following the server

fn with_events(events: EventsMode) -> FakeConfig {
    FakeConfig {
        events,
        ..FakeConfig::default()
    }
}

fn busy() -> CallEvent {
    CallEvent::Failed {
        reason: "busy".to_owned(),
    }
}

/// The failure is told through the stream, long before the call timeout.
// Real time: a paused clock would jump over the stream's own timeouts
// while the loopback bytes are in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_call_reaches_the_app_through_the_event_stream() {
    let s = setup(with_events(EventsMode::Stream)).await;
    let (handle, recorder) = s.start().await;
    let started = s.clock.now();
    s.server
        .set_status(&handle.id(), VerificationStatus::Ringing, None);
    assert_eq!(handle.next_call_event().await, Some(CallEvent::Ringing));
    s.server
        .set_status(&handle.id(), VerificationStatus::Failed, Some("busy"));
    assert_eq!(handle.next_call_event().await, Some(busy()));
    assert_eq!(
        handle.next_state().await,
        manual(ManualEntryReason::CallTimeout)
    );
    assert!(s.clock.now().duration_since(started).unwrap() < CALL_TIMEOUT);
    assert_eq!(s.server.streams_opened(), 1);
    assert!(
        s.server.requests_to("GET", &handle.id()).is_empty(),
        "no polling while the stream works"
    );
    // The user saw the number after all (a declined call) and types it.
    handle.submit_code("123").await.unwrap();
    assert_eq!(
        recorder.names(),
        [
            "requesting",
            "awaiting_call",
            "manual_entry",
            "verifying",
            "verified"
        ]
    );
    assert_eq!(handle.next_call_event().await, None, "over, nothing more");
}

/// A stream cut off is opened again, resuming after the last event.
// Real time: a paused clock would jump over the stream's own timeouts
// while the loopback bytes are in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_stream_is_reopened_with_backoff() {
    let s = setup(with_events(EventsMode::CutFirst(2))).await;
    let (handle, _) = s.start().await;
    let id = handle.id();
    s.server
        .wait_for_requests(|r| r.iter().filter(|r| r.path.ends_with("/events")).count() >= 3)
        .await;
    s.server
        .set_status(&id, VerificationStatus::Failed, Some("busy"));
    assert_eq!(handle.next_call_event().await, Some(busy()));
    assert_eq!(s.server.streams_opened(), 3);
    assert!(s.server.requests_to("GET", &id).is_empty(), "no polling");
}

/// A proxy that refuses the stream (404) or buffers it: the SDK polls GET.
// Real time: a paused clock would jump over the stream's own timeouts
// while the loopback bytes are in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_usable_stream_the_sdk_polls() {
    for mode in [EventsMode::Missing, EventsMode::Buffered] {
        let s = setup(with_events(mode)).await;
        let (handle, _) = s.start().await;
        let id = handle.id();
        s.server
            .set_status(&id, VerificationStatus::Failed, Some("busy"));
        assert_eq!(handle.next_call_event().await, Some(busy()), "{mode:?}");
        assert_eq!(
            handle.next_state().await,
            manual(ManualEntryReason::CallTimeout)
        );
        assert!(!s.server.requests_to("GET", &id).is_empty(), "{mode:?}");
        assert_eq!(s.server.streams_opened(), 1, "{mode:?}: tried once");
    }
}

/// Delivered but not reported by the phone: the app is asked to read the
/// call log again, and its answer verifies without typing.
// Real time: a paused clock would jump over the stream's own timeouts
// while the loopback bytes are in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivered_call_not_seen_asks_the_app_for_the_call_log() {
    let s = setup(with_events(EventsMode::Stream)).await;
    let (handle, _) = s.start().await;
    s.server
        .set_status(&handle.id(), VerificationStatus::Delivered, None);
    assert_eq!(handle.next_call_event().await, Some(CallEvent::Delivered));
    assert_eq!(
        handle.next_call_event().await,
        Some(CallEvent::RereadCallLog)
    );
    assert_eq!(handle.state(), AwaitingCall);
    let outcome = handle
        .on_incoming_call(&s.national_caller(), s.clock.now())
        .await
        .unwrap();
    assert!(matches!(outcome, CallMatch::Verified { .. }));
    assert!(
        s.server.requests_to("POST", "/report").is_empty(),
        "an automatic match is not reported"
    );
}

/// Without an answer to the call-log request, manual entry follows, and
/// the report says the call was not seen.
// Real time: a paused clock would jump over the stream's own timeouts
// while the loopback bytes are in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_call_log_manual_entry_follows_and_is_reported() {
    let s = setup(with_events(EventsMode::Stream)).await;
    let (handle, _) = s.start().await;
    let started = s.clock.now();
    s.server
        .set_status(&handle.id(), VerificationStatus::Delivered, None);
    assert_eq!(
        handle.next_state().await,
        manual(ManualEntryReason::CallTimeout)
    );
    assert!(s.clock.now().duration_since(started).unwrap() < CALL_TIMEOUT);
    handle.submit_code("123").await.unwrap();
    s.server
        .wait_for_requests(|r| r.iter().any(|r| r.path.ends_with("/report")))
        .await;
    assert_eq!(
        s.server.requests_to("POST", "/report")[0].body,
        json!({"observation": "call_not_seen"})
    );
}

// ---------------------------------------------------------------- resume

#[tokio::test(start_paused = true)]
async fn a_resumed_verification_counts_calls_from_its_first_start() {
    let s = setup(FakeConfig::default()).await;
    let started_at = s.clock.now();
    // The first process asks for the call, sees it ring, and dies before
    // reporting it (its handle stays alive here: a killed process tells the
    // server nothing).
    let (first, _) = s.start().await;
    let rang_at = s.clock.now();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let resumed = s
        .client
        .resume_verification(&first.id(), started_at, CallVisibility::Numbers, None)
        .await
        .unwrap();
    assert_eq!(resumed.state(), AwaitingCall);
    assert_eq!(resumed.info().caller, first.info().caller);
    // The call log, re-read since the start, still holds the call.
    let outcome = resumed
        .on_incoming_call(&s.server.last_call(), rang_at)
        .await
        .unwrap();
    assert!(matches!(outcome, CallMatch::Verified { .. }));
    assert_eq!(s.server.calls_placed(), 1, "no second call");
}

#[tokio::test(start_paused = true)]
async fn resuming_ends_as_the_server_says() {
    let s = setup(FakeConfig::default()).await;
    let started_at = s.clock.now();
    let (first, _) = s.start().await;
    first.submit_code("123").await.unwrap();
    let resumed = s
        .client
        .resume_verification(&first.id(), started_at, CallVisibility::Numbers, None)
        .await;
    assert_eq!(resumed.err(), Some(MotpError::AlreadyUsed));
    let unknown = s
        .client
        .resume_verification("ver_unknown", started_at, CallVisibility::Numbers, None)
        .await;
    assert_eq!(unknown.err(), Some(MotpError::NotFound));
}
