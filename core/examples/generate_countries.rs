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
//! With the argument `formats`, it rewrites `core/src/display/formats.rs`
//! instead: the number formats `motp_core::display` groups numbers with
//! (see "Number formats" below). `core/tests/display.rs` fails when that
//! file is not byte for byte what this writes.
//!
//! ```text
//! cargo run -q -p motp-core --example generate_countries -- formats
//! ```
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
    match std::env::args().nth(1).as_deref() {
        None => print!("{}", render(&rows(), &calling_codes())),
        // Written in place rather than to stdout: a shell redirect would
        // empty the file before cargo compiles the library that includes it.
        Some("formats") => {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/display/formats.rs");
            std::fs::write(path, render_formats(&format_plans()))
                .unwrap_or_else(|e| panic!("writing {path}: {e}"));
            eprintln!("wrote {path}");
        }
        Some(other) => {
            eprintln!("unknown argument {other:?}; expected nothing (table.rs) or `formats`");
            std::process::exit(2);
        }
    }
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

// ---------------------------------------------------------------------------
// Number formats: `core/src/display/formats.rs`, the grouping of national
// numbers that `motp_core::display` applies.
//
// What is derived, per calling code, from its main region (libphonenumber
// formats every number of a calling code with the main region's formats:
// Guernsey's like the UK's, Kazakhstan's like Russia's):
// - each `numberFormat`, in order: its `pattern`, its last (most specific)
//   `leadingDigits` pattern, which is the one libphonenumber tests;
// - its NATIONAL template: `format` with the first group token replaced by
//   the `nationalPrefixFormattingRule`, `$NP` being the national prefix
//   (`$1 $2 $3` with `$NP$FG` and prefix 0 → `0$1 $2 $3`);
// - its INTERNATIONAL template: `intlFormat`, else `format`; none when
//   `intlFormat` is `NA` (the format is then skipped internationally).
// Patterns are compiled here, with regex-syntax, into the small program
// that `core/src/display/digit_pattern.rs` runs: no regex engine ships in
// the library.
// ---------------------------------------------------------------------------

/// One `numberFormat` of a calling code's main region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatRow {
    /// The whole national significant number, with capture groups.
    pub pattern: String,
    /// The last `leadingDigits` pattern, matched at the start of the number.
    pub leading_digits: Option<String>,
    /// NATIONAL template, national prefix rule applied: `0$1 $2 $3`.
    pub national: String,
    /// INTERNATIONAL template: `$1 $2 $3`; `None`: national only.
    pub international: Option<String>,
}

/// The formats of one calling code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRow {
    pub calling_code: u16,
    /// The main region whose formats these are (`"001"`: non-geographic).
    pub region: String,
    pub formats: Vec<FormatRow>,
}

/// Every calling code whose main region has formats, sorted by code as a
/// number (44 before 420). Codes without formats (Ascension, Falklands…)
/// are left out: their numbers are shown ungrouped, as libphonenumber shows
/// them.
pub fn format_plans() -> Vec<PlanRow> {
    let mut plans: Vec<PlanRow> = calling_codes()
        .iter()
        .filter_map(|code| {
            let code: u16 = code.parse().expect("calling codes are numbers");
            let main = phonenumber::metadata::DATABASE.by_code(&code)?[0];
            if main.formats().is_empty() {
                return None;
            }
            let national_prefix = main.national_prefix().unwrap_or("");
            // The crate lists the international formats apart: the
            // national ones minus those marked `NA`, in the same order.
            // Pair them back up by pattern. An empty international list
            // (every format `NA`) makes libphonenumber format
            // internationally with the national formats, prefix rule left
            // out.
            let intl = main.international_formats();
            let mut intl_left = intl.iter().peekable();
            let formats = main
                .formats()
                .iter()
                .map(|f| {
                    let international = if intl.is_empty() {
                        Some(f.format().to_string())
                    } else if intl_left.peek().is_some_and(|i| {
                        i.pattern().as_str() == f.pattern().as_str()
                            && i.leading_digits().last().map(|l| l.as_str())
                                == f.leading_digits().last().map(|l| l.as_str())
                    }) {
                        intl_left.next().map(|i| i.format().to_string())
                    } else {
                        None
                    };
                    FormatRow {
                        pattern: squash(f.pattern().as_str()),
                        leading_digits: f.leading_digits().last().map(|l| squash(l.as_str())),
                        national: national_template(
                            f.format(),
                            f.national_prefix(),
                            national_prefix,
                        ),
                        international,
                    }
                })
                .collect();
            assert!(
                intl_left.next().is_none(),
                "+{code}: an international format pairs with no national one"
            );
            Some(PlanRow {
                calling_code: code,
                region: main.id().to_string(),
                formats,
            })
        })
        .collect();
    plans.sort_by_key(|p| p.calling_code);
    plans
}

