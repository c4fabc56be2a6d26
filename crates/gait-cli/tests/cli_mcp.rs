//! `gait mcp proxy|bridge|verify`, `gait serve` (HTTP and `--stdio`) and
//! `gait hook claude-code|pre-tool`, run as real processes in a temp dir.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

const POLICY: &str = "default_verdict: block\nrules:\n  - name: reads\n    priority: 1\n    effect: allow\n    match:\n      tool_names: [tool.read]\n  - name: writes\n    priority: 2\n    effect: require_approval\n    match:\n      tool_names: [tool.write]\n";

fn gait(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gait"));
    cmd.current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn json_out(o: &Output) -> Value {
    let text = String::from_utf8_lossy(&o.stdout);
    serde_json::from_str(text.lines().last().unwrap_or("null")).unwrap_or(Value::Null)
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.yaml"), POLICY).unwrap();
    dir
}

fn call(tool: &str) -> String {
    json!({"name": tool, "args": {"path": "/tmp/a"},
           "context": {"identity": "alice", "workspace": "/w", "risk_class": "low"}})
    .to_string()
}

#[test]
fn proxy_and_bridge_decide_write_traces_and_exit_by_verdict() {
    let dir = setup();
    let d = dir.path();
    for (tool, verdict, code) in [
        ("tool.read", "allow", 0),
        ("tool.delete", "block", 3),
        ("tool.write", "require_approval", 4),
    ] {
        std::fs::write(d.join("call.json"), call(tool)).unwrap();
        for sub in ["proxy", "bridge"] {
            let o = gait(
                d,
                &[
                    "mcp",
                    sub,
                    "--policy",
                    "policy.yaml",
                    "--call",
                    "call.json",
                    "--json",
                ],
                None,
            );
            assert_eq!(
                o.status.code(),
                Some(code),
                "{}",
                String::from_utf8_lossy(&o.stdout)
            );
            let v = json_out(&o);
            assert_eq!(v["verdict"], verdict);
            assert_eq!(v["executed"], false);
            assert!(d.join(v["trace_path"].as_str().unwrap()).exists());
        }
    }
    // Positional form and standard input.
    let o = gait(
        d,
        &["mcp", "proxy", "policy.yaml", "-", "--json"],
        Some(&call("tool.read")),
    );
    assert_eq!(o.status.code(), Some(0));
    // Text output.
    let o = gait(
        d,
        &[
            "mcp",
            "proxy",
            "--policy",
            "policy.yaml",
            "--call",
            "call.json",
            "--trace-out",
            "t.json",
        ],
        None,
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("mcp proxy: verdict=require_approval"),
        "{text}"
    );
    assert!(text.contains("trace: t.json"));
    // Runpack and pack of the decision, verified by the CLI.
    let o = gait(
        d,
        &[
            "mcp",
            "proxy",
            "--policy",
            "policy.yaml",
            "--call",
            "call.json",
            "--runpack-out",
            "rp.zip",
            "--pack-out",
            "pack.zip",
            "--json",
        ],
        None,
    );
    let v = json_out(&o);
    assert_eq!(v["pack_path"], "pack.zip");
    assert_eq!(
        gait(d, &["verify", "rp.zip", "--json"], None).status.code(),
        Some(0)
    );
    assert_eq!(
        gait(d, &["pack", "verify", "pack.zip", "--json"], None)
            .status
            .code(),
        Some(0)
    );
    // Another adapter.
    std::fs::write(
        d.join("openai.json"),
        r#"{"function":{"name":"tool.read","arguments":"{\"path\":\"/tmp/a\"}"}}"#,
    )
    .unwrap();
    let o = gait(
        d,
        &[
            "mcp",
            "proxy",
            "--policy",
            "policy.yaml",
            "--call",
            "openai.json",
            "--adapter",
            "openai",
            "--json",
        ],
        None,
    );
    assert_eq!(json_out(&o)["verdict"], "allow");
}

#[test]
fn proxy_errors_are_invalid_input() {
    let dir = setup();
    let d = dir.path();
    std::fs::write(d.join("bad.json"), "{").unwrap();
    for args in [
        vec![
            "mcp",
            "proxy",
            "--policy",
            "policy.yaml",
            "--call",
            "bad.json",
            "--json",
        ],
        vec!["mcp", "proxy", "--policy", "policy.yaml", "--json"],
        vec![
            "mcp",
            "proxy",
            "--policy",
            "policy.yaml",
            "--call",
            "missing.json",
            "--json",
        ],
        vec![
            "mcp",
            "proxy",
            "--policy",
            "policy.yaml",
            "--call",
            "bad.json",
            "--adapter",
            "x",
            "--json",
        ],
        vec![
            "mcp",
            "proxy",
            "--policy",
            "policy.yaml",
            "--call",
            "bad.json",
            "--context-envelope",
            "e.json",
            "--json",
        ],
    ] {
        let o = gait(d, &args, None);
        assert_eq!(o.status.code(), Some(6), "{args:?}");
        assert_eq!(json_out(&o)["ok"], false);
    }
    // The protocol proxy form is routed to its own entry point.
    let o = gait(
        d,
        &[
            "mcp",
            "proxy",
            "--policy",
            "policy.yaml",
            "--",
            "gait-test-no-such-mcp-server",
        ],
        None,
    );
    // The protocol proxy reports a server command it cannot start as a
    // missing dependency (exit 7); the one-shot form never gets there.
    assert_eq!(o.status.code(), Some(7));
}

#[test]
fn verify_against_a_trust_snapshot() {
    let dir = setup();
    let d = dir.path();
    std::fs::write(
        d.join("trust.json"),
        json!({"schema_id": "gait.mcp.trust_snapshot", "schema_version": "1.0.0",
               "entries": [{"server_id": "fs", "publisher": "acme", "status": "trusted"}]})
        .to_string(),
    )
    .unwrap();
    std::fs::write(d.join("trust.yaml"), "default_verdict: allow\nmcp_trust:\n  snapshot: trust.json\n  publisher_allowlist: [acme]\n").unwrap();
    std::fs::write(d.join("fs.json"), r#"{"server_id":"fs"}"#).unwrap();
    std::fs::write(d.join("other.json"), r#"{"server_id":"other"}"#).unwrap();
    let o = gait(
        d,
        &[
            "mcp",
            "verify",
            "--policy",
            "trust.yaml",
            "--server",
            "fs.json",
            "--json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0));
    let v = json_out(&o);
    assert_eq!(v["reason_codes"], json!(["mcp_trust_verified"]));
    assert_eq!(v["trust_model"], "local_snapshot");
    let o = gait(
        d,
        &[
            "mcp",
            "verify",
            "--policy",
            "trust.yaml",
            "--server",
            "other.json",
            "--json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(json_out(&o)["violations"], json!(["mcp_trust_policy"]));
    // A low risk class is not required: reasons only.
    let o = gait(
        d,
        &[
            "mcp",
            "verify",
            "--policy",
            "trust.yaml",
            "--server",
            "other.json",
            "--risk-class",
            "low",
            "--json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0));
    std::fs::write(d.join("empty.json"), "{}").unwrap();
    let o = gait(
        d,
        &[
            "mcp",
            "verify",
            "--policy",
            "trust.yaml",
            "--server",
            "empty.json",
            "--json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(6));
}

#[test]
fn claude_code_hook_allow_deny_ask_and_fail_closed() {
    let dir = setup();
    let d = dir.path();
    let hook = |tool: &str, input: Value| {
        let payload = json!({"session_id": "s", "hook_event_name": "PreToolUse", "tool_name": tool, "tool_input": input, "cwd": "/w"});
        let o = gait(
            d,
            &["hook", "claude-code", "--policy", "policy.yaml"],
            Some(&payload.to_string()),
        );
        (o.status.code(), json_out(&o)["hookSpecificOutput"].clone())
    };
    let (code, out) = hook("Read", json!({"file_path": "/w/a"}));
    assert_eq!(
        (code, out["permissionDecision"].as_str()),
        (Some(0), Some("allow"))
    );
    assert_eq!(out["hookEventName"], "PreToolUse");
    let (code, out) = hook("Bash", json!({"command": "rm -rf /"}));
    assert_eq!(
        (code, out["permissionDecision"].as_str()),
        (Some(0), Some("deny"))
    );
    assert!(
        out["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("verdict=block")
    );
    let (_, out) = hook("Write", json!({"file_path": "/w/a", "content": "x"}));
    assert_eq!(out["permissionDecision"], "ask");
    // Every error denies, with exit 2.
    for (args, input) in [
        (
            vec!["hook", "claude-code", "--policy", "policy.yaml"],
            "not json",
        ),
        (
            vec!["hook", "claude-code", "--policy", "missing.yaml"],
            "{}",
        ),
        (vec!["hook", "claude-code"], "{}"),
        (
            vec!["hook", "claude-code", "--policy", "policy.yaml"],
            r#"{"tool_input":{}}"#,
        ),
    ] {
        let o = gait(d, &args, Some(input));
        assert_eq!(o.status.code(), Some(2), "{args:?} {input}");
        assert_eq!(
            json_out(&o)["hookSpecificOutput"]["permissionDecision"],
            "deny"
        );
    }
    // An unwritable trace directory denies too.
    std::fs::write(d.join("file"), "x").unwrap();
    let o = gait(
        d,
        &[
            "hook",
            "claude-code",
            "--policy",
            "policy.yaml",
            "--trace-dir",
            "file/traces",
        ],
        Some(r#"{"tool_name":"Read","tool_input":{"file_path":"/w/a"}}"#),
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        json_out(&o)["hookSpecificOutput"]["permissionDecision"],
        "deny"
    );
}

#[test]
fn pre_tool_hook_uses_gaits_shape_and_exit_codes() {
    let dir = setup();
    let d = dir.path();
    for (tool, perm, code) in [
        ("tool.read", "allow", 0),
        ("tool.delete", "deny", 3),
        ("tool.write", "ask", 4),
    ] {
        let o = gait(
            d,
            &["hook", "pre-tool", "--policy", "policy.yaml"],
            Some(&call(tool)),
        );
        assert_eq!(o.status.code(), Some(code));
        let v = json_out(&o);
        assert_eq!(v["permission_decision"], perm);
        assert_eq!(v["exit_code"], code);
    }
    let o = gait(
        d,
        &["hook", "pre-tool", "--policy", "policy.yaml"],
        Some("[]"),
    );
    assert_eq!(o.status.code(), Some(6));
    assert_eq!(json_out(&o)["permission_decision"], "deny");
}

#[test]
fn serve_stdio_and_http_agree_with_the_proxy() {
    let dir = setup();
    let d = dir.path();
    std::fs::write(d.join("call.json"), call("tool.read")).unwrap();
    let proxy = json_out(&gait(
        d,
        &[
            "mcp",
            "proxy",
            "--policy",
            "policy.yaml",
            "--call",
            "call.json",
            "--json",
        ],
        None,
    ));

    let lines = format!(
        "{}\n{}\n",
        json!({"call": serde_json::from_str::<Value>(&call("tool.read")).unwrap()}),
        json!({"call": serde_json::from_str::<Value>(&call("tool.delete")).unwrap()})
    );
    let o = gait(
        d,
        &["serve", "--policy", "policy.yaml", "--stdio"],
        Some(&lines),
    );
    assert_eq!(o.status.code(), Some(0));
    let answers: Vec<Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[1]["verdict"], "block");

    // HTTP, on an ephemeral port, then a graceful stop on SIGTERM.
    let mut child = Command::new(env!("CARGO_BIN_EXE_gait"))
        .current_dir(d)
        .args([
            "serve",
            "--policy",
            "policy.yaml",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .split("listening=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let body =
        json!({"call": serde_json::from_str::<Value>(&call("tool.read")).unwrap()}).to_string();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(format!("POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let http: Value = serde_json::from_str(resp.split("\r\n\r\n").nth(1).unwrap().trim()).unwrap();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let mut status = None;
    for _ in 0..200 {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let status = status.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("serve did not stop on SIGTERM");
    });
    assert_eq!(status.code(), Some(0));

    for v in [&answers[0], &http] {
        for k in [
            "verdict",
            "intent_digest",
            "reason_codes",
            "trace_id",
            "policy_digest",
        ] {
            assert_eq!(v[k], proxy[k], "{k}");
        }
        assert_eq!(v["exit_code"], 0);
    }
}

#[test]
fn serve_refuses_unsafe_configurations() {
    let dir = setup();
    let d = dir.path();
    std::fs::write(d.join("file"), "x").unwrap();
    for args in [
        vec![
            "serve",
            "--policy",
            "policy.yaml",
            "--listen",
            "0.0.0.0:0",
            "--json",
        ],
        vec![
            "serve",
            "--policy",
            "policy.yaml",
            "--auth-mode",
            "token",
            "--json",
        ],
        vec![
            "serve",
            "--policy",
            "policy.yaml",
            "--auth-mode",
            "token",
            "--auth-token-env",
            "GAIT_TEST_UNSET_TOKEN",
            "--json",
        ],
        vec![
            "serve",
            "--policy",
            "policy.yaml",
            "--trace-dir",
            "file/traces",
            "--json",
        ],
        vec![
            "serve",
            "--policy",
            "policy.yaml",
            "--max-request-bytes",
            "0",
            "--json",
        ],
        vec![
            "serve",
            "--policy",
            "policy.yaml",
            "--http-verdict-status",
            "loose",
            "--json",
        ],
        vec!["mcp", "serve", "--json"],
    ] {
        let o = gait(d, &args, None);
        assert_eq!(
            o.status.code(),
            Some(6),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
}

#[test]
fn proxy_accepts_approval_tokens() {
    let dir = setup();
    let d = dir.path();
    std::fs::write(d.join("call.json"), call("tool.write")).unwrap();
    let first = json_out(&gait(
        d,
        &[
            "mcp",
            "proxy",
            "--policy",
            "policy.yaml",
            "--call",
            "call.json",
            "--json",
        ],
        None,
    ));
    assert_eq!(first["verdict"], "require_approval");
    assert_eq!(
        gait(d, &["keys", "init", "--out-dir", "keys", "--json"], None)
            .status
            .code(),
        Some(0)
    );
    let o = gait(
        d,
        &[
            "approve",
            "--intent-digest",
            first["intent_digest"].as_str().unwrap(),
            "--policy-digest",
            first["policy_digest"].as_str().unwrap(),
            "--ttl",
            "1h",
            "--scope",
            "tool:tool.write",
            "--approver",
            "bob",
            "--reason-code",
            "reviewed",
            "--key-mode",
            "prod",
            "--private-key",
            "keys/gait_private.key",
            "--out",
            "token.json",
            "--json",
        ],
        None,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = gait(
        d,
        &[
            "mcp",
            "proxy",
            "--policy",
            "policy.yaml",
            "--call",
            "call.json",
            "--approval-token",
            "token.json",
            "--approval-public-key",
            "keys/gait_public.key",
            "--json",
        ],
        None,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(json_out(&o)["verdict"], "allow");
    // Without the verify key the token is not accepted.
    let o = gait(
        d,
        &[
            "mcp",
            "proxy",
            "--policy",
            "policy.yaml",
            "--call",
            "call.json",
            "--approval-token",
            "token.json",
            "--json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(4));
}

#[test]
fn serve_refuses_a_bearer_token_shorter_than_16_characters() {
    let dir = setup();
    let d = dir.path();
    let run = |token: &str, stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gait"))
            .current_dir(d)
            .args([
                "serve",
                "--policy",
                "policy.yaml",
                "--stdio",
                "--auth-mode",
                "token",
                "--auth-token-env",
                "GAIT_TEST_SERVE_TOKEN",
                "--json",
            ])
            .env("GAIT_TEST_SERVE_TOKEN", token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        // A refused start exits before reading: a broken pipe is fine.
        let _ = input.write_all(stdin.as_bytes());
        drop(input);
        child.wait_with_output().unwrap()
    };
    let line = format!(
        "{}\n",
        json!({"call": serde_json::from_str::<Value>(&call("tool.read")).unwrap()})
    );
    for short in [
        "s3cret",
        "fifteen-chars-x",
        "  fifteen-chars-x  ",
        "ééééééééééééééé",
    ] {
        let o = run(short, &line);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(o.status.code(), Some(6), "{short:?}: {text}");
        assert!(text.contains("at least 16"), "{short:?}: {text}");
        assert!(!text.contains(short.trim()), "the token is echoed: {text}");
    }
    let o = run("sixteen-chars-xx", &line);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(json_out(&o)["verdict"], "allow");
}
