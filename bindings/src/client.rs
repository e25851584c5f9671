//! The entry point: a configured client that starts verifications.

use std::sync::Arc;
use std::time::Duration;

use motp_core::driver;

use crate::error::MotpError;
use crate::runtime;
use crate::verification::{ListenerBridge, Verification, VerificationListener};

/// How to reach your mOTP server.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MotpConfig {
    /// Base URL of the mOTP server, e.g. `https://verify.example.com`.
    pub server_url: String,
    /// Your app's *publishable* key (`pk_…`). Never ship a secret key.
    pub publishable_key: String,
    /// The handset's home country, ISO 3166 alpha-2 (`GB`, `US`…), from the
    /// SIM or else the locale. Used to read national-format numbers.
    pub home_country: String,
    /// Time allowed for one request to the server. Default 10 seconds.
    #[uniffi(default = None)]
    pub request_timeout: Option<Duration>,
    /// How long to wait for the verification call before asking the user
    /// to type the code (`ManualEntry`). A later call still counts.
    /// Default 30 seconds.
    #[uniffi(default = None)]
    pub call_timeout: Option<Duration>,
}

/// Starts phone-number verifications against your mOTP server.
///
/// Create one when the app starts and keep it: it holds the connection
/// pool. Safe to use from any thread.
#[derive(Debug, uniffi::Object)]
pub struct MotpClient {
    inner: driver::MotpClient,
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
        let mut core_config = driver::ClientConfig::new(
            config.server_url,
            config.publishable_key,
            config.home_country,
        );
        if let Some(timeout) = config.request_timeout {
            core_config.request_timeout = timeout;
        }
        if let Some(timeout) = config.call_timeout {
            core_config.call_timeout = timeout;
        }
        Ok(Arc::new(Self {
            inner: driver::MotpClient::new(core_config)?,
        }))
    }

    /// Asks the server to call `phone_number` (E.164, or national in the
    /// home country) and returns once the call is on its way, in state
    /// `AwaitingCall` (or further).
    ///
    /// `listener` hears every state change from `Requesting` on, in order,
    /// including those before this returns.
    ///
    /// Throws `InvalidPhoneNumber`, `DestinationNotAllowed`, `RateLimited`,
    /// `Unauthorized`, or a network error (`Network`, `Timeout`, `Server`).
    /// Canceling the coroutine or task withdraws the verification.
    #[uniffi::method(default(listener = None))]
    pub async fn start_verification(
        &self,
        phone_number: String,
        listener: Option<Arc<dyn VerificationListener>>,
    ) -> Result<Arc<Verification>, MotpError> {
        let client = self.inner.clone();
        let listener = listener.map(ListenerBridge::wrap);
        let handle =
            runtime::run(
                async move { Ok(client.start_verification(&phone_number, listener).await?) },
            )
            .await?;
        Ok(Arc::new(Verification::new(handle)))
    }
}
