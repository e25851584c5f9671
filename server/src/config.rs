//! `motp.toml`: the server's configuration, with environment overrides.
//!
//! Every field has a default except the caller ranges. Any field can be
//! overridden by an environment variable named `MOTP_` + the section and
//! field in capitals joined by a double underscore, for example
//! `MOTP_DATABASE__URL=postgres://…` or `MOTP_CODES__TTL_SECS=120`.
//! Lists (caller ranges, allowed countries) come from the file, or from an
//! environment value written as a TOML array
//! (`MOTP_LIMITS__ALLOWED_COUNTRIES='["GB","FR"]'`).
//!
//! These doc comments are the configuration reference.

use std::net::SocketAddr;
use std::path::Path;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// HTTP listener and request handling.
    pub server: ServerConfig,
    /// Where verifications, keys and call records are stored.
    pub database: DatabaseConfig,
    /// The caller ranges and the life of a code.
    pub codes: CodesConfig,
    /// Abuse controls: rate limits, the daily cap, the destination allow-list.
    pub limits: LimitsConfig,
    /// The signed tokens handed out on approval.
    pub tokens: TokensConfig,
    /// Server secrets. Leave empty to have them generated and kept in the
    /// database (fine for development; in production set them here or in
    /// the environment so a database leak does not leak them too).
    pub secrets: SecretsConfig,
    /// How calls are placed.
    pub telephony: TelephonyConfig,
    /// Test numbers with a fixed code (app review, CI); none by default.
    pub test_numbers: crate::test_numbers::TestNumbersConfig,
    /// Logging.
    pub log: LogConfig,
    /// Signed webhooks: how this instance delivers them.
    pub webhooks: crate::webhooks::config::WebhooksConfig,
}

/// `[server]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port to listen on. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Largest accepted request body in bytes; larger bodies get 413.
    /// Default 4096 (every mOTP request is far smaller).
    pub body_limit_bytes: usize,
    /// Header carrying the client's address when the server sits behind a
    /// reverse proxy, e.g. `X-Forwarded-For` (the rightmost entry is used,
    /// the one your proxy appended). Unset: the TCP peer address is the
    /// client. Only set it when a proxy you run always sets this header.
    pub client_ip_header: Option<String>,
    /// Milliseconds a client has to send a request head (from connecting,
    /// or from its first byte after an idle spell); slower connections are
    /// closed. Default 10000.
    pub header_read_timeout_ms: u64,
    /// Milliseconds a kept-alive connection may stay idle between requests
    /// before it is closed. Keep it above the idle timeout of a load
    /// balancer in front (60 s on many). Default 75000.
    pub keep_alive_idle_ms: u64,
    /// Most client connections open at once; further ones wait in the
    /// kernel's backlog until one closes. Needs as many file descriptors
    /// (`ulimit -n`); the server warns at start when the limit is lower.
    /// Default 4096.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            body_limit_bytes: 4096,
            client_ip_header: None,
            header_read_timeout_ms: 10_000,
            keep_alive_idle_ms: 75_000,
            max_connections: 4096,
        }
    }
}

/// `[database]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://path/to/motp.db` (created if missing; default
    /// `sqlite://motp.db`) or `postgres://user:pass@host/db` when several
    /// server instances share the load.
    pub url: String,
    /// SQLite only: `normal` (default) or `full`. In WAL mode both keep
    /// every acknowledged write when the *process* dies (the commit is in the
    /// WAL file before the response is sent); `full` also keeps the last
    /// commits across a power loss or OS crash, at the price of an fsync per
    /// commit.
    pub sqlite_synchronous: SqliteSynchronousConfig,
    /// Most connections kept open (PostgreSQL; SQLite readers). Default 8.
    pub max_connections: u32,
    /// Longest wait, in ms, for a database connection: PostgreSQL's pool
    /// (connecting included), SQLite's writer or a reader. When the
    /// database cannot be reached, requests fail (503) after about this
    /// long. Default 500.
    pub acquire_timeout_ms: u64,
    /// Longest time, in ms, a request's database work may take once it has
    /// a connection: PostgreSQL's `statement_timeout` and SQLite's busy
    /// timeout (waiting on another process's lock). A request that needs the
    /// database answers 503 with `Retry-After` at the latest after
    /// `acquire_timeout_ms` + `statement_timeout_ms`. Default 500.
    pub statement_timeout_ms: u64,
}

