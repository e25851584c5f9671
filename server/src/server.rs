//! Starting the server: state from configuration, the listener, background
//! chores, and shutdown. `motp serve` and the tests both come through here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::clock::{Clock, SystemClock};
use crate::codes::{random_bytes, CodeBook, RECOMMENDED_MIN_RANGE};
use crate::config::{Config, ConfigError, ProviderKind};
use crate::limits::RateLimiter;
use crate::listener::ConnectionLimits;
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::storage::{Store, StoreError};
use crate::telephony::log::LogTelephony;
use crate::telephony::record::CallRecorder;
use crate::telephony::Telephony;
use crate::tokens::TokenSigner;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The listener could not be bound.
    #[error("listen: {0}")]
    Io(#[from] std::io::Error),
}

/// Parts a test (or an embedding program) replaces.
#[derive(Default)]
pub struct Overrides {
    /// Instead of the system clock.
    pub clock: Option<Arc<dyn Clock>>,
    /// Instead of the configured provider.
    pub telephony: Option<Arc<dyn Telephony>>,
    /// Record calls here (the calling number, i.e. the code, included).
    pub recorder: Option<Arc<CallRecorder>>,
}

/// Builds the shared state: connects storage (running migrations), loads
/// or creates the secrets, and picks the telephony provider.
pub async fn build_state(
    config: Config,
    overrides: Overrides,
) -> Result<Arc<AppState>, StartError> {
    config.validate()?;
    let store = Store::connect(&config.database).await?;
    let hmac_key = match &config.secrets.code_hmac_key {
        Some(text) => decode_key(text, "secrets.code_hmac_key")?.to_vec(),
        None => {
            store
                .secret("code_hmac_key", || random_bytes::<32>().to_vec())
                .await?
        }
    };
    let seed = match &config.secrets.token_signing_key {
        Some(text) => decode_key(text, "secrets.token_signing_key")?,
        None => {
            let bytes = store
                .secret("token_signing_key", || random_bytes::<32>().to_vec())
                .await?;
            bytes
                .try_into()
                .map_err(|_| StoreError::Corrupt("token_signing_key".into()))?
        }
    };
    if config.secrets.code_hmac_key.is_none() || config.secrets.token_signing_key.is_none() {
        tracing::warn!(
            "server secrets are kept in the database; set secrets.code_hmac_key and \
             secrets.token_signing_key (MOTP_SECRETS__…) in production"
        );
    }
    let codes = CodeBook::new(config.codes.ranges.clone(), hmac_key.clone());
    for range in codes.weak_ranges() {
        tracing::warn!(
            prefix = %range.prefix,
            codes = range.size(),
            recommended = RECOMMENDED_MIN_RANGE,
            "caller range offers fewer than 10^6 codes (NIST SP 800-63B asks 20 bits); \
             see docs/security.md for the brute-force budget"
        );
    }
    let budget = crate::budget::BruteForceBudget::of(&config);
    tracing::info!(
        guesses_per_number_per_day = budget.guesses_per_day(),
        chance_per_number_per_day = budget.chance_per_day(),
        "brute-force budget"
    );
    if config.limits.allowed_countries.is_empty() {
        tracing::warn!(
            "limits.allowed_countries is empty: every country may be called (toll-fraud risk)"
        );
    }
    let metrics = Metrics::new();
    let trunks = build_trunks(&config, overrides.telephony, &metrics, &hmac_key)?;
    let telephony = Arc::clone(&trunks.get(0).provider);
    let recorder = match overrides.recorder {
        Some(r) => Some(r),
        None if config.telephony.dev_expose_calls => {
            tracing::warn!(
                "telephony.dev_expose_calls is on: GET /v1/dev/calls/{{id}} reveals codes. \
                 Development only."
            );
            Some(Arc::new(CallRecorder::new()))
        }
        None => None,
    };
    let clock = overrides.clock.unwrap_or_else(|| Arc::new(SystemClock));
    interrupt_orphaned_calls(&store, &config, trunks.settle_time(), clock.now_ms(), true).await?;
    crate::phone::warm_up();
    let test_numbers = crate::test_numbers::TestNumbers::new(
        &config.test_numbers,
        &config.codes.ranges,
        &config.limits.allowed_countries,
    )
    .map_err(ConfigError)?;
    if !test_numbers.is_empty() {
        tracing::warn!(
            entries = config.test_numbers.numbers.len(),
            "test numbers are configured: they approve with a fixed code and place no call"
        );
    }
    let limits = &config.limits;
    Ok(Arc::new(AppState {
        ip_limiter: RateLimiter::new(limits.per_ip_per_minute, limits.per_ip_burst),
        app_limiter: RateLimiter::new(limits.per_app_per_minute, limits.per_app_burst),
        signer: TokenSigner::new(seed),
        key_cache: Default::default(),
        calls: Default::default(),
        closing: tokio::sync::watch::Sender::new(false),
        clock,
        metrics,
        codes,
        store,
        telephony,
        trunks,
        recorder,
        test_numbers,
        config,
    }))
}

