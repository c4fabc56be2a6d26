//! `gait job …` as a real process in a temporary directory: the JSON
//! output, the exit codes (classified by cause), the stricter emergency
//! stop, crash recovery, `doctor`'s durability check, the MCP boundary and
//! job packs built from folders the runtime wrote.

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

const POLICY: &str = "schema_id: gait.gate.policy\nschema_version: 1.0.0\ndefault_verdict: allow\nrules:\n  - name: block-delete\n    effect: block\n    match:\n      tool_names: [tool.delete]\n";

fn gait(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_gait"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let value = serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not JSON ({e}): {text} / {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), value)
}

fn job(dir: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["job"];
    all.extend_from_slice(args);
    all.push("--json");
    gait(dir, &all)
}

#[test]
fn lifecycle_output_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, v) = job(
        d,
        &[
            "submit",
            "--id",
            "job_basic",
            "--env-fingerprint",
            "envfp:ci-1",
            "--actor",
            "alice",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["schema_id"], "gait.job.output");
    assert_eq!(v["operation"], "submit");
    assert_eq!(v["job_id"], "job_basic");
    assert_eq!(v["job"]["status"], "running");
    assert_eq!(v["job"]["revision"], 1);
    assert_eq!(v["job"]["identity"], "alice");
    assert_eq!(
        v["job"]["safety_invariant_hash"],
        "cd3ea32a49ae78e7a7d5970ac28d89266422a320d761f169e39fad9268e4ce5d"
    );
    assert_eq!(v["job"]["checkpoints"], serde_json::json!([]));
    assert!(v.get("correlation_id").is_some());
    let (code, v) = job(
        d,
        &[
            "checkpoint",
            "add",
            "--id",
            "job_basic",
            "--type",
            "decision-needed",
            "--summary",
            "ship?",
            "--required-action",
            "approve deploy",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["checkpoint"]["checkpoint_id"], "cp_0001");
    assert_eq!(v["job"]["status"], "decision_needed");
    let (code, v) = job(
        d,
        &[
            "resume",
            "--id",
            "job_basic",
            "--env-fingerprint",
            "envfp:ci-1",
        ],
    );
    assert_eq!(code, 6, "approval required is 6, not 4: {v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("approval required")
    );
    assert_eq!(v["error_code"], "invalid_input");
    assert!(v.get("job").is_none());
    let (code, v) = job(d, &["approve", "--id", "job_basic"]);
    assert_eq!(
        (code, v["error"].as_str()),
        (6, Some("approval actor is required"))
    );
    let (code, v) = job(
        d,
        &["approve", "--id", "job_basic", "--actor", " reviewer "],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["job"]["approvals"][0]["actor"], "reviewer");
    assert_eq!(v["job"]["approvals"][0]["reason"], "approved");
    let (code, v) = job(
        d,
        &[
            "resume",
            "--id",
            "job_basic",
            "--env-fingerprint",
            "envfp:ci-1",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["job"]["status_reason_code"], "resumed");
    let (code, v) = job(d, &["inspect", "--id", "job_basic"]);
    assert_eq!(code, 0);
    let kinds: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["submitted", "checkpoint_added", "approved", "resumed"]
    );
    let (code, v) = job(d, &["checkpoint", "list", "--id", "job_basic"]);
    assert_eq!(code, 0);
    assert_eq!(v["checkpoints"].as_array().unwrap().len(), 1);
    assert!(v.get("job").is_none());
    let (code, v) = job(
        d,
        &[
            "checkpoint",
            "show",
            "--id",
            "job_basic",
            "--checkpoint",
            "cp_0099",
        ],
    );
    assert_eq!(code, 6);
    assert_eq!(v["error"], "checkpoint not found: cp_0099");
    let jobdir = d.join("gait-out/jobs/job_basic");
    assert!(!jobdir.join("pending_mutation.json").exists());
    assert!(!jobdir.join("state.json.lock").exists());
    let state = std::fs::read_to_string(jobdir.join("state.json")).unwrap();
    assert!(state.starts_with("{\n  \"schema_id\": \"gait.job.runtime\",\n"));
    assert_eq!(
        std::fs::read_to_string(jobdir.join("events.jsonl"))
            .unwrap()
            .lines()
            .count(),
        4
    );
}

#[test]
fn usage_and_refusals_exit_by_cause() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (args, want) in [
        (&["submit"][..], "job_id is required"),
        (
            &["submit", "--id", "x1", "extra"][..],
            "unexpected positional arguments",
        ),
        (&["status", "--id", "job_missing"][..], "job not found"),
        (&["pause", "--id", "job_missing"][..], "job not found"),
    ] {
        let (code, v) = job(d, args);
        assert_eq!(code, 6, "{args:?}: {v}");
        assert_eq!(v["error"], want);
        assert_eq!(v["operation"], args[0]);
    }
    for bad in ["../evil", "a/b", ".hidden", "-dash"] {
        let (code, v) = job(d, &["submit", "--id", bad]);
        assert_eq!(code, 6, "{bad}: {v}");
        assert_eq!(v["operation"], "submit", "{bad}: {v}");
    }
    assert!(
        !d.join("gait-out").exists(),
        "nothing written for refused ids"
    );
    job(d, &["submit", "--id", "r", "--env-fingerprint", "fp"]);
    // The reference exits 1 for these because its messages contain
    // "blocked"; we classify by cause (6).
    let (code, v) = job(
        d,
        &[
            "checkpoint",
            "add",
            "--id",
            "r",
            "--type",
            "bogus",
            "--summary",
            "x",
        ],
    );
    assert_eq!(code, 6, "{v}");
    let (code, v) = job(d, &["resume", "--id", "r", "--env-fingerprint", "fp"]);
    assert_eq!(code, 6, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid transition")
    );
}

