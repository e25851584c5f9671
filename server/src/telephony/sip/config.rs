//! `[telephony.sip]`: the SIP trunk (or any SIP peer) that places the calls.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How the SIP provider reaches the network. Only `proxy` is required.
///
/// ```toml
/// [telephony.sip]
/// proxy = "sip.trunk.example:5060"
/// domain = "trunk.example"
/// auth_username = "motp"
/// auth_password = "…"        # or MOTP_TELEPHONY__SIP__AUTH_PASSWORD
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipConfig {
    /// The trunk's name in logs and metrics (the `trunk` label): 1–32 of
    /// `a-z 0-9 _ -`, stable across restarts. Default `default`.
    pub name: String,
    /// The trunk or SIP peer every request is sent to, `host:port` (port
    /// 5060 when left out; an IPv6 literal goes in brackets). Resolved
    /// with the system resolver for each call (A/AAAA; no NAPTR/SRV). It
    /// is the outbound proxy for the whole call, and it must answer from
    /// the address it was sent to (symmetric signalling, RFC 3581), which
    /// nearly every trunk does: datagrams from any other address are
    /// ignored, so nobody else can inject a response.
    pub proxy: String,
    /// Local address of the trunk's one UDP socket: every call is sent
    /// from it, and the trunk's answers come back to it. Default
    /// `0.0.0.0:5060` (the route to `proxy` picks the source address put in
    /// `Via`/`Contact`); the server refuses to start when the port is
    /// taken. Port 0 takes a free port (tests). For an IPv6 `proxy`, bind
    /// `[::]:5060`.
    pub bind: SocketAddr,
    /// Host of the Request-URI and `To` (`sip:+447700900123@DOMAIN`).
    /// Default: the host of `proxy`.
    pub domain: Option<String>,
    /// Host of `From` and `P-Asserted-Identity`, i.e. the domain the trunk
    /// knows your caller numbers under. Default: `domain`.
    pub from_host: Option<String>,
    /// Display name in `From`. Default none, on purpose: some phones show
    /// a display name *instead of* the number, and the number is the code.
    pub display_name: Option<String>,
    /// `host:port` advertised in `Via` and `Contact` and put in the SDP,
    /// for a server behind NAT. Default: the socket's own address.
    pub advertised_addr: Option<String>,
    /// Digest user name, when the trunk authenticates by credentials
    /// rather than by source IP. An INVITE challenged with 401/407 is sent
    /// once more with credentials; a second challenge fails the call as
    /// `auth_failed`.
    pub auth_username: Option<String>,
    /// Digest password (set it from the environment:
    /// `MOTP_TELEPHONY__SIP__AUTH_PASSWORD`). Never serialized, and shown
    /// as `<redacted>` by `Debug`.
    #[serde(skip_serializing)]
    pub auth_password: Option<String>,
    /// The ring time in milliseconds, for finer control than
    /// `[telephony] ring_secs`, with which it must agree to the second
    /// (`ring_secs` = this rounded up; the server refuses to start
    /// otherwise). Counted from the first 180/183. Default: unset.
    pub ring_for_ms: Option<u64>,
    /// Write numbers with the leading `+` (`sip:+4420…`, the RFC 3966
    /// global form, with `;user=phone`). Some trunks want bare digits:
    /// set `false`. Default `true`.
    pub plus_in_numbers: bool,
    /// Offer a minimal audio SDP (PCMU/PCMA, no media is ever sent). Many
    /// trunks and phones refuse an INVITE without an offer. Default `true`.
    pub sdp: bool,
    /// RFC 3261 timer T1 (round-trip estimate) in milliseconds: INVITE
    /// retransmissions start at T1 and double. Default 500.
    pub t1_ms: u64,
    /// RFC 3261 timer T2 in milliseconds: the longest interval between
    /// retransmissions of a non-INVITE request (CANCEL, BYE). Default 4000.
    pub t2_ms: u64,
    /// Transaction timeout in milliseconds (timers B and F): how long a
    /// request is retransmitted without any answer. Default 64 × T1. An
    /// INVITE without any answer also gives up at the call's
    /// `answer_timeout` when that comes first.
    pub transaction_timeout_ms: Option<u64>,
    /// `User-Agent` header. Default `motp/<version>`.
    pub user_agent: String,
    /// Most call starts (INVITEs) in any one-second window, as the trunk's
    /// contract allows. 0 (the default) = unlimited.
    pub calls_per_second: u32,
    /// Most calls in flight at once on this trunk. 0 (default) = unlimited.
    pub max_concurrent_calls: u32,
    /// Calls that may wait for the trunk at once when a limit is reached;
    /// beyond it a call fails at once with reason `trunk_busy`. Default 1000.
    pub queue_size: u32,
    /// How long a call may wait for the trunk, in milliseconds; a call
    /// that could not start by then fails with reason `trunk_busy`.
    /// Default 10000.
    pub queue_timeout_ms: u64,
    /// The trunk's own caller ranges (same form as `[[codes.ranges]]`):
    /// a call through this trunk presents a number of one of them, the
    /// code drawn uniformly over them. Empty (default): `[[codes.ranges]]`.
    pub ranges: Vec<crate::config::CallerRange>,
    /// Destination countries (ISO 3166 alpha-2) this trunk serves. With
    /// `prefixes`, the trunk's routes; a trunk with neither is a catch-all.
    pub countries: Vec<String>,
    /// Destination E.164 prefixes (`+` and digits) this trunk serves.
    pub prefixes: Vec<String>,
}

