//! The runpack classes of the reference's PackSpec TCK
//! (`scripts/test_packspec_tck.sh`), on fixtures generated here: record,
//! verify, wrong signing key, tampered payload, undeclared entry,
//! schema-invalid manifest.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::io::Cursor;
use std::path::Path;

use gait_pack::archive::{Archive, NewEntry, write_deterministic_to_vec};
use gait_pack::runpack::{
    RecordInput, RecordSettings, RunRecorder, SignatureStatus, VerifyOptions, verify_runpack,
    verify_runpack_file,
};
use gait_sign::{KeyConfig, KeyMode, KeySource, SigningKey, Trace, VerifyingKey};

/// The TCK's `run_record_input.json`: `run_tck`, one `echo` intent with
/// digests `11…1`/`22…2`, one `http` receipt (`33…3`/`44…4`, `metadata`),
/// reference capture.
const FIXTURE: &str = r#"{
  "run": {"run_id": "run_tck", "created_at": "2026-02-14T00:00:00Z",
          "timeline": [{"event": "tool_call", "ts": "2026-02-14T00:00:00Z", "ref": "intent_1"}]},
  "intents": [{"intent_id": "intent_1", "tool_name": "echo",
               "args_digest": "1111111111111111111111111111111111111111111111111111111111111111"}],
  "results": [{"intent_id": "intent_1", "status": "ok",
               "result_digest": "2222222222222222222222222222222222222222222222222222222222222222"}],
  "refs": {"receipts": [{"ref_id": "ref_1", "source_type": "http", "source_locator": "https://example.com",
            "query_digest": "3333333333333333333333333333333333333333333333333333333333333333",
            "content_digest": "4444444444444444444444444444444444444444444444444444444444444444",
            "retrieved_at": "2026-02-14T00:00:00Z", "redaction_mode": "metadata"}]},
  "capture_mode": "reference"
}"#;

/// `gait run record` as the CLI runs it, optionally signed (prod mode).
fn record(out_dir: &Path, private_key: Option<&Path>) -> std::path::PathBuf {
    let mut input = RecordInput::from_json(FIXTURE.as_bytes()).unwrap();
    let capture = input.apply_settings(&RecordSettings::default()).unwrap();
    let key = private_key.map(|p| {
        KeyConfig {
            mode: KeyMode::Prod,
            private: Some(KeySource::Path(p.to_path_buf())),
            public: None,
        }
        .load_signing::<Trace>()
        .unwrap()
        .key
    });
    let mut recorder = RunRecorder::new(input).capture_mode(capture);
    if let Some(k) = &key {
        recorder = recorder.sign_with(k);
    }
    recorder.write_to_dir(out_dir).unwrap().path
}

/// `gait keys init --prefix <prefix>`.
fn keys_init(dir: &Path, prefix: &str) -> (std::path::PathBuf, VerifyingKey<Trace>) {
    let key = SigningKey::<Trace>::generate().unwrap();
    let files = gait_sign::write_key_pair(dir, prefix, &key, false).unwrap();
    let public = KeySource::Path(files.public_key_path.clone())
        .load_verifying::<Trace>()
        .unwrap();
    (files.private_key_path, public)
}

fn rezip(zip: &Path, edit: impl Fn(&mut Vec<(String, Vec<u8>)>)) -> Vec<u8> {
    let mut a = Archive::open(std::fs::File::open(zip).unwrap()).unwrap();
    let names: Vec<String> = a.entries().iter().map(|e| e.name.clone()).collect();
    let mut files: Vec<(String, Vec<u8>)> = names
        .into_iter()
        .map(|n| {
            let d = a.read(&n, 1 << 20).unwrap();
            (n, d)
        })
        .collect();
    edit(&mut files);
    write_deterministic_to_vec(
        files
            .into_iter()
            .map(|(n, d)| NewEntry::file(&n, d))
            .collect(),
    )
    .unwrap()
}

#[test]
fn tck_1_record_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let zip = record(dir.path(), None);
    assert_eq!(zip.file_name().unwrap(), "runpack_run_tck.zip");
    let r = verify_runpack_file(&zip, &VerifyOptions::default()).unwrap();
    assert!(r.is_ok(false));
    assert_eq!(r.run_id, "run_tck");
    assert_eq!(r.files_checked, 4);
}

#[test]
fn tck_2_wrong_key_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (a_private, a_public) = keys_init(dir.path(), "tck_a");
    let (_, b_public) = keys_init(dir.path(), "tck_b");
    let zip = record(&dir.path().join("out"), Some(&a_private));
    let r = verify_runpack_file(&zip, &VerifyOptions::new(Some(b_public), false)).unwrap();
    assert_eq!(r.signature_status, SignatureStatus::Failed);
    assert!(!r.is_ok(false));
    let r = verify_runpack_file(&zip, &VerifyOptions::new(Some(a_public), true)).unwrap();
    assert_eq!(r.signature_status, SignatureStatus::Verified);
    assert!(r.is_ok(true));
}

#[test]
fn tck_5_tampered_payload_fails() {
    let dir = tempfile::tempdir().unwrap();
    let zip = record(dir.path(), None);
    for name in ["run.json", "intents.jsonl", "results.jsonl", "refs.json"] {
        let bad = rezip(&zip, |files| {
            for (n, d) in files.iter_mut() {
                if n == name {
                    d.push(b'\n');
                }
            }
        });
        let r = verify_runpack(Cursor::new(bad), &VerifyOptions::default()).unwrap();
        assert!(!r.is_ok(false), "{name}");
        assert_eq!(r.hash_mismatches[0].path, name);
    }
}

#[test]
fn tck_6_undeclared_entry_fails() {
    let dir = tempfile::tempdir().unwrap();
    let zip = record(dir.path(), None);
    let bad = rezip(&zip, |files| {
        files.push(("extra.txt".into(), b"extra".to_vec()))
    });
    let r = verify_runpack(Cursor::new(bad), &VerifyOptions::default()).unwrap();
    assert_eq!(r.undeclared_files, ["extra.txt"]);
    assert!(!r.is_ok(false));
}

#[test]
fn tck_7_schema_invalid_manifest_fails() {
    let dir = tempfile::tempdir().unwrap();
    let zip = record(dir.path(), None);
    let bad = rezip(&zip, |files| {
        for (n, d) in files.iter_mut() {
            if n == "manifest.json" {
                // Re-serialized, members unsorted and indented.
                let v: serde_json::Value = serde_json::from_slice(d).unwrap();
                let mut text = String::from("{\n  \"schema_id\": \"gait.runpack.invalid\"");
                for (k, val) in v.as_object().unwrap().iter().rev() {
                    if k != "schema_id" {
                        text.push_str(&format!(",\n  {:?}: {}", k, val));
                    }
                }
                text.push_str("\n}\n");
                *d = text.into_bytes();
            }
        }
    });
    let e = verify_runpack(Cursor::new(bad), &VerifyOptions::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "manifest schema_id must be gait.runpack.manifest"
    );
    assert!(!e.is_verification_failure());
}