#[test]
fn an_emergency_stop_is_final_except_for_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    job(d, &["submit", "--id", "es", "--env-fingerprint", "fp"]);
    let (code, v) = job(d, &["stop", "--id", "es", "--actor", "secops"]);
    assert_eq!(code, 0);
    assert_eq!(v["job"]["status_reason_code"], "emergency_stop_preempted");
    // The reference's bypass: a decision-needed checkpoint, an approval and
    // a resume would make the stopped job run again. Each step is refused.
    let (code, v) = job(
        d,
        &[
            "checkpoint",
            "add",
            "--id",
            "es",
            "--type",
            "decision-needed",
            "--summary",
            "again",
            "--required-action",
            "approve",
        ],
    );
    assert_eq!(code, 6, "{v}");
    assert_eq!(
        v["error"],
        "invalid transition: checkpoint_added from emergency_stopped"
    );
    let (code, _) = job(d, &["approve", "--id", "es", "--actor", "boss"]);
    assert_eq!(code, 6);
    let (code, _) = job(
        d,
        &[
            "resume",
            "--id",
            "es",
            "--env-fingerprint",
            "fp",
            "--allow-env-mismatch",
        ],
    );
    assert_eq!(code, 6);
    let (_, v) = job(d, &["status", "--id", "es"]);
    assert_eq!(v["job"]["status"], "emergency_stopped");
    assert_eq!(v["job"]["revision"], 2);
    let (code, v) = job(d, &["cancel", "--id", "es"]);
    assert_eq!((code, v["job"]["status"].as_str()), (0, Some("cancelled")));
}

#[test]
fn a_stopped_job_blocks_mcp_calls_and_journals_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("policy.yaml"), POLICY).unwrap();
    std::fs::write(
        d.join("call.json"),
        r#"{"name":"tool.read","args":{"path":"/tmp/x"},"context":{"identity":"alice","workspace":"/repo","risk_class":"low","job_id":"jm","session_id":"s1"}}"#,
    )
    .unwrap();
    let proxy = [
        "mcp",
        "proxy",
        "--policy",
        "policy.yaml",
        "--call",
        "call.json",
        "--json",
    ];
    let (code, v) = gait(d, &proxy);
    assert_eq!(code, 3, "unknown job fails closed: {v}");
    assert!(
        v["reason_codes"]
            .to_string()
            .contains("emergency_stop_state_unavailable")
    );
    job(d, &["submit", "--id", "jm", "--env-fingerprint", "fp"]);
    let (code, v) = gait(d, &proxy);
    assert_eq!(code, 0, "{v}");
    job(d, &["stop", "--id", "jm", "--actor", "secops"]);
    let (code, v) = gait(d, &proxy);
    assert_eq!(code, 3, "{v}");
    assert!(
        v["reason_codes"]
            .to_string()
            .contains("emergency_stop_preempted")
    );
    let (_, v) = job(d, &["inspect", "--id", "jm"]);
    assert_eq!(v["job"]["revision"], 3);
    assert_eq!(v["job"]["status"], "emergency_stopped");
    assert_eq!(v["events"][2]["type"], "dispatch_blocked");
    assert_eq!(v["events"][2]["payload"]["dispatch_path"], "mcp.proxy");
}

