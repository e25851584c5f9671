//! `GET /v1/verifications/{id}/events` (server-sent events) and
//! `POST /v1/verifications/{id}/report`, on SQLite and PostgreSQL; and a
//! stream served by one instance while another places the call
//! (PostgreSQL).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{harness, Backend};
use motp_server::telephony::record::Script;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PHONE: &str = "+447400123456";

on_both_backends!(
    stream_tells_each_change_and_closes_at_the_end,
    stream_resumes_after_the_last_event_id,
    a_resend_is_streamed_with_its_new_caller,
    expiry_is_streamed_and_closes,
    stream_is_private_to_its_app,
    a_failed_call_can_be_typed_or_resent,
    reports_are_stored_per_country,
);

/// One server-sent event.
#[derive(Debug)]
struct Sse {
    id: Option<String>,
    event: String,
    data: Value,
}

/// An open event stream.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(h: &common::Harness, id: &str, key: &str, last: Option<&str>) -> Self {
        let mut request = h
            .http
            .get(h.url(&format!("/v1/verifications/{id}/events")))
            .bearer_auth(key);
        if let Some(last) = last {
            request = request.header("Last-Event-ID", last);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event, `None` when the server closed the stream. Panics
    /// after 5 s without one.
    async fn next(&mut self) -> Option<Sse> {
        let read = async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let mut sse = Sse {
                        id: None,
                        event: String::new(),
                        data: Value::Null,
                    };
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("id: ") {
                            sse.id = Some(v.to_owned());
                        } else if let Some(v) = line.strip_prefix("event: ") {
                            sse.event = v.to_owned();
                        } else if let Some(v) = line.strip_prefix("data: ") {
                            sse.data = serde_json::from_str(v).unwrap();
                        }
                    }
                    if sse.event.is_empty() {
                        continue; // a comment (heartbeat)
                    }
                    return Some(sse);
                }
                match self.response.chunk().await.unwrap() {
                    Some(bytes) => self.buffer.push_str(std::str::from_utf8(&bytes).unwrap()),
                    None => return None,
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(5), read)
            .await
            .expect("an event or the end of the stream within 5 s")
    }
}

