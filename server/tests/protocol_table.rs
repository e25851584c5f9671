//! The README's protocol table and the OpenAPI document list the same
//! statuses for every call (issue 15 item 7). The conformance stage
//! (schemathesis, `status_code_conformance`) then holds the server to the
//! document.

use std::collections::BTreeSet;

use motp_server::api::{openapi, Paths};
use utoipa::OpenApi;

fn statuses(text: &str) -> BTreeSet<u16> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() == 3 && (w.starts_with(['1', '2', '3', '4', '5'])))
        .filter_map(|w| w.parse().ok())
        .collect()
}

#[test]
fn the_readme_table_lists_what_the_document_lists() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let doc = serde_json::to_value(openapi::document(Paths::openapi())).unwrap();
    let start = readme
        .find("| call | success | every error it answers")
        .expect("the protocol table");
    let rows: Vec<&str> = readme[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert!(rows.len() >= 8, "{rows:?}");
    for row in rows {
        let call = row.split('`').nth(1).unwrap();
        let (method, path) = call.split_once(' ').unwrap();
        let op = &doc["paths"][path][method.to_ascii_lowercase()];
        assert!(op.is_object(), "{call} is not in the OpenAPI document");
        let documented: BTreeSet<u16> = op["responses"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.parse().unwrap())
            .collect();
        let cells: Vec<&str> = row.split(" | ").collect();
        let in_table = statuses(&cells[1..].join(" "));
        assert_eq!(in_table, documented, "{call}: README vs OpenAPI");
    }
}
