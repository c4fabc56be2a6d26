//! Issue 11 hardening through the real `gait` binary: private key hygiene
//! (file mode, role records) at every signing command, inputs that are not
//! regular files, explicit YAML tags in policies and control characters in
//! identifiers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gait"));
    c.args(args)
        .current_dir(dir)
        .env_remove("GAIT_TEST_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Runs `gait`, killing it (and failing) if it has not finished within 30
/// seconds: nothing here may block.
fn gait(dir: &Path, args: &[&str]) -> Output {
    let mut child = command(dir, args).spawn().unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("gait {args:?} did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = gait(dir, args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let v = serde_json::from_str(text.trim()).unwrap_or(Value::Null);
    (out.status.code().unwrap(), v)
}

fn error_text(v: &Value) -> String {
    v["error"].as_str().unwrap_or_default().to_owned()
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

const POLICY: &str = "\
default_verdict: allow
rules:
  - name: block-delete
    effect: block
    match:
      tool_names: [tool.delete]
";

const RUN_INPUT: &str = r#"{
  "Run": {"run_id": "run_keys", "created_at": "2026-02-14T00:00:00Z"},
  "intents": [{"intent_id": "intent_1", "tool_name": "echo", "args": {"message": "hi"}}],
  "results": [{"intent_id": "intent_1", "status": "ok", "result": {"verdict": "allow"}}],
  "refs": {"receipts": []}
}"#;

fn intent(context: Value) -> String {
    json!({
        "schema_id": "gait.gate.intent_request",
        "schema_version": "1.0.0",
        "created_at": "2026-02-06T00:00:00Z",
        "producer_version": "hardening",
        "tool_name": "tool.read",
        "args": {"path": "/tmp/x"},
        "targets": [{"kind": "path", "value": "/tmp/x", "operation": "read"}],
        "context": context
    })
    .to_string()
}

/// A temp dir with `policy.yaml`, `read.json`, `input.json`, `call.json`
/// and `dist/gait`.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("policy.yaml"), POLICY).unwrap();
    fs::write(
        d.join("read.json"),
        intent(json!({"identity": "u", "workspace": "/w", "risk_class": "low"})),
    )
    .unwrap();
    fs::write(d.join("input.json"), RUN_INPUT).unwrap();
    fs::write(
        d.join("call.json"),
        json!({"name": "tool.read", "args": {"path": "/tmp/a"},
               "context": {"identity": "alice", "workspace": "/w", "risk_class": "low"}})
        .to_string(),
    )
    .unwrap();
    fs::create_dir(d.join("dist")).unwrap();
    fs::write(d.join("dist/gait"), b"binary").unwrap();
    dir
}

fn keys_init(dir: &Path, prefix: &str, role: Option<&str>) -> String {
    let mut args = vec!["keys", "init", "--out-dir", "k", "--prefix", prefix];
    if let Some(role) = role {
        args.extend(["--role", role]);
    }
    let out = gait(dir, &args);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    format!("k/{prefix}_private.key")
}

const INTENT_DIGEST: &str = "4b53bb79e35105ac9170963ac6f84ed0ed15530c68f06a46fc1233c5ec766913";
const POLICY_DIGEST: &str = "07a528a879e4f0e0cd5a0e2ca801924746b47dac624862207ef21d4ec266f8f9";

/// Every command that signs with a private key file, with `key` as that
/// file: (name, role it signs for, arguments).
fn signing_commands(key: &str) -> Vec<(&'static str, &'static str, Vec<String>)> {
    let v = |args: &[&str]| args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        (
            "gate eval",
            "trace",
            v(&[
                "gate",
                "eval",
                "--policy",
                "policy.yaml",
                "--intent",
                "read.json",
                "--key-mode",
                "prod",
                "--private-key",
                key,
                "--trace-out",
                "trace.json",
                "--json",
            ]),
        ),
        (
            "run record",
            "trace",
            v(&[
                "run",
                "record",
                "--input",
                "input.json",
                "--out-dir",
                "out",
                "--key-mode",
                "prod",
                "--private-key",
                key,
                "--json",
            ]),
        ),
        (
            "mcp proxy",
            "trace",
            v(&[
                "mcp",
                "proxy",
                "--policy",
                "policy.yaml",
                "--call",
                "call.json",
                "--key-mode",
                "prod",
                "--private-key",
                key,
                "--json",
            ]),
        ),
        (
            "approve",
            "approval",
            v(&[
                "approve",
                "--intent-digest",
                INTENT_DIGEST,
                "--policy-digest",
                POLICY_DIGEST,
                "--ttl",
                "1h",
                "--scope",
                "tool:tool.write",
                "--approver",
                "a@example.com",
                "--reason-code",
                "ticket",
                "--out",
                "approval.json",
                "--key-mode",
                "prod",
                "--private-key",
                key,
                "--json",
            ]),
        ),
        (
            "delegate mint",
            "delegation",
            v(&[
                "delegate",
                "mint",
                "--delegator",
                "a",
                "--delegate",
                "b",
                "--scope",
                "tool:tool.write",
                "--ttl",
                "1h",
                "--out",
                "delegation.json",
                "--key-mode",
                "prod",
                "--private-key",
                key,
                "--json",
            ]),
        ),
        (
            "release sign",
            "release",
            v(&["release", "sign", "dist", "--private-key", key, "--json"]),
        ),
    ]
}

