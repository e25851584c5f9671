//! Hooks for the binding tests, only with the `testing` cargo feature.

/// Panics inside the SDK, synchronously, to prove a Rust panic reaches the
/// app as an exception (`InternalException` in Kotlin) and not as a crash.
#[uniffi::export]
pub fn debug_force_panic() {
    panic!("debug_force_panic: a deliberate panic for the binding tests");
}

/// Panics inside an SDK task on the shared runtime, to prove such a panic
/// reaches the awaiting caller as `MotpError::Internal`.
#[uniffi::export]
pub async fn debug_force_panic_async() -> Result<(), motp_core::MotpError> {
    crate::runtime::run(async {
        panic!("debug_force_panic_async: a deliberate panic for the binding tests")
    })
    .await
}
