//! The numbering-plan facts the caller-ID matcher needs, for every region:
//! the country calling code, the trunk (national) prefixes and the
//! international access codes.
//!
//! The table is small and embedded (no files, no network). It is generated
//! from Google's libphonenumber metadata by
//! `core/examples/generate_countries.rs`, and a test fails if the two ever
//! disagree.

mod table;

/// Dialling facts of one region (a country or territory).
///
/// Several regions can share a calling code: `+1` is the whole North
/// American Numbering Plan (US, CA, the Caribbean…), `+7` is Russia and
/// Kazakhstan, `+44` the UK with Guernsey, Jersey and the Isle of Man.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Country {
    /// ISO 3166-1 alpha-2 code, upper case: `"GB"`.
    pub iso: &'static str,
    /// Country calling code, digits only: `"44"` for `+44`.
    pub calling_code: &'static str,
    /// Prefixes dialled before a national number inside the country, the
    /// usual one first: `["0"]` in most countries, `["1"]` in the NANP,
    /// `["8"]` in Russia, none in Italy or Spain.
    pub trunk_prefixes: &'static [&'static str],
    /// Codes dialled before a calling code to call abroad from this
    /// country: `["00"]` in most of the world, `["011"]` in the NANP,
    /// `["810"]` in Russia, several in Australia or Korea.
    pub international_prefixes: &'static [&'static str],
    /// Whether national numbers themselves may begin with `0` (Italy:
    /// `+39 06 …` is `06 …` at home, and that `0` is not a trunk prefix).
    pub national_numbers_may_start_with_zero: bool,
}

/// The region with this ISO 3166-1 alpha-2 code (`"GB"`, `"gb"`), if known.
pub fn by_iso(iso: &str) -> Option<&'static Country> {
    let iso = iso.trim();
    if iso.len() != 2 || !iso.is_ascii() {
        return None;
    }
    let key: [u8; 2] = {
        let b = iso.as_bytes();
        [b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()]
    };
    table::COUNTRIES
        .binary_search_by(|c| c.iso.as_bytes().cmp(&key[..]))
        .ok()
        .map(|i| &table::COUNTRIES[i])
}

/// The country calling code at the start of an E.164 number, given as
/// digits (`"442079460123"` → `Some("44")`; a leading `+` is ignored).
///
/// Calling codes are prefix-free (no code is the start of another), so at
/// most one can match. `None` when the digits start with no assigned code.
pub fn calling_code_of(e164_digits: &str) -> Option<&'static str> {
    let digits = e164_digits.strip_prefix('+').unwrap_or(e164_digits);
    (1..=3)
        .filter_map(|len| digits.get(..len))
        .find_map(|head| {
            table::CALLING_CODES
                .binary_search(&head)
                .ok()
                .map(|i| table::CALLING_CODES[i])
        })
}

/// Every region in the table, sorted by ISO code.
pub fn all() -> &'static [Country] {
    table::COUNTRIES
}

/// Every assigned country calling code, sorted, including the
/// non-geographic ones (`800`, `882`…) that belong to no region.
pub fn calling_codes() -> &'static [&'static str] {
    table::CALLING_CODES
}

/// The regions sharing a calling code (`"1"` → US, CA, and the Caribbean).
pub fn by_calling_code(calling_code: &str) -> impl Iterator<Item = &'static Country> + '_ {
    table::COUNTRIES
        .iter()
        .filter(move |c| c.calling_code == calling_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        let gb = by_iso("gb").unwrap();
        assert_eq!(gb.calling_code, "44");
        assert_eq!(gb.trunk_prefixes[0], "0");
        assert_eq!(by_iso(" US ").unwrap().international_prefixes, ["011"]);
        assert!(by_iso("XX").is_none());
        assert!(by_iso("").is_none());
        assert!(by_iso("GBR").is_none());
        assert!(by_iso("é").is_none());
        assert_eq!(calling_code_of("442079460123"), Some("44"));
        assert_eq!(calling_code_of("+12125550123"), Some("1"));
        assert_eq!(calling_code_of("8005550123"), Some("800"));
        assert_eq!(calling_code_of("2591"), None); // 259 is unassigned
        assert_eq!(calling_code_of(""), None);
        assert_eq!(calling_code_of("é"), None);
        assert!(by_calling_code("7").any(|c| c.iso == "KZ"));
    }

    #[test]
    fn table_is_sorted_and_calling_codes_are_prefix_free() {
        assert!(all().windows(2).all(|w| w[0].iso < w[1].iso));
        let codes = calling_codes();
        assert!(codes.windows(2).all(|w| w[0] < w[1]));
        for a in codes {
            for b in codes {
                assert!(a == b || !b.starts_with(a), "{a} is a prefix of {b}");
            }
        }
        for c in all() {
            assert!(codes.contains(&c.calling_code), "{}", c.iso);
        }
    }
}
