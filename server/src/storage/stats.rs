//! The rows behind the conversion figures (`GET /v1/stats`, `motp stats`):
//! one per verification of an app created in a window, with the SDK's
//! report when there is one. A range scan of `verifications_by_app_created`.

use std::time::Duration;

use futures_util::TryStreamExt;
use sqlx::{ColumnIndex, Decode, Row, Type};

use super::{Store, StoreError};

/// How long the figures may take to read: longer than a request's database
/// deadline, since a window of a busy app is many rows (about 100,000 a
/// second; see docs/proof.md).
pub const DEADLINE: Duration = Duration::from_secs(10);

/// One verification, as the figures need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsRow {
    pub app_id: String,
    /// E.164; the country is derived from it.
    pub phone_number: String,
    /// The stored status (`expired` only once something noticed it).
    pub status: String,
    /// The reason the latest call failed, if it did.
    pub failure_reason: Option<String>,
    /// Whether any call of it reached the phone.
    pub delivered: bool,
    pub created_at: i64,
    pub verified_at: Option<i64>,
    /// The trunk its calls went through (see [`trunk_sql`]).
    pub trunk: String,
    /// The SDK's report (`no_permission`, `call_not_seen`, …), if any.
    pub observation: Option<String>,
}

/// The trunk of verification `v`, as an SQL expression: the trunk its
/// latest call went through (`verifications.trunk`), `default` when none
/// did (a test number, or a provider without trunks).
fn trunk_sql() -> &'static str {
    "COALESCE(v.trunk, 'default')"
}

impl Store {
    /// Calls `each` with every verification of `app_id` created in
    /// `[from, to)` (ms), streamed, in no particular order.
    pub async fn stats_rows(
        &self,
        app_id: &str,
        from: i64,
        to: i64,
        mut each: impl FnMut(StatsRow) + Send,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "SELECT v.app_id, v.phone_number, v.status, v.failure_reason, v.delivered, \
             v.created_at, v.verified_at, {} AS trunk, r.observation \
             FROM verifications v LEFT JOIN sdk_reports r ON r.verification_id = v.id \
             WHERE v.app_id = $1 AND v.created_at >= $2 AND v.created_at < $3",
            trunk_sql()
        );
        match self {
            Self::Sqlite(conns) => {
                let mut conn = conns.reader().await;
                let mut rows = sqlx::query(&sql)
                    .bind(app_id)
                    .bind(from)
                    .bind(to)
                    .fetch(&mut *conn);
                while let Some(row) = rows.try_next().await? {
                    each(decode_row(&row)?);
                }
            }
            Self::Postgres(pool) => {
                // A longer statement timeout than a request's, for this
                // read only (a window of a busy app is many rows).
                let mut tx = pool.begin().await?;
                sqlx::query(&format!(
                    "SET LOCAL statement_timeout = {}",
                    DEADLINE.as_millis()
                ))
                .execute(&mut *tx)
                .await?;
                {
                    let mut rows = sqlx::query(&sql)
                        .bind(app_id)
                        .bind(from)
                        .bind(to)
                        .fetch(&mut *tx);
                    while let Some(row) = rows.try_next().await? {
                        each(decode_row(&row)?);
                    }
                }
                tx.rollback().await?;
            }
        }
        Ok(())
    }

    /// Every app: `(id, name)`, by name.
    pub async fn apps(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(reader!(self, |p| {
            sqlx::query("SELECT id, name FROM apps ORDER BY name")
                .fetch_all(p)
                .await?
                .iter()
                .map(|row| Ok((row.try_get("id")?, row.try_get("name")?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        }))
    }
}

fn decode_row<'r, R>(row: &'r R) -> Result<StatsRow, StoreError>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(StatsRow {
        app_id: row.try_get("app_id")?,
        phone_number: row.try_get("phone_number")?,
        status: row.try_get("status")?,
        failure_reason: row.try_get("failure_reason")?,
        delivered: row.try_get::<i64, _>("delivered")? != 0,
        created_at: row.try_get("created_at")?,
        verified_at: row.try_get("verified_at")?,
        trunk: row.try_get("trunk")?,
        observation: row.try_get("observation")?,
    })
}
