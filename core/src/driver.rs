//! The SDK entry point: [`MotpClient`] starts verifications and returns a
//! [`VerificationHandle`] to feed incoming calls or a typed code to.
//!
//! ```no_run
//! # async fn demo() -> Result<(), motp_core::MotpError> {
//! use std::time::SystemTime;
//! use motp_core::driver::{ClientConfig, MotpClient};
//! use motp_core::machine::CallMatch;
//!
//! let client = MotpClient::new(ClientConfig::new(
//!     "https://verify.example.com",
//!     "pk_live_…",
//!     "GB",
//! ))?;
//! let verification = client.start_verification("+447700900123", None).await?;
//! // On Android, for every incoming call while the verification runs:
//! let outcome = verification
//!     .on_incoming_call("+44 20 7946 0123", SystemTime::now(), Some(0))
//!     .await?;
//! if let CallMatch::Verified { token } = outcome {
//!     // send `token` to your backend
//! }
//! # Ok(()) }
//! ```
//!
//! Everything runs on tokio: call the async functions from a tokio runtime
//! (the Kotlin and Swift bindings do this for you). Each verification owns a
//! small background task that runs its timers and requests; it ends when the
//! verification is over and no handle is left.

use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, oneshot, watch};

use crate::client::{ApiClient, DEFAULT_REQUEST_TIMEOUT};
use crate::error::MotpError;
use crate::machine::{
    CallMatch, Effect, Event, Machine, MachineConfig, ManualEntryReason, OpId, Reply,
    VerificationInfo, VerificationState,
};
use crate::protocol::CallerInfo;

/// Default time to wait for the verification call before asking the user to
/// type the code.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest single timer sleep. Monotonic timers stop while a phone sleeps;
/// waking at least this often lets the wall clock catch up with deadlines.
const MAX_TIMER_SLICE: Duration = Duration::from_secs(2);

/// State changes kept for [`VerificationHandle::next_state`].
const HISTORY_LEN: usize = 64;

/// How to reach the mOTP server, and how patient to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Base URL of the mOTP server, e.g. `https://verify.example.com`.
    pub server_url: String,
    /// The app's *publishable* key (`pk_…`). Never put a secret key in an app.
    pub publishable_key: String,
    /// The handset's home country, ISO 3166 alpha-2 (`GB`, `US`…), from the
    /// SIM or else the locale. Used to read national-format numbers, both
    /// the one being verified and the incoming caller ID.
    pub home_country: String,
    /// Time allowed for one request to the server.
    pub request_timeout: Duration,
    /// How long to wait for the verification call before switching to
    /// [`VerificationState::ManualEntry`]. A call arriving later still
    /// counts, until the verification expires.
    pub call_timeout: Duration,
}

impl ClientConfig {
    /// A configuration with the default timeouts
    /// ([`DEFAULT_REQUEST_TIMEOUT`], [`DEFAULT_CALL_TIMEOUT`]).
    pub fn new(
        server_url: impl Into<String>,
        publishable_key: impl Into<String>,
        home_country: impl Into<String>,
    ) -> Self {
        Self {
            server_url: server_url.into(),
            publishable_key: publishable_key.into(),
            home_country: home_country.into(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            call_timeout: DEFAULT_CALL_TIMEOUT,
        }
    }
}

/// Receives every state change of a verification.
///
/// Called once per change, in order, from a background thread, never while
/// the SDK holds a lock. Return quickly: hand the state to your UI thread.
pub trait StateListener: Send + Sync {
    /// The verification entered `state`.
    fn on_state_changed(&self, state: VerificationState);
}

/// Where the SDK reads the time. Apps use [`SystemClock`]; tests supply a
/// clock that follows tokio's paused time.
pub trait Clock: Send + Sync {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
}

/// The device's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Starts phone-number verifications against an mOTP server.
///
/// Create one per app and share it: clones are cheap and share one
/// connection pool.
#[derive(Clone)]
pub struct MotpClient {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    config: ClientConfig,
    api: ApiClient,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for MotpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MotpClient")
            .field("server_url", &self.inner.config.server_url)
            .field("home_country", &self.inner.config.home_country)
            .finish_non_exhaustive()
    }
}