/// The NATIONAL template, as libphonenumber builds it: the first `$n` of
/// `template` replaced by `rule`, where `$NP` stands for the national
/// prefix and `$FG` for that first `$n`. No rule leaves the template as is.
fn national_template(template: &str, rule: Option<&str>, national_prefix: &str) -> String {
    let Some(rule) = rule.filter(|r| !r.is_empty()) else {
        return template.to_string();
    };
    let at = template
        .find('$')
        .unwrap_or_else(|| panic!("template {template:?} has no group"));
    let first_group = template
        .get(at..at + 2)
        .filter(|t| t.as_bytes()[1].is_ascii_digit())
        .unwrap_or_else(|| panic!("template {template:?}: `$` without a group number"));
    let rule = rule
        .replace("$NP", national_prefix)
        .replace("$FG", first_group);
    format!("{}{}{}", &template[..at], rule, &template[at + 2..])
}

/// Instruction set of `core/src/display/digit_pattern.rs` (one `u16` each:
/// the high 4 bits say what, the low 12 bits with what).
const OP_CLASS: u16 = 0x0000; // one digit, if its bit is in the 10-bit mask
const OP_FORK: u16 = 0x1000; // try the next instruction, then the target
const OP_JUMP: u16 = 0x2000; // go to the target
const OP_SAVE: u16 = 0x3000; // record the position in a capture slot
const OPERAND: u16 = 0x0FFF;
/// Capture slots the runtime keeps: groups 1 to 7.
const MAX_GROUP: u32 = 7;

/// Compiles a libphonenumber pattern to a digit program. `captures`: keep
/// the capture groups (format patterns) or not (leading digits).
pub fn compile(pattern: &str, captures: bool) -> Vec<u16> {
    let mut program = Vec::new();
    emit(&parse(pattern), captures, &mut program);
    assert!(
        program.len() <= usize::from(OPERAND),
        "{pattern:?} compiles to {} instructions",
        program.len()
    );
    program
}

