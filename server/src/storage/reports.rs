//! The SDK's reports of verifications that ended without an automatic
//! match (`sdk_reports`).

use super::{Store, StoreError};

/// One report, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkReport {
    pub verification_id: String,
    pub app_id: String,
    /// `no_permission`, `call_not_seen`, `call_seen_late` or `user_typed`.
    pub observation: String,
    /// ISO 3166 alpha-2 of the verified number, when known.
    pub country: Option<String>,
    pub call_seq: i64,
    pub reported_at: i64,
}

impl Store {
    /// Stores `report`, replacing an earlier one of the same verification.
    pub async fn save_report(&self, report: &SdkReport) -> Result<(), StoreError> {
        writer!(self, |p| {
            sqlx::query(
                "INSERT INTO sdk_reports (verification_id, app_id, observation, country, \
                 call_seq, reported_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (verification_id) DO UPDATE SET observation = excluded.observation, \
                 country = excluded.country, call_seq = excluded.call_seq, \
                 reported_at = excluded.reported_at",
            )
            .bind(&report.verification_id)
            .bind(&report.app_id)
            .bind(&report.observation)
            .bind(&report.country)
            .bind(report.call_seq)
            .bind(report.reported_at)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// Reports per country and observation, for the conversion figures:
    /// `(country, observation, count)`, most frequent first.
    pub async fn report_counts(
        &self,
        app_id: &str,
    ) -> Result<Vec<(Option<String>, String, i64)>, StoreError> {
        use sqlx::Row;
        let counts = reader!(self, |p| {
            let rows = sqlx::query(
                "SELECT country, observation, COUNT(*) AS n FROM sdk_reports \
                 WHERE app_id = $1 GROUP BY country, observation ORDER BY n DESC, country, observation",
            )
            .bind(app_id)
            .fetch_all(p)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok((
                        row.try_get("country")?,
                        row.try_get("observation")?,
                        row.try_get("n")?,
                    ))
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(counts)
    }
}
