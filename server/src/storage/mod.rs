//! Storage through sqlx: SQLite (default, one file, WAL) or PostgreSQL
//! (several instances sharing the load), chosen by the database URL.
//!
//! The two backends run the same SQL text (`$1` placeholders work in both)
//! through an enum over the two backends, so the API test suite runs
//! unchanged on both. PostgreSQL uses an sqlx pool. SQLite, where this
//! process is the only writer, gets three things for speed (each worth a
//! multiple of throughput on a small machine, where every hand-off to an
//! sqlx-sqlite worker thread costs a context switch): one writer connection
//! and a few read-only ones held directly (no pool), a write-through cache
//! of verification rows (`RowCache`), and group commit of check outcomes
//! (`batch.rs`). None of them changes a decision: every write is still
//! conditional on the version it was decided on.
//!
//! Durability: SQLite runs in WAL mode; a commit is written to the WAL file
//! before the server answers, so a killed process loses nothing it
//! acknowledged (`synchronous = NORMAL`); `FULL` adds an fsync per commit
//! for power loss. PostgreSQL commits are durable by its own defaults.
//!
//! Concurrency: every change to a verification is a conditional `UPDATE …
//! WHERE version = $n` that bumps the version; a writer that loses the race
//! re-reads and decides again, so two parallel checks can never both spend
//! the same attempt. The caps on calls per destination are counted and the
//! call recorded in one transaction, serialised per destination (SQLite's
//! write lock; a PostgreSQL advisory lock on the number).

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use motp_core::protocol::VerificationStatus;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ColumnIndex, ConnectOptions, Connection, Decode, Row, Type};
use tokio::sync::{Mutex, MutexGuard};

mod batch;
mod deadline;

pub use deadline::within;
mod check;
mod create_batch;

pub use check::CodeCandidate;

use crate::config::{DatabaseConfig, SqliteSynchronousConfig};
use crate::keys::KeyKind;

/// A day and an hour in milliseconds: the windows of the destination caps.
pub const DAY_MS: i64 = 86_400_000;
/// See [`DAY_MS`].
pub const HOUR_MS: i64 = 3_600_000;

/// A storage failure; the caller should retry later, not fix its request.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed or is unreachable.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The URL is neither `sqlite:` nor `postgres:`.
    #[error("unsupported database URL (use sqlite://… or postgres://…)")]
    UnsupportedUrl,
    /// A row that does not decode (a bug or a foreign write).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database did not answer within the request's deadline
    /// (`database.acquire_timeout_ms` + `statement_timeout_ms`).
    #[error("the database did not answer within {0} ms")]
    TimedOut(u128),
}

/// The database.
#[derive(Clone)]
pub enum Store {
    /// SQLite: one writer, several readers, same file.
    Sqlite(Arc<SqliteConns>),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// SQLite's connections, held directly rather than in an sqlx pool: a
/// pooled SQLite connection costs an extra round trip to its worker thread
/// (a ping) on every release, which doubled the cost of a request.
pub struct SqliteConns {
    /// The single writer.
    write: Mutex<SqliteConnection>,
    /// Read-only connections, used round-robin.
    read: Vec<Mutex<SqliteConnection>>,
    next_read: AtomicUsize,
    /// One connection that only runs WAL checkpoints.
    checkpoint: Mutex<SqliteConnection>,
    /// Verifications as last written or read by this process.
    cache: RowCache,
    /// Group commit of check and cancel outcomes.
    batcher: batch::Batcher,
    /// Group commit of creates.
    creates: create_batch::CreateBatcher,
}

/// A write-through cache of verification rows, SQLite only: there, this
/// process is the database's only writer, so every change passes through
/// [`Store`] and is put here with its new version. A row only ever replaces
/// an older version of itself, so a slow reader cannot put back a stale row.
/// Decisions stay safe regardless: every write is conditional on the version
/// read, and a writer that loses reads the row again from the database.
/// (PostgreSQL serves several instances, so it reads the database every time.)
#[derive(Default)]
struct RowCache {
    rows: std::sync::Mutex<std::collections::HashMap<String, VerificationRow>>,
}

impl RowCache {
    /// Rows kept before the cache starts over.
    const CAPACITY: usize = 100_000;

    fn get(&self, id: &str) -> Option<VerificationRow> {
        let rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        rows.get(id).cloned()
    }

