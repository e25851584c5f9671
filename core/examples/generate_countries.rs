//! Regenerates `core/src/countries/table.rs`, the small country table the
//! caller-ID matcher embeds, from Google's libphonenumber metadata (as
//! shipped by the `phonenumber` crate, a dev-dependency only):
//!
//! ```text
//! cargo run -q -p motp-core --example generate_countries > core/src/countries/table.rs
//! cargo fmt -p motp-core
//! ```
//!
//! `core/tests/countries_table.rs` includes this file and fails when the
//! embedded table and the metadata disagree (e.g. after a `phonenumber`
//! upgrade), so the table cannot silently go stale.
//!
//! What is derived, per region (libphonenumber XML attribute in brackets):
//! - `calling_code` [countryCode];
//! - `trunk_prefixes`: [nationalPrefix], then every alternative of
//!   [nationalPrefixForParsing] that is a finite set of plain digit strings
//!   without capture groups or anchors (Belarus `0|80?` adds `0` and `80`,
//!   Lithuania `[08]` adds `8`). Alternatives with captures rewrite the
//!   number (carrier codes, local dialling) and are left out;
//! - `international_prefixes`: every string [internationalPrefix] matches
//!   (Russia `810`, Australia `0011`, `0014`…), when that set is finite;
//!   else the [preferredInternationalPrefix];
//! - `national_numbers_may_start_with_zero`: whether the general national
//!   number pattern admits a leading `0` (Italy, Côte d'Ivoire…).

// Shared with the table test, which does not use every item.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt::Write as _;

use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Hir, HirKind};

/// One region, as derived from the metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub iso: String,
    pub calling_code: String,
    pub trunk_prefixes: Vec<String>,
    pub international_prefixes: Vec<String>,
    pub national_numbers_may_start_with_zero: bool,
}

/// The metadata version, for the generated header.
pub fn metadata_version() -> &'static str {
    // "0.3.10+9.0.33": the build metadata is the libphonenumber release.
    "phonenumber 0.3 (libphonenumber metadata bundled with the crate)"
}

