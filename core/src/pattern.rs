//! The caller numbers a verification call can come from.

use std::fmt;

use crate::countries;
use crate::protocol::CallerInfo;
use crate::MotpError;

/// The shortest E.164 number, in digits with the calling code (Niue and
/// Tokelau: `+683 4xxx`, `+690 4xxx`).
const MIN_NUMBER_DIGITS: usize = 7;
/// The longest E.164 number, in digits with the calling code (ITU-T E.164).
const MAX_NUMBER_DIGITS: usize = 15;

/// The range of numbers a verification call comes from: an E.164 prefix
/// followed by `code_length` free digits, which are the one-time code.
///
/// With prefix `+442079460` and code length 3, a call from
/// `+44 20 7946 0123` carries the code `123`. The server tells the app the
/// pattern (`caller.prefix`, `caller.code_length`); it never tells the code.
///
/// ```
/// use motp_core::CallerPattern;
///
/// let pattern = CallerPattern::new("+44 20 7946 0", 3)?;
/// assert_eq!(pattern.prefix(), "+442079460");
/// assert_eq!(pattern.country_calling_code(), "44");
/// assert_eq!(pattern.number_for_code("123"), "+442079460123");
/// assert_eq!(pattern.range_size(), 1000);
/// # Ok::<(), motp_core::PatternError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallerPattern {
    /// `+` and digits, no separators.
    prefix: String,
    code_length: u8,
    calling_code: &'static str,
}

/// Why a caller pattern was refused by [`CallerPattern::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum PatternError {
    /// The prefix must be E.164 and start with `+` (`+442079460`).
    #[error("the caller prefix must start with '+' (E.164)")]
    MissingPlus,
    /// The prefix holds something other than `+`, digits and separators
    /// (space `-` `.` `(` `)` `/`).
    #[error("the caller prefix may hold only '+', digits and separators")]
    InvalidCharacter,
    /// The prefix does not start with an assigned country calling code.
    #[error("the caller prefix does not start with a known country calling code")]
    UnknownCountryCode,
    /// The prefix repeats the trunk prefix after the country code
    /// (`+44 0 20…` instead of `+44 20…`); that `0` is never dialled from
    /// abroad, so no caller ID would ever match.
    #[error("the caller prefix includes the national trunk prefix after the country code")]
    TrunkPrefixIncluded,
    /// The code length must be at least 1.
    #[error("the code length must be at least 1")]
    CodeLengthZero,
    /// Prefix and code together are shorter than any phone number (7 digits).
    #[error("prefix and code together are shorter than a phone number (7 digits)")]
    TooShort,
    /// Prefix and code together exceed the 15 digits E.164 allows.
    #[error("prefix and code together exceed the 15 digits of E.164")]
    TooLong,
}

impl From<PatternError> for MotpError {
    fn from(e: PatternError) -> Self {
        MotpError::InvalidInput {
            reason: e.to_string(),
        }
    }
}

impl CallerPattern {
    /// Validates a caller pattern: an E.164 `prefix` (separators such as
    /// spaces are allowed and dropped: `"+44 20 7946 0"`) and the number of
    /// code digits that follow it.
    ///
    /// The prefix must start with `+` and an assigned country calling code,
    /// and prefix plus code must make 7 to 15 digits.
    pub fn new(prefix: &str, code_length: u8) -> Result<Self, PatternError> {
        if code_length == 0 {
            return Err(PatternError::CodeLengthZero);
        }
        let rest = prefix.trim();
        let rest = rest.strip_prefix('+').ok_or(PatternError::MissingPlus)?;
        let mut digits = String::with_capacity(MAX_NUMBER_DIGITS);
        for c in rest.chars() {
            match c {
                '0'..='9' => {
                    if digits.len() >= MAX_NUMBER_DIGITS {
                        return Err(PatternError::TooLong);
                    }
                    digits.push(c);
                }
                ' ' | '-' | '.' | '(' | ')' | '/' => {}
                _ => return Err(PatternError::InvalidCharacter),
            }
        }
        let total = digits.len() + usize::from(code_length);
        if total > MAX_NUMBER_DIGITS {
            return Err(PatternError::TooLong);
        }
        if total < MIN_NUMBER_DIGITS {
            return Err(PatternError::TooShort);
        }
        let calling_code =
            countries::calling_code_of(&digits).ok_or(PatternError::UnknownCountryCode)?;
        let national = &digits[calling_code.len()..];
        if national.starts_with('0') && zero_is_only_a_trunk_prefix(calling_code) {
            return Err(PatternError::TrunkPrefixIncluded);
        }
        let mut normalized = String::with_capacity(digits.len() + 1);
        normalized.push('+');
        normalized.push_str(&digits);
        Ok(Self {
            prefix: normalized,
            code_length,
            calling_code,
        })
    }

    /// The prefix in E.164 form without separators: `"+442079460"`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The prefix digits, without `+`: `"442079460"`.
    pub fn prefix_digits(&self) -> &str {
        &self.prefix[1..]
    }

