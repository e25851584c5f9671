//! Signed webhooks from the outbox, on SQLite and PostgreSQL, to a real
//! HTTP receiver on 127.0.0.1 that fails the first attempts.

mod common;
mod webhook_receiver;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{harness, Backend, Harness, PREFIX};
use motp_server::cli::webhooks::{execute, WebhooksCommand};
use motp_server::telephony::record::Script;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use webhook_receiver::{python_verifies, signature_valid, Receiver};

const PHONE: &str = "+447400123456";

on_both_backends!(
    events_are_signed_retried_and_masked,
    failed_calls_cancels_and_expiry_are_sent,
    rotation_signs_with_both_secrets,
    given_up_deliveries_are_listed_and_replayed,
    a_stuck_receiver_does_not_hold_the_api,
);

/// Fast retries for the tests.
async fn webhook_harness(backend: Backend) -> Option<Harness> {
    harness(backend, |c| {
        c.webhooks.retry_initial_ms = 20;
        c.webhooks.retry_max_secs = 1;
        c.webhooks.poll_ms = 10;
        c.webhooks.timeout_secs = 2;
    })
    .await
}

async fn cli(h: &Harness, command: WebhooksCommand) -> Value {
    let text = execute(&h.server.state.store, command, true)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    serde_json::from_str(&text).unwrap()
}

