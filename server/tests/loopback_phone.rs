//! The SIP provider against the loopback phone: a whole flash call over
//! 127.0.0.1 with no external tools.

use std::time::{Duration, SystemTime};

use motp_server::telephony::loopback_phone::LoopbackPhone;
use motp_server::telephony::sip::SipTelephony;
use motp_server::telephony::{CallProgress, FlashCall, Telephony};

fn flash_call(caller: &str) -> FlashCall {
    FlashCall {
        verification_id: "vf_test".into(),
        caller: caller.into(),
        callee: "+447700900123".into(),
        ring_for: Duration::from_millis(150),
        answer_timeout: Duration::from_secs(5),
        stop: motp_server::telephony::CallStop::never(),
    }
}

async fn place(telephony: &SipTelephony, call: FlashCall) -> Vec<CallProgress> {
    let (tx, mut rx) = motp_server::telephony::progress::channel();
    tokio::time::timeout(Duration::from_secs(20), telephony.place(call, tx))
        .await
        .expect("the call finishes in bounded time");
    let mut events = Vec::new();
    while let Ok(event) = rx.try_recv() {
        events.push(event);
    }
    events
}

#[tokio::test]
async fn flash_call_over_loopback_reports_the_exact_caller_and_delivered() {
    let (phone, mut incoming) = LoopbackPhone::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut config = phone.sip_config();
    config.t1_ms = 50;
    let telephony = SipTelephony::new(config).unwrap();
    let before = SystemTime::now();

    let events = place(&telephony, flash_call("+442079460123")).await;

    assert_eq!(events, vec![CallProgress::Ringing, CallProgress::Delivered]);
    let call = incoming.try_recv().expect("the phone saw the call");
    assert_eq!(call.number, "+442079460123");
    assert!(call.observed_at >= before && call.observed_at <= SystemTime::now());
    assert!(incoming.try_recv().is_err(), "one INVITE, one report");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_each_reach_the_phone_with_their_own_number() {
    let (phone, mut incoming) = LoopbackPhone::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut config = phone.sip_config();
    config.t1_ms = 50;
    let telephony = std::sync::Arc::new(SipTelephony::new(config).unwrap());
    let callers: Vec<String> = (0..25).map(|i| format!("+4420794601{i:02}")).collect();

    let mut calls = tokio::task::JoinSet::new();
    for caller in &callers {
        let telephony = telephony.clone();
        let call = flash_call(caller);
        calls.spawn(async move { place(&telephony, call).await });
    }
    while let Some(events) = calls.join_next().await {
        assert_eq!(
            events.unwrap(),
            vec![CallProgress::Ringing, CallProgress::Delivered]
        );
    }
    let mut seen = Vec::new();
    while let Ok(call) = incoming.try_recv() {
        seen.push(call.number);
    }
    seen.sort();
    assert_eq!(seen, callers);
}

#[tokio::test]
async fn invalid_numbers_fail_before_anything_is_sent() {
    let (phone, mut incoming) = LoopbackPhone::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let telephony = SipTelephony::new(phone.sip_config()).unwrap();
    let events = place(&telephony, flash_call("+44 20\r\nX-Evil: 1")).await;
    assert_eq!(
        events,
        vec![CallProgress::Failed {
            reason: "invalid_number".into()
        }]
    );
    assert!(incoming.try_recv().is_err());
}

#[tokio::test]
async fn nobody_listening_is_a_timeout() {
    // A port nobody serves: bind one, note it, free it.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = motp_server::telephony::sip::SipConfig::for_proxy(format!("127.0.0.1:{port}"));
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.t1_ms = 20;
    let telephony = SipTelephony::new(config).unwrap();
    let mut call = flash_call("+442079460123");
    call.answer_timeout = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let events = place(&telephony, call).await;
    assert_eq!(
        events,
        vec![CallProgress::TrunkFailed {
            reason: "timeout".into()
        }]
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}
