//! Every wait of the demo is bounded, and a step that fails or runs out of
//! time ends the demo with one line saying which step it was.

use std::future::Future;
use std::time::Duration;

/// The longest any single step may take (server start, a request, the call
/// reaching the handset, a check).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// A failed step, said in one line.
pub type Failure = String;

/// `future`'s output, or a [`Failure`] naming `what` was awaited once
/// `limit` has passed.
pub async fn within<T>(
    limit: Duration,
    what: &str,
    future: impl Future<Output = T>,
) -> Result<T, Failure> {
    tokio::time::timeout(limit, future).await.map_err(|_| {
        format!(
            "timed out after {} s waiting for {what}",
            limit.as_secs_f64()
        )
    })
}
