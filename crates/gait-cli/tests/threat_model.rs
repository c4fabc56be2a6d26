//! Traceability of `docs/threat_model.md`: every threat row names tests
//! that exist and code paths that exist.
//!
//! The table's **Tests** column lists Rust test functions in backticks;
//! each must be defined as `fn <name>` in some `.rs` file under
//! `crates/*/tests` or `crates/*/src`. The **Code** column lists paths in
//! backticks; each must exist. Removing or renaming a named test makes
//! [`threat_model_rows_name_existing_tests`] fail.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The threats the reference's threat model lists; each needs a row.
const THREATS: [&str; 10] = [
    "Artifact tampering",
    "Wrapper bypass",
    "Policy ambiguity or missing required context evidence",
    "Approval or delegation token misuse",
    "Signing key compromise",
    "Unsafe replay",
    "Release artifact tampering",
    "Sensitive data leakage via raw capture",
    "Ambiguous input",
    "Policy condition resource exhaustion (CEL)",
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// One row of the table.
#[derive(Debug)]
struct Row {
    threat: String,
    code: Vec<String>,
    tests: Vec<String>,
}

/// The backticked items of a table cell.
fn ticks(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Parses the "Threat | Control | Code | Tests" table.
fn parse_table(markdown: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in markdown.lines() {
        let line = line.trim();
        if line.starts_with("| Threat | Control | Code | Tests |") {
            in_table = true;
            continue;
        }
        if !in_table {
            continue;
        }
        if !line.starts_with('|') {
            break;
        }
        if line.starts_with("|---") {
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
        assert_eq!(cells.len(), 4, "a threat row needs 4 cells: {line}");
        rows.push(Row {
            threat: cells[0].trim().to_owned(),
            code: ticks(cells[2]),
            tests: ticks(cells[3]),
        });
    }
    rows
}

/// Every `fn <name>` defined in `.rs` files under `dir` (recursively).
fn collect_fns(dir: &Path, out: &mut BTreeSet<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_fns(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = fs::read_to_string(&path).unwrap_or_default();
            for piece in text.split("fn ").skip(1) {
                let name: String = piece
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && piece[name.len()..].trim_start().starts_with(['(', '<']) {
                    out.insert(name);
                }
            }
        }
    }
}

fn defined_fns(root: &Path) -> BTreeSet<String> {
    let mut fns = BTreeSet::new();
    for krate in fs::read_dir(root.join("crates")).unwrap() {
        let krate = krate.unwrap().path();
        collect_fns(&krate.join("tests"), &mut fns);
        collect_fns(&krate.join("src"), &mut fns);
    }
    fns
}

/// What is wrong with the table: rows without tests, names that are not
/// defined, paths that do not exist, threats without a row.
fn problems(rows: &[Row], fns: &BTreeSet<String>, root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for threat in THREATS {
        if !rows.iter().any(|r| r.threat.starts_with(threat)) {
            out.push(format!("no row for the threat {threat:?}"));
        }
    }
    for row in rows {
        if row.tests.is_empty() {
            out.push(format!("{}: names no test", row.threat));
        }
        for test in &row.tests {
            if !fns.contains(test) {
                out.push(format!("{}: test `{test}` is not defined", row.threat));
            }
        }
        if row.code.is_empty() {
            out.push(format!("{}: names no code", row.threat));
        }
        for path in &row.code {
            if !root.join(path).exists() {
                out.push(format!("{}: path `{path}` does not exist", row.threat));
            }
        }
    }
    out
}

#[test]
fn threat_model_rows_name_existing_tests() {
    let root = repo_root();
    let doc = fs::read_to_string(root.join("docs/threat_model.md")).unwrap();
    let rows = parse_table(&doc);
    // Every threat of the reference's list has a row (`problems` checks
    // that); rows for threats we added beyond it are welcome.
    assert!(rows.len() >= THREATS.len(), "a row per threat: {rows:#?}");
    let fns = defined_fns(&root);
    let problems = problems(&rows, &fns, &root);
    assert!(
        problems.is_empty(),
        "docs/threat_model.md is out of date:\n{}",
        problems.join("\n")
    );
}

#[test]
fn a_missing_test_or_path_is_reported() {
    let root = repo_root();
    let table = "\
| Threat | Control | Code | Tests |
|---|---|---|---|
| Artifact tampering | c | `crates/gait-cli/src/main.rs` | `threat_model_rows_name_existing_tests`, `no_such_test_anywhere` |
| Wrapper bypass | c | `no/such/path.rs` | |
";
    let rows = parse_table(table);
    assert_eq!(rows.len(), 2);
    let fns = defined_fns(&root);
    assert!(fns.contains("threat_model_rows_name_existing_tests"));
    let found = problems(&rows, &fns, &root);
    for want in [
        "Artifact tampering: test `no_such_test_anywhere` is not defined",
        "Wrapper bypass: names no test",
        "Wrapper bypass: path `no/such/path.rs` does not exist",
        "no row for the threat \"Unsafe replay\"",
    ] {
        assert!(
            found.iter().any(|p| p == want),
            "{want:?} not in {found:#?}"
        );
    }
    assert!(
        !found
            .iter()
            .any(|p| p.contains("threat_model_rows_name_existing_tests"))
    );
}
