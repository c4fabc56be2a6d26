//! The public API of the evidence and project crates: no public function
//! answers with a bare `String` error (issue 11, "Errors and types"), and
//! every library root denies unreachable `pub` items.

#![allow(clippy::unwrap_used, clippy::panic, reason = "test code")]

use std::path::{Path, PathBuf};

const CRATES: [&str; 5] = [
    "gait-pack",
    "gait-regress",
    "gait-project",
    "gait-release",
    "gait-wrap",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The signatures (from `pub fn` to the body's `{` or a `;`) of the public
/// functions and methods in `text`; `pub(crate)` and friends are skipped.
fn public_signatures(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("pub fn ") {
        let sig = &rest[at..];
        let end = sig.find(['{', ';']).unwrap_or(sig.len());
        out.push(sig[..end].split_whitespace().collect::<Vec<_>>().join(" "));
        rest = &rest[at + 7..];
    }
    out
}

/// Whether the return type of `sig` is a `Result` whose error is `String`.
fn returns_string_error(sig: &str) -> bool {
    let Some((_, ret)) = sig.rsplit_once("->") else {
        return false;
    };
    let ret = ret.replace(' ', "");
    ret.starts_with("Result<") && ret.ends_with(",String>")
}

#[test]
fn the_detector_sees_a_string_error() {
    let sigs = public_signatures(
        "pub fn parse(bytes: &[u8])\n    -> Result<Vec<u8>, String> {}\npub(crate) fn x() {}\npub fn ok() -> Result<(), Error> {}",
    );
    assert_eq!(sigs.len(), 2);
    assert!(returns_string_error(&sigs[0]));
    assert!(!returns_string_error(&sigs[1]));
}

#[test]
fn no_public_function_returns_a_string_error() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = Vec::new();
    for name in CRATES {
        let mut files = Vec::new();
        rust_files(&crates.join(name).join("src"), &mut files);
        assert!(!files.is_empty(), "{name}: no sources found");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for sig in public_signatures(&text) {
                if returns_string_error(&sig) {
                    found.push(format!("{}: {sig}", file.display()));
                }
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn every_library_root_denies_unreachable_pub() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for name in CRATES {
        let lib = std::fs::read_to_string(crates.join(name).join("src/lib.rs")).unwrap();
        assert!(lib.contains("#![deny(unreachable_pub)]"), "{name}");
        assert!(!lib.contains("::*;"), "{name}: glob re-export");
    }
}
