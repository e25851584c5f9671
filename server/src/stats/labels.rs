//! The `country` and `trunk` labels of the verification metrics, kept to a
//! bounded set so that Prometheus does not grow a series per number:
//!
//! - `country`: the destination's ISO 3166 alpha-2 code when it is on
//!   `limits.allowed_countries`, else `other`; with an empty allow-list
//!   (every country allowed) the code itself, which is bounded by the
//!   number metadata (about 250 regions), `other` when unknown.
//! - `trunk`: the configured trunk's name (bounded by the configuration).
//! - no `app` label: apps grow with customers; per-app figures are in
//!   `GET /v1/stats` and `motp stats`.

use crate::config::{Config, ProviderKind};

/// The label for a destination in `region`.
pub fn country(region: Option<&str>, allowed_countries: &[String]) -> String {
    match region {
        Some(r) if allowed_countries.is_empty() => r.to_string(),
        Some(r) if allowed_countries.iter().any(|a| a.eq_ignore_ascii_case(r)) => {
            r.to_ascii_uppercase()
        }
        _ => "other".to_string(),
    }
}

/// The label for the destination `e164`.
pub fn country_of(e164: &str, config: &Config) -> String {
    country(
        crate::phone::region_of(e164).as_deref(),
        &config.limits.allowed_countries,
    )
}

/// The trunk calls are placed through: the SIP trunk's name, else
/// `default`.
pub fn trunk(config: &Config) -> String {
    match (&config.telephony.provider, &config.telephony.sip) {
        (ProviderKind::Sip, Some(sip)) => sip.name.clone(),
        _ => "default".to_string(),
    }
}

/// `[("country", …), ("trunk", …)]` for a verification of `e164`.
pub fn destination(e164: &str, config: &Config) -> [(&'static str, String); 2] {
    [
        ("country", country_of(e164, config)),
        ("trunk", trunk(config)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_off_the_allow_list_are_other() {
        let allowed = vec!["GB".to_string(), "us".to_string()];
        assert_eq!(country(Some("GB"), &allowed), "GB");
        assert_eq!(country(Some("US"), &allowed), "US");
        assert_eq!(country(Some("FR"), &allowed), "other");
        assert_eq!(country(None, &allowed), "other");
        assert_eq!(country(Some("FR"), &[]), "FR");
        assert_eq!(country(None, &[]), "other");
    }
}