    fn put(&self, row: &VerificationRow) {
        let mut rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(cached) = rows.get(&row.id) {
            if cached.version >= row.version {
                return;
            }
        } else if rows.len() >= Self::CAPACITY {
            rows.clear();
        }
        rows.insert(row.id.clone(), row.clone());
    }
}

impl SqliteConns {
    /// A free reader, else the next one in turn.
    async fn reader(&self) -> MutexGuard<'_, SqliteConnection> {
        for conn in &self.read {
            if let Ok(guard) = conn.try_lock() {
                return guard;
            }
        }
        let n = self.next_read.fetch_add(1, Ordering::Relaxed) % self.read.len();
        self.read[n].lock().await
    }
}

/// Runs `$body` with `$p` bound to an executor for reads (use `$p` once).
macro_rules! reader {
    ($store:expr, |$p:ident| $body:expr) => {
        match $store {
            Store::Sqlite(conns) => {
                let mut guard = conns.reader().await;
                let $p = &mut *guard;
                $body
            }
            Store::Postgres($p) => $body,
        }
    };
}

/// Runs `$body` with `$p` bound to an executor for writes (use `$p` once,
/// or open a transaction with `$p.begin()`).
macro_rules! writer {
    ($store:expr, |$p:ident| $body:expr) => {
        match $store {
            Store::Sqlite(conns) => {
                let mut guard = conns.write.lock().await;
                let $p = &mut *guard;
                $body
            }
            Store::Postgres($p) => $body,
        }
    };
}

/// Inside a write transaction `$tx`: serialises calls to `$phone` across
/// instances (PostgreSQL: an advisory lock held until commit; SQLite has one
/// writer anyway), counts its calls in the last day and hour, and yields the
/// `retry_at` instant when a cap is reached. One definition for create and
/// resend, so both are refused by exactly the same rule.
macro_rules! destination_capped {
    ($store:expr, $tx:ident, $phone:expr, $caps:expr, $now:expr) => {{
        if matches!($store, Store::Postgres(_)) {
            sqlx::query(PG_LOCK_DESTINATION)
                .bind($phone)
                .execute(&mut *$tx)
                .await?;
        }
        let counts = sqlx::query(COUNT_CALLS)
            .bind($phone)
            .bind($now - DAY_MS)
            .bind($now - HOUR_MS)
            .fetch_one(&mut *$tx)
            .await?;
        capped(
            $caps,
            counts.try_get("day")?,
            counts.try_get("hour")?,
            counts.try_get("oldest_day")?,
            counts.try_get("oldest_hour")?,
        )
    }};
}

// After the macros, which it uses.
pub mod webhooks;
// After the macros above, which it uses.
mod purge;

/// One verification as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationRow {
    pub id: String,
    pub app_id: String,
    /// E.164.
    pub phone_number: String,
    pub status: VerificationStatus,
    pub failure_reason: Option<String>,
    pub caller_prefix: String,
    pub code_length: u8,
    /// HMAC of the code.
    pub code_mac: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
    pub resend_after: i64,
    pub resends: u32,
    pub attempts_left: u32,
    pub call_seq: i64,
    pub verified_at: Option<i64>,
    pub version: i64,
    /// The stable name of the trunk of the current call (none for a test
    /// number, and for rows older than trunks).
    pub trunk: Option<String>,
}

impl std::fmt::Debug for VerificationRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationRow")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("phone_number", &crate::phone::mask(&self.phone_number))
            .field("attempts_left", &self.attempts_left)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// The caps a new call must respect.
#[derive(Debug, Clone, Copy)]
pub struct DestinationCaps {
    /// Calls per destination in any 24 hours.
    pub daily: u32,
    /// Calls per destination in any hour.
    pub hourly: u32,
}

/// Why a call was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallRefused {
    /// A cap is reached; the next call is possible at `retry_at` (ms).
    Capped { retry_at: i64 },
    /// The verification changed meanwhile (resend only): decide again.
    Conflict,
}

/// The new code of a resend.
#[derive(Debug, Clone)]
pub struct Recode {
    pub caller_prefix: String,
    pub code_length: u8,
    pub code_mac: Vec<u8>,
    pub expires_at: i64,
    pub resend_after: i64,
    pub attempts_left: u32,
    /// The trunk the new call goes through.
    pub trunk: Option<String>,
    /// A resend asked for by the client: a new call (`call_seq` + 1) and
    /// `resends` + 1. `false` for a failover to another trunk: the same
    /// call of the verification, carried on by another trunk with a new
    /// caller number (the event stream tells it as a `caller` event).
    pub counts_as_resend: bool,
}