fn emit(hir: &Hir, captures: bool, program: &mut Vec<u16>) {
    // Forward jumps are emitted with target 0 and patched once known.
    fn patch(program: &mut [u16], at: usize, target: usize) {
        let target = u16::try_from(target)
            .ok()
            .filter(|&t| t <= OPERAND)
            .expect("program too long");
        program[at] |= target;
    }
    match hir.kind() {
        HirKind::Empty => {}
        HirKind::Literal(literal) => {
            for &b in literal.0.iter() {
                assert!(
                    b.is_ascii_digit(),
                    "literal {:?} in a number pattern",
                    b as char
                );
                program.push(OP_CLASS | 1 << (b - b'0'));
            }
        }
        HirKind::Class(class) => program.push(OP_CLASS | digit_mask(class)),
        HirKind::Concat(subs) => {
            for sub in subs {
                emit(sub, captures, program);
            }
        }
        HirKind::Alternation(subs) => {
            // fork L2; a; jump end; L2: fork L3; b; jump end; L3: c; end:
            let mut to_end = Vec::new();
            for (i, sub) in subs.iter().enumerate() {
                if i + 1 == subs.len() {
                    emit(sub, captures, program);
                } else {
                    let fork = program.len();
                    program.push(OP_FORK);
                    emit(sub, captures, program);
                    to_end.push(program.len());
                    program.push(OP_JUMP);
                    let next = program.len();
                    patch(program, fork, next);
                }
            }
            let end = program.len();
            for at in to_end {
                patch(program, at, end);
            }
        }
        HirKind::Repetition(rep) => {
            assert!(rep.greedy, "lazy repetition in a number pattern");
            for _ in 0..rep.min {
                emit(&rep.sub, captures, program);
            }
            match rep.max {
                // x{2,4} = x x (fork end; x; fork end; x; end:), greedy.
                Some(max) => {
                    let mut forks = Vec::new();
                    for _ in rep.min..max {
                        forks.push(program.len());
                        program.push(OP_FORK);
                        emit(&rep.sub, captures, program);
                    }
                    let end = program.len();
                    for at in forks {
                        patch(program, at, end);
                    }
                }
                // x* = loop: fork end; x; jump loop; end:
                None => {
                    assert!(
                        rep.sub.properties().minimum_len().unwrap_or(0) > 0,
                        "unbounded repetition of something that can be empty"
                    );
                    let start = program.len();
                    program.push(OP_FORK);
                    emit(&rep.sub, captures, program);
                    program.push(OP_JUMP);
                    let end = program.len();
                    patch(program, end - 1, start);
                    patch(program, start, end);
                }
            }
        }
        HirKind::Capture(capture) => {
            if captures {
                assert!(capture.index <= MAX_GROUP, "more than {MAX_GROUP} groups");
                let slot = u16::try_from(capture.index * 2).expect("small");
                program.push(OP_SAVE | slot);
                emit(&capture.sub, captures, program);
                program.push(OP_SAVE | (slot + 1));
            } else {
                emit(&capture.sub, captures, program);
            }
        }
        HirKind::Look(look) => panic!("look-around {look:?} in a number pattern"),
    }
}

/// The digits a class admits, as a 10-bit mask (bit d for digit d).
fn digit_mask(class: &regex_syntax::hir::Class) -> u16 {
    use regex_syntax::hir::Class;
    let ranges: Vec<(u32, u32)> = match class {
        Class::Unicode(c) => c
            .ranges()
            .iter()
            .map(|r| (u32::from(r.start()), u32::from(r.end())))
            .collect(),
        Class::Bytes(c) => c
            .ranges()
            .iter()
            .map(|r| (u32::from(r.start()), u32::from(r.end())))
            .collect(),
    };
    let mut mask = 0u16;
    for (start, end) in ranges {
        assert!(
            u32::from(b'0') <= start && end <= u32::from(b'9'),
            "class {class:?} admits more than digits"
        );
        for d in start..=end {
            mask |= 1 << (d - u32::from(b'0'));
        }
    }
    assert!(mask != 0, "empty class");
    mask
}

