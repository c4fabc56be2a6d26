//! Hardening acceptance: every control of `docs/threat_model.md`
//! exercised end to end through the real `gait` binary, in temporary
//! directories. `scripts/hooks/hardening.sh` runs this file and prints what
//! each test checked.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::fs;
use std::io::Cursor;
use std::path::Path;
use std::process::{Command, Output};

use gait_pack::archive::{Archive, NewEntry, write_deterministic_to_vec};
use serde_json::Value;

fn gait(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gait"))
        .args(args)
        .current_dir(dir)
        .env_remove("GAIT_TEST_KEY")
        .env_remove("GAIT_ALLOW_REAL_REPLAY")
        .output()
        .unwrap()
}

fn run(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = gait(dir, args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let v = serde_json::from_str(text.trim()).unwrap_or(Value::Null);
    (out.status.code().unwrap(), v)
}

fn reasons(v: &Value) -> Vec<String> {
    v["reason_codes"]
        .as_array()
        .map(|a| a.iter().map(|r| r.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

const POLICY: &str = "\
default_verdict: allow
fail_closed:
  enabled: true
  risk_classes: [high]
  required_fields: [targets, arg_provenance]
rules:
  - name: block-delete
    effect: block
    match:
      tool_names: [tool.delete]
  - name: approve-write
    effect: require_approval
    match:
      tool_names: [tool.write]
";

const CONTEXT_POLICY: &str = "\
default_verdict: block
rules:
  - name: deploy-with-evidence
    effect: allow
    require_context_evidence: true
    match:
      tool_names: [tool.deploy]
";

fn intent(tool: &str) -> String {
    serde_json::json!({
        "schema_id": "gait.gate.intent_request",
        "schema_version": "1.0.0",
        "created_at": "2026-02-06T00:00:00Z",
        "producer_version": "hardening",
        "tool_name": tool,
        "args": {"path": "/tmp/x"},
        "targets": [{"kind": "path", "value": "/tmp/x"}],
        "arg_provenance": [{"arg_path": "$.path", "source": "user"}],
        "context": {"identity": "u", "workspace": "/w", "risk_class": "high"}
    })
    .to_string()
}

/// A temp dir with `policy.yaml`, `context.yaml` and intents
/// `<tool>.json` for read, write, delete and deploy.
fn gate_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("policy.yaml"), POLICY).unwrap();
    fs::write(dir.path().join("context.yaml"), CONTEXT_POLICY).unwrap();
    for tool in ["read", "write", "delete", "deploy"] {
        fs::write(
            dir.path().join(format!("{tool}.json")),
            intent(&format!("tool.{tool}")),
        )
        .unwrap();
    }
    dir
}

fn keys(dir: &Path, prefix: &str, role: &str) {
    let out = gait(
        dir,
        &[
            "keys",
            "init",
            "--out-dir",
            "k",
            "--prefix",
            prefix,
            "--role",
            role,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// Artifact tampering: a runpack whose file changed after signing, and one
/// with a flipped byte, fail `gait verify` with exit 2.
#[test]
fn hardening_tampered_runpack_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (code, v) = run(dir.path(), &["demo", "--json"]);
    assert_eq!(code, 0, "{v}");
    let pack = dir.path().join("gait-out/runpack_run_demo.zip");
    let (code, _) = run(dir.path(), &["verify", "run_demo", "--json"]);
    assert_eq!(code, 0);
    // Same entries, one changed: the manifest no longer matches.
    let bytes = fs::read(&pack).unwrap();
    let mut archive = Archive::open(Cursor::new(bytes.clone())).unwrap();
    let names: Vec<String> = archive.entries().iter().map(|e| e.name.clone()).collect();
    let mut entries = Vec::new();
    for name in &names {
        let mut data = archive.read(name, 1 << 20).unwrap();
        if name == "intents.jsonl" {
            data = String::from_utf8(data)
                .unwrap()
                .replace("tool.", "tool.evil.")
                .into_bytes();
        }
        entries.push(NewEntry::file(name, data));
    }
    fs::write(
        dir.path().join("changed.zip"),
        write_deterministic_to_vec(entries).unwrap(),
    )
    .unwrap();
    let (code, v) = run(dir.path(), &["verify", "changed.zip", "--json"]);
    assert_eq!(code, 2, "{v}");
    assert_eq!(v["hash_mismatches"][0]["path"], "intents.jsonl", "{v}");
    // A flipped byte anywhere in the stored data.
    let mut flipped = bytes;
    let at = flipped.len() / 3;
    flipped[at] ^= 0x40;
    fs::write(dir.path().join("flipped.zip"), flipped).unwrap();
    let (code, v) = run(dir.path(), &["verify", "flipped.zip", "--json"]);
    assert_eq!(code, 2, "{v}");
    assert_eq!(v["ok"], false);
}

/// Wrapper contract: a wrapper runs the tool only when `gait gate eval`
/// exits 0; block (3) and require_approval (4) never execute.
#[test]
fn hardening_non_allow_verdict_does_not_execute() {
    let dir = gate_dir();
    for (tool, want_exit, executes) in
        [("read", 0, true), ("delete", 3, false), ("write", 4, false)]
    {
        let marker = dir.path().join(format!("executed_{tool}"));
        let status = Command::new("sh")
            .arg("-c")
            .arg(r#""$GAIT" gate eval --policy policy.yaml --intent "$1.json" --json > "verdict_$1.json"; rc=$?; if [ "$rc" -eq 0 ]; then touch "executed_$1"; fi; exit "$rc""#)
            .arg("wrapper")
            .arg(tool)
            .env("GAIT", env!("CARGO_BIN_EXE_gait"))
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(want_exit), "{tool}");
        assert_eq!(marker.exists(), executes, "{tool}");
    }
}

/// Missing context evidence on a high-risk path fails closed: a rule that
/// needs context evidence blocks without it, and a high-risk intent without
/// its required fields is blocked before any rule.
#[test]
fn hardening_missing_context_evidence_fails_closed() {
    let dir = gate_dir();
    let (code, v) = run(
        dir.path(),
        &[
            "gate",
            "eval",
            "--policy",
            "context.yaml",
            "--intent",
            "deploy.json",
            "--json",
        ],
    );
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["verdict"], "block");
    assert!(
        reasons(&v).contains(&"context_evidence_missing".to_owned()),
        "{v}"
    );
    let mut bare: Value = serde_json::from_str(&intent("tool.read")).unwrap();
    bare.as_object_mut().unwrap().remove("targets");
    fs::write(dir.path().join("bare.json"), bare.to_string()).unwrap();
    let (code, v) = run(
        dir.path(),
        &[
            "gate",
            "eval",
            "--policy",
            "policy.yaml",
            "--intent",
            "bare.json",
            "--json",
        ],
    );
    assert_eq!(code, 3, "{v}");
    assert!(
        reasons(&v).contains(&"fail_closed_missing_targets".to_owned()),
        "{v}"
    );
    // A policy that does not load never yields a verdict.
    fs::write(dir.path().join("broken.yaml"), "rules: [").unwrap();
    let (code, _) = run(
        dir.path(),
        &[
            "gate",
            "eval",
            "--policy",
            "broken.yaml",
            "--intent",
            "read.json",
            "--json",
        ],
    );
    assert_eq!(code, 6);
}

/// Approval tokens: the right token allows; a token for another scope, for
/// another intent digest, or past its expiry leaves the call at
/// require_approval (exit 4) with the reason.
#[test]
fn hardening_approval_token_rejected_on_scope_expiry_and_digest() {
    let dir = gate_dir();
    let d = dir.path();
    keys(d, "approver", "approval");
    let (code, v) = run(
        d,
        &[
            "gate",
            "eval",
            "--policy",
            "policy.yaml",
            "--intent",
            "write.json",
            "--json",
        ],
    );
    assert_eq!(code, 4, "{v}");
    let intent_digest = v["intent_digest"].as_str().unwrap().to_owned();
    let policy_digest = v["policy_digest"].as_str().unwrap().to_owned();
    let other_digest = "a".repeat(64);
    let mint = |digest: &str, ttl: &str, scope: &str, out: &str| {
        let (code, v) = run(
            d,
            &[
                "approve",
                "--intent-digest",
                digest,
                "--policy-digest",
                &policy_digest,
                "--ttl",
                ttl,
                "--scope",
                scope,
                "--approver",
                "alice",
                "--reason-code",
                "hardening",
                "--key-mode",
                "prod",
                "--private-key",
                "k/approver_private.key",
                "--out",
                out,
                "--json",
            ],
        );
        assert_eq!(code, 0, "{v}");
    };
    mint(&intent_digest, "1h", "tool:tool.write", "good.tok");
    mint(&intent_digest, "1h", "tool:tool.other", "scope.tok");
    mint(&other_digest, "1h", "tool:tool.write", "digest.tok");
    mint(&intent_digest, "1ms", "tool:tool.write", "expired.tok");
    std::thread::sleep(std::time::Duration::from_millis(20));
    for (token, want_exit, reason) in [
        ("good.tok", 0, "approval_granted"),
        ("scope.tok", 4, "approval_token_scope_mismatch"),
        ("digest.tok", 4, "approval_token_intent_mismatch"),
        ("expired.tok", 4, "approval_token_expired"),
    ] {
        let (code, v) = run(
            d,
            &[
                "gate",
                "eval",
                "--policy",
                "policy.yaml",
                "--intent",
                "write.json",
                "--approval-token",
                token,
                "--approval-public-key",
                "k/approver_public.key",
                "--json",
            ],
        );
        assert_eq!(code, want_exit, "{token}: {v}");
        assert!(reasons(&v).contains(&reason.to_owned()), "{token}: {v}");
    }
}

/// Delegation tokens: verification fails on another scope, another intent
/// digest and after expiry.
#[test]
fn hardening_delegation_token_rejected_on_scope_expiry_and_digest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keys(d, "delegation", "delegation");
    let digest = "b".repeat(64);
    let mint = |ttl: &str, out: &str| {
        let (code, v) = run(
            d,
            &[
                "delegate",
                "mint",
                "--delegator",
                "lead-agent",
                "--delegate",
                "worker-agent",
                "--scope",
                "tool:tool.write",
                "--scope-class",
                "write",
                "--ttl",
                ttl,
                "--intent-digest",
                &digest,
                "--key-mode",
                "prod",
                "--private-key",
                "k/delegation_private.key",
                "--out",
                out,
                "--json",
            ],
        );
        assert_eq!(code, 0, "{v}");
    };
    mint("1h", "good.tok");
    mint("1ms", "expired.tok");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let verify = |token: &str, extra: &[&str]| {
        let mut args = vec![
            "delegate",
            "verify",
            "--token",
            token,
            "--public-key",
            "k/delegation_public.key",
            "--json",
        ];
        args.extend_from_slice(extra);
        run(d, &args)
    };
    let (code, v) = verify(
        "good.tok",
        &["--scope", "write", "--intent-digest", &digest],
    );
    assert_eq!(code, 0, "{v}");
    let other = "c".repeat(64);
    for (token, extra, error_code) in [
        (
            "good.tok",
            vec!["--scope", "deploy"],
            "delegation_token_scope_mismatch",
        ),
        (
            "good.tok",
            vec!["--intent-digest", other.as_str()],
            "delegation_token_intent_mismatch",
        ),
        ("expired.tok", vec![], "delegation_token_expired"),
    ] {
        let (code, v) = verify(token, &extra);
        assert_ne!(code, 0, "{token} {extra:?}: {v}");
        assert_eq!(v["ok"], false);
        assert!(v.to_string().contains(error_code), "{token} {extra:?}: {v}");
    }
}

/// Forged signatures: a trace verified with another key, or with a changed
/// signature byte, fails with exit 2.
#[test]
fn hardening_forged_signature_is_rejected() {
    let dir = gate_dir();
    let d = dir.path();
    keys(d, "trace", "trace");
    keys(d, "other", "trace");
    let (code, _) = run(
        d,
        &[
            "gate",
            "eval",
            "--policy",
            "policy.yaml",
            "--intent",
            "read.json",
            "--key-mode",
            "prod",
            "--private-key",
            "k/trace_private.key",
            "--trace-out",
            "trace.json",
            "--json",
        ],
    );
    assert_eq!(code, 0);
    let verify = |key: &str| {
        run(
            d,
            &[
                "trace",
                "verify",
                "trace.json",
                "--public-key",
                key,
                "--json",
            ],
        )
    };
    assert_eq!(verify("k/trace_public.key").0, 0);
    let (code, v) = verify("k/other_public.key");
    assert_eq!(code, 2, "{v}");
    assert_eq!(v["signature_status"], "failed");
    // Re-sign the trace's digest with another key, keeping the key id.
    let mut trace: Value =
        serde_json::from_slice(&fs::read(d.join("trace.json")).unwrap()).unwrap();
    let sig = trace["signature"]["sig"].as_str().unwrap().to_owned();
    let mut forged = sig.into_bytes();
    forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
    trace["signature"]["sig"] = Value::String(String::from_utf8(forged).unwrap());
    fs::write(d.join("trace.json"), trace.to_string()).unwrap();
    let (code, v) = verify("k/trace_public.key");
    assert_eq!(code, 2, "{v}");
}

/// Unsafe replay: real tool execution without every interlock exits 8.
#[test]
fn hardening_unsafe_replay_exits_8() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(run(dir.path(), &["demo", "--json"]).0, 0);
    let (code, v) = run(
        dir.path(),
        &["run", "replay", "run_demo", "--real-tools", "--json"],
    );
    assert_eq!(code, 8, "{v}");
    assert_eq!(v["error_code"], "unsafe_operation");
    let (code, v) = run(
        dir.path(),
        &[
            "run",
            "replay",
            "run_demo",
            "--real-tools",
            "--unsafe-real-tools",
            "--json",
        ],
    );
    assert_eq!(code, 8, "{v}");
    // Stub replay (the default) is safe.
    assert_eq!(
        run(dir.path(), &["run", "replay", "run_demo", "--json"]).0,
        0
    );
}

const RECORD_INPUT: &str = r#"{
  "run": {"run_id": "run_capture", "created_at": "2026-02-14T00:00:00Z"},
  "intents": [
    {"intent_id": "intent_1", "tool_name": "tool.echo", "args": {"message": "secret-payload-123"}}
  ],
  "results": [
    {"intent_id": "intent_1", "status": "ok", "result": {"message": "secret-payload-123"}}
  ]
}"#;

