//! The destination country of a stored (already validated) E.164 number,
//! cheaply: most country calling codes belong to one region, and then the
//! code alone says it; only shared codes (`+1`, `+44`, `+7`, …) need the
//! full parse of [`crate::phone::region_of`]. Parsing costs ~35 µs per
//! number, which dominated the figures over a large window.

use phonenumber::metadata::DATABASE;

/// The ISO 3166 alpha-2 region of `e164`, as [`crate::phone::region_of`]
/// says it.
pub fn of(e164: &str) -> Option<String> {
    let digits = e164.strip_prefix('+').unwrap_or(e164);
    // Calling codes are prefix-free: the first 1–3 digits that are one.
    for len in 1..=3.min(digits.len()) {
        let Ok(code) = digits[..len].parse::<u16>() else {
            break;
        };
        if let Some(regions) = DATABASE.region(&code) {
            if let [only] = regions.as_slice() {
                if *only != "001" {
                    return Some((*only).to_string());
                }
            }
            break;
        }
    }
    crate::phone::region_of(e164)
}

#[cfg(test)]
mod tests {
    #[test]
    fn agrees_with_the_full_parse() {
        for number in [
            "+447400123456",
            "+441481256789", // Guernsey shares +44
            "+12025550123",
            "+14165550123", // Canada shares +1
            "+33612345678",
            "+4915123456789",
            "+77012345678", // Kazakhstan shares +7
            "+79123456789",
            "+390669812345", // Vatican shares +39
            "+35318000000",
            "+97150123456",
            "+8613800138000",
            "+80012345678", // non-geographic
            "+999",
            "",
        ] {
            assert_eq!(
                super::of(number),
                crate::phone::region_of(number),
                "{number}"
            );
        }
    }
}
