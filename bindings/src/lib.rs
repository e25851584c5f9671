//! # motp-ffi
//!
//! The Kotlin and Swift surface of mOTP, phone-number verification by
//! missed call: the server calls the phone and hangs up before anyone can
//! answer, and the last digits of the calling number are the one-time code.
//!
//! This crate is a thin [UniFFI](https://mozilla.github.io/uniffi-rs/)
//! layer over `motp-core`; it adds no logic of its own. Generated bindings:
//! Kotlin package `dev.motp.sdk`, Swift module `MotpFFI`.
//!
//! - [`MotpClient`] starts verifications against an mOTP server and returns
//!   a [`Verification`] to feed incoming calls or a typed code to.
//! - [`MissedCallMatcher`] and [`OfflineVerification`] extract the code from
//!   a caller ID for apps whose own backend places the calls.
//! - [`set_logger`] and [`set_log_level`] route the SDK's logs.
//!
//! Every failure is a [`MotpError`] (`MotpException` in Kotlin).

mod client;
mod error;
mod logging;
mod matcher;
mod runtime;
#[cfg(feature = "testing")]
mod testing;
mod verification;

pub use client::{MotpClient, MotpConfig};
pub use error::MotpError;
pub use logging::{set_log_level, set_logger, LogLevel, Logger};
pub use matcher::{
    CallerIdMatch, CallerPattern, MatchRejection, MissedCallMatcher, OfflineVerification,
};
pub use verification::{
    CallMatch, IgnoredCall, ManualEntryReason, Verification, VerificationInfo,
    VerificationListener, VerificationState,
};

uniffi::setup_scaffolding!("motp");