/// A state change made by a check or a cancel.
#[derive(Debug, Clone, Copy)]
pub struct StateChange {
    pub status: VerificationStatus,
    pub attempts_left: u32,
    pub verified_at: Option<i64>,
}

const MIGRATIONS_SQLITE: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        4,
        "webhooks",
        include_str!("../../migrations/sqlite/0004_webhooks.sql"),
    ),
    (
        6,
        "stats",
        include_str!("../../migrations/sqlite/0006_stats.sql"),
    ),
    (
        16,
        "expiry_index",
        include_str!("../../migrations/sqlite/0016_expiry_index.sql"),
    ),
    (
        17,
        "sdk_reports",
        include_str!("../../migrations/sqlite/0017_sdk_reports.sql"),
    ),
    (
        155,
        "verification_trunk",
        include_str!("../../migrations/sqlite/0155_verification_trunk.sql"),
    ),
];
const MIGRATIONS_POSTGRES: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/postgres/0001_initial.sql"),
    ),
    (
        4,
        "webhooks",
        include_str!("../../migrations/postgres/0004_webhooks.sql"),
    ),
    (
        6,
        "stats",
        include_str!("../../migrations/postgres/0006_stats.sql"),
    ),
    (
        16,
        "expiry_index",
        include_str!("../../migrations/postgres/0016_expiry_index.sql"),
    ),
    (
        17,
        "sdk_reports",
        include_str!("../../migrations/postgres/0017_sdk_reports.sql"),
    ),
    (
        155,
        "verification_trunk",
        include_str!("../../migrations/postgres/0155_verification_trunk.sql"),
    ),
];

/// The migrations compiled into the binary.
#[derive(Debug)]
struct Embedded(&'static [(i64, &'static str, &'static str)]);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 's>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, name, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*name),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

const SELECT_VERIFICATION: &str = "SELECT id, app_id, phone_number, status, failure_reason, \
     caller_prefix, code_length, code_mac, created_at, expires_at, resend_after, resends, \
     attempts_left, call_seq, verified_at, version, trunk FROM verifications WHERE id = $1";

const CALL_PROGRESS: &str = "UPDATE verifications SET status = $3, failure_reason = $4, \
     version = version + 1 \
     WHERE id = $1 AND call_seq = $2 AND status IN ($5, $6) \
     RETURNING id, app_id, phone_number, status, failure_reason, \
     caller_prefix, code_length, code_mac, created_at, expires_at, resend_after, resends, \
     attempts_left, call_seq, verified_at, version, trunk";

const COUNT_CALLS: &str = "SELECT COUNT(*) AS day, \
     COUNT(*) FILTER (WHERE placed_at > $3) AS hour, \
     MIN(placed_at) AS oldest_day, \
     MIN(placed_at) FILTER (WHERE placed_at > $3) AS oldest_hour \
     FROM calls WHERE destination = $1 AND placed_at > $2";

const INSERT_CALL: &str =
    "INSERT INTO calls (destination, placed_at, verification_id) VALUES ($1, $2, $3)";

const INSERT_VERIFICATION: &str = "INSERT INTO verifications (id, app_id, phone_number, status, \
     failure_reason, caller_prefix, code_length, code_mac, created_at, expires_at, resend_after, \
     resends, attempts_left, call_seq, verified_at, version, trunk) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)";

const RECODE: &str = "UPDATE verifications SET caller_prefix = $3, code_length = $4, \
     code_mac = $5, expires_at = $6, resend_after = $7, attempts_left = $8, \
     status = 'calling', failure_reason = NULL, resends = resends + $10, trunk = $9, \
     call_seq = call_seq + $10, version = version + 1 WHERE id = $1 AND version = $2";

/// Serialises call-cap checks per destination across PostgreSQL instances.
const PG_LOCK_DESTINATION: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))";

