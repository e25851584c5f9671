//! Showing the number that will call, with the code digits as slots to
//! fill: prefix `+442079460` with a 3-digit code is shown as
//! `+44 20 7946 0___`, or `020 7946 0___` on a UK phone, and
//! `020 7946 012_` once the user has typed `12`.
//!
//! The grouping is libphonenumber's, for every country: the same spaces,
//! dashes and brackets as its INTERNATIONAL and NATIONAL formats (`+1
//! 650-253-0000`, `(650) 253-0000`), from formats embedded at build time
//! (no network, no regex engine). Android, iOS and the server all call
//! [`display_caller`], so a number looks the same everywhere.
//!
//! ```
//! use motp_core::{display_caller, CallerPattern, DisplayCell, DisplayForm};
//!
//! let pattern = CallerPattern::new("+442079460", 3)?;
//! let shown = display_caller(&pattern, "", &DisplayForm::International);
//! assert_eq!(shown.to_string_with('_'), "+44 20 7946 0___");
//!
//! let uk = DisplayForm::National { home_country: "GB".into() };
//! let shown = display_caller(&pattern, "12", &uk);
//! assert_eq!(shown.to_string_with('•'), "020 7946 012•");
//! assert_eq!(shown.next_code_index(), Some(2));
//! assert_eq!(shown.cells.last(), Some(&DisplayCell::Code { index: 2, typed: None }));
//! # Ok::<(), motp_core::PatternError>(())
//! ```

mod digit_pattern;
#[rustfmt::skip]
mod formats;

use crate::countries;
use crate::pattern::CallerPattern;

use digit_pattern::{Captures, Program, ANY_DIGIT};

/// How to write the number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum DisplayForm {
    /// With the country calling code, readable anywhere:
    /// `+44 20 7946 0123`, `+1 650-253-0123`.
    International,
    /// The way people write the number inside `home_country`, usually the
    /// country of the SIM or the network (ISO 3166 alpha-2, any case:
    /// `"GB"`): `020 7946 0123` in the UK, `(650) 253-0123` in the US.
    ///
    /// Only numbers of the home country's calling code have a national
    /// form; others (and an unknown `home_country`) are shown
    /// internationally, and [`CallerDisplay::national`] is then `false`.
    /// So is a code that would not show nationally: Argentina writes
    /// mobiles without their leading 9 (`+54 9 11 2345-6789` is
    /// `011 15-2345-6789`), so a code that includes that 9 is shown
    /// internationally.
    National {
        /// ISO 3166 alpha-2 code of the country the user is in.
        home_country: String,
    },
}

/// One piece of the shown number, in reading order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum DisplayCell {
    /// Characters around the digits, to draw as they are: `"+"`, `" "`,
    /// `"-"`, `"("`, `") "`. Spaces separate the digit groups.
    Text {
        /// One or more characters, never a digit.
        text: String,
    },
    /// A digit the user does not type: the calling code, the trunk prefix
    /// (`0` in `020…`) and the known start of the caller number.
    Digit {
        /// The digit's value, 0 to 9.
        digit: u8,
    },
    /// One digit of the one-time code: a slot for the user to fill.
    Code {
        /// Position in the code, from 0.
        index: u8,
        /// The digit typed in this slot (0 to 9), or `None` if not yet.
        typed: Option<u8>,
    },
}

/// The caller number as a row of cells, ready to draw: see
/// [`display_caller`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CallerDisplay {
    /// The number in reading order. Every code slot appears exactly once,
    /// in order.
    pub cells: Vec<DisplayCell>,
    /// Whether the number is in the national form (it was asked for and
    /// the number belongs to the home country).
    pub national: bool,
}

impl CallerDisplay {
    /// The number as one string, with `placeholder` in the slots not typed
    /// yet: `+44 20 7946 012_` with `'_'`.
    pub fn to_string_with(&self, placeholder: char) -> String {
        let mut out = String::new();
        for cell in &self.cells {
            match cell {
                DisplayCell::Text { text } => out.push_str(text),
                DisplayCell::Digit { digit }
                | DisplayCell::Code {
                    typed: Some(digit), ..
                } => out.push(char::from(b'0' + digit)),
                DisplayCell::Code { typed: None, .. } => out.push(placeholder),
            }
        }
        out
    }

