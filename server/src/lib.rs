//! # motp-server
//!
//! The mOTP verification server: the `/v1` HTTP API, storage, abuse
//! controls, tokens and telephony. The `motp` binary (`src/main.rs`) is a thin
//! command-line front end over this library.
//!
//! Map: [`api`] (routes, problem+json, extractors, the OpenAPI document)
//! calls [`verify`] (the rules, which refuse with a
//! [`verify::VerifyError`] that `api` alone turns into HTTP), which uses
//! [`storage`] (SQLite or PostgreSQL), [`codes`] (CSPRNG, HMAC), [`phone`]
//! (destination policy), [`limits`], [`tokens`] (EdDSA JWT) and [`calls`] →
//! [`telephony`] (which also holds the loopback phone that the demo and the
//! tests call). [`server`] wires it all from a [`config::Config`]; [`cli`]
//! is the `motp` tool on top; [`clock`] is injected so tests never sleep.
//! [`webhooks`] delivers the events that storage triggers write to the
//! outbox.
//! Imports run one way, down this map: nothing below `api` and `cli`
//! imports them.

pub mod api;
pub mod budget;
pub mod call_control;
pub mod caller_id;
pub mod calls;
pub mod cli;
pub mod clock;
pub mod codes;
pub mod config;
pub mod keys;
pub mod limits;
pub mod listener;
pub mod memory;
pub mod metrics;
pub mod phone;
pub mod server;
pub mod state;
pub mod stats;
pub mod storage;
pub mod telephony;
pub mod test_numbers;
pub mod tokens;
pub mod verify;
pub mod webhooks;
