//! Ambiguous JSON input through the real binary: member names of one
//! object that differ only in letter case, and integers beyond 2^53 − 1,
//! are invalid input (exit 6, the JSON error envelope naming the field) at
//! `gate eval`, `mcp proxy --call`, `serve --stdio` and the hook; never a
//! decision.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Reads are allowed; anything else is blocked.
const POLICY: &str = "default_verdict: block\nrules:\n  - name: reads\n    priority: 1\n    effect: allow\n    match:\n      tool_names: [tool.read]\n";

const CONTEXT: &str = r#""context":{"identity":"alice","workspace":"/w","risk_class":"low"}"#;

fn gait(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gait"))
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn last_json(o: &Output) -> Value {
    let text = String::from_utf8_lossy(&o.stdout);
    serde_json::from_str(text.lines().last().unwrap_or("null")).unwrap_or(Value::Null)
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.yaml"), POLICY).unwrap();
    dir
}

fn gate_eval(dir: &Path, intent: &str) -> Output {
    std::fs::write(dir.join("intent.json"), intent).unwrap();
    gait(
        dir,
        &[
            "gate",
            "eval",
            "--policy",
            "policy.yaml",
            "--intent",
            "intent.json",
            "--json",
        ],
        None,
    )
}

/// Exit 6 with the JSON error envelope whose message holds every needle.
fn assert_refused(o: &Output, needles: &[&str]) {
    assert_eq!(o.status.code(), Some(6), "{o:?}");
    let v = last_json(o);
    assert_eq!(v["ok"], false, "{o:?}");
    assert!(v.get("verdict").is_none(), "{v}");
    let error = v["error"].as_str().unwrap();
    for needle in needles {
        assert!(error.contains(needle), "{needle:?} not in {error:?}");
    }
}

#[test]
fn gate_eval_refuses_case_variant_member_names() {
    let dir = setup();
    let d = dir.path();
    // Control: the read alone is allowed, the write alone is blocked.
    let read = format!(r#"{{"tool_name":"tool.read","args":{{}},{CONTEXT}}}"#);
    assert_eq!(gate_eval(d, &read).status.code(), Some(0));
    // Go-style decoding decided `tool.read` (exit 0) where an exact-key
    // reader runs `tool.write`.
    let attack =
        format!(r#"{{"tool_name":"tool.write","TOOL_NAME":"tool.read","args":{{}},{CONTEXT}}}"#);
    assert_refused(&gate_eval(d, &attack), &["tool_name", "TOOL_NAME"]);
    let nested = format!(
        r#"{{"tool_name":"tool.read","args":{{"path":"/tmp/a","Path":"/etc/shadow"}},{CONTEXT}}}"#
    );
    assert_refused(&gate_eval(d, &nested), &["args:", "path", "Path"]);
}

#[test]
fn gate_eval_refuses_integers_beyond_2_pow_53() {
    let dir = setup();
    let d = dir.path();
    for account in ["12345678901234567", "12345678901234568"] {
        let intent =
            format!(r#"{{"tool_name":"tool.read","args":{{"to_account":{account}}},{CONTEXT}}}"#);
        assert_refused(
            &gate_eval(d, &intent),
            &["args.to_account", account, "string"],
        );
    }
    // As a string, the id is exact and allowed.
    let intent = format!(
        r#"{{"tool_name":"tool.read","args":{{"to_account":"12345678901234567"}},{CONTEXT}}}"#
    );
    assert_eq!(gate_eval(d, &intent).status.code(), Some(0));
}

#[test]
fn mcp_proxy_call_refuses_ambiguous_payloads() {
    let dir = setup();
    let d = dir.path();
    for (call, needles) in [
        (
            format!(r#"{{"name":"tool.write","NAME":"tool.read",{CONTEXT}}}"#),
            &["NAME", "name"][..],
        ),
        (
            format!(r#"{{"name":"tool.read","args":{{"cmd":"ls","CMD":"rm -rf /"}},{CONTEXT}}}"#),
            &["args", "cmd", "CMD"][..],
        ),
        (
            format!(
                r#"{{"name":"tool.read","args":{{"to_account":12345678901234567}},{CONTEXT}}}"#
            ),
            &["args.to_account"][..],
        ),
        (
            format!(
                r#"{{"name":"tool.read","args":{{"ids":[1,123456789012345678901234]}},{CONTEXT}}}"#
            ),
            &["args.ids[1]", "123456789012345678901234"][..],
        ),
    ] {
        std::fs::write(d.join("call.json"), &call).unwrap();
        let o = gait(
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
        );
        assert_refused(&o, needles);
    }
}

#[test]
fn serve_stdio_and_hook_refuse_ambiguous_input() {
    let dir = setup();
    let d = dir.path();
    let lines = format!(
        "{}\n{}\n{}\n",
        format_args!(r#"{{"call":{{"name":"tool.read",{CONTEXT}}}}}"#),
        format_args!(r#"{{"call":{{"name":"tool.write","Name":"tool.read",{CONTEXT}}}}}"#),
        format_args!(
            r#"{{"intent":{{"tool_name":"tool.read","args":{{"n":-9007199254740993}},{CONTEXT}}}}}"#
        ),
    );
    let o = gait(
        d,
        &["serve", "--policy", "policy.yaml", "--stdio"],
        Some(&lines),
    );
    let answers: Vec<Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 3, "{o:?}");
    assert_eq!(answers[0]["verdict"], "allow");
    for (answer, needle) in answers[1..].iter().zip(["\"Name\"", "args.n"]) {
        assert_eq!(answer["exit_code"], 6, "{answer}");
        assert!(answer.get("verdict").is_none(), "{answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(needle),
            "{answer}"
        );
    }
    // The Claude Code hook fails closed (exit 2, deny) on the same input.
    let payload = r#"{"tool_name":"Read","TOOL_NAME":"Bash","tool_input":{"file_path":"/tmp/a"}}"#;
    let o = gait(
        d,
        &["hook", "claude-code", "--policy", "policy.yaml"],
        Some(payload),
    );
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("deny"), "{o:?}");
    let payload =
        r#"{"tool_name":"Read","tool_input":{"file_path":"/tmp/a","n":99999999999999999999}}"#;
    let o = gait(
        d,
        &["hook", "claude-code", "--policy", "policy.yaml"],
        Some(payload),
    );
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("deny"), "{o:?}");
}
