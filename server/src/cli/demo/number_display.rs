//! Phone numbers as a person sees them: the number grouped as the phone
//! shows it, the caller prefix beside the iOS code field, and the last
//! digits read off the call list.
//!
//! The grouping is motp-core's [`display_caller`], the very function the
//! Android and iOS code fields draw with, so the demo shows what a phone
//! would.

use motp_core::{display_caller, CallerPattern, DisplayForm};

/// A number in international format with the usual grouping
/// (`+44 20 7946 0123`); the number itself when it cannot be formatted.
pub fn display_number(e164: &str) -> String {
    // A whole number is a pattern whose last digit is "typed".
    let Some(digits) = e164.strip_prefix('+') else {
        return e164.to_string();
    };
    let split = digits.len().saturating_sub(1);
    if !digits.is_char_boundary(split) {
        return e164.to_string();
    }
    let (prefix, last) = digits.split_at(split);
    match CallerPattern::new(&format!("+{prefix}"), 1) {
        Ok(pattern) => {
            display_caller(&pattern, last, &DisplayForm::International).to_string_with('_')
        }
        Err(_) => e164.to_string(),
    }
}

/// The prefix as shown beside the iOS code field, with the code digits as
/// `_` (`+44 20 7946 0___`).
pub fn display_prefix(prefix: &str, code_length: u8) -> String {
    match CallerPattern::new(prefix, code_length) {
        Ok(pattern) => {
            display_caller(&pattern, "", &DisplayForm::International).to_string_with('_')
        }
        Err(_) => format!("{prefix}{}", "_".repeat(usize::from(code_length))),
    }
}

/// The last `n` digits of a number, as a person reads them off the call list.
pub fn last_digits(number: &str, n: u8) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let skip = digits.len().saturating_sub(usize::from(n));
    digits[skip..].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_shown_grouped_with_blanks_for_the_code() {
        assert_eq!(display_prefix("+442079460", 3), "+44 20 7946 0___");
        assert_eq!(display_prefix("+442079", 6), "+44 20 79__ ____");
        assert_eq!(display_number("+447700900123"), "+44 7700 900123");
        assert_eq!(display_number("not a number"), "not a number");
    }

    #[test]
    fn last_digits_are_what_a_person_reads() {
        assert_eq!(last_digits("+442079460123", 3), "123");
        assert_eq!(last_digits("+44 20 7946 0007", 3), "007");
        assert_eq!(last_digits("12", 3), "12");
    }
}