impl Default for SipConfig {
    fn default() -> Self {
        Self {
            proxy: String::new(),
            bind: SocketAddr::from(([0, 0, 0, 0], 5060)),
            domain: None,
            from_host: None,
            display_name: None,
            advertised_addr: None,
            auth_username: None,
            auth_password: None,
            ring_for_ms: None,
            plus_in_numbers: true,
            sdp: true,
            t1_ms: 500,
            t2_ms: 4000,
            transaction_timeout_ms: None,
            user_agent: concat!("motp/", env!("CARGO_PKG_VERSION")).to_string(),
            name: "default".to_string(),
            calls_per_second: 0,
            max_concurrent_calls: 0,
            queue_size: 1000,
            queue_timeout_ms: 10_000,
            ranges: Vec::new(),
            countries: Vec::new(),
            prefixes: Vec::new(),
        }
    }
}

impl std::fmt::Debug for SipConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipConfig")
            .field("name", &self.name)
            .field("proxy", &self.proxy)
            .field("bind", &self.bind)
            .field("domain", &self.domain)
            .field("from_host", &self.from_host)
            .field("display_name", &self.display_name)
            .field("advertised_addr", &self.advertised_addr)
            .field("auth_username", &self.auth_username)
            .field(
                "auth_password",
                &self.auth_password.as_ref().map(|_| "<redacted>"),
            )
            .field("ring_for_ms", &self.ring_for_ms)
            .field("plus_in_numbers", &self.plus_in_numbers)
            .field("sdp", &self.sdp)
            .field("t1_ms", &self.t1_ms)
            .field("t2_ms", &self.t2_ms)
            .field("transaction_timeout_ms", &self.transaction_timeout_ms)
            .field("user_agent", &self.user_agent)
            .field("calls_per_second", &self.calls_per_second)
            .field("max_concurrent_calls", &self.max_concurrent_calls)
            .field("queue_size", &self.queue_size)
            .field("queue_timeout_ms", &self.queue_timeout_ms)
            .field("ranges", &self.ranges)
            .field("countries", &self.countries)
            .field("prefixes", &self.prefixes)
            .finish()
    }
}

/// A `[telephony.sip]` section that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("telephony trunk: {0}")]
pub struct SipConfigError(pub String);

