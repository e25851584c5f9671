//! A trunk's contract, enforced before a call is sent: at most
//! `calls_per_second` call starts in any one-second window, at most
//! `max_concurrent_calls` calls in flight. A call over the limit waits in a
//! bounded FIFO queue with its own deadline; one that cannot start in time
//! (or finds the queue full) fails `trunk_busy` instead of being sent to a
//! trunk that would refuse it (trunks answer 503/403 beyond their contract
//! and may block the account). Every refusal is counted.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};
use tokio::time::{sleep_until, Instant};

use super::CallStop;

/// The limits of one trunk (0 = unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Call starts in any one-second window.
    pub calls_per_second: u32,
    /// Calls in flight at once.
    pub max_concurrent_calls: u32,
    /// Calls that may wait for the trunk at once; more fail at once.
    pub queue_size: u32,
    /// How long a call may wait for the trunk.
    pub queue_timeout: Duration,
}

/// The trunk's gauges and counters (shared with `/metrics`).
#[derive(Debug, Clone, Default)]
pub struct TrunkMetrics {
    /// Calls admitted and not yet ended.
    pub in_flight: Gauge,
    /// Calls waiting for the trunk.
    pub queued: Gauge,
    /// Calls refused: queue full.
    pub rejected_queue_full: Counter,
    /// Calls refused: could not start within `queue_timeout`.
    pub rejected_deadline: Counter,
}

/// Why a call was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The queue was full, or the deadline passed: `trunk_busy`.
    Busy,
    /// Ending the call was asked for while it waited.
    Stopped,
}

/// Admission to one trunk.
#[derive(Debug)]
pub struct Gate {
    limits: Limits,
    concurrency: Option<Arc<Semaphore>>,
    /// Start times of the last second, oldest first (at most cps).
    starts: Option<Mutex<VecDeque<Instant>>>,
    waiting: AtomicUsize,
    metrics: TrunkMetrics,
}

/// A call admitted to the trunk; dropping it frees its place.
#[derive(Debug)]
pub struct Admission {
    _permit: Option<OwnedSemaphorePermit>,
    in_flight: Gauge,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.in_flight.dec();
    }
}

impl Gate {
    /// A gate enforcing `limits`, reporting to `metrics`.
    pub fn new(limits: Limits, metrics: TrunkMetrics) -> Self {
        let cap = |n: u32| (n > 0).then(|| usize::try_from(n).unwrap_or(usize::MAX));
        Self {
            concurrency: cap(limits.max_concurrent_calls).map(|n| Arc::new(Semaphore::new(n))),
            starts: cap(limits.calls_per_second).map(|n| Mutex::new(VecDeque::with_capacity(n))),
            limits,
            waiting: AtomicUsize::new(0),
            metrics,
        }
    }

    /// Waits (FIFO) until the trunk may take one more call, at most
    /// `queue_timeout`, or until `stop` is requested.
    pub async fn admit(&self, stop: &CallStop) -> Result<Admission, Refused> {
        if self.concurrency.is_none() && self.starts.is_none() {
            return Ok(self.admitted(None));
        }
        let queue = usize::try_from(self.limits.queue_size).unwrap_or(usize::MAX);
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            self.metrics.rejected_queue_full.inc();
            return Err(Refused::Busy);
        }
        self.metrics.queued.inc();
        let deadline = Instant::now() + self.limits.queue_timeout;
        let outcome = tokio::select! {
            biased;
            () = stop.requested() => Err(Refused::Stopped),
            permit = self.acquire() => Ok(permit),
            () = sleep_until(deadline) => {
                self.metrics.rejected_deadline.inc();
                Err(Refused::Busy)
            }
        };
        self.metrics.queued.dec();
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        outcome.map(|permit| self.admitted(permit))
    }

    fn admitted(&self, permit: Option<OwnedSemaphorePermit>) -> Admission {
        self.metrics.in_flight.inc();
        Admission {
            _permit: permit,
            in_flight: self.metrics.in_flight.clone(),
        }
    }

    /// A place among the concurrent calls, then a start in the window.
    /// Both queues are FIFO (Tokio's semaphore and mutex are fair).
    async fn acquire(&self) -> Option<OwnedSemaphorePermit> {
        let permit = match &self.concurrency {
            Some(semaphore) => Arc::clone(semaphore).acquire_owned().await.ok(),
            None => None,
        };
        if let Some(starts) = &self.starts {
            let cps = usize::try_from(self.limits.calls_per_second).unwrap_or(usize::MAX);
            let mut starts = starts.lock().await;
            loop {
                let now = Instant::now();
                while starts
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
                {
                    starts.pop_front();
                }
                if starts.len() < cps {
                    starts.push_back(now);
                    break;
                }
                let oldest = *starts.front().expect("cps ≥ 1 starts held");
                sleep_until(oldest + Duration::from_secs(1)).await;
            }
        }
        permit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(cps: u32, concurrent: u32, queue: u32, timeout_ms: u64) -> Gate {
        Gate::new(
            Limits {
                calls_per_second: cps,
                max_concurrent_calls: concurrent,
                queue_size: queue,
                queue_timeout: Duration::from_millis(timeout_ms),
            },
            TrunkMetrics::default(),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn starts_never_exceed_the_rate_in_any_second() {
        let gate = Arc::new(gate(3, 0, 100, 60_000));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let gate = Arc::clone(&gate);
            tasks.spawn(async move {
                let admission = gate.admit(&CallStop::never()).await.unwrap();
                drop(admission);
                started.elapsed()
            });
        }
        let mut at: Vec<Duration> = tasks.join_all().await;
        at.sort();
        for (i, t) in at.iter().enumerate() {
            let in_window = at[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(1))
                .count();
            assert!(in_window <= 3, "{at:?}");
        }
        assert_eq!(at[9], Duration::from_secs(3), "{at:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_queue_bound_deadline_and_stop() {
        let gate = gate(0, 1, 2, 1_000);
        let first = gate.admit(&CallStop::never()).await.unwrap();
        assert_eq!(gate.metrics.in_flight.get(), 1);
        // Two may wait; the third finds the queue full at once.
        let (stop_tx, stop) = CallStop::new();
        let never = CallStop::never();
        let waiting = async {
            tokio::join!(gate.admit(&never), gate.admit(&stop), async {
                tokio::task::yield_now().await;
                assert_eq!(gate.metrics.queued.get(), 2);
                let third = gate.admit(&never).await;
                stop_tx.request();
                third
            })
        };
        let (second, stopped, third) = waiting.await;
        assert_eq!(third.unwrap_err(), Refused::Busy);
        assert_eq!(stopped.unwrap_err(), Refused::Stopped);
        // The first never ended: the second's deadline passed.
        assert_eq!(second.unwrap_err(), Refused::Busy);
        assert_eq!(gate.metrics.rejected_queue_full.get(), 1);
        assert_eq!(gate.metrics.rejected_deadline.get(), 1);
        assert_eq!(gate.metrics.queued.get(), 0);
        drop(first);
        assert_eq!(gate.metrics.in_flight.get(), 0);
        let again = gate.admit(&CallStop::never()).await.unwrap();
        assert_eq!(gate.metrics.in_flight.get(), 1);
        drop(again);
    }
}
