//! Test numbers (issue 15 item 3): a listed number gets no call, is
//! `delivered` at once, approves with its fixed code, escapes the per-number
//! caps (reviewers and CI sign in many times a day) and its token carries
//! `test: true`; metrics count it apart. Ordinary numbers are unchanged.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{harness, Backend, Harness, PREFIX};
use motp_server::test_numbers::TestNumber;
use reqwest::Method;
use serde_json::{json, Value};

const FICTIONAL: &str = "+447700900123";

async fn with_test_numbers(backend: Backend) -> Option<Harness> {
    harness(backend, |c| {
        c.test_numbers.numbers = vec![
            TestNumber {
                number: Some(FICTIONAL.into()),
                prefix: None,
                code: "0427".into(),
            },
            TestNumber {
                number: None,
                prefix: Some("+1202555010".into()),
                code: "9999".into(),
            },
        ];
    })
    .await
}

fn claims(token: &str) -> Value {
    let payload = URL_SAFE_NO_PAD
        .decode(token.split('.').nth(1).unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

async fn check(h: &Harness, id: &str, code: &str) -> common::Answer {
    h.check_code(id, code).await
}

async fn a_test_number_places_no_call_and_approves_with_its_code(backend: Backend) {
    let Some(h) = with_test_numbers(backend).await else {
        return;
    };
    let a = h.create("+44 7700 900123").await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert_eq!(a.body["status"], "delivered");
    assert_eq!(a.body["phone_number"], FICTIONAL);
    assert_eq!(a.body["caller"]["prefix"], PREFIX);
    let id = a.body["id"].as_str().unwrap().to_string();
    assert!(h.recorder.last_for(&id).is_none(), "a call was placed");

    check(&h, &id, "0428").await.problem(422, "wrong-code");
    let ok = check(&h, &id, "0427").await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let token = ok.body["token"].as_str().unwrap();
    assert_eq!(claims(token)["test"], true);
    assert_eq!(claims(token)["sub"], FICTIONAL);
    let intro = h.introspect(&h.sk, token).await;
    assert_eq!(intro.body["active"], true);

    // The caller ID the phone would show works too.
    let id2 = h.create(FICTIONAL).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let by_caller = h
        .call(
            Method::POST,
            &format!("/v1/verifications/{id2}/check"),
            Some(&h.pk),
            Some(json!({ "caller_id": format!("{PREFIX}0427") })),
        )
        .await;
    assert_eq!(by_caller.status, 200, "{:?}", by_caller.body);

    // A national form with the country, and a number of a listed prefix.
    let national = h
        .call(
            Method::POST,
            "/v1/verifications",
            Some(&h.pk),
            Some(json!({ "phone_number": "07700 900123", "country": "GB" })),
        )
        .await;
    assert_eq!(national.body["status"], "delivered", "{:?}", national.body);
    let us = h.create("+1 202 555 0107").await;
    assert_eq!(us.body["status"], "delivered", "{:?}", us.body);
    let us_id = us.body["id"].as_str().unwrap();
    assert_eq!(check(&h, us_id, "9999").await.status, 200);
    assert!(h.recorder.all().is_empty(), "calls were placed");

    let metrics = h.call(Method::GET, "/metrics", None, None).await;
    let text = metrics.body.as_str().unwrap_or_default().to_string();
    assert!(
        text.contains("motp_test_numbers_total{event=\"created\"} 4"),
        "{text}"
    );
    assert!(
        text.contains("motp_test_numbers_total{event=\"approved\"} 3"),
        "{text}"
    );
    h.stop().await;
}

async fn test_numbers_escape_the_caps_and_resend_without_a_call(backend: Backend) {
    let Some(h) = with_test_numbers(backend).await else {
        return;
    };
    let daily = h.server.state.config.limits.daily_cap_per_destination;
    let mut last = String::new();
    for _ in 0..daily + 3 {
        let a = h.create(FICTIONAL).await;
        assert_eq!(a.status, 201, "{:?}", a.body);
        last = a.body["id"].as_str().unwrap().to_string();
    }
    h.advance(std::time::Duration::from_secs(31));
    let resent = h.resend(&last).await;
    assert_eq!(resent.status, 202, "{:?}", resent.body);
    assert_eq!(resent.body["status"], "delivered");
    assert_eq!(h.get(&last).await.body["status"], "delivered");
    assert!(h.recorder.all().is_empty(), "calls were placed");
    assert_eq!(check(&h, &last, "0427").await.status, 200);
    h.stop().await;
}

async fn ordinary_numbers_are_untouched(backend: Backend) {
    let Some(h) = with_test_numbers(backend).await else {
        return;
    };
    // Next to a test number, but not one: a real call and a drawn code.
    let (id, code) = h.create_ok("+447400123456").await;
    let ok = check(&h, &id, &code).await;
    assert_eq!(ok.status, 200);
    assert!(claims(ok.body["token"].as_str().unwrap())
        .get("test")
        .is_none());
    // A neighbour of a test number gets the ordinary policy (libphonenumber
    // may hold the drama range invalid: then 400), never the fixed code.
    let near = h.create("+447700900124").await;
    assert_ne!(near.body["status"], "delivered", "{:?}", near.body);
    h.stop().await;
}

on_both_backends!(
    a_test_number_places_no_call_and_approves_with_its_code,
    test_numbers_escape_the_caps_and_resend_without_a_call,
    ordinary_numbers_are_untouched,
);

#[test]
fn a_real_number_is_refused_at_start_unless_allowed() {
    let mut config = common::base_config();
    config.test_numbers.numbers = vec![TestNumber {
        number: Some("+447400123456".into()),
        prefix: None,
        code: "0427".into(),
    }];
    let refused = config.validate().unwrap_err().to_string();
    assert!(refused.contains("real number of GB"), "{refused}");
    assert!(
        !refused.contains("123456"),
        "the number is masked: {refused}"
    );
    config.test_numbers.allow_real_numbers = true;
    config.validate().unwrap();
    // Off by default.
    assert!(common::base_config().test_numbers.numbers.is_empty());
}
