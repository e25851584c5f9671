//! Runs a verification on tokio: a background task owns the [`Machine`],
//! carries out its effects (HTTP requests, timers) and publishes its states
//! to every [`VerificationHandle`](crate::VerificationHandle), and tells
//! the app's [`VerificationListener`]. It ends when the verification is
//! over and no handle is left.

use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, oneshot, watch};

use crate::error::MotpError;
use crate::follow::follow;
use crate::http::HttpApi;
use crate::machine::{
    CallEvent, Effect, Event, Machine, OpId, Reply, VerificationInfo, VerificationState,
};
use crate::time::Clock;

/// Longest single timer sleep. Monotonic timers stop while a phone sleeps;
/// waking at least this often lets the wall clock catch up with deadlines.
const MAX_TIMER_SLICE: Duration = Duration::from_secs(2);

/// State changes kept for [`VerificationHandle::next_state`](crate::VerificationHandle::next_state).
const HISTORY_LEN: usize = 64;

/// Starts the background task of a verification in `Idle`; returns what a
/// [`VerificationHandle`](crate::VerificationHandle) needs to talk to it.
pub(crate) fn spawn(
    machine: Machine,
    api: HttpApi,
    clock: Arc<dyn Clock>,
    listener: Option<Arc<dyn VerificationListener>>,
) -> (Arc<Shared>, mpsc::UnboundedSender<Input>) {
    let (commands, inbox) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        published: watch::Sender::new(Published::new()),
        next_op: AtomicU64::new(1),
    });
    let actor = Actor {
        machine,
        api,
        clock,
        inbox,
        outbox: commands.downgrade(),
        shared: Arc::clone(&shared),
        listener: listener.clone(),
        waiters: HashMap::new(),
        deadline: None,
        follower: None,
    };
    supervise(tokio::spawn(actor.run()), Arc::clone(&shared), listener);
    (shared, commands)
}

/// Hears every state change of a verification, in order.
///
/// Called once per change from an SDK background thread, never while the
/// SDK holds a lock: return quickly (hand the state to your UI thread) and
/// do not block. An error returned or thrown here is logged and otherwise
/// ignored.
#[cfg_attr(feature = "uniffi", uniffi::export(with_foreign))]
pub trait VerificationListener: Send + Sync {
    /// The verification entered `state`.
    fn on_state_changed(&self, state: VerificationState) -> Result<(), MotpError>;
}

/// The error of an operation whose verification task is gone.
pub(crate) fn stopped() -> MotpError {
    MotpError::Internal {
        reason: "the verification task stopped".to_owned(),
    }
}

/// Should the verification task ever panic (a bug), the verification ends
/// in `Failed` instead of leaving `next_state` waiting forever.
fn supervise(
    task: tokio::task::JoinHandle<()>,
    shared: Arc<Shared>,
    listener: Option<Arc<dyn VerificationListener>>,
) {
    tokio::spawn(async move {
        let Err(error) = task.await else {
            return;
        };
        if !error.is_panic() {
            return;
        }
        log::error!("the verification task panicked; the verification failed");
        let state = VerificationState::Failed { error: stopped() };
        let mut ended = false;
        shared.published.send_if_modified(|published| {
            ended = !published.latest().is_final();
            if ended {
                published.push(state.clone());
            }
            ended
        });
        if let (true, Some(listener)) = (ended, listener) {
            let call = AssertUnwindSafe(|| listener.on_state_changed(state));
            let _ = std::panic::catch_unwind(call);
        }
    });
}

/// What handles and the background task share.
pub(crate) struct Shared {
    pub(crate) published: watch::Sender<Published>,
    pub(crate) next_op: AtomicU64,
}

/// The recent state history and the verification's details.
pub(crate) struct Published {
    /// The latest states, oldest first; never empty.
    states: VecDeque<VerificationState>,
    /// Sequence number of `states[0]`; `Idle` is 0.
    pub(crate) first_seq: u64,
    pub(crate) info: Option<VerificationInfo>,
    /// The latest call events, oldest first.
    call_events: VecDeque<CallEvent>,
    /// How many call events were published, ever.
    pub(crate) call_events_total: u64,
}

