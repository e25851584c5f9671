//! Test numbers: destinations listed by the operator with a fixed code, for
//! app-store reviewers and CI. A verification for one places no call, is
//! `delivered` at once and approves with the listed code; it is marked as a
//! test in the logs (`test = true`), the metrics (`motp_test_numbers_total`)
//! and the token (the `test` claim).
//!
//! Off by default (no numbers listed). A listed number that looks like a
//! real subscriber of a country that may be called is refused at start,
//! unless `test_numbers.allow_real_numbers` is set: a fixed code on a real
//! number would let anyone sign in as its owner. The ranges set aside for
//! fiction are safe and recommended: Ofcom's drama numbers (+44 7700 900xxx,
//! +44 20 7946 0xxx, …) and NANP's 555-0100 to 555-0199 (+1 NXX 555 01xx).

use serde::{Deserialize, Serialize};

use crate::config::CallerRange;

/// `[[test_numbers.numbers]]`: one number or a prefix, and its code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestNumber {
    /// One number, E.164 (`+447700900123`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// Every number starting with this E.164 prefix (`+1202555010`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The fixed code: digits, as many as the `code_length` of a caller
    /// range (whose prefix the verification then shows).
    pub code: String,
}

/// `[test_numbers]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TestNumbersConfig {
    /// Accept listed numbers that look like real numbers of an allowed
    /// country. Default `false`.
    pub allow_real_numbers: bool,
    /// The test numbers. Default none (the feature is off).
    pub numbers: Vec<TestNumber>,
}

/// The fixed code of a test number, and the caller range it is shown with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCode {
    /// The code.
    pub code: String,
    /// The range with the code's length.
    pub range: CallerRange,
}

/// The validated list.
#[derive(Debug, Clone, Default)]
pub struct TestNumbers {
    entries: Vec<(String, bool, TestCode)>,
}

/// E.164 prefixes (digits) set aside for fiction: Ofcom's drama ranges.
const FICTIONAL_PREFIXES: &[&str] = &[
    "447700900",
    "442079460",
    "441134960",
    "441144960",
    "441154960",
    "441164960",
    "441174960",
    "441184960",
    "441214960",
    "441314960",
    "441414960",
    "441514960",
    "441614960",
    "441914980",
    "442896496",
    "442920180",
    "441632960",
    "448081570",
    "449098790",
    "443069990",
];

/// Whether every number with these digits as prefix (or this number) is
/// fictional: an Ofcom drama range, or NANP's NXX-555-01xx.
pub fn is_fictional(digits: &str) -> bool {
    if FICTIONAL_PREFIXES.iter().any(|p| digits.starts_with(p)) {
        return true;
    }
    // +1 AAA 555 01xx: the area code is free, "55501" must be complete.
    let b = digits.as_bytes();
    b.len() >= 9 && b.len() <= 11 && b[0] == b'1' && &digits[4..9] == "55501"
}

impl TestNumbers {
    /// Checks the configuration: well-formed entries, a range for each
    /// code's length, and no real-looking number of an allowed country
    /// unless allowed.
    pub fn new(
        config: &TestNumbersConfig,
        ranges: &[CallerRange],
        allowed_countries: &[String],
    ) -> Result<Self, String> {
        let mut entries = Vec::new();
        for entry in &config.numbers {
            let (text, exact) = match (&entry.number, &entry.prefix) {
                (Some(n), None) => (n, true),
                (None, Some(p)) => (p, false),
                _ => {
                    return Err("test_numbers.numbers: give exactly one of number or prefix".into())
                }
            };
            let digits = text.strip_prefix('+').unwrap_or("");
            if digits.is_empty()
                || digits.len() > 15
                || digits.starts_with('0')
                || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(format!(
                    "test number {text:?}: must be + and up to 15 digits"
                ));
            }
            let code = &entry.code;
            let range = ranges
                .iter()
                .find(|r| usize::from(r.code_length) == code.len())
                .filter(|_| code.bytes().all(|b| b.is_ascii_digit()));
            let Some(range) = range else {
                return Err(format!(
                    "test number {}: the code must be digits, as many as a caller range's \
                     code_length",
                    crate::phone::mask(text)
                ));
            };
            if !config.allow_real_numbers && !is_fictional(digits) {
                if let Some(country) = real_country(digits, exact, allowed_countries) {
                    return Err(format!(
                        "test number {}: looks like a real number of {country}, an allowed \
                         country; use a fictional range (+44 7700 900xxx, +1 NXX 555 01xx) or \
                         set test_numbers.allow_real_numbers = true",
                        crate::phone::mask(text)
                    ));
                }
            }
            entries.push((
                format!("+{digits}"),
                exact,
                TestCode {
                    code: code.clone(),
                    range: range.clone(),
                },
            ));
        }
        Ok(Self { entries })
    }

    /// Whether no test number is listed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The test code of `e164`, when it is a test number.
    pub fn lookup(&self, e164: &str) -> Option<&TestCode> {
        self.entries
            .iter()
            .find(|(n, exact, _)| {
                if *exact {
                    e164 == n
                } else {
                    e164.starts_with(n.as_str())
                }
            })
            .map(|(_, _, code)| code)
    }

    /// The request's number in E.164, when it is a test number: `+` and
    /// digits with separators ignored, or a national number with `country`.
    /// Test numbers may be fictional, so validity is not asked.
    pub fn match_request(&self, raw: &str, country: Option<&str>) -> Option<(String, &TestCode)> {
        if self.is_empty() || raw.len() > 40 {
            return None;
        }
        let raw = raw.trim();
        let e164 = if let Some(rest) = raw.strip_prefix('+') {
            let digits: String = rest
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '/'))
                .collect();
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            format!("+{digits}")
        } else {
            let hint = crate::phone::region_id(country?)?;
            let number = crate::phone::parse(Some(hint), raw)?;
            number.format().mode(phonenumber::Mode::E164).to_string()
        };
        let code = self.lookup(&e164)?;
        Some((e164, code))
    }
}