/// Every geographic region (two-letter ISO id), sorted by ISO code.
pub fn rows() -> Vec<Row> {
    let mut rows: Vec<Row> = phonenumber::metadata::DATABASE
        .iter()
        .filter(|m| m.id().len() == 2 && m.id().bytes().all(|b| b.is_ascii_uppercase()))
        .map(|m| {
            let mut trunk: Vec<String> = Vec::new();
            if let Some(np) = m.national_prefix() {
                trunk.push(np.to_string());
            }
            if let Some(npp) = m.national_prefix_for_parsing() {
                let mut extra: Vec<String> = plain_alternatives(&squash(npp.as_str()))
                    .into_iter()
                    .filter(|p| !trunk.contains(p))
                    .collect();
                extra.sort_by(|a, b| (a.len(), a).cmp(&(b.len(), b)));
                trunk.extend(extra);
            }
            let international = m
                .international_prefix()
                .map(|re| {
                    let all = finite_language(&parse(&squash(re.as_str())));
                    match all {
                        Some(set) => set,
                        None => m
                            .preferred_international_prefix()
                            .map(|p| vec![p.replace('~', "")])
                            .unwrap_or_default(),
                    }
                })
                .unwrap_or_default();
            let general = squash(m.descriptors().general().national_number().as_str());
            Row {
                iso: m.id().to_string(),
                calling_code: m.country_code().to_string(),
                trunk_prefixes: trunk,
                international_prefixes: international,
                national_numbers_may_start_with_zero: may_start_with(&parse(&general), b'0'),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.iso.cmp(&b.iso));
    rows
}

/// Every country calling code, geographic or not (+800, +882…), sorted.
pub fn calling_codes() -> Vec<String> {
    // `DATABASE.iter()` yields one entry per region id, and all the
    // non-geographic codes share the id "001"; ask by code instead.
    let set: BTreeSet<String> = (1u16..1000)
        .filter(|code| phonenumber::metadata::DATABASE.by_code(code).is_some())
        .map(|code| code.to_string())
        .collect();
    set.into_iter().collect()
}

/// The Rust source of `core/src/countries/table.rs`.
pub fn render(rows: &[Row], codes: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// @generated from libphonenumber metadata by core/examples/generate_countries.rs.\n\
         // Source: {}. Do not edit by hand; regenerate with\n\
         //   cargo run -q -p motp-core --example generate_countries > core/src/countries/table.rs\n\
         //   cargo fmt -p motp-core\n\
         // core/tests/countries_table.rs checks that it still agrees with the metadata.\n",
        metadata_version()
    );
    let _ = writeln!(out, "use super::Country;\n");
    let _ = writeln!(
        out,
        "/// Every region libphonenumber knows ({} of them), sorted by ISO code.",
        rows.len()
    );
    let _ = writeln!(out, "pub(super) static COUNTRIES: &[Country] = &[");
    for r in rows {
        let _ = writeln!(
            out,
            "    Country {{ iso: {:?}, calling_code: {:?}, trunk_prefixes: &{:?}, \
             international_prefixes: &{:?}, national_numbers_may_start_with_zero: {} }},",
            r.iso,
            r.calling_code,
            r.trunk_prefixes,
            r.international_prefixes,
            r.national_numbers_may_start_with_zero
        );
    }
    let _ = writeln!(out, "];\n");
    let _ = writeln!(
        out,
        "/// Every country calling code, including non-geographic ones (+800, +882…), sorted."
    );
    let _ = writeln!(
        out,
        "pub(super) static CALLING_CODES: &[&str] = &{codes:?};"
    );
    out
}

fn main() {
    print!("{}", render(&rows(), &calling_codes()));
}

/// libphonenumber's XML indents its patterns; the whitespace is not part of them.
fn squash(pattern: &str) -> String {
    pattern.split_whitespace().collect()
}

fn parse(pattern: &str) -> Hir {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .build()
        .parse(pattern)
        .unwrap_or_else(|e| panic!("libphonenumber pattern {pattern:?}: {e}"))
}

/// Every string `hir` matches, when that is a finite set of digit strings.
fn finite_language(hir: &Hir) -> Option<Vec<String>> {
    let mut extractor = Extractor::new();
    extractor
        .kind(ExtractKind::Prefix)
        .limit_class(10)
        .limit_total(1000);
    let seq = extractor.extract(hir);
    if !seq.is_exact() {
        return None;
    }
    let mut set: Vec<String> = seq
        .literals()?
        .iter()
        .map(|l| String::from_utf8(l.as_bytes().to_vec()).ok())
        .collect::<Option<_>>()?;
    if set
        .iter()
        .any(|s| s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    set.sort_by(|a, b| (a.len(), a).cmp(&(b.len(), b)));
    set.dedup();
    Some(set)
}

/// The plain prefixes among the top-level alternatives of a
/// nationalPrefixForParsing pattern (see the module docs).
fn plain_alternatives(pattern: &str) -> Vec<String> {
    let hir = parse(pattern);
    let alternatives: Vec<&Hir> = match hir.kind() {
        HirKind::Alternation(subs) => subs.iter().collect(),
        _ => vec![&hir],
    };
    let mut out = Vec::new();
    for alt in alternatives {
        let props = alt.properties();
        if props.explicit_captures_len() > 0 || !props.look_set().is_empty() {
            continue;
        }
        if let Some(set) = finite_language(alt) {
            for s in set {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
    }
    out
}

/// Whether some string matched by `hir` starts with `byte`. When the first
/// bytes cannot be enumerated, answers `true` (the cautious answer: the
/// matcher then never treats a leading `byte` as a mistake).
fn may_start_with(hir: &Hir, byte: u8) -> bool {
    let mut extractor = Extractor::new();
    extractor
        .kind(ExtractKind::Prefix)
        .limit_class(10)
        .limit_literal_len(1)
        .limit_total(1000);
    match extractor.extract(hir).literals() {
        Some(lits) => lits
            .iter()
            .any(|l| l.as_bytes().first().is_none_or(|&b| b == byte)),
        None => true,
    }
}