impl Store {
    /// Connects (creating a SQLite file if missing) and runs migrations.
    pub async fn connect(config: &DatabaseConfig) -> Result<Self, StoreError> {
        let url = config.url.as_str();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // Migrations run on a connection of their own, without the
            // request statement timeout (an index build may take longer).
            let base = PgConnectOptions::from_str(url)?;
            let mut migrating = base.connect().await?;
            Migrator::new(Embedded(MIGRATIONS_POSTGRES))
                .await?
                .run(&mut migrating)
                .await?;
            migrating.close().await?;
            // Bounded waits, so that an unreachable database costs a request
            // a fraction of a second (503), not a hang: connecting and
            // waiting for a pooled connection, and each statement.
            let options =
                base.options([("statement_timeout", config.statement_timeout_ms.to_string())]);
            let pool = PgPoolOptions::new()
                .max_connections(config.max_connections.max(1))
                .acquire_timeout(Duration::from_millis(config.acquire_timeout_ms))
                .connect_with(options)
                .await?;
            Ok(Self::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let synchronous = match config.sqlite_synchronous {
                SqliteSynchronousConfig::Normal => SqliteSynchronous::Normal,
                SqliteSynchronousConfig::Full => SqliteSynchronous::Full,
            };
            let base = SqliteConnectOptions::from_str(url)?
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(synchronous)
                // Another process holding the lock (a `motp` tool, a backup)
                // delays a statement this long at most, then it fails (503).
                .busy_timeout(Duration::from_millis(config.statement_timeout_ms))
                .statement_cache_capacity(256)
                .foreign_keys(true);
            // The writer keeps SQLite's automatic checkpoints (every 1000
            // pages), which is what lets the WAL restart and stay ~4 MB under
            // constant load; a background task also runs passive checkpoints
            // every second, so most frames are already copied when the
            // writer's turn comes and its checkpoints stay short.
            let mut write = base
                .clone()
                .create_if_missing(true)
                .pragma("journal_size_limit", "67108864")
                .connect()
                .await?;
            Migrator::new(Embedded(MIGRATIONS_SQLITE))
                .await?
                .run(&mut write)
                .await?;
            let mut read = Vec::new();
            for _ in 0..config.max_connections.max(1) {
                read.push(Mutex::new(base.clone().read_only(true).connect().await?));
            }
            let checkpoint = Mutex::new(base.connect().await?);
            Ok(Self::Sqlite(Arc::new_cyclic(|me| SqliteConns {
                write: Mutex::new(write),
                read,
                next_read: AtomicUsize::new(0),
                checkpoint,
                cache: RowCache::default(),
                batcher: batch::Batcher::start(me.clone()),
                creates: create_batch::CreateBatcher::start(me.clone()),
            })))
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(conns) => {
                // Wait for the writer to be idle, then leave a short WAL. The
                // connections close when the last handle is dropped.
                let _writer = conns.write.lock().await;
                let mut checkpoint = conns.checkpoint.lock().await;
                let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&mut *checkpoint)
                    .await;
            }
            Self::Postgres(pool) => pool.close().await,
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// A cheap round trip, for `/healthz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        reader!(self, |p| sqlx::query("SELECT 1")
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The secret named `name`, created with `generate` on first use. Every
    /// instance sharing the database gets the same value.
    pub async fn secret(
        &self,
        name: &str,
        generate: impl FnOnce() -> Vec<u8>,
    ) -> Result<Vec<u8>, StoreError> {
        let fresh = generate();
        writer!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query(
                "INSERT INTO server_secrets (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(&fresh)
            .execute(&mut *tx)
            .await?;
            let row = sqlx::query("SELECT value FROM server_secrets WHERE name = $1")
                .bind(name)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(row.try_get::<Vec<u8>, _>("value")?)
        })
    }

