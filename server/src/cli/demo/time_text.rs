//! Times as the demo writes them: durations in milliseconds for the
//! timeline and the run figures, instants in RFC 3339 for token claims.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds with one decimal under 10 ms, whole above (`3.2`, `1004`).
pub fn format_ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

/// Seconds since the Unix epoch in RFC 3339 UTC (`2027-01-15T08:00:00Z`);
/// `?` for an instant before the epoch or beyond the platform's clock.
pub fn rfc3339(epoch_secs: i64) -> String {
    u64::try_from(epoch_secs)
        .ok()
        .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
        .map_or_else(
            || "?".into(),
            |t: SystemTime| humantime::format_rfc3339_seconds(t).to_string(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_are_readable() {
        assert_eq!(format_ms(Duration::from_micros(3_240)), "3.2");
        assert_eq!(format_ms(Duration::from_micros(1_004_400)), "1004");
    }

    #[test]
    fn epoch_seconds_read_as_rfc3339() {
        assert_eq!(rfc3339(1_800_000_000), "2027-01-15T08:00:00Z");
        assert_eq!(rfc3339(-1), "?");
    }
}
