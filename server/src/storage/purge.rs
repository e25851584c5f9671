//! The purge of expired verifications: rows whose TTL ended more than
//! `codes.keep_expired_secs` ago are deleted, in batches of
//! [`PURGE_BATCH`] rows (one short transaction each, found through the
//! `verifications_by_expiry` index), with a pause between batches, so the
//! writer (SQLite's only one) is never held for long and requests keep
//! being served while a large backlog is removed. Nothing else refers to a
//! verification row (call records carry its id but are pruned on their own
//! schedule), and a purged id answers 404 like an unknown one.

use std::time::Duration;

use super::{RowCache, Store, StoreError};

/// Rows deleted per transaction.
pub const PURGE_BATCH: i64 = 250;
/// The pause between two batches, during which other writers go first: a
/// batch takes a few milliseconds, so a backlog holds SQLite's writer for
/// about a tenth of the time (with 1,000 rows and 20 ms, creates halved
/// while 330,000 rows were purged; see docs/proof.md).
const PAUSE: Duration = Duration::from_millis(50);

const PURGE: &str = "DELETE FROM verifications WHERE id IN \
     (SELECT id FROM verifications WHERE expires_at < $1 LIMIT $2) RETURNING id";

impl RowCache {
    fn forget(&self, ids: &[String]) {
        let mut rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        for id in ids {
            rows.remove(id);
        }
    }
}

impl Store {
    /// Deletes at most [`PURGE_BATCH`] verifications whose TTL ended before
    /// `before` (ms); returns how many.
    pub async fn purge_expired_batch(&self, before: i64) -> Result<u64, StoreError> {
        let ids: Vec<String> = writer!(self, |p| {
            sqlx::query_scalar(PURGE)
                .bind(before)
                .bind(PURGE_BATCH)
                .fetch_all(p)
                .await?
        });
        if let Some(cache) = self.cache() {
            cache.forget(&ids);
        }
        Ok(ids.len() as u64)
    }

    /// Purges batch after batch, pausing in between, until none is left
    /// from before `before`; returns how many rows went.
    pub async fn purge_expired(&self, before: i64) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let n = self.purge_expired_batch(before).await?;
            total += n;
            if n < PURGE_BATCH as u64 {
                return Ok(total);
            }
            tokio::time::sleep(PAUSE).await;
        }
    }
}