    /// Creates the app `name` if needed and stores a new pair of key hashes
    /// for it. Returns the app id.
    pub async fn add_app_keys(
        &self,
        name: &str,
        new_app_id: &str,
        publishable_hash: &[u8],
        secret_hash: &[u8],
        now: i64,
    ) -> Result<String, StoreError> {
        writer!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query(
                "INSERT INTO apps (id, name, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(new_app_id)
            .bind(name)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let app_id: String = sqlx::query("SELECT id FROM apps WHERE name = $1")
                .bind(name)
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
            for (hash, kind) in [
                (publishable_hash, KeyKind::Publishable),
                (secret_hash, KeyKind::Secret),
            ] {
                sqlx::query(
                    "INSERT INTO api_keys (key_hash, app_id, kind, created_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(hash)
                .bind(&app_id)
                .bind(kind.prefix())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(app_id)
        })
    }

    /// The app and kind of a key hash, unless unknown or revoked.
    pub async fn find_key(&self, key_hash: &[u8]) -> Result<Option<(String, KeyKind)>, StoreError> {
        let row = reader!(self, |p| {
            sqlx::query(
                "SELECT app_id, kind FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
            )
            .bind(key_hash)
            .fetch_optional(p)
            .await?
            .map(|row| -> Result<(String, String), sqlx::Error> {
                Ok((row.try_get("app_id")?, row.try_get("kind")?))
            })
            .transpose()?
        });
        Ok(row.and_then(|(app, kind)| KeyKind::of(&kind).map(|k| (app, k))))
    }

    /// One verification (from the row cache when there is one).
    pub async fn get(&self, id: &str) -> Result<Option<VerificationRow>, StoreError> {
        if let Some(row) = self.cache().and_then(|c| c.get(id)) {
            return Ok(Some(row));
        }
        self.get_fresh(id).await
    }

    /// One verification, read from the database.
    pub async fn get_fresh(&self, id: &str) -> Result<Option<VerificationRow>, StoreError> {
        let row = reader!(self, |p| {
            match sqlx::query(SELECT_VERIFICATION)
                .bind(id)
                .fetch_optional(p)
                .await?
            {
                Some(row) => decode_verification(&row).map(Some),
                None => Ok(None),
            }
        })?;
        if let Some(row) = &row {
            self.remember(row);
        }
        Ok(row)
    }

    fn cache(&self) -> Option<&RowCache> {
        match self {
            Self::Sqlite(conns) => Some(&conns.cache),
            Self::Postgres(_) => None,
        }
    }

    fn remember(&self, row: &VerificationRow) {
        if let Some(cache) = self.cache() {
            cache.put(row);
        }
    }

    /// Stores a new verification and records its first call, unless a
    /// destination cap is reached (SQLite: grouped with concurrent creates,
    /// see `create_batch.rs`).
    pub async fn create(
        &self,
        row: &VerificationRow,
        caps: DestinationCaps,
        now: i64,
    ) -> Result<Result<(), CallRefused>, StoreError> {
        if let Self::Sqlite(conns) = self {
            let outcome = conns.creates.create(row, caps, now).await?;
            if outcome.is_ok() {
                self.remember(row);
            }
            return Ok(outcome);
        }
        writer!(self, |p| {
            let mut tx = p.begin().await?;
            if let Some(retry_at) = destination_capped!(self, tx, &row.phone_number, caps, now) {
                return Ok(Err(CallRefused::Capped { retry_at }));
            }
            sqlx::query(INSERT_VERIFICATION)
                .bind(&row.id)
                .bind(&row.app_id)
                .bind(&row.phone_number)
                .bind(row.status.as_str())
                .bind(&row.failure_reason)
                .bind(&row.caller_prefix)
                .bind(i64::from(row.code_length))
                .bind(&row.code_mac)
                .bind(row.created_at)
                .bind(row.expires_at)
                .bind(row.resend_after)
                .bind(i64::from(row.resends))
                .bind(i64::from(row.attempts_left))
                .bind(row.call_seq)
                .bind(row.verified_at)
                .bind(row.version)
                .bind(&row.trunk)
                .execute(&mut *tx)
                .await?;
            sqlx::query(INSERT_CALL)
                .bind(&row.phone_number)
                .bind(now)
                .bind(&row.id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            self.remember(row);
            Ok(Ok(()))
        })
    }

    /// Replaces the code of `current` (a resend, or a failover to another
    /// trunk: see [`Recode::counts_as_resend`]) and records the new call,
    /// unless a destination cap is reached or the row changed meanwhile.
    /// Returns the row as it now is.
    pub async fn recode(
        &self,
        current: &VerificationRow,
        recode: &Recode,
        caps: DestinationCaps,
        now: i64,
    ) -> Result<Result<VerificationRow, CallRefused>, StoreError> {
        writer!(self, |p| {
            let mut tx = p.begin().await?;
            if let Some(retry_at) = destination_capped!(self, tx, &current.phone_number, caps, now)
            {
                return Ok(Err(CallRefused::Capped { retry_at }));
            }
            let updated = sqlx::query(RECODE)
                .bind(&current.id)
                .bind(current.version)
                .bind(&recode.caller_prefix)
                .bind(i64::from(recode.code_length))
                .bind(&recode.code_mac)
                .bind(recode.expires_at)
                .bind(recode.resend_after)
                .bind(i64::from(recode.attempts_left))
                .bind(&recode.trunk)
                .bind(i64::from(recode.counts_as_resend))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if updated == 0 {
                return Ok(Err(CallRefused::Conflict));
            }
            sqlx::query(INSERT_CALL)
                .bind(&current.phone_number)
                .bind(now)
                .bind(&current.id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            let updated = VerificationRow {
                status: VerificationStatus::Calling,
                failure_reason: None,
                caller_prefix: recode.caller_prefix.clone(),
                code_length: recode.code_length,
                code_mac: recode.code_mac.clone(),
                expires_at: recode.expires_at,
                resend_after: recode.resend_after,
                resends: current.resends + u32::from(recode.counts_as_resend),
                attempts_left: recode.attempts_left,
                call_seq: current.call_seq + i64::from(recode.counts_as_resend),
                version: current.version + 1,
                trunk: recode.trunk.clone(),
                ..current.clone()
            };
            self.remember(&updated);
            Ok(Ok(updated))
        })
    }

    /// Applies a check's or cancel's outcome if the row is still as
    /// `current` (same version). `false`: it changed meanwhile; re-read it
    /// with [`Store::get_fresh`] and decide again.
    pub async fn change_state(
        &self,
        current: &VerificationRow,
        change: StateChange,
    ) -> Result<bool, StoreError> {
        let done = match self {
            Self::Sqlite(conns) => conns.batcher.change(current, change).await?,
            Self::Postgres(pool) => {
                sqlx::query(
                    "UPDATE verifications SET status = $3, attempts_left = $4, \
                     verified_at = COALESCE($5, verified_at), version = version + 1 \
                     WHERE id = $1 AND version = $2",
                )
                .bind(&current.id)
                .bind(current.version)
                .bind(change.status.as_str())
                .bind(i64::from(change.attempts_left))
                .bind(change.verified_at)
                .execute(pool)
                .await?
                .rows_affected()
                    == 1
            }
        };
        if done {
            self.remember(&VerificationRow {
                status: change.status,
                attempts_left: change.attempts_left,
                verified_at: change.verified_at.or(current.verified_at),
                version: current.version + 1,
                ..current.clone()
            });
        }
        Ok(done)
    }

    /// Records the progress of call `call_seq`: `ringing` (only from
    /// `calling`), `delivered` or `failed` (from `calling` or `ringing`).
    /// A stale call (after a resend) or a settled verification is left alone.
    pub async fn call_progress(
        &self,
        id: &str,
        call_seq: i64,
        status: VerificationStatus,
        reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        let from: &[&str] = match status {
            VerificationStatus::Ringing => &["calling", "calling"],
            _ => &["calling", "ringing"],
        };
        let row = writer!(self, |p| {
            match sqlx::query(CALL_PROGRESS)
                .bind(id)
                .bind(call_seq)
                .bind(status.as_str())
                .bind(reason)
                .bind(from[0])
                .bind(from[1])
                .fetch_optional(p)
                .await?
            {
                Some(row) => decode_verification(&row).map(Some),
                None => Ok(None),
            }
        })?;
        if let Some(row) = &row {
            self.remember(row);
        }
        Ok(row.is_some())
    }

    /// Records as `failed`, reason `interrupted`, every verification whose
    /// call is still `calling` or `ringing` although it started (its code
    /// was drawn: `expires_at - ttl_ms`) at or before `started_by`: calls
    /// that a killed process can no longer follow. SQLite (one process)
    /// passes `i64::MAX` at start; PostgreSQL, shared by instances, only
    /// calls older than the longest a call can last. Returns how many.
    pub async fn interrupt_calls(&self, ttl_ms: i64, started_by: i64) -> Result<u64, StoreError> {
        let done = writer!(self, |p| {
            sqlx::query(
                "UPDATE verifications SET status = 'failed', failure_reason = 'interrupted', \
                 version = version + 1 \
                 WHERE status IN ('calling', 'ringing') AND expires_at - $1 <= $2",
            )
            .bind(ttl_ms)
            .bind(started_by)
            .execute(p)
            .await?
            .rows_affected()
        });
        if done > 0 {
            if let Some(cache) = self.cache() {
                cache.rows.lock().unwrap_or_else(|p| p.into_inner()).clear();
            }
        }
        Ok(done)
    }

    /// SQLite: copies committed WAL frames into the database file without
    /// blocking readers or the writer (`PASSIVE`). Committed data is safe in
    /// the WAL either way; this only keeps the WAL short. No-op on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if let Self::Sqlite(conns) = self {
            let mut conn = conns.checkpoint.lock().await;
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    /// Deletes call records that no cap looks at any more.
    pub async fn prune_calls(&self, now: i64) -> Result<u64, StoreError> {
        Ok(writer!(self, |p| {
            sqlx::query("DELETE FROM calls WHERE placed_at <= $1")
                .bind(now - DAY_MS)
                .execute(p)
                .await?
                .rows_affected()
        }))
    }
}

mod reports;
pub mod stats;

pub use reports::SdkReport;
pub use stats::StatsRow;

/// When a cap is reached, the instant the next call becomes possible.
fn capped(
    caps: DestinationCaps,
    day: i64,
    hour: i64,
    oldest_day: Option<i64>,
    oldest_hour: Option<i64>,
) -> Option<i64> {
    let mut retry_at: Option<i64> = None;
    if day >= i64::from(caps.daily) {
        retry_at = oldest_day.map(|t| t + DAY_MS);
    }
    if hour >= i64::from(caps.hourly) {
        let at = oldest_hour.map(|t| t + HOUR_MS);
        retry_at = retry_at.max(at);
    }
    retry_at
}

fn decode_verification<'r, R>(row: &'r R) -> Result<VerificationRow, StoreError>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    let status: String = row.try_get("status")?;
    let status = parse_status(&status).ok_or_else(|| StoreError::Corrupt(status.clone()))?;
    let small = |name: &'static str| -> Result<u32, StoreError> {
        let value: i64 = row.try_get(name)?;
        u32::try_from(value).map_err(|_| StoreError::Corrupt(name.into()))
    };
    Ok(VerificationRow {
        id: row.try_get("id")?,
        app_id: row.try_get("app_id")?,
        phone_number: row.try_get("phone_number")?,
        status,
        failure_reason: row.try_get("failure_reason")?,
        caller_prefix: row.try_get("caller_prefix")?,
        code_length: u8::try_from(small("code_length")?)
            .map_err(|_| StoreError::Corrupt("code_length".into()))?,
        code_mac: row.try_get("code_mac")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        resend_after: row.try_get("resend_after")?,
        resends: small("resends")?,
        attempts_left: small("attempts_left")?,
        call_seq: row.try_get("call_seq")?,
        verified_at: row.try_get("verified_at")?,
        trunk: row.try_get("trunk")?,
        version: row.try_get("version")?,
    })
}

