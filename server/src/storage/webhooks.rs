//! Webhook endpoints and the delivery outbox.
//!
//! Events are never written from Rust: database triggers
//! (`migrations/*/0004_webhooks.sql`) add an event and one delivery per
//! enabled endpoint in the same transaction as the verification's state
//! change, whichever statement made it. So an acknowledged change always has
//! its event, even when the process is killed right after the commit, and
//! the statements of the API stay as they are. This file is the dispatcher's
//! side: claim due deliveries, record outcomes, list failures, replay.

use sqlx::{Connection, Row};

use super::{Store, StoreError};

/// A new endpoint.
#[derive(Clone)]
pub struct NewEndpoint {
    pub id: String,
    pub app_id: String,
    pub url: String,
    /// `whsec_…`
    pub secret: String,
    pub full_number: bool,
    pub created_at: i64,
}

/// An endpoint as listed (no secret).
#[derive(Debug, Clone)]
pub struct EndpointInfo {
    pub id: String,
    pub app_id: String,
    pub url: String,
    pub full_number: bool,
    pub enabled: bool,
    pub created_at: i64,
    /// Whether a previous secret is still signed with.
    pub rotating: bool,
    pub pending: i64,
    pub failed: i64,
}

/// A delivery claimed for one attempt, with what it takes to send it.
#[derive(Clone)]
pub struct DueDelivery {
    pub id: i64,
    /// Attempts before this one.
    pub attempts: i64,
    pub retry_until: Option<i64>,
    pub msg_id: String,
    pub event_type: String,
    pub app_id: String,
    pub verification_id: String,
    pub status: String,
    pub failure_reason: Option<String>,
    /// E.164, full; the dispatcher masks it unless `full_number`.
    pub phone_number: String,
    pub call_seq: i64,
    pub occurred_at: i64,
    pub endpoint_id: String,
    pub url: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until: Option<i64>,
    pub full_number: bool,
}

impl std::fmt::Debug for DueDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DueDelivery")
            .field("id", &self.id)
            .field("msg_id", &self.msg_id)
            .field("event_type", &self.event_type)
            .field("endpoint_id", &self.endpoint_id)
            .finish_non_exhaustive()
    }
}

/// What became of one attempt.
#[derive(Debug, Clone)]
pub enum AttemptOutcome {
    Delivered {
        id: i64,
        at: i64,
        status: u16,
    },
    /// Try again at `next_attempt_at`, or give up (`failed`) when it is
    /// past `retry_until`.
    Retry {
        id: i64,
        next_attempt_at: i64,
        retry_until: i64,
        give_up: bool,
        status: Option<u16>,
        error: String,
    },
}

/// A delivery that was given up.
#[derive(Debug, Clone)]
pub struct FailedDelivery {
    pub id: i64,
    pub endpoint_id: String,
    pub url: String,
    pub msg_id: String,
    pub event_type: String,
    pub verification_id: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub occurred_at: i64,
}

/// Which failed deliveries to send again.
#[derive(Debug, Clone)]
pub enum Replay {
    /// One delivery (failed or not).
    Delivery(i64),
    /// Every failed delivery of an endpoint.
    Endpoint(String),
    /// Every failed delivery of an app.
    App(String),
}

const CLAIM_SQLITE: &str = "UPDATE webhook_deliveries SET next_attempt_at = $2 \
     WHERE id IN (SELECT id FROM webhook_deliveries \
     WHERE state = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $3) \
     RETURNING id";

const CLAIM_POSTGRES: &str = "UPDATE webhook_deliveries SET next_attempt_at = $2 \
     WHERE id IN (SELECT id FROM webhook_deliveries \
     WHERE state = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $3 \
     FOR UPDATE SKIP LOCKED) \
     RETURNING id";

