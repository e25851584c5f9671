//! The events of one call, from its provider to the task that follows it:
//! a queue behind a mutex and a wake-up. Every call in flight holds one, so
//! it is kept small: about 250 bytes, where an unbounded `tokio::sync::mpsc`
//! channel allocates over 1.5 KB (a block of 32 slots) before its first
//! event. A call sends two or three events in all.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::CallProgress;

/// A new channel for one call's events.
pub fn channel() -> (ProgressSender, ProgressReceiver) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            events: VecDeque::new(),
            senders: 1,
            receiving: true,
        }),
        wake: Notify::new(),
    });
    (
        ProgressSender(Arc::clone(&shared)),
        ProgressReceiver(shared),
    )
}

struct Shared {
    state: Mutex<State>,
    /// One waiter at most (the receiver): `notify_one` keeps a wake-up for
    /// it when it is not waiting yet, so no event is missed.
    wake: Notify,
}

struct State {
    events: VecDeque<CallProgress>,
    senders: usize,
    /// The receiver still exists.
    receiving: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The provider's side: reports events in order.
pub struct ProgressSender(Arc<Shared>);

/// The receiver is gone; the event was not delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed(pub CallProgress);

impl ProgressSender {
    /// Queues `event` for the receiver.
    pub fn send(&self, event: CallProgress) -> Result<(), Closed> {
        let mut state = self.0.lock();
        if !state.receiving {
            return Err(Closed(event));
        }
        state.events.push_back(event);
        drop(state);
        self.0.wake.notify_one();
        Ok(())
    }
}

impl Clone for ProgressSender {
    fn clone(&self) -> Self {
        self.0.lock().senders += 1;
        Self(Arc::clone(&self.0))
    }
}

impl Drop for ProgressSender {
    fn drop(&mut self) {
        self.0.lock().senders -= 1;
        self.0.wake.notify_one();
    }
}

impl std::fmt::Debug for ProgressSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressSender")
    }
}

/// The follower's side.
pub struct ProgressReceiver(Arc<Shared>);

/// Nothing is queued now ([`ProgressReceiver::try_recv`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing yet; more may come.
    Empty,
    /// Nothing, and every sender is gone.
    Disconnected,
}

impl ProgressReceiver {
    /// The next event; `None` once every sender is gone and all was read.
    pub async fn recv(&mut self) -> Option<CallProgress> {
        loop {
            match self.try_recv() {
                Ok(event) => return Some(event),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => self.0.wake.notified().await,
            }
        }
    }

    /// The next event if one is queued.
    pub fn try_recv(&mut self) -> Result<CallProgress, TryRecvError> {
        let mut state = self.0.lock();
        match state.events.pop_front() {
            Some(event) => Ok(event),
            None if state.senders == 0 => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }
}

impl Drop for ProgressReceiver {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.receiving = false;
        state.events.clear();
    }
}

impl std::fmt::Debug for ProgressReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressReceiver")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_arrive_in_order_then_none_once_the_sender_is_gone() {
        let (tx, mut rx) = channel();
        let waiter = tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(event) = rx.recv().await {
                seen.push(event);
            }
            seen
        });
        tokio::task::yield_now().await;
        tx.send(CallProgress::Ringing).unwrap();
        tx.clone().send(CallProgress::Delivered).unwrap();
        drop(tx);
        assert_eq!(
            waiter.await.unwrap(),
            [CallProgress::Ringing, CallProgress::Delivered]
        );
    }

    #[test]
    fn try_recv_tells_empty_from_disconnected() {
        let (tx, mut rx) = channel();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        tx.send(CallProgress::Ringing).unwrap();
        drop(tx);
        assert_eq!(rx.try_recv(), Ok(CallProgress::Ringing));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }

    #[test]
    fn sending_without_a_receiver_is_an_error() {
        let (tx, rx) = channel();
        drop(rx);
        let failed = CallProgress::Failed {
            reason: "busy".into(),
        };
        assert_eq!(tx.send(failed.clone()), Err(Closed(failed)));
    }
}