    /// How many code digits follow the prefix.
    pub fn code_length(&self) -> u8 {
        self.code_length
    }

    /// The country calling code the prefix starts with, digits only:
    /// `"44"`.
    pub fn country_calling_code(&self) -> &'static str {
        self.calling_code
    }

    /// The national part of the prefix, after the calling code:
    /// `"2079460"`.
    pub fn national_prefix_digits(&self) -> &str {
        &self.prefix_digits()[self.calling_code.len()..]
    }

    /// The full E.164 number that carries `code`: `"123"` →
    /// `"+442079460123"`.
    ///
    /// `code` should be exactly [`code_length`](Self::code_length) ASCII
    /// digits (debug builds assert it); any other string is appended as is.
    pub fn number_for_code(&self, code: &str) -> String {
        debug_assert!(
            code.len() == usize::from(self.code_length) && code.bytes().all(|b| b.is_ascii_digit()),
            "code must be {} ASCII digits",
            self.code_length
        );
        let mut number = String::with_capacity(self.prefix.len() + code.len());
        number.push_str(&self.prefix);
        number.push_str(code);
        number
    }

    /// How many different codes the pattern can carry: `10^code_length`,
    /// saturating at `u64::MAX`. This is the real entropy of a code.
    pub fn range_size(&self) -> u64 {
        10u64.saturating_pow(u32::from(self.code_length))
    }
}

/// Shows the prefix followed by one `X` per code digit: `+442079460XXX`.
/// The wire form: what the server sends as `caller`.
impl From<&CallerPattern> for CallerInfo {
    fn from(pattern: &CallerPattern) -> Self {
        Self {
            prefix: pattern.prefix.clone(),
            code_length: pattern.code_length,
        }
    }
}

/// Validates the wire form, as [`CallerPattern::new`] does.
impl TryFrom<&CallerInfo> for CallerPattern {
    type Error = PatternError;

    fn try_from(caller: &CallerInfo) -> Result<Self, PatternError> {
        Self::new(&caller.prefix, caller.code_length)
    }
}

impl fmt::Display for CallerPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.prefix)?;
        for _ in 0..self.code_length {
            f.write_str("X")?;
        }
        Ok(())
    }
}

/// True when every region of the calling code uses `0` as its trunk prefix
/// and has no national number starting with `0` (the UK, France…), so a
/// `0` right after the calling code can only be a misplaced trunk prefix.
fn zero_is_only_a_trunk_prefix(calling_code: &str) -> bool {
    let mut regions = countries::by_calling_code(calling_code).peekable();
    regions.peek().is_some()
        && regions.all(|c| {
            c.trunk_prefixes.iter().any(|t| t.starts_with('0'))
                && !c.national_numbers_may_start_with_zero
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalizes() {
        let p = CallerPattern::new(" +44 (20) 7946-0 ", 3).unwrap();
        assert_eq!(p.prefix(), "+442079460");
        assert_eq!(p.prefix_digits(), "442079460");
        assert_eq!(p.national_prefix_digits(), "2079460");
        assert_eq!(p.code_length(), 3);
        assert_eq!(p.country_calling_code(), "44");
        assert_eq!(p.number_for_code("007"), "+442079460007");
        assert_eq!(p.range_size(), 1000);
        assert_eq!(p.to_string(), "+442079460XXX");
        let it = CallerPattern::new("+39 06 1234 5", 3).unwrap();
        assert_eq!(it.national_prefix_digits(), "0612345");
        assert_eq!(
            CallerPattern::new("+1", 14).unwrap().range_size(),
            10u64.pow(14)
        );
        assert_eq!(CallerPattern::new("+683", 4).unwrap().prefix(), "+683");
    }

    #[test]
    fn rejects() {
        use PatternError::*;
        let cases: &[(&str, u8, PatternError)] = &[
            ("442079460", 3, MissingPlus),
            ("", 3, MissingPlus),
            ("+44a2079460", 3, InvalidCharacter),
            ("+44+2079460", 3, InvalidCharacter),
            ("+44\u{0663}", 3, InvalidCharacter),
            ("+2591234", 3, UnknownCountryCode),
            ("+0442079460", 3, UnknownCountryCode),
            ("+4402079460", 3, TrunkPrefixIncluded),
            ("+3301234", 3, TrunkPrefixIncluded),
            ("+442079460", 0, CodeLengthZero),
            ("+44207", 1, TooShort),
            ("+", 3, TooShort),
            ("+4420794601234", 3, TooLong),
            ("+442079460", 7, TooLong),
            ("+442079460", 255, TooLong),
        ];
        for &(prefix, len, want) in cases {
            assert_eq!(
                CallerPattern::new(prefix, len),
                Err(want),
                "{prefix:?} {len}"
            );
        }
        let long = format!("+{}", "4".repeat(100_000));
        assert_eq!(CallerPattern::new(&long, 3), Err(TooLong));
        let err: MotpError = TrunkPrefixIncluded.into();
        assert!(matches!(err, MotpError::InvalidInput { .. }));
    }
}