/// The allowed country of which the number (or, for a prefix, some number
/// of the range) looks real.
fn real_country(digits: &str, exact: bool, allowed: &[String]) -> Option<String> {
    let candidates: Vec<String> = if exact {
        vec![digits.to_string()]
    } else {
        // A prefix: try the numbers of the range of each plausible length.
        (digits.len()..=15)
            .map(|len| format!("{digits:0<len$}"))
            .collect()
    };
    candidates.iter().find_map(|c| {
        let number = crate::phone::parse(None, &format!("+{c}"))?;
        if !number.is_valid() {
            return None;
        }
        let region = number.country().id()?.as_ref().to_string();
        let allowed_here =
            allowed.is_empty() || allowed.iter().any(|a| a.eq_ignore_ascii_case(&region));
        allowed_here.then_some(region)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges() -> Vec<CallerRange> {
        vec![CallerRange {
            prefix: "+4420794".into(),
            code_length: 4,
        }]
    }

    fn one(number: &str, code: &str) -> TestNumbersConfig {
        TestNumbersConfig {
            allow_real_numbers: false,
            numbers: vec![TestNumber {
                number: Some(number.into()),
                prefix: None,
                code: code.into(),
            }],
        }
    }

    #[test]
    fn fictional_numbers_are_accepted_and_real_ones_refused() {
        let gb = vec!["GB".to_string(), "US".to_string()];
        TestNumbers::new(&one("+447700900123", "1234"), &ranges(), &gb).unwrap();
        TestNumbers::new(&one("+12025550123", "1234"), &ranges(), &gb).unwrap();
        let real = TestNumbers::new(&one("+447400123456", "1234"), &ranges(), &gb).unwrap_err();
        assert!(real.contains("GB") && !real.contains("123456"), "{real}");
        assert!(TestNumbers::new(&one("+12025550199", "1234"), &ranges(), &gb).is_ok());
        assert!(TestNumbers::new(&one("+12025550200", "1234"), &ranges(), &gb).is_err());
        // Real, but of a country that is never called: harmless.
        TestNumbers::new(&one("+33612345678", "1234"), &ranges(), &gb).unwrap();
        // Explicitly allowed.
        let mut allowed = one("+447400123456", "1234");
        allowed.allow_real_numbers = true;
        TestNumbers::new(&allowed, &ranges(), &gb).unwrap();
        // A prefix that covers real numbers.
        let prefix = TestNumbersConfig {
            allow_real_numbers: false,
            numbers: vec![TestNumber {
                number: None,
                prefix: Some("+447400".into()),
                code: "1234".into(),
            }],
        };
        assert!(TestNumbers::new(&prefix, &ranges(), &gb).is_err());
    }

    #[test]
    fn malformed_entries_are_refused() {
        let none: Vec<String> = vec![];
        assert!(TestNumbers::new(&one("447700900123", "1234"), &ranges(), &none).is_err());
        assert!(TestNumbers::new(&one("+447700900123", "12345"), &ranges(), &none).is_err());
        assert!(TestNumbers::new(&one("+447700900123", "12a4"), &ranges(), &none).is_err());
        let both = TestNumbersConfig {
            allow_real_numbers: false,
            numbers: vec![TestNumber {
                number: Some("+447700900123".into()),
                prefix: Some("+4477009001".into()),
                code: "1234".into(),
            }],
        };
        assert!(TestNumbers::new(&both, &ranges(), &none).is_err());
    }

    #[test]
    fn requests_match_by_number_or_prefix() {
        let config = TestNumbersConfig {
            allow_real_numbers: false,
            numbers: vec![
                TestNumber {
                    number: Some("+447700900123".into()),
                    prefix: None,
                    code: "1234".into(),
                },
                TestNumber {
                    number: None,
                    prefix: Some("+1202555010".into()),
                    code: "0000".into(),
                },
            ],
        };
        let t = TestNumbers::new(&config, &ranges(), &[]).unwrap();
        assert_eq!(
            t.match_request("+44 7700 900123", None).unwrap().1.code,
            "1234"
        );
        assert_eq!(
            t.match_request("07700 900123", Some("GB")).unwrap().0,
            "+447700900123"
        );
        assert_eq!(
            t.match_request("+1 (202) 555-0107", None).unwrap().1.code,
            "0000"
        );
        assert!(t.match_request("+447700900124", None).is_none());
        assert!(t.match_request("+12025550117", None).is_none());
        assert!(TestNumbers::default()
            .match_request("+447700900123", None)
            .is_none());
    }
}
