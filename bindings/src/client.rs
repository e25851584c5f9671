//! The entry point: a configured client that starts verifications.

use std::sync::Arc;
use std::time::SystemTime;

use motp_core::{CallVisibility, MotpConfig, MotpError, VerificationListener};

use crate::runtime;
use crate::verification::Verification;

/// Starts phone-number verifications against your mOTP server.
///
/// Create one when the app starts and keep it: it holds the connection
/// pool. Safe to use from any thread.
#[derive(Debug, uniffi::Object)]
pub struct MotpClient {
    inner: motp_core::MotpClient,
}

#[uniffi::export]
impl MotpClient {
    /// A client for the server in `config`. Nothing is sent yet.
    ///
    /// Throws `InvalidInput` when the URL is malformed, the key is empty or
    /// secret, the home country is unknown, or a timeout is zero.
    #[uniffi::constructor]
    pub fn new(config: MotpConfig) -> Result<Arc<Self>, MotpError> {
        crate::logging::install();
        Ok(Arc::new(Self {
            inner: motp_core::MotpClient::new(config)?,
        }))
    }

    /// Asks the server to call `phone_number` (E.164, or national in the
    /// home country) and returns once the call is on its way, in state
    /// `AwaitingCall` or `ManualEntry` (or further).
    ///
    /// `visibility` says what this device can see of incoming calls: with
    /// `Numbers` the SDK waits for the call; otherwise (`PermissionMissing`
    /// on Android without the permissions, `Hidden` on iOS) it asks for the
    /// typed code at once. `listener` hears every state change from
    /// `Requesting` on, in order, including those before this returns.
    ///
    /// Throws `InvalidPhoneNumber`, `DestinationNotAllowed`, `RateLimited`,
    /// `Unauthorized`, or a network error (`Network`, `Timeout`, `Server`).
    /// Canceling the coroutine or task withdraws the verification.
    #[uniffi::method(default(listener = None))]
    pub async fn start_verification(
        &self,
        phone_number: String,
        visibility: CallVisibility,
        listener: Option<Arc<dyn VerificationListener>>,
    ) -> Result<Arc<Verification>, MotpError> {
        let client = self.inner.clone();
        let start = async move {
            client
                .start_verification(&phone_number, visibility, listener)
                .await
        };
        let handle = runtime::run(start).await?;
        Ok(Arc::new(Verification { handle }))
    }

    /// Picks up verification `id`, started at `started_at` by this app in a
    /// process since killed. Returns it in `AwaitingCall` or `ManualEntry`;
    /// report the call log since `started_at`. Throws `AlreadyUsed` when it
    /// was approved already, `Expired`, `Canceled`, `NotFound`, or a network
    /// error.
    #[uniffi::method(default(listener = None))]
    pub async fn resume_verification(
        &self,
        id: String,
        started_at: SystemTime,
        visibility: CallVisibility,
        listener: Option<Arc<dyn VerificationListener>>,
    ) -> Result<Arc<Verification>, MotpError> {
        let client = self.inner.clone();
        let resume = async move {
            client
                .resume_verification(&id, started_at, visibility, listener)
                .await
        };
        let handle = runtime::run(resume).await?;
        Ok(Arc::new(Verification { handle }))
    }
}