impl DatabaseConfig {
    /// The longest a request may spend on the database before it answers
    /// 503: a connection, then the statements.
    pub fn request_deadline(&self) -> std::time::Duration {
        std::time::Duration::from_millis(
            self.acquire_timeout_ms
                .saturating_add(self.statement_timeout_ms),
        )
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://motp.db".into(),
            sqlite_synchronous: SqliteSynchronousConfig::Normal,
            max_connections: 8,
            acquire_timeout_ms: 500,
            statement_timeout_ms: 500,
        }
    }
}

/// SQLite's `synchronous` pragma (WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSynchronousConfig {
    /// Durable across process kills; an OS crash may lose the last commits.
    Normal,
    /// Durable across power loss too (fsync per commit).
    Full,
}

/// One caller range: calls come from `prefix` followed by `code_length`
/// digits, and those digits are the code. The operator must own (or be
/// allowed to present) every number of the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallerRange {
    /// E.164 prefix with `+`, e.g. `+442079460`.
    pub prefix: String,
    /// How many code digits follow the prefix (1–12). The range holds
    /// 10^code_length codes; the server warns under 10^6.
    pub code_length: u8,
}

impl CallerRange {
    /// How many codes the range holds (10^code_length).
    pub fn size(&self) -> u64 {
        10u64.saturating_pow(u32::from(self.code_length))
    }

    /// The prefix digits without `+`.
    pub fn prefix_digits(&self) -> &str {
        self.prefix.strip_prefix('+').unwrap_or(&self.prefix)
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        let digits = self.prefix_digits();
        let ok_prefix = self.prefix.starts_with('+')
            && !digits.is_empty()
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit());
        if !ok_prefix {
            return Err(format!(
                "caller range {:?}: prefix must be + and digits",
                self.prefix
            ));
        }
        if !(1..=12).contains(&self.code_length)
            || digits.len() + usize::from(self.code_length) > 15
        {
            return Err(format!(
                "caller range {}: code_length must be 1..=12 and the whole number at most 15 digits",
                self.prefix
            ));
        }
        // The SDK parses the same prefix: refuse what it would refuse.
        motp_core::CallerPattern::new(&self.prefix, self.code_length)
            .map_err(|e| format!("caller range {}: {e}", self.prefix))?;
        Ok(())
    }
}

/// `[codes]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodesConfig {
    /// The caller ranges (`[[codes.ranges]]`). Required: at least one.
    /// Codes are drawn uniformly over the union of all ranges.
    pub ranges: Vec<CallerRange>,
    /// Seconds a code stays valid. A resend restarts it. Default 300.
    pub ttl_secs: u64,
    /// Checks allowed per code; the last wrong one spends the verification
    /// (410). A resend draws a new code with a fresh budget. Default 5.
    pub max_attempts: u32,
    /// Seconds before the first resend is allowed (`resend_after`). Each
    /// further resend of the same verification doubles it. Default 30.
    pub resend_cooldown_secs: u64,
    /// The doubling cooldown never exceeds this many seconds. Default 300.
    pub resend_cooldown_max_secs: u64,
    /// A verification is deleted this many seconds after its code expired
    /// (a background purge, every minute); until then it can still be read.
    /// At least 60. Default 86400 (a day).
    pub keep_expired_secs: u64,
}

impl Default for CodesConfig {
    fn default() -> Self {
        Self {
            ranges: Vec::new(),
            ttl_secs: 300,
            max_attempts: 5,
            resend_cooldown_secs: 30,
            resend_cooldown_max_secs: 300,
            keep_expired_secs: 86_400,
        }
    }
}