impl SipConfig {
    /// A configuration for a peer at `proxy` (tests, the demo).
    pub fn for_proxy(proxy: impl Into<String>) -> Self {
        Self {
            proxy: proxy.into(),
            ..Self::default()
        }
    }

    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), SipConfigError> {
        let fail = |m: &str| Err(SipConfigError(m.to_string()));
        let (host, port) = split_host_port(&self.proxy)
            .ok_or_else(|| SipConfigError(format!("proxy {:?} is not host[:port]", self.proxy)))?;
        if !is_host(host) || port == 0 {
            return fail("proxy must be host[:port] with a non-zero port");
        }
        for (name, value) in [("domain", &self.domain), ("from_host", &self.from_host)] {
            if value.as_deref().is_some_and(|h| !is_host(h)) {
                return Err(SipConfigError(format!(
                    "{name} must be a host name or address"
                )));
            }
        }
        if let Some(addr) = &self.advertised_addr {
            if !split_host_port(addr).is_some_and(|(h, _)| is_host(h)) {
                return fail("advertised_addr must be host[:port]");
            }
        }
        if self
            .display_name
            .as_deref()
            .is_some_and(|d| d.chars().any(|c| c.is_control() || c == '"' || c == '\\'))
        {
            return fail("display_name must not hold quotes, backslashes or control characters");
        }
        if self.auth_username.is_some() != self.auth_password.is_some() {
            return fail("auth_username and auth_password go together");
        }
        if self.t1_ms == 0 || self.t2_ms < self.t1_ms {
            return fail("t1_ms must be at least 1 and t2_ms at least t1_ms");
        }
        if self.transaction_timeout_ms == Some(0) {
            return fail("transaction_timeout_ms must be at least 1");
        }
        if self.user_agent.chars().any(char::is_control) {
            return fail("user_agent must not hold control characters");
        }
        let name_ok = (1..=32).contains(&self.name.len())
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !name_ok {
            return fail("name must be 1-32 of a-z, 0-9, _ and -");
        }
        let limited = self.calls_per_second > 0 || self.max_concurrent_calls > 0;
        if limited && (self.queue_size == 0 || self.queue_timeout_ms == 0) {
            return fail(
                "queue_size and queue_timeout_ms must be at least 1 when calls_per_second \
                 or max_concurrent_calls is set",
            );
        }
        if self.queue_timeout_ms > 600_000 {
            return fail("queue_timeout_ms must be at most 600000 (10 minutes)");
        }
        for range in &self.ranges {
            range.check().map_err(SipConfigError)?;
        }
        for country in &self.countries {
            if crate::phone::region_id(country).is_none() {
                return Err(SipConfigError(format!(
                    "countries: unknown country {country:?}"
                )));
            }
        }
        for prefix in &self.prefixes {
            let ok = prefix.strip_prefix('+').is_some_and(|d| {
                (1..=15).contains(&d.len())
                    && !d.starts_with('0')
                    && d.bytes().all(|b| b.is_ascii_digit())
            });
            if !ok {
                return Err(SipConfigError(format!(
                    "prefixes: {prefix:?} is not + and 1-15 digits"
                )));
            }
        }
        Ok(())
    }

    /// The trunk's limits.
    pub(crate) fn limits(&self) -> crate::telephony::gate::Limits {
        crate::telephony::gate::Limits {
            calls_per_second: self.calls_per_second,
            max_concurrent_calls: self.max_concurrent_calls,
            queue_size: self.queue_size,
            queue_timeout: Duration::from_millis(self.queue_timeout_ms),
        }
    }

    /// `proxy` as `host:port` for the resolver.
    pub(crate) fn proxy_host_port(&self) -> String {
        match split_host_port(&self.proxy) {
            Some((host, port)) if host.contains(':') => format!("[{host}]:{port}"),
            Some((host, port)) => format!("{host}:{port}"),
            None => self.proxy.clone(),
        }
    }

    /// Host of the Request-URI and `To`.
    pub(crate) fn domain(&self) -> String {
        match &self.domain {
            Some(domain) => domain.clone(),
            None => match split_host_port(&self.proxy) {
                Some((host, _)) if host.contains(':') => format!("[{host}]"),
                Some((host, _)) => host.to_string(),
                None => self.proxy.clone(),
            },
        }
    }

    /// Host of `From` and `P-Asserted-Identity`.
    pub(crate) fn caller_host(&self) -> String {
        self.from_host.clone().unwrap_or_else(|| self.domain())
    }

    pub(crate) fn t1(&self) -> Duration {
        Duration::from_millis(self.t1_ms)
    }

    pub(crate) fn t2(&self) -> Duration {
        Duration::from_millis(self.t2_ms)
    }

    /// Timers B and F.
    pub(crate) fn transaction_timeout(&self) -> Duration {
        Duration::from_millis(
            self.transaction_timeout_ms
                .unwrap_or_else(|| self.t1_ms.saturating_mul(64)),
        )
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 literal →
/// (host without brackets, port defaulting to 5060).
fn split_host_port(s: &str) -> Option<(&str, u16)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after {
            "" => 5060,
            p => p.strip_prefix(':')?.parse().ok()?,
        };
        return Some((host, port));
    }
    if s.matches(':').count() > 1 {
        return s.parse::<std::net::Ipv6Addr>().ok().map(|_| (s, 5060));
    }
    match s.split_once(':') {
        Some((host, port)) => Some((host, port.parse().ok()?)),
        None => Some((s, 5060)),
    }
}

