//! Group commit of creates for SQLite's single writer (issue 16 item 3).
//!
//! A create used to hold the writer for five round trips to its worker
//! thread (`BEGIN`, count the destination's calls, insert the verification,
//! insert the call, `COMMIT`). Here the creates that arrive while the
//! writer is busy are stored together, in one transaction of two
//! statements whatever their number: one `INSERT … SELECT … FROM (VALUES
//! …)` that inserts each verification only if its destination is under
//! both caps (each row keeps its own condition, and `RETURNING id` names
//! those that went in), then one `INSERT INTO calls` for those. A batch
//! never holds two creates to one destination, so no row's count could
//! miss a call of the same batch; a second one waits for the next batch.
//! A refused create learns its `retry_at` from the usual count, in the same
//! transaction. The answer is sent after the commit, as before.

use std::collections::HashSet;
use std::sync::{Arc, Weak};

use sqlx::{Connection, Row};
use tokio::sync::{mpsc, oneshot};

use super::{
    capped, CallRefused, DestinationCaps, SqliteConns, StoreError, VerificationRow, COUNT_CALLS,
    DAY_MS, HOUR_MS,
};

/// Most creates in one transaction.
const MAX_BATCH: usize = 32;
/// Bound parameters per create in the verification statement.
const PARAMS: usize = 20;

type Outcome = Result<Result<(), CallRefused>, String>;

struct Job {
    row: VerificationRow,
    caps: DestinationCaps,
    now: i64,
    done: oneshot::Sender<Outcome>,
}

/// The sending side; the writer task ends when it is dropped.
pub(super) struct CreateBatcher {
    jobs: mpsc::UnboundedSender<Job>,
}

impl CreateBatcher {
    /// Starts the task over `conns`.
    pub(super) fn start(conns: Weak<SqliteConns>) -> Self {
        let (jobs, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(conns, rx));
        Self { jobs }
    }

    /// Stores `row` and its first call unless a cap is reached.
    pub(super) async fn create(
        &self,
        row: &VerificationRow,
        caps: DestinationCaps,
        now: i64,
    ) -> Result<Result<(), CallRefused>, StoreError> {
        let stopped = || StoreError::Corrupt("the writer task stopped".into());
        let (done, outcome) = oneshot::channel();
        let job = Job {
            row: row.clone(),
            caps,
            now,
            done,
        };
        self.jobs.send(job).map_err(|_| stopped())?;
        outcome
            .await
            .map_err(|_| stopped())?
            .map_err(|e| StoreError::Database(sqlx::Error::Protocol(e)))
    }
}

async fn run(conns: Weak<SqliteConns>, mut rx: mpsc::UnboundedReceiver<Job>) {
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
        let mut destinations = HashSet::from([first.row.phone_number.clone()]);
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) if destinations.contains(&job.row.phone_number) => {
                    waiting = Some(job);
                    break;
                }
                Ok(job) => {
                    destinations.insert(job.row.phone_number.clone());
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
        match apply(&conns, &texts[n - 1], &batch).await {
            Ok(outcomes) => {
                for (job, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = job.done.send(Ok(outcome));
                }
            }
            Err(e) => {
                for job in batch {
                    let _ = job.done.send(Err(e.to_string()));
                }
            }
        }
    }
}

/// The verification statement for `n` creates.
fn sql_for(n: usize) -> String {
    let values: Vec<String> = (0..n)
        .map(|i| {
            let params: Vec<String> = (1..=PARAMS)
                .map(|k| format!("${}", i * PARAMS + k))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect();
    format!(
        "WITH v (id, app_id, phone_number, status, failure_reason, caller_prefix, code_length, \
         code_mac, created_at, expires_at, resend_after, resends, attempts_left, call_seq, \
         verified_at, version, day_since, hour_since, daily, hourly) AS (VALUES {}) \
         INSERT INTO verifications (id, app_id, phone_number, status, failure_reason, \
         caller_prefix, code_length, code_mac, created_at, expires_at, resend_after, resends, \
         attempts_left, call_seq, verified_at, version) \
         SELECT id, app_id, phone_number, status, failure_reason, caller_prefix, code_length, \
         code_mac, created_at, expires_at, resend_after, resends, attempts_left, call_seq, \
         verified_at, version FROM v \
         WHERE (SELECT COUNT(*) FROM calls WHERE destination = v.phone_number \
                AND placed_at > v.day_since) < v.daily \
         AND (SELECT COUNT(*) FROM calls WHERE destination = v.phone_number \
                AND placed_at > v.hour_since) < v.hourly \
         RETURNING id",
        values.join(", ")
    )
}

/// Runs one batch in one transaction; each create's outcome, in order.
async fn apply(
    conns: &Arc<SqliteConns>,
    sql: &str,
    batch: &[Job],
) -> Result<Vec<Result<(), CallRefused>>, sqlx::Error> {
    let mut conn = conns.write.lock().await;
    let mut tx = conn.begin().await?;
    let mut query = sqlx::query(sql);
    for job in batch {
        let row = &job.row;
        query = query
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
            .bind(job.now - DAY_MS)
            .bind(job.now - HOUR_MS)
            .bind(i64::from(job.caps.daily))
            .bind(i64::from(job.caps.hourly));
    }
    let inserted: HashSet<String> = query
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
    let accepted: Vec<&Job> = batch
        .iter()
        .filter(|j| inserted.contains(&j.row.id))
        .collect();
    if !accepted.is_empty() {
        let values: Vec<String> = (0..accepted.len())
            .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect();
        let sql = format!(
            "INSERT INTO calls (destination, placed_at, verification_id) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for job in &accepted {
            query = query
                .bind(&job.row.phone_number)
                .bind(job.now)
                .bind(&job.row.id);
        }
        query.execute(&mut *tx).await?;
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        if inserted.contains(&job.row.id) {
            outcomes.push(Ok(()));
            continue;
        }
        let counts = sqlx::query(COUNT_CALLS)
            .bind(&job.row.phone_number)
            .bind(job.now - DAY_MS)
            .bind(job.now - HOUR_MS)
            .fetch_one(&mut *tx)
            .await?;
        let retry_at = capped(
            job.caps,
            counts.try_get("day")?,
            counts.try_get("hour")?,
            counts.try_get("oldest_day")?,
            counts.try_get("oldest_hour")?,
        );
        // Not inserted means capped; should the counts disagree, the
        // earliest sensible retry is in a second.
        outcomes.push(Err(CallRefused::Capped {
            retry_at: retry_at.unwrap_or(job.now + 1000),
        }));
    }
    tx.commit().await?;
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn statement_shape() {
        let sql = super::sql_for(2);
        assert!(sql.contains("($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20), ($21,"));
        assert!(sql.contains("$40)"));
        assert!(sql.ends_with("RETURNING id"));
    }
}