/// Issue 11: a private key file that group or others can read or write
/// (0644, 0666, 0640) is refused by every signing command with exit 6 and
/// a message naming the file and `chmod 600 <file>`; after `chmod 600` the
/// same commands sign. `keys verify` (which signs nothing) warns.
#[cfg(unix)]
#[test]
fn hardening_private_key_open_to_group_or_others_is_refused() {
    let dir = workdir();
    let d = dir.path();
    let key = keys_init(d, "loose", None);
    for mode in [0o644, 0o666, 0o640] {
        chmod(&d.join(&key), mode);
        for (name, _, args) in signing_commands(&key) {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, v) = run(d, &args);
            assert_eq!(code, 6, "{name} with mode {mode:o}: {v}");
            let msg = error_text(&v);
            assert!(msg.contains(&format!("chmod 600 {key}")), "{name}: {msg}");
            assert!(msg.contains(&format!("{mode:04o}")), "{name}: {msg}");
        }
        assert!(!d.join("trace.json").exists());
        assert!(!d.join("approval.json").exists());
        // Checking the pair signs nothing: it passes with a warning.
        let out = gait(
            d,
            &[
                "keys",
                "verify",
                "--private-key",
                &key,
                "--public-key",
                "k/loose_public.key",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
    }
    chmod(&d.join(&key), 0o600);
    for (name, _, args) in signing_commands(&key) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, v) = run(d, &args);
        assert_eq!(code, 0, "{name}: {v}");
    }
    // A key in an environment variable has no file mode.
    let text = fs::read_to_string(d.join(&key)).unwrap();
    let out = command(
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
            "--private-key-env",
            "GAIT_HARDENING_KEY",
            "--json",
        ],
    )
    .env("GAIT_HARDENING_KEY", text.trim())
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// Issue 11: a key whose role record names another role is refused (exit
/// 6) for trace, approval, delegation and release signing alike; the role
/// it was made for signs. A key without a record signs for every role.
#[test]
fn hardening_key_recorded_for_another_role_is_refused() {
    let dir = workdir();
    let d = dir.path();
    for role in ["trace", "approval", "delegation", "release"] {
        let key = keys_init(d, role, Some(role));
        for (name, wanted, args) in signing_commands(&key) {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, v) = run(d, &args);
            if wanted == role {
                assert_eq!(code, 0, "{role} key for {name}: {v}");
            } else {
                assert_eq!(code, 6, "{role} key for {name}: {v}");
                let msg = error_text(&v);
                assert!(
                    msg.contains(&format!("recorded for role {role}"))
                        && msg.contains(&format!("not {wanted}")),
                    "{role} key for {name}: {msg}"
                );
            }
        }
    }
    let key = keys_init(d, "plain", None);
    for (name, _, args) in signing_commands(&key) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, v) = run(d, &args);
        assert_eq!(code, 0, "unrecorded key for {name}: {v}");
    }
}

/// Issue 11: a policy, intent, token or key path that is a device or a
/// FIFO is refused with exit 6 "not a regular file", without blocking on a
/// FIFO that has no writer or reading an endless device.
#[cfg(unix)]
#[test]
fn hardening_input_that_is_not_a_regular_file_is_refused() {
    let dir = workdir();
    let d = dir.path();
    let status = Command::new("mkfifo").arg(d.join("fifo")).status().unwrap();
    assert!(status.success());
    for special in ["/dev/zero", "fifo"] {
        let cases: Vec<Vec<&str>> = vec![
            vec![
                "gate",
                "eval",
                "--policy",
                special,
                "--intent",
                "read.json",
                "--json",
            ],
            vec![
                "gate",
                "eval",
                "--policy",
                "policy.yaml",
                "--intent",
                special,
                "--json",
            ],
            vec![
                "gate",
                "eval",
                "--policy",
                "policy.yaml",
                "--intent",
                "read.json",
                "--approval-token",
                special,
                "--json",
            ],
            vec!["policy", "validate", special, "--json"],
            vec![
                "mcp",
                "proxy",
                "--policy",
                "policy.yaml",
                "--call",
                special,
                "--json",
            ],
            vec![
                "gate",
                "eval",
                "--policy",
                "policy.yaml",
                "--intent",
                "read.json",
                "--key-mode",
                "prod",
                "--private-key",
                special,
                "--json",
            ],
            vec!["run", "record", "--input", special, "--json"],
        ];
        for args in cases {
            let started = Instant::now();
            let (code, v) = run(d, &args);
            assert_eq!(code, 6, "{args:?}: {v}");
            assert!(
                error_text(&v).contains("not a regular file"),
                "{args:?}: {v}"
            );
            assert!(started.elapsed() < Duration::from_secs(10), "{args:?}");
        }
    }
}