/// A DNS name or an IP literal, nothing that could break a header.
fn is_host(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_derived_hosts() {
        let c = SipConfig::for_proxy("trunk.example");
        c.validate().unwrap();
        assert_eq!(c.proxy_host_port(), "trunk.example:5060");
        assert_eq!(c.domain(), "trunk.example");
        assert_eq!(c.caller_host(), "trunk.example");
        assert_eq!(c.transaction_timeout(), Duration::from_secs(32));
        let c = SipConfig::for_proxy("[::1]:5070");
        assert_eq!(c.proxy_host_port(), "[::1]:5070");
        assert_eq!(c.domain(), "[::1]");
        assert_eq!(SipConfig::for_proxy("::1").proxy_host_port(), "[::1]:5060");
    }

    #[test]
    fn rejects_what_would_break_a_call() {
        let bad = [
            SipConfig::for_proxy(""),
            SipConfig::for_proxy("a:0"),
            SipConfig::for_proxy("a b"),
            SipConfig::for_proxy("host:port"),
            SipConfig {
                domain: Some("x>\r\nEvil: 1".into()),
                ..SipConfig::for_proxy("a")
            },
            SipConfig {
                display_name: Some("\"".into()),
                ..SipConfig::for_proxy("a")
            },
            SipConfig {
                auth_username: Some("u".into()),
                ..SipConfig::for_proxy("a")
            },
            SipConfig {
                t1_ms: 0,
                ..SipConfig::for_proxy("a")
            },
            SipConfig {
                name: "Trunk A".into(),
                ..SipConfig::for_proxy("a")
            },
            SipConfig {
                calls_per_second: 10,
                queue_size: 0,
                ..SipConfig::for_proxy("a")
            },
        ];
        for config in bad {
            assert!(config.validate().is_err(), "{config:?}");
        }
    }

    #[test]
    fn deserializes_from_toml_like_values() {
        let c: SipConfig = serde_json::from_value(serde_json::json!({
            "proxy": "10.0.0.1:5080", "auth_username": "u", "auth_password": "p", "t1_ms": 250
        }))
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.transaction_timeout(), Duration::from_secs(16));
        assert!(c.sdp && c.plus_in_numbers);
        let unknown =
            serde_json::from_value::<SipConfig>(serde_json::json!({"proxy": "a", "x": 1}));
        assert!(unknown.is_err());
    }
}
