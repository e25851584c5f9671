//! # motp-core
//!
//! The heart of mOTP, a phone-number verification that uses a *missed call*
//! instead of an SMS: the server calls the phone and hangs up before anyone
//! can answer, and the last digits of the calling number are the one-time
//! code.
//!
//! This crate is plain Rust with no FFI and no platform code. It holds:
//!
//! - [`CallerPattern`] and [`CallerIdMatcher`]: extracting the code from a
//!   caller ID in any of the forms phones display it (one implementation,
//!   shared by the SDK and the server);
//! - [`protocol`]: the `/v1` HTTP/JSON wire types;
//! - [`machine`]: the verification lifecycle as a pure state machine with an
//!   injected clock;
//! - [`client`]: the HTTP client for the protocol;
//! - [`driver`]: a tokio driver that ties machine, client and timers together;
//! - [`byob`]: "bring your own backend", extracting a code with no mOTP server.

pub mod byob;
pub mod client;
pub mod countries;
pub mod display;
pub mod driver;
pub mod error;
pub mod machine;
pub mod matcher;
pub mod pattern;
pub mod protocol;
pub mod time;

pub use byob::OfflineVerification;
pub use driver::{ClientConfig, MotpClient, StateListener, VerificationHandle};
pub use error::MotpError;
pub use machine::{CallMatch, IgnoredCall, ManualEntryReason, VerificationInfo, VerificationState};
pub use matcher::{CallerIdMatcher, MatchRejection};
pub use pattern::{CallerPattern, PatternError};
