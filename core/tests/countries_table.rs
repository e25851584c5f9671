//! The embedded country table must agree with libphonenumber's metadata
//! (the `phonenumber` dev-dependency). When this fails after a metadata
//! upgrade, regenerate the table:
//!
//! ```text
//! cargo run -q -p motp-core --example generate_countries > core/src/countries/table.rs
//! cargo fmt -p motp-core
//! ```

#[path = "../examples/generate_countries.rs"]
mod generator;

use motp_core::countries;

#[test]
fn embedded_table_matches_libphonenumber_metadata() {
    let derived = generator::rows();
    let embedded: Vec<generator::Row> = countries::all()
        .iter()
        .map(|c| generator::Row {
            iso: c.iso.to_string(),
            calling_code: c.calling_code.to_string(),
            trunk_prefixes: c.trunk_prefixes.iter().map(|s| s.to_string()).collect(),
            international_prefixes: c
                .international_prefixes
                .iter()
                .map(|s| s.to_string())
                .collect(),
            national_numbers_may_start_with_zero: c.national_numbers_may_start_with_zero,
        })
        .collect();
    assert_eq!(embedded.len(), derived.len(), "region count");
    for (e, d) in embedded.iter().zip(&derived) {
        assert_eq!(e, d, "region {} differs; regenerate the table", d.iso);
    }
    assert_eq!(countries::calling_codes(), generator::calling_codes());
}

#[test]
fn known_facts_survive_regeneration() {
    let get = |iso| countries::by_iso(iso).unwrap();
    assert_eq!(get("US").trunk_prefixes, ["1"]);
    assert_eq!(get("US").international_prefixes, ["011"]);
    assert_eq!(get("GB").trunk_prefixes[0], "0");
    assert_eq!(get("RU").trunk_prefixes, ["8"]);
    assert_eq!(get("RU").international_prefixes, ["810"]);
    assert!(get("IT").trunk_prefixes.is_empty());
    assert!(get("IT").national_numbers_may_start_with_zero);
    assert!(!get("GB").national_numbers_may_start_with_zero);
    assert!(!get("FR").national_numbers_may_start_with_zero);
    assert!(get("AU").international_prefixes.contains(&"0011"));
    assert_eq!(get("HU").trunk_prefixes, ["06"]);
    assert!(get("BY").trunk_prefixes.contains(&"80"));
    assert!(countries::all().len() > 240);
}
