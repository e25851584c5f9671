//! Prometheus metrics (`GET /metrics`, OpenMetrics text).
//!
//! `prometheus-client` is the Prometheus project's own Rust client: no
//! global registry, no protobuf, a handful of small dependencies.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

type Labels = [(&'static str, String); 1];
type Labels2 = [(&'static str, String); 2];
type Labels3 = [(&'static str, String); 3];

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    /// Verifications created, by destination `country` and `trunk`
    /// (bounded: [`crate::stats::labels`]).
    pub created: Family<Labels2, Counter>,
    /// Calls that reached the phone (`delivered`), by country and trunk.
    pub delivered: Family<Labels2, Counter>,
    /// Verifications approved, by country and trunk.
    pub approved: Family<Labels2, Counter>,
    /// Calls that failed, by reason, country and trunk.
    pub failed: Family<Labels3, Counter>,
    /// Checks by result: `approved`, or the problem type of the refusal
    /// (`wrong-code`, `expired`, …).
    pub checks: Family<Labels, Counter>,
    /// Seconds a check takes, storage included.
    pub check_seconds: Histogram,
    /// Final outcome of every call placed, by provider outcome.
    pub telephony: Family<Labels2, Counter>,
    /// Requests refused by a rate limit, by limit.
    pub rate_limited: Family<Labels, Counter>,
    /// Test-number verifications, by event (`created`, `approved`).
    pub test_numbers: Family<Labels, Counter>,
    /// Webhook deliveries.
    pub webhooks: crate::webhooks::metrics::WebhookMetrics,
    /// Calls admitted to a trunk and not yet ended, by trunk.
    pub trunk_in_flight: Family<Labels, Gauge>,
    /// Calls waiting for a trunk's limits, by trunk.
    pub trunk_queued: Family<Labels, Gauge>,
    /// Calls a trunk's limits refused (`trunk_busy`), by trunk and reason
    /// (`queue_full`, `queue_timeout`).
    pub trunk_rejected: Family<Labels2, Counter>,
    /// Trunk health: up, failures in a row, failovers, calls by outcome.
    pub trunk_health: crate::telephony::trunks::HealthMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("motp");
        let created = Family::<Labels2, Counter>::default();
        let delivered = Family::<Labels2, Counter>::default();
        let approved = Family::<Labels2, Counter>::default();
        let failed = Family::<Labels3, Counter>::default();
        let checks = Family::<Labels, Counter>::default();
        let telephony = Family::<Labels2, Counter>::default();
        let rate_limited = Family::<Labels, Counter>::default();
        let trunk_in_flight = Family::<Labels, Gauge>::default();
        let trunk_queued = Family::<Labels, Gauge>::default();
        let trunk_rejected = Family::<Labels2, Counter>::default();
        registry.register(
            "trunk_calls_in_flight",
            "Calls admitted to a trunk and not yet ended",
            trunk_in_flight.clone(),
        );
        registry.register(
            "trunk_calls_queued",
            "Calls waiting for a trunk's limits",
            trunk_queued.clone(),
        );
        registry.register(
            "trunk_calls_rejected",
            "Calls refused by a trunk's limits (trunk_busy)",
            trunk_rejected.clone(),
        );
        // 100 µs … ~1.6 s.
        let check_seconds = Histogram::new(exponential_buckets(0.0001, 2.0, 15));
        registry.register(
            "verifications_created",
            "Verifications created, by destination country and trunk",
            created.clone(),
        );
        registry.register(
            "verifications_delivered",
            "Calls that reached the phone, by destination country and trunk",
            delivered.clone(),
        );
        registry.register(
            "verifications_approved",
            "Verifications approved, by destination country and trunk",
            approved.clone(),
        );
        registry.register(
            "verifications_failed",
            "Calls that failed, by reason, destination country and trunk",
            failed.clone(),
        );
        registry.register("checks", "Checks, by result", checks.clone());
        registry.register(
            "check_duration_seconds",
            "Time to answer a check",
            check_seconds.clone(),
        );
        registry.register(
            "telephony_calls",
            "Calls placed, by provider and outcome",
            telephony.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused by a rate limit",
            rate_limited.clone(),
        );
        let test_numbers = Family::<Labels, Counter>::default();
        registry.register(
            "test_numbers",
            "Verifications of test numbers (no call, fixed code), by event",
            test_numbers.clone(),
        );
        let webhooks = crate::webhooks::metrics::WebhookMetrics::register(&mut registry);
        let trunk_health = crate::telephony::trunks::HealthMetrics::register(&mut registry);
        Self {
            trunk_health,
            webhooks,
            registry,
            test_numbers,
            created,
            delivered,
            approved,
            failed,
            checks,
            check_seconds,
            telephony,
            rate_limited,
            trunk_in_flight,
            trunk_queued,
            trunk_rejected,
        }
    }

    /// The gauges and counters of trunk `name`.
    pub fn trunk(&self, name: &str) -> crate::telephony::gate::TrunkMetrics {
        let trunk = [("trunk", name.to_string())];
        let rejected = |reason: &str| {
            self.trunk_rejected
                .get_or_create(&[("trunk", name.to_string()), ("reason", reason.to_string())])
                .clone()
        };
        crate::telephony::gate::TrunkMetrics {
            in_flight: self.trunk_in_flight.get_or_create(&trunk).clone(),
            queued: self.trunk_queued.get_or_create(&trunk).clone(),
            rejected_queue_full: rejected("queue_full"),
            rejected_deadline: rejected("queue_timeout"),
        }
    }

    /// Counts a call of `e164` that failed with `reason`.
    pub fn call_failed(&self, reason: &str, e164: &str, config: &crate::config::Config) {
        let [country, trunk] = crate::stats::labels::destination(e164, config);
        self.failed
            .get_or_create(&[("reason", reason.to_string()), country, trunk])
            .inc();
    }

    /// Counts one check with `result`.
    pub fn check(&self, result: &'static str) {
        self.checks
            .get_or_create(&[("result", result.into())])
            .inc();
    }

    /// Counts a call outcome of `provider`.
    pub fn call_outcome(&self, provider: &'static str, outcome: &str) {
        self.telephony
            .get_or_create(&[("provider", provider.into()), ("outcome", outcome.into())])
            .inc();
    }

    /// Counts a test-number `event` (`created`, `approved`).
    pub fn test_number(&self, event: &'static str) {
        self.test_numbers
            .get_or_create(&[("event", event.into())])
            .inc();
    }

    /// Counts a refusal by `limit`.
    pub fn limited(&self, limit: &'static str) {
        self.rate_limited
            .get_or_create(&[("limit", limit.into())])
            .inc();
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
