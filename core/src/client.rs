//! The SDK entry point: [`MotpClient`] starts verifications and returns a
//! [`VerificationHandle`] to report incoming calls or a typed code to.
//!
//! ```no_run
//! # async fn demo() -> Result<(), motp_core::MotpError> {
//! use std::time::SystemTime;
//! use motp_core::{CallMatch, CallVisibility, MotpConfig, MotpClient};
//!
//! let client = MotpClient::new(MotpConfig::new(
//!     "https://verify.example.com",
//!     "pk_live_…",
//!     "GB",
//! ))?;
//! let verification = client
//!     .start_verification("+447700900123", CallVisibility::Numbers, None)
//!     .await?;
//! // On Android, for every incoming call while the verification runs:
//! let outcome = verification
//!     .on_incoming_call("+44 20 7946 0123", SystemTime::now())
//!     .await?;
//! if let CallMatch::Verified { token } = outcome {
//!     // send `token` to your backend
//! }
//! # Ok(()) }
//! ```
//!
//! Everything runs on tokio: call the async functions from a tokio runtime
//! (the Kotlin and Swift bindings do this for you).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::driver;
use crate::driver::VerificationListener;
use crate::error::MotpError;
use crate::http::{HttpApi, DEFAULT_REQUEST_TIMEOUT};
#[cfg(doc)]
use crate::machine::VerificationState;
use crate::machine::{CallVisibility, Machine, MachineConfig};
use crate::time::{Clock, SystemClock};
use crate::verification::VerificationHandle;

/// Default time to wait for the verification call before asking the user to
/// type the code.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// How to reach your mOTP server, and how patient to be.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MotpConfig {
    /// Base URL of the mOTP server, e.g. `https://verify.example.com`.
    pub server_url: String,
    /// Your app's *publishable* key (`pk_…`). Never ship a secret key.
    pub publishable_key: String,
    /// The handset's home country, ISO 3166 alpha-2 (`GB`, `US`…), from the
    /// SIM or else the locale. Used to read national-format numbers, both
    /// the one being verified and the incoming caller ID.
    pub home_country: String,
    /// Time allowed for one request to the server; `None`:
    /// [`DEFAULT_REQUEST_TIMEOUT`] (10 seconds).
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub request_timeout: Option<Duration>,
    /// How long to wait for the verification call before asking the user
    /// to type the code ([`VerificationState::ManualEntry`]); a call
    /// arriving later still counts, until the verification expires. `None`:
    /// [`DEFAULT_CALL_TIMEOUT`] (30 seconds).
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub call_timeout: Option<Duration>,
}

impl MotpConfig {
    /// A configuration with the default timeouts.
    pub fn new(
        server_url: impl Into<String>,
        publishable_key: impl Into<String>,
        home_country: impl Into<String>,
    ) -> Self {
        Self {
            server_url: server_url.into(),
            publishable_key: publishable_key.into(),
            home_country: home_country.into(),
            request_timeout: None,
            call_timeout: None,
        }
    }

    fn request_timeout(&self) -> Duration {
        self.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT)
    }

    fn call_timeout(&self) -> Duration {
        self.call_timeout.unwrap_or(DEFAULT_CALL_TIMEOUT)
    }
}

/// Starts phone-number verifications against an mOTP server.
///
/// Create one per app and share it: clones are cheap and share one
/// connection pool.
#[derive(Clone)]
pub struct MotpClient {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    config: MotpConfig,
    api: HttpApi,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for MotpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MotpClient")
            .field("server_url", &self.inner.config.server_url)
            .field("home_country", &self.inner.config.home_country)
            .finish_non_exhaustive()
    }
}

