//! Job packs: build from a job directory, verify (payload contract),
//! inspect (lineage), determinism and tamper detection.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::path::Path;

use gait_pack::pack::{
    BuildOptions, JobEvent, JobState, VerifyOptions, build_job_pack, build_job_pack_bytes,
    check_job_contract, inspect_pack, read_job_dir, resolve_job_source, verify_pack,
    verify_pack_bytes,
};
use proptest::prelude::*;

/// A job state as the reference's job runtime writes it: submitted,
/// stopped for a decision, approved, resumed and completed.
const STATE: &str = r#"{
  "schema_id": "gait.job.runtime",
  "schema_version": "1.0.0",
  "created_at": "2026-02-14T00:00:00Z",
  "updated_at": "2026-02-14T00:05:00Z",
  "producer_version": "0.0.0-dev",
  "job_id": "job_t1",
  "status": "completed",
  "stop_reason": "completed",
  "status_reason_code": "completed",
  "environment_fingerprint": "envfp:test",
  "revision": 6,
  "checkpoints": [
    {"checkpoint_id": "cp_0001", "created_at": "2026-02-14T00:01:00Z", "type": "decision-needed", "summary": "approval required to continue", "required_action": "security_review", "reason_code": "decision_needed", "actor": "demo.user"},
    {"checkpoint_id": "cp_0002", "created_at": "2026-02-14T00:05:00Z", "type": "completed", "summary": "done", "reason_code": "completed", "actor": "demo.user"}
  ],
  "approvals": [
    {"created_at": "2026-02-14T00:03:00Z", "actor": "demo.approver", "reason": "approved_for_resume"}
  ]
}
"#;

