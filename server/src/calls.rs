//! Placing a flash call for a verification and persisting its progress:
//! `calling` → `ringing` → `delivered` or `failed(reason)`; when a trunk
//! fails the call, carrying it on through the next trunk of the route
//! ([`crate::telephony::trunks`]).

use std::sync::Arc;
use std::time::Duration;

use motp_core::protocol::VerificationStatus;
use tokio::time::{timeout_at, Instant};

use crate::call_control::{StopReason, Ticket};
use crate::clock::ceil_to_second;
use crate::phone::mask;
use crate::state::AppState;
use crate::storage::{DestinationCaps, Recode};
use crate::telephony::record::PlacedCall;
use crate::telephony::trunks::{Trunk, TrunkOutcome};
use crate::telephony::{progress, CallProgress, FlashCall};

/// Slack on top of the provider's own settle time, for scheduling.
const PROVIDER_GRACE: Duration = Duration::from_secs(1);

/// Starts the call for `verification_id` (call number `call_seq`) in the
/// background, through the trunks of `route` in order (the code in
/// `caller` was drawn from the first one's ranges). The call is recorded
/// first (when a recorder is configured), so it is visible to tests as
/// soon as the API has answered.
pub fn place(
    state: &Arc<AppState>,
    app_id: &str,
    verification_id: &str,
    callee: &str,
    caller: String,
    call_seq: i64,
    route: Vec<usize>,
) {
    record_placed(state, app_id, verification_id, callee, &caller, call_seq);
    let (ticket, stop) = state.calls.register(verification_id, call_seq);
    let state = Arc::clone(state);
    let app_id = app_id.to_string();
    let callee = callee.to_string();
    tokio::spawn(async move {
        let to = mask(&callee);
        let mut caller = caller;
        let mut hop = 0;
        let mut trunk_name = String::new();
        let outcome = loop {
            let trunk = state.trunks.get(route[hop]);
            trunk_name.clone_from(&trunk.name);
            let call = FlashCall {
                verification_id: ticket.verification_id.clone(),
                caller: std::mem::take(&mut caller),
                callee: callee.clone(),
                ring_for: state.config.telephony.ring_time(),
                answer_timeout: Duration::from_secs(state.config.telephony.answer_timeout_secs),
                stop: stop.clone(),
            };
            let (outcome, rang) = follow(&state, trunk, &ticket, call).await;
            trunk.record(match &outcome {
                Outcome::Delivered => TrunkOutcome::Delivered,
                Outcome::Failed(_) => TrunkOutcome::Failed,
                Outcome::TrunkFailed(_) => TrunkOutcome::TrunkFailed,
            });
            let Outcome::TrunkFailed(reason) = &outcome else {
                break outcome;
            };
            // The trunk failed the call before the phone rang (it is over
            // there): the next trunk of the destination takes it, with a
            // code of its own ranges, unless the call was stopped.
            let Some(&next) = route.get(hop + 1) else {
                break outcome;
            };
            if rang || ticket.reason().is_some() {
                break outcome;
            }
            // Boxed, as are `persist` and `record` below: a database
            // call's future is large, and this task waits out every call's
            // ring time, so its state is sized for the wait, not for them.
            match Box::pin(failover(&state, &ticket, next)).await {
                Some(new_caller) => {
                    tracing::warn!(
                        verification = %ticket.verification_id,
                        %to,
                        from = %trunk.name,
                        to_trunk = %state.trunks.get(next).name,
                        %reason,
                        "trunk failed the call; the next trunk takes it"
                    );
                    trunk.failed_over();
                    record_placed(
                        &state,
                        &app_id,
                        &ticket.verification_id,
                        &callee,
                        &new_caller,
                        call_seq,
                    );
                    caller = new_caller;
                    hop += 1;
                }
                None => break outcome,
            }
        };
        let outcome = match outcome {
            Outcome::Delivered => Ok(()),
            Outcome::Failed(reason) | Outcome::TrunkFailed(reason) => Err(reason),
        };
        let destination = [
            (
                "country",
                crate::stats::labels::country_of(&callee, &state.config),
            ),
            ("trunk", trunk_name),
        ];
        Box::pin(record(&state, &ticket, &to, destination, outcome)).await;
        state.calls.finish(&ticket);
    });
}

