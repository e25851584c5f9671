//! Instants on the wire (RFC 3339 UTC, `2026-11-25T22:29:39Z`) and the
//! server's clock as seen in a response.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, serialised as RFC 3339 UTC with whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub SystemTime);

impl Timestamp {
    /// Now, by the system clock.
    pub fn now() -> Self {
        Self(SystemTime::now())
    }

    /// Seconds since the Unix epoch (0 for earlier instants).
    pub fn unix_seconds(self) -> u64 {
        self.0
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    /// The instant `secs` seconds after the Unix epoch.
    pub fn from_unix_seconds(secs: u64) -> Self {
        Self(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// Parses RFC 3339 (`Z` offset, optional fraction).
    pub fn parse(text: &str) -> Option<Self> {
        humantime::parse_rfc3339(text).ok().map(Self)
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        Self(t)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_rfc3339_seconds(self.0))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text)
            .ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 UTC timestamp"))
    }
}

/// A response body together with the server's clock when it answered (the
/// HTTP `Date` header), which lets the SDK correct for a phone whose clock
/// is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dated<T> {
    /// The decoded body.
    pub value: T,
    /// The server's clock when it answered, if it said.
    pub server_date: Option<SystemTime>,
}

/// Where the SDK reads the time. Apps use [`SystemClock`]; tests supply a
/// clock that follows tokio's paused time.
pub trait Clock: Send + Sync {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
}

/// The device's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}
