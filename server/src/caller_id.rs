//! Reading the code out of a caller ID that the phone reported, for
//! `check` with `caller_id`. The server uses the SDK's own matcher
//! ([`motp_core::CallerIdMatcher`]), so both sides accept exactly
//! the same presentations.

use motp_core::countries;
use motp_core::CallerIdMatcher;
use motp_core::CallerPattern;

/// Whether the SDK's matcher knows `iso` as a home country.
pub fn is_known_country(iso: &str) -> bool {
    countries::by_iso(iso).is_some()
}

/// The home country to read national presentations with: the first of
/// `candidates` the matcher knows, else a country of the destination's
/// calling code (national forms of that country then work).
pub fn home_country<'a>(
    candidates: impl IntoIterator<Item = Option<&'a str>>,
    destination_e164: &str,
) -> Option<&'static str> {
    for iso in candidates.into_iter().flatten() {
        if let Some(country) = countries::by_iso(iso) {
            return Some(country.iso);
        }
    }
    let digits = destination_e164.trim_start_matches('+');
    let code = countries::calling_code_of(digits)?;
    countries::by_calling_code(code).next().map(|c| c.iso)
}

/// The code digits in `raw`, or the matcher's reason (`wrong_prefix`, …)
/// why `raw` is not a number of the range `prefix` + `code_length` digits.
pub fn extract_code(
    prefix: &str,
    code_length: u8,
    home_country: &str,
    raw: &str,
) -> Result<String, &'static str> {
    let pattern = CallerPattern::new(prefix, code_length).map_err(|_| "invalid_pattern")?;
    let matcher =
        CallerIdMatcher::new(pattern, home_country).map_err(|_| "unknown_home_country")?;
    matcher.match_number(raw).map_err(|r| r.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presentations_of_one_number() {
        for raw in [
            "+44 20 7941 234",
            "0044 20 7941 234",
            "44207941234",
            "020 7941 234",
            "207941234",
        ] {
            assert_eq!(
                extract_code("+4420794", 4, "GB", raw),
                Ok("1234".into()),
                "{raw}"
            );
        }
        // National forms only at home.
        assert!(extract_code("+4420794", 4, "FR", "020 7941 234").is_err());
        assert_eq!(
            extract_code("+4420794", 4, "GB", "Private"),
            Err("withheld")
        );
        assert_eq!(
            extract_code("+4420794", 4, "GB", "+442071234567"),
            Err("wrong_prefix")
        );
        assert_eq!(
            extract_code("+4420794", 4, "XX", "+442079461234"),
            Err("unknown_home_country")
        );
    }

    #[test]
    fn home_country_falls_back_to_the_destination() {
        assert_eq!(home_country([Some("fr")], "+447400123456"), Some("FR"));
        assert_eq!(
            home_country([Some("XX"), Some("GB")], "+447400123456"),
            Some("GB")
        );
        assert_eq!(
            home_country([None, Some("ZZ")], "+447400123456"),
            Some("GB")
        );
        assert!(home_country([None], "+999").is_none());
    }
}
