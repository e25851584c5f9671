//! The calls this process is following, by verification: so that whatever
//! stops following a call — the give-up deadline, DELETE, a resend that
//! replaces it, shutdown — asks the call's task to END it on the phone
//! (CANCEL while it rings, BYE if answered) and lets that task record the
//! final outcome. A call task is never aborted as the way a call ends.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::telephony::{CallStop, StopSignal};

/// Why a call is ended before its provider finished it by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The server's give-up deadline passed: recorded `failed/timeout`.
    Deadline,
    /// The verification was canceled (DELETE): the call counts `canceled`.
    Canceled,
    /// A resend placed a new call for the same verification.
    Replaced,
    /// The process is shutting down.
    Shutdown,
}

/// One call being followed.
pub struct Ticket {
    /// The verification.
    pub verification_id: String,
    /// Which call of the verification (1, then +1 per resend).
    pub call_seq: i64,
    stop: Arc<StopSignal>,
    reason: OnceLock<StopReason>,
}

impl Ticket {
    /// Asks the call to end; the first reason given wins.
    pub fn stop(&self, reason: StopReason) {
        if self.reason.set(reason).is_ok() {
            tracing::debug!(verification = %self.verification_id, ?reason, "ending the call");
        }
        self.stop.request();
    }

    /// Why the call was asked to end, if it was.
    pub fn reason(&self) -> Option<StopReason> {
        self.reason.get().copied()
    }
}

/// The registry of calls in flight (verification id → ticket).
#[derive(Default)]
pub struct CallControl {
    calls: Mutex<HashMap<String, Arc<Ticket>>>,
    changed: Notify,
    draining: AtomicBool,
    /// Calls finished since start ([`crate::memory::QuietTrim`] reads it).
    finished: AtomicU64,
}

impl CallControl {
    /// Starts following call `call_seq` of `verification_id`; a call of the
    /// same verification still in flight is asked to end ([`StopReason::Replaced`]).
    pub fn register(&self, verification_id: &str, call_seq: i64) -> (Arc<Ticket>, CallStop) {
        let (tx, stop) = CallStop::new();
        let ticket = Arc::new(Ticket {
            verification_id: verification_id.to_string(),
            call_seq,
            stop: tx,
            reason: OnceLock::new(),
        });
        let previous = self
            .lock()
            .insert(verification_id.to_string(), Arc::clone(&ticket));
        if let Some(previous) = previous {
            previous.stop(StopReason::Replaced);
        }
        if self.is_draining() {
            ticket.stop(StopReason::Shutdown);
        }
        (ticket, stop)
    }

    /// The call of `ticket` is settled and recorded.
    pub fn finish(&self, ticket: &Arc<Ticket>) {
        let mut calls = self.lock();
        if calls
            .get(&ticket.verification_id)
            .is_some_and(|t| Arc::ptr_eq(t, ticket))
        {
            calls.remove(&ticket.verification_id);
            // A map sized for a burst keeps its table when emptied.
            if calls.is_empty() {
                calls.shrink_to_fit();
            }
        }
        drop(calls);
        self.finished.fetch_add(1, Ordering::Relaxed);
        self.changed.notify_waiters();
    }

    /// Calls finished since the process started.
    pub fn finished(&self) -> u64 {
        self.finished.load(Ordering::Relaxed)
    }

    /// Asks the call of `verification_id` in flight here, if any, to end.
    pub fn stop(&self, verification_id: &str, reason: StopReason) -> bool {
        match self.lock().get(verification_id) {
            Some(ticket) => {
                ticket.stop(reason);
                true
            }
            None => false,
        }
    }

    /// Stops taking new calls (creates and resends answer 503) and asks
    /// every call in flight to end.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
        for ticket in self.lock().values() {
            ticket.stop(StopReason::Shutdown);
        }
    }

    /// Whether the process is shutting down.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Calls in flight.
    pub fn in_flight(&self) -> usize {
        self.lock().len()
    }

    /// Waits until no call is in flight or `until`; returns the calls
    /// still in flight then.
    pub async fn wait_idle(&self, until: Instant) -> Vec<Arc<Ticket>> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let left: Vec<Arc<Ticket>> = self.lock().values().cloned().collect();
            if left.is_empty() || Instant::now() >= until {
                return left;
            }
            let _ = tokio::time::timeout_at(until, changed).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Ticket>>> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_resend_ends_the_call_it_replaces_and_finish_only_removes_its_own() {
        let control = CallControl::default();
        let (first, first_stop) = control.register("vf_1", 1);
        let (second, second_stop) = control.register("vf_1", 2);
        assert!(first_stop.is_requested());
        assert_eq!(first.reason(), Some(StopReason::Replaced));
        assert!(!second_stop.is_requested());
        control.finish(&first);
        assert_eq!(control.in_flight(), 1, "the replacement is still followed");
        assert!(control.stop("vf_1", StopReason::Canceled));
        assert_eq!(second.reason(), Some(StopReason::Canceled));
        control.finish(&second);
        assert_eq!(control.in_flight(), 0);
        assert!(!control.stop("vf_1", StopReason::Canceled));
    }

    #[tokio::test]
    async fn drain_stops_every_call_and_waits_for_them() {
        let control = Arc::new(CallControl::default());
        let tickets: Vec<_> = (0..3)
            .map(|n| control.register(&format!("vf_{n}"), 1))
            .collect();
        control.drain();
        assert!(control.is_draining());
        for (ticket, stop) in &tickets {
            assert!(stop.is_requested());
            assert_eq!(ticket.reason(), Some(StopReason::Shutdown));
        }
        let waiter = {
            let control = Arc::clone(&control);
            tokio::spawn(async move {
                control
                    .wait_idle(Instant::now() + std::time::Duration::from_secs(10))
                    .await
            })
        };
        for (ticket, _) in &tickets {
            control.finish(ticket);
        }
        assert!(waiter.await.unwrap().is_empty());
        let (_t, _s) = control.register("vf_late", 1);
        let left = control
            .wait_idle(Instant::now() + std::time::Duration::from_millis(20))
            .await;
        assert_eq!(left.len(), 1);
    }
}
