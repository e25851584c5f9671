//! Test scaffolding shared by the client and driver tests: a loopback HTTP
//! server, a clock that follows tokio's paused time, a fake mOTP server and
//! a recording state listener.

#![allow(dead_code)] // Each test crate uses a different part.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use motp_core::protocol::{
    problem_types, CallerInfo, CheckRequest, CheckResponse, Problem, Verification,
    VerificationStatus, PROBLEM_JSON,
};
use motp_core::Timestamp;
use motp_core::VerificationState;
use motp_core::{CallerIdMatcher, CallerPattern};
use motp_core::{Clock, VerificationListener};
use serde_json::Value;
use tokio::sync::Semaphore;

pub const PUBLISHABLE_KEY: &str = "pk_test_123";

/// Serves `router` on an ephemeral loopback port; returns its base URL.
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    format!("http://{address}")
}

/// A loopback URL where nothing listens: connections are refused.
pub async fn refused_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

/// An RFC 9457 problem response with the stable `type` slug.
pub fn problem(status: u16, slug: &str, extra: Value) -> Response {
    let mut body = serde_json::json!({
        "type": format!("{}{slug}", problem_types::PROBLEM_BASE),
        "title": slug,
        "status": status,
    });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    Response::builder()
        .status(status)
        .header("content-type", PROBLEM_JSON)
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// A wall clock that advances with tokio's (pausable) clock.
#[derive(Debug)]
pub struct TokioClock {
    wall: SystemTime,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// Must be called inside the tokio runtime under test.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            wall: SystemTime::now(),
            start: tokio::time::Instant::now(),
        })
    }
}

impl Clock for TokioClock {
    fn now(&self) -> SystemTime {
        self.wall + self.start.elapsed()
    }
}

/// Formats an IMF-fixdate HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn http_date(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let days = (secs / 86_400) as i64;
    let (h, m, s) = (secs % 86_400 / 3_600, secs % 3_600 / 60, secs % 60);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{weekday}, {day:02} {} {year} {h:02}:{m:02}:{s:02} GMT",
        months[(month - 1) as usize]
    )
}

/// Records every state a listener hears.
#[derive(Debug, Default)]
pub struct Recorder {
    states: Mutex<Vec<VerificationState>>,
}

impl Recorder {
    pub fn states(&self) -> Vec<VerificationState> {
        self.states.lock().unwrap().clone()
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.states().iter().map(VerificationState::name).collect()
    }
}

impl VerificationListener for Recorder {
    fn on_state_changed(&self, state: VerificationState) -> Result<(), motp_core::MotpError> {
        self.states.lock().unwrap().push(state);
        Ok(())
    }
}

/// One request the fake server received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub body: Value,
}

/// Settings of the fake server.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    pub prefix: String,
    pub code_length: u8,
    pub ttl: Duration,
    pub resend_after: Duration,
    pub attempts: u32,
    /// How `GET /v1/verifications/{id}/events` answers.
    pub events: EventsMode,
}

/// How the fake serves the event stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventsMode {
    /// No such route (404), as an older server or a proxy that refuses it.
    Missing,
    /// A stream of every change, closed after a final state.
    Stream,
    /// A stream whose first `cut` connections are cut after one event.
    CutFirst(usize),
    /// A 200 `text/event-stream` that never delivers a byte: a proxy that
    /// buffers the response.
    Buffered,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            prefix: "+442079460".to_owned(),
            code_length: 3,
            ttl: Duration::from_secs(300),
            resend_after: Duration::from_secs(60),
            attempts: 3,
            events: EventsMode::Missing,
        }
    }
}

struct FakeVerification {
    phone_number: String,
    code: String,
    status: VerificationStatus,
    expires_at: SystemTime,
    resend_after: SystemTime,
    attempts_left: u32,
    failure_reason: Option<String>,
}

struct FakeInner {
    config: FakeConfig,
    /// Codes handed out by the next calls; "123" when empty.
    codes: VecDeque<String>,
    verifications: HashMap<String, FakeVerification>,
    requests: Vec<Recorded>,
    /// The caller numbers of the calls placed, in order.
    calls: Vec<String>,
    next_id: u32,
}

/// An in-memory mOTP server that follows the `/v1` protocol, on the same
/// clock as the SDK under test.
pub struct FakeServer {
    pub url: String,
    pub clock: Arc<TokioClock>,
    state: Arc<FakeState>,
}