impl MotpClient {
    /// A client for the server in `config`.
    ///
    /// Fails with [`MotpError::InvalidInput`] when the URL is malformed, the
    /// key is empty or secret, the home country is unknown, or a timeout is
    /// zero. Needs no async runtime; nothing is sent yet.
    pub fn new(config: MotpConfig) -> Result<Self, MotpError> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// Like [`new`](Self::new), reading the time from `clock`. For tests.
    pub fn with_clock(mut config: MotpConfig, clock: Arc<dyn Clock>) -> Result<Self, MotpError> {
        config.home_country = config.home_country.trim().to_ascii_uppercase();
        if crate::countries::by_iso(&config.home_country).is_none() {
            return Err(MotpError::InvalidInput {
                reason: "home_country is not a known ISO 3166 alpha-2 country".to_owned(),
            });
        }
        if config.call_timeout().is_zero() {
            return Err(MotpError::InvalidInput {
                reason: "call_timeout must be more than zero".to_owned(),
            });
        }
        let api = HttpApi::new(
            &config.server_url,
            &config.publishable_key,
            config.request_timeout(),
        )?;
        Ok(Self {
            inner: Arc::new(ClientInner { config, api, clock }),
        })
    }

    /// The configuration in use (home country upper-cased).
    pub fn config(&self) -> &MotpConfig {
        &self.inner.config
    }

    /// Asks the server to call `phone_number` (E.164, or national in the
    /// configured home country) and returns once the call is on its way.
    ///
    /// `visibility` says what this device can see of incoming calls: with
    /// [`CallVisibility::Numbers`] the SDK waits for the call, otherwise it
    /// asks for the typed code at once. `listener`, when given, hears every
    /// state change from `Requesting` on, including those before this
    /// function returns.
    ///
    /// The returned handle is in [`VerificationState::AwaitingCall`] or
    /// [`VerificationState::ManualEntry`] (or already further). Errors: [`MotpError::InvalidPhoneNumber`],
    /// [`MotpError::DestinationNotAllowed`], [`MotpError::RateLimited`],
    /// [`MotpError::Unauthorized`], and the network errors.
    ///
    /// Dropping the returned future before it completes withdraws the
    /// verification on the server once the server has created it.
    /// Must be polled inside a tokio runtime.
    pub async fn start_verification(
        &self,
        phone_number: &str,
        visibility: CallVisibility,
        listener: Option<Arc<dyn VerificationListener>>,
    ) -> Result<VerificationHandle, MotpError> {
        let handle = self.spawn(visibility, listener)?;
        handle.start(phone_number.to_owned()).await?;
        Ok(handle)
    }

    /// Picks up verification `id`, started at `started_at` by a process of
    /// this app that has since been killed (its id, start time and phone
    /// number are what an app saves to survive process death), and returns
    /// a handle as [`start_verification`](Self::start_verification) does.
    ///
    /// The server is asked for the verification's state; the returned
    /// handle is in `AwaitingCall` or `ManualEntry` (`ManualEntry` also
    /// after a failed call: the code may still be typed). Calls observed
    /// from `started_at` on count, so report the call log since then.
    ///
    /// Errors: [`MotpError::AlreadyUsed`] when it was approved already (the
    /// token went to the process that died), [`MotpError::Expired`],
    /// [`MotpError::Canceled`], [`MotpError::NotFound`] (unknown, another
    /// app's, or purged), [`MotpError::Unauthorized`], and the network
    /// errors.
    pub async fn resume_verification(
        &self,
        id: &str,
        started_at: SystemTime,
        visibility: CallVisibility,
        listener: Option<Arc<dyn VerificationListener>>,
    ) -> Result<VerificationHandle, MotpError> {
        let handle = self.spawn(visibility, listener)?;
        handle.resume(id.to_owned(), started_at).await?;
        Ok(handle)
    }

    /// A verification task in `Idle`, and its first handle.
    fn spawn(
        &self,
        visibility: CallVisibility,
        listener: Option<Arc<dyn VerificationListener>>,
    ) -> Result<VerificationHandle, MotpError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(MotpError::InvalidState {
                reason: "verifications must run inside a tokio runtime".to_owned(),
            });
        }
        let config = &self.inner.config;
        let machine = Machine::new(MachineConfig {
            home_country: config.home_country.clone(),
            request_timeout: config.request_timeout(),
            call_timeout: config.call_timeout(),
            call_visibility: visibility,
        });
        let (shared, commands) = driver::spawn(
            machine,
            self.inner.api.clone(),
            Arc::clone(&self.inner.clock),
            listener,
        );
        Ok(VerificationHandle::new(shared, commands))
    }
}