/// `[limits]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Most calls (creates and resends) to one destination number in any
    /// 24 hours, counted in the database so it holds across instances.
    /// Default 10.
    pub daily_cap_per_destination: u32,
    /// Most calls to one destination number in any hour (database).
    /// Default 5.
    pub hourly_cap_per_destination: u32,
    /// Requests per minute one client IP may make to `/v1` (in memory, per
    /// instance). Default 120.
    pub per_ip_per_minute: u32,
    /// Burst allowance on top of the per-IP rate. Default 30.
    pub per_ip_burst: u32,
    /// Calls (creates and resends) per minute one app may start (in memory,
    /// per instance). Default 300.
    pub per_app_per_minute: u32,
    /// Burst allowance on top of the per-app rate. Default 60.
    pub per_app_burst: u32,
    /// ISO 3166 alpha-2 countries that may be called, e.g. `["GB", "IE"]`.
    /// Empty (the default) allows every country, which the server warns
    /// about: an allow-list is the main defence against toll fraud.
    pub allowed_countries: Vec<String>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            daily_cap_per_destination: 10,
            hourly_cap_per_destination: 5,
            per_ip_per_minute: 120,
            per_ip_burst: 30,
            per_app_per_minute: 300,
            per_app_burst: 60,
            allowed_countries: Vec::new(),
        }
    }
}

/// `[tokens]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokensConfig {
    /// Seconds a token stays valid after approval. Default 600.
    pub ttl_secs: u64,
    /// The `iss` claim, usually the server's public URL. Default `motp`.
    pub issuer: String,
}

impl Default for TokensConfig {
    fn default() -> Self {
        Self {
            ttl_secs: 600,
            issuer: "motp".into(),
        }
    }
}

/// `[secrets]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    /// Key of the HMAC-SHA256 under which codes are stored: 32 bytes,
    /// base64. Unset: generated once and kept in the database.
    pub code_hmac_key: Option<String>,
    /// Ed25519 private key (32-byte seed, base64) that signs tokens. Unset:
    /// generated once and kept in the database.
    pub token_signing_key: Option<String>,
}

/// `[telephony]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelephonyConfig {
    /// `log` (development: logs a masked line, reports the call delivered)
    /// or `sip` (a real flash call through a SIP trunk; see `[telephony.sip]`).
    pub provider: ProviderKind,
    /// Seconds the phone may ring (from the first 180/183) before the call
    /// is canceled. Default 5. The one ring time: the SIP ring timer and
    /// the server's give-up deadline both use it (or `sip.ring_for_ms`,
    /// which must then agree with it to the second).
    pub ring_secs: u64,
    /// Seconds to wait for the network to report ringing. Default 20.
    pub answer_timeout_secs: u64,
    /// Development only. When `true`, and only with the `log` provider and a
    /// loopback `listen` address, `GET /v1/dev/calls/{id}` (secret key)
    /// returns the calling number of the last call placed for a
    /// verification, so tests and demos can play the phone. The server
    /// refuses to start otherwise. Default `false`.
    pub dev_expose_calls: bool,
    /// `[telephony.sip]`: the SIP trunk, used when `provider = "sip"`; it
    /// is the trunk named `default` (unless it sets another `name`), and
    /// the first one routes are tried in.
    pub sip: Option<crate::telephony::sip::SipConfig>,
    /// `[[telephony.trunks]]`: more SIP trunks (each a `[telephony.sip]`
    /// with its own `name`, proxy, credentials, `ranges`, limits and
    /// routes `countries` / `prefixes`), after `[telephony.sip]` in order.
    /// See [`crate::telephony::trunks`].
    pub trunks: Vec<crate::telephony::sip::SipConfig>,
    /// Seconds a shutdown (SIGTERM/SIGINT) waits for the calls in flight
    /// to be ended on the phone (CANCEL/BYE) and their outcomes recorded,
    /// 1–60. Calls still unsettled then are recorded `failed`, reason
    /// `interrupted`. Default 5.
    pub shutdown_secs: u64,
}

impl TelephonyConfig {
    /// Every SIP trunk in routing order: `[telephony.sip]`, then
    /// `[[telephony.trunks]]`.
    pub fn sip_trunks(&self) -> impl Iterator<Item = &crate::telephony::sip::SipConfig> {
        self.sip.iter().chain(self.trunks.iter())
    }

    /// The one effective ring time: `sip.ring_for_ms` when set (it agrees
    /// with `ring_secs` to the second, see [`Config::validate`]), else
    /// `ring_secs`.
    pub fn ring_time(&self) -> std::time::Duration {
        match self.sip_trunks().find_map(|s| s.ring_for_ms) {
            Some(ms) => std::time::Duration::from_millis(ms),
            None => std::time::Duration::from_secs(self.ring_secs),
        }
    }
}