const DETAILS: &str = "SELECT d.id, d.attempts, d.retry_until, e.msg_id, e.type, e.app_id, \
     e.verification_id, e.status, e.failure_reason, e.phone_number, e.call_seq, e.occurred_at, \
     w.id AS endpoint_id, w.url, w.secret, w.previous_secret, w.previous_until, w.full_number \
     FROM webhook_deliveries d \
     JOIN webhook_events e ON e.id = d.event_id \
     JOIN webhook_endpoints w ON w.id = d.endpoint_id \
     WHERE d.id IN ";

/// `($1, $2, …, $n)`
fn placeholders(n: usize) -> String {
    let list: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
    format!("({})", list.join(", "))
}

impl Store {
    /// The id of the app named `name`.
    pub async fn app_id_by_name(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(reader!(self, |p| {
            sqlx::query("SELECT id FROM apps WHERE name = $1")
                .bind(name)
                .fetch_optional(p)
                .await?
                .map(|row| row.try_get::<String, _>("id"))
                .transpose()?
        }))
    }

    /// Adds an endpoint; events from now on are delivered to it too.
    pub async fn add_webhook_endpoint(&self, endpoint: &NewEndpoint) -> Result<(), StoreError> {
        writer!(self, |p| {
            sqlx::query(
                "INSERT INTO webhook_endpoints (id, app_id, url, secret, full_number, enabled, \
                 created_at) VALUES ($1, $2, $3, $4, $5, 1, $6)",
            )
            .bind(&endpoint.id)
            .bind(&endpoint.app_id)
            .bind(&endpoint.url)
            .bind(&endpoint.secret)
            .bind(i64::from(endpoint.full_number))
            .bind(endpoint.created_at)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Endpoints (of one app, or all), with their pending and failed counts.
    pub async fn list_webhook_endpoints(
        &self,
        app_id: Option<&str>,
    ) -> Result<Vec<EndpointInfo>, StoreError> {
        let rows = reader!(self, |p| {
            sqlx::query(
                "SELECT w.id, w.app_id, w.url, w.full_number, w.enabled, w.created_at, \
                 w.previous_secret IS NOT NULL AS rotating, \
                 (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint_id = w.id \
                  AND d.state = 'pending') AS pending, \
                 (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint_id = w.id \
                  AND d.state = 'failed') AS failed \
                 FROM webhook_endpoints w WHERE ($1 IS NULL OR w.app_id = $1) \
                 ORDER BY w.created_at, w.id",
            )
            .bind(app_id)
            .fetch_all(p)
            .await?
            .iter()
            .map(|row| -> Result<EndpointInfo, sqlx::Error> {
                Ok(EndpointInfo {
                    id: row.try_get("id")?,
                    app_id: row.try_get("app_id")?,
                    url: row.try_get("url")?,
                    full_number: row.try_get::<i64, _>("full_number")? != 0,
                    enabled: row.try_get::<i64, _>("enabled")? != 0,
                    created_at: row.try_get("created_at")?,
                    rotating: row.try_get::<bool, _>("rotating")?,
                    pending: row.try_get("pending")?,
                    failed: row.try_get("failed")?,
                })
            })
            .collect::<Result<Vec<_>, _>>()?
        });
        Ok(rows)
    }

    /// Makes `new_secret` the endpoint's secret; the current one stays valid
    /// (both signatures are sent) until `previous_until` (wall clock, ms).
    /// `false`: no such endpoint.
    pub async fn rotate_webhook_secret(
        &self,
        endpoint_id: &str,
        new_secret: &str,
        previous_until: i64,
    ) -> Result<bool, StoreError> {
        Ok(writer!(self, |p| {
            sqlx::query(
                "UPDATE webhook_endpoints SET previous_secret = secret, \
                 previous_until = $3, secret = $2 WHERE id = $1",
            )
            .bind(endpoint_id)
            .bind(new_secret)
            .bind(previous_until)
            .execute(p)
            .await?
            .rows_affected()
                == 1
        }))
    }

    /// Enables or disables an endpoint. A disabled endpoint gets no new
    /// events; its pending deliveries are still attempted. `false`: no such
    /// endpoint.
    pub async fn set_webhook_enabled(
        &self,
        endpoint_id: &str,
        enabled: bool,
    ) -> Result<bool, StoreError> {
        Ok(writer!(self, |p| {
            sqlx::query("UPDATE webhook_endpoints SET enabled = $2 WHERE id = $1")
                .bind(endpoint_id)
                .bind(i64::from(enabled))
                .execute(p)
                .await?
                .rows_affected()
                == 1
        }))
    }

    /// Claims up to `limit` deliveries due at `now` (wall clock, ms): they
    /// are not due again until `lease_until`, so another dispatcher (another
    /// instance) leaves them alone, and a dispatcher killed mid-attempt has
    /// them tried again after the lease.
    pub async fn claim_webhook_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let claim = match self {
            Self::Sqlite(_) => CLAIM_SQLITE,
            Self::Postgres(_) => CLAIM_POSTGRES,
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let ids: Vec<i64> = writer!(self, |p| {
            sqlx::query(claim)
                .bind(now)
                .bind(lease_until)
                .bind(limit)
                .fetch_all(p)
                .await?
                .iter()
                .map(|row| row.try_get::<i64, _>("id"))
                .collect::<Result<_, _>>()?
        });
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("{DETAILS}{} ORDER BY d.id", placeholders(ids.len()));
        let rows = reader!(self, |p| {
            let mut query = sqlx::query(&sql);
            for id in &ids {
                query = query.bind(id);
            }
            query
                .fetch_all(p)
                .await?
                .iter()
                .map(|row| -> Result<DueDelivery, sqlx::Error> {
                    Ok(DueDelivery {
                        id: row.try_get("id")?,
                        attempts: row.try_get("attempts")?,
                        retry_until: row.try_get("retry_until")?,
                        msg_id: row.try_get("msg_id")?,
                        event_type: row.try_get("type")?,
                        app_id: row.try_get("app_id")?,
                        verification_id: row.try_get("verification_id")?,
                        status: row.try_get("status")?,
                        failure_reason: row.try_get("failure_reason")?,
                        phone_number: row.try_get("phone_number")?,
                        call_seq: row.try_get("call_seq")?,
                        occurred_at: row.try_get("occurred_at")?,
                        endpoint_id: row.try_get("endpoint_id")?,
                        url: row.try_get("url")?,
                        secret: row.try_get("secret")?,
                        previous_secret: row.try_get("previous_secret")?,
                        previous_until: row.try_get("previous_until")?,
                        full_number: row.try_get::<i64, _>("full_number")? != 0,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        });
        Ok(rows)
    }

    /// Records the outcomes of attempts, in one transaction.
    pub async fn finish_webhook_attempts(
        &self,
        outcomes: &[AttemptOutcome],
    ) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        writer!(self, |p| {
            let mut tx = p.begin().await?;
            for outcome in outcomes {
                match outcome {
                    AttemptOutcome::Delivered { id, at, status } => {
                        sqlx::query(
                            "UPDATE webhook_deliveries SET state = 'delivered', \
                             attempts = attempts + 1, delivered_at = $2, last_status = $3, \
                             last_error = NULL WHERE id = $1",
                        )
                        .bind(id)
                        .bind(at)
                        .bind(i64::from(*status))
                        .execute(&mut *tx)
                        .await?;
                    }
                    AttemptOutcome::Retry {
                        id,
                        next_attempt_at,
                        retry_until,
                        give_up,
                        status,
                        error,
                    } => {
                        sqlx::query(
                            "UPDATE webhook_deliveries SET state = $2, attempts = attempts + 1, \
                             next_attempt_at = $3, retry_until = $4, last_status = $5, \
                             last_error = $6 WHERE id = $1",
                        )
                        .bind(id)
                        .bind(if *give_up { "failed" } else { "pending" })
                        .bind(next_attempt_at)
                        .bind(retry_until)
                        .bind(status.map(i64::from))
                        .bind(error)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Deliveries given up on (newest first), of one app or all.
    pub async fn failed_webhook_deliveries(
        &self,
        app_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<FailedDelivery>, StoreError> {
        Ok(reader!(self, |p| {
            sqlx::query(
                "SELECT d.id, d.endpoint_id, w.url, e.msg_id, e.type, e.verification_id, \
                 d.attempts, d.last_status, d.last_error, e.occurred_at \
                 FROM webhook_deliveries d \
                 JOIN webhook_events e ON e.id = d.event_id \
                 JOIN webhook_endpoints w ON w.id = d.endpoint_id \
                 WHERE d.state = 'failed' AND ($1 IS NULL OR w.app_id = $1) \
                 ORDER BY d.id DESC LIMIT $2",
            )
            .bind(app_id)
            .bind(limit)
            .fetch_all(p)
            .await?
            .iter()
            .map(|row| -> Result<FailedDelivery, sqlx::Error> {
                Ok(FailedDelivery {
                    id: row.try_get("id")?,
                    endpoint_id: row.try_get("endpoint_id")?,
                    url: row.try_get("url")?,
                    msg_id: row.try_get("msg_id")?,
                    event_type: row.try_get("type")?,
                    verification_id: row.try_get("verification_id")?,
                    attempts: row.try_get("attempts")?,
                    last_status: row.try_get("last_status")?,
                    last_error: row.try_get("last_error")?,
                    occurred_at: row.try_get("occurred_at")?,
                })
            })
            .collect::<Result<Vec<_>, _>>()?
        }))
    }

    /// Queues deliveries again, due at once with a fresh retry horizon.
    /// Returns how many.
    pub async fn replay_webhook_deliveries(&self, which: &Replay) -> Result<u64, StoreError> {
        const RESET: &str = "UPDATE webhook_deliveries SET state = 'pending', \
             next_attempt_at = 0, retry_until = NULL";
        Ok(writer!(self, |p| {
            match which {
                Replay::Delivery(id) => {
                    sqlx::query(&format!("{RESET} WHERE id = $1"))
                        .bind(id)
                        .execute(p)
                        .await?
                }
                Replay::Endpoint(endpoint) => {
                    sqlx::query(&format!(
                        "{RESET} WHERE state = 'failed' AND endpoint_id = $1"
                    ))
                    .bind(endpoint)
                    .execute(p)
                    .await?
                }
                Replay::App(app) => {
                    sqlx::query(&format!(
                        "{RESET} WHERE state = 'failed' AND endpoint_id IN \
                         (SELECT id FROM webhook_endpoints WHERE app_id = $1)"
                    ))
                    .bind(app)
                    .execute(p)
                    .await?
                }
            }
            .rows_affected()
        }))
    }

    /// Marks expired the open verifications of apps with endpoints whose
    /// TTL ran out by `now` (API clock), at most `limit` of them; the trigger
    /// writes their `verification.expired` events. Returns how many.
    pub async fn expire_watched(&self, now: i64, limit: i64) -> Result<u64, StoreError> {
        writer!(self, |p| {
            let mut tx = p.begin().await?;
            let expired = sqlx::query(
                "UPDATE verifications SET status = 'expired', version = version + 1 \
                 WHERE id IN (SELECT verification_id FROM webhook_expiry_watch \
                 WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2) \
                 AND status IN ('calling', 'ringing', 'delivered') AND expires_at <= $1",
            )
            .bind(now)
            .bind(limit)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            // Rows whose verification was settled otherwise, or whose
            // endpoints were removed meanwhile.
            sqlx::query(
                "DELETE FROM webhook_expiry_watch WHERE expires_at <= $1 AND NOT EXISTS \
                 (SELECT 1 FROM verifications v WHERE v.id = webhook_expiry_watch.verification_id \
                 AND v.status IN ('calling', 'ringing', 'delivered'))",
            )
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(expired)
        })
    }

    /// Deliveries waiting (pending), for the backlog gauge.
    pub async fn webhook_backlog(&self) -> Result<i64, StoreError> {
        Ok(reader!(self, |p| {
            sqlx::query("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE state = 'pending'")
                .fetch_one(p)
                .await?
                .try_get::<i64, _>("n")?
        }))
    }
}
