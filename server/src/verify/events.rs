//! A live view of one verification: the changes an app waiting for its call
//! wants to hear of (`GET /v1/verifications/{id}/events`), HTTP-free.
//!
//! # Why a short poll of the row, not PostgreSQL `LISTEN/NOTIFY`
//!
//! The instance that holds an app's stream is often not the one that placed
//! the call, so a change must cross instances. Each open stream reads its
//! row every [`POLL_INTERVAL`]:
//!
//! - it works the same on SQLite and PostgreSQL, and needs no hook in the
//!   code that writes the row (calls, checks, resends, cancels, expiry by
//!   the clock, which no write announces at all);
//! - on SQLite (one instance) the read is served by the store's in-process
//!   row cache, so it costs no SQL; on PostgreSQL it is one primary-key
//!   read, and a stream lives only while an app waits for its call;
//! - `LISTEN/NOTIFY` would need a dedicated connection per instance, a
//!   fan-out task, triggers or a `NOTIFY` beside every write, and a poll
//!   anyway after the listening connection drops (notifications sent
//!   meanwhile are lost).
//!
//! The cost is latency: a change reaches the stream within
//! [`POLL_INTERVAL`] of being written.

use std::sync::Arc;
use std::time::Duration;

use motp_core::protocol::events::CALLER_CHANGED;
use motp_core::protocol::{Verification, VerificationStatus};

use super::{load, settled_for_good, view, VerifyError};
use crate::state::AppState;

/// How often an open stream reads its verification.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// One change of a verification, as streamed.
#[derive(Debug, Clone)]
pub struct Change {
    /// Increases with every change: the row's version. Send it back as
    /// `Last-Event-ID` to resume after it.
    pub id: i64,
    /// The new status's name, or [`CALLER_CHANGED`].
    pub name: &'static str,
    /// The verification as `GET` shows it.
    pub verification: Verification,
}

/// Follows one verification of one app. See the [module docs](self).
pub struct Follow {
    state: Arc<AppState>,
    app_id: String,
    id: String,
    /// The version last streamed (or named by `Last-Event-ID`).
    version: Option<i64>,
    /// What was last streamed, to tell a new status or caller from a change
    /// of no interest (an attempt spent).
    last: Option<(VerificationStatus, i64, String)>,
    done: bool,
}

impl Follow {
    /// Starts following verification `id` of `app_id` after the change
    /// `last_event_id`, if any. Fails when there is no such verification.
    pub async fn start(
        state: Arc<AppState>,
        app_id: &str,
        id: &str,
        last_event_id: Option<i64>,
    ) -> Result<Self, VerifyError> {
        load(&state, app_id, id, 0).await?;
        Ok(Self {
            state,
            app_id: app_id.to_owned(),
            id: id.to_owned(),
            version: last_event_id,
            last: None,
            done: false,
        })
    }

    /// The next change; `None` once a final state was streamed (approved,
    /// expired, canceled; not failed, which may still be typed or resent),
    /// when the server stops, or when storage failed (the client reconnects
    /// and resumes).
    pub async fn next(&mut self) -> Option<Change> {
        let mut closing = self.state.closing.subscribe();
        loop {
            if self.done || *closing.borrow_and_update() {
                return None;
            }
            let row = match load(&self.state, &self.app_id, &self.id, 0).await {
                Ok(row) => row,
                Err(error) => {
                    tracing::warn!(verification = %self.id, %error, "event stream ends");
                    self.done = true;
                    return None;
                }
            };
            let now = self.state.now();
            let verification = view(&row, now);
            let status = verification.status;
            // A failed call is not the end: it may still be typed or resent.
            let ends = settled_for_good(status);
            let current = (status, row.call_seq, row.caller_prefix.clone());
            let newer = self.version.is_none_or(|v| row.version > v);
            // A final state is always told, even on a resumed stream that
            // saw it already: it is what closes the stream.
            let name = match &self.last {
                _ if ends => Some(status.as_str()),
                None if newer => Some(status.as_str()),
                Some(last) if newer && (last.0 != status || last.1 != row.call_seq) => {
                    Some(status.as_str())
                }
                Some(last) if newer && last.2 != row.caller_prefix => Some(CALLER_CHANGED),
                _ => None,
            };
            if newer {
                self.version = Some(row.version);
            }
            if let Some(name) = name {
                self.last = Some(current);
                self.done = ends;
                return Some(Change {
                    id: row.version,
                    name,
                    verification,
                });
            }
            if self.last.is_none() {
                // Resumed with nothing new: remember what the client has.
                self.last = Some(current);
            }
            // Wake for the next poll, or at expiry, whichever is first.
            let to_expiry = u64::try_from(row.expires_at.saturating_sub(now)).unwrap_or(0);
            let wait = POLL_INTERVAL.min(Duration::from_millis(to_expiry.max(1)));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = closing.changed() => {}
            }
        }
    }
}
