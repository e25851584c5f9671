//! Property tests of the caller-ID matcher over every region in the table:
//! any valid pattern and code match in every accepted presentation; a
//! changed prefix digit never matches; no input panics.

use motp_core::countries::{self, Country};
use motp_core::{CallerIdMatcher, CallerPattern, MatchRejection};
use proptest::prelude::*;
use proptest::sample::select;

/// A valid pattern, a code for it, and a home country.
#[derive(Debug, Clone)]
struct Case {
    pattern: CallerPattern,
    code: String,
    home: &'static Country,
}

fn case() -> impl Strategy<Value = Case> {
    let n = countries::all().len();
    (
        0..n,
        proptest::collection::vec(0u8..10, 0..9),
        1u8..=6,
        prop_oneof![Just(None), (0..n).prop_map(Some)],
        proptest::collection::vec(0u8..10, 6),
    )
        .prop_filter_map("valid pattern", |(c, national, len, home, code)| {
            let country = &countries::all()[c];
            let national: String = national.iter().map(|d| char::from(b'0' + d)).collect();
            let pattern =
                CallerPattern::new(&format!("+{}{national}", country.calling_code), len).ok()?;
            let code = code[..usize::from(len)]
                .iter()
                .map(|d| char::from(b'0' + d))
                .collect();
            // Half the time the handset is at home in the caller's country.
            let home = home.map_or(country, |h| &countries::all()[h]);
            Some(Case {
                pattern,
                code,
                home,
            })
        })
}

/// One accepted way of writing the number: its digits, whether it has a
/// `+`, and where the pattern's prefix digits sit in `digits`.
#[derive(Debug, Clone)]
struct Presentation {
    plus: bool,
    digits: String,
    /// `digits[cc]` is the calling code (empty range for national forms).
    cc: std::ops::Range<usize>,
    /// `digits[national]` is the national part of the prefix.
    national: std::ops::Range<usize>,
}

/// Every presentation the brief accepts, built independently of the matcher.
fn presentations(case: &Case) -> Vec<Presentation> {
    let p = &case.pattern;
    let cc = p.country_calling_code();
    let nat = p.national_prefix_digits();
    let mut leads: Vec<(bool, String, bool)> = vec![(true, String::new(), true)];
    let mut access: Vec<&str> = case.home.international_prefixes.to_vec();
    access.extend(["00", "011"]);
    leads.extend(access.iter().map(|a| (false, a.to_string(), true)));
    leads.push((false, String::new(), true));
    if case.home.calling_code == cc {
        leads.push((false, String::new(), false));
        leads.extend(
            case.home
                .trunk_prefixes
                .iter()
                .map(|t| (false, t.to_string(), false)),
        );
    }
    leads
        .into_iter()
        .map(|(plus, lead, with_cc)| {
            let cc_part = if with_cc { cc } else { "" };
            let digits = format!("{lead}{cc_part}{nat}{}", case.code);
            let cc_start = lead.len();
            let cc_end = cc_start + cc_part.len();
            Presentation {
                plus,
                digits,
                cc: cc_start..cc_end,
                national: cc_end..cc_end + nat.len(),
            }
        })
        .collect()
}

/// Whether `digits` (no `+`) is some accepted presentation of the pattern.
fn is_accepted_without_plus(case: &Case, digits: &str) -> bool {
    let code_len = usize::from(case.pattern.code_length());
    presentations(case).iter().filter(|p| !p.plus).any(|p| {
        let template = &p.digits[..p.digits.len() - code_len];
        digits.len() == p.digits.len() && digits.starts_with(template)
    })
}

const SEPARATORS: &[&str] = &[
    "", "", "", " ", "-", ".", "(", ")", "/", "\u{a0}", "\u{2009}", "\u{2011}", "\u{200e}",
];

/// Writes `digits` with separators between them, as a phone might.
fn decorate(plus: bool, digits: &str, seps: &[&str], wrap: bool) -> String {
    let mut out = String::new();
    if wrap {
        out.push('\u{202a}');
    }
    if plus {
        out.push('+');
    }
    for (i, d) in digits.chars().enumerate() {
        if i > 0 {
            out.push_str(seps[i % seps.len()]);
        }
        out.push(d);
    }
    if wrap {
        out.push('\u{202c}');
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_presentation_matches_and_yields_the_code(
        case in case(),
        seps in proptest::collection::vec(select(SEPARATORS), 1..6),
        wrap: bool,
    ) {
        let matcher = CallerIdMatcher::new(case.pattern.clone(), case.home.iso).unwrap();
        for p in presentations(&case) {
            let raw = decorate(p.plus, &p.digits, &seps, wrap);
            prop_assert_eq!(
                matcher.match_number(&raw), Ok(case.code.clone()),
                "{:?} home {}", raw, case.home.iso
            );
        }
    }

    #[test]
    fn changing_a_prefix_digit_is_rejected(
        case in case(),
        pick in any::<prop::sample::Index>(),
        delta in 1u8..10,
    ) {
        let matcher = CallerIdMatcher::new(case.pattern.clone(), case.home.iso).unwrap();
        for p in presentations(&case) {
            let positions: Vec<usize> = p.cc.clone().chain(p.national.clone()).collect();
            if positions.is_empty() {
                continue;
            }
            let at = positions[pick.index(positions.len())];
            let mut digits = p.digits.clone().into_bytes();
            digits[at] = b'0' + (digits[at] - b'0' + delta) % 10;
            let digits = String::from_utf8(digits).unwrap();
            let raw = decorate(p.plus, &digits, &[""], false);
            let got = matcher.match_number(&raw);
            if p.plus {
                // E.164 is unambiguous: the reason names the changed part.
                let want = if p.cc.contains(&at) {
                    MatchRejection::WrongCountry
                } else {
                    MatchRejection::WrongPrefix
                };
                prop_assert_eq!(got, Err(want), "{:?}", raw);
            } else if is_accepted_without_plus(&case, &digits) {
                // The change produced another valid presentation (e.g. RU
                // trunk 8 became calling code 7): matching is then right.
                prop_assert_eq!(got, Ok(case.code.clone()), "{:?}", raw);
            } else {
                prop_assert!(got.is_err(), "{:?} home {} matched: {:?}", raw, case.home.iso, got);
            }
        }
    }

    #[test]
    fn arbitrary_unicode_never_panics(case in case(), raw in any::<String>()) {
        check_total(&case, &raw)?;
    }

    #[test]
    fn phone_like_junk_never_panics(
        case in case(),
        parts in proptest::collection::vec(
            prop_oneof![
                "[0-9]{1,4}",
                select(vec!["+", "＋", " ", "-", "(", ")", "\u{a0}", "\u{202e}", "٣", "۹", "०", "a", "é", "#", "*", "\u{0}", "😀", "-1"])
                    .prop_map(str::to_string),
            ],
            0..30,
        ),
    ) {
        check_total(&case, &parts.concat())?;
    }
}

/// No panic, and any match is `code_length` ASCII digits that also match in
/// canonical E.164 form.
fn check_total(case: &Case, raw: &str) -> Result<(), TestCaseError> {
    let matcher = CallerIdMatcher::new(case.pattern.clone(), case.home.iso).unwrap();
    if let Ok(code) = matcher.match_number(raw) {
        prop_assert_eq!(code.len(), usize::from(case.pattern.code_length()));
        prop_assert!(code.bytes().all(|b| b.is_ascii_digit()));
        let canonical = case.pattern.number_for_code(&code);
        prop_assert_eq!(matcher.match_number(&canonical), Ok(code));
    }
    Ok(())
}
