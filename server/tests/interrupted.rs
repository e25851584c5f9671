//! Calls a stopped process can no longer follow, and a server that is
//! shutting down, on SQLite and PostgreSQL (issue 18).

mod common;

use std::time::Duration;

use common::{harness, Backend, START_MS};
use motp_server::telephony::record::Script;
use reqwest::StatusCode;

const PHONE: &str = "+447400123456";

on_both_backends!(
    calls_left_in_flight_are_recorded_interrupted,
    a_draining_server_places_no_new_calls,
);

async fn calls_left_in_flight_are_recorded_interrupted(backend: Backend) {
    let Some(h) = harness(backend, |c| c.telephony.shutdown_secs = 1).await else {
        return;
    };
    let (delivered, _) = h.create_ok(PHONE).await;
    h.wait_status(&delivered, "delivered").await;
    // A call whose provider never reports: it stays `calling`.
    h.telephony
        .set(Script::FailAfter(Duration::from_secs(600), "x".into()));
    let (stuck, _) = h.create_ok(PHONE).await;
    let store = &h.server.state.store;
    let ttl_ms = i64::try_from(h.server.state.config.codes.ttl_secs * 1000).unwrap();
    // Started at START_MS: not older than a cutoff before it.
    assert_eq!(
        store.interrupt_calls(ttl_ms, START_MS - 1).await.unwrap(),
        0
    );
    assert_eq!(store.interrupt_calls(ttl_ms, START_MS).await.unwrap(), 1);
    let a = h.get(&stuck).await;
    assert_eq!(a.body["status"], "failed", "{:?}", a.body);
    assert_eq!(a.body["failure_reason"], "interrupted");
    assert_eq!(h.get(&delivered).await.body["status"], "delivered");
}

async fn a_draining_server_places_no_new_calls(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let (id, _) = h.create_ok(PHONE).await;
    h.server.state.calls.drain();
    let a = h.create(PHONE).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", a.body);
    assert_eq!(a.retry_after.as_deref(), Some("1"));
    h.advance(Duration::from_secs(31));
    let a = h.resend(&id).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", a.body);
    // Reads still work while the calls in flight are ended.
    assert_eq!(h.get(&id).await.status, StatusCode::OK);
}
