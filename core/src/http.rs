//! The HTTP transport of the `/v1` protocol.
//!
//! [`HttpApi`] speaks the wire protocol and nothing more: it sends one
//! request per call, maps every failure to a [`MotpError`], and retries only
//! where that is safe. Apps never use it directly: a
//! [`MotpClient`](crate::MotpClient) runs it for them.
//!
//! # Retries
//!
//! Only idempotent calls ([`get`](HttpApi::get) and
//! [`cancel`](HttpApi::cancel)) are retried, and only after a transient
//! failure: the server could not be reached, did not answer in time, or
//! answered 502, 503 or 504. Creating a verification, checking a code and
//! resending are never retried, because repeating them could place a second
//! call or spend a second attempt. Waits between retries grow exponentially
//! with random jitter; a `Retry-After` header on a 503 sets the wait instead.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, DATE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::MotpError;
use crate::protocol::{
    problem_types, CheckRequest, CheckResponse, CreateVerificationRequest, Observation, Problem,
    ReportRequest, Verification,
};
use crate::redact::redact_numbers;
use crate::time::Dated;

/// Default time allowed for one HTTP exchange, connection included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest response body read; anything longer is an invalid response.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// `Retry-After` assumed when a 429 carries none.
const DEFAULT_RETRY_AFTER_SECS: u64 = 1;

/// How idempotent calls are retried after a transient failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included. `1` disables retries.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each further retry.
    pub initial_backoff: Duration,
    /// Upper bound of one wait.
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this is not waited for: the error is
    /// returned to the caller instead.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before retry number `retry` (1 for the first retry): an
    /// exponential backoff with "equal jitter", between half and all of
    /// `initial_backoff * 2^(retry-1)`, capped at `max_backoff`.
    fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(
                1u32.checked_shl(retry.saturating_sub(1))
                    .unwrap_or(u32::MAX),
            )
            .min(self.max_backoff);
        let half = exp / 2;
        let jitter_ns = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let extra = if jitter_ns == 0 {
            0
        } else {
            random_u64() % (jitter_ns + 1)
        };
        half + Duration::from_nanos(extra)
    }
}

/// Client for the mOTP `/v1` API, authenticated with a publishable key.
///
/// Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct HttpApi {
    http: reqwest::Client,
    base_url: String,
    authorization: HeaderValue,
    retry: RetryPolicy,
}

