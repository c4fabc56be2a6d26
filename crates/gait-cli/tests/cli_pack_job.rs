//! `gait pack build --type job`, `pack verify` and `pack inspect` of job
//! packs, run as a real process in a temporary directory.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const STATE: &str = r#"{"schema_id":"gait.job.runtime","schema_version":"1.0.0","created_at":"2026-02-14T00:00:00Z","updated_at":"2026-02-14T00:01:00Z","producer_version":"0.0.0-dev","job_id":"job_cli","status":"decision_needed","stop_reason":"decision_needed","status_reason_code":"decision_needed","environment_fingerprint":"envfp:cli","revision":2,"checkpoints":[{"checkpoint_id":"cp_0001","created_at":"2026-02-14T00:01:00Z","type":"decision-needed","summary":"needs review","required_action":"security_review","reason_code":"decision_needed"}]}"#;
const EVENTS: &str = r#"{"schema_id":"gait.job.event","schema_version":"1.0.0","created_at":"2026-02-14T00:00:00Z","job_id":"job_cli","revision":1,"type":"submitted"}
{"schema_id":"gait.job.event","schema_version":"1.0.0","created_at":"2026-02-14T00:01:00Z","job_id":"job_cli","revision":2,"type":"checkpoint_added"}
"#;

fn gait(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_gait"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_str(text.trim()).unwrap(),
    )
}

#[test]
fn job_pack_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("gait-out/jobs/job_cli");
    std::fs::create_dir_all(&job).unwrap();
    std::fs::write(job.join("state.json"), STATE).unwrap();
    std::fs::write(job.join("events.jsonl"), EVENTS).unwrap();

    // By job id under the default job root.
    let (code, v) = gait(
        dir.path(),
        &[
            "pack", "build", "--type", "job", "--from", "job_cli", "--json",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["pack_type"], "job");
    assert_eq!(v["source_ref"], "job_cli");
    let path = v["path"].as_str().unwrap().to_owned();
    assert!(path.starts_with("gait-out/pack_"), "{path}");

    // By job directory, to an explicit output: the same pack.
    let (code, v2) = gait(
        dir.path(),
        &[
            "pack",
            "build",
            "--type",
            "job",
            "--from",
            "gait-out/jobs/job_cli",
            "--out",
            "job.zip",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{v2}");
    assert_eq!(v2["pack_id"], v["pack_id"]);

    let (code, v) = gait(dir.path(), &["pack", "verify", "job.zip", "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["verify"]["pack_type"], "job");
    assert_eq!(v["verify"]["proof_records_verified"], 3);

    let (code, v) = gait(dir.path(), &["pack", "inspect", "job.zip", "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["inspect"]["job_payload"]["status"], "decision_needed");
    assert_eq!(v["inspect"]["job_lineage"]["event_count"], 2);

    // Unknown jobs and unsafe ids are invalid input.
    for from in ["job_absent", "../x"] {
        let (code, v) = gait(
            dir.path(),
            &["pack", "build", "--type", "job", "--from", from, "--json"],
        );
        assert_eq!(code, 6, "{from}: {v}");
        assert_eq!(v["ok"], false);
    }
}
