//! Several trunks: which trunk calls a destination, which takes over when
//! a trunk fails a call, and how healthy each trunk is.
//!
//! ```toml
//! [telephony.sip]                 # the trunk named "default"
//! proxy = "sip.a.example"
//! countries = ["GB"]
//!
//! [[telephony.trunks]]
//! name = "backup"
//! proxy = "sip.b.example"
//! bind = "0.0.0.0:5062"           # every trunk has its own socket
//! ranges = [{ prefix = "+3319900", code_length = 6 }]
//! # no countries, no prefixes: a catch-all
//! ```
//!
//! # Routing
//!
//! The trunks of a destination are, in configuration order
//! (`[telephony.sip]` first, then `[[telephony.trunks]]`), those listing its
//! country in `countries` or a prefix of it in `prefixes`, then the
//! catch-alls (neither set). The first is tried first; a trunk marked down
//! (three trunk failures in a row) goes to the end of the list until it
//! succeeds again. The start refuses a configuration that leaves a country
//! of `limits.allowed_countries` without a trunk (or, with no allow-list,
//! has no catch-all), or repeats a name.
//!
//! # Failover
//!
//! A call that the trunk failed ([`super::CallProgress::TrunkFailed`]: 5xx,
//! 403, 408, no answer at all, unreachable, `trunk_busy`) is placed again
//! through the next trunk of the destination, with a new code drawn from
//! that trunk's own ranges: the verification's caller prefix and code
//! change the way a resend changes them (the client sees the new prefix in
//! `GET` and in a `caller` event) but it counts as no resend. The failed
//! call is over on the phone before (it never rang there). A phone's own
//! answer (busy, declined, not found, 480) is final.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::Telephony;
use crate::codes::CodeBook;
use crate::config::{Config, ProviderKind};

/// Trunk failures in a row after which a trunk counts as down.
pub const DOWN_AFTER: u32 = 3;