fn events_text() -> String {
    let kinds = [
        "submitted",
        "checkpoint_added",
        "approval_granted",
        "resumed",
        "checkpoint_added",
    ];
    kinds
        .iter()
        .enumerate()
        .map(|(i, k)| {
            format!(
                r#"{{"schema_id":"gait.job.event","schema_version":"1.0.0","created_at":"2026-02-14T00:0{i}:00Z","job_id":"job_t1","revision":{},"type":"{k}","actor":"demo.user","payload":{{"n":{i}}}}}"#,
                i + 1
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn write_job(root: &Path) {
    let dir = root.join("job_t1");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("state.json"), STATE).unwrap();
    std::fs::write(dir.join("events.jsonl"), events_text()).unwrap();
}

fn parts() -> (JobState, Vec<JobEvent>) {
    let dir = tempfile::tempdir().unwrap();
    write_job(dir.path());
    read_job_dir(dir.path(), "job_t1").unwrap()
}

#[test]
fn build_verify_inspect() {
    let dir = tempfile::tempdir().unwrap();
    write_job(dir.path());
    let out = dir.path().join("pack_job.zip");
    let options = BuildOptions {
        output_path: Some(out.clone()),
        producer_version: "0.0.0-dev".into(),
        signing_key: None,
    };
    let built = build_job_pack(dir.path(), "job_t1", &options).unwrap();
    assert_eq!(built.manifest.pack_type, "job");
    assert_eq!(built.manifest.source_ref, "job_t1");

    let report = verify_pack(&out, &VerifyOptions::default()).unwrap();
    assert!(report.ok(false), "{report:?}");
    assert_eq!(report.pack_type, "job");
    // Three payload files and the proof records.
    assert_eq!(report.files_checked, 4);
    assert_eq!(report.proof_records, 3);

    let inspect = inspect_pack(&out).unwrap();
    let payload = inspect.job_payload.unwrap();
    assert_eq!(payload.checkpoint_count, 2);
    assert_eq!(payload.approval_count, 1);
    assert_eq!(payload.status, "completed");
    let lineage = serde_json::to_value(inspect.job_lineage.unwrap()).unwrap();
    assert_eq!(lineage["event_count"], 5);
    assert_eq!(lineage["last_event_type"], "checkpoint_added");
    assert_eq!(lineage["checkpoint_refs"][0]["checkpoint_id"], "cp_0001");
    assert_eq!(lineage["checkpoint_refs"][0]["type"], "decision-needed");
}

#[test]
fn deterministic_and_signed() {
    let (state, events) = parts();
    let a = build_job_pack_bytes(&state, &events, "0.0.0-dev", None).unwrap();
    let b = build_job_pack_bytes(&state, &events, "0.0.0-dev", None).unwrap();
    assert_eq!(a.bytes, b.bytes);
    assert_eq!(a.manifest.pack_id, b.manifest.pack_id);

    let key = gait_sign::SigningKey::<gait_sign::Trace>::generate().unwrap();
    let signed = build_job_pack_bytes(&state, &events, "0.0.0-dev", Some(&key)).unwrap();
    let opts = VerifyOptions {
        public_key: Some(key.verifying_key().clone()),
        require_signature: true,
    };
    let r = verify_pack_bytes(&signed.bytes, &opts).unwrap();
    assert!(r.ok(true), "{r:?}");
    assert_eq!(r.signature_status, "verified");
}

#[test]
fn contract_violations() {
    let (state, events) = parts();
    let built = build_job_pack_bytes(&state, &events, "0.0.0-dev", None).unwrap();
    let mut archive =
        gait_pack::archive::Archive::open(std::io::Cursor::new(built.bytes.clone())).unwrap();
    let payload = archive.read("job_payload.json", 1 << 20).unwrap();
    let state_bytes = archive.read("job_state.json", 1 << 20).unwrap();
    let events_bytes = archive.read("job_events.jsonl", 1 << 20).unwrap();
    let ok =
        |p: &[u8], s: &[u8], e: &[u8], r: &str| check_job_contract(r, Some(p), Some(s), Some(e));
    ok(&payload, &state_bytes, &events_bytes, "job_t1").unwrap();

    let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
    let cases: Vec<(&str, String, String, String, &str)> = vec![
        (
            "source_ref",
            text(&payload),
            text(&state_bytes),
            text(&events_bytes),
            "job_other",
        ),
        (
            "count",
            text(&payload).replace("\"checkpoint_count\":2", "\"checkpoint_count\":3"),
            text(&state_bytes),
            text(&events_bytes),
            "job_t1",
        ),
        (
            "status",
            text(&payload).replace("\"status\":\"completed\"", "\"status\":\"done\""),
            text(&state_bytes),
            text(&events_bytes),
            "job_t1",
        ),
        (
            "unknown member",
            text(&payload).replacen('{', "{\"extra\":1,", 1),
            text(&state_bytes),
            text(&events_bytes),
            "job_t1",
        ),
        (
            "event of another job",
            text(&payload),
            text(&state_bytes),
            text(&events_bytes).replacen("job_t1", "job_t2", 1),
            "job_t1",
        ),
        (
            "state job id",
            text(&payload),
            text(&state_bytes).replace("\"job_id\":\"job_t1\"", "\"job_id\":\"job_t9\""),
            text(&events_bytes),
            "job_t1",
        ),
        (
            "bad event line",
            text(&payload),
            text(&state_bytes),
            format!("{}{{not json\n", text(&events_bytes)),
            "job_t1",
        ),
    ];
    for (name, p, s, e, r) in cases {
        assert!(
            ok(p.as_bytes(), s.as_bytes(), e.as_bytes(), r).is_err(),
            "{name} should violate the contract"
        );
    }
    assert!(check_job_contract("job_t1", Some(&payload), None, Some(&events_bytes)).is_err());
}

#[test]
fn job_sources() {
    let dir = tempfile::tempdir().unwrap();
    write_job(dir.path());
    let job_dir = dir.path().join("job_t1");
    let (root, id) = resolve_job_source(job_dir.to_str().unwrap(), "").unwrap();
    assert_eq!((root.as_path(), id.as_str()), (dir.path(), "job_t1"));
    let (root, id) = resolve_job_source(job_dir.join("state.json").to_str().unwrap(), "").unwrap();
    assert_eq!((root.as_path(), id.as_str()), (dir.path(), "job_t1"));
    let (root, id) = resolve_job_source("job_x", "").unwrap();
    assert_eq!(root, Path::new("./gait-out/jobs"));
    assert_eq!(id, "job_x");
    // Ids that could leave the job root are refused.
    assert!(read_job_dir(dir.path(), "../etc").is_err());
    assert!(read_job_dir(dir.path(), "job_absent").is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Any single flipped byte of a job pack fails verification or is
    /// refused as unreadable.
    #[test]
    fn any_byte_flip_fails(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (state, events) = parts();
        let built = build_job_pack_bytes(&state, &events, "0.0.0-dev", None).unwrap();
        let mut bytes = built.bytes.clone();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        match verify_pack_bytes(&bytes, &VerifyOptions::default()) {
            Ok(r) => prop_assert!(!r.ok(false), "flip at {} verified", i),
            Err(_) => {}
        }
    }
}
