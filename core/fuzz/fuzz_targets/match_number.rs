//! Fuzzes the caller-ID matcher and the caller-pattern parser with arbitrary
//! text, across every home country and several numbering plans.
//!
//! Input layout: byte 0 picks the home country, byte 1 the code length,
//! byte 2 the caller prefix; the rest (lossy UTF-8) is the caller ID.

#![no_main]

use libfuzzer_sys::fuzz_target;
use motp_core::{countries, CallerIdMatcher, CallerPattern};

const PREFIXES: &[&str] = &[
    "+442079460", // UK, trunk 0
    "+12125550",  // NANP, trunk 1, 011
    "+390612345", // Italy, national numbers start with 0
    "+74951234",  // Russia, trunk 8, 810
    "+3312345",   // France
    "+861380013", // China
    "+6121234",   // Australia, 0011
    "+20223456",  // Egypt
    "+8008",      // non-geographic
    "+68340",     // Niue, short numbers
];

fuzz_target!(|data: &[u8]| {
    let [country, length, prefix, rest @ ..] = data else {
        return;
    };
    let raw = String::from_utf8_lossy(rest);

    // The pattern parser takes untrusted text too (server config, BYOB apps).
    let _ = CallerPattern::new(&raw, *length);

    let all = countries::all();
    let home = all[usize::from(*country) % all.len()].iso;
    let code_length = length % 8 + 1;
    let prefix = PREFIXES[usize::from(*prefix) % PREFIXES.len()];
    let Ok(pattern) = CallerPattern::new(prefix, code_length) else {
        return;
    };
    let matcher = CallerIdMatcher::new(pattern.clone(), home).expect("known country");
    if let Ok(code) = matcher.match_number(&raw) {
        assert_eq!(code.len(), usize::from(code_length), "{raw:?}");
        assert!(code.bytes().all(|b| b.is_ascii_digit()), "{raw:?}");
        // The same code in canonical E.164 form must match too.
        let canonical = pattern.number_for_code(&code);
        assert_eq!(
            matcher.match_number(&canonical).as_deref(),
            Ok(code.as_str())
        );
    }
});