    /// The slot the next typed digit goes to (the one to highlight), or
    /// `None` when the code is complete.
    pub fn next_code_index(&self) -> Option<u8> {
        self.cells.iter().find_map(|cell| match cell {
            DisplayCell::Code { index, typed: None } => Some(*index),
            _ => None,
        })
    }
}

/// The number a verification call comes from, grouped the way
/// libphonenumber formats it, with the code digits as slots.
///
/// - `pattern`: the caller pattern from the server (`+442079460`, 3 code
///   digits).
/// - `typed`: what the user has typed so far. Only the ASCII digits count,
///   and only the first [`code_length`](CallerPattern::code_length) of
///   them; anything else is ignored, so the raw text field will do.
/// - `form`: international, or national as seen from the user's country.
///
/// The grouping depends on the number's first digits, and sometimes on its
/// length. While code digits are missing, the first format that fits
/// *some* code is used, so a group can move as digits are typed in the
/// rare ranges where the code decides it; once the code is complete, the
/// result is exactly libphonenumber's INTERNATIONAL or NATIONAL format of
/// the full number. Numbers libphonenumber has no format for are shown as
/// it shows them: the calling code, then the national number in one group.
pub fn display_caller(pattern: &CallerPattern, typed: &str, form: &DisplayForm) -> CallerDisplay {
    let calling_code = pattern.country_calling_code();
    let national = match form {
        DisplayForm::International => false,
        DisplayForm::National { home_country } => {
            countries::by_iso(home_country).is_some_and(|home| home.calling_code == calling_code)
        }
    };
    let number = NationalNumber::new(pattern, typed);
    if national {
        // `None` only when the national format would hide a code slot:
        // Argentina's drops the leading 9 of mobiles, and a code that
        // reaches back to it is shown internationally instead.
        if let Some(cells) = number.layout(calling_code, true) {
            return CallerDisplay {
                cells,
                national: true,
            };
        }
    }
    let mut cells = Vec::new();
    push_text(&mut cells, '+');
    cells.extend(
        calling_code
            .bytes()
            .map(|b| DisplayCell::Digit { digit: b - b'0' }),
    );
    push_text(&mut cells, ' ');
    match number.layout(calling_code, false) {
        Some(national_number) => cells.extend(national_number),
        None => cells.extend(number.ungrouped()),
    }
    CallerDisplay {
        cells,
        national: false,
    }
}

/// The national significant number of the caller: the known digits of the
/// prefix, then the code slots.
struct NationalNumber {
    known: Vec<u8>,
    code: Vec<Option<u8>>,
}

impl NationalNumber {
    fn new(pattern: &CallerPattern, typed: &str) -> Self {
        let code_length = usize::from(pattern.code_length());
        let mut typed = typed
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .take(code_length);
        NationalNumber {
            known: pattern
                .national_prefix_digits()
                .bytes()
                .map(|b| b - b'0')
                .collect(),
            code: (0..code_length).map(|_| typed.next()).collect(),
        }
    }

    fn len(&self) -> usize {
        self.known.len() + self.code.len()
    }

    fn cell(&self, at: usize) -> DisplayCell {
        match at.checked_sub(self.known.len()) {
            None => DisplayCell::Digit {
                digit: self.known[at],
            },
            Some(index) => DisplayCell::Code {
                // A code has at most 14 digits (E.164), so it fits.
                index: index as u8,
                typed: self.code[index],
            },
        }
    }

    /// The digit sets the pattern matcher reads: one digit, or any digit
    /// for a slot not typed yet.
    fn digit_sets(&self) -> Vec<u16> {
        let known = self.known.iter().map(|&d| Some(d));
        known
            .chain(self.code.iter().copied())
            .map(|digit| digit.map_or(ANY_DIGIT, |d| 1 << d))
            .collect()
    }

