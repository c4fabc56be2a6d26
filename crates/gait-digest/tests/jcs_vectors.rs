//! RFC 8785 test vectors.
//!
//! * `tests/data/input/*.json` → `tests/data/output/<same name>`: the
//!   canonical form of each input must equal the expected output exactly.
//! * `tests/data/numbers.txt`: 100,000 lines `hexbits,ecmascript_string`
//!   (IEEE-754 bits in hex without leading zeros, then the string
//!   ECMAScript's `Number.prototype.toString` gives). Each double must
//!   format as the expected string, and parsing that string as JSON must
//!   canonicalize back to the same string.

// clippy.toml's `allow-*-in-tests` covers `#[test]` bodies only; the helper
// functions of this test file may panic on malformed test data too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

use gait_digest::{canonical, es_number_string};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn canonical_form_matches_expected_output() {
    let data = data_dir();
    let inputs = json_files(&data.join("input"));
    assert!(!inputs.is_empty(), "no vectors found in {}", data.display());

    let mut failures = Vec::new();
    for input_path in &inputs {
        let name = input_path.file_name().unwrap();
        let input = fs::read(input_path).unwrap();
        let expected = fs::read(data.join("output").join(name)).unwrap();
        // The expected files hold exactly the canonical bytes: none of them
        // ends with a newline (each ends with `}` or `]`), so they are
        // compared byte for byte, with no trimming. Guard that assumption
        // so a re-generated file with a trailing newline fails loudly here
        // rather than as a confusing mismatch.
        assert!(
            !expected.ends_with(b"\n"),
            "{}: expected output unexpectedly ends with a newline",
            name.display()
        );
        match canonical::from_slice(&input) {
            Ok(actual) if actual == expected => {}
            Ok(actual) => failures.push(format!(
                "{}:\n  expected {}\n  actual   {}",
                name.display(),
                String::from_utf8_lossy(&expected),
                String::from_utf8_lossy(&actual)
            )),
            Err(e) => failures.push(format!("{}: error {e}", name.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        inputs.len(),
        failures.join("\n")
    );
}

#[test]
fn numbers_format_as_ecmascript() {
    let path = data_dir().join("numbers.txt");
    let text = fs::read_to_string(&path).unwrap();

    let mut checked = 0usize;
    let mut failures = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        if line.is_empty() {
            continue;
        }
        let Some((hex, expected)) = line.split_once(',') else {
            failures.push(format!("line {line_no}: malformed {line:?}"));
            continue;
        };
        let bits = match u64::from_str_radix(hex, 16) {
            Ok(bits) => bits,
            Err(e) => {
                failures.push(format!("line {line_no}: bad hex {hex:?}: {e}"));
                continue;
            }
        };
        let f = f64::from_bits(bits);
        checked += 1;

        let formatted = es_number_string(f);
        if formatted != expected {
            failures.push(format!(
                "line {line_no} ({line}): es_number_string gave {formatted:?}"
            ));
        }

        // Every finite double's ECMAScript form is valid JSON, and it must
        // canonicalize to itself.
        if f.is_finite() {
            match canonical::from_slice(expected.as_bytes()) {
                Ok(canon) if canon == expected.as_bytes() => {}
                Ok(canon) => failures.push(format!(
                    "line {line_no} ({line}): canonical::from_slice gave {:?}",
                    String::from_utf8_lossy(&canon)
                )),
                Err(e) => failures.push(format!(
                    "line {line_no} ({line}): canonical::from_slice failed: {e}"
                )),
            }
        }
        if failures.len() >= 50 {
            break;
        }
    }

    assert!(
        failures.is_empty(),
        "number vectors failed (first {} shown):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked, 100_000, "expected 100,000 number vectors");
}
