//! Correcting for a phone whose clock is wrong.

use std::time::{Duration, SystemTime};

/// How far the device clock is from the server's, measured from the `Date`
/// of a response. A phone whose clock is minutes off must not expire its
/// verification at once, nor keep it open long after the server gave up.
#[derive(Debug, Clone, Copy)]
pub(super) struct ClockSkew {
    /// Local minus server time, when the local clock is ahead.
    ahead: Duration,
    /// Server minus local time, when the local clock is behind.
    behind: Duration,
}

impl ClockSkew {
    /// `Date` has whole seconds, so it may read up to a second before the
    /// exchange began; within that, the clocks agree.
    const RESOLUTION: Duration = Duration::from_secs(1);

    pub(super) fn measure(
        sent_at: SystemTime,
        received_at: SystemTime,
        server_date: Option<SystemTime>,
    ) -> Self {
        let none = Self {
            ahead: Duration::ZERO,
            behind: Duration::ZERO,
        };
        let Some(date) = server_date else {
            return none;
        };
        let earliest = sent_at.checked_sub(Self::RESOLUTION).unwrap_or(sent_at);
        if date >= earliest && date <= received_at {
            return none;
        }
        let round_trip = received_at.duration_since(sent_at).unwrap_or_default();
        let midpoint = sent_at + round_trip / 2;
        match midpoint.duration_since(date) {
            Ok(ahead) => Self {
                ahead,
                behind: Duration::ZERO,
            },
            Err(behind) => Self {
                ahead: Duration::ZERO,
                behind: behind.duration(),
            },
        }
    }

    pub(super) fn to_local(self, server_time: SystemTime) -> SystemTime {
        let ahead = server_time.checked_add(self.ahead).unwrap_or(server_time);
        ahead.checked_sub(self.behind).unwrap_or(ahead)
    }
}
