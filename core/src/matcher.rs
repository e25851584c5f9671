//! Extracting the one-time code from a caller ID, in whatever form the
//! phone presents the incoming number.
//!
//! # Accepted presentations
//!
//! For the pattern `+44 20 7946 0` + 3 digits (code `123`):
//!
//! | form | example | when |
//! |---|---|---|
//! | E.164 | `+44 20 7946 0123` | always |
//! | international access code | `0044 20 7946 0123`, `011 44 20…` | `00`, `011` and the home country's own codes (`810` in Russia, `0011` in Australia…) |
//! | country code without `+` | `44 20 7946 0123` | always |
//! | national, with trunk prefix | `020 7946 0123` | caller and handset share a calling code |
//! | national significant number alone | `20 7946 0123` | caller and handset share a calling code |
//!
//! The trunk prefix is the home country's (`0` in most countries, `1` in
//! the NANP, `8` in Russia, `06` in Hungary; Italy has none, and there
//! `06 1234 5678` is the national number itself).
//!
//! Separators are ignored: space, `-`, `.`, `(`, `)`, `/`, any Unicode
//! space (NBSP…), Unicode dashes, full-width forms, and the invisible
//! bidirectional marks Android wraps numbers in. Non-ASCII decimal digits
//! (Arabic-Indic `٠١٢`, Persian, Devanagari, full-width…) count as digits.
//! A `+` is allowed only before the first digit.
//!
//! # How a number is read
//!
//! The digits of every accepted presentation end with the code, so a match
//! under any presentation yields the same code: the last `code_length`
//! digits. Ambiguity therefore never changes a code; it only decides which
//! rejection reason is reported when nothing matches. That decision is
//! deterministic:
//!
//! 1. With a `+`, only E.164 applies.
//! 2. Without one, the presentations are tried in this order:
//!    international access codes (longest first), national with trunk
//!    prefix (longest first), national number alone, country code without
//!    `+`. A presentation whose access code or trunk prefix is absent does
//!    not apply.
//! 3. A number with fewer digits than the pattern's national number is
//!    [`TooShort`](MatchRejection::TooShort) outright: no presentation is
//!    that short. One with more digits than an access code and a full
//!    15-digit E.164 number is [`TooLong`](MatchRejection::TooLong)
//!    outright: no phone number is that long.
//! 4. Otherwise the reason comes from the presentation that explains the
//!    most leading digits, access code or trunk prefix included (the
//!    earliest in the order above on a tie): a difference inside the
//!    calling code is [`WrongCountry`](MatchRejection::WrongCountry), one
//!    after it [`WrongPrefix`](MatchRejection::WrongPrefix), and the whole
//!    prefix with too few or too many digits after it is `TooShort` or
//!    `TooLong`.
//! 5. When no presentation explains even one digit and the number is longer
//!    than every presentation, the reason is `TooLong`.
//!
//! So `0033 1 23 45 67 89` on a UK handset is `wrong_country` (an access
//! code, then +33), and `07700 900123` is `wrong_prefix` (a trunk prefix,
//! then another UK number).

use crate::countries::{self, Country};
use crate::pattern::CallerPattern;
use crate::MotpError;

/// Longer inputs are refused before they are looked at, so hostile input
/// costs nothing. Real caller IDs, even with spaces and bidi marks, are far
/// shorter.
const MAX_INPUT_CHARS: usize = 64;
/// Four bytes per char at most.
const MAX_INPUT_BYTES: usize = MAX_INPUT_CHARS * 4;

/// International access codes accepted from any handset, on top of the
/// home country's own.
const COMMON_INTERNATIONAL_PREFIXES: [&str; 2] = ["00", "011"];

/// The outcome of matching one incoming number against a caller pattern,
/// as a value (the bindings' `MissedCallMatcher.matchNumber` returns it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum CallerIdMatch {
    /// The number is from the range; `code` holds its last digits, leading
    /// zeros kept (`"007"`).
    Code {
        /// The one-time code.
        code: String,
    },
    /// Some other call.
    Rejected {
        /// Why it is not the verification call.
        reason: MatchRejection,
    },
}

impl From<Result<String, MatchRejection>> for CallerIdMatch {
    fn from(result: Result<String, MatchRejection>) -> Self {
        match result {
            Ok(code) => Self::Code { code },
            Err(reason) => Self::Rejected { reason },
        }
    }
}

