//! The PackSpec TCK classes (reference `scripts/test_packspec_tck.sh`) for
//! run packs, on fixtures generated here.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::io::Cursor;
use std::path::PathBuf;

use gait_digest::sha256;
use gait_pack::archive::{Archive, NewEntry, write_deterministic_to_vec};
use gait_pack::pack::{
    PackEntry, PackManifest, VerifyOptions, build_run_pack_bytes, deterministic_time, diff_packs,
    verify_pack, verify_pack_bytes,
};
use gait_sign::{SigningKey, Trace};

fn read(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

fn tck_pack() -> Vec<u8> {
    build_run_pack_bytes(&read("runpack_run_tck_unsigned.zip"), "", None)
        .unwrap()
        .bytes
}

fn entries(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut a = Archive::open(Cursor::new(zip)).unwrap();
    let names: Vec<String> = a.entries().iter().map(|e| e.name.clone()).collect();
    names
        .into_iter()
        .map(|n| {
            let d = a.read(&n, u64::MAX).unwrap();
            (n, d)
        })
        .collect()
}

fn rezip(list: Vec<(String, Vec<u8>)>) -> Vec<u8> {
    write_deterministic_to_vec(
        list.into_iter()
            .map(|(n, d)| NewEntry::file(&n, d))
            .collect(),
    )
    .unwrap()
}

fn standard() -> VerifyOptions {
    VerifyOptions::default()
}

/// TCK 1: run record → pack build → pack verify: ok.
#[test]
fn tck1_build_then_verify() {
    let r = verify_pack_bytes(&tck_pack(), &standard()).unwrap();
    assert!(r.ok(false), "{r:?}");
    assert_eq!(
        (r.pack_type.as_str(), r.source_ref.as_str()),
        ("run", "run_tck")
    );
    assert_eq!(r.signature_status.as_str(), "missing");
}

/// TCK 2: Signed with key A, verified with key B: not ok, status failed.
#[test]
fn tck2_wrong_key_fails() {
    let a = SigningKey::<Trace>::from_seed(&[0xa; 32]);
    let b = SigningKey::<Trace>::from_seed(&[0xb; 32]);
    let pack = build_run_pack_bytes(&read("runpack_run_tck_unsigned.zip"), "", Some(&a)).unwrap();
    let r = verify_pack_bytes(
        &pack.bytes,
        &VerifyOptions {
            public_key: Some(b.verifying_key().clone()),
            require_signature: false,
        },
    )
    .unwrap();
    assert!(!r.ok(false));
    assert_eq!(r.signature_status.as_str(), "failed");
}

/// TCK 4: a legacy runpack verifies through `pack verify` with
/// `legacy_type: runpack`.
#[test]
fn tck4_legacy_runpack() {
    for (name, digest) in [
        (
            "runpack_run_tck_unsigned.zip",
            "145318df409e6cd34adc043ee5949a26d299007ce7e633d35a7db25cac092af7",
        ),
        (
            "runpack_run_demo.zip",
            "436474ad70446539c909ae85bcc156d30197ba68efb8debdaed4f5d2eef2922e",
        ),
    ] {
        let r = verify_pack_bytes(&read(name), &standard()).unwrap();
        assert!(r.ok(false), "{name}: {r:?}");
        assert_eq!(r.legacy_type, "runpack");
        assert_eq!(r.pack_type, "run");
        assert_eq!(r.pack_id, digest);
        assert_eq!(r.files_checked, 4);
    }
    // Tampered legacy runpacks fail as runpacks do.
    let r = verify_pack_bytes(&read("tampered/runpack_result_modified.zip"), &standard()).unwrap();
    assert!(!r.ok(false));
    assert_eq!(r.hash_mismatches[0].path, "results.jsonl");
    assert!(
        verify_pack_bytes(&read("tampered/runpack_duplicate_entry.zip"), &standard())
            .unwrap_err()
            .is_verification_failure()
    );
}

/// TCK 5: Appending a newline to run_payload.json: hash mismatch.
#[test]
fn tck5_payload_tamper() {
    let list = entries(&tck_pack())
        .into_iter()
        .map(|(n, mut d)| {
            if n == "run_payload.json" {
                d.push(b'\n');
            }
            (n, d)
        })
        .collect();
    let r = verify_pack_bytes(&rezip(list), &standard()).unwrap();
    assert!(!r.ok(false));
    assert_eq!(r.hash_mismatches.len(), 1);
    assert_eq!(r.hash_mismatches[0].path, "run_payload.json");
}

/// TCK 6: An added extra.txt: undeclared.
#[test]
fn tck6_undeclared_file() {
    let mut list = entries(&tck_pack());
    list.push(("extra.txt".into(), b"smuggled".to_vec()));
    let r = verify_pack_bytes(&rezip(list), &standard()).unwrap();
    assert!(!r.ok(false));
    assert_eq!(r.undeclared_files, ["extra.txt"]);
}

/// TCK 7: manifest schema_id changed (re-serialized, unsorted): a
/// verification error.
#[test]
fn tck7_schema_invalid_manifest() {
    let list = entries(&tck_pack())
        .into_iter()
        .map(|(n, d)| {
            if n == "pack_manifest.json" {
                let mut v: serde_json::Value = serde_json::from_slice(&d).unwrap();
                v["schema_id"] = "gait.pack.invalid".into();
                let pretty = serde_json::to_vec_pretty(&v).unwrap();
                (n, pretty)
            } else {
                (n, d)
            }
        })
        .collect();
    let e = verify_pack_bytes(&rezip(list), &standard()).unwrap_err();
    assert!(e.is_verification_failure());
    assert!(e.to_string().contains("schema_id"), "{e}");
}

/// TCK 8: Diff is deterministic; a run pack against a legacy runpack differs.
#[test]
fn tck8_diff_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let left = dir.path().join("pack_run.zip");
    let right = dir.path().join("runpack_run_tck.zip");
    std::fs::write(&left, tck_pack()).unwrap();
    std::fs::write(&right, read("runpack_run_tck_unsigned.zip")).unwrap();
    let a = diff_packs(&left, &right).unwrap();
    let b = diff_packs(&left, &right).unwrap();
    assert_eq!(a.to_go_json(), b.to_go_json());
    assert!(a.summary.changed);
    assert!(a.summary.manifest_delta);
    assert_eq!(a.summary.context_drift_classification, "none");
    assert_eq!(
        a.right_pack_id,
        "145318df409e6cd34adc043ee5949a26d299007ce7e633d35a7db25cac092af7"
    );
    let same = diff_packs(&left, &left).unwrap();
    assert!(!same.summary.changed);
    let text = String::from_utf8(same.to_go_json()).unwrap();
    assert!(text.starts_with(r#"{"schema_id":"gait.pack.diff","schema_version":"1.0.0","created_at":"1980-01-01T00:00:00Z","left_pack_id":"#));
    assert!(text.ends_with(r#""summary":{"changed":false,"manifest_delta":false,"context_drift_classification":"none"}}"#), "{text}");
    // Two different runs: semantic context drift.
    let demo = dir.path().join("pack_demo.zip");
    std::fs::write(
        &demo,
        build_run_pack_bytes(&read("runpack_run_demo.zip"), "", None)
            .unwrap()
            .bytes,
    )
    .unwrap();
    let d = diff_packs(&left, &demo).unwrap();
    assert_eq!(d.summary.context_drift_classification, "semantic");
    assert!(d.summary.context_changed);
}

/// Producer kit: a minimal third-party run pack without proof records
/// (payload manifest_digest not cross-checked against the runpack) verifies.
#[test]
fn producer_kit_minimal_pack_verifies() {
    let payload = serde_json::json!({
        "schema_id": "gait.pack.run", "schema_version": "1.0.0",
        "created_at": "2026-02-05T00:00:00Z", "run_id": "run_kit",
        "capture_mode": "reference", "manifest_digest": "a".repeat(64),
        "intents_count": 0, "results_count": 0, "refs_count": 0,
    });
    let payload = serde_json::to_vec(&payload).unwrap();
    let source = b"opaque".to_vec();
    let mut manifest = PackManifest {
        schema_id: "gait.pack.manifest".into(),
        schema_version: "1.0.0".into(),
        created_at: deterministic_time(),
        producer_version: "kit-0.1".into(),
        pack_id: String::new(),
        pack_type: "run".into(),
        source_ref: "run_kit".into(),
        contents: vec![
            PackEntry {
                path: "run_payload.json".into(),
                sha256: sha256(&payload).to_hex().to_ascii_uppercase(),
                entry_type: "json".into(),
            },
            PackEntry {
                path: "source/runpack.zip".into(),
                sha256: sha256(&source).to_hex(),
                entry_type: "zip".into(),
            },
        ],
        signatures: vec![],
    };
    manifest.pack_id = manifest.compute_pack_id().to_hex();
    let zip = rezip(vec![
        (
            "pack_manifest.json".into(),
            serde_json::to_vec_pretty(&manifest).unwrap(),
        ),
        ("run_payload.json".into(), payload.clone()),
        ("source/runpack.zip".into(), source.clone()),
    ]);
    let r = verify_pack_bytes(&zip, &standard()).unwrap();
    assert!(r.ok(false), "{r:?}");
    assert_eq!(r.proof_records, 0);

    // The payload contract: run_id must equal source_ref.
    let mut bad: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    bad["run_id"] = "run_other".into();
    let bad = serde_json::to_vec(&bad).unwrap();
    let mut m2 = manifest.clone();
    m2.contents[0].sha256 = sha256(&bad).to_hex();
    m2.pack_id = m2.compute_pack_id().to_hex();
    let zip = rezip(vec![
        ("pack_manifest.json".into(), m2.to_canonical()),
        ("run_payload.json".into(), bad),
        ("source/runpack.zip".into(), source),
    ]);
    let e = verify_pack_bytes(&zip, &standard()).unwrap_err();
    assert!(e.to_string().contains("source_ref"), "{e}");
}

/// A job pack with intact hashes but an incomplete payload fails its
/// payload contract; call packs are reported as unsupported.
#[test]
fn job_pack_contract_and_unsupported_types() {
    let state = b"{}".to_vec();
    let mut manifest = PackManifest {
        schema_id: "gait.pack.manifest".into(),
        schema_version: "1.0.0".into(),
        created_at: deterministic_time(),
        producer_version: "0.0.0-dev".into(),
        pack_id: String::new(),
        pack_type: "job".into(),
        source_ref: "job_x".into(),
        contents: vec![PackEntry {
            path: "job_state.json".into(),
            sha256: sha256(&state).to_hex(),
            entry_type: "json".into(),
        }],
        signatures: vec![],
    };
    manifest.pack_id = manifest.compute_pack_id().to_hex();
    let zip = rezip(vec![
        ("pack_manifest.json".into(), manifest.to_canonical()),
        ("job_state.json".into(), state),
    ]);
    let e = verify_pack_bytes(&zip, &standard()).unwrap_err();
    assert!(e.is_verification_failure());
    assert_eq!(e.to_string(), "missing job_payload.json");
    let mut call = manifest.clone();
    call.pack_type = "call".into();
    call.pack_id = call.compute_pack_id().to_hex();
    let zip = rezip(vec![
        ("pack_manifest.json".into(), call.to_canonical()),
        ("job_state.json".into(), b"{}".to_vec()),
    ]);
    let e = verify_pack_bytes(&zip, &standard()).unwrap_err();
    assert!(e.is_verification_failure());
    assert_eq!(e.to_string(), "missing call_payload.json");
    // A wrong pack id is caught first.
    let mut m = manifest.clone();
    m.pack_id = "0".repeat(64);
    let zip = rezip(vec![("pack_manifest.json".into(), m.to_canonical())]);
    let e = verify_pack_bytes(&zip, &standard()).unwrap_err();
    assert!(
        e.to_string().starts_with("pack_id mismatch: expected="),
        "{e}"
    );
}

/// A manifest that fails PackSpec parsing but names the guard schema goes
/// to the legacy guard verifier (no pack id check); a broken guard manifest
/// is a verification failure.
#[test]
fn guard_manifests_use_the_guard_verifier() {
    let zip = rezip(vec![(
        "pack_manifest.json".into(),
        br#"{"schema_id":"gait.guard.pack_manifest","schema_version":"1.0.0"}"#.to_vec(),
    )]);
    let r = verify_pack_bytes(&zip, &standard()).unwrap();
    assert_eq!(r.pack_type, "guard");
    assert_eq!(r.legacy_type, "guard");
    assert_eq!(r.files_checked, 0);
    let zip = rezip(vec![(
        "pack_manifest.json".into(),
        br#"{"schema_id":"gait.guard.pack_manifest","created_at":"yesterday"}"#.to_vec(),
    )]);
    let e = verify_pack_bytes(&zip, &standard()).unwrap_err();
    assert!(e.is_verification_failure());
    assert!(e.to_string().contains("guard"), "{e}");
}

#[test]
fn verify_by_path_matches_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.zip");
    std::fs::write(&p, tck_pack()).unwrap();
    assert_eq!(
        verify_pack(&p, &standard()).unwrap(),
        verify_pack_bytes(&tck_pack(), &standard()).unwrap()
    );
}
