//! # motp-server
//!
//! The mOTP verification server: the `/v1` HTTP API, storage, abuse
//! controls, tokens and telephony. The `motp` binary (`src/main.rs`) is a thin
//! command-line front end over this library.

pub mod cli;
pub mod telephony;
