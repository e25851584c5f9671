//! Test and development support: a record of the calls placed, and a
//! provider whose outcome a test chooses.
//!
//! The calling number of a flash call is the code, so recording it is only
//! ever done on purpose: by a test that builds the server in-process, or
//! by `motp serve` with `telephony.dev_expose_calls = true`, which the
//! configuration only accepts with the `log` provider on a loopback
//! address (`GET /v1/dev/calls/{id}`, secret key). It lets the SDK's
//! Kotlin tests and the demos play the phone: read the caller number and
//! hand it to the SDK as if the phone had rung.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use super::{CallFuture, CallProgress, FlashCall, ProgressSender, Telephony};

/// Calls remembered before the oldest are forgotten.
const CAPACITY: usize = 200_000;

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedCall {
    /// The verification it belongs to.
    pub verification_id: String,
    /// The app that started it.
    pub app_id: String,
    /// The calling number: the caller prefix followed by the code.
    pub caller: String,
    /// The number called.
    pub callee: String,
    /// 1 for the first call of the verification, +1 per resend.
    pub sequence: i64,
    /// When it was placed (ms since the epoch, by the server's clock).
    pub placed_at_ms: i64,
}

/// The calls placed, newest last, bounded.
#[derive(Debug, Default)]
pub struct CallRecorder {
    inner: Mutex<Recorded>,
}

#[derive(Debug, Default)]
struct Recorded {
    order: VecDeque<PlacedCall>,
    latest: HashMap<String, PlacedCall>,
}

impl CallRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Remembers `call`.
    pub fn record(&self, call: PlacedCall) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.order.len() >= CAPACITY {
            if let Some(old) = inner.order.pop_front() {
                if inner
                    .latest
                    .get(&old.verification_id)
                    .is_some_and(|c| c.sequence == old.sequence)
                {
                    inner.latest.remove(&old.verification_id);
                }
            }
        }
        inner
            .latest
            .insert(call.verification_id.clone(), call.clone());
        inner.order.push_back(call);
    }

    /// The last call placed for a verification.
    pub fn last_for(&self, verification_id: &str) -> Option<PlacedCall> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.latest.get(verification_id).cloned()
    }

    /// The last call placed at all.
    pub fn last(&self) -> Option<PlacedCall> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.order.back().cloned()
    }

    /// Every call remembered, oldest first.
    pub fn all(&self) -> Vec<PlacedCall> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.order.iter().cloned().collect()
    }

    /// How many calls are remembered.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .order
            .len()
    }

    /// Whether no call was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a [`ScriptedTelephony`] call does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script {
    /// Ringing, then delivered.
    Deliver,
    /// Ringing, then failed with this reason.
    Fail(String),
    /// Nothing for this long, then failed with this reason: a provider
    /// whose outcome comes late.
    FailAfter(Duration, String),
}

/// A provider for tests: places no call; each call follows the script set
/// by the test (default: delivered).
#[derive(Debug)]
pub struct ScriptedTelephony {
    script: Mutex<Script>,
    settle_time: Mutex<Duration>,
}

impl Default for ScriptedTelephony {
    fn default() -> Self {
        Self {
            script: Mutex::new(Script::Deliver),
            settle_time: Mutex::new(Duration::from_secs(30)),
        }
    }
}

impl ScriptedTelephony {
    /// A provider that delivers every call.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets what the next calls do.
    pub fn set(&self, script: Script) {
        *self.script.lock().unwrap_or_else(|p| p.into_inner()) = script;
    }

    /// Sets what [`Telephony::settle_time`] answers (default 30 s).
    pub fn set_settle_time(&self, settle_time: Duration) {
        *self.settle_time.lock().unwrap_or_else(|p| p.into_inner()) = settle_time;
    }
}

impl Telephony for ScriptedTelephony {
    fn name(&self) -> &'static str {
        "scripted"
    }

    fn settle_time(&self) -> Duration {
        *self.settle_time.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn place(&self, _call: FlashCall, progress: ProgressSender) -> CallFuture<'_> {
        let script = self
            .script
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Box::pin(async move {
            match script {
                Script::Deliver => {
                    let _ = progress.send(CallProgress::Ringing);
                    let _ = progress.send(CallProgress::Delivered);
                }
                Script::Fail(reason) => {
                    let _ = progress.send(CallProgress::Ringing);
                    let _ = progress.send(CallProgress::Failed { reason });
                }
                Script::FailAfter(wait, reason) => {
                    tokio::time::sleep(wait).await;
                    let _ = progress.send(CallProgress::Failed { reason });
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: &str, seq: i64) -> PlacedCall {
        PlacedCall {
            verification_id: id.into(),
            app_id: "app".into(),
            caller: format!("+44207946{seq:04}"),
            callee: "+447700900123".into(),
            sequence: seq,
            placed_at_ms: 0,
        }
    }

    #[test]
    fn keeps_the_latest_call_per_verification() {
        let recorder = CallRecorder::new();
        assert!(recorder.is_empty());
        recorder.record(call("a", 1));
        recorder.record(call("b", 1));
        recorder.record(call("a", 2));
        assert_eq!(recorder.last_for("a").unwrap().sequence, 2);
        assert_eq!(recorder.last().unwrap().verification_id, "a");
        assert_eq!(recorder.len(), 3);
        assert!(recorder.last_for("c").is_none());
    }
}
