//! What one verification came to: its timeline, its token, and how long
//! the steps that matter took, measured from the request.

use std::sync::Arc;
use std::time::Duration;

use super::time_text::format_ms;
use super::timeline::Timeline;

/// What one verification came to.
pub struct Outcome {
    pub timeline: Arc<Timeline>,
    pub token: String,
    /// The server's introspection answer for `token`.
    pub introspection: serde_json::Value,
    /// From the request to the token.
    pub approval: Duration,
    /// From the request to the CANCEL on the wire (when seen).
    pub cancel: Option<Duration>,
    /// From the request to the ACK that ends the call.
    pub hangup: Duration,
}

impl Outcome {
    /// Request → approval with the ring time taken out when it is in it
    /// (it is not when the token came before the CANCEL, as on Android,
    /// where the number is read at the first ring).
    pub fn approval_without_ring(&self, ring: Duration) -> Duration {
        match self.cancel {
            Some(cancel) if self.approval > cancel => self.approval.saturating_sub(ring),
            _ => self.approval,
        }
    }

    /// Request → approval in one sentence, saying whether the ring time is
    /// in it.
    pub fn approval_sentence(&self, ring: Duration) -> String {
        let ms = format_ms(self.approval);
        match self.cancel {
            Some(cancel) if self.approval < cancel => format!(
                "request → approval: {ms} ms, while the phone was still ringing: the number \
                 is read at the first ring, so the {} s ring time is not in it.",
                ring.as_secs_f64()
            ),
            _ => format!(
                "request → approval: {ms} ms ({} ms without the ring time).",
                format_ms(self.approval_without_ring(ring))
            ),
        }
    }
}
