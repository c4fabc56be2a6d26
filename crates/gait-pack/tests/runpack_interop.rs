//! Runpacks the reference produced, and tampered copies of them, verify
//! (or fail) exactly as the reference reports; the demo and TCK runs
//! recorded here give the reference's bytes and digests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::io::Cursor;
use std::path::PathBuf;

use gait_pack::archive::Archive;
use gait_pack::runpack::{
    CaptureMode, RecordInput, RunRecorder, RunpackError, SignatureStatus, VerifyOptions,
    VerifyReport, demo_input, read_runpack, verify_runpack_file,
};
use gait_sign::{Trace, VerifyingKey};

const DEMO_DIGEST: &str = "436474ad70446539c909ae85bcc156d30197ba68efb8debdaed4f5d2eef2922e";
const TCK_DIGEST: &str = "145318df409e6cd34adc043ee5949a26d299007ce7e633d35a7db25cac092af7";

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn key(name: &str) -> VerifyingKey<Trace> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../gait-sign/tests/data")
        .join(name);
    let text = std::fs::read_to_string(path).unwrap();
    VerifyingKey::from_public_text(&text, name).unwrap()
}

fn verify(name: &str, key_name: Option<&str>, require: bool) -> Result<VerifyReport, RunpackError> {
    verify_runpack_file(&data(name), &VerifyOptions::new(key_name.map(key), require))
}

fn mismatch_paths(r: &VerifyReport) -> Vec<&str> {
    r.hash_mismatches.iter().map(|m| m.path.as_str()).collect()
}

#[test]
fn reference_runpacks_verify() {
    let r = verify("runpack_run_demo.zip", None, false).unwrap();
    assert!(r.is_ok(false));
    assert_eq!(r.run_id, "run_demo");
    assert_eq!(r.files_checked, 4);
    assert_eq!(r.manifest_digest, DEMO_DIGEST);
    assert_eq!(r.signature_status, SignatureStatus::Missing);

    let r = verify("runpack_run_tck_unsigned.zip", None, false).unwrap();
    assert!(r.is_ok(false));
    assert_eq!(r.manifest_digest, TCK_DIGEST);

    let r = verify(
        "runpack_run_tck_unsigned.zip",
        Some("trace_public.key"),
        true,
    )
    .unwrap();
    assert!(!r.is_ok(true));
    assert_eq!(r.signature_status, SignatureStatus::Missing);
    assert_eq!(r.signature_errors, ["manifest has no signatures"]);

    let r = verify("runpack_run_tck_signed.zip", Some("trace_public.key"), true).unwrap();
    assert!(r.is_ok(true));
    assert_eq!(r.signature_status, SignatureStatus::Verified);
    assert_eq!((r.signatures_total, r.signatures_valid), (1, 1));

    let r = verify("runpack_run_tck_signed.zip", None, false).unwrap();
    assert_eq!(r.signature_status, SignatureStatus::Skipped);
    assert_eq!(r.signature_errors, ["public key not configured"]);
    assert!(r.is_ok(false));
    assert!(!r.is_ok(true));

    let r = verify("runpack_run_tck_signed.zip", Some("other_public.key"), true).unwrap();
    assert!(!r.is_ok(true));
    assert!(!r.is_ok(false));
    assert_eq!(r.signature_status, SignatureStatus::Failed);
    assert_eq!(r.signature_errors, ["key id mismatch"]);
}