impl std::fmt::Debug for HttpApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of debug output.
        f.debug_struct("HttpApi")
            .field("base_url", &self.base_url)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl HttpApi {
    /// A client for the server at `server_url` (e.g. `https://api.example.com`;
    /// the `/v1` routes are appended), sending `publishable_key` as a bearer
    /// token. Each HTTP exchange, connection included, must finish within
    /// `request_timeout`.
    ///
    /// Fails with [`MotpError::InvalidInput`] for a malformed URL, an empty
    /// key, a zero timeout, or a *secret* key (`sk_…`), which must never be
    /// shipped inside an app.
    ///
    /// Needs no async runtime to construct; the calls run on tokio.
    pub fn new(
        server_url: &str,
        publishable_key: &str,
        request_timeout: Duration,
    ) -> Result<Self, MotpError> {
        let invalid = |reason: &str| MotpError::InvalidInput {
            reason: reason.to_owned(),
        };
        let url = reqwest::Url::parse(server_url.trim())
            .map_err(|_| invalid("server_url is not a valid URL"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(invalid("server_url must be an http(s) URL with a host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("server_url must not have a query or fragment"));
        }
        let key = publishable_key.trim();
        if key.is_empty() {
            return Err(invalid("publishable_key is empty"));
        }
        if key.starts_with("sk_") {
            return Err(invalid(
                "a secret key (sk_…) must never be used in an app; use the publishable key (pk_…)",
            ));
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {key}"))
            .map_err(|_| invalid("publishable_key contains characters not allowed in a header"))?;
        authorization.set_sensitive(true);
        if request_timeout.is_zero() {
            return Err(invalid("request_timeout must be more than zero"));
        }
        let http = reqwest::Client::builder()
            .timeout(request_timeout)
            .connect_timeout(request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("motp-core/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| MotpError::Internal {
                reason: format!("cannot build the HTTP client: {}", e.without_url()),
            })?;
        Ok(Self {
            http,
            base_url: url.as_str().trim_end_matches('/').to_owned(),
            authorization,
            retry: RetryPolicy::default(),
        })
    }

    /// The same client with another retry policy.
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The retry policy in use.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// `POST /v1/verifications`: asks the server to call `phone_number`.
    /// Never retried.
    pub async fn create(
        &self,
        request: &CreateVerificationRequest,
    ) -> Result<Dated<Verification>, MotpError> {
        self.send(Method::POST, "/v1/verifications", Some(request), false)
            .await
    }

    /// `GET /v1/verifications/{id}`: the verification as the server sees it.
    /// Retried after transient failures.
    pub async fn get(&self, id: &str) -> Result<Dated<Verification>, MotpError> {
        let path = verification_path(id, "")?;
        self.send::<(), _>(Method::GET, &path, None, true).await
    }

    /// `POST /v1/verifications/{id}/check` with a typed code or the raw
    /// caller ID. Never retried: each check spends an attempt.
    pub async fn check(
        &self,
        id: &str,
        request: &CheckRequest,
    ) -> Result<CheckResponse, MotpError> {
        let path = verification_path(id, "/check")?;
        self.send(Method::POST, &path, Some(request), false)
            .await
            .map(|dated| dated.value)
    }

    /// `POST /v1/verifications/{id}/resend`: a new call with a new code.
    /// Never retried.
    pub async fn resend(&self, id: &str) -> Result<Dated<Verification>, MotpError> {
        let path = verification_path(id, "/resend")?;
        self.send::<(), _>(Method::POST, &path, None, false).await
    }

    /// `POST /v1/verifications/{id}/report`: what the phone saw of a
    /// verification that ended without an automatic match. Never retried:
    /// it only feeds the server's figures.
    pub async fn report(&self, id: &str, observation: Observation) -> Result<(), MotpError> {
        let path = verification_path(id, "/report")?;
        let body = ReportRequest { observation };
        self.send::<_, Empty>(Method::POST, &path, Some(&body), false)
            .await
            .map(|_| ())
    }

    /// Opens `GET /v1/verifications/{id}/events` (server-sent events),
    /// resuming after `last_event_id`. Returns the response whatever its
    /// status; fails only when no response came. The stream may stay open
    /// for as long as `lifetime`.
    pub(crate) async fn open_events(
        &self,
        id: &str,
        last_event_id: Option<&str>,
        lifetime: Duration,
    ) -> Result<reqwest::Response, MotpError> {
        let path = verification_path(id, "/events")?;
        let mut request = self
            .http
            .get(format!("{}{path}", self.base_url))
            .timeout(lifetime)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(last) = last_event_id {
            request = request.header("last-event-id", last);
        }
        request
            .send()
            .await
            .map_err(|e| Failure::transport(e).error)
    }

    /// `DELETE /v1/verifications/{id}`. Retried after transient failures.
    pub async fn cancel(&self, id: &str) -> Result<(), MotpError> {
        let path = verification_path(id, "")?;
        self.send::<(), Empty>(Method::DELETE, &path, None, true)
            .await
            .map(|_| ())
    }

    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        idempotent: bool,
    ) -> Result<Dated<T>, MotpError> {
        let mut attempt = 1;
        loop {
            let failure = match self.send_once(method.clone(), path, body).await {
                Ok(dated) => return Ok(dated),
                Err(failure) => failure,
            };
            let retry = idempotent && attempt < self.retry.max_attempts && failure.retryable;
            if !retry {
                return Err(failure.error);
            }
            let wait = match failure.retry_after {
                Some(after) if after > self.retry.max_retry_after => return Err(failure.error),
                Some(after) => after,
                None => self.retry.backoff(attempt),
            };
            log::debug!(
                "{method} {} failed ({}); retry {attempt} in {wait:?}",
                redact_path(path),
                failure.error
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn send_once<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Dated<T>, Failure> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .header(AUTHORIZATION, self.authorization.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        let mut response = request.send().await.map_err(Failure::transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = read_body(&mut response).await?;
        if status.is_success() {
            let value = decode_json::<T>(&bytes).map_err(Failure::fatal)?;
            return Ok(Dated {
                value,
                server_date: header_date(&headers),
            });
        }
        Err(Failure::from_status(status, &headers, &bytes))
    }
}

/// The body of a 204: nothing to decode.
struct Empty;

impl<'de> serde::Deserialize<'de> for Empty {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| Empty)
    }
}

fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, MotpError> {
    // An empty body (a 204, or a 200 to DELETE) reads as JSON `null`: the
    // unit-like `Empty` accepts it, every real body type refuses it.
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"null".as_slice()
    } else {
        bytes
    };
    serde_json::from_slice(bytes).map_err(|e| json_error(&e))
}

/// Describes a JSON error without quoting the input, which may hold a number.
fn json_error(e: &serde_json::Error) -> MotpError {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "unreadable body",
        Category::Syntax => "malformed JSON",
        Category::Data => "JSON of an unexpected shape",
        Category::Eof => "truncated JSON",
    };
    MotpError::InvalidResponse {
        reason: format!("{what} at line {} column {}", e.line(), e.column()),
    }
}

/// `/v1/verifications/{id}{suffix}`, refusing ids that could escape the path.
fn verification_path(id: &str, suffix: &str) -> Result<String, MotpError> {
    let safe = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !safe {
        return Err(MotpError::InvalidInput {
            reason: "malformed verification id".to_owned(),
        });
    }
    Ok(format!("/v1/verifications/{id}{suffix}"))
}

/// The path without the verification id, for logs.
fn redact_path(path: &str) -> String {
    match path.strip_prefix("/v1/verifications/") {
        Some(rest) => match rest.find('/') {
            Some(slash) => format!("/v1/verifications/…{}", &rest[slash..]),
            None => "/v1/verifications/…".to_owned(),
        },
        None => path.to_owned(),
    }
}

async fn read_body(response: &mut reqwest::Response) -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Failure::transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(Failure::fatal(MotpError::InvalidResponse {
                reason: format!("response body larger than {MAX_BODY_BYTES} bytes"),
            }));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A failed attempt, with what the retry loop needs to know.
struct Failure {
    error: MotpError,
    retryable: bool,
    retry_after: Option<Duration>,
}

impl Failure {
    fn fatal(error: MotpError) -> Self {
        Self {
            error,
            retryable: false,
            retry_after: None,
        }
    }

    fn transport(e: reqwest::Error) -> Self {
        let error = if e.is_timeout() {
            MotpError::Timeout
        } else {
            MotpError::Network {
                reason: describe_transport_error(&e),
            }
        };
        Self {
            error,
            retryable: true,
            retry_after: None,
        }
    }

    fn from_status(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Self {
        let retry_after = header_retry_after(headers);
        let code = status.as_u16();
        let problem = parse_problem(headers, body);
        let error = match &problem {
            Some(problem) => error_from_problem(problem, code, retry_after),
            None => None,
        }
        .unwrap_or_else(|| error_from_status(code, retry_after));
        Self {
            error,
            retryable: matches!(code, 502..=504),
            retry_after: retry_after.filter(|_| code == 503),
        }
    }
}

/// The innermost cause of a transport error, without the URL.
fn describe_transport_error(e: &reqwest::Error) -> String {
    let what = if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "connection lost while reading the response"
    } else {
        "request failed"
    };
    let mut innermost = None;
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        innermost = Some(c.to_string());
        cause = c.source();
    }
    match innermost {
        Some(detail) if !detail.is_empty() => format!("{what}: {}", redact_numbers(&detail)),
        _ => what.to_owned(),
    }
}

fn parse_problem(headers: &HeaderMap, body: &[u8]) -> Option<Problem> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media != crate::protocol::PROBLEM_JSON && media != "application/json" {
        return None;
    }
    serde_json::from_slice(body).ok()
}

/// Maps a problem document by its stable `type`; `None` for unknown types.
fn error_from_problem(
    problem: &Problem,
    status: u16,
    header_retry_after: Option<Duration>,
) -> Option<MotpError> {
    let slug = problem
        .problem_type
        .strip_prefix(problem_types::PROBLEM_BASE)
        .unwrap_or(&problem.problem_type);
    let reason = || {
        redact_numbers(
            problem
                .detail
                .as_deref()
                .filter(|d| !d.trim().is_empty())
                .unwrap_or(&problem.title),
        )
    };
    let error = match slug {
        problem_types::WRONG_CODE => match problem.attempts_left {
            Some(attempts_left) => MotpError::WrongCode { attempts_left },
            None => MotpError::InvalidResponse {
                reason: "wrong-code problem without attempts_left".to_owned(),
            },
        },
        problem_types::EXPIRED | problem_types::ATTEMPTS_EXHAUSTED => MotpError::Expired,
        problem_types::ALREADY_USED => MotpError::AlreadyUsed,
        problem_types::RATE_LIMITED => MotpError::RateLimited {
            retry_after_secs: header_retry_after
                .map(|d| d.as_secs())
                .or(problem.retry_after)
                .unwrap_or(DEFAULT_RETRY_AFTER_SECS),
        },
        problem_types::UNAUTHORIZED => MotpError::Unauthorized,
        problem_types::DESTINATION_NOT_ALLOWED => {
            MotpError::DestinationNotAllowed { reason: reason() }
        }
        problem_types::INVALID_PHONE_NUMBER => MotpError::InvalidPhoneNumber { reason: reason() },
        problem_types::INVALID_REQUEST | problem_types::PAYLOAD_TOO_LARGE => {
            MotpError::InvalidInput { reason: reason() }
        }
        problem_types::NOT_FOUND => MotpError::NotFound,
        problem_types::INTERNAL | problem_types::UNAVAILABLE => MotpError::Server { status },
        _ => return None,
    };
    Some(error)
}

/// The error for a status without a problem document we understand.
fn error_from_status(status: u16, retry_after: Option<Duration>) -> MotpError {
    match status {
        429 => MotpError::RateLimited {
            retry_after_secs: retry_after
                .map(|d| d.as_secs())
                .unwrap_or(DEFAULT_RETRY_AFTER_SECS),
        },
        500..=599 => MotpError::Server { status },
        _ => MotpError::InvalidResponse {
            reason: format!("HTTP {status} without a problem document"),
        },
    }
}

fn header_date(headers: &HeaderMap) -> Option<SystemTime> {
    httpdate::parse_http_date(headers.get(DATE)?.to_str().ok()?).ok()
}

/// `Retry-After` as delta-seconds or an HTTP date (RFC 9110 §10.2.3),
/// rounded up to whole seconds.
fn header_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    let wait = at.duration_since(SystemTime::now()).unwrap_or_default();
    Some(Duration::from_secs(
        wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    ))
}

