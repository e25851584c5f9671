//! "Bring your own backend": extracting the code from an incoming call
//! without an mOTP server.

use std::sync::Arc;
use std::time::SystemTime;

use motp_core::{CallerIdMatch, CallerIdMatcher, CallerInfo, CallerPattern, MotpError};

/// Reads the code out of incoming caller IDs, for apps whose own backend
/// places the verification call.
///
/// Build one from the pattern your backend used and the handset's home
/// country (ISO 3166 alpha-2, from the SIM or the locale), then pass it
/// every incoming number exactly as the platform shows it: `+44 20 7946
/// 0123`, `020 7946 0123`, `0044…` all work. Send the code to your backend,
/// which decides.
#[derive(Debug, uniffi::Object)]
pub struct MissedCallMatcher {
    inner: CallerIdMatcher,
}

#[uniffi::export]
impl MissedCallMatcher {
    /// A matcher for `pattern` on a handset from `home_country`. Throws
    /// `InvalidInput` for a malformed pattern or an unknown country.
    #[uniffi::constructor]
    pub fn new(pattern: CallerInfo, home_country: String) -> Result<Arc<Self>, MotpError> {
        let inner = CallerIdMatcher::new(CallerPattern::try_from(&pattern)?, &home_country)?;
        Ok(Arc::new(Self { inner }))
    }

    /// The pattern, normalised (`+442079460`).
    pub fn pattern(&self) -> CallerInfo {
        self.inner.pattern().into()
    }

    /// The code carried by `number`, or why it is not the verification
    /// call. Never throws, whatever the input.
    pub fn match_number(&self, number: String) -> CallerIdMatch {
        self.inner.match_number(&number).into()
    }
}

/// One "bring your own backend" verification: like [`MissedCallMatcher`],
/// and it also ignores calls outside the verification's time window.
#[derive(Debug, uniffi::Object)]
pub struct OfflineVerification {
    inner: motp_core::OfflineVerification,
}

#[uniffi::export]
impl OfflineVerification {
    /// A verification whose call comes from `pattern` to a handset from
    /// `home_country`. Calls count from `started_at` (default: now; use the
    /// moment you asked your backend for the call) until `expires_at`.
    /// Throws `InvalidInput` for a malformed pattern, an unknown country,
    /// or an `expires_at` not after `started_at`.
    #[uniffi::constructor(default(started_at = None))]
    pub fn new(
        pattern: CallerInfo,
        home_country: String,
        expires_at: SystemTime,
        started_at: Option<SystemTime>,
    ) -> Result<Arc<Self>, MotpError> {
        let inner = motp_core::OfflineVerification::new(
            CallerPattern::try_from(&pattern)?,
            &home_country,
            expires_at,
            started_at.unwrap_or_else(SystemTime::now),
        )?;
        Ok(Arc::new(Self { inner }))
    }

    /// The code of an incoming call from `number` seen at `observed_at`,
    /// or `null`/`nil` when it is another call or outside the time window.
    pub fn on_incoming_call(&self, number: String, observed_at: SystemTime) -> Option<String> {
        self.inner.on_incoming_call(&number, observed_at)
    }

    /// The pattern, normalised.
    pub fn pattern(&self) -> CallerInfo {
        self.inner.pattern().into()
    }

    /// When calls stop counting.
    pub fn expires_at(&self) -> SystemTime {
        self.inner.expires_at()
    }
}