async fn stream_tells_each_change_and_closes_at_the_end(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    h.telephony
        .set(Script::FailAfter(Duration::from_millis(600), "busy".into()));
    let (id, _) = h.create_ok(PHONE).await;
    let mut stream = Stream::open(&h, &id, &h.pk, None).await;
    let first = stream.next().await.unwrap();
    assert_eq!(first.event, "calling");
    assert_eq!(first.data["id"], id.as_str());
    let failed = stream.next().await.unwrap();
    assert_eq!(failed.event, "failed");
    assert_eq!(failed.data["failure_reason"], "busy");
    let ids: Vec<i64> = [&first, &failed]
        .iter()
        .map(|e| e.id.as_deref().unwrap().parse().unwrap())
        .collect();
    assert!(ids[0] < ids[1], "{ids:?}");
    // A failed call is not final (typing or a resend may still work), so
    // the stream stays open; an approval ends it.
    let code = h.code_of(&id);
    assert_eq!(h.check_code(&id, &code).await.status, StatusCode::OK);
    assert_eq!(stream.next().await.unwrap().event, "approved");
    assert!(stream.next().await.is_none(), "closed after a final state");

    // Ringing and delivered, in order, then canceled.
    h.telephony.set(Script::Deliver);
    let (id, _) = h.create_ok("+447400123457").await;
    h.wait_status(&id, "delivered").await;
    let mut stream = Stream::open(&h, &id, &h.pk, None).await;
    assert_eq!(stream.next().await.unwrap().event, "delivered");
    let a = h
        .call(
            Method::DELETE,
            &format!("/v1/verifications/{id}"),
            Some(&h.pk),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(stream.next().await.unwrap().event, "canceled");
    assert!(stream.next().await.is_none());
    h.stop().await;
}

async fn stream_resumes_after_the_last_event_id(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    h.telephony
        .set(Script::FailAfter(Duration::from_millis(800), "busy".into()));
    let (id, _) = h.create_ok(PHONE).await;
    let mut stream = Stream::open(&h, &id, &h.pk, None).await;
    let calling = stream.next().await.unwrap();
    drop(stream);
    // Resuming after `calling`: nothing is repeated, the failure follows.
    let last = calling.id.unwrap();
    let mut stream = Stream::open(&h, &id, &h.pk, Some(&last)).await;
    let next = stream.next().await.unwrap();
    assert_eq!(next.event, "failed");
    assert_ne!(next.id.as_deref(), Some(last.as_str()));
    // Resuming after the last change of a live verification waits.
    let last = next.id.unwrap();
    drop(stream);
    let mut stream = Stream::open(&h, &id, &h.pk, Some(&last)).await;
    let quiet = tokio::time::timeout(Duration::from_millis(700), stream.next()).await;
    assert!(quiet.is_err(), "nothing new: {quiet:?}");
    // A final state is always told, even to a client that saw it.
    drop(stream);
    let a = h
        .call(
            Method::DELETE,
            &format!("/v1/verifications/{id}"),
            Some(&h.pk),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let mut stream = Stream::open(&h, &id, &h.pk, None).await;
    let end = stream.next().await.unwrap();
    assert_eq!(end.event, "canceled");
    drop(stream);
    let mut stream = Stream::open(&h, &id, &h.pk, end.id.as_deref()).await;
    assert_eq!(stream.next().await.unwrap().event, "canceled");
    assert!(stream.next().await.is_none());
    h.stop().await;
}

async fn a_resend_is_streamed_with_its_new_caller(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let (id, _) = h.create_ok(PHONE).await;
    h.wait_status(&id, "delivered").await;
    let mut stream = Stream::open(&h, &id, &h.pk, None).await;
    assert_eq!(stream.next().await.unwrap().event, "delivered");
    h.telephony
        .set(Script::FailAfter(Duration::from_secs(3), "busy".into()));
    h.advance(Duration::from_secs(30));
    let resent = h.resend(&id).await;
    assert_eq!(resent.status, StatusCode::ACCEPTED, "{:?}", resent.body);
    let event = stream.next().await.unwrap();
    assert_eq!(event.event, "calling");
    assert_eq!(event.data["caller"], resent.body["caller"]);
    assert_eq!(event.data["expires_at"], resent.body["expires_at"]);
    h.stop().await;
}

async fn expiry_is_streamed_and_closes(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let (id, _) = h.create_ok(PHONE).await;
    h.wait_status(&id, "delivered").await;
    let mut stream = Stream::open(&h, &id, &h.pk, None).await;
    assert_eq!(stream.next().await.unwrap().event, "delivered");
    // The TTL runs out on the clock alone: no write announces it.
    h.advance(Duration::from_secs(301));
    assert_eq!(stream.next().await.unwrap().event, "expired");
    assert!(stream.next().await.is_none());
    h.stop().await;
}

async fn stream_is_private_to_its_app(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let (id, _) = h.create_ok(PHONE).await;
    let (other_pk, _) = h.other_app("other").await;
    let path = format!("/v1/verifications/{id}/events");
    h.call(Method::GET, &path, Some(&other_pk), None)
        .await
        .problem(404, "not-found");
    h.call(Method::GET, &path, None, None)
        .await
        .problem(401, "unauthorized");
    h.call(
        Method::GET,
        "/v1/verifications/vf_nope/events",
        Some(&h.pk),
        None,
    )
    .await
    .problem(404, "not-found");
    let report = format!("/v1/verifications/{id}/report");
    h.call(
        Method::POST,
        &report,
        Some(&other_pk),
        Some(json!({"observation": "user_typed"})),
    )
    .await
    .problem(404, "not-found");
    h.stop().await;
}

async fn a_failed_call_can_be_typed_or_resent(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    h.telephony.set(Script::Fail("busy".into()));
    // A declined call fails as busy, yet the phone showed the number.
    let (id, code) = h.create_ok(PHONE).await;
    h.wait_status(&id, "failed").await;
    assert_eq!(h.check_code(&id, &code).await.status, StatusCode::OK);
    // A resend places a new call, which may be delivered.
    let (id, _) = h.create_ok("+447400123457").await;
    h.wait_status(&id, "failed").await;
    h.telephony.set(Script::Deliver);
    h.advance(Duration::from_secs(30));
    let a = h.resend(&id).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.body);
    h.wait_status(&id, "delivered").await;
    assert_eq!(
        h.check_code(&id, &h.code_of(&id)).await.status,
        StatusCode::OK
    );
    h.stop().await;
}

async fn reports_are_stored_per_country(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let (gb, _) = h.create_ok(PHONE).await;
    let (us, _) = h.create_ok("+12025550123").await;
    let report = |id: &str| format!("/v1/verifications/{id}/report");
    for (id, observation) in [
        (&gb, "call_seen_late"),
        // A later report replaces the earlier one.
        (&gb, "call_not_seen"),
        (&us, "no_permission"),
    ] {
        let a = h
            .call(
                Method::POST,
                &report(id),
                Some(&h.pk),
                Some(json!({ "observation": observation })),
            )
            .await;
        assert_eq!(a.status, StatusCode::NO_CONTENT, "{:?}", a.body);
    }
    h.call(
        Method::POST,
        &report(&gb),
        Some(&h.pk),
        Some(json!({"observation": "bored"})),
    )
    .await
    .problem(400, "invalid-request");
    let counts = h.server.state.store.report_counts(&h.app_id).await.unwrap();
    assert_eq!(
        counts,
        vec![
            (Some("GB".to_owned()), "call_not_seen".to_owned(), 1),
            (Some("US".to_owned()), "no_permission".to_owned(), 1),
        ]
    );
    h.stop().await;
}

/// Two instances on one PostgreSQL database: the app's stream is served by
/// the instance that did not place the call, and still sees it fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stream_sees_a_call_placed_by_another_instance() {
    let config = Arc::new(Mutex::new(None));
    let keep = Arc::clone(&config);
    let Some(h) = harness(Backend::Postgres, move |c| {
        *keep.lock().unwrap() = Some(c.clone());
    })
    .await
    else {
        return;
    };
    let config = config.lock().unwrap().clone().unwrap();
    let other = motp_server::server::start(
        config,
        motp_server::server::Overrides {
            clock: Some(h.clock.clone()),
            telephony: None,
            recorder: None,
        },
    )
    .await
    .unwrap();
    h.telephony
        .set(Script::FailAfter(Duration::from_millis(500), "busy".into()));
    let (id, _) = h.create_ok(PHONE).await;
    let response = h
        .http
        .get(format!("{}/v1/verifications/{id}/events", other.url()))
        .bearer_auth(&h.pk)
        .send()
        .await
        .unwrap();
    let mut stream = Stream {
        response,
        buffer: String::new(),
    };
    assert_eq!(stream.next().await.unwrap().event, "calling");
    let failed = stream.next().await.unwrap();
    assert_eq!(failed.event, "failed");
    assert_eq!(failed.data["failure_reason"], "busy");
    drop(stream);
    other.stop().await;
    h.stop().await;
}
