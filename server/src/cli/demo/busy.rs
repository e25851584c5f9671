//! The busy run: the phone is on another call and the trunk answers
//! `486 Busy Here`. The server records the call `failed: busy`, its event
//! stream carries it, and the app learns it within a second instead of
//! after its call timeout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use motp_core::protocol::VerificationStatus;
use motp_core::{CallEvent, CallVisibility, VerificationHandle, VerificationState};

use super::deadline::{within, Failure, STEP_TIMEOUT};
use super::sdk_states::StateRecorder;
use super::timeline::{Actor, Timeline};
use super::{start, Demo, DEMO_DESTINATION};
use crate::server::RunningServer;
use crate::telephony::loopback_phone::LoopbackPhone;

/// What one busy run measured.
pub struct BusyOutcome {
    pub timeline: Arc<Timeline>,
    /// From the server's record of `failed` to the app's state change.
    pub record_to_app: Duration,
}

/// Puts every call event the app hears on the timeline, as a shell would
/// hand it to its UI, the moment it arrives. Ends with the verification.
/// The receiver holds every event heard so far.
pub fn show_call_events(
    handle: &VerificationHandle,
    timeline: &Arc<Timeline>,
) -> tokio::sync::watch::Receiver<Vec<CallEvent>> {
    let handle = handle.clone();
    let timeline = Arc::clone(timeline);
    let (heard, receiver) = tokio::sync::watch::channel(Vec::new());
    tokio::spawn(async move {
        while let Some(event) = handle.next_call_event().await {
            mark_call_event(&timeline, &event);
            heard.send_modify(|events| events.push(event));
        }
    });
    receiver
}

/// One call event on the timeline.
fn mark_call_event(timeline: &Timeline, event: &CallEvent) {
    let text = match event {
        CallEvent::Ringing => "app learns: ringing (the code field can come forward)".into(),
        CallEvent::Delivered => "app learns: delivered (the missed call is on the phone)".into(),
        CallEvent::Failed { reason } => format!("app learns: failed: {reason}"),
        CallEvent::RereadCallLog => "app is asked to read the call log again".into(),
    };
    timeline.mark(Actor::App, text);
}

/// One verification of a busy phone, canceled once the app knows.
pub async fn busy_way(
    demo: &Demo,
    server: &RunningServer,
    handset: &LoopbackPhone,
) -> Result<BusyOutcome, Failure> {
    handset.set_busy(true);
    let result = run(demo, server).await;
    handset.set_busy(false);
    result
}

async fn run(demo: &Demo, server: &RunningServer) -> Result<BusyOutcome, Failure> {
    let timeline = Timeline::new();
    let (listener, mut states) = StateRecorder::start(&timeline);
    timeline.mark(
        Actor::App,
        format!("start_verification(\"{DEMO_DESTINATION}\"): request sent"),
    );
    let handle = start(demo, CallVisibility::Numbers, listener).await?;
    show_call_events(&handle, &timeline);
    // The moment the server writes `failed` (read from its row cache every
    // millisecond, the way nothing in production does).
    let id = handle.id();
    let recorded = within(STEP_TIMEOUT, "the server to record the failure", async {
        loop {
            if let Ok(Some(row)) = server.state.store.get(&id).await {
                if row.status == VerificationStatus::Failed {
                    return (Instant::now(), row.failure_reason);
                }
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await?;
    timeline.mark_at(
        recorded.0,
        Actor::Sip,
        format!(
            "486 Busy Here; the server records failed: {}",
            recorded.1.as_deref().unwrap_or("?")
        ),
    );
    within(
        STEP_TIMEOUT,
        "the app to leave AwaitingCall",
        states.wait_for(|s| matches!(s, VerificationState::ManualEntry { .. }) || s.is_final()),
    )
    .await?
    .map_err(|_| "the verification stopped".to_string())?;
    let changed = Instant::now();
    let _ = handle.cancel().await;
    timeline.mark(Actor::App, "cancel(): the user gives up on this number");
    Ok(BusyOutcome {
        timeline,
        record_to_app: changed.saturating_duration_since(recorded.0),
    })
}