struct FakeState {
    clock: Arc<TokioClock>,
    inner: Mutex<FakeInner>,
    /// When set, creates wait for a permit before answering.
    create_gate: Mutex<Option<Arc<Semaphore>>>,
    /// When set, checks wait for a permit before answering.
    check_gate: Mutex<Option<Arc<Semaphore>>>,
    /// Checks still to answer 503 before looking at them.
    failing_checks: Mutex<u32>,
    /// Counts status changes, for the event streams.
    changes: tokio::sync::watch::Sender<u64>,
    /// Event streams opened so far.
    streams_opened: std::sync::atomic::AtomicUsize,
}

impl FakeServer {
    pub async fn start(config: FakeConfig) -> Self {
        let clock = TokioClock::new();
        let state = Arc::new(FakeState {
            clock: Arc::clone(&clock),
            inner: Mutex::new(FakeInner {
                config,
                codes: VecDeque::new(),
                verifications: HashMap::new(),
                requests: Vec::new(),
                calls: Vec::new(),
                next_id: 0,
            }),
            create_gate: Mutex::new(None),
            check_gate: Mutex::new(None),
            failing_checks: Mutex::new(0),
            changes: tokio::sync::watch::Sender::new(0),
            streams_opened: std::sync::atomic::AtomicUsize::new(0),
        });
        let router = Router::new()
            .route("/v1/verifications", post(create))
            .route("/v1/verifications/{id}", get(fetch).delete(cancel))
            .route("/v1/verifications/{id}/check", post(check))
            .route("/v1/verifications/{id}/resend", post(resend))
            .route("/v1/verifications/{id}/report", post(report))
            .route("/v1/verifications/{id}/events", get(events))
            .with_state(Arc::clone(&state));
        let url = serve(router).await;
        Self { url, clock, state }
    }

    /// Codes for the next calls placed, in order.
    pub fn queue_codes(&self, codes: &[&str]) {
        let mut inner = self.state.inner.lock().unwrap();
        inner.codes.extend(codes.iter().map(|c| (*c).to_owned()));
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.inner.lock().unwrap().requests.clone()
    }