impl Published {
    pub(crate) fn new() -> Self {
        Self {
            states: VecDeque::from([VerificationState::Idle]),
            first_seq: 0,
            info: None,
            call_events: VecDeque::new(),
            call_events_total: 0,
        }
    }

    /// Call event number `n` (0 for the first), if still kept.
    pub(crate) fn call_event(&self, n: u64) -> Option<&CallEvent> {
        let first = self.call_events_total - self.call_events.len() as u64;
        let index = usize::try_from(n.checked_sub(first)?).ok()?;
        self.call_events.get(index)
    }

    /// Sequence number of the oldest call event kept.
    pub(crate) fn first_call_event(&self) -> u64 {
        self.call_events_total - self.call_events.len() as u64
    }

    fn push_call_event(&mut self, event: CallEvent) {
        self.call_events.push_back(event);
        self.call_events_total += 1;
        while self.call_events.len() > HISTORY_LEN {
            self.call_events.pop_front();
        }
    }

    pub(crate) fn latest_seq(&self) -> u64 {
        self.first_seq + self.states.len() as u64 - 1
    }

    pub(crate) fn latest(&self) -> &VerificationState {
        self.at(self.latest_seq())
    }

    pub(crate) fn at(&self, seq: u64) -> &VerificationState {
        let index = seq.saturating_sub(self.first_seq);
        let index = usize::try_from(index).unwrap_or(usize::MAX);
        self.states
            .get(index)
            .or_else(|| self.states.back())
            .unwrap_or(&VerificationState::Idle)
    }

    pub(crate) fn push(&mut self, state: VerificationState) {
        self.states.push_back(state);
        while self.states.len() > HISTORY_LEN {
            self.states.pop_front();
            self.first_seq += 1;
        }
    }
}

pub(crate) enum Input {
    /// An app operation awaiting its reply (and the state sequence number
    /// when it was answered).
    Operation {
        op: OpId,
        event: Event,
        reply: oneshot::Sender<(Reply, u64)>,
    },
    /// A request result or a fire-and-forget event.
    Event(Event),
}

/// The background task of one verification: owns the machine, runs its
/// effects, and is the only writer of the published state.
struct Actor {
    machine: Machine,
    api: HttpApi,
    clock: Arc<dyn Clock>,
    inbox: mpsc::UnboundedReceiver<Input>,
    /// Weak, so the inbox closes once no handle and no request is left.
    outbox: mpsc::WeakUnboundedSender<Input>,
    shared: Arc<Shared>,
    listener: Option<Arc<dyn VerificationListener>>,
    waiters: HashMap<OpId, oneshot::Sender<(Reply, u64)>>,
    deadline: Option<SystemTime>,
    /// The task following the server's events, while the machine wants it.
    follower: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Actor {
    fn drop(&mut self) {
        // One connection, closed when the verification is over or abandoned.
        if let Some(follower) = self.follower.take() {
            follower.abort();
        }
    }
}

impl Actor {
    async fn run(mut self) {
        loop {
            let input = match self.deadline {
                Some(deadline) => {
                    let wait = deadline
                        .duration_since(self.clock.now())
                        .unwrap_or(Duration::ZERO)
                        .clamp(Duration::from_millis(1), MAX_TIMER_SLICE);
                    tokio::select! {
                        biased;
                        input = self.inbox.recv() => input,
                        () = tokio::time::sleep(wait) => {
                            if self.clock.now() >= deadline {
                                self.step(Event::DeadlineReached);
                            }
                            continue;
                        }
                    }
                }
                None => self.inbox.recv().await,
            };
            match input {
                Some(Input::Operation { op, event, reply }) => {
                    self.waiters.insert(op, reply);
                    self.step(event);
                }
                Some(Input::Event(event)) => self.step(event),
                None => {
                    // No handle is left and nothing is in flight.
                    if !self.machine.state().is_final() {
                        log::debug!("verification abandoned by the app; canceling it");
                        self.step(Event::Cancel { op: None });
                    }
                    return;
                }
            }
        }
    }

