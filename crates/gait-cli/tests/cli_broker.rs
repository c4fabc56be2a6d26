//! `gait gate eval --credential-broker`: the stub, env and command brokers
//! on the real binary; a broker failure never allows; the credential
//! never appears in clear in the trace, the output or the evidence file.

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

const POLICY: &str = "\
default_verdict: block
rules:
  - name: brokered
    priority: 10
    effect: allow
    match:
      tool_names: [db.update]
    require_broker_credential: true
    broker_reference: github-token
    broker_scopes: [PACKAGES:READ, repo:read]
  - name: plain
    priority: 20
    effect: allow
    match:
      tool_names: [tool.read]
";

const INTENT: &str = r#"{"schema_id":"gait.gate.intent_request","schema_version":"1.0.0",
"created_at":"2026-01-12T08:00:00Z","producer_version":"test","tool_name":"db.update",
"args":{"path":"/repo/src/a/y.json"},
"targets":[{"kind":"path","value":"/repo/src/a/y.json","operation":"write"}],
"context":{"identity":"erin@corp","workspace":"/repo/app","risk_class":"low","run_id":"run-171",
"job_id":"job:alpha:7","session_id":"sess-18","request_id":"req-381"}}"#;

const SECRET: &str = "s3cr3t-value-4711";

fn case() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("policy.yaml"), POLICY).unwrap();
    fs::write(dir.path().join("intent.json"), INTENT).unwrap();
    dir
}

fn run(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
    let mut args = vec![
        "gate",
        "eval",
        "--policy",
        "policy.yaml",
        "--intent",
        "intent.json",
        "--evaluation-time",
        "2026-01-12T09:00:00Z",
        "--json",
    ];
    args.extend_from_slice(extra);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gait"));
    cmd.args(&args).current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let v = serde_json::from_str(text.trim()).unwrap_or(Value::Null);
    (out.status.code().unwrap(), v, text)
}

fn reasons(v: &Value) -> Vec<&str> {
    v["reason_codes"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn files(dir: &Path, prefix: &str) -> Vec<std::path::PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect()
}

#[test]
fn stub_broker_issues_a_credential_with_evidence() {
    let dir = case();
    let (code, v, _) = run(dir.path(), &["--credential-broker", "STUB"], &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["verdict"], "allow");
    assert_eq!(
        reasons(&v),
        ["broker_credential_present", "matched_rule_brokered"]
    );
    assert_eq!(v["credential_ref"], "stub:4ae7a2bdb3872c485a0adb70");
    assert_eq!(v["credential_source"], "stub");
    assert_eq!(v["credential_access_type"], "jit");
    assert_eq!(v["credential_ttl_seconds"], 300);
    let path = v["credential_evidence_path"].as_str().unwrap();
    assert_eq!(
        path,
        format!(
            "credential_evidence_{}.json",
            v["trace_id"].as_str().unwrap()
        )
    );
    let record: Value = serde_json::from_slice(&fs::read(dir.path().join(path)).unwrap()).unwrap();
    assert_eq!(record["schema_id"], "gait.gate.broker_credential_record");
    assert_eq!(
        record["request_digest"],
        "e228aca4e2c63c33b01364d0bc02152e86f2793e076be6d5dfad3a801921fca4"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.path().join(path))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let trace: Value =
        serde_json::from_slice(&fs::read(&files(dir.path(), "trace_")[0]).unwrap()).unwrap();
    assert_eq!(
        trace["broker_credential_ref"],
        "stub:4ae7a2bdb3872c485a0adb70"
    );
    assert_eq!(trace["broker_request_digest"], record["request_digest"]);
}

#[test]
fn env_broker_secret_never_appears_in_clear() {
    let dir = case();
    let (code, v, stdout) = run(
        dir.path(),
        &[
            "--credential-broker",
            "env",
            "--credential-evidence-out",
            "out/ev/cred.json",
        ],
        &[("GAIT_BROKER_TOKEN_GITHUB_TOKEN", SECRET)],
    );
    assert_eq!(code, 0, "{v}");
    let r = v["credential_ref"].as_str().unwrap();
    assert!(r.starts_with("env:GAIT_BROKER_TOKEN_GITHUB_TOKEN:"), "{r}");
    assert!(!stdout.contains(SECRET));
    let evidence = fs::read_to_string(dir.path().join("out/ev/cred.json")).unwrap();
    assert!(evidence.contains(r));
    assert!(!evidence.contains(SECRET));
    let trace_files = files(dir.path(), "trace_");
    assert_eq!(trace_files.len(), 1);
    let trace = fs::read_to_string(&trace_files[0]).unwrap();
    assert!(trace.contains(r));
    assert!(!trace.contains(SECRET));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.path().join("out/ev"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o750);
    }
    // Without the variable: blocked, no evidence.
    let dir = case();
    let (code, v, _) = run(dir.path(), &["--credential-broker", "env"], &[]);
    assert_eq!(code, 3);
    assert_eq!(v["violations"][0], "broker_credential_missing");
    assert!(files(dir.path(), "credential_evidence_").is_empty());
}

