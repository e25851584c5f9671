//! `HttpApi` against a real HTTP server on loopback: every error kind is
//! typed, retries happen only where safe (counted server-side), and
//! `Retry-After` is honoured. Time is tokio's paused clock: timeouts and
//! backoffs take no real time.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::Router;
use motp_core::protocol::{problem_types as types, CheckRequest, CreateVerificationRequest};
use motp_core::MotpError;
use motp_core::{HttpApi, RetryPolicy};
use serde_json::{json, Value};
use tokio::time::Instant;

use support::{http_date, problem, refused_url, serve};

const TIMEOUT: Duration = Duration::from_secs(2);

/// Builds one response; `None` never answers.
type Step = Arc<dyn Fn() -> Option<Response> + Send + Sync>;

#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    authorization: Option<String>,
    body: Bytes,
}

/// A server that plays `steps` in order (repeating the last one) on any
/// route, and counts what it receives.
struct Script {
    steps: Vec<Step>,
    hits: AtomicUsize,
    seen: Mutex<Vec<(Instant, Seen)>>,
}

impl Script {
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, s)| s.clone())
            .collect()
    }

    fn times(&self) -> Vec<Instant> {
        self.seen.lock().unwrap().iter().map(|(t, _)| *t).collect()
    }
}

async fn play(
    State(script): State<Arc<Script>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let n = script.hits.fetch_add(1, Ordering::SeqCst);
    let authorization = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned());
    script.seen.lock().unwrap().push((
        Instant::now(),
        Seen {
            method,
            path: uri.path().to_owned(),
            authorization,
            body,
        },
    ));
    let step = Arc::clone(&script.steps[n.min(script.steps.len() - 1)]);
    match step() {
        Some(response) => response,
        None => std::future::pending().await,
    }
}

async fn scripted(steps: Vec<Step>) -> (HttpApi, Arc<Script>) {
    let script = Arc::new(Script {
        steps,
        hits: AtomicUsize::new(0),
        seen: Mutex::new(Vec::new()),
    });
    let url = serve(Router::new().fallback(play).with_state(Arc::clone(&script))).await;
    let client = HttpApi::new(&url, support::PUBLISHABLE_KEY, TIMEOUT).unwrap();
    (client, script)
}

fn respond(make: impl Fn() -> Response + Send + Sync + 'static) -> Step {
    Arc::new(move || Some(make()))
}

fn hang() -> Step {
    Arc::new(|| None)
}

fn raw(status: u16, content_type: &'static str, body: &'static str) -> Step {
    respond(move || {
        Response::builder()
            .status(status)
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap()
    })
}

fn json_body(status: u16, value: Value) -> Step {
    respond(move || {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::from(value.to_string()))
            .unwrap()
    })
}

fn prob(status: u16, slug: &'static str, extra: Value) -> Step {
    respond(move || problem(status, slug, extra.clone()))
}

fn with_header(step: Step, name: &'static str, value: String) -> Step {
    Arc::new(move || {
        step().map(|mut r| {
            r.headers_mut().insert(name, value.parse().unwrap());
            r
        })
    })
}

fn verification_json() -> Value {
    json!({
        "id": "ver_1",
        "status": "calling",
        "phone_number": "+447700900123",
        "caller": { "prefix": "+442079460", "code_length": 3 },
        "expires_at": "2030-01-01T00:05:00Z",
        "resend_after": "2030-01-01T00:01:00Z",
        "attempts_left": 3,
    })
}

fn create_request() -> CreateVerificationRequest {
    CreateVerificationRequest {
        phone_number: "+447700900123".to_owned(),
        country: Some("GB".to_owned()),
    }
}

/// Calls each API function once, by name.
async fn call(client: &HttpApi, which: &str) -> Result<(), MotpError> {
    match which {
        "create" => client.create(&create_request()).await.map(|_| ()),
        "get" => client.get("ver_1").await.map(|_| ()),
        "check" => client
            .check("ver_1", &CheckRequest::with_code("123"))
            .await
            .map(|_| ()),
        "resend" => client.resend("ver_1").await.map(|_| ()),
        "cancel" => client.cancel("ver_1").await,
        other => unreachable!("{other}"),
    }
}

const ALL_CALLS: [&str; 5] = ["create", "get", "check", "resend", "cancel"];

fn idempotent(which: &str) -> bool {
    matches!(which, "get" | "cancel")
}

// ---------------------------------------------------------------- success