impl MotpClient {
    /// A client for the server in `config`.
    ///
    /// Fails with [`MotpError::InvalidInput`] when the URL is malformed, the
    /// key is empty or secret, the home country is unknown, or a timeout is
    /// zero. Needs no async runtime; nothing is sent yet.
    pub fn new(config: ClientConfig) -> Result<Self, MotpError> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// Like [`new`](Self::new), reading the time from `clock`. For tests.
    pub fn with_clock(mut config: ClientConfig, clock: Arc<dyn Clock>) -> Result<Self, MotpError> {
        config.home_country = config.home_country.trim().to_ascii_uppercase();
        if crate::countries::by_iso(&config.home_country).is_none() {
            return Err(MotpError::InvalidInput {
                reason: "home_country is not a known ISO 3166 alpha-2 country".to_owned(),
            });
        }
        if config.call_timeout.is_zero() {
            return Err(MotpError::InvalidInput {
                reason: "call_timeout must be more than zero".to_owned(),
            });
        }
        let api = ApiClient::new(
            &config.server_url,
            &config.publishable_key,
            config.request_timeout,
        )?;
        Ok(Self {
            inner: Arc::new(ClientInner { config, api, clock }),
        })
    }

    /// The configuration in use (home country upper-cased).
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Asks the server to call `phone_number` (E.164, or national in the
    /// configured home country) and returns once the call is on its way.
    ///
    /// `listener`, when given, hears every state change from `Requesting`
    /// on, including those before this function returns.
    ///
    /// The returned handle is in [`VerificationState::AwaitingCall`] (or
    /// already further). Errors: [`MotpError::InvalidPhoneNumber`],
    /// [`MotpError::DestinationNotAllowed`], [`MotpError::RateLimited`],
    /// [`MotpError::Unauthorized`], and the network errors.
    ///
    /// Dropping the returned future before it completes withdraws the
    /// verification on the server once the server has created it.
    /// Must be polled inside a tokio runtime.
    pub async fn start_verification(
        &self,
        phone_number: &str,
        listener: Option<Arc<dyn StateListener>>,
    ) -> Result<VerificationHandle, MotpError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(MotpError::InvalidState {
                reason: "start_verification must run inside a tokio runtime".to_owned(),
            });
        }
        let config = &self.inner.config;
        let machine = Machine::new(MachineConfig {
            home_country: config.home_country.clone(),
            request_timeout: config.request_timeout,
            call_timeout: config.call_timeout,
        });
        let (commands, inbox) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            published: watch::Sender::new(Published::new()),
            next_op: AtomicU64::new(1),
        });
        let actor = Actor {
            machine,
            api: self.inner.api.clone(),
            clock: Arc::clone(&self.inner.clock),
            inbox,
            outbox: commands.downgrade(),
            shared: Arc::clone(&shared),
            listener: listener.clone(),
            waiters: HashMap::new(),
            deadline: None,
        };
        supervise(tokio::spawn(actor.run()), Arc::clone(&shared), listener);
        let handle = VerificationHandle {
            shared,
            commands,
            cursor: Arc::new(AtomicU64::new(0)),
        };
        let phone_number = phone_number.to_owned();
        let (reply, seq) = handle
            .operate(|op| Event::Start { op, phone_number })
            .await?;
        match reply {
            Reply::Start(Ok(())) => {
                handle.cursor.store(seq, Ordering::SeqCst);
                Ok(handle)
            }
            Reply::Start(Err(error)) => Err(error),
            other => Err(mismatched(&other)),
        }
    }
}

/// One running verification. Cheap to clone; clones control the same
/// verification. Safe to use from any thread.
///
/// Every async method can be abandoned (its future dropped) at any time: the
/// operation still completes in the background and the state stays
/// consistent. Dropping every clone of the handle cancels a verification
/// that has not ended yet.
#[derive(Clone)]
pub struct VerificationHandle {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Input>,
    /// Sequence number of the last state [`next_state`](Self::next_state)
    /// returned; shared by clones.
    cursor: Arc<AtomicU64>,
}

impl std::fmt::Debug for VerificationHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationHandle")
            .field("id", &self.id())
            .field("state", &self.state().name())
            .finish()
    }
}

impl VerificationHandle {
    /// The current state.
    pub fn state(&self) -> VerificationState {
        self.shared.published.borrow().latest().clone()
    }

    /// Facts about the verification: id, caller prefix and code length,
    /// expiry, when a resend is allowed, attempts left. They change after a
    /// resend or a wrong code.
    pub fn info(&self) -> VerificationInfo {
        self.shared
            .published
            .borrow()
            .info
            .clone()
            .unwrap_or_else(placeholder_info)
    }

    /// The server's identifier of this verification.
    pub fn id(&self) -> String {
        self.info().id
    }

