//! Conversion figures (issue 15 item 6): `GET /v1/stats` (secret key, the
//! app's own), `motp stats` (every app), and the `country`/`trunk` labels
//! of the verification metrics, on SQLite and PostgreSQL.

mod common;

use std::time::Duration;

use common::{harness, Backend, Harness};
use motp_server::cli::stats::{report, table, StatsArgs};
use motp_server::telephony::record::Script;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const GB: [&str; 4] = [
    "+447400123456",
    "+447400123457",
    "+447400123458",
    "+447400123459",
];
const US: &str = "+12025550123";

async fn stats(h: &Harness, query: &str) -> common::Answer {
    h.call(Method::GET, &format!("/v1/stats{query}"), Some(&h.sk), None)
        .await
}

async fn report_seen(h: &Harness, id: &str, observation: &str) {
    let a = h
        .call(
            Method::POST,
            &format!("/v1/verifications/{id}/report"),
            Some(&h.pk),
            Some(json!({ "observation": observation })),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{:?}", a.body);
}

fn group<'a>(body: &'a Value, country: &str) -> &'a Value {
    body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["country"] == country)
        .unwrap_or_else(|| panic!("no group for {country}: {body}"))
}

async fn figures_per_country_trunk_and_app(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    // Before the window asked for below: not counted there.
    let (early, _) = h.create_ok(GB[3]).await;
    h.wait_status(&early, "delivered").await;
    h.advance(Duration::from_secs(3600));

    // GB: approved by the SDK itself after 2 s; approved by typing after
    // 4 s; busy; delivered and then expired without anyone typing.
    let (auto, code) = h.create_ok(GB[0]).await;
    h.wait_status(&auto, "delivered").await;
    h.advance(Duration::from_secs(2));
    assert_eq!(h.check_code(&auto, &code).await.status, StatusCode::OK);

    let (typed, code) = h.create_ok(GB[1]).await;
    h.wait_status(&typed, "delivered").await;
    h.advance(Duration::from_secs(4));
    report_seen(&h, &typed, "user_typed").await;
    assert_eq!(h.check_code(&typed, &code).await.status, StatusCode::OK);

    h.telephony.set(Script::Fail("busy".into()));
    let (busy, _) = h.create_ok(GB[2]).await;
    h.wait_status(&busy, "failed").await;
    h.telephony.set(Script::Deliver);

    // Delivered, then the TTL runs out and a check records it `expired`:
    // it still counts as delivered.
    let (lapsed, code) = h.create_ok(GB[3]).await;
    h.wait_status(&lapsed, "delivered").await;

    // US: delivered, the phone did not see it.
    let (us, _) = h.create_ok(US).await;
    h.wait_status(&us, "delivered").await;
    report_seen(&h, &us, "call_not_seen").await;

    // Another app's verification is not this app's business.
    let (other_pk, other_sk) = h.other_app("other-app").await;
    let other = h
        .call(
            Method::POST,
            "/v1/verifications",
            Some(&other_pk),
            Some(json!({ "phone_number": "+447400123460" })),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED);

    h.advance(Duration::from_secs(600));
    h.check_code(&lapsed, &code).await.problem(410, "expired");

    let a = stats(&h, "?window=1800").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let body = &a.body;
    assert_eq!(body["test_numbers_excluded"], 0);
    let gb = group(body, "GB");
    assert_eq!(gb["app_id"], h.app_id.as_str());
    assert_eq!(gb["trunk"], "default");
    assert_eq!(gb["created"], 4, "{gb}");
    assert_eq!(gb["delivered"], 3, "{gb}");
    assert_eq!(gb["approved"], 2);
    assert_eq!(gb["approved_without_typing"], 1);
    assert_eq!(gb["failed"], json!({"busy": 1}));
    assert_eq!(gb["conversion_rate"], 0.5);
    assert_eq!(gb["zero_typing_rate"], 0.5);
    assert_eq!(gb["median_time_to_approval_ms"], 3000);
    assert_eq!(gb["sdk_reports"], json!({"user_typed": 1}));
    let us = group(body, "US");
    assert_eq!(us["created"], 1);
    assert_eq!(us["delivered"], 1);
    assert_eq!(us["approved"], 0);
    assert_eq!(us["conversion_rate"], 0.0);
    assert_eq!(us["median_time_to_approval_ms"], Value::Null);
    assert_eq!(us["sdk_reports"], json!({"call_not_seen": 1}));
    assert_eq!(body["groups"].as_array().unwrap().len(), 2, "{body}");
    assert_eq!(body["total"]["created"], 5);
    assert_eq!(body["total"]["approved"], 2);

    // The default window (a day) includes the early one; from/to excludes
    // everything after it.
    let a = stats(&h, "").await;
    assert_eq!(a.body["total"]["created"], 6, "{:?}", a.body);
    let from = motp_server::clock::timestamp(common::START_MS);
    let to = motp_server::clock::timestamp(common::START_MS + 1000);
    let a = stats(&h, &format!("?from={from}&to={to}")).await;
    assert_eq!(a.body["total"]["created"], 1, "{:?}", a.body);
    assert_eq!(a.body["from"], from.to_string());

    // The other app sees only its own.
    let a = h
        .call(Method::GET, "/v1/stats", Some(&other_sk), None)
        .await;
    assert_eq!(a.body["total"]["created"], 1, "{:?}", a.body);

    // `motp stats`: every app, by name.
    let args = StatsArgs {
        config: None,
        app: None,
        from: None,
        to: None,
        window: Some("1800".into()),
        json: true,
    };
    let store = &h.server.state.store;
    let all = report(store, &h.server.state.config, &args, h.clock_ms())
        .await
        .unwrap();
    let names: Vec<&str> = all.groups.iter().map(|g| g.app_id.as_str()).collect();
    assert!(names.contains(&"test-app"), "{names:?}");
    assert!(names.contains(&"other-app"), "{names:?}");
    assert_eq!(all.total.created, 6);
    assert!(table(&all).contains("busy=1"), "{}", table(&all));
    let only = StatsArgs {
        app: Some("other-app".into()),
        ..args
    };
    let one = report(store, &h.server.state.config, &only, h.clock_ms())
        .await
        .unwrap();
    assert_eq!(one.total.created, 1);

    // Metrics: the same labels, bounded.
    let metrics = h
        .http
        .get(h.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "motp_verifications_created_total{country=\"GB\",trunk=\"default\"} 6",
        "motp_verifications_created_total{country=\"US\",trunk=\"default\"} 1",
        "motp_verifications_approved_total{country=\"GB\",trunk=\"default\"} 2",
        "motp_verifications_delivered_total{country=\"US\",trunk=\"default\"} 1",
        "motp_verifications_failed_total{reason=\"busy\",country=\"GB\",trunk=\"default\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing in:\n{metrics}");
    }
    h.stop().await;
}

async fn the_window_and_the_key_are_checked(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    for query in [
        "?window=0",
        "?window=2678401",
        "?window=ten",
        "?from=yesterday",
        "?from=2027-01-15T09:00:00Z",
        "?window=60&from=2027-01-15T07:00:00Z",
    ] {
        stats(&h, query).await.problem(400, "invalid-request");
    }
    h.call(Method::GET, "/v1/stats", Some(&h.pk), None)
        .await
        .problem(401, "unauthorized");
    h.call(Method::GET, "/v1/stats", None, None)
        .await
        .problem(401, "unauthorized");
    // Empty window: zeros and nulls, no groups.
    let a = stats(&h, "?window=60").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["groups"], json!([]));
    assert_eq!(a.body["total"]["created"], 0);
    assert_eq!(a.body["total"]["conversion_rate"], Value::Null);
    h.stop().await;
}

on_both_backends!(
    figures_per_country_trunk_and_app,
    the_window_and_the_key_are_checked,
);
