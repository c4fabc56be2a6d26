//! Signing and verifying release directories: every tampering is caught
//! and named.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::fs;
use std::path::Path;

use gait_release::{
    BuildInfo, GENERATED_FILES, PROVENANCE_FILE, SUMS_FILE, SUMS_SIG_FILE, sign_release,
    verify_release,
};
use gait_sign::{Release, SigningKey};
use proptest::prelude::*;

fn key(seed: u8) -> SigningKey<Release> {
    SigningKey::from_seed(&[seed; 32])
}

fn build() -> BuildInfo {
    let mut b = BuildInfo::new("test-builder");
    b.source_commit = "0123456789abcdef0123456789abcdef01234567".into();
    b.cargo_lock_sha256 = "ab".repeat(32);
    b.toolchain = "rustc 1.95.0".into();
    b.build_command = "cargo build --release --locked -p gait-cli".into();
    b
}

fn release(dir: &Path) {
    fs::write(dir.join("gait"), b"\x7fELF pretend binary").unwrap();
    fs::write(dir.join("gait.cdx.json"), br#"{"bomFormat":"CycloneDX"}"#).unwrap();
    fs::write(dir.join("README.txt"), b"read me\n").unwrap();
    sign_release(dir, &key(1), &build()).unwrap();
}

fn failing_files(dir: &Path, k: &SigningKey<Release>) -> Vec<String> {
    let report = verify_release(dir, k.verifying_key()).unwrap();
    assert_eq!(report.ok, report.failures.is_empty());
    report.failures.into_iter().map(|f| f.file).collect()
}

#[test]
fn signed_release_verifies() {
    let dir = tempfile::tempdir().unwrap();
    release(dir.path());
    let report = verify_release(dir.path(), key(1).verifying_key()).unwrap();
    assert!(report.ok, "{:?}", report.failures);
    assert!(report.checksums_signature_ok && report.provenance_ok);
    assert_eq!(report.files.len(), 3);
    let sums = fs::read_to_string(dir.path().join(SUMS_FILE)).unwrap();
    let names: Vec<&str> = sums.lines().map(|l| &l[66..]).collect();
    assert_eq!(names, ["README.txt", "gait", "gait.cdx.json"]);
}

#[test]
fn signing_is_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    release(a.path());
    release(b.path());
    // Re-signing in place gives the same bytes too.
    sign_release(b.path(), &key(1), &build()).unwrap();
    for name in GENERATED_FILES {
        assert_eq!(
            fs::read(a.path().join(name)).unwrap(),
            fs::read(b.path().join(name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn provenance_records_the_build() {
    let dir = tempfile::tempdir().unwrap();
    release(dir.path());
    let v: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join(PROVENANCE_FILE)).unwrap()).unwrap();
    assert_eq!(v["_type"], "https://in-toto.io/Statement/v1");
    let def = &v["predicate"]["buildDefinition"];
    assert_eq!(
        def["externalParameters"]["buildCommand"],
        "cargo build --release --locked -p gait-cli"
    );
    assert_eq!(def["internalParameters"]["toolchain"], "rustc 1.95.0");
    assert_eq!(
        def["resolvedDependencies"][1]["digest"]["sha256"],
        "ab".repeat(32)
    );
    assert_eq!(
        v["predicate"]["runDetails"]["builder"]["id"],
        "test-builder"
    );
    assert_eq!(v["subject"].as_array().unwrap().len(), 3);
}

#[test]
fn every_flipped_byte_of_every_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    release(dir.path());
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 7);
    for name in &names {
        let path = dir.path().join(name);
        let original = fs::read(&path).unwrap();
        // Every byte of small files; about 80 evenly spread bytes (first
        // and last included) of larger ones; the flipped bit rotates.
        let stride = original.len().div_ceil(80).max(1);
        let positions = (0..original.len())
            .step_by(stride)
            .chain(std::iter::once(original.len() - 1));
        for i in positions {
            {
                let bit = 1u8 << (i % 8);
                let mut bytes = original.clone();
                bytes[i] ^= bit;
                fs::write(&path, &bytes).unwrap();
                let failing = failing_files(dir.path(), &key(1));
                assert!(
                    failing.contains(name),
                    "{name} byte {i} ^ {bit:#x}: failures name {failing:?}"
                );
            }
        }
        fs::write(&path, &original).unwrap();
    }
    assert!(failing_files(dir.path(), &key(1)).is_empty());
}

#[test]
fn added_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    release(dir.path());
    fs::write(dir.path().join("backdoor.sh"), b"#!/bin/sh\n").unwrap();
    assert_eq!(failing_files(dir.path(), &key(1)), ["backdoor.sh"]);
    fs::remove_file(dir.path().join("backdoor.sh")).unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    assert_eq!(failing_files(dir.path(), &key(1)), ["sub"]);
}

