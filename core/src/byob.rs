//! "Bring your own backend": extract the code from an incoming call with no
//! mOTP server involved.
//!
//! For apps whose own backend places the verification call through its own
//! carrier. The backend tells the app the caller pattern (`prefix`,
//! `code_length`) and when the verification expires; the app reports each
//! incoming call; [`OfflineVerification`] returns the code, which the app
//! sends to its backend to check. The backend, not the phone, decides.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use motp_core::{CallerPattern, OfflineVerification};
//!
//! let started_at = SystemTime::now();
//! let pattern = CallerPattern::new("+442079460", 3).unwrap();
//! let verification = OfflineVerification::new(
//!     pattern,
//!     "GB",
//!     started_at + Duration::from_secs(300),
//!     started_at,
//! )
//! .unwrap();
//! let rang_at = started_at + Duration::from_secs(5);
//! assert_eq!(
//!     verification.on_incoming_call("+442079460123", rang_at),
//!     Some("123".to_owned())
//! );
//! assert_eq!(verification.on_incoming_call("+447700900123", rang_at), None);
//! ```

use std::time::SystemTime;

use crate::error::MotpError;
use crate::matcher::{CallerIdMatcher, MatchRejection};
use crate::pattern::CallerPattern;

/// Why [`OfflineVerification::check_call`] did not yield a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfflineRejection {
    /// The call was observed before the verification started.
    BeforeStart,
    /// The call was observed at or after the expiry.
    AfterExpiry,
    /// The number does not fit the caller pattern: some other call.
    NotMatching {
        /// How it failed to match.
        rejection: MatchRejection,
    },
}

impl OfflineRejection {
    /// A stable snake_case name: `before_start`, `after_expiry`, or the
    /// matcher's reason (`wrong_prefix`, `withheld`…) for a non-matching
    /// number.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::BeforeStart => "before_start",
            Self::AfterExpiry => "after_expiry",
            Self::NotMatching { rejection } => rejection.as_str(),
        }
    }
}

impl std::fmt::Display for OfflineRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verification whose call is placed by the app's own backend: pattern in,
/// code out. Pure and synchronous; safe to share between threads.
#[derive(Debug)]
pub struct OfflineVerification {
    matcher: CallerIdMatcher,
    started_at: SystemTime,
    expires_at: SystemTime,
}

impl OfflineVerification {
    /// A verification whose call comes from `pattern`, for a handset whose
    /// home country is `home_country` (ISO 3166 alpha-2). Calls count from
    /// `started_at` (when the app asked its backend for the call) until
    /// `expires_at`.
    ///
    /// Fails with [`MotpError::InvalidInput`] for an unknown country or when
    /// `expires_at` is not after `started_at`.
    pub fn new(
        pattern: CallerPattern,
        home_country: &str,
        expires_at: SystemTime,
        started_at: SystemTime,
    ) -> Result<Self, MotpError> {
        if expires_at <= started_at {
            return Err(MotpError::InvalidInput {
                reason: "expires_at must be after started_at".to_owned(),
            });
        }
        let matcher = CallerIdMatcher::new(pattern, home_country)?;
        Ok(Self {
            matcher,
            started_at,
            expires_at,
        })
    }

    /// The code carried by an incoming call from `number` (any format the
    /// platform shows) observed at `observed_at`, or `None` when the call is
    /// not the verification call or falls outside
    /// [`started_at`](Self::started_at)..[`expires_at`](Self::expires_at).
    /// Leading zeros of the code are kept.
    pub fn on_incoming_call(&self, number: &str, observed_at: SystemTime) -> Option<String> {
        self.check_call(number, observed_at).ok()
    }

    /// Like [`on_incoming_call`](Self::on_incoming_call), saying why a call
    /// yields no code.
    pub fn check_call(
        &self,
        number: &str,
        observed_at: SystemTime,
    ) -> Result<String, OfflineRejection> {
        if observed_at < self.started_at {
            return Err(OfflineRejection::BeforeStart);
        }
        if observed_at >= self.expires_at {
            return Err(OfflineRejection::AfterExpiry);
        }
        self.matcher
            .match_number(number)
            .map_err(|rejection| OfflineRejection::NotMatching { rejection })
    }

    /// The caller pattern.
    pub fn pattern(&self) -> &CallerPattern {
        self.matcher.pattern()
    }

    /// When calls start to count.
    pub fn started_at(&self) -> SystemTime {
        self.started_at
    }

    /// When calls stop counting.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }
}