#[test]
fn tampered_runpacks_fail() {
    let e = verify("tampered/runpack_duplicate_entry.zip", None, false).unwrap_err();
    assert!(e.is_verification_failure(), "{e}");
    assert!(
        e.to_string()
            .starts_with("zip contains duplicate entries: ")
    );

    let r = verify(
        "tampered/runpack_file_dropped_from_manifest.zip",
        None,
        false,
    )
    .unwrap();
    assert!(!r.is_ok(false));
    assert_eq!(r.files_checked, 3);
    assert_eq!(r.missing_files, ["results.jsonl"]);
    assert_eq!(mismatch_paths(&r), ["manifest.json"]);
    assert_eq!(r.manifest_digest, DEMO_DIGEST);

    let r = verify("tampered/runpack_manifest_digest_altered.zip", None, false).unwrap();
    assert!(!r.is_ok(false));
    assert_eq!(r.files_checked, 4);
    assert_eq!(mismatch_paths(&r), ["manifest.json"]);
    assert_eq!(r.manifest_digest, "0".repeat(64));

    let r = verify("tampered/runpack_result_modified.zip", None, false).unwrap();
    assert_eq!(mismatch_paths(&r), ["results.jsonl"]);
    assert!(!r.is_ok(false));

    let r = verify("tampered/runpack_run_json_missing.zip", None, false).unwrap();
    assert_eq!(r.missing_files, ["run.json"]);
    assert!(r.hash_mismatches.is_empty());
    assert!(!r.is_ok(false));

    let r = verify(
        "tampered/runpack_signature_altered.zip",
        Some("trace_public.key"),
        false,
    )
    .unwrap();
    assert_eq!(r.signature_status, SignatureStatus::Failed);
    assert_eq!(r.manifest_digest, TCK_DIGEST);
    assert!(!r.is_ok(false));

    let r = verify(
        "tampered/runpack_signed_content_modified.zip",
        Some("trace_public.key"),
        false,
    )
    .unwrap();
    assert_eq!(r.signature_status, SignatureStatus::Verified);
    assert_eq!(mismatch_paths(&r), ["refs.json"]);
    assert!(!r.is_ok(false));

    // Stricter than the reference: an entry the manifest does not declare.
    let r = verify("tampered/runpack_undeclared_extra.zip", None, false).unwrap();
    assert!(r.missing_files.is_empty() && r.hash_mismatches.is_empty());
    assert!(!r.undeclared_files.is_empty());
    assert!(!r.is_ok(false));
}

#[test]
fn demo_matches_the_reference_bytes() {
    let recorded = RunRecorder::new(demo_input("0.0.0-dev")).record().unwrap();
    assert_eq!(recorded.manifest.manifest_digest, DEMO_DIGEST);
    assert!(
        recorded
            .warnings
            .contains(&gait_pack::runpack::REFERENCE_STRIP_WARNING.to_owned())
    );
    // Every entry is byte-identical with the reference's demo runpack.
    let mut ours = Archive::open(Cursor::new(recorded.zip)).unwrap();
    let mut theirs =
        Archive::open(std::fs::File::open(data("runpack_run_demo.zip")).unwrap()).unwrap();
    for name in [
        "manifest.json",
        "run.json",
        "intents.jsonl",
        "results.jsonl",
        "refs.json",
    ] {
        assert_eq!(
            ours.read(name, 1 << 20).unwrap(),
            theirs.read(name, 1 << 20).unwrap(),
            "{name}"
        );
    }
    let run = String::from_utf8(ours.read("run.json", 1 << 20).unwrap()).unwrap();
    assert_eq!(
        run,
        r#"{"created_at":"2026-02-05T00:00:00Z","env":{"arch":"demo","os":"demo","runtime":"go"},"producer_version":"0.0.0-dev","run_id":"run_demo","schema_id":"gait.runpack.run","schema_version":"1.0.0","timeline":[{"event":"start","ts":"2026-02-05T00:00:00Z"},{"event":"finish","ts":"2026-02-05T00:00:02Z"}]}"#
    );
    // Another producer version is another digest.
    let other = RunRecorder::new(demo_input("1.2.3")).record().unwrap();
    assert_ne!(other.manifest.manifest_digest, DEMO_DIGEST);
}

