//! The strict reader opens every archive the reference produced.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failure should panic"
)]

use std::path::PathBuf;

use gait_pack::archive::Archive;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn reference_archives_open_and_hash() {
    for name in [
        "runpack_run_demo.zip",
        "runpack_run_tck_signed.zip",
        "runpack_run_tck_unsigned.zip",
        "pack_run_demo_signed.zip",
        "pack_run_demo_unsigned.zip",
    ] {
        let file = std::fs::File::open(data(name)).unwrap();
        let mut a = Archive::open(file).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(a.duplicates().is_empty(), "{name}");
        let names: Vec<String> = a.entries().iter().map(|e| e.name.clone()).collect();
        for n in names {
            a.sha256(&n).unwrap_or_else(|e| panic!("{name}/{n}: {e}"));
        }
    }
}

#[test]
fn duplicate_entries_are_reported() {
    for name in [
        "tampered/runpack_duplicate_entry.zip",
        "tampered/pack_duplicate_entry.zip",
    ] {
        let a = Archive::open(std::fs::File::open(data(name)).unwrap()).unwrap();
        assert!(!a.duplicates().is_empty(), "{name}");
    }
}