#[cfg(unix)]
fn broker_script(dir: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("broker.sh");
    fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o700)).unwrap();
}

#[cfg(unix)]
#[test]
fn command_broker_failures_block_with_broker_credential_missing() {
    for body in [
        // Past the 5 s timeout.
        "exec sleep 30",
        // More than 16 KiB.
        "cat >/dev/null; head -c 20000 /dev/zero | tr '\\0' 'a'",
        // A receipt, then a non-zero exit.
        "cat >/dev/null; echo '{\"credential_ref\":\"cmd:x\"}'; exit 2",
    ] {
        let dir = case();
        broker_script(dir.path(), body);
        let started = std::time::Instant::now();
        let (code, v, _) = run(
            dir.path(),
            &[
                "--credential-broker",
                "command",
                "--credential-command",
                "./broker.sh",
            ],
            &[],
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "{body}"
        );
        assert_eq!(code, 3, "{body}: {v}");
        assert_eq!(v["verdict"], "block", "{body}");
        assert!(reasons(&v).contains(&"broker_credential_missing"), "{body}");
        assert_eq!(v["violations"][0], "broker_credential_missing", "{body}");
        assert!(v.get("credential_ref").is_none(), "{body}");
        assert!(
            files(dir.path(), "credential_evidence_").is_empty(),
            "{body}"
        );
        assert_eq!(files(dir.path(), "trace_").len(), 1, "{body}");
    }
}

#[cfg(unix)]
#[test]
fn command_broker_receipt_is_read_from_stdout_only() {
    let dir = case();
    broker_script(
        dir.path(),
        "cat >/dev/null; echo 'noise' >&2; printf '{\"credential_ref\":\"cmd:deploy-42\",\"source\":\"command\",\"access_type\":\"jit\",\"issuer\":\"corp-broker\",\"ttl_seconds\":120}'",
    );
    let (code, v, _) = run(
        dir.path(),
        &[
            "--credential-broker",
            "command",
            "--credential-command",
            "./broker.sh",
        ],
        &[],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["credential_ref"], "cmd:deploy-42");
    assert_eq!(v["credential_issuer"], "corp-broker");
    assert_eq!(v["credential_ttl_seconds"], 120);
}

#[test]
fn unknown_broker_is_invalid_input_even_when_unused() {
    let dir = case();
    let intent = INTENT.replace("\"db.update\"", "\"tool.read\"");
    fs::write(dir.path().join("intent.json"), intent).unwrap();
    let (code, v, _) = run(dir.path(), &["--credential-broker", "vault"], &[]);
    assert_eq!(code, 6);
    assert_eq!(v["ok"], false);
    assert_eq!(v["error_code"], "invalid_input");
    assert!(files(dir.path(), "trace_").is_empty());
    let (code, _, _) = run(dir.path(), &["--credential-broker", "command"], &[]);
    assert_eq!(code, 6);
}

#[test]
fn broker_failure_never_allows() {
    // No broker at all: the rule's allow is blocked.
    let dir = case();
    let (code, v, _) = run(dir.path(), &[], &[]);
    assert_eq!(code, 3);
    assert_eq!(
        reasons(&v),
        ["broker_credential_required", "matched_rule_brokered"]
    );
    assert!(files(dir.path(), "credential_evidence_").is_empty());
}

#[test]
fn project_config_credential_broker_applies_when_flag_absent() {
    let dir = case();
    fs::create_dir_all(dir.path().join(".gait")).unwrap();
    fs::write(
        dir.path().join(".gait/config.yaml"),
        "gate:\n  credential_broker: stub\n  credential_evidence_path: ev/c.json\n",
    )
    .unwrap();
    let (code, v, _) = run(dir.path(), &[], &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["credential_evidence_path"], "ev/c.json");
    // The flag wins over the config.
    let (code, _, _) = run(dir.path(), &["--credential-broker", "off"], &[]);
    assert_eq!(code, 3);
}

#[test]
fn starter_brokered_template_allows_with_a_broker() {
    // A brokered high-risk allow rule, as in the reference's high-risk
    // example policies: blocked without a broker, allowed with one.
    let dir = case();
    fs::write(
        dir.path().join("policy.yaml"),
        "schema_id: gait.gate.policy\nschema_version: 1.0.0\ndefault_verdict: block\nrules:\n  - name: brokered-write\n    priority: 10\n    effect: allow\n    require_broker_credential: true\n    broker_reference: highrisk-egress\n    broker_scopes: [write]\n    match:\n      tool_names: [db.update]\n      risk_classes: [high, critical]\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("intent.json"),
        INTENT.replace("\"low\"", "\"high\""),
    )
    .unwrap();
    let (code, v, _) = run(dir.path(), &[], &[]);
    assert_eq!(code, 3, "{v}");
    let (code, v, _) = run(dir.path(), &["--credential-broker", "stub"], &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        reasons(&v),
        ["broker_credential_present", "matched_rule_brokered_write"]
    );
}
