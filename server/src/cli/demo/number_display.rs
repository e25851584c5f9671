//! Phone numbers as a person sees them: the number grouped as the phone
//! shows it, the caller prefix beside the iOS code field, and the last
//! digits read off the call list.
//!
//! The grouping is libphonenumber's for now, and only [`display_number`]
//! calls it: number display is to become a motp-core function (one rule
//! for the SDK, the shells and this demo), and then only that function's
//! body changes.

/// A number in international format with the usual grouping
/// (`+44 20 7946 0123`); the number itself when it cannot be formatted.
pub fn display_number(e164: &str) -> String {
    // The parser is third-party code: a panic becomes "unformatted".
    std::panic::catch_unwind(|| phonenumber::parse(None, e164).ok())
        .ok()
        .flatten()
        .map(|n| {
            n.format()
                .mode(phonenumber::Mode::International)
                .to_string()
        })
        .unwrap_or_else(|| e164.to_string())
}

/// The prefix as shown beside the iOS code field: the grouping of a whole
/// number of the range, with the code digits as `_` (`+44 20 7946 0___`).
pub fn display_prefix(prefix: &str, code_length: u8) -> String {
    let sample = format!("{prefix}{}", "0".repeat(usize::from(code_length)));
    let mut chars: Vec<char> = display_number(&sample).chars().collect();
    let mut left = usize::from(code_length);
    for c in chars.iter_mut().rev() {
        if left == 0 {
            break;
        }
        if c.is_ascii_digit() {
            *c = '_';
            left -= 1;
        }
    }
    chars.into_iter().collect()
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
