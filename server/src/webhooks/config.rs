//! `[webhooks]`: how this instance delivers webhooks.

use serde::{Deserialize, Serialize};

/// `[webhooks]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Whether this instance delivers webhooks. Several instances on one
    /// PostgreSQL database may all deliver: each claims its own deliveries.
    /// Events are recorded either way. Default `true`.
    pub deliver: bool,
    /// Most deliveries in flight at once (1–1024). Default 32.
    pub max_in_flight: usize,
    /// Seconds one attempt may take, connecting included (1–60). A slower
    /// receiver counts as failed and is retried. Default 10.
    pub timeout_secs: u64,
    /// Delay before the first retry, in milliseconds (at least 10). Each
    /// further retry doubles it; the actual delay is drawn uniformly between
    /// half and all of it (jitter). Default 5000.
    pub retry_initial_ms: u64,
    /// Longest delay between two attempts, in seconds. Default 3600.
    pub retry_max_secs: u64,
    /// A delivery is given up (listed by `motp webhooks failures`, and
    /// replayable) when its next attempt would come later than this many
    /// seconds after its first failure. Default 86400 (a day).
    pub retry_horizon_secs: u64,
    /// How often an idle dispatcher looks for new events, in milliseconds
    /// (10–10000). Bounds the delay of an event under light load.
    /// Default 100.
    pub poll_ms: u64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            deliver: true,
            max_in_flight: 32,
            timeout_secs: 10,
            retry_initial_ms: 5000,
            retry_max_secs: 3600,
            retry_horizon_secs: 86_400,
            poll_ms: 100,
        }
    }
}

impl WebhooksConfig {
    /// What serde cannot check.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=1024).contains(&self.max_in_flight) {
            return Err("webhooks.max_in_flight must be 1 to 1024".into());
        }
        if !(1..=60).contains(&self.timeout_secs) {
            return Err("webhooks.timeout_secs must be 1 to 60".into());
        }
        if self.retry_initial_ms < 10 {
            return Err("webhooks.retry_initial_ms must be at least 10".into());
        }
        if self.retry_max_secs.saturating_mul(1000) < self.retry_initial_ms {
            return Err("webhooks.retry_max_secs must be at least retry_initial_ms".into());
        }
        if self.retry_horizon_secs == 0 {
            return Err("webhooks.retry_horizon_secs must be at least 1".into());
        }
        if !(10..=10_000).contains(&self.poll_ms) {
            return Err("webhooks.poll_ms must be 10 to 10000".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_nonsense_is_named() {
        assert!(WebhooksConfig::default().check().is_ok());
        let bad = WebhooksConfig {
            max_in_flight: 0,
            ..Default::default()
        };
        assert!(bad.check().unwrap_err().contains("max_in_flight"));
        let bad = WebhooksConfig {
            retry_initial_ms: 10_000,
            retry_max_secs: 1,
            ..Default::default()
        };
        assert!(bad.check().unwrap_err().contains("retry_max_secs"));
    }
}
