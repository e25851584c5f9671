//! Follows a verification on the server while the app waits for its call:
//! the server's event stream (`GET /v1/verifications/{id}/events`),
//! reconnecting with backoff, or polling `GET` where the stream is refused
//! or held back by a proxy that buffers responses. Each view of the
//! verification goes to the machine as [`Event::ServerUpdate`].

use std::time::Duration;

use reqwest::StatusCode;

use crate::error::MotpError;
use crate::http::HttpApi;
use crate::machine::Event;
use crate::protocol::Verification;
use crate::sse::SseReader;

/// How long the first event may take. The server sends the current state at
/// once, so a stream that stays silent is held back by a buffering proxy.
pub const FIRST_EVENT_TIMEOUT: Duration = Duration::from_secs(3);

/// Longest silence on an open stream; the server sends a heartbeat every
/// 15 s, so a longer one means the connection died unnoticed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(40);

/// Between two polls of `GET` when the stream cannot be used.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Wait before the first reconnection; doubled after each failure.
const FIRST_RECONNECT: Duration = Duration::from_millis(500);
/// Longest wait between two reconnections.
const MAX_RECONNECT: Duration = Duration::from_secs(15);

/// A stream lives at most this long before it is opened again.
const STREAM_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// How following the stream ended.
enum Outcome {
    /// The server closed it after a final state, or the machine is gone.
    Over,
    /// Refused (404, 406…, not an event stream) or held back: poll instead.
    Unusable,
    /// Cut off; reconnect. `progressed`: events came before the cut.
    Broken { progressed: bool },
}

/// Follows verification `id` until it ends or the task is aborted, handing
/// every view of it to `send` (which returns `false` once no one listens).
pub(crate) async fn follow(
    api: HttpApi,
    id: String,
    generation: u32,
    send: impl Fn(Event) -> bool,
) {
    let deliver = |verification: Verification| {
        send(Event::ServerUpdate {
            generation,
            verification,
        })
    };
    let mut last_event_id: Option<String> = None;
    let mut failures: u32 = 0;
    loop {
        match stream(&api, &id, &mut last_event_id, &deliver).await {
            Outcome::Over => return,
            Outcome::Unusable => {
                log::debug!("the event stream cannot be used here; polling instead");
                return poll(&api, &id, &deliver).await;
            }
            Outcome::Broken { progressed } => {
                failures = if progressed { 1 } else { failures + 1 };
                let wait = FIRST_RECONNECT
                    .saturating_mul(1 << (failures - 1).min(8))
                    .min(MAX_RECONNECT);
                log::debug!("the event stream broke; reconnecting in {wait:?}");
                tokio::time::sleep(wait).await;
            }
        }
    }
}

async fn stream(
    api: &HttpApi,
    id: &str,
    last_event_id: &mut Option<String>,
    deliver: &impl Fn(Verification) -> bool,
) -> Outcome {
    let broken = Outcome::Broken { progressed: false };
    let response = match api
        .open_events(id, last_event_id.as_deref(), STREAM_LIFETIME)
        .await
    {
        Ok(response) => response,
        Err(_) => return broken,
    };
    let status = response.status();
    let is_stream = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/event-stream"));
    match status {
        s if s.is_success() && is_stream => {}
        // Not ours to fix by reconnecting: the key or the verification is
        // gone, and the machine hears it from its own requests.
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => return Outcome::Over,
        s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => return broken,
        // 404 from an older server or a proxy, 405, 406, an HTML page…
        _ => return Outcome::Unusable,
    }
    read(response, last_event_id, deliver).await
}

async fn read(
    mut response: reqwest::Response,
    last_event_id: &mut Option<String>,
    deliver: &impl Fn(Verification) -> bool,
) -> Outcome {
    let mut reader = SseReader::default();
    let mut progressed = false;
    loop {
        let timeout = if progressed {
            IDLE_TIMEOUT
        } else {
            FIRST_EVENT_TIMEOUT
        };
        let chunk = match tokio::time::timeout(timeout, response.chunk()).await {
            Ok(Ok(Some(chunk))) => chunk,
            // The server closed the stream: after a final state, or when it
            // shut down (then the reconnection finds another instance).
            Ok(Ok(None)) | Ok(Err(_)) => return Outcome::Broken { progressed },
            Err(_) if !progressed => return Outcome::Unusable,
            Err(_) => return Outcome::Broken { progressed },
        };
        for event in reader.feed(&chunk) {
            let verification = match serde_json::from_str::<Verification>(&event.data) {
                Ok(verification) => verification,
                Err(_) => continue, // an event of a newer server
            };
            progressed = true;
            if event.id.is_some() {
                *last_event_id = event.id;
            }
            let over = verification.status.is_final()
                && verification.status != crate::protocol::VerificationStatus::Failed;
            if !deliver(verification) || over {
                return Outcome::Over;
            }
        }
    }
}

async fn poll(api: &HttpApi, id: &str, deliver: &impl Fn(Verification) -> bool) {
    loop {
        match api.get(id).await {
            Ok(dated) => {
                let status = dated.value.status;
                let over =
                    status.is_final() && status != crate::protocol::VerificationStatus::Failed;
                if !deliver(dated.value) || over {
                    return;
                }
            }
            Err(MotpError::NotFound | MotpError::Unauthorized) => return,
            Err(_) => {}
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
