//! Placing a flash call for a verification and persisting its progress:
//! `calling` → `ringing` → `delivered` or `failed(reason)`.

use std::sync::Arc;
use std::time::Duration;

use motp_core::protocol::VerificationStatus;
use tokio::sync::mpsc;
use tokio::time::{timeout_at, Instant};

use crate::call_control::{StopReason, Ticket};
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
    let ring_for = state.config.telephony.ring_time();
    let answer_timeout = Duration::from_secs(state.config.telephony.answer_timeout_secs);
    let (ticket, stop) = state.calls.register(verification_id, call_seq);
    let call = FlashCall {
        verification_id: verification_id.to_string(),
        caller,
        callee: callee.to_string(),
        ring_for,
        answer_timeout,
        stop,
    };
    let state = Arc::clone(state);
    tokio::spawn(async move {
        let id = call.verification_id.clone();
        let to = mask(&call.callee);
        let destination = crate::stats::labels::destination(&call.callee, &state.config);
        let provider = Arc::clone(&state.telephony);
        let settle = provider.settle_time() + PROVIDER_GRACE;
        let mut deadline = Instant::now() + answer_timeout + ring_for + settle;
        let mut gave_up = false;
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
                Err(_) if !gave_up => {
                    // Giving up means ending the call on the phone first:
                    // the provider CANCELs (or BYEs) and then reports.
                    tracing::warn!(verification = %id, %to, "call overran its deadline; ending it");
                    ticket.stop(StopReason::Deadline);
                    gave_up = true;
                    deadline = Instant::now() + settle;
                }
                Err(_) => {
                    // The provider did not end the call within its own
                    // transaction timeouts after being asked: a provider
                    // bug. Last resort, so the task cannot live forever.
                    tracing::error!(verification = %id, %to, "provider did not end the call when asked");
                    placing.abort();
                    break Err("timeout".to_string());
                }
            }
        };
        record(&state, &ticket, &to, destination, outcome).await;
        state.calls.finish(&ticket);
    });
}

/// Records the final outcome of the call of `ticket`, which has ended on
/// the phone (or never reached it). `destination`: its metric labels.
async fn record(
    state: &AppState,
    ticket: &Ticket,
    to: &str,
    destination: [(&'static str, String); 2],
    outcome: Result<(), String>,
) {
    let id = &ticket.verification_id;
    let call_seq = ticket.call_seq;
    let provider = state.telephony.name();
    let outcome = match ticket.reason() {
        None => outcome,
        Some(StopReason::Deadline) => Err("timeout".to_string()),
        // It rang before the shutdown ended it: the number is in the
        // phone's call log, so it was delivered.
        Some(StopReason::Shutdown) => outcome.map_err(|reason| match reason.as_str() {
            "timeout" | "canceled" => "interrupted".to_string(),
            _ => reason,
        }),
        Some(StopReason::Canceled) => {
            // The verification is already `canceled`; nothing to record.
            tracing::info!(verification = %id, %to, provider, "call canceled");
            state.metrics.call_outcome(provider, "canceled");
            return;
        }
        Some(StopReason::Replaced) => {
            // A resend placed a newer call; this one's status is stale.
            tracing::info!(verification = %id, %to, provider, "call replaced by a resend");
            state.metrics.call_outcome(provider, "replaced");
            return;
        }
    };
    match outcome {
        Ok(()) => {
            tracing::info!(verification = %id, %to, provider, "call delivered");
            persist(state, id, call_seq, VerificationStatus::Delivered, None).await;
            state.metrics.delivered.get_or_create(&destination).inc();
            state.metrics.call_outcome(provider, "delivered");
        }
        Err(reason) => {
            tracing::warn!(verification = %id, %to, provider, %reason, "call failed");
            let [country, trunk] = destination;
            state
                .metrics
                .failed
                .get_or_create(&[("reason", reason.clone()), country, trunk])
                .inc();
            state.metrics.call_outcome(provider, "failed");
            persist(
                state,
                id,
                call_seq,
                VerificationStatus::Failed,
                Some(&reason),
            )
            .await;
        }
    }
}

/// Records call `call_seq` of `id` as `failed`, reason `interrupted`: the
/// process is stopping and could not see the call end in time.
pub async fn record_interrupted(state: &AppState, id: &str, call_seq: i64) {
    // The number, for the labels (from the row cache on SQLite).
    let number = match state.store.get(id).await {
        Ok(Some(row)) => row.phone_number,
        _ => String::new(),
    };
    state
        .metrics
        .call_failed("interrupted", &number, &state.config);
    persist(
        state,
        id,
        call_seq,
        VerificationStatus::Failed,
        Some("interrupted"),
    )
    .await;
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