    /// What the verification call's number looks like: a prefix and the
    /// number of code digits after it. Show the prefix beside the code field.
    pub fn caller(&self) -> CallerInfo {
        self.info().caller
    }

    /// Reports an incoming call seen by the phone: `number` as the platform
    /// shows it (any format), `observed_at` when it rang or was logged,
    /// `sim_slot` the SIM it arrived on, when known.
    ///
    /// Report every incoming number while the verification runs, including
    /// calls seen while [`MotpClient::start_verification`] was still in
    /// progress: `observed_at` decides whether a call counts. A number that
    /// fits the caller pattern is checked by the server, which has the final
    /// word; anything else is ignored.
    ///
    /// Returns [`CallMatch::Verified`] with the token when approved, or
    /// [`CallMatch::Ignored`] with the reason. Errors are the server's
    /// verdict ([`MotpError::WrongCode`], [`MotpError::Expired`]…) or a
    /// network failure; the verification then keeps waiting unless it ended.
    pub async fn on_incoming_call(
        &self,
        number: &str,
        observed_at: SystemTime,
        sim_slot: Option<u32>,
    ) -> Result<CallMatch, MotpError> {
        let number = number.to_owned();
        let event = |op| Event::IncomingCall {
            op,
            number,
            observed_at,
            sim_slot,
        };
        match self.operate(event).await?.0 {
            Reply::Call(result) => result,
            other => Err(mismatched(&other)),
        }
    }

    /// Checks a code the user typed (the last digits of the calling
    /// number; spaces and dashes are ignored) and returns the token when
    /// the server approves it.
    ///
    /// Errors: [`MotpError::InvalidInput`] when it is not
    /// [`CallerInfo::code_length`] digits (nothing is sent),
    /// [`MotpError::WrongCode`] with the attempts left,
    /// [`MotpError::Expired`], [`MotpError::InvalidState`] while another
    /// check runs or after the verification ended, network errors.
    pub async fn submit_code(&self, code: &str) -> Result<String, MotpError> {
        let code = code.to_owned();
        match self.operate(|op| Event::CodeEntered { op, code }).await?.0 {
            Reply::Code(result) => result,
            other => Err(mismatched(&other)),
        }
    }

    /// Asks for a new call with a new code. Allowed from
    /// [`VerificationInfo::resend_after`] on; earlier it fails with
    /// [`MotpError::RateLimited`] saying how long to wait, without asking
    /// the server. The verification then awaits the new call again.
    pub async fn resend(&self) -> Result<(), MotpError> {
        match self.operate(|op| Event::ResendRequested { op }).await?.0 {
            Reply::Resend(result) => result,
            other => Err(mismatched(&other)),
        }
    }

    /// Cancels the verification: the state becomes
    /// [`VerificationState::Canceled`] at once, and the server is told.
    /// Returns an error only when the server could not be told (it will
    /// expire the verification by itself). No effect once the verification
    /// has ended.
    pub async fn cancel(&self) -> Result<(), MotpError> {
        match self.operate(|op| Event::Cancel { op: Some(op) }).await?.0 {
            Reply::Cancel(result) => result,
            other => Err(mismatched(&other)),
        }
    }

    /// Tells the SDK that incoming calls cannot be read, so the user must
    /// type the code: [`VerificationState::AwaitingCall`] becomes
    /// [`VerificationState::ManualEntry`] with `reason`. Call it when the
    /// permission is missing or denied, and on platforms that never show
    /// caller IDs to apps.
    pub fn switch_to_manual_entry(&self, reason: ManualEntryReason) {
        // The send fails only when the verification task is gone, and then
        // there is nothing left to switch.
        let _ = self
            .commands
            .send(Input::Event(Event::SwitchToManualEntry { reason }));
    }

    /// Waits for the next state change and returns it.
    ///
    /// Changes are never skipped: each call returns the change after the
    /// one the previous call returned (on this handle or a clone), at once
    /// if it already happened. After a final state it returns that state
    /// again without waiting, so a loop until
    /// [`VerificationState::is_final`] always ends. Cancel the wait by
    /// dropping the future.
    pub async fn next_state(&self) -> VerificationState {
        let cursor = self.cursor.load(Ordering::SeqCst);
        let mut published = self.shared.published.subscribe();
        let ready = |p: &Published| p.latest_seq() > cursor || p.latest().is_final();
        // Fails only when the sender is gone, and `self.shared` keeps it.
        let _ = published.wait_for(ready).await;
        let (seq, state) = {
            let snapshot = self.shared.published.borrow();
            let seq = if snapshot.latest_seq() > cursor {
                (cursor + 1).max(snapshot.first_seq)
            } else {
                snapshot.latest_seq()
            };
            (seq, snapshot.at(seq).clone())
        };
        self.cursor.fetch_max(seq, Ordering::SeqCst);
        state
    }

