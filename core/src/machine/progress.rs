//! What the server says of the call while the app waits, and what the app
//! is told of it: [`CallEvent`]s, beside the [`VerificationState`]s.
//!
//! They travel on a channel of their own rather than as new
//! `VerificationState` cases: apps match exhaustively on the state (Kotlin
//! `when`, Swift `switch`), and a new case would stop them compiling. An
//! app that ignores the events behaves as before; the state changes they
//! cause (a failed call moves `AwaitingCall` to `ManualEntry` at once) use
//! the existing states.
//!
//! [`VerificationState`]: super::VerificationState

use std::time::{Duration, SystemTime};

use crate::protocol::Observation;

/// How long after the server reports the call delivered the phone may
/// take to report it (the call-log row is written once the call ended)
/// before the SDK asks the app to read the call log again.
pub const DELIVERED_GRACE: Duration = Duration::from_secs(3);

/// How long the app gets to report the call after
/// [`CallEvent::RereadCallLog`] before the SDK asks the user to type the code.
pub const REREAD_WINDOW: Duration = Duration::from_secs(2);

/// Something the server reported about the verification call, or something
/// the SDK asks of the app. Read them with `next_call_event()`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum CallEvent {
    /// The phone network reports the phone is ringing: a good moment to
    /// bring the code field forward (no permission needed for this).
    Ringing,
    /// The call rang out: its number is on the phone (in the call list).
    Delivered,
    /// The call could not be delivered; `reason` is the carrier's
    /// (`busy`, `timeout`, `unreachable`…). The verification is in
    /// `ManualEntry`: offer a resend, or typing the code if the number was
    /// seen after all (a declined call fails as busy).
    Failed {
        /// Short and plain; holds no number.
        reason: String,
    },
    /// The server delivered the call but the app reported no matching
    /// number: read the call log again now and report what it holds with
    /// `on_incoming_call`. Asked at most once per call; without an answer
    /// the SDK moves to `ManualEntry` after a short wait.
    RereadCallLog,
}

impl CallEvent {
    /// A stable snake_case name: `ringing`, `delivered`, `failed`,
    /// `reread_call_log`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ringing => "ringing",
            Self::Delivered => "delivered",
            Self::Failed { .. } => "failed",
            Self::RereadCallLog => "reread_call_log",
        }
    }
}

/// Where the wait after a delivered call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reread {
    /// Delivered; the phone may still report the call until `until`.
    Grace { until: SystemTime },
    /// The app was asked to read the call log again; manual entry at `until`.
    Asked { until: SystemTime },
}

impl Reread {
    pub(super) fn until(self) -> SystemTime {
        match self {
            Self::Grace { until } | Self::Asked { until } => until,
        }
    }
}

/// The progress of the current call (reset by a resend).
#[derive(Debug, Default)]
pub(super) struct CallProgress {
    pub(super) ringing_told: bool,
    pub(super) outcome_told: bool,
    pub(super) reread: Option<Reread>,
}

/// What the SDK saw, for the report sent when a verification ends without
/// an automatic match.
#[derive(Debug, Default)]
pub(super) struct Sightings {
    /// A call's check was approved while the SDK still waited for the call.
    pub(super) automatic: bool,
    /// A matching call was seen after the fall-back to manual entry.
    pub(super) late: bool,
    /// The device could not read numbers at some point.
    pub(super) unreadable: bool,
    /// A code was typed while the SDK still waited for the call.
    pub(super) typed_early: bool,
    /// The report was made.
    pub(super) reported: bool,
}

impl Sightings {
    /// What to report, if the verification ended without an automatic match.
    pub(super) fn observation(&self) -> Option<Observation> {
        if self.automatic {
            None
        } else if self.late {
            Some(Observation::CallSeenLate)
        } else if self.unreadable {
            Some(Observation::NoPermission)
        } else if self.typed_early {
            Some(Observation::UserTyped)
        } else {
            Some(Observation::CallNotSeen)
        }
    }
}