/// Why a caller ID did not carry a code for the pattern.
///
/// Each reason has a stable snake_case name ([`as_str`](Self::as_str)),
/// used in logs, the `motp match --json` output and the server's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum MatchRejection {
    /// `empty`: no number at all (empty, blanks or separators only).
    #[error("no number")]
    Empty,
    /// `withheld`: the caller hid the number. The platform shows a marker
    /// instead: `-1`, `-2`, `-3` (Android), or words such as "Unknown",
    /// "Private", "Restricted", "Anonymous", "Withheld", "Unavailable"
    /// (any case).
    #[error("the number is withheld")]
    Withheld,
    /// `invalid_characters`: letters or symbols that no phone number holds.
    #[error("the number holds characters other than digits and separators")]
    InvalidCharacters,
    /// `wrong_country`: the number belongs to another country calling code,
    /// or is a national number of another country.
    #[error("the number is from another country")]
    WrongCountry,
    /// `wrong_prefix`: right country, but not the pattern's number range.
    #[error("the number is outside the caller range")]
    WrongPrefix,
    /// `too_short`: fewer digits than any presentation of the pattern.
    #[error("the number has too few digits")]
    TooShort,
    /// `too_long`: more digits than any presentation of the pattern, or
    /// an input longer than 64 characters.
    #[error("the number has too many digits")]
    TooLong,
}

impl MatchRejection {
    /// Every reason, in declaration order.
    pub const ALL: [MatchRejection; 7] = [
        Self::Empty,
        Self::Withheld,
        Self::InvalidCharacters,
        Self::WrongCountry,
        Self::WrongPrefix,
        Self::TooShort,
        Self::TooLong,
    ];

    /// The stable snake_case name: `"wrong_country"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Withheld => "withheld",
            Self::InvalidCharacters => "invalid_characters",
            Self::WrongCountry => "wrong_country",
            Self::WrongPrefix => "wrong_prefix",
            Self::TooShort => "too_short",
            Self::TooLong => "too_long",
        }
    }
}

/// Extracts the one-time code from incoming caller IDs.
///
/// Built once per verification from the [`CallerPattern`] the server sent
/// and the handset's home country (ISO 3166 alpha-2, from the SIM or the
/// locale), then fed every incoming number. Cheap to call (well under a
/// microsecond) and safe on any input: it never panics.
///
/// ```
/// use motp_core::{CallerIdMatcher, CallerPattern, MatchRejection};
///
/// let pattern = CallerPattern::new("+442079460", 3)?;
/// let matcher = CallerIdMatcher::new(pattern, "GB")?;
/// assert_eq!(matcher.match_number("020 7946 0123").as_deref(), Ok("123"));
/// assert_eq!(matcher.match_number("+44 20 7946 0007").as_deref(), Ok("007"));
/// assert_eq!(matcher.match_number("+33 1 23 45 67 89"), Err(MatchRejection::WrongCountry));
/// assert_eq!(matcher.match_number("Private"), Err(MatchRejection::Withheld));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
///
///
/// # Accepted presentations
///
/// For the pattern `+44 20 7946 0` + 3 digits (code `123`):
///
/// | form | example | when |
/// |---|---|---|
/// | E.164 | `+44 20 7946 0123` | always |
/// | international access code | `0044 20 7946 0123`, `011 44 20…` | `00`, `011` and the home country's own codes (`810` in Russia, `0011` in Australia…) |
/// | country code without `+` | `44 20 7946 0123` | always |
/// | national, with trunk prefix | `020 7946 0123` | caller and handset share a calling code |
/// | national significant number alone | `20 7946 0123` | caller and handset share a calling code |
///
/// The trunk prefix is the home country's (`0` in most countries, `1` in
/// the NANP, `8` in Russia, `06` in Hungary; Italy has none, and there
/// `06 1234 5678` is the national number itself).
///
/// Separators are ignored: space, `-`, `.`, `(`, `)`, `/`, any Unicode
/// space (NBSP…), Unicode dashes, full-width forms, and the invisible
/// bidirectional marks Android wraps numbers in. Non-ASCII decimal digits
/// (Arabic-Indic `٠١٢`, Persian, Devanagari, full-width…) count as digits.
/// A `+` is allowed only before the first digit.
///
/// # How a number is read
///
/// The digits of every accepted presentation end with the code, so a match
/// under any presentation yields the same code: the last `code_length`
/// digits. Ambiguity therefore never changes a code; it only decides which
/// rejection reason is reported when nothing matches. That decision is
/// deterministic:
///
/// 1. With a `+`, only E.164 applies.
/// 2. Without one, the presentations are tried in this order:
///    international access codes (longest first), national with trunk
///    prefix (longest first), national number alone, country code without
///    `+`. A presentation whose access code or trunk prefix is absent does
///    not apply.
/// 3. A number with fewer digits than the pattern's national number is
///    [`TooShort`](MatchRejection::TooShort) outright: no presentation is
///    that short. One with more digits than an access code and a full
///    15-digit E.164 number is [`TooLong`](MatchRejection::TooLong)
///    outright: no phone number is that long.
/// 4. Otherwise the reason comes from the presentation that explains the
///    most leading digits, access code or trunk prefix included (the
///    earliest in the order above on a tie): a difference inside the
///    calling code is [`WrongCountry`](MatchRejection::WrongCountry), one
///    after it [`WrongPrefix`](MatchRejection::WrongPrefix), and the whole
///    prefix with too few or too many digits after it is `TooShort` or
///    `TooLong`.
/// 5. When no presentation explains even one digit and the number is longer
///    than every presentation, the reason is `TooLong`.
///
/// So `0033 1 23 45 67 89` on a UK handset is `wrong_country` (an access
/// code, then +33), and `07700 900123` is `wrong_prefix` (a trunk prefix,
/// then another UK number).
#[derive(Debug, Clone)]
pub struct CallerIdMatcher {
    pattern: CallerPattern,
    home: &'static Country,
    /// The only presentation of a number written with `+`.
    e164: Form,
    /// Presentations without `+`, in interpretation order.
    forms: Vec<Form>,
    /// Fewer digits cannot be the pattern's number in any presentation.
    min_digits: usize,
    /// The longest presentation, in digits.
    max_digits: usize,
    /// The longest access code plus the 15 digits of E.164 (or the longest
    /// presentation, if longer): no phone number is written with more.
    max_plausible_digits: usize,
}

