//! Placing a flash call for a verification and persisting its progress:
//! `calling` → `ringing` → `delivered` or `failed(reason)`.

use std::sync::Arc;
use std::time::Duration;

use motp_core::protocol::VerificationStatus;
use tokio::sync::mpsc;
use tokio::time::{timeout_at, Instant};

use crate::phone::mask;
use crate::state::AppState;
use crate::telephony::record::PlacedCall;
use crate::telephony::{CallProgress, FlashCall};

/// Slack on top of the provider's own settle time, for scheduling.
const PROVIDER_GRACE: Duration = Duration::from_secs(1);

/// Starts the call for `verification_id` (call number `call_seq`) in the
/// background. The call is recorded first (when a recorder is configured),
/// so it is visible to tests as soon as the API has answered.
pub fn place(
    state: &Arc<AppState>,
    app_id: &str,
    verification_id: &str,
    callee: &str,
    caller: String,
    call_seq: i64,
) {
    if let Some(recorder) = &state.recorder {
        recorder.record(PlacedCall {
            verification_id: verification_id.to_string(),
            app_id: app_id.to_string(),
            caller: caller.clone(),
            callee: callee.to_string(),
            sequence: call_seq,
            placed_at_ms: state.now(),
        });
    }
    let ring_for = Duration::from_secs(state.config.telephony.ring_secs);
    let answer_timeout = Duration::from_secs(state.config.telephony.answer_timeout_secs);
    let call = FlashCall {
        verification_id: verification_id.to_string(),
        caller,
        callee: callee.to_string(),
        ring_for,
        answer_timeout,
    };
    let state = Arc::clone(state);
    tokio::spawn(async move {
        let id = call.verification_id.clone();
        let to = mask(&call.callee);
        let provider = Arc::clone(&state.telephony);
        let deadline =
            Instant::now() + answer_timeout + ring_for + provider.settle_time() + PROVIDER_GRACE;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let placing = tokio::spawn(async move { provider.place(call, tx).await });
        let outcome = loop {
            let mut event = timeout_at(deadline, rx.recv()).await;
            // Events already queued supersede this one (the log provider
            // reports ringing and delivered at once): one write, not two.
            while let Ok(Some(CallProgress::Ringing)) = &event {
                match rx.try_recv() {
                    Ok(next) => event = Ok(Some(next)),
                    Err(_) => break,
                }
            }
            match event {
                Ok(Some(CallProgress::Ringing)) => {
                    tracing::debug!(verification = %id, %to, "ringing");
                    persist(&state, &id, call_seq, VerificationStatus::Ringing, None).await;
                }
                Ok(Some(CallProgress::Delivered)) => break Ok(()),
                Ok(Some(CallProgress::Failed { reason })) => break Err(sanitize(&reason)),
                Ok(None) => break Err("provider_error".to_string()),
                Err(_) => {
                    placing.abort();
                    break Err("timeout".to_string());
                }
            }
        };
        let provider = state.telephony.name();
        match outcome {
            Ok(()) => {
                tracing::info!(verification = %id, %to, provider, "call delivered");
                persist(&state, &id, call_seq, VerificationStatus::Delivered, None).await;
                state.metrics.delivered.inc();
                state.metrics.call_outcome(provider, "delivered");
            }
            Err(reason) => {
                tracing::warn!(verification = %id, %to, provider, %reason, "call failed");
                state
                    .metrics
                    .failed
                    .get_or_create(&[("reason", reason.clone())])
                    .inc();
                state.metrics.call_outcome(provider, "failed");
                persist(
                    &state,
                    &id,
                    call_seq,
                    VerificationStatus::Failed,
                    Some(&reason),
                )
                .await;
            }
        }
    });
}

async fn persist(
    state: &AppState,
    id: &str,
    call_seq: i64,
    status: VerificationStatus,
    reason: Option<&str>,
) {
    if let Err(error) = state
        .store
        .call_progress(id, call_seq, status, reason)
        .await
    {
        tracing::error!(verification = %id, %error, "could not record call progress");
    }
}

/// Reasons come from providers and end up in API answers and metric
/// labels: keep them short and plain.
fn sanitize(reason: &str) -> String {
    let clean: String = reason
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ' '))
        .take(48)
        .collect();
    if clean.is_empty() {
        "unknown".into()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reasons_are_sanitised() {
        assert_eq!(super::sanitize("busy"), "busy");
        assert_eq!(super::sanitize("486 Busy Here\r\nX: y"), "486 Busy HereX y");
        assert_eq!(super::sanitize("\u{1F4A9}"), "unknown");
        assert_eq!(super::sanitize(&"a".repeat(100)).len(), 48);
    }
}