#[tokio::test(start_paused = true)]
async fn create_sends_the_key_and_body_and_decodes_the_answer() {
    let (client, script) = scripted(vec![json_body(201, verification_json())]).await;
    let created = client.create(&create_request()).await.unwrap();
    assert_eq!(created.value.id, "ver_1");
    assert_eq!(created.value.caller.code_length, 3);
    // hyper stamps a Date header; it reads as the real time.
    let date = created.server_date.expect("a Date header");
    let skew = SystemTime::now()
        .duration_since(date)
        .unwrap_or_else(|e| e.duration());
    assert!(skew < Duration::from_secs(5), "{skew:?}");

    let seen = &script.seen()[0];
    assert_eq!(seen.method, Method::POST);
    assert_eq!(seen.path, "/v1/verifications");
    assert_eq!(
        seen.authorization.as_deref(),
        Some("Bearer pk_test_123"),
        "publishable key as bearer token"
    );
    let body: Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(
        body,
        json!({ "phone_number": "+447700900123", "country": "GB" })
    );
}

#[tokio::test(start_paused = true)]
async fn every_route_and_body_is_as_the_protocol_says() {
    let steps = vec![
        json_body(200, verification_json()),
        json_body(200, json!({ "status": "approved", "token": "tok" })),
        json_body(202, verification_json()),
        raw(204, "text/plain", ""),
    ];
    let (client, script) = scripted(steps).await;
    assert_eq!(client.get("ver_1").await.unwrap().value.id, "ver_1");
    let check = CheckRequest::with_caller_id("020 7946 0123", Some("GB".to_owned()));
    assert_eq!(client.check("ver_1", &check).await.unwrap().token, "tok");
    assert_eq!(client.resend("ver_1").await.unwrap().value.id, "ver_1");
    client.cancel("ver_1").await.unwrap();
    let seen: Vec<(Method, String)> = script
        .seen()
        .into_iter()
        .map(|s| (s.method, s.path))
        .collect();
    assert_eq!(
        seen,
        [
            (Method::GET, "/v1/verifications/ver_1".to_owned()),
            (Method::POST, "/v1/verifications/ver_1/check".to_owned()),
            (Method::POST, "/v1/verifications/ver_1/resend".to_owned()),
            (Method::DELETE, "/v1/verifications/ver_1".to_owned()),
        ]
    );
    let check_body: Value = serde_json::from_slice(&script.seen()[1].body).unwrap();
    assert_eq!(
        check_body,
        json!({ "caller_id": "020 7946 0123", "home_country": "GB" })
    );
}

#[tokio::test(start_paused = true)]
async fn malformed_ids_are_refused_before_any_request() {
    let (client, script) = scripted(vec![json_body(200, verification_json())]).await;
    for id in ["", "../admin", "a/b", "a?b=c", "ver 1"] {
        assert!(matches!(
            client.get(id).await,
            Err(MotpError::InvalidInput { .. })
        ));
    }
    assert_eq!(script.hits(), 0);
}

// ---------------------------------------------------------------- 4xx

#[tokio::test(start_paused = true)]
async fn each_problem_type_maps_to_its_error() {
    let cases: Vec<(Step, MotpError)> = vec![
        (
            prob(422, types::WRONG_CODE, json!({ "attempts_left": 2 })),
            MotpError::WrongCode { attempts_left: 2 },
        ),
        (prob(410, types::EXPIRED, Value::Null), MotpError::Expired),
        (
            prob(410, types::ATTEMPTS_EXHAUSTED, Value::Null),
            MotpError::Expired,
        ),
        (
            prob(409, types::ALREADY_USED, Value::Null),
            MotpError::AlreadyUsed,
        ),
        (
            prob(401, types::UNAUTHORIZED, Value::Null),
            MotpError::Unauthorized,
        ),
        (
            prob(
                403,
                types::DESTINATION_NOT_ALLOWED,
                json!({ "detail": "premium-rate numbers are not called" }),
            ),
            MotpError::DestinationNotAllowed {
                reason: "premium-rate numbers are not called".to_owned(),
            },
        ),
        (
            prob(
                400,
                types::INVALID_PHONE_NUMBER,
                json!({ "detail": "too few digits" }),
            ),
            MotpError::InvalidPhoneNumber {
                reason: "too few digits".to_owned(),
            },
        ),
        (
            prob(
                400,
                types::INVALID_REQUEST,
                json!({ "detail": "bad field" }),
            ),
            MotpError::InvalidInput {
                reason: "bad field".to_owned(),
            },
        ),
        (
            prob(404, types::NOT_FOUND, Value::Null),
            MotpError::NotFound,
        ),
        (
            prob(429, types::RATE_LIMITED, json!({ "retry_after": 12 })),
            MotpError::RateLimited {
                retry_after_secs: 12,
            },
        ),
    ];
    for (step, expected) in cases {
        let (client, script) = scripted(vec![step]).await;
        let error = call(&client, "create").await.unwrap_err();
        assert_eq!(error, expected);
        assert_eq!(script.hits(), 1, "{expected:?} is not retried");
    }
}

