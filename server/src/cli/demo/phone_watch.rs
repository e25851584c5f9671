//! What the demo sees of the phone's side: the loopback phone's reports of
//! incoming calls and the SIP messages passing the tap, filtered down to
//! the current verification's call and put on its timeline.

use std::time::{Duration, Instant};

use motp_core::VerificationState;
use tokio::sync::{mpsc, watch};

use super::deadline::Failure;
use super::sdk_states::describe;
use super::tap::Seen;
use super::timeline::{Actor, Timeline};
use crate::telephony::loopback_phone::IncomingCall;

/// The loopback phone's reports and the SIP tap's, shared by the runs.
pub struct PhoneWatch {
    calls: mpsc::UnboundedReceiver<IncomingCall>,
    wire: mpsc::UnboundedReceiver<Seen>,
    /// The Call-ID of this verification's call, once its INVITE passed.
    call_id: Option<String>,
}

impl PhoneWatch {
    /// Watches the phone's incoming `calls` and the tap's `wire`.
    pub fn new(
        calls: mpsc::UnboundedReceiver<IncomingCall>,
        wire: mpsc::UnboundedReceiver<Seen>,
    ) -> Self {
        Self {
            calls,
            wire,
            call_id: None,
        }
    }

    /// Forgets what an earlier verification left behind.
    pub fn forget_earlier(&mut self) {
        while self.calls.try_recv().is_ok() {}
        while self.wire.try_recv().is_ok() {}
        self.call_id = None;
    }

    /// Whether `seen` belongs to this verification's call (the first
    /// INVITE after [`PhoneWatch::forget_earlier`] names it), so a
    /// straggler of an earlier call can neither show up nor end a wait.
    fn is_current(&mut self, seen: &Seen) -> bool {
        if self.call_id.is_none() && seen.method.as_deref() == Some("INVITE") {
            self.call_id = Some(seen.call_id.clone());
        }
        self.call_id.as_deref() == Some(seen.call_id.as_str())
    }

    /// Waits for the handset to ring, recording SIP messages meanwhile;
    /// fails when the verification ends first or after `limit`.
    pub async fn wait_for_call(
        &mut self,
        timeline: &Timeline,
        states: &mut watch::Receiver<VerificationState>,
        limit: Duration,
    ) -> Result<IncomingCall, Failure> {
        let deadline = tokio::time::sleep(limit);
        tokio::pin!(deadline);
        let mut watching = true;
        loop {
            tokio::select! {
                Some(seen) = self.wire.recv() => {
                    if self.is_current(&seen) {
                        record_wire(timeline, &seen);
                    }
                }
                call = self.calls.recv() => {
                    return call.ok_or_else(|| "the handset stopped".to_string());
                }
                changed = states.changed(), if watching => {
                    if changed.is_err() {
                        watching = false; // the verification is gone; the deadline still holds
                        continue;
                    }
                    let state = states.borrow_and_update().clone();
                    if state.is_final() {
                        return Err(format!(
                            "the verification ended before the call arrived: {}",
                            describe(&state)
                        ));
                    }
                }
                () = &mut deadline => {
                    return Err(format!(
                        "no call reached the handset within {} s",
                        limit.as_secs_f64()
                    ));
                }
            }
        }
    }

    /// Waits for the ACK that ends the call (after the 487 that answers
    /// the CANCEL); returns when the CANCEL and the ACK passed the tap.
    pub async fn wait_for_hangup(
        &mut self,
        timeline: &Timeline,
        limit: Duration,
    ) -> Result<(Option<Instant>, Instant), Failure> {
        let deadline = tokio::time::sleep(limit);
        tokio::pin!(deadline);
        let mut cancel = None;
        loop {
            tokio::select! {
                seen = self.wire.recv() => {
                    let Some(seen) = seen else {
                        return Err("the SIP tap stopped".into());
                    };
                    if !self.is_current(&seen) {
                        continue;
                    }
                    record_wire(timeline, &seen);
                    match (seen.to_handset, seen.method.as_deref()) {
                        (true, Some("CANCEL")) => cancel = cancel.or(Some(seen.at)),
                        (true, Some("ACK")) => return Ok((cancel, seen.at)),
                        _ => {}
                    }
                }
                () = &mut deadline => {
                    return Err(format!(
                        "the call was not hung up within {} s",
                        limit.as_secs_f64()
                    ));
                }
            }
        }
    }
}

fn record_wire(timeline: &Timeline, seen: &Seen) {
    let direction = if seen.to_handset {
        "server → handset"
    } else {
        "handset → server"
    };
    let note = match seen.method.as_deref() {
        Some("CANCEL") => ", the ring time is over",
        Some("ACK") => ": the call is over, a missed call",
        _ => "",
    };
    timeline.mark_at(
        seen.at,
        Actor::Sip,
        format!("{direction}  {}{note}", seen.summary),
    );
}
