//! # motp-core
//!
//! The heart of mOTP, a phone-number verification that uses a *missed call*
//! instead of an SMS: the server calls the phone and hangs up before anyone
//! can answer, and the last digits of the calling number are the one-time
//! code.
//!
//! This crate is plain Rust with no FFI and no platform code. An app (or the
//! Kotlin and Swift bindings over it) needs:
//!
//! - [`MotpClient`]: starts a verification against an mOTP server and
//!   returns a [`VerificationHandle`], to which the platform reports every
//!   incoming call it observes, or the code the user typed; its
//!   [`VerificationState`] says what to show;
//! - [`CallerPattern`] and [`CallerIdMatcher`]: extracting the code from a
//!   caller ID in any of the forms phones display it (one implementation,
//!   shared by the SDK and the server);
//! - [`display_caller`]: the calling number as the user will see it, with
//!   the code digits typed so far and placeholders for the rest
//!   (`+44 20 7946 0___`, or `020 7946 0___` at home), grouped the way
//!   libphonenumber groups that country's numbers;
//! - [`OfflineVerification`]: "bring your own backend", extracting a code
//!   with no mOTP server.
//!
//! Below them, for servers and for custom drivers: [`protocol`], the `/v1`
//! HTTP/JSON wire types; [`HttpApi`], a client that speaks them; and
//! [`machine`], the verification lifecycle as a pure state machine with an
//! injected clock, which [`MotpClient`] runs on tokio.

mod byob;
mod client;
pub mod countries;
mod display;
mod driver;
mod error;
mod follow;
mod http;
pub mod machine;
mod matcher;
mod pattern;
pub mod protocol;
mod redact;
mod sse;
mod time;
mod verification;

pub use byob::{OfflineRejection, OfflineVerification};
pub use client::{MotpClient, MotpConfig, DEFAULT_CALL_TIMEOUT};
pub use display::{display_caller, CallerDisplay, DisplayCell, DisplayForm};
pub use driver::VerificationListener;
pub use error::MotpError;
pub use http::{HttpApi, RetryPolicy, DEFAULT_REQUEST_TIMEOUT};
pub use machine::{
    CallEvent, CallMatch, CallVisibility, IgnoredCall, ManualEntryReason, VerificationInfo,
    VerificationState,
};
pub use matcher::{CallerIdMatch, CallerIdMatcher, MatchRejection};
pub use pattern::{CallerPattern, PatternError};
pub use protocol::CallerInfo;
pub use time::{Clock, Dated, SystemClock, Timestamp};
pub use verification::VerificationHandle;

// The Kotlin and Swift bindings (motp-ffi) export the types marked above.
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();
