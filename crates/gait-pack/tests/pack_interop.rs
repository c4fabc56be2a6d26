//! Pack verification against the packs the reference produced, and
//! against tampered copies (expected outcomes from the reference run in
//! `shared/interop/expected.jsonl`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::path::PathBuf;

use gait_pack::pack::{PackError, PackReport, VerifyOptions, verify_pack};
use gait_sign::{Trace, VerifyingKey};

const UNSIGNED_ID: &str = "13b903f6b9cf086a7c3a0cdae65749f63e3600f9319eb16e756a90879b1161da";
const SIGNED_ID: &str = "d146ec76f1517c38aeec01643c5d3b5dd019a8b5e44754b19e8d1bc55631217a";

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn key(name: &str) -> VerifyingKey<Trace> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../gait-sign/tests/data")
        .join(name);
    VerifyingKey::from_public_text(&std::fs::read_to_string(path).unwrap(), name).unwrap()
}

fn verify(name: &str, key_name: Option<&str>, require: bool) -> Result<PackReport, PackError> {
    let options = VerifyOptions {
        public_key: key_name.map(key),
        require_signature: require,
    };
    verify_pack(&data(name), &options)
}

#[test]
fn unsigned_reference_pack_verifies() {
    let r = verify("pack_run_demo_unsigned.zip", None, false).unwrap();
    assert!(r.ok(false));
    assert_eq!(r.pack_id, UNSIGNED_ID);
    assert_eq!(r.pack_type, "run");
    assert_eq!(r.source_ref, "run_demo");
    assert_eq!(r.files_checked, 4);
    assert_eq!(r.proof_records, 3);
    assert_eq!(r.signature_status.as_str(), "missing");
    // Required signature on an unsigned pack: not ok.
    let r = verify("pack_run_demo_unsigned.zip", Some("trace_public.key"), true).unwrap();
    assert!(!r.ok(true));
    assert_eq!(r.signature_status.as_str(), "failed");
    assert!(
        r.signature_errors
            .contains(&"manifest has no signatures".to_owned())
    );
    assert!(
        r.signature_errors
            .contains(&"proof_records line 1 missing signature".to_owned())
    );
}

#[test]
fn signed_reference_pack_verifies() {
    let r = verify("pack_run_demo_signed.zip", Some("trace_public.key"), true).unwrap();
    assert!(r.ok(true), "{r:?}");
    assert_eq!(r.pack_id, SIGNED_ID);
    assert_eq!(r.files_checked, 4);
    assert_eq!(r.signature_status.as_str(), "verified");
    assert_eq!((r.signatures_total, r.signatures_valid), (1, 1));
    assert_eq!(r.proof_records, 3);
    // Without a key: skipped, still ok unless required.
    let r = verify("pack_run_demo_signed.zip", None, false).unwrap();
    assert_eq!(r.signature_status.as_str(), "skipped");
    assert!(r.ok(false));
    assert!(!r.ok(true));
}

#[test]
fn signed_reference_pack_wrong_key_fails() {
    for require in [true, false] {
        let r = verify(
            "pack_run_demo_signed.zip",
            Some("other_public.key"),
            require,
        )
        .unwrap();
        assert!(!r.ok(require));
        assert_eq!(r.signature_status.as_str(), "failed");
        assert_eq!(r.pack_id, SIGNED_ID);
        assert_eq!(r.files_checked, 4);
        assert!(r.signature_errors.contains(&"key id mismatch".to_owned()));
        assert!(
            r.signature_errors
                .contains(&"signature verification failed".to_owned())
        );
    }
}

#[test]
fn tampered_packs_fail() {
    let e = verify("tampered/pack_duplicate_entry.zip", None, false).unwrap_err();
    assert!(e.is_verification_failure(), "{e}");
    assert!(e.to_string().contains("duplicate"), "{e}");

    let r = verify("tampered/pack_payload_modified.zip", None, false).unwrap();
    assert!(!r.ok(false));
    assert_eq!(r.pack_id, UNSIGNED_ID);
    assert_eq!(r.files_checked, 4);
    assert_eq!(r.signature_status.as_str(), "missing");
    let paths: Vec<_> = r.hash_mismatches.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(paths, ["run_payload.json"]);

    let e = verify(
        "tampered/pack_signed_manifest_type_changed.zip",
        Some("trace_public.key"),
        false,
    )
    .unwrap_err();
    assert!(e.is_verification_failure(), "{e}");

    let r = verify("tampered/pack_undeclared_extra.zip", None, false).unwrap();
    assert!(!r.ok(false));
    assert_eq!(r.pack_id, UNSIGNED_ID);
    assert_eq!(r.files_checked, 4);
    assert_eq!(r.signature_status.as_str(), "missing");
    assert_eq!(r.source_ref, "run_demo");
    assert!(!r.undeclared_files.is_empty());
}

#[test]
fn not_a_pack_is_invalid_input() {
    let e = verify_pack(&data("does-not-exist.zip"), &VerifyOptions::default()).unwrap_err();
    assert!(!e.is_verification_failure() && !e.is_io(), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.zip");
    std::fs::write(&p, b"not a zip").unwrap();
    let e = verify_pack(&p, &VerifyOptions::default()).unwrap_err();
    assert!(!e.is_verification_failure() && !e.is_io(), "{e}");
    let z =
        gait_pack::archive::write_deterministic_to_vec(vec![gait_pack::archive::NewEntry::file(
            "a.json",
            b"{}".to_vec(),
        )])
        .unwrap();
    std::fs::write(&p, z).unwrap();
    let e = verify_pack(&p, &VerifyOptions::default()).unwrap_err();
    assert_eq!(e, PackError::Invalid("missing pack_manifest.json".into()));
}
