//! `gait gate eval` on the one decision core: `--explain --json` decides,
//! writes the trace and exits with the verdict's code; `--job-root` blocks
//! calls naming an emergency-stopped job; the MCP decision service and
//! `gate eval` agree on emergency stops.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn run(dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gait"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let v = serde_json::from_str(text.trim()).unwrap_or(Value::Null);
    (
        out.status.code().unwrap(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const POLICY: &str = "\
default_verdict: allow
rules:
  - name: reads
    priority: 5
    effect: allow
    match:
      tool_names: [tool.read]
  - name: no-deletes
    priority: 1
    effect: block
    match:
      tool_names: [tool.delete]
  - name: writes
    priority: 2
    effect: require_approval
    match:
      tool_names: [tool.write]
";

fn intent(tool: &str, job: &str) -> String {
    let job = if job.is_empty() {
        String::new()
    } else {
        format!(r#","job_id":"{job}""#)
    };
    format!(
        r#"{{"tool_name":"{tool}","args":{{"path":"/tmp/x"}},"targets":[],"context":{{"identity":"alice","workspace":"/w","risk_class":"low"{job}}},"created_at":"2026-01-12T08:00:00Z"}}"#
    )
}

fn setup(tool: &str, job: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("policy.yaml"), POLICY).unwrap();
    fs::write(dir.path().join("intent.json"), intent(tool, job)).unwrap();
    dir
}

fn traces(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            (n.starts_with("trace_") && n.ends_with(".json")).then_some(n)
        })
        .collect();
    v.sort();
    v
}

const EVAL: &[&str] = &[
    "gate",
    "eval",
    "--policy",
    "policy.yaml",
    "--intent",
    "intent.json",
];

#[test]
fn explain_json_decides_writes_the_trace_and_exits_with_the_verdict() {
    for (tool, verdict, exit) in [
        ("tool.read", "allow", 0),
        ("tool.delete", "block", 3),
        ("tool.write", "require_approval", 4),
    ] {
        let dir = setup(tool, "");
        let mut args = EVAL.to_vec();
        args.extend(["--explain", "--json"]);
        let (code, v, err) = run(dir.path(), &args);
        assert_eq!(code, exit, "{tool}: {v} {err}");
        assert_eq!(v["schema_id"], "gait.gate.policy_explain", "{v}");
        assert_eq!(v["schema_version"], "1.0.0");
        assert_eq!(v["verdict"], verdict);
        assert_eq!(v["created_at"], "2026-01-12T08:00:00Z");
        assert_eq!(
            v["credential_posture"],
            serde_json::json!({"present": false})
        );
        assert_eq!(v["context_evidence_status"], "not_required");
        let written = traces(dir.path());
        assert_eq!(written.len(), 1, "{tool}: one trace written");
        assert_eq!(
            v["proof_refs"]["trace_path"].as_str().unwrap(),
            written[0],
            "{v}"
        );
        let trace: Value =
            serde_json::from_slice(&fs::read(dir.path().join(&written[0])).unwrap()).unwrap();
        assert_eq!(trace["verdict"], verdict);
        assert_eq!(v["proof_refs"]["trace_id"], trace["trace_id"]);
        if verdict == "require_approval" {
            assert_eq!(v["approval_required"], true);
            assert_eq!(v["required_approvals"], 1);
            assert!(
                v["proof_refs"]["approval_audit_path"]
                    .as_str()
                    .is_some_and(|p| dir.path().join(p).exists())
            );
        }
    }
}

#[test]
fn explain_reports_the_final_verdict_after_simulation() {
    let dir = setup("tool.delete", "");
    let mut args = EVAL.to_vec();
    args.extend(["--simulate", "--explain", "--json"]);
    let (code, v, _) = run(dir.path(), &args);
    assert_eq!(code, 0);
    assert_eq!(v["verdict"], "allow", "{v}");
    let reasons = v["reason_codes"].as_array().unwrap();
    assert!(reasons.contains(&Value::from("simulated_block")), "{v}");
}

#[test]
fn explain_without_json_only_explains() {
    let dir = setup("tool.delete", "");
    let mut args = EVAL.to_vec();
    args.push("--explain");
    let (code, _, _) = run(dir.path(), &args);
    assert_eq!(code, 0);
    assert!(traces(dir.path()).is_empty(), "nothing is decided");
}

fn stop_job(root: &Path, id: &str) {
    fs::create_dir_all(root.join(id)).unwrap();
    fs::write(
        root.join(id).join("state.json"),
        format!(
            r#"{{"schema_id":"gait.job.runtime","schema_version":"1.0.0","job_id":"{id}","status":"emergency_stopped","stop_reason":"emergency_stopped","revision":3,"checkpoints":[]}}"#
        ),
    )
    .unwrap();
}

#[test]
fn gate_eval_job_root_blocks_a_stopped_job() {
    let dir = setup("tool.read", "job-1001");
    stop_job(&dir.path().join("jobs"), "job-1001");
    // Without --job-root the job is not looked up (as the reference).
    let mut plain = EVAL.to_vec();
    plain.push("--json");
    let (code, v, _) = run(dir.path(), &plain);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("allow")), "{v}");
    let mut args = plain.clone();
    args.extend(["--job-root", "jobs"]);
    let (code, v, _) = run(dir.path(), &args);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["verdict"], "block");
    assert!(
        v["reason_codes"]
            .as_array()
            .unwrap()
            .contains(&Value::from("emergency_stop_preempted"))
    );
    assert_eq!(
        v["violations"],
        serde_json::json!(["emergency_stop_active"])
    );
    let events = fs::read_to_string(dir.path().join("jobs/job-1001/events.jsonl")).unwrap();
    assert!(events.contains(r#""actor":"gate-eval""#), "{events}");
    let state: Value =
        serde_json::from_slice(&fs::read(dir.path().join("jobs/job-1001/state.json")).unwrap())
            .unwrap();
    assert_eq!(state["revision"], 4);
}

#[test]
fn gate_eval_job_root_blocks_an_unknown_job() {
    let dir = setup("tool.read", "job-404");
    let mut args = EVAL.to_vec();
    args.extend(["--job-root", "jobs", "--json"]);
    let (code, v, _) = run(dir.path(), &args);
    assert_eq!(code, 3, "{v}");
    assert!(
        v["reason_codes"]
            .as_array()
            .unwrap()
            .contains(&Value::from("emergency_stop_state_unavailable"))
    );
}

#[test]
fn mcp_proxy_and_gate_eval_agree_on_a_stopped_job() {
    let dir = setup("tool.read", "job-7");
    stop_job(&dir.path().join("jobs"), "job-7");
    fs::write(
        dir.path().join("call.json"),
        r#"{"name":"tool.read","args":{"path":"/tmp/x"},"context":{"identity":"alice","workspace":"/w","risk_class":"low","job_id":"job-7"}}"#,
    )
    .unwrap();
    let (code, v, err) = run(
        dir.path(),
        &[
            "mcp",
            "proxy",
            "--policy",
            "policy.yaml",
            "--call",
            "call.json",
            "--job-root",
            "jobs",
            "--json",
        ],
    );
    assert_eq!(code, 3, "{v} {err}");
    assert_eq!(v["verdict"], "block");
    let mut args = EVAL.to_vec();
    args.extend(["--job-root", "jobs", "--json"]);
    let (code2, g, _) = run(dir.path(), &args);
    assert_eq!(code2, 3);
    assert_eq!(v["violations"], g["violations"]);
    assert!(
        g["reason_codes"]
            .as_array()
            .unwrap()
            .contains(&Value::from("emergency_stop_preempted"))
    );
}
