//! Group commit for SQLite's single writer: the state changes of checks
//! and cancels that arrive while the writer is busy are applied together,
//! by one `UPDATE … FROM (VALUES …)` statement: one transaction, one round
//! trip to the connection's worker thread. Each change keeps its own
//! `id = … AND version = …` condition and learns its own outcome
//! (`RETURNING id`), and a batch never holds two changes to one row, so
//! batching changes no decision; it only saves commits (WAL frames) and
//! thread hand-offs under load.

use std::sync::Arc;

use std::collections::HashSet;

use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

use super::{SqliteConns, StateChange, StoreError, VerificationRow};

/// Most changes in one transaction.
const MAX_BATCH: usize = 64;

/// One change and where its outcome goes.
struct Job {
    id: String,
    version: i64,
    change: StateChange,
    done: oneshot::Sender<Result<bool, String>>,
}

/// The sending side; the writer task ends when it is dropped.
pub(super) struct Batcher {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Batcher {
    /// Starts the writer task over `conns`.
    pub(super) fn start(conns: std::sync::Weak<SqliteConns>) -> Self {
        let (jobs, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(conns, rx));
        Self { jobs }
    }

    /// Applies `change` if `current` is still at its version.
    pub(super) async fn change(
        &self,
        current: &VerificationRow,
        change: StateChange,
    ) -> Result<bool, StoreError> {
        let (done, outcome) = oneshot::channel();
        let job = Job {
            id: current.id.clone(),
            version: current.version,
            change,
            done,
        };
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Corrupt("the writer task stopped".into()))?;
        outcome
            .await
            .map_err(|_| StoreError::Corrupt("the writer task stopped".into()))?
            .map_err(|e| StoreError::Database(sqlx::Error::Protocol(e)))
    }
}

async fn run(conns: std::sync::Weak<SqliteConns>, mut rx: mpsc::UnboundedReceiver<Job>) {
    // The SQL text for each batch size, built once.
    let mut texts: Vec<String> = Vec::new();
    let mut waiting: Option<Job> = None;
    loop {
        let first = match waiting.take() {
            Some(job) => job,
            None => match rx.recv().await {
                Some(job) => job,
                None => return,
            },
        };
        let mut ids = HashSet::from([first.id.clone()]);
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                // A second change to the same row waits for the next batch.
                Ok(job) if ids.contains(&job.id) => {
                    waiting = Some(job);
                    break;
                }
                Ok(job) => {
                    ids.insert(job.id.clone());
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        let Some(conns) = conns.upgrade() else { return };
        let n = batch.len();
        while texts.len() < n {
            texts.push(sql_for(texts.len() + 1));
        }
        let outcome = apply(&conns, &texts[n - 1], &batch).await;
        for job in batch {
            let result = match &outcome {
                Ok(changed) => Ok(changed.contains(&job.id)),
                Err(e) => Err(e.clone()),
            };
            let _ = job.done.send(result);
        }
    }
}

/// One statement for `n` changes.
fn sql_for(n: usize) -> String {
    let values: Vec<String> = (0..n)
        .map(|i| {
            let b = i * 5;
            format!(
                "(${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5
            )
        })
        .collect();
    format!(
        "WITH c (id, version, status, attempts_left, verified_at) AS (VALUES {}) \
         UPDATE verifications SET status = c.status, attempts_left = c.attempts_left, \
         verified_at = COALESCE(c.verified_at, verifications.verified_at), \
         version = verifications.version + 1 \
         FROM c WHERE verifications.id = c.id AND verifications.version = c.version \
         RETURNING verifications.id",
        values.join(", ")
    )
}

/// Runs the batch; the ids whose rows were changed.
async fn apply(
    conns: &Arc<SqliteConns>,
    sql: &str,
    batch: &[Job],
) -> Result<HashSet<String>, String> {
    let mut conn = conns.write.lock().await;
    let mut query = sqlx::query(sql);
    for job in batch {
        query = query
            .bind(&job.id)
            .bind(job.version)
            .bind(job.change.status.as_str())
            .bind(i64::from(job.change.attempts_left))
            .bind(job.change.verified_at);
    }
    let rows = query
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| e.to_string())?;
    rows.iter()
        .map(|row| row.try_get::<String, _>(0).map_err(|e| e.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn statement_shape() {
        let sql = super::sql_for(2);
        assert!(sql.contains("VALUES ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10)"));
        assert!(sql.ends_with("RETURNING verifications.id"));
    }
}
