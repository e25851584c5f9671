//! The dispatcher: claims due deliveries from the outbox, sends them with
//! at most `max_in_flight` in flight and a timeout each, and records each
//! outcome (delivered; or retry later with exponential backoff and jitter;
//! or given up past the horizon). At least once: a delivery is marked done
//! only after the receiver answered 2xx, so a kill between the commit of an
//! event and its delivery (or during it) means it is sent after the restart
//! (at once if it was not claimed yet, else when its claim lapses).
//!
//! Wall-clock time throughout (the injected `wall` clock): retries happen in
//! real time, and receivers check `webhook-timestamp` against their clock.
//! The expiry sweep alone uses the API clock, the one `expires_at` is in.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, USER_AGENT};
use tokio::task::JoinSet;

use super::config::WebhooksConfig;
use super::{event, sign};
use crate::clock::Clock;
use crate::codes::random_bytes;
use crate::state::AppState;
use crate::storage::webhooks::{AttemptOutcome, DueDelivery};

/// Most deliveries claimed by one query.
const CLAIM_BATCH: usize = 256;
/// A claim lasts the attempt's timeout plus this, then the delivery is due
/// again (for this or another instance).
const LEASE_SLACK_MS: i64 = 5_000;
/// Verifications expired per sweep statement.
const SWEEP_BATCH: i64 = 1_000;