type Labels = [(&'static str, String); 1];
type Labels2 = [(&'static str, String); 2];

/// Per-trunk health metrics.
#[derive(Debug, Clone, Default)]
pub struct HealthMetrics {
    /// 1 while the trunk is up, 0 after [`DOWN_AFTER`] trunk failures in a row.
    pub up: Family<Labels, Gauge>,
    /// Trunk failures in a row (0 after any call the trunk carried).
    pub consecutive_failures: Family<Labels, Gauge>,
    /// Calls handed on to the next trunk, by the trunk that failed them.
    pub failovers: Family<Labels, Counter>,
    /// Calls by trunk and result: `reached_phone` (it rang or was
    /// answered), `phone_refused` (busy, declined, …: the trunk works),
    /// `trunk_failed`.
    pub calls: Family<Labels2, Counter>,
}

impl HealthMetrics {
    /// Registers the metrics in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "trunk_up",
            "1 while the trunk is up, 0 after 3 trunk failures in a row",
            metrics.up.clone(),
        );
        registry.register(
            "trunk_consecutive_failures",
            "Trunk failures (5xx, 403, 408, silence, unreachable, trunk_busy) in a row",
            metrics.consecutive_failures.clone(),
        );
        registry.register(
            "trunk_failovers",
            "Calls handed on to the next trunk, by the trunk that failed them",
            metrics.failovers.clone(),
        );
        registry.register(
            "trunk_calls",
            "Calls by trunk and result (reached_phone, phone_refused, trunk_failed)",
            metrics.calls.clone(),
        );
        metrics
    }
}

/// How a call through a trunk ended, for its health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrunkOutcome {
    /// The call reached the phone.
    Delivered,
    /// The phone's answer failed it (busy, declined, …): the trunk works.
    Failed,
    /// The trunk failed it.
    TrunkFailed,
}

/// One trunk: its provider, caller ranges, routes and health.
pub struct Trunk {
    /// The trunk's stable name (`trunk` label, stored on the verification).
    pub name: String,
    /// Places the calls.
    pub provider: Arc<dyn Telephony>,
    /// The trunk's caller ranges (and the server's code key).
    pub codes: CodeBook,
    countries: Vec<String>,
    prefixes: Vec<String>,
    consecutive: AtomicU32,
    up: Gauge,
    failures: Gauge,
    failovers: Counter,
    metrics: HealthMetrics,
}

impl Trunk {
    /// A trunk serving `countries` (ISO) and `prefixes` (E.164 with `+`);
    /// a catch-all when both are empty.
    pub fn new(
        name: &str,
        provider: Arc<dyn Telephony>,
        codes: CodeBook,
        countries: &[String],
        prefixes: &[String],
        metrics: &HealthMetrics,
    ) -> Self {
        let label = [("trunk", name.to_string())];
        let up = metrics.up.get_or_create(&label).clone();
        up.set(1);
        let failures = metrics.consecutive_failures.get_or_create(&label).clone();
        failures.set(0);
        Self {
            name: name.to_string(),
            provider,
            codes,
            countries: countries.iter().map(|c| c.to_ascii_uppercase()).collect(),
            prefixes: prefixes
                .iter()
                .map(|p| p.trim_start_matches('+').to_string())
                .collect(),
            consecutive: AtomicU32::new(0),
            up,
            failures,
            failovers: metrics.failovers.get_or_create(&label).clone(),
            metrics: metrics.clone(),
        }
    }

    fn catch_all(&self) -> bool {
        self.countries.is_empty() && self.prefixes.is_empty()
    }

    fn serves(&self, digits: &str, region: Option<&str>) -> bool {
        self.prefixes.iter().any(|p| digits.starts_with(p.as_str()))
            || region.is_some_and(|r| self.countries.iter().any(|c| c == r))
    }

    /// Whether the trunk failed its last [`DOWN_AFTER`] calls.
    pub fn is_down(&self) -> bool {
        self.consecutive.load(Ordering::Relaxed) >= DOWN_AFTER
    }

    /// Counts the outcome of a call through this trunk.
    pub fn record(&self, outcome: TrunkOutcome) {
        let label = match outcome {
            TrunkOutcome::Delivered => "reached_phone",
            TrunkOutcome::Failed => "phone_refused",
            TrunkOutcome::TrunkFailed => "trunk_failed",
        };
        self.metrics
            .calls
            .get_or_create(&[("trunk", self.name.clone()), ("result", label.into())])
            .inc();
        let failures = if outcome == TrunkOutcome::TrunkFailed {
            self.consecutive.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.consecutive.store(0, Ordering::Relaxed);
            0
        };
        self.failures.set(i64::from(failures));
        self.up.set(i64::from(failures < DOWN_AFTER));
    }

    /// Counts a call handed on from this trunk to the next.
    pub fn failed_over(&self) {
        self.failovers.inc();
    }
}

/// Every trunk, in configuration order.
pub struct Trunks {
    trunks: Vec<Trunk>,
}

impl Trunks {
    /// `trunks` must not be empty.
    pub fn new(trunks: Vec<Trunk>) -> Self {
        assert!(!trunks.is_empty(), "at least one trunk");
        Self { trunks }
    }

    /// Trunk number `index` (from [`Trunks::route`]).
    pub fn get(&self, index: usize) -> &Trunk {
        &self.trunks[index]
    }

    /// The trunks for `e164`, in the order to try them: those that list
    /// its country or a prefix of it, then the catch-alls; trunks that are
    /// down after the others. Never empty: with no route at all (which
    /// validation prevents) the first trunk.
    pub fn route(&self, e164: &str) -> Vec<usize> {
        let digits = e164.trim_start_matches('+');
        let region = crate::phone::region_of(e164);
        let mut route: Vec<usize> = (0..self.trunks.len())
            .filter(|&i| self.trunks[i].serves(digits, region.as_deref()))
            .chain((0..self.trunks.len()).filter(|&i| self.trunks[i].catch_all()))
            .collect();
        if route.is_empty() {
            route.push(0);
        }
        route.sort_by_key(|&i| self.trunks[i].is_down());
        route
    }

    /// The longest settle time of any trunk's provider.
    pub fn settle_time(&self) -> Duration {
        self.trunks
            .iter()
            .map(|t| t.provider.settle_time())
            .max()
            .unwrap_or_default()
    }
}

/// Checks the trunks of `config` (start-up validation).
pub fn validate(config: &Config) -> Result<(), String> {
    let telephony = &config.telephony;
    let trunks: Vec<_> = telephony.sip_trunks().collect();
    if telephony.provider != ProviderKind::Sip {
        if !telephony.trunks.is_empty() {
            return Err("[[telephony.trunks]] needs provider = \"sip\"".into());
        }
        return Ok(());
    }
    if trunks.is_empty() {
        return Err(
            "provider = \"sip\" needs a [telephony.sip] section or [[telephony.trunks]]".into(),
        );
    }
    for (n, trunk) in trunks.iter().enumerate() {
        trunk
            .validate()
            .map_err(|e| format!("trunk {:?}: {}", trunk.name, e.0))?;
        if let Some(other) = trunks[..n].iter().find(|t| t.name == trunk.name) {
            return Err(format!(
                "two trunks are named {:?}: give each [[telephony.trunks]] its own name \
                 ([telephony.sip] is \"default\" unless it sets one)",
                other.name
            ));
        }
        if trunk.bind.port() != 0 && trunks[..n].iter().any(|t| t.bind == trunk.bind) {
            return Err(format!(
                "trunk {:?}: bind = \"{}\" is another trunk's socket: each trunk needs its own",
                trunk.name, trunk.bind
            ));
        }
    }
    let catch_all = trunks
        .iter()
        .any(|t| t.countries.is_empty() && t.prefixes.is_empty());
    if catch_all {
        return Ok(());
    }
    if config.limits.allowed_countries.is_empty() {
        return Err(
            "every trunk lists countries or prefixes, but limits.allowed_countries is empty \
             (every country may be called): add a catch-all trunk (no countries, no prefixes) \
             or an allow-list"
                .into(),
        );
    }
    for country in &config.limits.allowed_countries {
        let iso = country.to_ascii_uppercase();
        let code = motp_core::countries::by_iso(&iso).map(|c| c.calling_code);
        let routed = trunks.iter().any(|t| {
            t.countries.iter().any(|c| c.eq_ignore_ascii_case(&iso))
                || t.prefixes
                    .iter()
                    .any(|p| code.is_some_and(|code| code.starts_with(p.trim_start_matches('+'))))
        });
        if !routed {
            return Err(format!(
                "limits.allowed_countries has {iso} but no trunk routes it: list it in a \
                 trunk's countries, or add a catch-all trunk"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CallerRange;
    use crate::telephony::log::LogTelephony;
    use crate::telephony::sip::SipConfig;

    fn trunk(name: &str, countries: &[&str], prefixes: &[&str]) -> Trunk {
        let codes = CodeBook::new(
            vec![CallerRange {
                prefix: "+4420794".into(),
                code_length: 6,
            }],
            vec![0; 32],
        );
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Trunk::new(
            name,
            Arc::new(LogTelephony),
            codes,
            &s(countries),
            &s(prefixes),
            &HealthMetrics::default(),
        )
    }

    #[test]
    fn routes_by_prefix_and_country_then_catch_all_and_down_trunks_last() {
        let trunks = Trunks::new(vec![
            trunk("uk", &["GB"], &[]),
            trunk("fr_mobile", &[], &["+336"]),
            trunk("any", &[], &[]),
        ]);
        assert_eq!(trunks.route("+447400123456"), vec![0, 2]);
        assert_eq!(trunks.route("+33612345678"), vec![1, 2]);
        assert_eq!(trunks.route("+33123456789"), vec![2]);
        for _ in 0..DOWN_AFTER {
            trunks.get(0).record(TrunkOutcome::TrunkFailed);
        }
        assert!(trunks.get(0).is_down());
        assert_eq!(trunks.route("+447400123456"), vec![2, 0]);
        trunks.get(0).record(TrunkOutcome::Failed);
        assert!(
            !trunks.get(0).is_down(),
            "a phone's answer proves the trunk"
        );
        assert_eq!(trunks.route("+447400123456"), vec![0, 2]);
    }

    fn config(trunks: Vec<SipConfig>, allowed: &[&str]) -> Config {
        let mut c = Config::default();
        c.codes.ranges = vec![CallerRange {
            prefix: "+4420794".into(),
            code_length: 6,
        }];
        c.telephony.provider = ProviderKind::Sip;
        c.telephony.trunks = trunks;
        c.limits.allowed_countries = allowed.iter().map(|s| s.to_string()).collect();
        c
    }

    fn sip(name: &str, port: u16, countries: &[&str], prefixes: &[&str]) -> SipConfig {
        SipConfig {
            name: name.into(),
            bind: ([127, 0, 0, 1], port).into(),
            countries: countries.iter().map(|s| s.to_string()).collect(),
            prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
            ..SipConfig::for_proxy("127.0.0.1:5070")
        }
    }

    #[test]
    fn validation_refuses_what_cannot_route() {
        let ok = config(
            vec![sip("a", 5061, &["GB"], &[]), sip("b", 5062, &[], &["+33"])],
            &["GB", "FR"],
        );
        validate(&ok).unwrap();
        let cases = [
            (
                config(
                    vec![sip("a", 5061, &["GB"], &[]), sip("a", 5062, &[], &[])],
                    &[],
                ),
                "two trunks are named",
            ),
            (
                config(
                    vec![sip("a", 5061, &[], &[]), sip("b", 5061, &[], &[])],
                    &[],
                ),
                "another trunk's socket",
            ),
            (
                config(vec![sip("a", 5061, &["GB"], &[])], &["GB", "DE"]),
                "no trunk routes it",
            ),
            (
                config(vec![sip("a", 5061, &["GB"], &[])], &[]),
                "add a catch-all",
            ),
            (config(vec![sip("a", 5061, &["XX"], &[])], &[]), "unknown"),
            (config(vec![sip("a", 5061, &[], &["44"])], &[]), "prefixes"),
            (config(vec![], &[]), "needs a [telephony.sip]"),
        ];
        for (config, expected) in cases {
            let error = validate(&config).unwrap_err();
            assert!(error.contains(expected), "{error} lacks {expected}");
        }
        let mut log = config(vec![sip("a", 5061, &[], &[])], &[]);
        log.telephony.provider = ProviderKind::Log;
        assert!(validate(&log).unwrap_err().contains("needs provider"));
    }
}