/// The Rust source of `core/src/display/formats.rs`. It is not run through
/// rustfmt (`#[rustfmt::skip]` on the module), so a test can compare it
/// byte for byte with a fresh rendering.
pub fn render_formats(plans: &[PlanRow]) -> String {
    /// Index of `template` in `templates`, added if new.
    fn template_index(templates: &mut Vec<String>, template: &str) -> u8 {
        let i = templates
            .iter()
            .position(|t| t == template)
            .unwrap_or_else(|| {
                templates.push(template.to_string());
                templates.len() - 1
            });
        u8::try_from(i)
            .ok()
            .filter(|&i| i != u8::MAX)
            .expect("fewer than 255 templates")
    }
    /// Offset of the program for `source` in `programs`, added if new.
    fn program_offset(
        programs: &mut Vec<(String, Vec<u16>, usize)>,
        next: &mut usize,
        source: &str,
        captures: bool,
    ) -> u16 {
        let words = compile(source, captures);
        let offset = match programs.iter().find(|(_, w, _)| *w == words) {
            Some(&(_, _, offset)) => offset,
            None => {
                let offset = *next;
                *next += 1 + words.len();
                programs.push((source.to_string(), words, offset));
                offset
            }
        };
        u16::try_from(offset)
            .ok()
            .filter(|&o| o != u16::MAX)
            .expect("programs fit in 64K words")
    }

    let mut templates: Vec<String> = Vec::new();
    let mut programs: Vec<(String, Vec<u16>, usize)> = Vec::new();
    let mut next_offset = 0usize;
    let mut plan_lines = String::new();
    let mut format_lines = String::new();
    let mut first = 0usize;
    for plan in plans {
        let _ = writeln!(
            plan_lines,
            "    Plan {{ calling_code: {}, first: {first}, len: {} }}, // {}",
            plan.calling_code,
            plan.formats.len(),
            plan.region
        );
        let _ = writeln!(
            format_lines,
            "    // +{} {}",
            plan.calling_code, plan.region
        );
        for f in &plan.formats {
            let leading = match &f.leading_digits {
                Some(l) => program_offset(&mut programs, &mut next_offset, l, false),
                None => u16::MAX,
            };
            let pattern = program_offset(&mut programs, &mut next_offset, &f.pattern, true);
            let national = template_index(&mut templates, &f.national);
            let international = match &f.international {
                Some(t) => template_index(&mut templates, t),
                None => u8::MAX,
            };
            let _ = writeln!(
                format_lines,
                "    Format {{ leading: {leading}, pattern: {pattern}, national: {national}, international: {international} }},"
            );
        }
        first += plan.formats.len();
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "// @generated from libphonenumber metadata by core/examples/generate_countries.rs.\n\
         // Source: {}. Do not edit by hand; regenerate with\n\
         //   cargo run -q -p motp-core --example generate_countries -- formats\n\
         // (which writes this file; it is not rustfmt-ed). core/tests/display.rs\n\
         // checks that it is exactly what the generator writes.\n",
        metadata_version()
    );
    let _ = writeln!(out, "use super::{{Format, Plan}};\n");
    let _ = writeln!(
        out,
        "/// The calling codes whose numbers have formats ({} of them), sorted.",
        plans.len()
    );
    let _ = writeln!(
        out,
        "pub(super) static PLANS: &[Plan] = &[\n{plan_lines}];\n"
    );
    let _ = writeln!(
        out,
        "/// Every calling code's formats, in libphonenumber's order ({first} of them).\n\
         /// `leading` and `pattern` are offsets in `PROGRAMS` (`u16::MAX`: no\n\
         /// leading digits); `national` and `international` index `TEMPLATES`\n\
         /// (`u8::MAX`: not used internationally)."
    );
    let _ = writeln!(
        out,
        "pub(super) static FORMATS: &[Format] = &[\n{format_lines}];\n"
    );
    let _ = writeln!(
        out,
        "/// The templates: `$n` is capture group n, anything else is written as is."
    );
    let _ = writeln!(out, "pub(super) static TEMPLATES: &[&str] = &[");
    for t in &templates {
        let _ = writeln!(out, "    {t:?},");
    }
    let _ = writeln!(out, "];\n");
    let _ = writeln!(
        out,
        "/// The compiled patterns ({next_offset} words): each is its length, then its\n\
         /// instructions (see `digit_pattern.rs`). The source pattern is above each one."
    );
    let _ = writeln!(out, "pub(super) static PROGRAMS: &[u16] = &[");
    for (source, words, offset) in &programs {
        let _ = writeln!(out, "    // {offset}: {source}");
        let mut line = format!("    {},", words.len());
        for w in words {
            if line.len() > 90 {
                let _ = writeln!(out, "{line}");
                line = String::from("   ");
            }
            let _ = write!(line, " {w:#06x},");
        }
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "];");
    out
}