/// Runs the dispatcher and the expiry sweep until the task is aborted
/// (attempts in flight are aborted with it and sent again after their
/// claim lapses).
pub async fn run(state: Arc<AppState>, wall: Arc<dyn Clock>) {
    let config = state.config.webhooks.clone();
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(config.timeout_secs))
        .connect_timeout(Duration::from_secs(config.timeout_secs))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "webhooks: no HTTP client; nothing will be delivered");
            return;
        }
    };
    let metrics = &state.metrics.webhooks;
    let poll = Duration::from_millis(config.poll_ms);
    let mut attempts: JoinSet<AttemptOutcome> = JoinSet::new();
    let mut finished: Vec<AttemptOutcome> = Vec::new();
    let mut last_chores = tokio::time::Instant::now() - Duration::from_secs(60);
    let mut chores_round = 0u64;
    loop {
        while let Some(done) = attempts.try_join_next() {
            if let Ok(outcome) = done {
                finished.push(outcome);
            }
        }
        if !finished.is_empty() {
            // On failure the claims lapse and the deliveries are sent
            // again: at least once, never lost.
            if let Err(error) = state.store.finish_webhook_attempts(&finished).await {
                tracing::warn!(%error, "webhooks: could not record delivery outcomes");
            }
            finished.clear();
        }
        metrics.in_flight.set(attempts.len() as i64);

        let free = config.max_in_flight.saturating_sub(attempts.len());
        let wanted = free.min(CLAIM_BATCH);
        let mut claimed = 0;
        if wanted > 0 {
            let now = wall.now_ms();
            let lease_until = now + secs_ms(config.timeout_secs) + LEASE_SLACK_MS;
            match state
                .store
                .claim_webhook_deliveries(now, lease_until, wanted)
                .await
            {
                Ok(due) => {
                    claimed = due.len();
                    for delivery in due {
                        let http = http.clone();
                        let wall = Arc::clone(&wall);
                        let config = config.clone();
                        let metrics = metrics.clone();
                        attempts.spawn(async move {
                            let outcome = attempt(&http, &delivery, &config, &*wall).await;
                            match &outcome {
                                AttemptOutcome::Delivered { at, .. } => {
                                    metrics.attempt("delivered");
                                    let delay = (at - delivery.occurred_at).max(0) as f64;
                                    metrics.delay_seconds.observe(delay / 1000.0);
                                }
                                AttemptOutcome::Retry { give_up: false, .. } => {
                                    metrics.attempt("retry")
                                }
                                AttemptOutcome::Retry { give_up: true, .. } => {
                                    metrics.attempt("failed");
                                    tracing::warn!(
                                        endpoint = %delivery.endpoint_id,
                                        webhook = %delivery.msg_id,
                                        event = %delivery.event_type,
                                        verification = %delivery.verification_id,
                                        "webhook given up after the retry horizon"
                                    );
                                }
                            }
                            outcome
                        });
                    }
                    metrics.in_flight.set(attempts.len() as i64);
                }
                Err(error) => tracing::warn!(%error, "webhooks: could not read the outbox"),
            }
        }

        if last_chores.elapsed() >= Duration::from_secs(1) {
            last_chores = tokio::time::Instant::now();
            chores(&state, chores_round).await;
            chores_round += 1;
        }

        // More may be due right now: go on at once. Else wait for an attempt
        // to end or for the next poll.
        if claimed == wanted && wanted > 0 {
            continue;
        }
        tokio::select! {
            Some(done) = attempts.join_next(), if !attempts.is_empty() => {
                if let Ok(outcome) = done {
                    finished.push(outcome);
                }
            }
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

/// Once a second: expire the verifications of apps with endpoints whose TTL
/// ran out (so that `verification.expired` is sent without anyone asking);
/// every fifth time, refresh the backlog gauge.
async fn chores(state: &AppState, round: u64) {
    match state.store.expire_watched(state.now(), SWEEP_BATCH).await {
        Ok(0) => {}
        Ok(n) => {
            state.metrics.webhooks.expired.inc_by(n);
            tracing::debug!(verifications = n, "webhooks: expired by the sweep");
        }
        Err(error) => tracing::warn!(%error, "webhooks: expiry sweep failed"),
    }
    if round % 5 == 0 {
        if let Ok(n) = state.store.webhook_backlog().await {
            state.metrics.webhooks.backlog.set(n);
        }
    }
}

/// One attempt at one delivery.
async fn attempt(
    http: &reqwest::Client,
    delivery: &DueDelivery,
    config: &WebhooksConfig,
    wall: &dyn Clock,
) -> AttemptOutcome {
    let body = event::body(delivery);
    let now = wall.now_ms();
    let timestamp = now.div_euclid(1000);
    let mut secrets = vec![delivery.secret.as_str()];
    if let (Some(previous), Some(until)) = (&delivery.previous_secret, delivery.previous_until) {
        if until > now {
            secrets.push(previous);
        }
    }
    let signature = sign::header(&secrets, &delivery.msg_id, timestamp, &body);
    let sent = http
        .post(&delivery.url)
        .header("webhook-id", &delivery.msg_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .header(CONTENT_TYPE, "application/json")
        .header(
            USER_AGENT,
            concat!("motp-webhooks/", env!("CARGO_PKG_VERSION")),
        )
        .body(body)
        .send()
        .await;
    let (status, error) = match sent {
        Ok(response) if response.status().is_success() => {
            return AttemptOutcome::Delivered {
                id: delivery.id,
                at: wall.now_ms(),
                status: response.status().as_u16(),
            };
        }
        Ok(response) => (
            Some(response.status().as_u16()),
            format!("HTTP {}", response.status().as_u16()),
        ),
        Err(e) if e.is_timeout() => (None, "timeout".to_string()),
        Err(e) if e.is_connect() => (None, "connection failed".to_string()),
        // Without the URL, which may carry a token in its query.
        Err(e) => (
            None,
            e.without_url().to_string().chars().take(200).collect(),
        ),
    };
    let now = wall.now_ms();
    let retry_until = delivery
        .retry_until
        .unwrap_or(now + secs_ms(config.retry_horizon_secs));
    let next_attempt_at = now + backoff_ms(config, delivery.attempts + 1, jitter());
    AttemptOutcome::Retry {
        id: delivery.id,
        next_attempt_at,
        retry_until,
        give_up: next_attempt_at > retry_until,
        status,
        error,
    }
}

/// The delay after the `failures`-th failure: `retry_initial_ms` doubled per
/// further failure, at most `retry_max_secs`, scaled into [½, 1] by
/// `jitter` ∈ [0, 1) so that receivers coming back are not hit in step.
pub fn backoff_ms(config: &WebhooksConfig, failures: i64, jitter: f64) -> i64 {
    let exponent = i32::try_from(failures.clamp(1, 40) - 1).unwrap_or(39);
    let base = config.retry_initial_ms as f64 * 2f64.powi(exponent);
    let capped = base.min(config.retry_max_secs as f64 * 1000.0);
    (capped * (0.5 + 0.5 * jitter.clamp(0.0, 1.0))) as i64
}

/// Uniform in [0, 1).
fn jitter() -> f64 {
    (u64::from_le_bytes(random_bytes::<8>()) >> 11) as f64 / (1u64 << 53) as f64
}

fn secs_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX / 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        let config = WebhooksConfig {
            retry_initial_ms: 1000,
            retry_max_secs: 10,
            ..Default::default()
        };
        assert_eq!(backoff_ms(&config, 1, 0.999_999), 999);
        assert_eq!(backoff_ms(&config, 1, 0.0), 500);
        assert_eq!(backoff_ms(&config, 3, 0.0), 2000);
        assert_eq!(backoff_ms(&config, 30, 0.0), 5000);
        assert_eq!(backoff_ms(&config, 1000, 0.999_999), 9999);
        let j = jitter();
        assert!((0.0..1.0).contains(&j));
    }
}
