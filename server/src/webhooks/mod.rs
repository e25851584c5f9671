//! Signed webhooks (Standard Webhooks): per app, one or more endpoints
//! receive the state changes of its verifications.
//!
//! The events come from a durable outbox in the database, filled by
//! triggers in the same transaction as the change (see
//! [`crate::storage::webhooks`]); [`dispatch`] sends them with bounded
//! concurrency, timeouts, and retries with exponential backoff and jitter up
//! to a horizon; [`sign`] signs them the way the specification says. A slow
//! or dead receiver costs the API nothing: no request waits for a delivery.

pub mod config;
pub mod dispatch;
pub mod event;
pub mod metrics;
pub mod sign;
pub mod url;