    /// All the digits in one group, as libphonenumber writes a number it
    /// has no format for.
    fn ungrouped(&self) -> impl Iterator<Item = DisplayCell> + '_ {
        (0..self.len()).map(|at| self.cell(at))
    }

    /// The national number laid out by the first format of `calling_code`
    /// that fits, or in one group when none does. `None` when the format
    /// would hide a code slot (only Argentina's national mobile format
    /// drops a digit, the leading 9).
    fn layout(&self, calling_code: &str, national: bool) -> Option<Vec<DisplayCell>> {
        let Some((template, captures)) = choose_format(calling_code, &self.digit_sets(), national)
        else {
            return Some(self.ungrouped().collect());
        };
        let mut cells = Vec::new();
        let mut chars = template.chars();
        while let Some(c) = chars.next() {
            match c {
                '$' => {
                    let group = chars.next().and_then(|g| g.to_digit(10));
                    let span = group.and_then(|g| captures.group(g as usize));
                    cells.extend(span.into_iter().flatten().map(|at| self.cell(at)));
                }
                '0'..='9' => cells.push(DisplayCell::Digit {
                    digit: c as u8 - b'0',
                }),
                _ => push_text(&mut cells, c),
            }
        }
        let slots = cells
            .iter()
            .filter(|c| matches!(c, DisplayCell::Code { .. }))
            .count();
        (slots == self.code.len()).then_some(cells)
    }
}

/// Appends `c` to the text cell at the end, or starts one.
fn push_text(cells: &mut Vec<DisplayCell>, c: char) {
    if let Some(DisplayCell::Text { text }) = cells.last_mut() {
        text.push(c);
    } else {
        cells.push(DisplayCell::Text {
            text: c.to_string(),
        });
    }
}

/// libphonenumber's choice: the first format whose leading digits match
/// the start of the number and whose pattern matches all of it, among the
/// national formats or the international ones. With code slots not typed
/// yet, "match" means "match for some digits in those slots" (the two
/// tests are made apart, which differs only when the slots reach into the
/// leading digits).
fn choose_format(
    calling_code: &str,
    digits: &[u16],
    national: bool,
) -> Option<(&'static str, Captures)> {
    let code: u16 = calling_code.parse().ok()?;
    let plan = formats::PLANS
        .binary_search_by_key(&code, |p| p.calling_code)
        .ok()
        .map(|i| &formats::PLANS[i])?;
    let start = usize::from(plan.first);
    formats::FORMATS[start..start + usize::from(plan.len)]
        .iter()
        .find_map(|f| {
            let template = if national {
                f.national
            } else {
                f.international
            };
            if template == NO_TEMPLATE {
                return None;
            }
            if f.leading != NO_PROGRAM
                && !Program::at(formats::PROGRAMS, f.leading).matches_start(digits)
            {
                return None;
            }
            let captures = Program::at(formats::PROGRAMS, f.pattern).captures(digits)?;
            Some((formats::TEMPLATES[usize::from(template)], captures))
        })
}

/// The formats of one calling code: `FORMATS[first..first + len]`.
struct Plan {
    calling_code: u16,
    first: u16,
    len: u8,
}

/// One libphonenumber `numberFormat`, compiled (see `formats.rs`).
struct Format {
    /// Offset in `PROGRAMS` of the leading-digits pattern, or `NO_PROGRAM`.
    leading: u16,
    /// Offset in `PROGRAMS` of the whole-number pattern.
    pattern: u16,
    /// Index in `TEMPLATES` of the NATIONAL template.
    national: u8,
    /// Index in `TEMPLATES` of the INTERNATIONAL template, or `NO_TEMPLATE`.
    international: u8,
}

const NO_PROGRAM: u16 = u16::MAX;
const NO_TEMPLATE: u8 = u8::MAX;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_formats_are_consistent() {
        let plans = formats::PLANS;
        assert!(plans
            .windows(2)
            .all(|w| w[0].calling_code < w[1].calling_code));
        let mut next = 0;
        for plan in plans {
            assert_eq!(usize::from(plan.first), next, "+{}", plan.calling_code);
            next += usize::from(plan.len);
        }
        assert_eq!(next, formats::FORMATS.len());
        for f in formats::FORMATS {
            for offset in [f.leading, f.pattern] {
                if offset != NO_PROGRAM {
                    assert!(Program::at(formats::PROGRAMS, offset).is_well_formed());
                }
            }
            assert!(usize::from(f.national) < formats::TEMPLATES.len());
            assert!(
                usize::from(f.international) < formats::TEMPLATES.len()
                    || f.international == NO_TEMPLATE
            );
        }
        // What the tables cost in the library: 6 bytes a format and a plan,
        // 2 a program word (about 28 KB in all for libphonenumber 9.0).
        assert_eq!(std::mem::size_of::<Format>(), 6);
        assert_eq!(std::mem::size_of::<Plan>(), 6);
    }
}