    fn step(&mut self, event: Event) {
        let effects = self.machine.handle(event, self.clock.now());
        let mut changes = Vec::new();
        let mut replies = Vec::new();
        let mut told = Vec::new();
        for effect in effects {
            match effect {
                Effect::SendCreate { request } => {
                    let api = self.api.clone();
                    self.spawn(async move { Event::Created(api.create(&request).await) });
                }
                Effect::SendGet { id } => {
                    let api = self.api.clone();
                    self.spawn(async move { Event::Created(api.get(&id).await) });
                }
                Effect::SendCheck { op, id, request } => {
                    let api = self.api.clone();
                    self.spawn(async move {
                        let result = api.check(&id, &request).await;
                        Event::CheckFinished { op, result }
                    });
                }
                Effect::SendResend { op, id } => {
                    let api = self.api.clone();
                    self.spawn(async move {
                        let result = api.resend(&id).await;
                        Event::ResendFinished { op, result }
                    });
                }
                Effect::SendCancel { op, id } => {
                    let api = self.api.clone();
                    self.spawn(async move {
                        let result = api.cancel(&id).await;
                        Event::CancelFinished { op, result }
                    });
                }
                Effect::Follow { id, generation } => {
                    if let Some(old) = self.follower.take() {
                        old.abort();
                    }
                    let api = self.api.clone();
                    let outbox = self.outbox.clone();
                    let send = move |event| {
                        outbox
                            .upgrade()
                            .is_some_and(|tx| tx.send(Input::Event(event)).is_ok())
                    };
                    self.follower = Some(tokio::spawn(follow(api, id, generation, send)));
                }
                Effect::StopFollowing => {
                    if let Some(follower) = self.follower.take() {
                        follower.abort();
                    }
                }
                Effect::Tell(event) => told.push(event),
                Effect::SendReport { id, observation } => {
                    let api = self.api.clone();
                    tokio::spawn(async move {
                        if let Err(error) = api.report(&id, observation).await {
                            log::debug!("the report of what the phone saw was not sent: {error}");
                        }
                    });
                }
                Effect::SetDeadline(deadline) => self.deadline = deadline,
                Effect::Notify(state) => changes.push(state),
                Effect::Reply { op, reply } => replies.push((op, reply)),
            }
        }
        // Publish first, then tell the listener, then answer: when an
        // operation returns, `state()` already shows its outcome.
        let info = self.machine.info().cloned();
        let mut seq = 0;
        self.shared.published.send_if_modified(|published| {
            let modified = !changes.is_empty() || !told.is_empty() || published.info != info;
            published.info = info;
            for event in &told {
                published.push_call_event(event.clone());
            }
            for state in &changes {
                published.push(state.clone());
            }
            seq = published.latest_seq();
            modified
        });
        for event in &told {
            log::debug!("call event: {}", event.name());
        }
        for state in changes {
            log::debug!("verification state: {}", state.name());
            if let Some(listener) = &self.listener {
                let call = AssertUnwindSafe(|| listener.on_state_changed(state));
                if std::panic::catch_unwind(call).is_err() {
                    log::error!("a VerificationListener panicked; the verification goes on");
                }
            }
        }
        for (op, reply) in replies {
            if let Some(waiter) = self.waiters.remove(&op) {
                // The caller may have stopped waiting; that is fine.
                let _ = waiter.send((reply, seq));
            }
        }
    }

    /// Runs a request in its own task, so that it completes (and its
    /// outcome is applied) even when the caller stops waiting.
    fn spawn(&self, request: impl std::future::Future<Output = Event> + Send + 'static) {
        let outbox = self.outbox.upgrade();
        tokio::spawn(async move {
            let event = request.await;
            if let Some(outbox) = outbox {
                let _ = outbox.send(Input::Event(event));
            }
        });
    }
}