#[test]
fn crash_recovery_and_doctor() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    job(d, &["submit", "--id", "k1", "--env-fingerprint", "fp"]);
    let jd = d.join("gait-out/jobs/k1");
    let before = std::fs::read_to_string(jd.join("state.json")).unwrap();
    job(d, &["pause", "--id", "k1"]);
    let after = std::fs::read_to_string(jd.join("state.json")).unwrap();
    let events = std::fs::read_to_string(jd.join("events.jsonl")).unwrap();
    let mut lines: Vec<&str> = events.lines().collect();
    let last = lines.pop().unwrap();
    std::fs::write(
        jd.join("pending_mutation.json"),
        format!(r#"{{"schema_id":"gait.job.pending_mutation","schema_version":"1.0.0","created_at":"2001-02-03T04:05:06Z","job_id":"k1","previous_state":{before},"updated_state":{after},"event":{last}}}"#),
    )
    .unwrap();
    std::fs::write(jd.join("events.jsonl"), format!("{}\n", lines.join("\n"))).unwrap();
    let (_, v) = gait(d, &["doctor", "--json"]);
    let check = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "job_runtime_durability")
        .unwrap()
        .clone();
    assert_eq!(check["status"], "fail");
    assert_eq!(
        check["message"],
        "durable job state divergence detected: k1:pending_mutation,k1:state_ahead_of_event_log"
    );
    let (code, v) = job(d, &["status", "--id", "k1"]);
    assert_eq!(code, 0);
    assert_eq!(v["job"]["status"], "running");
    assert_eq!(v["job"]["revision"], 1);
    assert!(!jd.join("pending_mutation.json").exists());
    let (_, v) = gait(d, &["doctor", "--json"]);
    let check = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "job_runtime_durability")
        .unwrap()
        .clone();
    assert_eq!(check["status"], "pass");
    // An invalid marker makes the job unusable (6) until it is removed.
    std::fs::write(jd.join("pending_mutation.json"), "{").unwrap();
    let (code, v) = job(d, &["pause", "--id", "k1"]);
    assert_eq!(code, 6, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("parse pending mutation")
    );
}

#[test]
fn a_live_lock_is_contention_and_a_stale_one_is_broken() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    job(d, &["submit", "--id", "lk", "--env-fingerprint", "fp"]);
    let lock = d.join("gait-out/jobs/lk/state.json.lock");
    std::fs::write(&lock, "").unwrap();
    let (code, v) = job(d, &["pause", "--id", "lk"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["error"], "state contention: lock timeout");
    assert_eq!(v["error_code"], "internal_failure");
    std::fs::File::options()
        .write(true)
        .open(&lock)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(120))
        .unwrap();
    let (code, v) = job(d, &["pause", "--id", "lk"]);
    assert_eq!(code, 0, "{v}");
    assert!(!lock.exists());
}

#[test]
fn job_packs_from_runtime_folders_verify() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("policy.yaml"), POLICY).unwrap();
    job(
        d,
        &[
            "submit",
            "--id",
            "jp",
            "--root",
            "state/jobs",
            "--env-fingerprint",
            "envfp:ci",
            "--identity",
            "agent_1",
            "--policy",
            "policy.yaml",
        ],
    );
    job(
        d,
        &[
            "checkpoint",
            "add",
            "--id",
            "jp",
            "--root",
            "state/jobs",
            "--type",
            "completed",
            "--summary",
            "done",
        ],
    );
    let (code, v) = job(d, &["status", "--id", "jp"]);
    assert_eq!(code, 6, "another root: {v}");
    let (code, v) = gait(
        d,
        &[
            "pack",
            "build",
            "--type",
            "job",
            "--from",
            "jp",
            "--job-root",
            "state/jobs",
            "--out",
            "jp.zip",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{v}");
    let (code, v) = gait(d, &["pack", "verify", "jp.zip", "--json"]);
    assert_eq!(code, 0, "{v}");
    let (code, v) = gait(d, &["pack", "inspect", "jp.zip", "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["inspect"]["job_payload"]["safety_invariant_hash"],
        "463d6bfada527f01aa5e2220f92fec368c2fe587e4b22920aab07788fddf932c"
    );
}

#[test]
fn text_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gait"))
        .current_dir(dir.path())
        .args(["job", "submit", "--id", "t1", "--env-fingerprint", "fp"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "job submit: id=t1 status=running stop_reason=none reason_code=submitted\n"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_gait"))
        .current_dir(dir.path())
        .args(["job", "pause", "--id", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "job pause error: job not found\n"
    );
}
