//! The one tokio runtime behind every async call of the SDK.
//!
//! Kotlin coroutines and Swift tasks poll UniFFI's futures on their own
//! threads, with no tokio context. Instead of `async_runtime = "tokio"`
//! (`async_compat`, whose fallback is a *second* runtime on a thread of its
//! own), every async export spawns its work here and awaits the join handle:
//! timers, connections and driver tasks share one small runtime.
//!
//! Dropping the returned future (a canceled coroutine or Swift task) aborts
//! the spawned task, so every wait is cancellable from the app.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};
use tokio::task::{AbortHandle, JoinError};

use motp_core::MotpError;

/// Two workers: the SDK waits on the network and on timers, it never computes.
const WORKER_THREADS: usize = 2;

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The shared runtime, created on first use.
pub(crate) fn shared() -> Result<&'static Runtime, MotpError> {
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(WORKER_THREADS)
                .thread_name("motp-worker")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|reason| MotpError::Internal {
            reason: format!("cannot start the async runtime: {reason}"),
        })
}

/// Runs `work` on the shared runtime and waits for it. A panic inside it
/// becomes [`MotpError::Internal`]; dropping the returned future aborts it.
pub(crate) async fn run<F, T>(work: F) -> Result<T, MotpError>
where
    F: Future<Output = Result<T, MotpError>> + Send + 'static,
    T: Send + 'static,
{
    let task = shared()?.spawn(work);
    let _abort_when_dropped = AbortOnDrop(task.abort_handle());
    task.await.unwrap_or_else(|e| Err(join_error(e)))
}

fn join_error(error: JoinError) -> MotpError {
    if error.is_cancelled() {
        return MotpError::Canceled;
    }
    let panic = error.into_panic();
    let reason = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    log::error!("panic in an SDK task: {reason}");
    MotpError::Internal {
        reason: format!("panic: {reason}"),
    }
}

struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        // A no-op once the task has finished.
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    fn block_on<F: Future>(future: F) -> F::Output {
        // A runtime of the test's own, standing in for a foreign executor.
        Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn work_runs_on_the_shared_workers() {
        let name = block_on(run(async {
            Ok(std::thread::current().name().map(str::to_string))
        }))
        .unwrap();
        assert_eq!(name.as_deref(), Some("motp-worker"));
    }

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let result: Result<(), _> = block_on(run(async { panic!("boom") }));
        assert_eq!(
            result,
            Err(MotpError::Internal {
                reason: "panic: boom".into()
            })
        );
    }

    #[test]
    fn dropping_the_future_aborts_the_work() {
        struct SignalOnDrop(mpsc::Sender<()>);
        impl Drop for SignalOnDrop {
            fn drop(&mut self) {
                let _ = self.0.send(());
            }
        }

        let (started_tx, started_rx) = mpsc::channel();
        let (dropped_tx, dropped_rx) = mpsc::channel();
        let waiting = run(async move {
            let _signal = SignalOnDrop(dropped_tx);
            started_tx.send(()).unwrap();
            std::future::pending::<Result<(), MotpError>>().await
        });
        block_on(async {
            tokio::select! {
                _ = waiting => unreachable!("the work never finishes"),
                _ = async {
                    while started_rx.try_recv().is_err() {
                        tokio::task::yield_now().await;
                    }
                } => {}
            }
        });
        // `select!` dropped `waiting`: only an abort drops the pending work.
        dropped_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the task was aborted");
    }
}
