//! `gait demo --policy` and `gait demo --durable`, run as a real process.

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
fn policy_demo_blocks_and_its_next_commands_work() {
    let dir = tempfile::tempdir().unwrap();
    let (code, v) = gait(dir.path(), &["demo", "--policy", "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["mode"], "policy");
    assert_eq!(v["policy_verdict"], "block");
    assert_eq!(v["matched_rule"], "block-destructive-tool-delete");
    assert!(
        v["reason_codes"]
            .as_array()
            .unwrap()
            .contains(&Value::from("destructive_tool_blocked"))
    );
    assert!(
        dir.path()
            .join("gait-out/policy_demo_high_risk.yaml")
            .is_file()
    );
    assert!(
        dir.path()
            .join("gait-out/intent_demo_delete.json")
            .is_file()
    );
    // Every suggested command runs: simulate allows (exit 0), the real
    // evaluation and the policy test block (exit 3).
    let expected = [0, 3, 3];
    for (cmd, want) in v["next_commands"].as_array().unwrap().iter().zip(expected) {
        let words: Vec<&str> = cmd.as_str().unwrap().split_whitespace().collect();
        assert_eq!(words[0], "gait");
        let (code, out) = gait(dir.path(), &words[1..]);
        assert_eq!(code, want, "{cmd}: {out}");
        assert_eq!(out["ok"], true, "{cmd}: {out}");
    }
}

#[test]
fn durable_demo_builds_a_verified_job_pack() {
    let dir = tempfile::tempdir().unwrap();
    let (code, v) = gait(dir.path(), &["demo", "--durable", "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["mode"], "durable");
    assert_eq!(v["job_id"], "job_demo_durable");
    assert_eq!(v["job_status"], "completed");
    assert_eq!(v["verify"], "ok");
    assert_eq!(v["pack_path"], "./gait-out/pack_job_demo_durable.zip");
    let job = dir.path().join("gait-out/jobs/job_demo_durable");
    assert!(job.join("state.json").is_file());
    assert!(job.join("events.jsonl").is_file());
    // Every suggested command works.
    for cmd in v["next_commands"].as_array().unwrap() {
        let words: Vec<&str> = cmd.as_str().unwrap().split_whitespace().collect();
        let status = Command::new(env!("CARGO_BIN_EXE_gait"))
            .current_dir(dir.path())
            .args(&words[1..])
            .output()
            .unwrap()
            .status;
        assert_eq!(status.code(), Some(0), "{cmd}");
    }
    // Running it again gives the same pack.
    let first = std::fs::read(dir.path().join("gait-out/pack_job_demo_durable.zip")).unwrap();
    let (code, _) = gait(dir.path(), &["demo", "--durable", "--json"]);
    assert_eq!(code, 0);
    let second = std::fs::read(dir.path().join("gait-out/pack_job_demo_durable.zip")).unwrap();
    assert_eq!(first, second);
    let (code, v) = gait(dir.path(), &["demo", "--durable", "--policy", "--json"]);
    assert_eq!(code, 6);
    assert!(v["error"].as_str().unwrap().contains("only one mode"));
}

#[test]
fn standard_demo_next_commands_work() {
    let dir = tempfile::tempdir().unwrap();
    let (code, v) = gait(dir.path(), &["demo", "--json"]);
    assert_eq!(code, 0);
    for cmd in v["next_commands"].as_array().unwrap() {
        let cmd = cmd.as_str().unwrap();
        let words: Vec<&str> = cmd.split_whitespace().collect();
        let out = Command::new(env!("CARGO_BIN_EXE_gait"))
            .current_dir(dir.path())
            .args(&words[1..])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{cmd}");
    }
}