/// The trunks: each SIP trunk of the configuration with its own socket,
/// limits and caller ranges; else one trunk `default` with the `log`
/// provider (or the one a test passes) and `[[codes.ranges]]`.
fn build_trunks(
    config: &Config,
    provider: Option<Arc<dyn Telephony>>,
    metrics: &Metrics,
    hmac_key: &[u8],
) -> Result<crate::telephony::trunks::Trunks, StartError> {
    use crate::telephony::trunks::{Trunk, Trunks};
    let health = &metrics.trunk_health;
    let codes_of = |ranges: &[crate::config::CallerRange]| {
        let ranges = if ranges.is_empty() {
            &config.codes.ranges
        } else {
            ranges
        };
        let codes = CodeBook::new(ranges.to_vec(), hmac_key.to_vec());
        for range in codes.weak_ranges() {
            tracing::warn!(
                prefix = %range.prefix,
                codes = range.size(),
                "a trunk's caller range offers fewer than 10^6 codes"
            );
        }
        codes
    };
    if provider.is_some() || config.telephony.provider == ProviderKind::Log {
        let provider = provider.unwrap_or_else(|| Arc::new(LogTelephony));
        let trunk = Trunk::new("default", provider, codes_of(&[]), &[], &[], health);
        return Ok(Trunks::new(vec![trunk]));
    }
    let mut trunks = Vec::new();
    for sip in config.telephony.sip_trunks() {
        let provider = crate::telephony::sip::SipTelephony::with_metrics(
            sip.clone(),
            metrics.trunk(&sip.name),
        )
        .map_err(|e| ConfigError(format!("trunk {:?}: {}", sip.name, e.0)))?;
        tracing::info!(trunk = %sip.name, local = %provider.local_addr(), "sip trunk ready");
        trunks.push(Trunk::new(
            &sip.name,
            Arc::new(provider),
            codes_of(&sip.ranges),
            &sip.countries,
            &sip.prefixes,
            health,
        ));
    }
    Ok(Trunks::new(trunks))
}

/// The longest a call of this process can be followed: the give-up
/// deadline, the provider's time to end it, and the shutdown bound.
fn longest_call(config: &Config, settle: Duration) -> Duration {
    Duration::from_secs(config.telephony.answer_timeout_secs)
        + config.telephony.ring_time()
        + 2 * (settle + Duration::from_secs(1))
        + Duration::from_secs(config.telephony.shutdown_secs)
}

/// Calls left `calling`/`ringing` by a process that was killed are
/// recorded `failed/interrupted`: at start all of them on SQLite (this
/// process is its only user), and on PostgreSQL (shared by instances)
/// those older than the longest a call can last, at start and every
/// minute.
async fn interrupt_orphaned_calls(
    store: &Store,
    config: &Config,
    settle: Duration,
    now: i64,
    at_start: bool,
) -> Result<(), StoreError> {
    let ttl_ms = i64::try_from(config.codes.ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX / 4);
    let started_by = match store {
        Store::Sqlite(_) if at_start => i64::MAX,
        Store::Sqlite(_) => return Ok(()),
        Store::Postgres(_) => {
            let longest = i64::try_from(longest_call(config, settle).as_millis()).unwrap_or(0);
            now - longest - 60_000
        }
    };
    let rows = store.interrupt_calls(ttl_ms, started_by).await?;
    if rows > 0 {
        tracing::warn!(
            rows,
            "calls left in flight by a stopped process recorded failed/interrupted"
        );
    }
    Ok(())
}

fn decode_key(text: &str, name: &str) -> Result<[u8; 32], ConfigError> {
    STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| ConfigError(format!("{name} must be 32 bytes in base64")))
}

/// A server accepting connections.
pub struct RunningServer {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// The shared state.
    pub state: Arc<AppState>,
    shutdown: Option<oneshot::Sender<()>>,
    serving: JoinHandle<std::io::Result<()>>,
    chores: JoinHandle<()>,
    webhooks: Option<JoinHandle<()>>,
}