    /// Requests whose method and path end match.
    pub fn requests_to(&self, method: &str, path_end: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path.ends_with(path_end))
            .collect()
    }

    /// The caller number of the latest call placed (E.164).
    pub fn last_call(&self) -> String {
        let inner = self.state.inner.lock().unwrap();
        inner.calls.last().cloned().expect("a call was placed")
    }

    pub fn calls_placed(&self) -> usize {
        self.state.inner.lock().unwrap().calls.len()
    }

    /// The server-side status of verification `id`.
    pub fn status(&self, id: &str) -> VerificationStatus {
        let inner = self.state.inner.lock().unwrap();
        inner.verifications[id].status
    }

    /// Sets the server-side status of verification `id`, as the call's
    /// progress would, and tells the open event streams.
    pub fn set_status(&self, id: &str, status: VerificationStatus, reason: Option<&str>) {
        {
            let mut inner = self.state.inner.lock().unwrap();
            let v = inner.verifications.get_mut(id).unwrap();
            v.status = status;
            v.failure_reason = reason.map(str::to_owned);
        }
        self.state.changes.send_modify(|n| *n += 1);
    }

    /// How many event streams were opened.
    pub fn streams_opened(&self) -> usize {
        self.state
            .streams_opened
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Makes checks wait until the returned semaphore gets permits.
    pub fn hold_checks(&self) -> Arc<Semaphore> {
        let gate = Arc::new(Semaphore::new(0));
        *self.state.check_gate.lock().unwrap() = Some(Arc::clone(&gate));
        gate
    }

    /// Answers the next `n` checks with 503, as an overloaded server or a
    /// proxy would, without looking at them.
    pub fn fail_next_checks(&self, n: u32) {
        *self.state.failing_checks.lock().unwrap() = n;
    }

    /// Makes creates wait until the returned semaphore gets permits.
    pub fn hold_creates(&self) -> Arc<Semaphore> {
        let gate = Arc::new(Semaphore::new(0));
        *self.state.create_gate.lock().unwrap() = Some(Arc::clone(&gate));
        gate
    }

    /// Waits (in paused time, without sleeping for real) until `predicate`
    /// holds for the recorded requests.
    pub async fn wait_for_requests(&self, predicate: impl Fn(&[Recorded]) -> bool) {
        for _ in 0..10_000 {
            if predicate(&self.requests()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("the expected requests never came: {:?}", self.requests());
    }
}

impl FakeState {
    fn record(&self, method: &str, path: String, body: Value) {
        let mut inner = self.inner.lock().unwrap();
        inner.requests.push(Recorded {
            method: method.to_owned(),
            path,
            body,
        });
    }

    fn dated(&self, status: StatusCode, body: impl serde::Serialize) -> Response {
        let mut response = (status, Json(body)).into_response();
        let date = HeaderValue::from_str(&http_date(self.clock.now())).unwrap();
        response.headers_mut().insert("date", date);
        response
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {PUBLISHABLE_KEY}"))
}

fn describe(id: &str, v: &FakeVerification, config: &FakeConfig) -> Verification {
    Verification {
        id: id.to_owned(),
        status: v.status,
        phone_number: v.phone_number.clone(),
        caller: CallerInfo {
            prefix: config.prefix.clone(),
            code_length: config.code_length,
        },
        expires_at: Timestamp(v.expires_at),
        resend_after: Timestamp(v.resend_after),
        attempts_left: v.attempts_left,
        failure_reason: v.failure_reason.clone(),
    }
}

fn place_call(inner: &mut FakeInner) -> String {
    let code = inner.codes.pop_front().unwrap_or_else(|| "123".to_owned());
    inner.calls.push(format!("{}{code}", inner.config.prefix));
    code
}

async fn create(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    state.record("POST", "/v1/verifications".to_owned(), body.clone());
    let gate = state.create_gate.lock().unwrap().clone();
    if let Some(gate) = gate {
        gate.acquire().await.unwrap().forget();
    }
    if !authorized(&headers) {
        return problem(401, problem_types::UNAUTHORIZED, Value::Null);
    }
    let phone = body["phone_number"].as_str().unwrap_or_default().to_owned();
    let valid = phone.starts_with('+') && phone[1..].bytes().all(|b| b.is_ascii_digit());
    if !valid || phone.len() < 8 {
        let detail = serde_json::json!({ "detail": format!("{phone} is not a phone number") });
        return problem(400, problem_types::INVALID_PHONE_NUMBER, detail);
    }
    if phone.starts_with("+882") {
        let detail = serde_json::json!({ "detail": "international networks are not allowed" });
        return problem(403, problem_types::DESTINATION_NOT_ALLOWED, detail);
    }
    let now = state.clock.now();
    let mut inner = state.inner.lock().unwrap();
    inner.next_id += 1;
    let id = format!("ver_{}", inner.next_id);
    let code = place_call(&mut inner);
    let config = inner.config.clone();
    let verification = FakeVerification {
        phone_number: phone,
        code,
        status: VerificationStatus::Calling,
        expires_at: now + config.ttl,
        resend_after: now + config.resend_after,
        attempts_left: config.attempts,
        failure_reason: None,
    };
    let body = describe(&id, &verification, &config);
    inner.verifications.insert(id, verification);
    drop(inner);
    state.dated(StatusCode::CREATED, body)
}

async fn fetch(State(state): State<Arc<FakeState>>, Path(id): Path<String>) -> Response {
    state.record("GET", format!("/v1/verifications/{id}"), Value::Null);
    let inner = state.inner.lock().unwrap();
    match inner.verifications.get(&id) {
        Some(v) => {
            let body = describe(&id, v, &inner.config);
            drop(inner);
            state.dated(StatusCode::OK, body)
        }
        None => problem(404, problem_types::NOT_FOUND, Value::Null),
    }
}

async fn check(
    State(state): State<Arc<FakeState>>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    state.record(
        "POST",
        format!("/v1/verifications/{id}/check"),
        body.clone(),
    );
    let gate = state.check_gate.lock().unwrap().clone();
    if let Some(gate) = gate {
        gate.acquire().await.unwrap().forget();
    }
    {
        let mut failing = state.failing_checks.lock().unwrap();
        if *failing > 0 {
            *failing -= 1;
            return problem(503, problem_types::UNAVAILABLE, Value::Null);
        }
    }
    let request: CheckRequest = serde_json::from_value(body).unwrap();
    let now = state.clock.now();
    let mut inner = state.inner.lock().unwrap();
    let config = inner.config.clone();
    let Some(v) = inner.verifications.get_mut(&id) else {
        return problem(404, problem_types::NOT_FOUND, Value::Null);
    };
    match v.status {
        VerificationStatus::Approved => {
            return problem(409, problem_types::ALREADY_USED, Value::Null)
        }
        VerificationStatus::Canceled => return problem(404, problem_types::NOT_FOUND, Value::Null),
        _ => {}
    }
    if now >= v.expires_at {
        v.status = VerificationStatus::Expired;
        return problem(410, problem_types::EXPIRED, Value::Null);
    }
    if v.attempts_left == 0 {
        return problem(410, problem_types::ATTEMPTS_EXHAUSTED, Value::Null);
    }
    // The server decides: it matches the raw caller ID itself.
    let code = match (request.code, request.caller_id) {
        (Some(code), None) => code,
        (None, Some(caller_id)) => {
            let pattern = CallerPattern::new(&config.prefix, config.code_length).unwrap();
            let country = request.home_country.as_deref().unwrap_or("GB");
            let matcher = CallerIdMatcher::new(pattern, country).unwrap();
            matcher.match_number(&caller_id).unwrap_or_default()
        }
        _ => return problem(400, problem_types::INVALID_REQUEST, Value::Null),
    };
    if code == v.code {
        v.status = VerificationStatus::Approved;
        let token = format!("tok_{id}");
        return (
            StatusCode::OK,
            Json(CheckResponse {
                status: VerificationStatus::Approved,
                token,
            }),
        )
            .into_response();
    }
    v.attempts_left -= 1;
    let attempts_left = v.attempts_left;
    problem(
        422,
        problem_types::WRONG_CODE,
        serde_json::json!({ "attempts_left": attempts_left }),
    )
}

async fn resend(State(state): State<Arc<FakeState>>, Path(id): Path<String>) -> Response {
    state.record(
        "POST",
        format!("/v1/verifications/{id}/resend"),
        Value::Null,
    );
    let now = state.clock.now();
    let mut inner = state.inner.lock().unwrap();
    let config = inner.config.clone();
    let Some(v) = inner.verifications.get(&id) else {
        return problem(404, problem_types::NOT_FOUND, Value::Null);
    };
    if now < v.resend_after {
        let wait = v.resend_after.duration_since(now).unwrap().as_secs() + 1;
        let mut response = problem(
            429,
            problem_types::RATE_LIMITED,
            serde_json::json!({ "retry_after": wait }),
        );
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from(wait));
        return response;
    }
    let code = place_call(&mut inner);
    let v = inner.verifications.get_mut(&id).unwrap();
    v.code = code;
    v.expires_at = now + config.ttl;
    v.resend_after = now + config.resend_after;
    v.attempts_left = config.attempts;
    v.status = VerificationStatus::Calling;
    v.failure_reason = None;
    let body = describe(&id, v, &config);
    drop(inner);
    state.dated(StatusCode::ACCEPTED, body)
}

async fn cancel(State(state): State<Arc<FakeState>>, Path(id): Path<String>) -> Response {
    state.record("DELETE", format!("/v1/verifications/{id}"), Value::Null);
    let mut inner = state.inner.lock().unwrap();
    match inner.verifications.get_mut(&id) {
        Some(v) => {
            v.status = VerificationStatus::Canceled;
            StatusCode::NO_CONTENT.into_response()
        }
        None => problem(404, problem_types::NOT_FOUND, Value::Null),
    }
}

/// Asserts the static guarantees the FFI relies on.
pub fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}

/// Problem bodies are valid `Problem`s (guards the helper itself).
pub fn parse_problem(body: &str) -> Problem {
    serde_json::from_str(body).unwrap()
}

async fn report(
    State(state): State<Arc<FakeState>>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    state.record("POST", format!("/v1/verifications/{id}/report"), body);
    StatusCode::NO_CONTENT.into_response()
}

async fn events(State(state): State<Arc<FakeState>>, Path(id): Path<String>) -> Response {
    use axum::response::sse::{Event, Sse};
    use std::sync::atomic::Ordering;
    state.record("GET", format!("/v1/verifications/{id}/events"), Value::Null);
    let mode = state.inner.lock().unwrap().config.events;
    let opened = state.streams_opened.fetch_add(1, Ordering::SeqCst);
    let cut = match mode {
        EventsMode::Missing => return problem(404, problem_types::NOT_FOUND, Value::Null),
        EventsMode::Buffered => {
            let never = futures_util::stream::pending::<Result<Event, std::convert::Infallible>>();
            return Sse::new(never).into_response();
        }
        EventsMode::Stream => false,
        EventsMode::CutFirst(n) => opened < n,
    };
    let changes = state.changes.subscribe();
    let stream = futures_util::stream::unfold(
        (state, changes, 0u32, false),
        move |(state, mut changes, sent, done)| {
            let id = id.clone();
            async move {
                if done || (cut && sent == 1) {
                    return None;
                }
                if sent > 0 {
                    changes.changed().await.ok()?;
                }
                changes.borrow_and_update();
                let body = {
                    let inner = state.inner.lock().unwrap();
                    describe(&id, inner.verifications.get(&id)?, &inner.config)
                };
                let over = body.status.is_final() && body.status != VerificationStatus::Failed;
                let event = Event::default()
                    .id(format!("{}", sent + 1))
                    .event(body.status.as_str())
                    .json_data(&body)
                    .unwrap();
                Some((
                    Ok::<_, std::convert::Infallible>(event),
                    (state, changes, sent + 1, over),
                ))
            }
        },
    );
    Sse::new(stream).into_response()
}
