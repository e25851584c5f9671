//! Table-driven caller-ID matcher tests: every accepted presentation and
//! every rejection reason, in several numbering plans.

use motp_core::{CallerIdMatcher, CallerPattern, MatchRejection};
use MatchRejection::*;

/// `Ok(code)` or `Err(reason)` for each raw caller ID.
type Case = (&'static str, Result<&'static str, MatchRejection>);

fn check(prefix: &str, code_length: u8, home: &str, cases: &[Case]) {
    let pattern = CallerPattern::new(prefix, code_length).unwrap();
    let matcher = CallerIdMatcher::new(pattern, home).unwrap();
    let mut failures = Vec::new();
    for &(raw, want) in cases {
        let got = matcher.match_number(raw);
        if got.as_deref().map_err(|r| *r) != want {
            failures.push(format!("{raw:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "pattern {prefix} +{code_length}, home {home}:\n{}",
        failures.join("\n")
    );
}

/// Rejections that do not depend on the numbering plan.
const PLAN_INDEPENDENT: &[Case] = &[
    ("", Err(Empty)),
    ("   ", Err(Empty)),
    ("\u{a0}\t\n", Err(Empty)),
    ("+", Err(Empty)),
    ("( ) - . /", Err(Empty)),
    ("-1", Err(Withheld)),
    ("-2", Err(Withheld)),
    (" -3 ", Err(Withheld)),
    ("Unknown", Err(Withheld)),
    ("PRIVATE", Err(Withheld)),
    ("Private number", Err(Withheld)),
    ("restricted", Err(Withheld)),
    ("Anonymous", Err(Withheld)),
    ("anonymous@anonymous.invalid", Err(Withheld)),
    ("Withheld", Err(Withheld)),
    ("Number withheld", Err(Withheld)),
    ("Unavailable", Err(Withheld)),
    ("No Caller ID", Err(Withheld)),
    ("Payphone", Err(Withheld)),
    ("Bob", Err(InvalidCharacters)),
    ("tel:+442079460123", Err(InvalidCharacters)),
    ("12a45678901", Err(InvalidCharacters)),
    ("1234567890#", Err(InvalidCharacters)),
    ("*31#1234567890", Err(InvalidCharacters)),
    ("123456789\u{0}0", Err(InvalidCharacters)),
    ("1234567890😀", Err(InvalidCharacters)),
    ("12+34567890", Err(InvalidCharacters)),
    ("++12345678901", Err(InvalidCharacters)),
    ("1", Err(TooShort)),
    ("123", Err(TooShort)),
    ("-4", Err(TooShort)),
    ("12345678901234567890123", Err(TooLong)),
];

#[test]
fn plan_independent_rejections() {
    check("+442079460", 3, "GB", PLAN_INDEPENDENT);
    check("+12125550", 3, "US", PLAN_INDEPENDENT);
    check("+390612345", 3, "IT", PLAN_INDEPENDENT);
    check("+74951234", 3, "RU", PLAN_INDEPENDENT);
    check("+442079460", 3, "FR", PLAN_INDEPENDENT);
}

#[test]
fn input_length_is_bounded() {
    let long = format!("+44 20 7946 0123{}", " ".repeat(60));
    let huge = "٣".repeat(1_000_000);
    let cases: Vec<(String, MatchRejection)> = vec![
        (long, TooLong),
        (huge, TooLong),
        ("0".repeat(65), TooLong),
        ("a".repeat(1_000), TooLong),
    ];
    let m = CallerIdMatcher::new(CallerPattern::new("+442079460", 3).unwrap(), "GB").unwrap();
    for (raw, want) in cases {
        assert_eq!(m.match_number(&raw), Err(want), "{} chars", raw.len());
    }
    // 64 characters are still read.
    let padded = format!("{:<64}", "+44 20 7946 0123");
    assert_eq!(m.match_number(&padded).as_deref(), Ok("123"));
}

/// A country whose trunk prefix is 0: the UK, handset at home.
#[test]
fn gb_at_home() {
    check(
        "+44 20 7946 0",
        3,
        "GB",
        &[
            // E.164
            ("+442079460123", Ok("123")),
            ("+44 20 7946 0123", Ok("123")),
            ("+44 (20) 7946-0123", Ok("123")),
            ("(+44) 20 7946 0123", Ok("123")),
            ("+44.20.7946.0123", Ok("123")),
            ("+44/20/7946/0123", Ok("123")),
            ("＋４４ ２０ ７９４６ ０１２３", Ok("123")),
            ("\u{202a}+44 20 7946 0123\u{202c}", Ok("123")),
            ("\u{2066}+44\u{a0}20\u{a0}7946\u{a0}0123\u{2069}", Ok("123")),
            ("+44\u{2011}20\u{2011}7946\u{2011}0123", Ok("123")),
            ("+44 20 7946 0007", Ok("007")),
            ("+44 20 7946 0000", Ok("000")),
            // international access codes
            ("0044 20 7946 0123", Ok("123")),
            ("011 44 20 7946 0123", Ok("123")),
            // country code without +
            ("44 20 7946 0123", Ok("123")),
            // national with trunk prefix, and alone
            ("020 7946 0123", Ok("123")),
            ("(020) 7946 0123", Ok("123")),
            ("02079460999", Ok("999")),
            ("20 7946 0123", Ok("123")),
            // libphonenumber's other UK national prefix (text relay)
            ("18003 20 7946 0123", Err(WrongPrefix)),
            ("180020 20 7946 0123", Ok("123")),
            // wrong country
            ("+33 1 23 45 67 89", Err(WrongCountry)),
            ("+1 212 555 0123", Err(WrongCountry)),
            ("+45 20 7946 0123", Err(WrongCountry)),
            ("0033 1 23 45 67 89", Err(WrongCountry)),
            ("011 33 1 23 45 67 89", Err(WrongCountry)),
            // wrong prefix
            ("+44 20 7946 1123", Err(WrongPrefix)),
            ("+44 20 8123 4567", Err(WrongPrefix)),
            ("+44 7700 900123", Err(WrongPrefix)),
            ("020 8123 4567", Err(WrongPrefix)),
            ("07700 900123", Err(WrongPrefix)),
            ("0044 7700 900123", Err(WrongPrefix)),
            ("44 7700 900123", Err(WrongPrefix)),
            ("7700 900123", Err(WrongPrefix)),
            // too short / too long
            ("+44 20 7946 012", Err(TooShort)),
            ("+44 20 7946", Err(TooShort)),
            ("+44 20 7946 1", Err(TooShort)),
            ("01", Err(TooShort)),
            ("020 7946 012", Err(TooShort)),
            ("0044 20 7946 012", Err(TooShort)),
            ("7946 0123", Err(TooShort)),
            ("+44 20 7946 01234", Err(TooLong)),
            ("020 7946 01234", Err(TooLong)),
            ("00 44 20 7946 0123 4", Err(TooLong)),
        ],
    );
}

/// NANP: trunk prefix 1, international access code 011.
#[test]
fn us_at_home() {
    check(
        "+1 212 555 0",
        3,
        "US",
        &[
            ("+1 212-555-0123", Ok("123")),
            ("+12125550123", Ok("123")),
            ("011 1 212 555 0123", Ok("123")),
            ("001 212 555 0123", Ok("123")),
            ("1 (212) 555-0123", Ok("123")),
            ("1-212-555-0123", Ok("123")),
            ("(212) 555-0123", Ok("123")),
            ("212.555.0042", Ok("042")),
            ("2125550123", Ok("123")),
            ("+44 20 7946 0123", Err(WrongCountry)),
            ("011 44 20 7946 0123", Err(WrongCountry)),
            ("(212) 555-9123", Err(WrongPrefix)),
            ("(646) 555-0123", Err(WrongPrefix)),
            ("1 (646) 555-0123", Err(WrongPrefix)),
            ("+1 646 555 0123", Err(WrongPrefix)),
            ("555-0123", Err(TooShort)),
            ("(212) 555-012", Err(TooShort)),
            ("+1 212 555 012", Err(TooShort)),
            ("(212) 555-01234", Err(TooLong)),
            ("+1 212 555 01234", Err(TooLong)),
        ],
    );
    // Canada shares +1: a Canadian handset sees US numbers nationally.
    check(
        "+1 212 555 0",
        3,
        "CA",
        &[("(212) 555-0123", Ok("123")), ("1 212 555 0123", Ok("123"))],
    );
}

/// Italy: national numbers begin with 0 and there is no trunk prefix.
#[test]
fn italy_at_home() {
    check(
        "+39 06 1234 5",
        3,
        "IT",
        &[
            ("+39 06 1234 5678", Ok("678")),
            ("+39 06 12345012", Ok("012")),
            ("0039 06 1234 5678", Ok("678")),
            ("011 39 06 1234 5678", Ok("678")),
            ("39 06 1234 5678", Ok("678")),
            ("06 1234 5678", Ok("678")),
            ("06-12345678", Ok("678")),
            // the 0 belongs to the number: dropping it is not an Italian form
            ("+39 6 1234 5678", Err(WrongPrefix)),
            ("6 1234 5678 9", Err(WrongPrefix)),
            ("02 1234 5678", Err(WrongPrefix)),
            ("+33 6 12 34 56 78", Err(WrongCountry)),
            ("06 1234 567", Err(TooShort)),
            ("06 1234 56789", Err(TooLong)),
        ],
    );
    // Italian mobile numbers start with 3.
    check(
        "+39 312 345 6",
        3,
        "IT",
        &[
            ("312 345 6789", Ok("789")),
            ("+39 312 345 6789", Ok("789")),
            // no trunk prefix in Italy: "0" + 312… is not a form
            ("0312 345 6789", Err(WrongPrefix)),
        ],
    );
}

/// Russia: trunk prefix 8, international access code 810.
#[test]
fn russia_at_home() {
    check(
        "+7 495 123 4",
        3,
        "RU",
        &[
            ("+7 495 123-45-67", Ok("567")),
            ("8 (495) 123-45-67", Ok("567")),
            ("8 495 1234567", Ok("567")),
            ("7 495 123 45 67", Ok("567")),
            ("810 7 495 123 45 67", Ok("567")),
            ("00 7 495 123 45 67", Ok("567")),
            ("(495) 123-45-67", Ok("567")),
            ("8 (800) 555-35-35", Err(WrongPrefix)),
            ("8 495 765 43 21", Err(WrongPrefix)),
            ("+7 999 123 45 67", Err(WrongPrefix)),
            ("810 44 20 7946 0123", Err(WrongCountry)),
            ("+375 29 123 45 67", Err(WrongCountry)),
            ("8 10 375 29 123 45 67", Err(WrongCountry)),
            ("8 495 123 45 6", Err(TooShort)),
            ("8 495 123 45 678", Err(TooLong)),
        ],
    );
    // Kazakhstan shares +7 and its dialling plan.
    check("+7 495 123 4", 3, "KZ", &[("8 495 123 45 67", Ok("567"))]);
}

/// A UK caller seen from a handset in France: only international forms.
#[test]
fn gb_caller_seen_from_france() {
    check(
        "+44 20 7946 0",
        3,
        "FR",
        &[
            ("+44 20 7946 0123", Ok("123")),
            ("0044 20 7946 0123", Ok("123")),
            ("011 44 20 7946 0123", Ok("123")),
            ("44 20 7946 0123", Ok("123")),
            // national forms mean French numbers here
            ("020 7946 0123", Err(WrongCountry)),
            ("20 7946 0123", Err(WrongCountry)),
            ("01 23 45 67 89", Err(WrongCountry)),
            ("+33 1 23 45 67 89", Err(WrongCountry)),
            ("0033 1 23 45 67 89", Err(WrongCountry)),
            ("+44 20 7946 1123", Err(WrongPrefix)),
            ("0044 7700 900123", Err(WrongPrefix)),
            ("+44 20 7946 012", Err(TooShort)),
            ("0044 20 7946 01234", Err(TooLong)),
        ],
    );
}

/// A home country's own access codes: Russia's 810, Australia's 0011.
#[test]
fn home_country_access_codes() {
    check(
        "+44 20 7946 0",
        3,
        "RU",
        &[
            ("810 44 20 7946 0123", Ok("123")),
            ("8 20 7946 0123", Err(WrongCountry)),
        ],
    );
    check(
        "+44 20 7946 0",
        3,
        "AU",
        &[
            ("0011 44 20 7946 0123", Ok("123")),
            ("0014 44 20 7946 0123", Ok("123")),
        ],
    );
    // 810 is Russian; from the UK it is no access code.
    check(
        "+44 20 7946 0",
        3,
        "GB",
        &[("810 44 20 7946 0123", Err(WrongPrefix))],
    );
}

#[test]
fn non_ascii_digits() {
    check(
        "+20 2 2345 6",
        3,
        "EG",
        &[
            ("+٢٠ ٢ ٢٣٤٥ ٦٧٨٩", Ok("789")),
            ("٠٢ ٢٣٤٥ ٦٧٨٩", Ok("789")),
            ("+۲۰ ۲ ۲۳۴۵ ۶۷۸۹", Ok("789")),
        ],
    );
}

#[test]
fn single_digit_and_long_codes() {
    check(
        "+44 20 7946 012",
        1,
        "GB",
        &[
            ("020 7946 0125", Ok("5")),
            ("020 7946 0135", Err(WrongPrefix)),
        ],
    );
    check(
        "+44 20",
        8,
        "GB",
        &[
            ("020 0000 0001", Ok("00000001")),
            ("+44 20 7946 0123", Ok("79460123")),
        ],
    );
}