/// Raw capture only on request: the default capture keeps digests, not
/// payloads; only `--capture-mode raw` stores them, with a warning.
#[test]
fn hardening_raw_capture_only_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("input.json"), RECORD_INPUT).unwrap();
    let contents = |run_id: &str| {
        let bytes = fs::read(d.join(format!("gait-out/runpack_{run_id}.zip"))).unwrap();
        let mut archive = Archive::open(Cursor::new(bytes)).unwrap();
        let names: Vec<String> = archive.entries().iter().map(|e| e.name.clone()).collect();
        names
            .iter()
            .map(|n| String::from_utf8_lossy(&archive.read(n, 1 << 20).unwrap()).into_owned())
            .collect::<String>()
    };
    let (code, v) = run(
        d,
        &[
            "run",
            "record",
            "--input",
            "input.json",
            "--run-id",
            "run_ref",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert!(
        v["warnings"][0]
            .as_str()
            .unwrap()
            .contains("reference capture stripped"),
        "{v}"
    );
    assert!(!contents("run_ref").contains("secret-payload-123"));
    let (code, v) = run(
        d,
        &[
            "run",
            "record",
            "--input",
            "input.json",
            "--run-id",
            "run_raw",
            "--capture-mode",
            "raw",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["warnings"],
        serde_json::json!([gait_pack::runpack::RAW_CAPTURE_WARNING]),
        "{v}"
    );
    assert!(contents("run_raw").contains("secret-payload-123"));
}

/// Release tampering: a signed release verifies; a changed file fails
/// with exit 2 naming it; a trace-role key cannot sign a release (exit 6).
#[test]
fn hardening_tampered_release_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keys(d, "release", "release");
    keys(d, "trace", "trace");
    fs::create_dir(d.join("dist")).unwrap();
    fs::write(d.join("dist/gait"), b"binary").unwrap();
    let (code, v) = run(
        d,
        &[
            "release",
            "sign",
            "dist",
            "--private-key",
            "k/release_private.key",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{v}");
    let verify = || {
        run(
            d,
            &[
                "release",
                "verify",
                "dist",
                "--public-key",
                "k/release_public.key",
                "--json",
            ],
        )
    };
    assert_eq!(verify().0, 0);
    fs::write(d.join("dist/gait"), b"binarY").unwrap();
    let (code, v) = verify();
    assert_eq!(code, 2, "{v}");
    assert_eq!(v["failures"][0]["file"], "gait");
    let (code, _) = run(
        d,
        &[
            "release",
            "sign",
            "dist",
            "--private-key",
            "k/trace_private.key",
            "--json",
        ],
    );
    assert_eq!(code, 6);
}