/// Remembers a call placed, when a recorder is configured.
fn record_placed(
    state: &AppState,
    app_id: &str,
    verification_id: &str,
    callee: &str,
    caller: &str,
    sequence: i64,
) {
    if let Some(recorder) = &state.recorder {
        recorder.record(PlacedCall {
            verification_id: verification_id.to_string(),
            app_id: app_id.to_string(),
            caller: caller.to_string(),
            callee: callee.to_string(),
            sequence,
            placed_at_ms: state.now(),
        });
    }
}

/// How one trunk's attempt at a call ended.
enum Outcome {
    Delivered,
    Failed(String),
    TrunkFailed(String),
}

/// Places `call` through `trunk` and follows it to its final event,
/// persisting `ringing`; ends it on the phone when it overruns its
/// deadline. Also says whether the phone rang.
async fn follow(
    state: &Arc<AppState>,
    trunk: &Trunk,
    ticket: &Ticket,
    call: FlashCall,
) -> (Outcome, bool) {
    let id = call.verification_id.clone();
    let to = mask(&call.callee);
    let call_seq = ticket.call_seq;
    let provider = Arc::clone(&trunk.provider);
    let settle = provider.settle_time() + PROVIDER_GRACE;
    let mut deadline = Instant::now() + call.answer_timeout + call.ring_for + settle;
    let mut gave_up = false;
    let mut rang = false;
    let (tx, mut rx) = progress::channel();
    let placing = tokio::spawn(async move { provider.place(call, tx).await });
    let outcome = loop {
        let mut event = timeout_at(deadline, rx.recv()).await;
        // Events already queued supersede this one (the log provider
        // reports ringing and delivered at once): one write, not two.
        while let Ok(Some(CallProgress::Ringing)) = &event {
            rang = true;
            match rx.try_recv() {
                Ok(next) => event = Ok(Some(next)),
                Err(_) => break,
            }
        }
        match event {
            Ok(Some(CallProgress::Ringing)) => {
                tracing::debug!(verification = %id, %to, "ringing");
                Box::pin(persist(
                    state,
                    &id,
                    call_seq,
                    VerificationStatus::Ringing,
                    None,
                ))
                .await;
            }
            Ok(Some(CallProgress::Delivered)) => break Outcome::Delivered,
            Ok(Some(CallProgress::Failed { reason })) => break Outcome::Failed(sanitize(&reason)),
            Ok(Some(CallProgress::TrunkFailed { reason })) => {
                break Outcome::TrunkFailed(sanitize(&reason))
            }
            Ok(None) => break Outcome::Failed("provider_error".to_string()),
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
                break Outcome::Failed("timeout".to_string());
            }
        }
    };
    (outcome, rang)
}

/// Moves the verification of `ticket` onto trunk `next`: a new code from
/// that trunk's ranges, stored the way a resend stores one (but the same
/// call, no resend counted, attempts left unchanged, the code's life
/// restarted). Returns the new calling number, or `None` when the
/// verification moved on meanwhile (canceled, resent, checked out).
async fn failover(state: &AppState, ticket: &Ticket, next: usize) -> Option<String> {
    let trunk = state.trunks.get(next);
    let id = &ticket.verification_id;
    for _ in 0..4 {
        let row = match state.store.get_fresh(id).await {
            Ok(Some(row)) => row,
            Ok(None) => return None,
            Err(error) => {
                tracing::error!(verification = %id, %error, "failover: cannot read the verification");
                return None;
            }
        };
        let now = state.now();
        let open = matches!(
            row.status,
            VerificationStatus::Calling | VerificationStatus::Ringing
        );
        if !open || row.call_seq != ticket.call_seq || now >= row.expires_at {
            return None;
        }
        let (range, code) = crate::verify::draw(&trunk.codes).ok()?;
        let recode = Recode {
            caller_prefix: range.prefix.clone(),
            code_length: range.code_length,
            code_mac: state.codes.mac(id, &range.prefix, &code),
            expires_at: ceil_to_second(now + crate::verify::secs_ms(state.config.codes.ttl_secs)),
            resend_after: row.resend_after,
            attempts_left: row.attempts_left,
            trunk: Some(trunk.name.clone()),
            counts_as_resend: false,
        };
        // The destination caps were checked when the call was asked for;
        // this is the same call, carried on elsewhere (still counted).
        let uncapped = DestinationCaps {
            daily: u32::MAX,
            hourly: u32::MAX,
        };
        match state.store.recode(&row, &recode, uncapped, now).await {
            Ok(Ok(_)) => return Some(format!("{}{}", range.prefix, code)),
            Ok(Err(_)) => continue,
            Err(error) => {
                tracing::error!(verification = %id, %error, "failover: cannot store the new code");
                return None;
            }
        }
    }
    None
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
