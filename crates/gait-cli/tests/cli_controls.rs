//! Issue 12's runtime controls on the real binary: the kill switch
//! (`gait kill-switch`, `--kill-switch-state`) and the context envelope at
//! decision time (`--context-envelope`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

mod common;
use common::{RECV, pump_lines};

fn run(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_gait"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let v = serde_json::from_str(text.trim()).unwrap_or(Value::Null);
    (out.status.code().unwrap(), v)
}

const POLICY: &str = "\
default_verdict: allow
rules:
  - name: reads
    priority: 5
    effect: allow
    match:
      tool_names: [tool.read]
  - name: needs-context
    priority: 6
    effect: allow
    require_context_evidence: true
    max_context_age_seconds: 600
    match:
      tool_names: [tool.ctx]
";

fn intent(tool: &str, risk: &str) -> String {
    json!({
        "tool_name": tool,
        "args": {"path": "/srv/data/x"},
        "targets": [{"kind": "path", "value": "/srv/data/x", "operation": "read"}],
        "context": {"identity": "alice", "workspace": "/srv/ws", "risk_class": risk},
        "created_at": "2026-01-12T08:00:00Z"
    })
    .to_string()
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("policy.yaml"), POLICY).unwrap();
    fs::write(dir.path().join("read.json"), intent("tool.read", "low")).unwrap();
    fs::write(
        dir.path().join("read_high.json"),
        intent("tool.read", "high"),
    )
    .unwrap();
    fs::write(dir.path().join("ctx.json"), intent("tool.ctx", "low")).unwrap();
    dir
}

fn gate(dir: &Path, intent: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "gate",
        "eval",
        "--policy",
        "policy.yaml",
        "--intent",
        intent,
        "--json",
    ];
    args.extend_from_slice(extra);
    run(dir, &args)
}

