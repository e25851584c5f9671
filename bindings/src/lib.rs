//! # motp-ffi
//!
//! The Kotlin and Swift surface of mOTP, phone-number verification by
//! missed call: the last digits of the calling number are the one-time code.
//!
//! A thin [UniFFI](https://mozilla.github.io/uniffi-rs/) layer over
//! `motp-core`: the core marks its own types for UniFFI (feature `uniffi`);
//! this crate adds object wrappers on one shared tokio runtime, and logging.
//! Kotlin packages `dev.motp.sdk` (here) and `dev.motp.core` (the core's
//! types); one Swift module `MotpFFI`.
//!
//! [`MotpClient`] starts a [`Verification`] against an mOTP server;
//! [`MissedCallMatcher`] and [`OfflineVerification`] serve apps whose own
//! backend places the calls; [`display_caller`] lays out the calling number;
//! [`set_logger`] and [`set_log_level`] route the SDK's logs. Every failure
//! is a [`motp_core::MotpError`] (`MotpException` in Kotlin).

mod client;
mod display;
mod logging;
mod matcher;
mod runtime;
#[cfg(feature = "testing")]
mod testing;
mod verification;

pub use client::MotpClient;
pub use display::display_caller;
pub use logging::{set_log_level, set_logger, LogLevel, MotpLogger};
pub use matcher::{MissedCallMatcher, OfflineVerification};
pub use verification::Verification;

uniffi::setup_scaffolding!("motp");
