//! A deadline on a request's database work, so that an unreachable or
//! locked database costs a request a bounded wait and a 503, never a hang.
//!
//! The connection pool's acquire timeout and the statement timeout bound
//! each wait on their own; this deadline bounds the whole, including what
//! neither sees (SQLite's in-process writer queue, a PostgreSQL server that
//! stopped answering on an open connection).

use std::future::Future;
use std::time::Duration;

use super::StoreError;

/// Runs `work`, or fails with [`StoreError::TimedOut`] once `deadline` has
/// passed. Dropping `work` midway is safe: an open transaction is rolled
/// back, and nothing was acknowledged to the client.
pub async fn within<T, E>(
    deadline: Duration,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    match tokio::time::timeout(deadline, work).await {
        Ok(result) => result,
        Err(_) => Err(StoreError::TimedOut(deadline.as_millis()).into()),
    }
}
