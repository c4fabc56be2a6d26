//! `gait test | enforce | trace -- <child…>` through the real binary, in a
//! temporary directory.

#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

fn gait_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gait"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn gait_json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let (code, out, err) = gait_in(dir, args);
    let v = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("{args:?}: {e}: stdout {out:?} stderr {err:?}"));
    (code, v)
}

fn trace_json(verdict: &str) -> String {
    json!({
        "schema_id": "gait.gate.trace",
        "schema_version": "1.0.0",
        "created_at": "2001-02-03T04:05:06Z",
        "producer_version": "0.0.0-fixture",
        "trace_id": "t",
        "tool_name": "tool.x",
        "args_digest": "a".repeat(64),
        "intent_digest": "b".repeat(64),
        "policy_digest": "c".repeat(64),
        "verdict": verdict
    })
    .to_string()
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for v in ["allow", "block", "dry_run", "require_approval"] {
        std::fs::write(dir.path().join(format!("{v}.json")), trace_json(v)).unwrap();
    }
    dir
}

#[test]
fn enforce_maps_verdicts_and_prints_the_wrapper_output() {
    let dir = fixture();
    let d = dir.path();
    let (code, v) = gait_json(
        d,
        &[
            "enforce",
            "--json",
            "--",
            "sh",
            "-c",
            "echo trace_path=allow.json",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(v["ok"], true);
    assert_eq!(v["mode"], "enforce");
    assert_eq!(v["boundary_contract"], "explicit_trace_reference");
    assert_eq!(v["trace_reference_required"], true);
    assert_eq!(v["cwd"], ".");
    assert_eq!(
        v["command"],
        json!(["sh", "-c", "echo trace_path=allow.json"])
    );
    assert_eq!(v["trace_paths"], json!(["allow.json"]));
    assert_eq!(
        v["verdict_counts"],
        json!([{"count": 1, "verdict": "allow"}])
    );
    assert_eq!(v["stdout"], "trace_path=allow.json\n");
    assert!(v["duration_ms"].is_u64());
    assert!(v["correlation_id"].is_string());
    for absent in [
        "stderr",
        "warnings",
        "error",
        "failure_reason",
        "child_exit_code",
        "timed_out",
    ] {
        assert!(v.get(absent).is_none(), "{absent}");
    }
    let expect = [
        ("block.json", 3),
        ("dry_run.json", 3),
        ("require_approval.json", 4),
    ];
    for (file, want) in expect {
        let script = format!("echo trace_path={file}");
        let (code, v) = gait_json(d, &["enforce", "--json", "--", "sh", "-c", &script]);
        assert_eq!(code, want, "{file}");
        assert_eq!(v["ok"], false);
        assert!(v.get("error").is_none(), "{v}");
        // test and trace observe only.
        for mode in ["test", "trace"] {
            let (code, v) = gait_json(d, &[mode, "--json", "--", "sh", "-c", &script]);
            assert_eq!((code, &v["mode"]), (0, &json!(mode)), "{mode} {file}");
        }
    }
}

#[test]
fn enforce_fails_closed_on_every_invalid_trace() {
    let dir = fixture();
    let d = dir.path();
    std::fs::write(d.join("padded.json"), trace_json(" block")).unwrap();
    std::fs::write(
        d.join("variant.json"),
        trace_json("block").replace(
            r#""verdict":"block""#,
            r#""verdict":"block","Verdict":"allow""#,
        ),
    )
    .unwrap();
    std::fs::write(d.join("unknown.json"), trace_json("deny")).unwrap();
    for file in [
        "padded.json",
        "variant.json",
        "unknown.json",
        "missing.json",
    ] {
        let script = format!("echo trace_path={file}");
        let (code, v) = gait_json(d, &["enforce", "--json", "--", "sh", "-c", &script]);
        assert_eq!(code, 3, "{file}: {v}");
        assert_eq!(v["failure_reason"], "invalid_trace_artifact");
        assert_eq!(v["error_code"], "policy_blocked");
        assert_eq!(
            v["error"],
            "child command emitted an invalid Gait trace artifact; enforce mode fails closed"
        );
        assert!(
            v["warnings"][0]
                .as_str()
                .unwrap()
                .starts_with("trace ignored: ")
        );
        let (code, v) = gait_json(d, &["test", "--json", "--", "sh", "-c", &script]);
        assert_eq!(code, 0, "{file}");
        assert_eq!(v["warnings"].as_array().unwrap().len(), 1);
    }
    // No reference at all, whatever the child did.
    for script in ["echo working", "exit 9", "echo ' trace_path='"] {
        let (code, v) = gait_json(d, &["enforce", "--json", "--", "sh", "-c", script]);
        assert_eq!(code, 6, "{script}");
        assert_eq!(v["failure_reason"], "missing_trace_reference");
    }
}

#[test]
fn enforce_with_a_public_key_requires_signed_traces() {
    let dir = fixture();
    let d = dir.path();
    let (code, _, err) = gait_in(d, &["keys", "init", "--out-dir", "keys", "--json"]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(
        d.join("policy.yaml"),
        "schema_id: gait.gate.policy\nschema_version: 1.0.0\ndefault_verdict: allow\n",
    )
    .unwrap();
    std::fs::write(
        d.join("intent.json"),
        json!({
            "schema_id": "gait.gate.intent_request",
            "schema_version": "1.0.0",
            "created_at": "2001-02-03T04:05:06Z",
            "producer_version": "0.0.0-example",
            "tool_name": "tool.read",
            "args": {"path": "/tmp/x"},
            "targets": [{"kind": "path", "value": "/tmp/x"}],
            "context": {"identity": "u", "workspace": "/tmp", "risk_class": "low"}
        })
        .to_string(),
    )
    .unwrap();
    let gait = env!("CARGO_BIN_EXE_gait");
    let agent = format!(
        "\"{gait}\" gate eval --policy policy.yaml --intent intent.json --key-mode prod \
         --private-key keys/gait_private.key --trace-out signed.json --json >/dev/null; \
         echo trace_path=signed.json"
    );
    let key = ["--public-key", "keys/gait_public.key"];
    let mut args = vec!["enforce", "--json"];
    args.extend(key);
    args.extend(["--", "sh", "-c", &agent]);
    let (code, v) = gait_json(d, &args);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["trace_signatures"], "required");
    assert_eq!(
        v["verdict_counts"],
        json!([{"count": 1, "verdict": "allow"}])
    );
    // A hand-written allow trace (what any child can print) is refused.
    let mut args = vec!["enforce", "--json"];
    args.extend(key);
    args.extend(["--", "sh", "-c", "echo trace_path=allow.json"]);
    let (code, v) = gait_json(d, &args);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["failure_reason"], "invalid_trace_artifact");
    assert!(v["warnings"][0].as_str().unwrap().contains("signature"));
    // Without the key flags the same file is accepted (the reference's rule).
    let (code, _) = gait_json(
        d,
        &[
            "enforce",
            "--json",
            "--",
            "sh",
            "-c",
            "echo trace_path=allow.json",
        ],
    );
    assert_eq!(code, 0);
    // An unreadable key is a usage error before anything runs.
    let (code, v) = gait_json(
        d,
        &[
            "enforce",
            "--json",
            "--public-key",
            "nope.key",
            "--",
            "sh",
            "-c",
            "touch ran.txt",
        ],
    );
    assert_eq!((code, &v["mode"]), (6, &json!("enforce")));
    assert!(!d.join("ran.txt").exists());
}

#[test]
fn usage_errors_name_the_mode_and_nothing_runs() {
    let dir = fixture();
    let d = dir.path();
    let cases: [(&[&str], &str); 6] = [
        (
            &[
                "enforce",
                "--json",
                "--timeout",
                "5",
                "--",
                "sh",
                "-c",
                "touch ran.txt",
            ],
            "parse --timeout: ",
        ),
        (
            &[
                "enforce",
                "--json",
                "--timeout",
                "0s",
                "--",
                "sh",
                "-c",
                "touch ran.txt",
            ],
            "--timeout must be > 0",
        ),
        (
            &[
                "test",
                "--json",
                "--timeout",
                "-2s",
                "--",
                "sh",
                "-c",
                "touch ran.txt",
            ],
            "--timeout must be > 0",
        ),
        (&["enforce", "--json"], "expected child command after --"),
        (&["test", "--json", "--"], "expected child command after --"),
        (
            &[
                "enforce",
                "--json",
                "--bogus",
                "--",
                "sh",
                "-c",
                "touch ran.txt",
            ],
            "",
        ),
    ];
    for (args, error) in cases {
        let (code, v) = gait_json(d, args);
        assert_eq!(code, 6, "{args:?}");
        assert_eq!(v["ok"], false);
        assert_eq!(v["mode"], args[0]);
        assert_eq!(v["error_code"], "invalid_input");
        assert_eq!(v["boundary_contract"], "explicit_trace_reference");
        assert!(v["error"].as_str().unwrap().starts_with(error), "{v}");
    }
    // `gait trace` without `--` is the trace verifier's usage error.
    let (code, _, _) = gait_in(d, &["trace", "--json"]);
    assert_eq!(code, 6);
    // Without `--` a child's flags are gait's: an unknown flag.
    let (code, _, _) = gait_in(d, &["test", "sh", "-c", "touch ran.txt"]);
    assert_eq!(code, 6);
    assert!(!d.join("ran.txt").exists());
    // `trace verify` still verifies.
    let (code, _, err) = gait_in(d, &["trace", "verify", "allow.json", "--public-key", "x"]);
    assert_eq!(code, 6, "{err}");
    // Help exits 0.
    let (code, out, _) = gait_in(d, &["enforce", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("--timeout"));
}

/// The reference prints the explanation for `--explain` anywhere, even
/// inside the child command, and never runs the child.
#[test]
fn explain_inside_the_child_command_belongs_to_the_child() {
    let dir = fixture();
    let (code, v) = gait_json(
        dir.path(),
        &[
            "test",
            "--json",
            "--",
            "sh",
            "-c",
            "echo trace_path=allow.json",
            "--explain",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["trace_paths"], json!(["allow.json"]));
    let (code, out, _) = gait_in(dir.path(), &["enforce", "--explain", "--", "sh"]);
    assert_eq!(code, 0);
    assert!(out.contains("fails closed"), "{out}");
}

#[test]
fn text_output_timeouts_signals_and_exit_codes() {
    let dir = fixture();
    let d = dir.path();
    let (code, out, _) = gait_in(d, &["test", "--", "sh", "-c", "echo trace_path=allow.json"]);
    assert_eq!((code, out.trim()), (0, "test ok: child_exit=0 traces=1"));
    let (code, out, _) = gait_in(
        d,
        &[
            "trace",
            "--",
            "sh",
            "-c",
            "echo trace_path=block.json; exit 5",
        ],
    );
    assert_eq!(
        (code, out.trim()),
        (5, "trace finished: child_exit=5 traces=1")
    );
    let (code, _, err) = gait_in(d, &["enforce", "--", "sh", "-c", "echo hi"]);
    assert_eq!(code, 6);
    assert!(err.starts_with("enforce error: child command did not emit a Gait trace reference"));
    // Killed by a signal: exit 1 (the reference exits 255), signal reported.
    let (code, v) = gait_json(
        d,
        &[
            "test",
            "--json",
            "--",
            "sh",
            "-c",
            "echo trace_path=allow.json; kill -9 $$",
        ],
    );
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["child_exit_code"], -1);
    assert_eq!(v["child_signal"], 9);
    // Timeout: the whole group is killed, exit 1.
    let begun = std::time::Instant::now();
    let (code, v) = gait_json(
        d,
        &[
            "enforce",
            "--json",
            "--timeout",
            "300ms",
            "--",
            "sh",
            "-c",
            "echo trace_path=allow.json; (trap '' TERM; sleep 30) & wait",
        ],
    );
    assert!(begun.elapsed() < std::time::Duration::from_secs(15));
    assert_eq!(code, 1);
    assert_eq!(v["failure_reason"], "child_timed_out");
    assert_eq!(v["error"], "child command timed out after 300ms");
    assert_eq!(v["timed_out"], true);
    assert_eq!(
        v["verdict_counts"],
        json!([{"count": 1, "verdict": "allow"}])
    );
}

#[test]
fn relative_trace_paths_are_read_from_the_child_cwd() {
    let dir = fixture();
    std::fs::create_dir(dir.path().join("agent")).unwrap();
    std::fs::write(dir.path().join("agent/mine.json"), trace_json("block")).unwrap();
    let (code, v) = gait_json(
        dir.path(),
        &[
            "enforce",
            "--json",
            "--cwd",
            "agent",
            "--",
            "sh",
            "-c",
            "echo trace_path=mine.json",
        ],
    );
    assert_eq!(code, 3, "{v}");
    assert!(v.get("warnings").is_none(), "{v}");
    assert_eq!(v["cwd"], "agent");
}
