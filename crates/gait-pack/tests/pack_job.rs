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
    assert_eq!(r.signature_status.as_str(), "verified");
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

fn contents(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut a = gait_pack::archive::Archive::open(std::io::Cursor::new(zip.to_vec())).unwrap();
    let names: Vec<String> = a.entries().iter().map(|e| e.name.clone()).collect();
    names
        .into_iter()
        .map(|n| {
            let d = a.read(&n, 1 << 24).unwrap();
            (n, d)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A single flipped byte anywhere in a job pack either fails
    /// verification (or is refused as unreadable) or changes no entry's
    /// content: container fields that carry no evidence (such as the
    /// "version made by" byte) are not covered by any digest, here as in
    /// the reference.
    #[test]
    fn byte_flips_never_change_content_unnoticed(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (state, events) = parts();
        let built = build_job_pack_bytes(&state, &events, "0.0.0-dev", None).unwrap();
        let mut bytes = built.bytes.clone();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        if let Ok(r) = verify_pack_bytes(&bytes, &VerifyOptions::default()) {
            if r.ok(false) {
                prop_assert_eq!(contents(&bytes), contents(&built.bytes), "flip at {}", i);
            }
        }
    }
}

/// The durable demo job: the event log is byte-identical to the one the
/// reference's job runtime writes for its demo; the state differs only in
/// the producer version and the control-boundary invariant (and so its
/// hash), and the invariant hash follows the reference's formula.
#[test]
fn durable_demo_job() {
    use gait_pack::pack::{demo_durable_job, safety_invariant_hash, write_job_dir};
    const REFERENCE_EVENTS: &str = concat!(
        r#"{"schema_id":"gait.job.event","schema_version":"1.0.0","created_at":"2026-02-14T00:00:00Z","job_id":"job_demo_durable","revision":1,"type":"submitted","actor":"demo.user","reason_code":"submitted","payload":{"environment_fingerprint":"envfp:demo-durable","identity":"demo.user"}}"#,
        "\n",
        r#"{"schema_id":"gait.job.event","schema_version":"1.0.0","created_at":"2026-02-14T00:01:00Z","job_id":"job_demo_durable","revision":2,"type":"checkpoint_added","actor":"demo.user","reason_code":"checkpoint_decision_needed","payload":{"checkpoint_id":"cp_0001","checkpoint_type":"decision-needed","required_action":"security_review"}}"#,
        "\n",
        r#"{"schema_id":"gait.job.event","schema_version":"1.0.0","created_at":"2026-02-14T00:03:00Z","job_id":"job_demo_durable","revision":3,"type":"approved","actor":"demo.approver","reason_code":"approval_recorded","payload":{"reason":"approved_for_resume"}}"#,
        "\n",
        r#"{"schema_id":"gait.job.event","schema_version":"1.0.0","created_at":"2026-02-14T00:04:00Z","job_id":"job_demo_durable","revision":4,"type":"resumed","actor":"demo.user","reason_code":"resumed","payload":{"actual_fingerprint":"envfp:demo-durable","expected_fingerprint":"envfp:demo-durable","identity":"demo.user","identity_validation_required":true,"reason":"approved_resume"}}"#,
        "\n",
        r#"{"schema_id":"gait.job.event","schema_version":"1.0.0","created_at":"2026-02-14T00:05:00Z","job_id":"job_demo_durable","revision":5,"type":"checkpoint_added","actor":"demo.user","reason_code":"checkpoint_completed","payload":{"checkpoint_id":"cp_0002","checkpoint_type":"completed","required_action":""}}"#,
        "\n",
    );
    let (state, events) = demo_durable_job("0.0.0-dev");
    let dir = tempfile::tempdir().unwrap();
    let job = write_job_dir(dir.path(), &state, &events).unwrap();
    assert_eq!(
        std::fs::read_to_string(job.join("events.jsonl")).unwrap(),
        REFERENCE_EVENTS
    );
    // The reference's invariants and hash for the same job.
    let reference = [
        "control_boundary=runtime_go".to_owned(),
        "default_privacy=reference_receipts".to_owned(),
        "fail_closed=true".to_owned(),
        "identity=demo.user".to_owned(),
    ];
    assert_eq!(
        safety_invariant_hash(&reference),
        "541a4854dda77c0b1edfc51e90ecad6f58f045717399eb89b86ac7475c0787ce"
    );
    assert_eq!(state.safety_invariants[0], "control_boundary=runtime_rust");
    assert_eq!(
        state.safety_invariant_hash,
        safety_invariant_hash(&state.safety_invariants)
    );
    // It reads back and packs into a verified job pack.
    let (s2, e2) = read_job_dir(dir.path(), "job_demo_durable").unwrap();
    assert_eq!((s2, e2), (state.clone(), events.clone()));
    let built = build_job_pack_bytes(&state, &events, "0.0.0-dev", None).unwrap();
    assert!(
        verify_pack_bytes(&built.bytes, &VerifyOptions::default())
            .unwrap()
            .ok(false)
    );
}