/// The status named `text` on the wire and in the database.
pub fn parse_status(text: &str) -> Option<VerificationStatus> {
    use VerificationStatus::*;
    [
        Calling, Ringing, Delivered, Approved, Expired, Failed, Canceled,
    ]
    .into_iter()
    .find(|s| s.as_str() == text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_name_the_right_retry_time() {
        let caps = DestinationCaps {
            daily: 3,
            hourly: 2,
        };
        assert_eq!(capped(caps, 1, 1, Some(10), Some(10)), None);
        assert_eq!(capped(caps, 2, 2, Some(10), Some(20)), Some(20 + HOUR_MS));
        assert_eq!(capped(caps, 3, 0, Some(10), None), Some(10 + DAY_MS));
        assert_eq!(capped(caps, 3, 2, Some(10), Some(5_000)), Some(10 + DAY_MS));
    }

    #[test]
    fn the_row_cache_only_moves_forward() {
        let row = |version: i64| VerificationRow {
            id: "vf_1".into(),
            app_id: "app".into(),
            phone_number: "+447400123456".into(),
            status: VerificationStatus::Calling,
            failure_reason: None,
            caller_prefix: "+4420794".into(),
            code_length: 4,
            code_mac: vec![1; 32],
            created_at: 0,
            expires_at: 1,
            resend_after: 1,
            resends: 0,
            attempts_left: 5,
            call_seq: 1,
            trunk: None,
            verified_at: None,
            version,
        };
        let cache = RowCache::default();
        assert!(cache.get("vf_1").is_none());
        cache.put(&row(2));
        cache.put(&row(1)); // a slow reader's stale copy
        assert_eq!(cache.get("vf_1").unwrap().version, 2);
        cache.put(&row(3));
        assert_eq!(cache.get("vf_1").unwrap().version, 3);
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            "calling",
            "ringing",
            "delivered",
            "approved",
            "expired",
            "failed",
            "canceled",
        ] {
            assert_eq!(parse_status(s).unwrap().as_str(), s);
        }
        assert_eq!(parse_status("nope"), None);
    }
}