fn codes(v: &Value) -> Vec<String> {
    v["reason_codes"]
        .as_array()
        .map(|a| a.iter().map(|c| c.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

// --------------------------------------------------------- kill switch

#[test]
fn kill_switch_add_list_disable_expire() {
    let dir = setup();
    let d = dir.path();
    // A fresh folder: the default state path's folder is created.
    let (code, v) = run(
        d,
        &[
            "kill-switch",
            "add",
            "--entry-id",
            "zz",
            "--tool-name",
            " TOOL.Read ",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["entry"]["tool_name"], "tool.read");
    assert!(d.join(".gait-out/kill_switch_state.json").is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(d.join(".gait-out/kill_switch_state.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "state file mode {mode:o}");
    }
    // A derived id when none is given.
    let (code, v) = run(d, &["kill-switch", "add", "--identity", "bob", "--json"]);
    assert_eq!(code, 0);
    let id = v["entry"]["entry_id"].as_str().unwrap();
    assert_eq!(id.len(), 24);
    let (code, v) = run(d, &["kill-switch", "list", "--json"]);
    assert_eq!(code, 0);
    let ids: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entry_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.windows(2).all(|w| w[0] <= w[1]), "{ids:?}");
    let (code, v) = run(d, &["kill-switch", "disable", "--entry-id", "zz", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(v["entry"]["enabled"], false);
    let (code, v) = run(
        d,
        &[
            "kill-switch",
            "expire",
            "--entry-id",
            "zz",
            "--expires-at",
            "2026-01-13T09:00:00+02:00",
            "--json",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(v["entry"]["expires_at"], "2026-01-13T07:00:00Z");
    // Failures are invalid input (6) with the error envelope.
    for args in [
        &["kill-switch", "disable", "--entry-id", "nope", "--json"][..],
        &["kill-switch", "disable", "--json"][..],
        &["kill-switch", "add", "--reason", "nothing", "--json"][..],
        &["kill-switch", "add", "--target-kind", "ip", "--json"][..],
        &[
            "kill-switch",
            "add",
            "--identity",
            "x",
            "--expires-at",
            "soon",
            "--json",
        ][..],
    ] {
        let (code, v) = run(d, args);
        assert_eq!(code, 6, "{args:?}: {v}");
        assert_eq!(v["ok"], false);
        assert_eq!(v["error_code"], "invalid_input");
    }
}

#[test]
fn corrupt_kill_switch_state_is_never_overwritten() {
    let dir = setup();
    let d = dir.path();
    fs::write(d.join("ks.json"), "{ not json").unwrap();
    let (code, _) = run(
        d,
        &[
            "kill-switch",
            "add",
            "--state",
            "ks.json",
            "--identity",
            "x",
            "--json",
        ],
    );
    assert_eq!(code, 6);
    assert_eq!(fs::read_to_string(d.join("ks.json")).unwrap(), "{ not json");
}

#[test]
fn active_kill_switch_blocks_and_journals_after_the_trace() {
    let dir = setup();
    let d = dir.path();
    let (code, _) = run(
        d,
        &[
            "kill-switch",
            "add",
            "--state",
            "ks/state.json",
            "--entry-id",
            "freeze-read",
            "--tool-name",
            "tool.read",
            "--json",
        ],
    );
    assert_eq!(code, 0);
    let (code, v) = gate(d, "read.json", &["--kill-switch-state", "ks/state.json"]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["verdict"], "block");
    assert_eq!(
        codes(&v),
        [
            "kill_switch_active",
            "kill_switch_tool_name_active",
            "matched_rule_reads"
        ]
    );
    assert_eq!(v["kill_switch"]["status"], "active");
    assert_eq!(
        v["kill_switch"]["matched_entry_ids"],
        json!(["freeze-read"])
    );
    // The trace records the kill-switch decision; the journal line names it.
    let trace: Value =
        serde_json::from_slice(&fs::read(d.join(v["trace_path"].as_str().unwrap())).unwrap())
            .unwrap();
    assert_eq!(trace["kill_switch"]["status"], "active");
    let journal = fs::read_to_string(d.join("ks/kill_switch_journal.jsonl")).unwrap();
    let line: Value = serde_json::from_str(journal.trim()).unwrap();
    assert_eq!(line["trace_id"], v["trace_id"]);
    assert_eq!(line["source"], "gate_eval");
    // Disabled: allowed again, no new journal line.
    run(
        d,
        &[
            "kill-switch",
            "disable",
            "--state",
            "ks/state.json",
            "--entry-id",
            "freeze-read",
        ],
    );
    let (code, v) = gate(d, "read.json", &["--kill-switch-state", "ks/state.json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["kill_switch"]["status"], "inactive");
    let journal = fs::read_to_string(d.join("ks/kill_switch_journal.jsonl")).unwrap();
    assert_eq!(journal.lines().count(), 1);
}

#[test]
fn unreadable_kill_switch_state_blocks_high_risk_and_fails_low_risk() {
    let dir = setup();
    let d = dir.path();
    fs::write(d.join("ks.json"), r#"{"entries":[]}"#).unwrap(); // no created_at
    let (code, v) = gate(d, "read_high.json", &["--kill-switch-state", "ks.json"]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(codes(&v), ["kill_switch_state_unavailable"]);
    assert_eq!(v["kill_switch"]["status"], "unavailable");
    assert!(v.get("matched_rule").is_none());
    let (code, v) = gate(d, "read.json", &["--kill-switch-state", "ks.json"]);
    assert_eq!(code, 6, "{v}");
    assert_eq!(v["error_code"], "invalid_input");
    // A missing file is unavailable too, never ignored.
    let (code, _) = gate(d, "read.json", &["--kill-switch-state", "missing.json"]);
    assert_eq!(code, 6);
    // Under oss-prod every call requires it (the profile's own key checks
    // fail first without prod keys, which is also exit 6).
}

#[test]
fn kill_switch_state_path_outside_the_working_folder_is_refused() {
    let dir = setup();
    let d = dir.path();
    let inner = d.join("work");
    fs::create_dir(&inner).unwrap();
    fs::copy(d.join("policy.yaml"), inner.join("policy.yaml")).unwrap();
    fs::copy(d.join("read.json"), inner.join("read.json")).unwrap();
    fs::write(
        d.join("ks.json"),
        r#"{"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","entries":[]}"#,
    )
    .unwrap();
    let (code, v) = gate(&inner, "read.json", &["--kill-switch-state", "../ks.json"]);
    assert_eq!(code, 6, "{v}");
    // Nothing was decided: no trace.
    assert!(fs::read_dir(&inner).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("trace_")
    }));
}

fn post(addr: &str, body: &str) -> (u16, Value) {
    let (status, body) = common::post_evaluate(addr, body);
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[test]
fn running_server_sees_an_added_entry_without_restart() {
    let dir = setup();
    let d = dir.path();
    let (code, _) = run(d, &["kill-switch", "list", "--state", "ks.json"]);
    assert_eq!(code, 0);
    fs::write(
        d.join("ks.json"),
        r#"{"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","entries":[]}"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gait"))
        .current_dir(d)
        .args([
            "serve",
            "--policy",
            "policy.yaml",
            "--listen",
            "127.0.0.1:0",
            "--trace-dir",
            "traces",
            "--kill-switch-state",
            "ks.json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = pump_lines(child.stdout.take().unwrap());
    let first = lines.recv_timeout(RECV).unwrap();
    let addr = first
        .split("listening=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let body = json!({"call": {"name": "tool.read", "args": {"path": "/srv/data/x"},
        "context": {"identity": "alice", "workspace": "/srv/ws", "risk_class": "low"}}})
    .to_string();
    let (status, v) = post(&addr, &body);
    assert_eq!((status, v["verdict"].as_str()), (200, Some("allow")), "{v}");
    let (code, _) = run(
        d,
        &[
            "kill-switch",
            "add",
            "--state",
            "ks.json",
            "--entry-id",
            "now",
            "--tool-name",
            "tool.read",
        ],
    );
    assert_eq!(code, 0);
    // The server looks at the state file at most every 50 ms
    // (`DEFAULT_KILL_SWITCH_RECHECK`): past that, no decision allows.
    std::thread::sleep(std::time::Duration::from_millis(100));
    let (status, v) = post(&addr, &body);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 403, "{v}"); // serve answers a block with 403
    assert_eq!(v["verdict"], "block", "{v}");
    assert_eq!(v["kill_switch"]["status"], "active");
}

// ---------------------------------------------------- context envelope

fn envelope(retrieved_at: &str, records: bool) -> Value {
    let recs = if records {
        json!([{"ref_id": "runbook-7", "source_type": "wiki", "source_locator": "wiki://ops/7",
                "query_digest": "a".repeat(64), "content_digest": "b".repeat(64),
                "retrieved_at": retrieved_at, "redaction_mode": "none", "immutability": "immutable"}])
    } else {
        json!([])
    };
    json!({"schema_id": "gait.context.envelope", "schema_version": "1.0.0",
           "created_at": "2026-01-12T08:50:00Z", "context_set_id": "ctx-1",
           "evidence_mode": "required", "records": recs})
}

#[test]
fn context_envelope_binds_and_satisfies_the_rule() {
    let dir = setup();
    let d = dir.path();
    fs::write(
        d.join("env.json"),
        envelope("2026-01-12T08:55:00Z", true).to_string(),
    )
    .unwrap();
    let at = ["--evaluation-time", "2026-01-12T09:00:00Z"];
    let (code, v) = gate(
        d,
        "ctx.json",
        &[&at[..], &["--context-envelope", "env.json"]].concat(),
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["context_source"], "context_envelope");
    assert_eq!(v["context_ref_count"], 1);
    assert_eq!(v["context_evidence_mode"], "required");
    // Without it the same rule blocks: an intent cannot vouch for itself.
    let (code, v) = gate(d, "ctx.json", &at);
    assert_eq!(code, 3);
    assert!(codes(&v).contains(&"context_evidence_missing".to_owned()));
}

#[test]
fn stale_context_envelope_blocks_with_freshness_exceeded() {
    let dir = setup();
    let d = dir.path();
    fs::write(
        d.join("env.json"),
        envelope("2026-01-12T08:40:00Z", true).to_string(),
    )
    .unwrap();
    let (code, v) = gate(
        d,
        "ctx.json",
        &[
            "--evaluation-time",
            "2026-01-12T09:00:00Z",
            "--context-envelope",
            "env.json",
        ],
    );
    assert_eq!(code, 3, "{v}");
    assert_eq!(
        codes(&v),
        ["context_freshness_exceeded", "matched_rule_needs_context"]
    );
}

#[test]
fn tampered_or_trailing_context_envelope_is_invalid_input() {
    let dir = setup();
    let d = dir.path();
    let mut e = envelope("2026-01-12T08:55:00Z", true);
    e["context_set_digest"] = json!("c".repeat(64));
    fs::write(d.join("tampered.json"), e.to_string()).unwrap();
    let good = envelope("2026-01-12T08:55:00Z", true).to_string();
    fs::write(d.join("trailing.json"), format!("{good} {{}}")).unwrap();
    for file in ["tampered.json", "trailing.json", "missing.json"] {
        let (code, v) = gate(d, "ctx.json", &["--context-envelope", file]);
        assert_eq!(code, 6, "{file}: {v}");
        assert_eq!(v["error_code"], "invalid_input");
    }
    // The MCP decision boundary refuses it before serving.
    fs::write(
        d.join("call.json"),
        json!({"name": "tool.ctx", "args": {}, "context": {"identity": "a", "workspace": "/w", "risk_class": "low"}}).to_string(),
    )
    .unwrap();
    let (code, _) = run(
        d,
        &[
            "mcp",
            "proxy",
            "--policy",
            "policy.yaml",
            "--call",
            "call.json",
            "--context-envelope",
            "tampered.json",
            "--json",
        ],
    );
    assert_eq!(code, 6);
}

#[test]
fn context_envelope_without_records_never_satisfies_a_required_rule() {
    let dir = setup();
    let d = dir.path();
    fs::write(
        d.join("empty.json"),
        envelope("2026-01-12T08:55:00Z", false).to_string(),
    )
    .unwrap();
    let (code, v) = gate(
        d,
        "ctx.json",
        &[
            "--evaluation-time",
            "2026-01-12T08:51:00Z",
            "--context-envelope",
            "empty.json",
        ],
    );
    assert_eq!(code, 3, "{v}");
    assert!(codes(&v).contains(&"context_evidence_missing".to_owned()));
}

#[test]
fn intent_claim_contradicting_the_envelope_is_not_evaluable() {
    let dir = setup();
    let d = dir.path();
    fs::write(
        d.join("env.json"),
        envelope("2026-01-12T08:55:00Z", true).to_string(),
    )
    .unwrap();
    let mut i: Value = serde_json::from_str(&intent("tool.ctx", "low")).unwrap();
    i["context"]["context_set_digest"] = json!("d".repeat(64));
    fs::write(d.join("claim.json"), i.to_string()).unwrap();
    let (code, v) = gate(d, "claim.json", &["--context-envelope", "env.json"]);
    assert_eq!(code, 6, "{v}");
    // Under fail_closed for its risk class: blocked, with a trace.
    fs::write(
        d.join("fc.yaml"),
        format!("{POLICY}fail_closed:\n  enabled: true\n  risk_classes: [low]\n"),
    )
    .unwrap();
    let (code, v) = run(
        d,
        &[
            "gate",
            "eval",
            "--policy",
            "fc.yaml",
            "--intent",
            "claim.json",
            "--context-envelope",
            "env.json",
            "--json",
        ],
    );
    assert_eq!(code, 3, "{v}");
    assert_eq!(codes(&v), ["fail_closed_intent_invalid"]);
    assert_eq!(v["violations"], json!(["intent_not_evaluable"]));
}
