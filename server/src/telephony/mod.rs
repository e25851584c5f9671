//! Telephony: how a flash call is placed. A trait, so SIP, carrier REST APIs
//! and the development log provider are interchangeable.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

pub mod gate;
pub mod log;
pub mod loopback_phone;
pub mod progress;
pub mod record;
pub mod sip;
pub mod trunks;

pub use progress::ProgressSender;

/// One flash call to place.
#[derive(Debug, Clone)]
pub struct FlashCall {
    /// The verification this call belongs to (for logs; never the code).
    pub verification_id: String,
    /// The calling number, E.164 with `+`: the caller prefix plus the code.
    /// Secret: never log it.
    pub caller: String,
    /// The number being verified, E.164 with `+`.
    pub callee: String,
    /// How long the phone may ring before the call is canceled.
    pub ring_for: Duration,
    /// How long to wait for the network to report ringing at all.
    pub answer_timeout: Duration,
    /// Asks the provider to end the call now: CANCEL while it rings, BYE
    /// if it was answered, then report the final event as usual.
    pub stop: CallStop,
}

/// A request to end a call early, from whoever follows it (the give-up
/// deadline, DELETE, a resend, shutdown). The provider ends the call on
/// the phone and then reports its final event; a call is never ended by
/// dropping its task.
#[derive(Debug, Clone)]
pub struct CallStop(Option<Arc<StopSignal>>);

/// The sending side of a [`CallStop`]: a flag and a wake-up, shared by the
/// call's follower and its provider. (A flag, not a `watch` channel: every
/// call in flight holds one, and this is a tenth of the size.)
#[derive(Debug, Default)]
pub struct StopSignal {
    requested: AtomicBool,
    wake: Notify,
}

impl StopSignal {
    /// Asks the call to end; waiters wake at once, later checks see it.
    pub fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }
}

impl CallStop {
    /// A stop that is never requested (tests, one-off calls).
    pub fn never() -> Self {
        Self(None)
    }

    /// A stop and the signal that requests it ([`StopSignal::request`]).
    pub fn new() -> (Arc<StopSignal>, Self) {
        let signal = Arc::new(StopSignal::default());
        (Arc::clone(&signal), Self(Some(signal)))
    }

    /// Whether ending the call has been asked for.
    pub fn is_requested(&self) -> bool {
        self.0
            .as_ref()
            .is_some_and(|s| s.requested.load(Ordering::SeqCst))
    }

    /// Resolves once ending the call is asked for (never, if it is not).
    pub async fn requested(&self) {
        let Some(signal) = &self.0 else {
            return std::future::pending().await;
        };
        loop {
            // Registered before the flag is read, so a request between the
            // two still wakes this waiter.
            let woken = signal.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if signal.requested.load(Ordering::SeqCst) {
                return;
            }
            woken.await;
        }
    }
}

/// Progress of a flash call, reported in order. The last event is always
/// `Delivered`, `Failed` or `TrunkFailed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallProgress {
    /// The phone is ringing (SIP 180/183).
    Ringing,
    /// The call reached the phone and was hung up (canceled after ringing,
    /// or answered and immediately ended).
    Delivered,
    /// The call did not reach the phone. `reason` is short and safe to log
    /// and to return to the app (`busy`, `unavailable`, `timeout`, …).
    Failed { reason: String },
    /// The call did not reach the phone because the trunk failed it, not
    /// the phone: a 5xx, 403 or 408, no answer at all to the INVITE (not
    /// even 100 Trying), the trunk unreachable or refusing our
    /// credentials, or the trunk's own limits (`trunk_busy`). Another
    /// trunk for the destination may take the call; recorded like
    /// `Failed` when none can.
    TrunkFailed { reason: String },
}

/// A boxed future, so providers can be chosen at run time (`dyn Telephony`).
pub type CallFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Places flash calls.
pub trait Telephony: Send + Sync + 'static {
    /// A short name for logs and metrics (`sip`, `log`, …).
    fn name(&self) -> &'static str;

    /// How long after `answer_timeout + ring_for` this provider may still
    /// take to send its final event: its own transaction timeouts. The
    /// server waits that long (plus a second) before it gives up: it then
    /// asks the provider to end the call ([`FlashCall::stop`]), waits as
    /// long again for the final event, and records the call as `failed`
    /// with reason `timeout`. 30 s unless the provider says otherwise.
    fn settle_time(&self) -> Duration {
        Duration::from_secs(30)
    }

    /// Places `call`, sending progress to `progress` until a final event.
    /// Must finish in bounded time (`answer_timeout + ring_for` plus
    /// [`settle_time`](Self::settle_time)).
    fn place(&self, call: FlashCall, progress: ProgressSender) -> CallFuture<'_>;
}