impl Default for TelephonyConfig {
    fn default() -> Self {
        Self {
            provider: ProviderKind::Log,
            ring_secs: 5,
            answer_timeout_secs: 20,
            dev_expose_calls: false,
            sip: None,
            trunks: Vec::new(),
            shutdown_secs: 5,
        }
    }
}

/// Which telephony provider places calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Logs a masked line; no call is placed.
    Log,
    /// SIP flash calls.
    Sip,
}

/// `[log]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` (default) or `json` (one JSON object per line).
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `motp_server=debug`. The
    /// `RUST_LOG` variable wins when set. Default `info`.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            filter: "info".into(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The sections an environment variable may address; other `MOTP_…`
/// variables (test settings, the config path) are not configuration.
const SECTIONS: &[&str] = &[
    "server",
    "database",
    "codes",
    "limits",
    "tokens",
    "secrets",
    "telephony",
    "test_numbers",
    "log",
    "webhooks",
];

/// The section an environment key addresses, before or after figment
/// turned `__` into `.`.
fn section_of(key: &str) -> &str {
    key.split("__")
        .next()
        .unwrap_or("")
        .split('.')
        .next()
        .unwrap_or("")
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Reads `path` (when given) over the defaults, then `MOTP_…`
    /// environment overrides, then validates.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let config = Self::load_unvalidated(path)?;
        config.validate()?;
        Ok(config)
    }

    /// [`Config::load`] without [`Config::validate`], for tools that only
    /// need part of it (`motp keys create` needs the database alone).
    pub fn load_unvalidated(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = path {
            if !path.exists() {
                return Err(ConfigError(format!("{} does not exist", path.display())));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed("MOTP_").split("__").filter(|key| {
            // Keys are still upper case here; figment lowercases later.
            let section = section_of(key.as_str());
            SECTIONS.iter().any(|s| s.eq_ignore_ascii_case(section))
        }));
        figment.extract().map_err(|e| ConfigError(e.to_string()))
    }

    /// Checks what serde cannot: ranges, limits, the dev flag's conditions.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |m: String| Err(ConfigError(m));
        if self.codes.ranges.is_empty() {
            return fail("at least one [[codes.ranges]] entry is required".into());
        }
        for range in &self.codes.ranges {
            range.check().map_err(ConfigError)?;
        }
        if self.codes.max_attempts == 0 || self.codes.ttl_secs == 0 {
            return fail("codes.max_attempts and codes.ttl_secs must be at least 1".into());
        }
        if self.codes.keep_expired_secs < 60 {
            return fail("codes.keep_expired_secs must be at least 60".into());
        }
        if self.codes.resend_cooldown_max_secs < self.codes.resend_cooldown_secs {
            return fail("codes.resend_cooldown_max_secs < codes.resend_cooldown_secs".into());
        }
        if self.limits.daily_cap_per_destination == 0
            || self.limits.hourly_cap_per_destination == 0
            || self.limits.per_ip_per_minute == 0
            || self.limits.per_app_per_minute == 0
        {
            return fail("limits must be at least 1".into());
        }
        for country in &self.limits.allowed_countries {
            if crate::phone::region_id(country).is_none() {
                return fail(format!(
                    "limits.allowed_countries: unknown country {country:?}"
                ));
            }
        }
        let db = &self.database;
        if !(10..=60_000).contains(&db.acquire_timeout_ms)
            || !(10..=600_000).contains(&db.statement_timeout_ms)
        {
            return fail(
                "database.acquire_timeout_ms must be 10..=60000 and \
                 database.statement_timeout_ms 10..=600000"
                    .into(),
            );
        }
        let server = &self.server;
        if server.header_read_timeout_ms < 100
            || server.keep_alive_idle_ms < 100
            || server.max_connections == 0
        {
            return fail(
                "server.header_read_timeout_ms and server.keep_alive_idle_ms must be at least \
                 100, server.max_connections at least 1"
                    .into(),
            );
        }
        if self.server.body_limit_bytes < 256 {
            return fail("server.body_limit_bytes must be at least 256".into());
        }
        crate::test_numbers::TestNumbers::new(
            &self.test_numbers,
            &self.codes.ranges,
            &self.limits.allowed_countries,
        )
        .map_err(ConfigError)?;
        if self.telephony.dev_expose_calls {
            if self.telephony.provider != ProviderKind::Log {
                return fail("telephony.dev_expose_calls needs provider = \"log\"".into());
            }
            if !self.server.listen.ip().is_loopback() {
                return fail("telephony.dev_expose_calls needs a loopback server.listen".into());
            }
        }
        for sip in self.telephony.sip_trunks() {
            let Some(ms) = sip.ring_for_ms else { continue };
            if ms.div_ceil(1000) != self.telephony.ring_secs {
                return fail(format!(
                    "telephony.sip.ring_for_ms = {ms} contradicts telephony.ring_secs = {}: \
                     there is one ring time; drop ring_for_ms or set ring_secs = {}",
                    self.telephony.ring_secs,
                    ms.div_ceil(1000)
                ));
            }
            if self.telephony.ring_time() != std::time::Duration::from_millis(ms) {
                return fail(format!(
                    "trunk {:?}: ring_for_ms = {ms} differs from another trunk's: there is one \
                     ring time",
                    sip.name
                ));
            }
        }
        if !(1..=60).contains(&self.telephony.shutdown_secs) {
            return fail("telephony.shutdown_secs must be 1..=60".into());
        }
        self.webhooks.check().map_err(ConfigError)?;
        crate::telephony::trunks::validate(self).map_err(ConfigError)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_is_valid_and_spells_out_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("motp.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let example: Config = toml_from(&text);
        example.validate().unwrap();
        let defaults = Config::default();
        assert_eq!(example.codes.ttl_secs, defaults.codes.ttl_secs);
        assert_eq!(example.codes.max_attempts, defaults.codes.max_attempts);
        assert_eq!(
            example.limits.daily_cap_per_destination,
            defaults.limits.daily_cap_per_destination
        );
        assert_eq!(example.server.listen, defaults.server.listen);
        assert_eq!(example.tokens.ttl_secs, defaults.tokens.ttl_secs);
        assert_eq!(
            example.telephony.answer_timeout_secs,
            defaults.telephony.answer_timeout_secs
        );
    }

    fn toml_from(text: &str) -> Config {
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(text))
            .extract()
            .unwrap()
    }

    #[test]
    fn validation_refuses_what_cannot_work() {
        let mut c = toml_from("[codes]\nranges = [{ prefix = \"+4420794\", code_length = 6 }]");
        c.validate().unwrap();
        c.codes.ranges[0].prefix = "4420794".into();
        assert!(c.validate().is_err());
        c.codes.ranges[0].prefix = "+44020794".into();
        assert!(c.validate().unwrap_err().0.contains("trunk"));
        c.codes.ranges[0].prefix = "+4420794".into();
        c.codes.ranges[0].code_length = 13;
        assert!(c.validate().is_err());
        c.codes.ranges[0].code_length = 6;
        c.codes.keep_expired_secs = 59;
        assert!(c.validate().unwrap_err().0.contains("keep_expired_secs"));
        c.codes.keep_expired_secs = 60;
        c.validate().unwrap();
        c.limits.allowed_countries = vec!["XX".into()];
        assert!(c.validate().is_err());
        c.limits.allowed_countries = vec![];
        c.telephony.provider = ProviderKind::Sip;
        assert!(c.validate().unwrap_err().0.contains("[telephony.sip]"));
        c.telephony.provider = ProviderKind::Log;
        // Issue 18: a ring time of 1 s beside 30 s is refused, not guessed.
        c.telephony.ring_secs = 1;
        c.telephony.sip = Some(crate::telephony::sip::SipConfig {
            ring_for_ms: Some(30_000),
            ..crate::telephony::sip::SipConfig::for_proxy("a")
        });
        assert!(c.validate().unwrap_err().0.contains("one ring time"));
        c.telephony.ring_secs = 30;
        c.validate().unwrap();
        assert_eq!(c.telephony.ring_time(), std::time::Duration::from_secs(30));
        c.telephony.shutdown_secs = 0;
        assert!(c.validate().is_err());
        assert_eq!(section_of("SERVER__LISTEN"), "SERVER");
        assert_eq!(section_of("server.listen"), "server");
    }
}