#[test]
fn removed_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    release(dir.path());
    fs::remove_file(dir.path().join("gait")).unwrap();
    assert_eq!(failing_files(dir.path(), &key(1)), ["gait"]);
    fs::remove_file(dir.path().join(PROVENANCE_FILE)).unwrap();
    assert_eq!(
        failing_files(dir.path(), &key(1)),
        ["gait", PROVENANCE_FILE]
    );
}

#[test]
fn signature_by_another_key_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    release(dir.path());
    // Verifying with another public key.
    let failing = failing_files(dir.path(), &key(2));
    assert_eq!(failing, [SUMS_SIG_FILE, "provenance.sig.json"]);
    // Re-signed by another key, verified with the first.
    sign_release(dir.path(), &key(2), &build()).unwrap();
    let failing = failing_files(dir.path(), &key(1));
    assert_eq!(failing, [SUMS_SIG_FILE, "provenance.sig.json"]);
}

#[test]
fn consistent_rewrite_without_the_key_is_rejected() {
    // An attacker replaces a file and rewrites SHA256SUMS and the
    // provenance to match, but cannot re-sign.
    let dir = tempfile::tempdir().unwrap();
    release(dir.path());
    let sig = fs::read(dir.path().join(SUMS_SIG_FILE)).unwrap();
    let psig = fs::read(dir.path().join("provenance.sig.json")).unwrap();
    fs::write(dir.path().join("gait"), b"evil").unwrap();
    sign_release(dir.path(), &key(9), &build()).unwrap();
    fs::write(dir.path().join(SUMS_SIG_FILE), sig).unwrap();
    fs::write(dir.path().join("provenance.sig.json"), psig).unwrap();
    let failing = failing_files(dir.path(), &key(1));
    assert_eq!(failing, [SUMS_FILE, PROVENANCE_FILE]);
}

#[test]
fn unusable_inputs_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    // Empty directory: nothing to sign.
    assert!(sign_release(dir.path(), &key(1), &build()).is_err());
    // A subdirectory cannot be signed.
    fs::create_dir(dir.path().join("sub")).unwrap();
    assert!(sign_release(dir.path(), &key(1), &build()).is_err());
    // Not a directory.
    assert!(verify_release(&dir.path().join("nope"), key(1).verifying_key()).is_err());
    // Bad build information.
    fs::remove_dir(dir.path().join("sub")).unwrap();
    fs::write(dir.path().join("a"), b"a").unwrap();
    let mut b = build();
    b.source_commit = "main".into();
    assert!(sign_release(dir.path(), &key(1), &b).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn any_content_round_trips_and_any_flip_fails(
        files in proptest::collection::btree_map("[a-z][a-z0-9._-]{0,11}", proptest::collection::vec(any::<u8>(), 0..64), 1..5),
        pick in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in &files {
            if GENERATED_FILES.contains(&name.as_str()) { continue; }
            fs::write(dir.path().join(name), bytes).unwrap();
        }
        sign_release(dir.path(), &key(3), &build()).unwrap();
        prop_assert!(failing_files(dir.path(), &key(3)).is_empty());
        let nonempty: Vec<(&String, &Vec<u8>)> = files.iter().filter(|(n, b)| !b.is_empty() && !GENERATED_FILES.contains(&n.as_str())).collect();
        if !nonempty.is_empty() {
            let (name, bytes) = nonempty[pick.index(nonempty.len())];
            let mut changed = bytes.clone();
            let at = pick.index(changed.len());
            changed[at] ^= 1 << bit;
            fs::write(dir.path().join(name), &changed).unwrap();
            prop_assert_eq!(failing_files(dir.path(), &key(3)), vec![name.clone()]);
        }
    }
}