/// One way of writing the pattern's numbers: `template` then the code.
#[derive(Debug, Clone)]
struct Form {
    /// Digits before the code: access code or trunk prefix (the lead),
    /// calling code when present, national part of the prefix.
    template: Box<[u8]>,
    /// The lead must be present for the form to apply.
    lead_len: usize,
    /// `template[lead_len..cc_end]` is the calling code (empty for
    /// national forms).
    cc_end: usize,
}

/// What one form says about a number.
enum Verdict {
    Match,
    NotApplicable,
    /// `score`: how many leading digits the form explains.
    Reject {
        reason: MatchRejection,
        score: usize,
    },
}

impl Form {
    fn new(lead: &str, calling_code: &str, national: &str) -> Self {
        let mut template = Vec::with_capacity(lead.len() + calling_code.len() + national.len());
        template.extend_from_slice(lead.as_bytes());
        template.extend_from_slice(calling_code.as_bytes());
        template.extend_from_slice(national.as_bytes());
        Self {
            template: template.into_boxed_slice(),
            lead_len: lead.len(),
            cc_end: lead.len() + calling_code.len(),
        }
    }

    fn judge(&self, digits: &[u8], code_len: usize) -> Verdict {
        let t = &self.template;
        if digits.get(..self.lead_len) != Some(&t[..self.lead_len]) {
            return Verdict::NotApplicable;
        }
        let score = digits
            .iter()
            .zip(t.iter())
            .take_while(|(a, b)| a == b)
            .count();
        let reason = if score == t.len() {
            let want = t.len() + code_len;
            if digits.len() == want {
                return Verdict::Match;
            } else if digits.len() < want {
                MatchRejection::TooShort
            } else {
                MatchRejection::TooLong
            }
        } else if score == digits.len() {
            MatchRejection::TooShort
        } else if score < self.cc_end {
            MatchRejection::WrongCountry
        } else {
            MatchRejection::WrongPrefix
        };
        Verdict::Reject { reason, score }
    }

    fn total_len(&self, code_len: usize) -> usize {
        self.template.len() + code_len
    }
}

