//! # motp-ffi
//!
//! The Kotlin and Swift surface of mOTP, phone-number verification by
//! missed call: the last digits of the calling number are the one-time code.
//!
//! A thin [UniFFI](https://mozilla.github.io/uniffi-rs/) layer over
//! `motp-core`, with no logic of its own. The core marks its own types
//! for UniFFI (feature `uniffi`); this crate adds what only the FFI needs:
//! object wrappers whose async methods run on one shared tokio runtime, and
//! logging to the platform. Generated bindings: Kotlin packages
//! `dev.motp.sdk` (this crate) and `dev.motp.core` (the core's types), one
//! Swift module `MotpFFI`.
//!
//! - [`MotpClient`] starts verifications against an mOTP server and returns
//!   a [`Verification`] to feed incoming calls or a typed code to.
//! - [`MissedCallMatcher`] and [`OfflineVerification`] extract the code from
//!   a caller ID for apps whose own backend places the calls.
//! - [`display_caller`] lays out the calling number for the code field.
//! - [`set_logger`] and [`set_log_level`] route the SDK's logs.
//!
//! Every failure is a [`motp_core::MotpError`] (`MotpException` in Kotlin).

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
pub use matcher::{CallerIdMatch, MissedCallMatcher, OfflineVerification};
pub use verification::Verification;

uniffi::setup_scaffolding!("motp");