/// Issue 11: an explicit YAML tag in a policy (`!!binary` hiding a tool
/// name, `!!str`, an application tag) is refused with exit 6 naming the
/// file, the line and the field.
#[test]
fn hardening_yaml_tag_in_policy_is_refused() {
    let dir = workdir();
    let d = dir.path();
    for (yaml, field, line) in [
        (
            "default_verdict: allow\nrules:\n  - name: r\n    effect: block\n    match:\n      tool_names: [!!binary dG9vbC5kZWxldGU=]\n",
            "rules[0].match.tool_names[0]",
            6,
        ),
        ("default_verdict: !!str block\n", "default_verdict", 1),
        ("default_verdict: !verdict allow\n", "default_verdict", 1),
    ] {
        fs::write(d.join("tagged.yaml"), yaml).unwrap();
        for args in [
            vec!["policy", "validate", "tagged.yaml", "--json"],
            vec![
                "gate",
                "eval",
                "--policy",
                "tagged.yaml",
                "--intent",
                "read.json",
                "--json",
            ],
        ] {
            let (code, v) = run(d, &args);
            assert_eq!(code, 6, "{yaml}: {v}");
            let msg = error_text(&v);
            assert!(msg.contains("tagged.yaml"), "{msg}");
            assert!(msg.contains(&format!(":{line}:")), "{msg}");
            assert!(msg.contains(field), "{msg}");
            assert!(msg.contains("YAML tag"), "{msg}");
        }
    }
}

/// Issue 11: a newline (or other control character) in a run, session or
/// job id is refused with exit 6 naming the field, at `gate eval` (intent
/// context), `run record` (`--run-id` and the input's run id) and the MCP
/// proxies (`--run-id`, `--session-id`); nothing is written.
#[test]
fn hardening_control_characters_in_identifiers_are_refused() {
    let dir = workdir();
    let d = dir.path();
    for (field, value) in [
        ("run_id", "run_1\nGAIT run_id=forged"),
        ("session_id", "s\u{1b}[2K1"),
        ("job_id", "job\r1"),
    ] {
        let mut context = json!({"identity": "u", "workspace": "/w", "risk_class": "low"});
        context[field] = json!(value);
        fs::write(d.join("bad.json"), intent(context)).unwrap();
        let (code, v) = run(
            d,
            &[
                "gate",
                "eval",
                "--policy",
                "policy.yaml",
                "--intent",
                "bad.json",
                "--trace-out",
                "bad_trace.json",
                "--json",
            ],
        );
        assert_eq!(code, 6, "{field}: {v}");
        let msg = error_text(&v);
        assert!(msg.contains(&format!("context.{field}")), "{msg}");
        assert!(msg.contains("control character"), "{msg}");
        assert!(!d.join("bad_trace.json").exists());
    }
    let (code, v) = run(
        d,
        &[
            "run",
            "record",
            "--input",
            "input.json",
            "--run-id",
            "run_a\nb",
            "--out-dir",
            "o",
            "--json",
        ],
    );
    assert_eq!(code, 6, "{v}");
    assert!(
        error_text(&v).contains("run_id contains a control character (U+000A)"),
        "{v}"
    );
    fs::write(
        d.join("input_nl.json"),
        RUN_INPUT.replace("\"run_keys\"", "\"run_keys\\u0085x\""),
    )
    .unwrap();
    let (code, v) = run(
        d,
        &[
            "run",
            "record",
            "--input",
            "input_nl.json",
            "--out-dir",
            "o",
            "--json",
        ],
    );
    assert_eq!(code, 6, "{v}");
    assert!(
        error_text(&v).contains("run_id contains a control character (U+0085)"),
        "{v}"
    );
    assert!(!d.join("o").exists() || fs::read_dir(d.join("o")).unwrap().count() == 0);
    let (code, v) = run(
        d,
        &[
            "mcp",
            "proxy",
            "--policy",
            "policy.yaml",
            "--call",
            "call.json",
            "--run-id",
            "r\u{2028}x",
            "--json",
        ],
    );
    assert_eq!(code, 6, "{v}");
    assert!(
        error_text(&v).contains("--run-id contains a control character (U+2028)"),
        "{v}"
    );
}