#[tokio::test(start_paused = true)]
async fn problem_types_are_matched_as_bare_slugs_and_with_plain_json() {
    let bare = respond(|| {
        Response::builder()
            .status(410)
            .header("content-type", "application/json; charset=utf-8")
            .body(Body::from(
                json!({ "type": "expired", "title": "Expired", "status": 410 }).to_string(),
            ))
            .unwrap()
    });
    let (client, _) = scripted(vec![bare]).await;
    assert_eq!(call(&client, "check").await, Err(MotpError::Expired));
}

#[tokio::test(start_paused = true)]
async fn error_messages_never_carry_a_number_or_a_code() {
    let detail = json!({ "detail": "+44 7700 900123 is not valid; code 48213 refused" });
    let (client, _) = scripted(vec![prob(400, types::INVALID_PHONE_NUMBER, detail)]).await;
    let error = call(&client, "create").await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, MotpError::InvalidPhoneNumber { .. }));
    for secret in ["7700", "900123", "48213"] {
        assert!(!message.contains(secret), "{message}");
    }
    assert!(message.contains("is not valid"), "{message}");
}

// ---------------------------------------------------------------- 5xx

#[tokio::test(start_paused = true)]
async fn server_errors_are_typed_with_their_status() {
    let cases = [
        (prob(500, types::INTERNAL, Value::Null), 500),
        (raw(502, "text/html", "<h1>Bad gateway</h1>"), 502),
        (prob(503, types::UNAVAILABLE, Value::Null), 503),
        (raw(504, "text/plain", ""), 504),
        (json_body(507, json!({ "oops": true })), 507),
    ];
    for (step, status) in cases {
        let (client, _) = scripted(vec![step]).await;
        let error = call(&client, "create").await.unwrap_err();
        assert_eq!(error, MotpError::Server { status });
        assert!(error.is_transient());
    }
}

// ---------------------------------------------------------------- transport

