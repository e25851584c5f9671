//! In-memory rate limits (per client IP, per app) and the resend cooldown.
//!
//! The per-IP and per-app limits are burst guards and live in each
//! instance's memory; the limits that protect a *number* (hourly and daily
//! caps) are counted in the database instead, so they hold across
//! instances and restarts.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Entries kept before stale ones are swept.
const SWEEP_AT: usize = 50_000;

/// A keyed GCRA (generic cell rate algorithm) limiter: `per_minute`
/// requests per minute on average, with bursts of up to `burst` + 1.
pub struct RateLimiter<K> {
    interval_ms: i64,
    tolerance_ms: i64,
    state: Mutex<HashMap<K, i64>>,
}

impl<K: Eq + Hash> RateLimiter<K> {
    /// A limiter allowing `per_minute` on average and `burst` extra at once.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let interval_ms = (60_000 / i64::from(per_minute.max(1))).max(1);
        Self {
            interval_ms,
            tolerance_ms: interval_ms * i64::from(burst),
            state: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request for `key` at `now_ms`: `Ok` or `Err(ms to wait)`.
    pub fn check(&self, key: K, now_ms: i64) -> Result<(), i64> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.len() >= SWEEP_AT {
            state.retain(|_, tat| *tat > now_ms);
        }
        let tat = state.get(&key).copied().unwrap_or(now_ms).max(now_ms);
        let allow_at = tat - self.tolerance_ms;
        if now_ms < allow_at {
            return Err(allow_at - now_ms);
        }
        state.insert(key, tat + self.interval_ms);
        Ok(())
    }
}

/// The cooldown before resend number `resends + 1`: `base` doubled per
/// resend already made, capped at `max` (all in seconds).
pub fn resend_cooldown_secs(base: u64, max: u64, resends: u32) -> u64 {
    base.saturating_mul(1u64 << resends.min(32)).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady_rate() {
        let limiter = RateLimiter::new(60, 2); // 1 per second, 3 at once
        let t = 1_000_000;
        for _ in 0..3 {
            assert!(limiter.check("a", t).is_ok());
        }
        let wait = limiter.check("a", t).unwrap_err();
        assert_eq!(wait, 1_000);
        assert!(limiter.check("b", t).is_ok(), "keys are independent");
        assert!(limiter.check("a", t + 999).is_err());
        assert!(limiter.check("a", t + 1_000).is_ok());
        assert!(limiter.check("a", t + 1_000).is_err());
    }

    #[test]
    fn cooldown_doubles_up_to_the_cap() {
        let secs: Vec<u64> = (0..7).map(|n| resend_cooldown_secs(30, 300, n)).collect();
        assert_eq!(secs, [30, 60, 120, 240, 300, 300, 300]);
        assert_eq!(resend_cooldown_secs(30, 300, u32::MAX), 300);
    }
}
