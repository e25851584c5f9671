//! Everything a request handler needs, built once at start.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::clock::Clock;
use crate::codes::CodeBook;
use crate::config::Config;
use crate::keys::KeyKind;
use crate::limits::RateLimiter;
use crate::metrics::Metrics;
use crate::storage::{DestinationCaps, Store};
use crate::telephony::record::CallRecorder;
use crate::telephony::Telephony;
use crate::tokens::TokenSigner;

/// Shared server state.
pub struct AppState {
    /// The validated configuration.
    pub config: Config,
    /// The database.
    pub store: Store,
    /// Caller ranges and the code HMAC key.
    pub codes: CodeBook,
    /// Token signing key.
    pub signer: TokenSigner,
    /// The injected clock.
    pub clock: Arc<dyn Clock>,
    /// The call provider of the first trunk (names, settle times).
    pub telephony: Arc<dyn Telephony>,
    /// Every trunk: routing by destination, failover, health.
    pub trunks: crate::telephony::trunks::Trunks,
    /// Calls placed, when deliberately recorded (tests, `dev_expose_calls`).
    pub recorder: Option<Arc<CallRecorder>>,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Requests per client IP (all of `/v1`).
    pub ip_limiter: RateLimiter<IpAddr>,
    /// Calls started per app (create and resend).
    pub app_limiter: RateLimiter<String>,
    /// Recently seen API keys.
    pub key_cache: KeyCache,
    /// The calls in flight, so they can be ended on the phone (DELETE,
    /// resend, deadline, shutdown).
    pub calls: crate::call_control::CallControl,
    /// Destinations with a fixed code and no call (`[test_numbers]`).
    pub test_numbers: crate::test_numbers::TestNumbers,
    /// Becomes `true` when the server stops, so that long-lived responses
    /// (event streams) end and the graceful shutdown does not wait for them.
    pub closing: tokio::sync::watch::Sender<bool>,
}

/// API keys seen in the last minute, so that a request costs no database
/// read for its key. Only found keys are cached (a new key works at once);
/// a revoked key would stop working within [`KeyCache::TTL_MS`].
#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<Vec<u8>, (String, KeyKind, i64)>>,
}

impl KeyCache {
    /// How long an entry is trusted.
    pub const TTL_MS: i64 = 60_000;
    const CAPACITY: usize = 10_000;

    /// The cached app and kind of `hash`, if fresh.
    pub fn get(&self, hash: &[u8], now: i64) -> Option<(String, KeyKind)> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(hash) {
            Some((app, kind, until)) if *until > now => Some((app.clone(), *kind)),
            _ => None,
        }
    }

    /// Remembers a key found in the database.
    pub fn put(&self, hash: Vec<u8>, app_id: String, kind: KeyKind, now: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= Self::CAPACITY {
            entries.clear();
        }
        entries.insert(hash, (app_id, kind, now + Self::TTL_MS));
    }
}

impl AppState {
    /// The per-destination caps from the configuration.
    pub fn caps(&self) -> DestinationCaps {
        DestinationCaps {
            daily: self.config.limits.daily_cap_per_destination,
            hourly: self.config.limits.hourly_cap_per_destination,
        }
    }

    /// Runs a request's database work, on PostgreSQL within the sum of
    /// `database.acquire_timeout_ms` and `statement_timeout_ms`; past that
    /// it fails (the API answers 503). On SQLite the busy timeout bounds it.
    pub async fn db<T, E>(
        &self,
        work: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E>
    where
        E: From<crate::storage::StoreError>,
    {
        // On SQLite, writes are applied by one writer task that finishes a
        // queued write even after its requester gave up: a deadline here
        // could answer 503 for a write that then commits (a spent code).
        // SQLite bounds each wait itself instead: the busy timeout
        // (`database.statement_timeout_ms`) per statement, and WAL readers
        // never wait for the writer.
        if self.store.backend() == "sqlite" {
            return work.await;
        }
        crate::storage::within(self.config.database.request_deadline(), work).await
    }

    /// Now, by the injected clock (ms).
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}
