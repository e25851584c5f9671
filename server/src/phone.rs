//! Destination numbers: parsing to E.164, the country, the number type, and
//! masking for logs. The `phonenumber` crate (Google's libphonenumber
//! metadata) does the classification.

use std::str::FromStr;

use phonenumber::country::Id;
use phonenumber::{Mode, PhoneNumber, Type};

/// The longest input worth parsing; E.164 numbers have at most 15 digits,
/// so anything longer than this is junk (and is refused before parsing).
const MAX_INPUT_LEN: usize = 40;

/// A destination number that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// E.164 with `+`.
    pub e164: String,
    /// ISO 3166 alpha-2 region, when the metadata knows it.
    pub region: Option<String>,
}

/// Why a destination was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestinationError {
    /// Not a valid number; says why.
    Invalid(String),
    /// A valid number the server will not call (number type, allow-list);
    /// says why.
    NotAllowed(String),
}

/// The `phonenumber` region for an ISO 3166 alpha-2 code (case-insensitive).
pub fn region_id(iso: &str) -> Option<Id> {
    if iso.len() != 2 || !iso.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    Id::from_str(&iso.to_ascii_uppercase()).ok()
}

/// Parses `raw` (E.164, or national with `country`) and applies the
/// destination policy: valid, an ordinary subscriber number (mobile, fixed,
/// or VoIP; never premium-rate, shared-cost, toll-free, personal, pager,
/// UAN, voicemail or short codes) and inside the allow-list (empty: all).
pub fn check_destination(
    raw: &str,
    country: Option<&str>,
    allowed_countries: &[String],
) -> Result<Destination, DestinationError> {
    let invalid = |m: &str| Err(DestinationError::Invalid(m.to_string()));
    let raw = raw.trim();
    if raw.is_empty() {
        return invalid("phone_number is empty");
    }
    if raw.len() > MAX_INPUT_LEN {
        return invalid("phone_number is too long");
    }
    let hint = match country {
        Some(c) => match region_id(c) {
            Some(id) => Some(id),
            None => return invalid("country is not an ISO 3166 alpha-2 code"),
        },
        None => None,
    };
    if hint.is_none() && !raw.starts_with('+') {
        return invalid("phone_number must be E.164 (+…) unless country is given");
    }
    let Some(number) = parse(hint, raw) else {
        return invalid("phone_number is not a phone number");
    };
    if !number.is_valid() {
        return invalid("phone_number is not a valid number");
    }
    let region = number.country().id().map(|id| id.as_ref().to_string());
    let e164 = number.format().mode(Mode::E164).to_string();

    let kind = number.number_type(&phonenumber::metadata::DATABASE);
    match kind {
        Type::Mobile | Type::FixedLine | Type::FixedLineOrMobile | Type::Voip => {}
        other => {
            return Err(DestinationError::NotAllowed(format!(
                "{} numbers are not called",
                type_name(other)
            )))
        }
    }
    if !allowed_countries.is_empty() {
        let allowed = region
            .as_deref()
            .is_some_and(|r| allowed_countries.iter().any(|a| a.eq_ignore_ascii_case(r)));
        if !allowed {
            return Err(DestinationError::NotAllowed(
                "the destination country is not allowed".into(),
            ));
        }
    }
    Ok(Destination { e164, region })
}

/// `phonenumber::parse`, shielded: the parser is third-party code fed with
/// untrusted input, so a panic in it becomes "not a number", not a crash.
pub(crate) fn parse(hint: Option<Id>, raw: &str) -> Option<PhoneNumber> {
    std::panic::catch_unwind(|| phonenumber::parse(hint, raw).ok())
        .ok()
        .flatten()
}

/// The region of an E.164 number already accepted by [`check_destination`].
pub fn region_of(e164: &str) -> Option<String> {
    parse(None, e164)
        .and_then(|n| n.country().id())
        .map(|id| id.as_ref().to_string())
}

fn type_name(kind: Type) -> &'static str {
    match kind {
        Type::TollFree => "toll-free",
        Type::PremiumRate => "premium-rate",
        Type::SharedCost => "shared-cost",
        Type::PersonalNumber => "personal",
        Type::Pager => "pager",
        Type::Uan => "UAN",
        Type::Emergency => "emergency",
        Type::Voicemail => "voicemail",
        Type::ShortCode => "short",
        _ => "special",
    }
}

/// Masks a number for logs: the country code area and the last two digits
/// stay, the rest becomes `*` (`+4477******23`).
pub fn mask(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    let n = chars.len();
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if i < 5.min(n / 2) || i + 2 >= n || !c.is_ascii_digit() {
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// Loads the number metadata now rather than on the first request.
pub fn warm_up() {
    let _ = parse(None, "+447700900123");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_and_national_forms() {
        let d = check_destination("+44 7400 123456", None, &[]).unwrap();
        assert_eq!(d.e164, "+447400123456");
        assert_eq!(d.region.as_deref(), Some("GB"));
        let d = check_destination("07400 123456", Some("gb"), &[]).unwrap();
        assert_eq!(d.e164, "+447400123456");
        let d = check_destination("(415) 555-2671", Some("US"), &[]).unwrap();
        assert_eq!(d.e164, "+14155552671");
    }

    #[test]
    fn invalid_numbers() {
        // 07700 900xxx is Ofcom's drama range: not a real number.
        for raw in [
            "",
            "+",
            "abc",
            "+12",
            "07400123456",
            "+99999999999",
            "+447700900123",
        ] {
            assert!(
                matches!(
                    check_destination(raw, None, &[]),
                    Err(DestinationError::Invalid(_))
                ),
                "{raw}"
            );
        }
        assert!(matches!(
            check_destination("07400123456", Some("XX"), &[]),
            Err(DestinationError::Invalid(_))
        ));
        let long = "9".repeat(10_000);
        assert!(check_destination(&long, None, &[]).is_err());
    }

    #[test]
    fn premium_rate_and_special_numbers_are_refused() {
        // UK 09 and 0871 premium rate, 0800 toll-free, 070 personal numbers.
        for raw in [
            "+449098790000",
            "+448712345678",
            "+448001111111",
            "+447012345678",
        ] {
            assert!(
                matches!(
                    check_destination(raw, None, &[]),
                    Err(DestinationError::NotAllowed(_))
                ),
                "{raw}"
            );
        }
    }

    #[test]
    fn allow_list() {
        let gb = vec!["GB".to_string()];
        assert!(check_destination("+447400123456", None, &gb).is_ok());
        assert!(matches!(
            check_destination("+33612345678", None, &gb),
            Err(DestinationError::NotAllowed(_))
        ));
    }

    #[test]
    fn masking_hides_the_middle() {
        assert_eq!(mask("+447400123456"), "+4474******56");
        assert_eq!(mask(""), "");
        assert_eq!(mask("+1"), "+1");
    }
}
