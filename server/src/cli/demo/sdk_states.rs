//! The SDK's verification states as the demo sees them: each one is put on
//! the timeline in words and handed to whatever step is waiting for it.

use std::sync::Arc;

use motp_core::{MotpError, VerificationListener, VerificationState};
use tokio::sync::watch;

use super::timeline::{Actor, Timeline};

/// The SDK's state listener: records each state on the timeline and
/// publishes it for the demo's waits.
pub struct StateRecorder {
    timeline: Arc<Timeline>,
    states: watch::Sender<VerificationState>,
}

impl StateRecorder {
    /// A listener for `start_verification` and the receiver its states
    /// arrive on.
    pub fn start(
        timeline: &Arc<Timeline>,
    ) -> (
        Arc<dyn VerificationListener>,
        watch::Receiver<VerificationState>,
    ) {
        let (states, receiver) = watch::channel(VerificationState::Idle);
        let recorder = Self {
            timeline: Arc::clone(timeline),
            states,
        };
        (Arc::new(recorder), receiver)
    }
}

impl VerificationListener for StateRecorder {
    fn on_state_changed(&self, state: VerificationState) -> Result<(), MotpError> {
        self.timeline
            .mark(Actor::Core, format!("state {}", describe(&state)));
        self.states.send_replace(state);
        Ok(())
    }
}

/// The state's name and what it means at that moment of the demo.
pub fn describe(state: &VerificationState) -> String {
    match state {
        VerificationState::Requesting => "Requesting: POST /v1/verifications".into(),
        VerificationState::AwaitingCall => "AwaitingCall: the server is calling".into(),
        VerificationState::ManualEntry { reason } => {
            format!("ManualEntry ({}): show the code field", reason.as_str())
        }
        VerificationState::Verifying => "Verifying: POST /v1/verifications/{id}/check".into(),
        VerificationState::Verified { .. } => "Verified: token received".into(),
        VerificationState::Failed { error } => format!("Failed: {error}"),
        VerificationState::Expired => "Expired".into(),
        VerificationState::Canceled => "Canceled".into(),
        VerificationState::Idle => "Idle".into(),
    }
}