/// Adds an endpoint for the harness app; returns (endpoint id, secret).
async fn add_endpoint(h: &Harness, url: &str, full_number: bool) -> (String, String) {
    let added = cli(
        h,
        WebhooksCommand::Add {
            app: "test-app".into(),
            url: url.into(),
            full_number,
        },
    )
    .await;
    let secret = added["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    (added["endpoint_id"].as_str().unwrap().to_string(), secret)
}

async fn events_are_signed_retried_and_masked(backend: Backend) {
    let Some(h) = webhook_harness(backend).await else {
        return;
    };
    let receiver = Receiver::start().await;
    receiver.inner.fail_first.store(2, Ordering::SeqCst);
    let (_, secret) = add_endpoint(&h, &receiver.url(), false).await;
    // A second app's endpoint hears nothing of this app.
    let other = Receiver::start().await;

    let (id, code) = h.create_ok(PHONE).await;
    h.wait_status(&id, "delivered").await;
    assert_eq!(h.check_code(&id, &code).await.status, StatusCode::OK);
    receiver
        .wait_for(&[
            "verification.created",
            "call.delivered",
            "verification.approved",
        ])
        .await;
    // Until the outbox is empty and every outcome recorded.
    for _ in 0..500 {
        let list = cli(&h, WebhooksCommand::List { app: None }).await;
        if list["endpoints"][0]["pending"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let delivered = receiver.delivered();
    // `call.ringing` too when the provider's ringing was recorded apart.
    let mut ids: Vec<_> = delivered.iter().map(|r| r.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), delivered.len(), "one delivery per event");
    assert!(
        (3..=4).contains(&delivered.len()),
        "{:?}",
        receiver.delivered_types()
    );

    let all = receiver.all();
    for d in &delivered {
        // Two refusals, then this: the same id and the same body each time.
        let tries: Vec<_> = all.iter().filter(|r| r.id == d.id).collect();
        assert_eq!(tries.len(), 3, "{}", d.id);
        assert!(tries.iter().all(|r| r.body == d.body));
        assert!(d.id.starts_with("msg_"));
        let body = d.json();
        assert_eq!(body["data"]["verification_id"], id.as_str());
        assert_eq!(body["data"]["phone_number"], "+4474******56");
        assert!(!d.body.contains(PHONE));
        assert!(!d.body.contains(&format!("{PREFIX}{code}")));
        assert!(!d.body.contains("\"code\""));
        let ts: i64 = d.timestamp.parse().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!(
            (now - ts).abs() < 60,
            "webhook-timestamp is wall-clock time"
        );
    }
    // Every attempt carries a valid signature, by the specification's rule;
    // a wrong secret or a changed body does not pass.
    for r in &all {
        assert!(signature_valid(&secret, r), "{r:?}");
        let mut tampered = r.clone();
        tampered.body.push(' ');
        assert!(!signature_valid(&secret, &tampered));
    }
    let stranger = motp_server::webhooks::sign::new_secret();
    assert!(!signature_valid(&stranger, &all[0]));
    match python_verifies(&secret, &all) {
        Some(verdicts) => assert!(verdicts.iter().all(|v| *v), "{verdicts:?}"),
        None => {
            println!("reference library check skipped: MOTP_TEST_STANDARDWEBHOOKS_PYTHON unset")
        }
    }
    assert!(other.all().is_empty());

    // The delivery state is visible: nothing pending, nothing failed, and
    // the metrics count the attempts.
    let list = cli(&h, WebhooksCommand::List { app: None }).await;
    assert_eq!(list["endpoints"][0]["pending"], 0);
    assert_eq!(list["endpoints"][0]["failed"], 0);
    let metrics = h.call(Method::GET, "/metrics", None, None).await;
    let text = metrics.body.as_str().unwrap().to_string();
    let n = delivered.len();
    let retries = format!("motp_webhook_attempts_total{{result=\"retry\"}} {}", 2 * n);
    let successes = format!("motp_webhook_attempts_total{{result=\"delivered\"}} {n}");
    assert!(text.contains(&retries), "{text}");
    assert!(text.contains(&successes), "{text}");
    h.stop().await;
}

async fn failed_calls_cancels_and_expiry_are_sent(backend: Backend) {
    let Some(h) = webhook_harness(backend).await else {
        return;
    };
    let receiver = Receiver::start().await;
    let (_, secret) = add_endpoint(&h, &receiver.url(), true).await;

    h.telephony.set(Script::Fail("busy".into()));
    let (failed, _) = h.create_ok(PHONE).await;
    h.wait_status(&failed, "failed").await;
    h.telephony.set(Script::Deliver);
    let (canceled, _) = h.create_ok("+447400123457").await;
    h.wait_status(&canceled, "delivered").await;
    let a = h
        .call(
            Method::DELETE,
            &format!("/v1/verifications/{canceled}"),
            Some(&h.pk),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    // Nobody asks about this one: the sweep expires it when the TTL is over.
    let (expired, _) = h.create_ok("+447400123458").await;
    h.wait_status(&expired, "delivered").await;
    h.advance(Duration::from_secs(301));

    let delivered = receiver
        .wait_for(&[
            "call.failed",
            "verification.canceled",
            "verification.expired",
        ])
        .await;
    let of = |t: &str| {
        delivered
            .iter()
            .find(|r| r.json()["type"] == t)
            .unwrap()
            .json()
    };
    assert_eq!(
        of("call.failed")["data"]["verification_id"],
        failed.as_str()
    );
    assert_eq!(of("call.failed")["data"]["failure_reason"], "busy");
    assert_eq!(of("call.failed")["data"]["phone_number"], PHONE, "opted in");
    assert_eq!(
        of("verification.canceled")["data"]["verification_id"],
        canceled.as_str()
    );
    assert_eq!(
        of("verification.expired")["data"]["verification_id"],
        expired.as_str()
    );
    assert!(delivered.iter().all(|r| signature_valid(&secret, r)));
    // Exactly one expiry event: the sweep and the API agree on one change.
    assert_eq!(
        receiver
            .delivered_types()
            .iter()
            .filter(|t| *t == "verification.expired")
            .count(),
        1
    );
    let v = h.get(&expired).await;
    assert_eq!(v.body["status"], "expired");
    h.stop().await;
}

async fn rotation_signs_with_both_secrets(backend: Backend) {
    let Some(h) = webhook_harness(backend).await else {
        return;
    };
    let receiver = Receiver::start().await;
    let (endpoint, old) = add_endpoint(&h, &receiver.url(), false).await;
    let rotated = cli(
        &h,
        WebhooksCommand::Rotate {
            endpoint: endpoint.clone(),
            overlap: Duration::from_secs(3600),
        },
    )
    .await;
    let new = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(old, new);
    h.create_ok(PHONE).await;
    let delivered = receiver.wait_for(&["verification.created"]).await;
    let r = &delivered[0];
    assert_eq!(r.signature.split(' ').count(), 2, "{}", r.signature);
    assert!(signature_valid(&old, r));
    assert!(signature_valid(&new, r));
    if let Some(v) = python_verifies(&old, &delivered) {
        assert!(v.iter().all(|v| *v));
    }
    if let Some(v) = python_verifies(&new, &delivered) {
        assert!(v.iter().all(|v| *v));
    }
    // With no overlap the old secret no longer signs.
    cli(
        &h,
        WebhooksCommand::Rotate {
            endpoint,
            overlap: Duration::ZERO,
        },
    )
    .await;
    let list = cli(&h, WebhooksCommand::List { app: None }).await;
    assert!(!list.to_string().contains("whsec_"), "list shows no secret");
    h.stop().await;
}

async fn given_up_deliveries_are_listed_and_replayed(backend: Backend) {
    let Some(h) = harness(backend, |c| {
        c.webhooks.retry_initial_ms = 100;
        c.webhooks.retry_max_secs = 1;
        c.webhooks.retry_horizon_secs = 1;
        c.webhooks.poll_ms = 10;
    })
    .await
    else {
        return;
    };
    let receiver = Receiver::start().await;
    receiver.inner.down.store(true, Ordering::SeqCst);
    let (endpoint, secret) = add_endpoint(&h, &receiver.url(), false).await;
    h.create_ok(PHONE).await;
    let mut failures = Value::Null;
    for _ in 0..500 {
        failures = cli(
            &h,
            WebhooksCommand::Failures {
                app: Some("test-app".into()),
                limit: 10,
            },
        )
        .await;
        if failures["failures"].as_array().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let list = failures["failures"].as_array().unwrap();
    assert_eq!(list.len(), 2, "created and delivered given up: {failures}");
    assert!(list.iter().all(|f| f["last_status"] == 500));
    assert!(list.iter().all(|f| f["attempts"].as_i64().unwrap() >= 2));
    let attempts_before = receiver.all().len();

    receiver.inner.down.store(false, Ordering::SeqCst);
    let replayed = cli(
        &h,
        WebhooksCommand::Replay {
            delivery: None,
            endpoint: Some(endpoint),
            app: None,
        },
    )
    .await;
    assert_eq!(replayed["replayed"], 2);
    let delivered = receiver
        .wait_for(&["verification.created", "call.delivered"])
        .await;
    assert!(receiver.all().len() > attempts_before);
    assert!(delivered.iter().all(|r| signature_valid(&secret, r)));
    let failures = cli(
        &h,
        WebhooksCommand::Failures {
            app: None,
            limit: 10,
        },
    )
    .await;
    assert_eq!(failures["failures"].as_array().unwrap().len(), 0);
    h.stop().await;
}

async fn a_stuck_receiver_does_not_hold_the_api(backend: Backend) {
    let Some(h) = harness(backend, |c| {
        c.webhooks.max_in_flight = 3;
        c.webhooks.timeout_secs = 30;
        c.webhooks.poll_ms = 10;
    })
    .await
    else {
        return;
    };
    let receiver = Receiver::start().await;
    // Every delivery hangs far longer than this test runs.
    receiver.inner.hold_ms.store(60_000, Ordering::SeqCst);
    add_endpoint(&h, &receiver.url(), false).await;
    for i in 0..20 {
        let (id, code) = h.create_ok(&format!("+4474001234{i:02}")).await;
        h.wait_status(&id, "delivered").await;
        assert_eq!(h.check_code(&id, &code).await.status, StatusCode::OK);
    }
    // The dispatcher never holds more than its bound.
    for _ in 0..200 {
        if receiver.inner.holding.load(Ordering::SeqCst) == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(receiver.inner.most_held.load(Ordering::SeqCst), 3);
    let metrics = h.call(Method::GET, "/metrics", None, None).await;
    let text = metrics.body.as_str().unwrap().to_string();
    assert!(text.contains("motp_webhook_in_flight 3"), "{text}");
    h.stop().await;
}