    async fn operate(&self, event: impl FnOnce(OpId) -> Event) -> Result<(Reply, u64), MotpError> {
        let op = OpId(self.shared.next_op.fetch_add(1, Ordering::Relaxed));
        let (reply, answer) = oneshot::channel();
        let input = Input::Operation {
            op,
            event: event(op),
            reply,
        };
        if self.commands.send(input).is_err() {
            return Err(stopped());
        }
        answer.await.map_err(|_| stopped())
    }
}

/// Should the verification task ever panic (a bug), the verification ends
/// in `Failed` instead of leaving `next_state` waiting forever.
fn supervise(
    task: tokio::task::JoinHandle<()>,
    shared: Arc<Shared>,
    listener: Option<Arc<dyn StateListener>>,
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

fn stopped() -> MotpError {
    MotpError::Internal {
        reason: "the verification task stopped".to_owned(),
    }
}

fn mismatched(reply: &Reply) -> MotpError {
    MotpError::Internal {
        reason: format!("unexpected reply kind {}", reply_kind(reply)),
    }
}

fn reply_kind(reply: &Reply) -> &'static str {
    match reply {
        Reply::Start(_) => "start",
        Reply::Call(_) => "call",
        Reply::Code(_) => "code",
        Reply::Resend(_) => "resend",
        Reply::Cancel(_) => "cancel",
    }
}

fn placeholder_info() -> VerificationInfo {
    VerificationInfo {
        id: String::new(),
        phone_number: String::new(),
        caller: CallerInfo {
            prefix: String::new(),
            code_length: 0,
        },
        expires_at: SystemTime::UNIX_EPOCH,
        resend_after: SystemTime::UNIX_EPOCH,
        attempts_left: 0,
    }
}

/// What handles and the background task share.
struct Shared {
    published: watch::Sender<Published>,
    next_op: AtomicU64,
}

/// The recent state history and the verification's details.
struct Published {
    /// The latest states, oldest first; never empty.
    states: VecDeque<VerificationState>,
    /// Sequence number of `states[0]`; `Idle` is 0.
    first_seq: u64,
    info: Option<VerificationInfo>,
}

impl Published {
    fn new() -> Self {
        Self {
            states: VecDeque::from([VerificationState::Idle]),
            first_seq: 0,
            info: None,
        }
    }

    fn latest_seq(&self) -> u64 {
        self.first_seq + self.states.len() as u64 - 1
    }

    fn latest(&self) -> &VerificationState {
        self.at(self.latest_seq())
    }

    fn at(&self, seq: u64) -> &VerificationState {
        let index = seq.saturating_sub(self.first_seq);
        let index = usize::try_from(index).unwrap_or(usize::MAX);
        self.states
            .get(index)
            .or_else(|| self.states.back())
            .unwrap_or(&VerificationState::Idle)
    }

    fn push(&mut self, state: VerificationState) {
        self.states.push_back(state);
        while self.states.len() > HISTORY_LEN {
            self.states.pop_front();
            self.first_seq += 1;
        }
    }
}

enum Input {
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
    api: ApiClient,
    clock: Arc<dyn Clock>,
    inbox: mpsc::UnboundedReceiver<Input>,
    /// Weak, so the inbox closes once no handle and no request is left.
    outbox: mpsc::WeakUnboundedSender<Input>,
    shared: Arc<Shared>,
    listener: Option<Arc<dyn StateListener>>,
    waiters: HashMap<OpId, oneshot::Sender<(Reply, u64)>>,
    deadline: Option<SystemTime>,
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
        for effect in effects {
            match effect {
                Effect::SendCreate { request } => {
                    let api = self.api.clone();
                    self.spawn(async move { Event::Created(api.create(&request).await) });
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
            let modified = !changes.is_empty() || published.info != info;
            published.info = info;
            for state in &changes {
                published.push(state.clone());
            }
            seq = published.latest_seq();
            modified
        });
        for state in changes {
            log::debug!("verification state: {}", state.name());
            if let Some(listener) = &self.listener {
                let call = AssertUnwindSafe(|| listener.on_state_changed(state));
                if std::panic::catch_unwind(call).is_err() {
                    log::error!("a StateListener panicked; the verification goes on");
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