/// The reference's TCK `run_record_input.json` (with the environment the
/// reference runpack was recorded on).
pub const TCK_INPUT: &str = r#"{
  "run": {
    "schema_id": "gait.runpack.run",
    "schema_version": "1.0.0",
    "created_at": "2026-02-14T00:00:00Z",
    "producer_version": "0.0.0-dev",
    "run_id": "run_tck",
    "env": {"os": "darwin", "arch": "arm64", "runtime": "go"},
    "timeline": [{"event": "tool_call", "ts": "2026-02-14T00:00:00Z", "ref": "intent_1"}]
  },
  "intents": [{
    "schema_id": "gait.runpack.intent", "schema_version": "1.0.0",
    "created_at": "2026-02-14T00:00:00Z", "producer_version": "0.0.0-dev",
    "run_id": "run_tck", "intent_id": "intent_1", "tool_name": "echo",
    "args_digest": "1111111111111111111111111111111111111111111111111111111111111111",
    "args": {"message": "hello"}
  }],
  "results": [{
    "schema_id": "gait.runpack.result", "schema_version": "1.0.0",
    "created_at": "2026-02-14T00:00:00Z", "producer_version": "0.0.0-dev",
    "run_id": "run_tck", "intent_id": "intent_1", "status": "ok",
    "result_digest": "2222222222222222222222222222222222222222222222222222222222222222",
    "result": {"message": "hello"}
  }],
  "refs": {
    "schema_id": "gait.runpack.refs", "schema_version": "1.0.0",
    "created_at": "2026-02-14T00:00:00Z", "producer_version": "0.0.0-dev",
    "run_id": "run_tck",
    "receipts": [{
      "ref_id": "ref_1", "source_type": "http", "source_locator": "https://example.com",
      "query_digest": "3333333333333333333333333333333333333333333333333333333333333333",
      "content_digest": "4444444444444444444444444444444444444444444444444444444444444444",
      "retrieved_at": "2026-02-14T00:00:00Z", "redaction_mode": "metadata"
    }]
  },
  "capture_mode": "reference"
}"#;

#[test]
fn tck_record_matches_the_reference() {
    let mut input = RecordInput::from_json(TCK_INPUT.as_bytes()).unwrap();
    let capture = input
        .apply_settings(&gait_pack::runpack::RecordSettings::default())
        .unwrap();
    assert_eq!(capture, CaptureMode::Reference);
    let recorded = RunRecorder::new(input)
        .capture_mode(capture)
        .record()
        .unwrap();
    assert_eq!(recorded.manifest.manifest_digest, TCK_DIGEST);
    let mut ours = Archive::open(Cursor::new(recorded.zip)).unwrap();
    let mut theirs =
        Archive::open(std::fs::File::open(data("runpack_run_tck_unsigned.zip")).unwrap()).unwrap();
    for name in [
        "manifest.json",
        "run.json",
        "intents.jsonl",
        "results.jsonl",
        "refs.json",
    ] {
        assert_eq!(
            ours.read(name, 1 << 20).unwrap(),
            theirs.read(name, 1 << 20).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn strict_read_of_reference_runpacks() {
    let pack = read_runpack(&data("runpack_run_demo.zip")).unwrap();
    assert_eq!(pack.run.run_id, "run_demo");
    assert_eq!(pack.intents.len(), 3);
    assert_eq!(pack.results.len(), 3);
    assert_eq!(pack.refs.receipts.len(), 3);
    assert_eq!(pack.manifest.capture_mode, "reference");
    assert!(pack.intents.iter().all(|i| i.args.is_none()));
    let pack = read_runpack(&data("runpack_run_tck_signed.zip")).unwrap();
    assert_eq!(pack.manifest.signatures.len(), 1);
    assert_eq!(pack.refs.context_evidence_mode, "best_effort");

    for (name, verification) in [
        ("tampered/runpack_duplicate_entry.zip", true),
        ("tampered/runpack_file_dropped_from_manifest.zip", true),
        ("tampered/runpack_manifest_digest_altered.zip", true),
        ("tampered/runpack_result_modified.zip", true),
        ("tampered/runpack_run_json_missing.zip", false),
        ("tampered/runpack_signed_content_modified.zip", true),
        ("tampered/runpack_undeclared_extra.zip", true),
    ] {
        let e = read_runpack(&data(name)).unwrap_err();
        assert_eq!(e.is_verification_failure(), verification, "{name}: {e}");
    }
    // A signature is not checked by the strict reader.
    assert!(read_runpack(&data("tampered/runpack_signature_altered.zip")).is_ok());
}

#[test]
fn signed_manifest_signable_is_the_typed_projection() {
    // The reference signs its manifest projection minus signatures: the
    // signed digest of its signed TCK runpack equals the digest of ours.
    let pack = read_runpack(&data("runpack_run_tck_signed.zip")).unwrap();
    let mut unsigned = pack.manifest.clone();
    unsigned.signatures.clear();
    let digest = gait_digest::digest_serialize(&unsigned).unwrap().to_hex();
    assert_eq!(pack.manifest.signatures[0].signed_digest, digest);
}