impl CallerIdMatcher {
    /// A matcher for `pattern`, on a handset whose home country is
    /// `home_country` (ISO 3166 alpha-2, any case: `"GB"`, `"us"`).
    ///
    /// The home country decides which national forms and international
    /// access codes are understood. Fails with
    /// [`MotpError::InvalidInput`] for an unknown country code.
    pub fn new(pattern: CallerPattern, home_country: &str) -> Result<Self, MotpError> {
        let home = countries::by_iso(home_country).ok_or_else(|| MotpError::InvalidInput {
            reason: "home country is not a known ISO 3166 alpha-2 code".into(),
        })?;
        let cc = pattern.country_calling_code();
        let national = pattern.national_prefix_digits();

        let mut access: Vec<&str> = home
            .international_prefixes
            .iter()
            .copied()
            .chain(COMMON_INTERNATIONAL_PREFIXES)
            .collect();
        access.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        access.dedup();
        let mut forms: Vec<Form> = access.iter().map(|a| Form::new(a, cc, national)).collect();
        if home.calling_code == cc {
            let mut trunks: Vec<&str> = home.trunk_prefixes.to_vec();
            trunks.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
            forms.extend(trunks.iter().map(|t| Form::new(t, "", national)));
            forms.push(Form::new("", "", national));
        }
        forms.push(Form::new("", cc, national));

        let code_len = usize::from(pattern.code_length());
        let e164 = Form::new("", cc, national);
        let max_digits = forms
            .iter()
            .map(|f| f.total_len(code_len))
            .max()
            .unwrap_or(0)
            .max(e164.total_len(code_len));
        let min_digits = national.len() + code_len;
        let longest_access = access.iter().map(|a| a.len()).max().unwrap_or(0);
        let max_plausible_digits = max_digits.max(longest_access + 15);
        Ok(Self {
            pattern,
            home,
            e164,
            forms,
            min_digits,
            max_digits,
            max_plausible_digits,
        })
    }

    /// The pattern this matcher looks for.
    pub fn pattern(&self) -> &CallerPattern {
        &self.pattern
    }

    /// The handset's home country.
    pub fn home_country(&self) -> &'static Country {
        self.home
    }

    /// Reads the code out of an incoming caller ID, exactly as the platform
    /// presents it (`"020 7946 0123"`, `"+44 20 7946 0123"`, `"-2"`…).
    ///
    /// Returns the code digits, leading zeros kept (`"007"`), or why this
    /// number is not a call for the pattern. Never panics; inputs longer
    /// than 64 characters are refused as [`MatchRejection::TooLong`]
    /// without being read.
    pub fn match_number(&self, raw: &str) -> Result<String, MatchRejection> {
        let number = Normalized::parse(raw)?;
        let digits = number.digits();
        let code_len = usize::from(self.pattern.code_length());
        if digits.len() < self.min_digits {
            return Err(MatchRejection::TooShort);
        }
        if digits.len() > self.max_plausible_digits {
            return Err(MatchRejection::TooLong);
        }
        let forms = if number.plus {
            std::slice::from_ref(&self.e164)
        } else {
            &self.forms[..]
        };
        let mut best: Option<(MatchRejection, usize)> = None;
        for form in forms {
            match form.judge(digits, code_len) {
                Verdict::Match => {
                    let code = &digits[digits.len() - code_len..];
                    // Only ASCII digits are ever stored in `digits`.
                    return Ok(code.iter().map(|&b| char::from(b)).collect());
                }
                Verdict::NotApplicable => {}
                Verdict::Reject { reason, score } => {
                    if best.is_none_or(|(_, s)| score > s) {
                        best = Some((reason, score));
                    }
                }
            }
        }
        // A form without lead always applies, so `best` is set; stay total anyway.
        let (reason, score) = best.unwrap_or((MatchRejection::WrongPrefix, 0));
        if score == 0 && digits.len() > self.max_digits {
            return Err(MatchRejection::TooLong);
        }
        Err(reason)
    }
}

/// A caller ID reduced to its digits and whether it began with `+`.
struct Normalized {
    digits: [u8; MAX_INPUT_CHARS],
    len: usize,
    plus: bool,
}

/// What one character of a caller ID is.
enum Class {
    Digit(u8),
    Plus,
    Separator,
    Letter,
    Other,
}

impl Normalized {
    fn digits(&self) -> &[u8] {
        &self.digits[..self.len]
    }

    fn parse(raw: &str) -> Result<Self, MatchRejection> {
        if raw.len() > MAX_INPUT_BYTES {
            return Err(MatchRejection::TooLong);
        }
        let trimmed = raw.trim_matches(|c| matches!(classify(c), Class::Separator) && c != '-');
        if matches!(trimmed, "-1" | "-2" | "-3") {
            return Err(MatchRejection::Withheld);
        }
        let mut out = Normalized {
            digits: [0; MAX_INPUT_CHARS],
            len: 0,
            plus: false,
        };
        let mut invalid = false;
        let mut letters = false;
        for (i, c) in raw.chars().enumerate() {
            if i >= MAX_INPUT_CHARS {
                return Err(MatchRejection::TooLong);
            }
            match classify(c) {
                Class::Digit(d) => {
                    out.digits[out.len] = d;
                    out.len += 1;
                }
                Class::Plus if !out.plus && out.len == 0 => out.plus = true,
                Class::Plus | Class::Other => invalid = true,
                Class::Letter => letters = true,
                Class::Separator => {}
            }
        }
        if letters && out.len == 0 && is_withheld_marker(raw) {
            return Err(MatchRejection::Withheld);
        }
        if letters || invalid {
            return Err(MatchRejection::InvalidCharacters);
        }
        if out.len == 0 {
            return Err(MatchRejection::Empty);
        }
        Ok(out)
    }
}