#[tokio::test(start_paused = true)]
async fn a_silent_server_times_out() {
    let (client, script) = scripted(vec![hang()]).await;
    let started = Instant::now();
    assert_eq!(call(&client, "create").await, Err(MotpError::Timeout));
    assert_eq!(script.hits(), 1);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= TIMEOUT && elapsed < TIMEOUT + Duration::from_millis(100),
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_refused_connection_is_a_network_error() {
    let client = HttpApi::new(&refused_url().await, "pk_x", TIMEOUT).unwrap();
    for which in ALL_CALLS {
        match call(&client, which).await {
            Err(MotpError::Network { reason }) => {
                assert!(reason.contains("connect"), "{reason}");
                assert!(!reason.contains("127.0.0.1"), "no URL: {reason}");
            }
            other => panic!("{which}: {other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn malformed_answers_are_invalid_responses() {
    let cases = [
        raw(201, "application/json", "{not json"),
        raw(201, "text/html", "<html>welcome</html>"),
        json_body(201, json!({ "id": "ver_1" })),
        json_body(201, json!([1, 2, 3])),
        raw(404, "text/html", "<h1>Not Found</h1>"),
        raw(400, PROBLEM_JSON_STR, "{broken"),
        prob(418, "teapot", Value::Null),
        prob(422, types::WRONG_CODE, Value::Null),
    ];
    for step in cases {
        let (client, script) = scripted(vec![step]).await;
        let error = call(&client, "create").await.unwrap_err();
        assert!(
            matches!(error, MotpError::InvalidResponse { .. }),
            "{error:?}"
        );
        assert_eq!(script.hits(), 1);
    }
}

const PROBLEM_JSON_STR: &str = motp_core::protocol::PROBLEM_JSON;

#[tokio::test(start_paused = true)]
async fn a_huge_answer_is_refused() {
    let huge = respond(|| {
        let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(1 << 20));
        Response::builder()
            .status(201)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap()
    });
    let (client, _) = scripted(vec![huge]).await;
    assert!(matches!(
        call(&client, "create").await,
        Err(MotpError::InvalidResponse { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn json_errors_do_not_quote_the_body() {
    let leaky = json_body(201, json!({ "id": 447700900123u64 }));
    let (client, _) = scripted(vec![leaky]).await;
    let message = call(&client, "create").await.unwrap_err().to_string();
    assert!(!message.contains("447700900123"), "{message}");
}

// ---------------------------------------------------------------- retries

#[tokio::test(start_paused = true)]
async fn only_idempotent_calls_are_retried_after_transient_failures() {
    let transient = [
        raw(502, "text/html", "bad gateway"),
        prob(503, types::UNAVAILABLE, Value::Null),
        raw(504, "text/plain", "gateway timeout"),
        hang(),
    ];
    let attempts = RetryPolicy::default().max_attempts as usize;
    for step in transient {
        for which in ALL_CALLS {
            let (client, script) = scripted(vec![step.clone()]).await;
            let error = call(&client, which).await.unwrap_err();
            assert!(error.is_transient(), "{which}: {error:?}");
            let expected = if idempotent(which) { attempts } else { 1 };
            assert_eq!(script.hits(), expected, "{which} after {error:?}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn definite_answers_are_never_retried() {
    let definite = [
        prob(500, types::INTERNAL, Value::Null),
        prob(429, types::RATE_LIMITED, Value::Null),
        prob(404, types::NOT_FOUND, Value::Null),
        prob(401, types::UNAUTHORIZED, Value::Null),
        raw(200, "application/json", "{not json"),
    ];
    for step in definite {
        for which in ["get", "cancel"] {
            let (client, script) = scripted(vec![step.clone()]).await;
            call(&client, which).await.unwrap_err();
            assert_eq!(script.hits(), 1, "{which}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_retry_can_succeed() {
    let steps = vec![
        prob(503, types::UNAVAILABLE, Value::Null),
        raw(502, "text/html", "bad gateway"),
        json_body(200, verification_json()),
    ];
    let (client, script) = scripted(steps).await;
    assert_eq!(client.get("ver_1").await.unwrap().value.id, "ver_1");
    assert_eq!(script.hits(), 3);
}

#[tokio::test(start_paused = true)]
async fn retries_back_off_exponentially_with_jitter() {
    let (client, script) = scripted(vec![prob(503, types::UNAVAILABLE, Value::Null)]).await;
    call(&client, "get").await.unwrap_err();
    let times = script.times();
    assert_eq!(times.len(), 3);
    let policy = RetryPolicy::default();
    let first = times[1] - times[0];
    let second = times[2] - times[1];
    let base = policy.initial_backoff;
    assert!(first >= base / 2 && first <= base, "{first:?}");
    assert!(second >= base && second <= base * 2, "{second:?}");
}

#[tokio::test(start_paused = true)]
async fn a_custom_retry_policy_is_used() {
    let (client, script) = scripted(vec![prob(503, types::UNAVAILABLE, Value::Null)]).await;
    let client = client.with_retry_policy(RetryPolicy {
        max_attempts: 5,
        ..RetryPolicy::default()
    });
    call(&client, "get").await.unwrap_err();
    assert_eq!(script.hits(), 5);
    let (client, script) = scripted(vec![prob(503, types::UNAVAILABLE, Value::Null)]).await;
    let client = client.with_retry_policy(RetryPolicy::none());
    call(&client, "get").await.unwrap_err();
    assert_eq!(script.hits(), 1);
}

// ---------------------------------------------------------------- Retry-After

#[tokio::test(start_paused = true)]
async fn rate_limits_carry_the_retry_after_header() {
    let limited = || prob(429, types::RATE_LIMITED, json!({ "retry_after": 99 }));
    // The header wins over the body.
    let (client, _) = scripted(vec![with_header(limited(), "retry-after", "7".into())]).await;
    assert_eq!(
        call(&client, "resend").await,
        Err(MotpError::RateLimited {
            retry_after_secs: 7
        })
    );
    // An HTTP date.
    let at = http_date(SystemTime::now() + Duration::from_secs(30));
    let (client, _) = scripted(vec![with_header(limited(), "retry-after", at)]).await;
    match call(&client, "create").await {
        Err(MotpError::RateLimited { retry_after_secs }) => {
            assert!((28..=31).contains(&retry_after_secs), "{retry_after_secs}")
        }
        other => panic!("{other:?}"),
    }
    // Neither header nor body: one second.
    let (client, _) = scripted(vec![raw(429, "text/plain", "slow down")]).await;
    assert_eq!(
        call(&client, "create").await,
        Err(MotpError::RateLimited {
            retry_after_secs: 1
        })
    );
}

#[tokio::test(start_paused = true)]
async fn a_retry_waits_for_retry_after() {
    let unavailable = with_header(
        prob(503, types::UNAVAILABLE, Value::Null),
        "retry-after",
        "3".into(),
    );
    let (client, script) = scripted(vec![unavailable, json_body(200, verification_json())]).await;
    client.get("ver_1").await.unwrap();
    let times = script.times();
    assert_eq!(times.len(), 2);
    let waited = times[1] - times[0];
    assert!(
        waited >= Duration::from_secs(3) && waited < Duration::from_millis(3100),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_too_long_is_returned_instead_of_waited_for() {
    let unavailable = with_header(
        prob(503, types::UNAVAILABLE, Value::Null),
        "retry-after",
        "3600".into(),
    );
    let (client, script) = scripted(vec![unavailable]).await;
    let started = Instant::now();
    assert_eq!(
        call(&client, "get").await,
        Err(MotpError::Server { status: 503 })
    );
    assert_eq!(script.hits(), 1);
    assert!(started.elapsed() < Duration::from_secs(1));
}