/// A pseudo-random number for jitter, without a dependency: std's hasher
/// keys are random per process, and the counter makes each call differ.
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
            max_retry_after: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let first = policy.backoff(1);
            assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&first));
            let second = policy.backoff(2);
            assert!((Duration::from_millis(100)..=Duration::from_millis(200)).contains(&second));
            let late = policy.backoff(40);
            assert!(late <= Duration::from_millis(350));
            assert!(late >= Duration::from_millis(175));
        }
    }

    #[test]
    fn verification_ids_cannot_escape_the_path() {
        assert!(verification_path("abc_123-X", "").is_ok());
        assert!(verification_path("../admin", "").is_err());
        assert!(verification_path("a/b", "").is_err());
        assert!(verification_path("", "").is_err());
        assert!(verification_path("a?b", "").is_err());
        assert_eq!(
            redact_path("/v1/verifications/abc/check"),
            "/v1/verifications/…/check"
        );
    }

    #[test]
    fn secret_keys_and_bad_urls_are_refused() {
        let t = Duration::from_secs(1);
        assert!(HttpApi::new("https://api.example.com", "pk_test", t).is_ok());
        assert!(matches!(
            HttpApi::new("https://api.example.com", "sk_live_x", t),
            Err(MotpError::InvalidInput { .. })
        ));
        assert!(HttpApi::new("ftp://example.com", "pk", t).is_err());
        assert!(HttpApi::new("not a url", "pk", t).is_err());
        assert!(HttpApi::new("https://api.example.com", "", t).is_err());
        assert!(HttpApi::new("https://api.example.com", "pk", Duration::ZERO).is_err());
        assert!(HttpApi::new("https://api.example.com", "pk\n", t).is_ok());
        assert!(HttpApi::new("https://api.example.com", "p\u{7f}k", t).is_err());
    }
}