/// Builds the state, binds `server.listen` and starts serving.
pub async fn start(config: Config, overrides: Overrides) -> Result<RunningServer, StartError> {
    let listen = config.server.listen;
    let state = build_state(config, overrides).await?;
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let app = crate::api::router(Arc::clone(&state));
    let (shutdown, stopped) = oneshot::channel::<()>();
    let server = &state.config.server;
    let limits = ConnectionLimits {
        header_read_timeout: Duration::from_millis(server.header_read_timeout_ms),
        keep_alive_idle: Duration::from_millis(server.keep_alive_idle_ms),
        max_connections: server.max_connections,
    };
    if let Some(files) = crate::listener::open_files_limit() {
        // Room for the database, the SIP sockets and the listener itself.
        let needed = server.max_connections as u64 + 128;
        if files < needed {
            tracing::warn!(
                max_connections = server.max_connections,
                open_files_limit = files,
                "server.max_connections is above what the open-files limit allows \
                 (ulimit -n); raise the limit or lower the cap"
            );
        }
    }
    let serving = tokio::spawn(crate::listener::serve(listener, app, limits, async move {
        let _ = stopped.await;
    }));
    let chores = tokio::spawn(maintenance(Arc::clone(&state)));
    let webhooks = state.config.webhooks.deliver.then(|| {
        tokio::spawn(crate::webhooks::dispatch::run(
            Arc::clone(&state),
            Arc::new(SystemClock),
        ))
    });
    tracing::info!(
        %addr,
        database = state.store.backend(),
        telephony = state.telephony.name(),
        "motp server listening"
    );
    Ok(RunningServer {
        addr,
        state,
        shutdown: Some(shutdown),
        serving,
        chores,
        webhooks,
    })
}

/// Background upkeep: a WAL checkpoint every second (SQLite), expired
/// verifications purged every minute, and call records older than the
/// daily window deleted every ten minutes.
async fn maintenance(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut quiet_trim = crate::memory::QuietTrim::default();
    for n in 0u64.. {
        tick.tick().await;
        if quiet_trim.tick(state.calls.in_flight(), state.calls.finished()) {
            let started = std::time::Instant::now();
            let _ = tokio::task::spawn_blocking(crate::memory::return_free_memory).await;
            tracing::debug!(
                ms = started.elapsed().as_millis() as u64,
                "calls over: free memory returned to the system"
            );
        }
        if let Err(error) = state.store.checkpoint().await {
            tracing::warn!(%error, "WAL checkpoint failed");
        }
        if n % 60 == 59 {
            let settle = state.telephony.settle_time();
            if let Err(error) =
                interrupt_orphaned_calls(&state.store, &state.config, settle, state.now(), false)
                    .await
            {
                tracing::warn!(%error, "sweeping interrupted calls failed");
            }
        }
        if n % 60 == 5 {
            purge_expired(&state).await;
        }
        if n % 600 == 0 {
            match state.store.prune_calls(state.now()).await {
                Ok(0) => {}
                Ok(rows) => tracing::debug!(rows, "pruned old call records"),
                Err(error) => tracing::warn!(%error, "pruning call records failed"),
            }
        }
    }
}

/// Deletes verifications expired more than `codes.keep_expired_secs` ago
/// (in short batches: see `storage/purge.rs`).
async fn purge_expired(state: &AppState) {
    let keep_ms = i64::try_from(state.config.codes.keep_expired_secs.saturating_mul(1000))
        .unwrap_or(i64::MAX / 2);
    let started = std::time::Instant::now();
    match state.store.purge_expired(state.now() - keep_ms).await {
        Ok(0) => {}
        Ok(rows) => tracing::info!(
            rows,
            ms = started.elapsed().as_millis() as u64,
            "purged expired verifications"
        ),
        Err(error) => tracing::warn!(%error, "purging expired verifications failed"),
    }
}

impl RunningServer {
    /// The base URL, `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops taking new verifications (503), ends every call in flight on
    /// the phone and records its outcome (within `telephony.shutdown_secs`;
    /// calls unsettled by then are recorded `failed/interrupted`), then
    /// stops accepting, finishes in-flight requests, closes the database.
    pub async fn stop(mut self) {
        let state = &self.state;
        state.calls.drain();
        let in_flight = state.calls.in_flight();
        if in_flight > 0 {
            tracing::info!(calls = in_flight, "ending the calls in flight");
            let until = tokio::time::Instant::now()
                + Duration::from_secs(state.config.telephony.shutdown_secs);
            let left = state.calls.wait_idle(until).await;
            for ticket in &left {
                crate::calls::record_interrupted(state, &ticket.verification_id, ticket.call_seq)
                    .await;
            }
            if !left.is_empty() {
                tracing::warn!(
                    calls = left.len(),
                    "calls not settled in time: recorded interrupted"
                );
            }
        }
        // Open event streams end now; the calls' outcomes are recorded.
        self.state.closing.send_replace(true);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.serving).await;
        self.chores.abort();
        if let Some(webhooks) = &self.webhooks {
            webhooks.abort();
        }
        self.state.store.close().await;
    }

    /// Serves until SIGINT or SIGTERM, then stops gracefully.
    pub async fn run_until_signal(self) -> std::io::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.stop().await;
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
