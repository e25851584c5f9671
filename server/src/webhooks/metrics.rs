//! Delivery metrics, registered in the server's registry.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// `motp_webhook_*`
#[derive(Clone)]
pub struct WebhookMetrics {
    /// Attempts by result: `delivered`, `retry` (failed, will retry),
    /// `failed` (failed and given up).
    pub attempts: Family<[(&'static str, &'static str); 1], Counter>,
    /// Seconds from the state change (commit) to the successful delivery.
    pub delay_seconds: Histogram,
    /// Deliveries in flight now.
    pub in_flight: Gauge,
    /// Deliveries pending in the outbox (all instances), refreshed every
    /// few seconds.
    pub backlog: Gauge,
    /// Verifications marked expired by the sweeper (apps with endpoints).
    pub expired: Counter,
}

impl WebhookMetrics {
    /// Creates and registers the metrics.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            attempts: Family::default(),
            // 5 ms … ~80 min.
            delay_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 20)),
            in_flight: Gauge::default(),
            backlog: Gauge::default(),
            expired: Counter::default(),
        };
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts, by result (delivered, retry, failed)",
            metrics.attempts.clone(),
        );
        registry.register(
            "webhook_delay_seconds",
            "Seconds from a state change to its webhook's delivery",
            metrics.delay_seconds.clone(),
        );
        registry.register(
            "webhook_in_flight",
            "Webhook deliveries in flight",
            metrics.in_flight.clone(),
        );
        registry.register(
            "webhook_backlog",
            "Webhook deliveries pending in the outbox",
            metrics.backlog.clone(),
        );
        registry.register(
            "webhook_sweep_expired",
            "Verifications marked expired by the webhook expiry sweep",
            metrics.expired.clone(),
        );
        metrics
    }

    /// Counts an attempt with `result`.
    pub fn attempt(&self, result: &'static str) {
        self.attempts.get_or_create(&[("result", result)]).inc();
    }
}