/// First code points of the Unicode decimal digit blocks phones use
/// (each block is ten consecutive code points, zero first).
const DIGIT_ZEROS: [u32; 19] = [
    0x0660, // Arabic-Indic
    0x06F0, // Extended Arabic-Indic (Persian, Urdu)
    0x07C0, // NKo
    0x0966, // Devanagari
    0x09E6, // Bengali
    0x0A66, // Gurmukhi
    0x0AE6, // Gujarati
    0x0B66, // Oriya
    0x0BE6, // Tamil
    0x0C66, // Telugu
    0x0CE6, // Kannada
    0x0D66, // Malayalam
    0x0E50, // Thai
    0x0ED0, // Lao
    0x0F20, // Tibetan
    0x1040, // Myanmar
    0x17E0, // Khmer
    0x1810, // Mongolian
    0xFF10, // Full-width
];

fn classify(c: char) -> Class {
    match c {
        '0'..='9' => Class::Digit(c as u8),
        '+' | '\u{FF0B}' => Class::Plus,
        ' ' | '-' | '.' | '(' | ')' | '/' => Class::Separator,
        // Dashes and minus, full-width punctuation, soft hyphen, and the
        // invisible format marks (zero-width, bidi embeddings and isolates,
        // word joiner, BOM) that platforms wrap numbers in.
        '\u{2010}'..='\u{2015}'
        | '\u{2212}'
        | '\u{30FC}'
        | '\u{FF08}'
        | '\u{FF09}'
        | '\u{FF0D}'
        | '\u{FF0E}'
        | '\u{FF0F}'
        | '\u{00AD}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}' => Class::Separator,
        c if c.is_whitespace() => Class::Separator,
        c => {
            let cp = u32::from(c);
            if let Some(zero) = DIGIT_ZEROS.iter().find(|&&z| (z..z + 10).contains(&cp)) {
                // `cp - zero` < 10, so the cast cannot truncate.
                Class::Digit(b'0' + (cp - zero) as u8)
            } else if c.is_alphabetic() {
                Class::Letter
            } else {
                Class::Other
            }
        }
    }
}

/// Words platforms and carriers show instead of a hidden number, matched
/// case-insensitively inside the letters of the input ("Private number",
/// "anonymous@anonymous.invalid", "No Caller ID").
const WITHHELD_WORDS: [&str; 16] = [
    "unknown",
    "private",
    "restricted",
    "anonym", // anonymous, anonyme, Anonym
    "anonimo",
    "withheld",
    "unavailable",
    "notavailable",
    "blocked",
    "nocallerid",
    "hidden",
    "payphone",
    "privado",
    "desconocido",
    "unbekannt",
    "inconnu",
];

fn is_withheld_marker(raw: &str) -> bool {
    // Letters only, ASCII-lowercased; the input is at most 64 chars.
    let mut buf = [0u8; MAX_INPUT_CHARS];
    let mut len = 0;
    for c in raw.chars() {
        if c.is_ascii_alphabetic() && len < buf.len() {
            buf[len] = c.to_ascii_lowercase() as u8;
            len += 1;
        }
    }
    let letters = &buf[..len];
    WITHHELD_WORDS
        .iter()
        .any(|w| letters.windows(w.len()).any(|win| win == w.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_snake_case_and_unique() {
        let names: Vec<&str> = MatchRejection::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            names,
            [
                "empty",
                "withheld",
                "invalid_characters",
                "wrong_country",
                "wrong_prefix",
                "too_short",
                "too_long"
            ]
        );
    }

    #[test]
    fn unicode_digits_and_separators() {
        assert!(matches!(classify('٣'), Class::Digit(b'3')));
        assert!(matches!(classify('۹'), Class::Digit(b'9')));
        assert!(matches!(classify('０'), Class::Digit(b'0')));
        assert!(matches!(classify('\u{A0}'), Class::Separator));
        assert!(matches!(classify('\u{202A}'), Class::Separator));
        assert!(matches!(classify('é'), Class::Letter));
        assert!(matches!(classify('*'), Class::Other));
        assert!(matches!(classify('\0'), Class::Other));
    }

    #[test]
    fn unknown_home_country_is_invalid_input() {
        let p = CallerPattern::new("+442079460", 3).unwrap();
        assert!(matches!(
            CallerIdMatcher::new(p, "ZZ"),
            Err(MotpError::InvalidInput { .. })
        ));
    }
}
